/* SPDX-License-Identifier: MIT */
#ifndef CLIENT_BRIDGE_HOST_H
#define CLIENT_BRIDGE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/bridge_proto.h"
#include "lib/util.h"

/*
 * The host end of the bridge: it listens, the agent dials in, and the host
 * sends requests and reads responses and notifications.
 */
struct bridge_msg {
	uint32_t type;
	uint64_t id;
	char *body;		/* NUL-terminated JSON */
	size_t len;
	struct bridge_msg *next;
};

struct bridge_host {
	int lfd;
	int fd;
	uint64_t next_id;
	struct bridge_reader rd;
	uint8_t buf[64 * 1024];
	size_t off, len;
	struct bridge_msg *queue;	/* received, not yet asked for */
};

/* Listens on a Unix socket (the agent's --bridge unix:PATH). */
int bridge_host_listen(struct bridge_host *h, const char *path, struct err *e);
/* Waits for the agent's connection, replacing any earlier one. */
int bridge_host_accept(struct bridge_host *h, int timeout_ms, struct err *e);
void bridge_host_close(struct bridge_host *h);

/* Sends a request with a new sequence ID, stored in *@id. */
int bridge_host_send(struct bridge_host *h, uint32_t type, const char *json,
		     uint64_t *id, struct err *e);
/* Sends raw bytes (for tests of malformed input). */
int bridge_host_send_raw(struct bridge_host *h, const void *p, size_t n,
			 struct err *e);
/* Waits for the response to @id; other messages are kept for later. */
int bridge_host_wait_response(struct bridge_host *h, uint64_t id,
			      int timeout_ms, struct bridge_msg **out,
			      struct err *e);
int bridge_host_request(struct bridge_host *h, uint32_t type, const char *json,
			int timeout_ms, struct bridge_msg **out, struct err *e);
/* Waits for the next notification. */
int bridge_host_wait_notification(struct bridge_host *h, int timeout_ms,
				  struct bridge_msg **out, struct err *e);
/* Returns 1 when the agent closed the connection within @timeout_ms. */
int bridge_host_wait_closed(struct bridge_host *h, int timeout_ms);
void bridge_msg_free(struct bridge_msg *m);

/* A listening Unix socket for one stdio relay port: "BASE_PORT". */
int bridge_host_relay_listen(const char *base, uint32_t port, struct err *e);
/* Accepts one connection within @timeout_ms, or -1. */
int unix_accept_timeout(int lfd, int timeout_ms);

#endif
