/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_RPC_H
#define VMM_API_RPC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

/*
 * JSON-RPC 2.0 framing for the control socket: one request, response or
 * notification per line. A request line may hold at most API_MAX_REQUEST
 * bytes (newline included) and nest at most API_MAX_DEPTH levels.
 */
#define API_MAX_REQUEST (64 * 1024)
#define API_MAX_DEPTH 32

enum rpc_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	/* Server errors (-32000 to -32099), this API's own. */
	RPC_FAILED = -32000,      /* the operation failed on the host */
	RPC_BAD_STATE = -32001,   /* not possible in the VM's current state */
	RPC_UNSUPPORTED = -32002, /* valid, but this VMM cannot do it (yet) */
	RPC_NO_DEVICE = -32003,   /* the VM lacks the device the call needs */
	RPC_LIMIT = -32004,       /* a server limit was reached */
};

/* An error on its way to the client: a JSON-RPC code and the message. */
struct rpc_error {
	int code;
	struct err e;
};

/* Fills @re and returns -1, for "return rpc_fail(...)". */
int rpc_fail(struct rpc_error *re, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks a lib/json failure, already in @re->e, as malformed params: -1. */
int rpc_invalid(struct rpc_error *re);

/* One item of a params array at path @p, its @index-th. */
typedef int (*rpc_item_fn)(struct json_object *item, const char *p,
			   size_t index, void *ctx, struct rpc_error *re);
/*
 * Each item of the array @key of @m (absent: none) through @parse, its
 * path "@path.@key[i]". More than @max items, counted as @what ("disks"),
 * are refused.
 */
int rpc_each_item(struct json_object *m, const char *path, const char *key,
		  size_t max, const char *what, rpc_item_fn parse, void *ctx,
		  struct rpc_error *re);

struct rpc_request {
	struct json_object *root; /* owns the members below */
	struct json_object *id;   /* NULL when absent (a notification) */
	bool notification;
	const char *method;
	struct json_object *params; /* NULL when absent */
};

/*
 * Parses one line (without its newline). On failure @re holds the code
 * and message, and @req->id the request's id when it could be read, so the
 * error response can carry it; rpc_request_free() is needed either way.
 */
int rpc_parse_request(const char *line, size_t len, struct rpc_request *req,
		      struct rpc_error *re);
void rpc_request_free(struct rpc_request *req);

/*
 * Encoders: a malloc()ed line ending in '\n' (length in @len), or NULL
 * when memory runs out. @result is consumed; @id is only read.
 */
char *rpc_result_line(struct json_object *id, struct json_object *result,
		      size_t *len);
char *rpc_error_line(struct json_object *id, int code, const char *message,
		     size_t *len);
char *rpc_notification_line(const char *method, struct json_object *params,
			    size_t *len);

#endif
