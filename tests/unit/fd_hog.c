// SPDX-License-Identifier: MIT
#include "fd_hog.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int fd_hog_fill(struct fd_hog *h)
{
	struct rlimit rl;
	int probe = dup(0);

	h->n = 0;
	if (probe < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	close(probe);
	/* The lowest free descriptor tells roughly how many are open. */
	rl.rlim_cur = (rlim_t)probe + FD_HOG_MAX / 2;
	if (rl.rlim_cur > rl.rlim_max || setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	while (h->n < FD_HOG_MAX) {
		int fd = dup(0);

		if (fd < 0)
			return 0;
		h->fds[h->n++] = fd;
	}
	return -1;
}

void fd_hog_release(struct fd_hog *h)
{
	while (h->n)
		close(h->fds[--h->n]);
}

int epoll_info_open(int epfd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

bool epoll_info_watches(int info, int fd)
{
	char buf[16384];
	ssize_t n = pread(info, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *line = buf; line; line = strchr(line, '\n')) {
		int tfd;

		if (*line == '\n')
			line++;
		if (sscanf(line, "tfd: %d ", &tfd) == 1 && tfd == fd)
			return true;
	}
	return false;
}

int find_listening_socket(const char *path)
{
	for (int fd = 0; fd < 1024; fd++) {
		struct sockaddr_un a;
		socklen_t len = sizeof(a);
		int acc = 0;
		socklen_t alen = sizeof(acc);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0 ||
		    !acc)
			continue;
		memset(&a, 0, sizeof(a));
		if (getsockname(fd, (struct sockaddr *)&a, &len) == 0 &&
		    a.sun_family == AF_UNIX && !strcmp(a.sun_path, path))
			return fd;
	}
	return -1;
}
