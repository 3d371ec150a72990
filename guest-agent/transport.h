/* SPDX-License-Identifier: MIT */
#ifndef AGENT_TRANSPORT_H
#define AGENT_TRANSPORT_H

#include <stdint.h>
#include <sys/un.h>

#include "lib/util.h"

#define VSOCK_CID_ANY 0xFFFFFFFFu
#define VSOCK_CID_HOST 2u

/*
 * Where a service listens or dials: "vsock:PORT", "vsock:CID:PORT" or
 * "unix:PATH". Everything above the socket is the same for both.
 */
struct endpoint {
	enum { EP_VSOCK, EP_UNIX } kind;
	uint32_t cid;
	uint32_t port;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int endpoint_parse(const char *s, uint32_t default_cid, struct endpoint *ep,
		   struct err *e);
void endpoint_vsock(struct endpoint *ep, uint32_t cid, uint32_t port);
/*
 * The endpoint of a numbered port next to @base: the same CID with @port for
 * vsock, "PATH_PORT" for a Unix socket (as Firecracker's host side names them).
 */
int endpoint_with_port(const struct endpoint *base, uint32_t port,
		       struct endpoint *out, struct err *e);
void endpoint_str(const struct endpoint *ep, char *buf, size_t len);

/* A non-blocking, close-on-exec listening socket. */
int transport_listen(const struct endpoint *ep, struct err *e);
/* Accepts one connection as a non-blocking fd; -1 with errno set. */
int transport_accept(int lfd);
/* Connects (waiting at most @timeout_ms) and returns a non-blocking fd. */
int transport_dial(const struct endpoint *ep, unsigned timeout_ms,
		   struct err *e);

#endif
