// SPDX-License-Identifier: MIT
#include "guest-agent/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* After sys/socket.h: older copies of this header use struct sockaddr. */
#include <linux/vm_sockets.h>

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

void endpoint_vsock(struct endpoint *ep, uint32_t cid, uint32_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->kind = EP_VSOCK;
	ep->cid = cid;
	ep->port = port;
}

int endpoint_parse(const char *s, uint32_t default_cid, struct endpoint *ep,
		   struct err *e)
{
	memset(ep, 0, sizeof(*ep));
	if (!strncmp(s, "unix:", 5)) {
		size_t n = strlen(s + 5);

		if (!n)
			return err_set(e, "\"%s\": empty socket path", s);
		if (n >= sizeof(ep->path))
			return err_set(e, "\"%s\": socket path longer than %zu "
				       "bytes", s, sizeof(ep->path) - 1);
		ep->kind = EP_UNIX;
		memcpy(ep->path, s + 5, n + 1);
		return 0;
	}
	if (!strncmp(s, "vsock:", 6)) {
		const char *rest = s + 6;
		const char *colon = strchr(rest, ':');
		uint32_t cid = default_cid, port;

		if (colon) {
			char cidbuf[16];
			size_t n = (size_t)(colon - rest);

			if (n >= sizeof(cidbuf))
				return err_set(e, "\"%s\": invalid CID", s);
			memcpy(cidbuf, rest, n);
			cidbuf[n] = 0;
			if (parse_u32(cidbuf, &cid) < 0)
				return err_set(e, "\"%s\": invalid CID", s);
			rest = colon + 1;
		}
		if (parse_u32(rest, &port) < 0)
			return err_set(e, "\"%s\": invalid port", s);
		endpoint_vsock(ep, cid, port);
		return 0;
	}
	return err_set(e, "\"%s\": expected vsock:PORT, vsock:CID:PORT or "
		       "unix:PATH", s);
}

int endpoint_with_port(const struct endpoint *base, uint32_t port,
		       struct endpoint *out, struct err *e)
{
	if (base->kind == EP_VSOCK) {
		endpoint_vsock(out, base->cid, port);
		return 0;
	}
	*out = *base;
	if ((size_t)snprintf(out->path, sizeof(out->path), "%s_%u", base->path,
			     port) >= sizeof(out->path))
		return err_set(e, "socket path \"%s_%u\" is too long",
			       base->path, port);
	return 0;
}

void endpoint_str(const struct endpoint *ep, char *buf, size_t len)
{
	if (ep->kind == EP_UNIX)
		snprintf(buf, len, "unix:%s", ep->path);
	else
		snprintf(buf, len, "vsock:%u:%u", ep->cid, ep->port);
}

static int endpoint_sockaddr(const struct endpoint *ep,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->kind == EP_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;

		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, ep->path, strlen(ep->path) + 1);
		*len = sizeof(*un);
		return AF_UNIX;
	}
	struct sockaddr_vm *vm = (struct sockaddr_vm *)ss;

	vm->svm_family = AF_VSOCK;
	vm->svm_cid = ep->cid;
	vm->svm_port = ep->port;
	*len = sizeof(*vm);
	return AF_VSOCK;
}

int transport_listen(const struct endpoint *ep, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = endpoint_sockaddr(ep, &ss, &len);
	char name[160];
	int fd;

	endpoint_str(ep, name, sizeof(name));
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, "%s: socket", name);
	/* A socket file left by an earlier run would make bind fail. */
	if (family == AF_UNIX)
		unlink(ep->path);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		err_errno(e, "%s: bind", name);
		goto fail;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		err_errno(e, "%s: listen", name);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int transport_accept(int lfd)
{
	int fd;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

int transport_dial(const struct endpoint *ep, unsigned timeout_ms,
		   struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = endpoint_sockaddr(ep, &ss, &len);
	char name[160];
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd pfd;

	endpoint_str(ep, name, sizeof(name));
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, "%s: socket", name);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		err_errno(e, "%s: connect", name);
		goto fail;
	}
	if (errno == EAGAIN) {
		/* A Unix listener with a full backlog: retry until the deadline. */
		for (unsigned waited = 0; waited < timeout_ms; waited += 10) {
			usleep(10000);
			if (connect(fd, (struct sockaddr *)&ss, len) == 0)
				return fd;
			if (errno != EAGAIN) {
				err_errno(e, "%s: connect", name);
				goto fail;
			}
		}
		err_set(e, "%s: connect: timed out", name);
		goto fail;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, (int)MIN(timeout_ms, (unsigned)INT_MAX)) <= 0) {
		err_set(e, "%s: connect: timed out", name);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		errno = soerr ? soerr : errno;
		err_errno(e, "%s: connect", name);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}
