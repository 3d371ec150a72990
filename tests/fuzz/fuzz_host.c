// SPDX-License-Identifier: MIT
#include "fuzz_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void fuzz_clients_init(struct fuzz_clients *c)
{
	for (unsigned int i = 0; i < FUZZ_MAX_CLIENTS; i++)
		c->fd[i] = -1;
}

void fuzz_client_close(struct fuzz_clients *c, unsigned int i)
{
	i %= FUZZ_MAX_CLIENTS;
	if (c->fd[i] >= 0)
		close(c->fd[i]);
	c->fd[i] = -1;
}

void fuzz_clients_close(struct fuzz_clients *c)
{
	for (unsigned int i = 0; i < FUZZ_MAX_CLIENTS; i++)
		fuzz_client_close(c, i);
}

int fuzz_client_connect(struct fuzz_clients *c, unsigned int i,
			const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	i %= FUZZ_MAX_CLIENTS;
	fuzz_client_close(c, i);
	if (strlen(path) >= sizeof(a.sun_path))
		abort();
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	c->fd[i] = fd;
	return 0;
}

void fuzz_client_write(struct fuzz_clients *c, unsigned int i,
		       struct fuzz_input *in)
{
	uint8_t buf[512];
	size_t n = fuzz_bytes(in, buf, fuzz_u16(in) % sizeof(buf));

	i %= FUZZ_MAX_CLIENTS;
	if (c->fd[i] >= 0 && n)
		send(c->fd[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void fuzz_client_drain(struct fuzz_clients *c, unsigned int i)
{
	uint8_t buf[4096];

	i %= FUZZ_MAX_CLIENTS;
	while (c->fd[i] >= 0 && recv(c->fd[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

void fuzz_socket_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/vmm-fuzz-%s-%d", name, (int)getpid());
	if (mkdir(buf, 0700) < 0)
		abort();
}
