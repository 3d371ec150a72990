// SPDX-License-Identifier: MIT
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

int rpc_fail(struct rpc_error *re, int code, const char *fmt, ...)
{
	va_list ap;

	re->code = code;
	va_start(ap, fmt);
	err_vset(&re->e, fmt, ap);
	va_end(ap);
	return -1;
}

int rpc_invalid(struct rpc_error *re)
{
	re->code = RPC_INVALID_PARAMS;
	return -1;
}

int rpc_each_item(struct json_object *m, const char *path, const char *key,
		  size_t max, const char *what, rpc_item_fn parse, void *ctx,
		  struct rpc_error *re)
{
	char p[JSON_PATH_MAX];
	struct json_object *arr;
	size_t n;

	if (json_get_array(m, path, key, &arr, &re->e) < 0)
		return rpc_invalid(re);
	n = arr ? json_object_array_length(arr) : 0;
	if (n > max)
		return rpc_fail(re, RPC_INVALID_PARAMS, "%s.%s: %zu %s, at most %zu",
				path, key, n, what, max);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%.100s.%s[%zu]", path, key, i);
		if (parse(json_object_array_get_idx(arr, i), p, i, ctx, re) < 0)
			return -1;
	}
	return 0;
}

static bool only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

static int parse_json(const char *line, size_t len, struct json_object **out,
		      struct rpc_error *re)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (memchr(line, '\0', len))
		return rpc_fail(re, RPC_PARSE_ERROR,
				"parse error: the request holds a NUL byte");
	tok = json_tokener_new_ex(API_MAX_DEPTH);
	if (!tok)
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	*out = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue)
		return rpc_fail(re, RPC_PARSE_ERROR,
				"parse error: the JSON text ends early (one request per line)");
	if (jerr != json_tokener_success)
		return rpc_fail(re, RPC_PARSE_ERROR,
				"parse error at byte %zu: %s", end,
				json_tokener_error_desc(jerr));
	if (end < len && !only_space(line + end, len - end)) {
		json_object_put(*out);
		*out = NULL;
		return rpc_fail(re, RPC_PARSE_ERROR,
				"parse error: text after the JSON value at byte %zu",
				end);
	}
	return 0;
}

static int read_id(struct rpc_request *req, struct rpc_error *re)
{
	struct json_object *id;

	if (!json_object_object_get_ex(req->root, "id", &id)) {
		req->notification = true;
		return 0;
	}
	if (id && !json_object_is_type(id, json_type_string) &&
	    !json_object_is_type(id, json_type_int))
		return rpc_fail(re, RPC_INVALID_REQUEST,
				"invalid request: id must be a string, an integer or null, not %s",
				json_type_name(id));
	req->id = id;
	return 0;
}

static int check_members(struct rpc_request *req, struct rpc_error *re)
{
	static const char *const members[] = {
		"jsonrpc", "id", "method", "params", NULL,
	};
	struct json_object *v;

	if (json_check_fields(req->root, "", members, &re->e) < 0) {
		re->code = RPC_INVALID_REQUEST;
		return err_prefix(&re->e, "invalid request");
	}
	if (!json_object_object_get_ex(req->root, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0"))
		return rpc_fail(re, RPC_INVALID_REQUEST,
				"invalid request: \"jsonrpc\" must be \"2.0\"");
	if (!json_object_object_get_ex(req->root, "method", &v) ||
	    !json_object_is_type(v, json_type_string))
		return rpc_fail(re, RPC_INVALID_REQUEST,
				"invalid request: \"method\" must be a string");
	req->method = json_object_get_string(v);
	if (!json_object_object_get_ex(req->root, "params", &v) || !v)
		return 0;
	if (json_object_is_type(v, json_type_object)) {
		req->params = v;
		return 0;
	}
	if (json_object_is_type(v, json_type_array))
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"invalid params: %s takes its request message as an object, not an array",
				req->method);
	return rpc_fail(re, RPC_INVALID_REQUEST,
			"invalid request: \"params\" must be an object, not %s",
			json_type_name(v));
}

int rpc_parse_request(const char *line, size_t len, struct rpc_request *req,
		      struct rpc_error *re)
{
	memset(req, 0, sizeof(*req));
	if (parse_json(line, len, &req->root, re) < 0)
		return -1;
	if (json_object_is_type(req->root, json_type_array))
		return rpc_fail(re, RPC_INVALID_REQUEST,
				"invalid request: batches are not supported; send one request per line");
	if (!json_object_is_type(req->root, json_type_object))
		return rpc_fail(re, RPC_INVALID_REQUEST,
				"invalid request: expected a JSON object, got %s",
				json_type_name(req->root));
	if (read_id(req, re) < 0)
		return -1;
	return check_members(req, re);
}

void rpc_request_free(struct rpc_request *req)
{
	json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

/* Serializes @msg (consumed) into a malloc()ed line. */
static char *to_line(struct json_object *msg, size_t *len)
{
	const char *s;
	size_t n;
	char *line = NULL;

	if (!msg)
		return NULL;
	s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE,
					      &n);
	if (s && (line = malloc(n + 1))) {
		memcpy(line, s, n);
		line[n] = '\n';
		*len = n + 1;
	}
	json_object_put(msg);
	return line;
}

static struct json_object *envelope(struct json_object *id)
{
	struct json_object *msg = json_object_new_object();

	if (!msg)
		return NULL;
	if (json_add_string(msg, "jsonrpc", "2.0") < 0 ||
	    json_object_object_add(msg, "id", json_object_get(id)) < 0) {
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

char *rpc_result_line(struct json_object *id, struct json_object *result,
		      size_t *len)
{
	struct json_object *msg = envelope(id);

	if (!result)
		result = json_object_new_object();
	if (!msg) {
		json_object_put(result);
		return NULL;
	}
	if (json_add(msg, "result", result) < 0) {
		json_object_put(msg);
		return NULL;
	}
	return to_line(msg, len);
}

char *rpc_error_line(struct json_object *id, int code, const char *message,
		     size_t *len)
{
	struct json_object *msg = envelope(id);
	struct json_object *error;

	if (!msg)
		return NULL;
	error = json_object_new_object();
	/* Once added, @error belongs to @msg. */
	if (json_add(msg, "error", error) < 0 ||
	    json_add(error, "code", json_object_new_int(code)) < 0 ||
	    json_add_string(error, "message", message) < 0) {
		json_object_put(msg);
		return NULL;
	}
	return to_line(msg, len);
}

char *rpc_notification_line(const char *method, struct json_object *params,
			    size_t *len)
{
	struct json_object *msg = json_object_new_object();

	if (!msg || json_add_string(msg, "jsonrpc", "2.0") < 0 ||
	    json_add_string(msg, "method", method) < 0 ||
	    json_add(msg, "params", params) < 0) {
		if (!msg)
			json_object_put(params);
		json_object_put(msg);
		return NULL;
	}
	return to_line(msg, len);
}
