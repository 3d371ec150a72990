/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_SERVER_H
#define VMM_API_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/api/rpc.h"
#include "lib/event.h"
#include "lib/listener.h"

/*
 * The control socket's transport: a Unix stream socket created owner-only
 * (0600), any number of clients up to a limit, line-delimited JSON-RPC.
 * Everything runs on the event loop thread and never blocks: a client that
 * does not read its responses is dropped once its output passes the limit.
 */

#define API_MAX_CLIENTS 256
/* Responses and notifications queued for one client. */
#define API_MAX_OUTPUT (1024 * 1024)
/* Calls one client may have waiting for an answer (WaitVM and the like). */
#define API_MAX_CALLS 64

struct api_client;
struct api_server;

/*
 * One request being answered. Handlers answer at once or keep the call
 * and answer later; either way exactly one of api_call_reply(),
 * api_call_fail() or api_call_drop() ends it.
 */
struct api_call {
	struct api_server *srv;
	struct api_client *client; /* NULL once the client has gone */
	struct api_call *client_next;
	struct json_object *id;
	bool notification;
	/* Free for whoever keeps the call, e.g. a list of waiting calls. */
	struct api_call *next;
	/* Counted up when the call ends in an error (NULL: nothing counts). */
	uint64_t *fail_counter;
};

struct api_server_ops {
	/* A parsed request; @req is freed when this returns. */
	void (*request)(void *opaque, struct api_call *call,
			const struct rpc_request *req);
	/* @client is going: end the calls of it you keep (api_call_drop()). */
	void (*client_gone)(void *opaque, struct api_client *client);
};

struct api_server {
	struct event_loop *loop;
	char *path;
	dev_t dev;
	ino_t ino;
	int listen_fd;
	struct listener listener;
	int more_fd; /* wakes the loop for clients with requests waiting */
	struct event_source more_src;
	struct api_client *clients;
	unsigned int nr_clients;
	/* Limits, API_MAX_* unless a test lowers them. */
	unsigned int max_clients;
	size_t max_output;
	unsigned int max_calls;
	struct api_server_ops ops;
	void *opaque;
};

/*
 * Creates the socket at @path (mode 0600) and serves it on @loop. A stale
 * socket left by a dead process is replaced; a live one, or any other kind
 * of file, is an error.
 */
int api_server_open(struct api_server *srv, const char *path,
		    struct event_loop *loop, const struct api_server_ops *ops,
		    void *opaque, struct err *e);
/* Sends what it can without blocking, closes every client, unlinks. */
void api_server_close(struct api_server *srv);

/*
 * Answers @call with @result (consumed; NULL for {}) and ends it. With
 * api_call_reply_fd(), @fd travels with the response (SCM_RIGHTS) and is
 * closed here in every case.
 */
void api_call_reply(struct api_call *call, struct json_object *result);
void api_call_reply_fd(struct api_call *call, struct json_object *result,
		       int fd);
void api_call_fail(struct api_call *call, const struct rpc_error *re);
/* Ends @call without an answer (its client is gone or going). */
void api_call_drop(struct api_call *call);

/* Makes the caller of @call receive api_server_notify() notifications. */
void api_call_subscribe(struct api_call *call);
/* Sends a notification (@params consumed) to every subscribed client. */
void api_server_notify(struct api_server *srv, const char *method,
		       struct json_object *params);

#endif
