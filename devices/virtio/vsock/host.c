// SPDX-License-Identifier: MIT
/* The host's ends of vsock streams: see host.h. */
#define LOG_COMPONENT "virtio-vsock"

#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* "CONNECT 4294967294\n" with room to spare. */
#define CONNECT_LINE_MAX 32
/* Clients accepted per wake-up before other sources get their turn. */
#define ACCEPT_BUDGET 16
#define LISTEN_BACKLOG 64

/* The index of the listener for @port, or -1. */
static int find_listener(const struct vsock_host *h, uint32_t port)
{
	for (unsigned int i = 0; i < h->nr_listeners; i++)
		if (h->listeners[i].port == port)
			return (int)i;
	return -1;
}

int vsock_host_add_listener(struct vsock_host *h, uint32_t port,
			    const char *path, struct err *e)
{
	size_t n = strlen(path);
	int i = find_listener(h, port);
	struct vsock_listener *l;

	if (port == VSOCK_PORT_ANY)
		return err_set(e, "vsock port %u is VMADDR_PORT_ANY, not a port",
			       port);
	if (n == 0 || n >= CONFIG_VSOCK_PATH_MAX)
		return err_set(e, "vsock port %u: the listener path must have 1 to %d bytes",
			       port, CONFIG_VSOCK_PATH_MAX - 1);
	if (i >= 0)
		return err_set(e, "vsock port %u already has a listener (%s)",
			       port, h->listeners[i].path);
	if (h->nr_listeners == VSOCK_MAX_LISTENERS)
		return err_set(e, "vsock port %u: at most %d listeners", port,
			       VSOCK_MAX_LISTENERS);
	l = &h->listeners[h->nr_listeners++];
	l->port = port;
	memcpy(l->path, path, n + 1);
	return 0;
}

int vsock_host_remove_listener(struct vsock_host *h, uint32_t port,
			       struct err *e)
{
	int i = find_listener(h, port);

	if (i < 0)
		return err_set(e, "vsock port %u has no listener", port);
	h->listeners[i] = h->listeners[--h->nr_listeners];
	return 0;
}

static int unix_addr(struct sockaddr_un *a, const char *path)
{
	if (strlen(path) >= sizeof(a->sun_path))
		return -1;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return 0;
}

/* Where a guest connection to host @port goes. */
static int guest_target(const struct vsock_host *h, uint32_t port,
			struct sockaddr_un *a)
{
	int i = find_listener(h, port);
	char path[CONFIG_VSOCK_PATH_MAX + 16];

	if (i >= 0)
		return unix_addr(a, h->listeners[i].path);
	snprintf(path, sizeof(path), "%s_%u", h->uds_path, port);
	return unix_addr(a, path);
}

int vsock_host_dial(struct vsock_host *h, uint32_t port)
{
	struct sockaddr_un a;
	int fd;

	if (guest_target(h, port, &a) < 0)
		return -2;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* Once until a socket can be made again: the guest may retry. */
		if (!h->dial_failing)
			log_error("virtio-vsock: socket for a guest connection: %s; refusing them until one can be made",
				  strerror(errno));
		h->dial_failing = true;
		return -2;
	}
	h->dial_failing = false;
	/* Unix sockets connect at once, or fail (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "CONNECT <port>\n", with an optional '\r' before the newline. */
static int parse_connect(char *line, size_t len, uint32_t *port)
{
	unsigned long long v = 0;
	size_t i = 8;

	if (len && line[len - 1] == '\r')
		len--;
	if (len <= 8 || memcmp(line, "CONNECT ", 8))
		return -1;
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(line[i] - '0');
		if (v >= VSOCK_PORT_ANY)
			return -1;
	}
	*port = (uint32_t)v;
	return 0;
}

static int bad_connect(struct vsock_host *h)
{
	if (!h->bad_connect_logged) {
		h->bad_connect_logged = true;
		log_warn("virtio-vsock: %s: a client's first line is not \"CONNECT <port>\"; closed",
			 h->uds_path);
	}
	return -2;
}

int vsock_host_read_connect(struct vsock_host *h, int fd, uint32_t *port)
{
	char line[CONNECT_LINE_MAX];
	ssize_t n;
	char *nl;

	do
		n = recv(fd, line, sizeof(line), MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	nl = memchr(line, '\n', (size_t)n);
	if (!nl)
		return n == sizeof(line) ? bad_connect(h) : 0;
	if (recv(fd, line, (size_t)(nl - line) + 1, 0) != nl - line + 1 ||
	    parse_connect(line, (size_t)(nl - line), port) < 0)
		return bad_connect(h);
	return 1;
}

int vsock_host_send_ok(int fd, uint32_t host_port)
{
	char line[24];
	int n = snprintf(line, sizeof(line), "OK %u\n", host_port);
	ssize_t r;

	/* A fresh socket's buffer always takes these few bytes. */
	do
		r = send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == n ? 0 : -1;
}

static int bind_listener(struct vsock_host *h, struct err *e)
{
	struct sockaddr_un a;
	struct stat st;

	if (unix_addr(&a, h->uds_path) < 0)
		return err_set(e, "virtio-vsock: socket path %s is too long",
			       h->uds_path);
	/* Replace a stale socket, never another kind of file. */
	if (lstat(h->uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, "virtio-vsock: %s exists and is not a socket",
				       h->uds_path);
		unlink(h->uds_path);
	}
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					 SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0)
		return err_errno(e, "virtio-vsock: socket");
	if (bind(h->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return err_errno(e, "virtio-vsock: binding %s", h->uds_path);
	chmod(h->uds_path, 0600);
	if (listen(h->listen_fd, LISTEN_BACKLOG) < 0)
		return err_errno(e, "virtio-vsock: listening on %s",
				 h->uds_path);
	return 0;
}

int vsock_host_open(struct vsock_host *h, const struct vsock_config *cfg,
		    struct event_loop *loop, void (*accept)(void *owner, int fd),
		    void *owner, struct err *e)
{
	h->listen_fd = -1;
	memcpy(h->uds_path, cfg->uds_path, sizeof(h->uds_path));
	h->uds_path[sizeof(h->uds_path) - 1] = '\0';
	if (!h->uds_path[0])
		return err_set(e, "virtio-vsock: no Unix socket path (uds=PATH)");
	for (unsigned int i = 0; i < cfg->nr_listeners; i++) {
		const struct vsock_listen_config *l = &cfg->listeners[i];

		if (memchr(l->path, '\0', sizeof(l->path)) == NULL ||
		    vsock_host_add_listener(h, l->port, l->path, e) < 0)
			return err_prefix(e, "virtio-vsock");
	}
	if (bind_listener(h, e) < 0)
		return -1;
	return listener_start(&h->listener, loop, h->listen_fd,
			      "virtio-vsock", ACCEPT_BUDGET, accept, owner, e);
}

void vsock_host_close(struct vsock_host *h)
{
	listener_stop(&h->listener);
	if (h->listen_fd >= 0) {
		close(h->listen_fd);
		unlink(h->uds_path);
	}
	h->listen_fd = -1;
}
