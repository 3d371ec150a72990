// SPDX-License-Identifier: MIT
#include "inspect.h"

#include <stdlib.h>
#include <string.h>

/* Array index in @seg (digits only, no leading zero), or -1. */
static long seg_index(const char *seg, size_t len)
{
	long v = 0;

	if (len == 0 || len > 9 || (len > 1 && seg[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return -1;
		v = v * 10 + (seg[i] - '0');
	}
	return v;
}

static int step(struct json_object *node, const char *query, const char *seg,
		size_t len, struct json_object **next, struct rpc_error *re)
{
	char name[INSPECT_MAX_QUERY + 1];
	int at = (int)(seg - query);
	long idx;

	if (json_object_is_type(node, json_type_array)) {
		idx = seg_index(seg, len);
		if (idx < 0 || (size_t)idx >= json_object_array_length(node))
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"query '%s': '%.*s' is not an index of the %zu-element array at '%.*s'",
					query, (int)len, seg,
					json_object_array_length(node),
					at ? at - 1 : 0, query);
		*next = json_object_array_get_idx(node, (size_t)idx);
		return 0;
	}
	if (!json_object_is_type(node, json_type_object))
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"query '%s': '%.*s' is a value, not an object or array",
				query, at ? at - 1 : 0, query);
	memcpy(name, seg, len);
	name[len] = '\0';
	if (!json_object_object_get_ex(node, name, next))
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"query '%s': no member '%s'%s%.*s%s", query, name,
				at ? " in '" : "", at ? at - 1 : 0, query,
				at ? "'" : "");
	return 0;
}

/* A copy of @v nesting at most @depth levels; scalars are shared. */
static struct json_object *copy_limited(struct json_object *v,
					unsigned int depth)
{
	struct json_object *out;

	switch (json_object_get_type(v)) {
	case json_type_object:
		if (depth == 0)
			return json_object_new_string("{...}");
		out = json_object_new_object();
		if (!out)
			return NULL;
		json_object_object_foreach(v, key, child) {
			struct json_object *c = child ? copy_limited(child, depth - 1) : NULL;

			if ((child && !c) || json_object_object_add(out, key, c) < 0) {
				json_object_put(c);
				json_object_put(out);
				return NULL;
			}
		}
		return out;
	case json_type_array:
		if (depth == 0)
			return json_object_new_string("[...]");
		out = json_object_new_array();
		if (!out)
			return NULL;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *child = json_object_array_get_idx(v, i);
			struct json_object *c = child ? copy_limited(child, depth - 1) : NULL;

			if ((child && !c) || json_object_array_add(out, c) < 0) {
				json_object_put(c);
				json_object_put(out);
				return NULL;
			}
		}
		return out;
	default:
		return json_object_get(v);
	}
}

int inspect_query(struct json_object *view, const char *query,
		  uint32_t recursion_limit, struct json_object **out,
		  struct rpc_error *re)
{
	struct json_object *node = view;
	const char *seg = query;
	size_t qlen = strlen(query);
	unsigned int depth;

	*out = NULL;
	if (qlen > INSPECT_MAX_QUERY)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"query: longer than %d characters", INSPECT_MAX_QUERY);
	if (recursion_limit > INSPECT_MAX_DEPTH)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"recursion_limit: %u: at most %d", recursion_limit,
				INSPECT_MAX_DEPTH);
	depth = recursion_limit ? recursion_limit : INSPECT_DEFAULT_DEPTH;
	while (qlen && *seg) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);

		if (len == 0)
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"query '%s': empty member name at character %d",
					query, (int)(seg - query) + 1);
		if (step(node, query, seg, len, &node, re) < 0)
			return -1;
		if (!dot)
			break;
		seg = dot + 1;
		if (!*seg)
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"query '%s': ends with '.'", query);
	}
	if (!node) {
		*out = NULL; /* a JSON null */
		return 0;
	}
	*out = copy_limited(node, depth);
	if (!*out)
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	return 0;
}
