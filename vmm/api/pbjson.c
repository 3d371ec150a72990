// SPDX-License-Identifier: MIT
#include "pbjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers above 2^53 are not exact in a JSON number parsed as a double. */
#define PB_MAX_EXACT_DOUBLE 9007199254740992.0

void pb_join(char *out, size_t len, const char *path, const char *key)
{
	if (path && *path)
		snprintf(out, len, "%s.%s", path, key);
	else
		snprintf(out, len, "%s", key);
}

const char *pb_type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "an unknown JSON type";
}

/* Joins @fields (the first @nr, or up to a NULL) into @buf. */
static void list_fields(char *buf, size_t len, const char *const *fields,
			size_t nr)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nr && fields[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 fields[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int pb_check_message(struct json_object *msg, const char *path,
		     const char *const *fields, struct err *e)
{
	char known[256];

	if (!json_object_is_type(msg, json_type_object))
		return err_set(e, "%s: expected an object, got %s",
			       path && *path ? path : "params",
			       pb_type_name(msg));
	json_object_object_foreach(msg, key, val) {
		size_t i;

		(void)val;
		for (i = 0; fields[i]; i++)
			if (!strcmp(key, fields[i]))
				break;
		if (fields[i])
			continue;
		list_fields(known, sizeof(known), fields, SIZE_MAX);
		if (path && *path)
			return err_set(e, "%s: unknown field '%.64s' (known: %s)",
				       path, key, known);
		return err_set(e, "unknown field '%.64s' (known: %s)", key,
			       known);
	}
	return 0;
}

/* The member @key, or NULL when it is absent or null. */
static struct json_object *member(struct json_object *msg, const char *key)
{
	struct json_object *v;

	if (!msg || !json_object_object_get_ex(msg, key, &v))
		return NULL;
	return json_object_is_type(v, json_type_null) ? NULL : v;
}

static int parse_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int pb_value_u64(struct json_object *v, const char *path, uint64_t *out,
		 struct err *e)
{
	double d;

	switch (json_object_get_type(v)) {
	case json_type_int:
		if (json_object_get_int64(v) < 0)
			return err_set(e, "%s: %lld is negative", path,
				       (long long)json_object_get_int64(v));
		*out = json_object_get_uint64(v);
		return 0;
	case json_type_double:
		d = json_object_get_double(v);
		if (!(d >= 0) || d > PB_MAX_EXACT_DOUBLE || floor(d) != d)
			return err_set(e, "%s: %g is not an unsigned integer",
				       path, d);
		*out = (uint64_t)d;
		return 0;
	case json_type_string:
		if (parse_decimal(json_object_get_string(v),
				  (size_t)json_object_get_string_len(v), out) < 0)
			return err_set(e, "%s: \"%.40s\" is not an unsigned 64-bit decimal integer",
				       path, json_object_get_string(v));
		return 0;
	default:
		return err_set(e, "%s: expected an unsigned integer, got %s",
			       path, pb_type_name(v));
	}
}

int pb_get_u64(struct json_object *msg, const char *path, const char *key,
	       uint64_t *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[PB_PATH_MAX];

	if (!v)
		return 0;
	pb_join(where, sizeof(where), path, key);
	return pb_value_u64(v, where, out, e);
}

int pb_get_u32(struct json_object *msg, const char *path, const char *key,
	       uint32_t *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[PB_PATH_MAX];
	uint64_t u;

	if (!v)
		return 0;
	pb_join(where, sizeof(where), path, key);
	if (pb_value_u64(v, where, &u, e) < 0)
		return -1;
	if (u > UINT32_MAX)
		return err_set(e, "%s: %llu does not fit in 32 bits", where,
			       (unsigned long long)u);
	*out = (uint32_t)u;
	return 0;
}

int pb_get_bool(struct json_object *msg, const char *path, const char *key,
		bool *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[PB_PATH_MAX];

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		pb_join(where, sizeof(where), path, key);
		return err_set(e, "%s: expected true or false, got %s", where,
			       pb_type_name(v));
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int pb_get_string(struct json_object *msg, const char *path, const char *key,
		  char **out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[PB_PATH_MAX];
	const char *s;
	size_t len;
	char *copy;

	if (!v)
		return 0;
	pb_join(where, sizeof(where), path, key);
	if (!json_object_is_type(v, json_type_string))
		return err_set(e, "%s: expected a string, got %s", where,
			       pb_type_name(v));
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return err_set(e, "%s: the string holds a NUL byte", where);
	copy = strdup(s);
	if (!copy)
		return err_set(e, "%s: out of memory", where);
	free(*out);
	*out = copy;
	return 0;
}

int pb_value_enum(struct json_object *v, const char *path,
		  const char *const *names, unsigned int nr, int *out,
		  struct err *e)
{
	char known[256];
	uint64_t n;

	if (json_object_is_type(v, json_type_string)) {
		for (unsigned int i = 0; i < nr; i++) {
			if (!strcmp(json_object_get_string(v), names[i])) {
				*out = (int)i;
				return 0;
			}
		}
		list_fields(known, sizeof(known), names, nr);
		return err_set(e, "%s: unknown value \"%.40s\" (known: %s)",
			       path, json_object_get_string(v), known);
	}
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return err_set(e, "%s: expected an enum name or number, got %s",
			       path, pb_type_name(v));
	if (pb_value_u64(v, path, &n, e) < 0)
		return -1;
	if (n >= nr)
		return err_set(e, "%s: %llu is not a known value", path,
			       (unsigned long long)n);
	*out = (int)n;
	return 0;
}

int pb_get_enum(struct json_object *msg, const char *path, const char *key,
		const char *const *names, unsigned int nr, int *out,
		struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[PB_PATH_MAX];

	if (!v)
		return 0;
	pb_join(where, sizeof(where), path, key);
	return pb_value_enum(v, where, names, nr, out, e);
}

static int get_typed(struct json_object *msg, const char *path,
		     const char *key, enum json_type type, const char *want,
		     struct json_object **out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[PB_PATH_MAX];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, type)) {
		pb_join(where, sizeof(where), path, key);
		return err_set(e, "%s: expected %s, got %s", where, want,
			       pb_type_name(v));
	}
	*out = v;
	return 0;
}

int pb_get_message(struct json_object *msg, const char *path, const char *key,
		   struct json_object **out, struct err *e)
{
	return get_typed(msg, path, key, json_type_object, "an object", out, e);
}

int pb_get_array(struct json_object *msg, const char *path, const char *key,
		 struct json_object **out, struct err *e)
{
	return get_typed(msg, path, key, json_type_array, "an array", out, e);
}

int pb_add(struct json_object *msg, const char *key, struct json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(msg, key, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int pb_add_u64(struct json_object *msg, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return pb_add(msg, key, json_object_new_string(buf));
}

int pb_add_u32(struct json_object *msg, const char *key, uint32_t v)
{
	return pb_add(msg, key, json_object_new_int64(v));
}

int pb_add_bool(struct json_object *msg, const char *key, bool v)
{
	return pb_add(msg, key, json_object_new_boolean(v));
}

int pb_add_string(struct json_object *msg, const char *key, const char *v)
{
	return pb_add(msg, key, json_object_new_string(v ? v : ""));
}

struct json_object *pb_add_object(struct json_object *msg, const char *key)
{
	struct json_object *v = json_object_new_object();

	return pb_add(msg, key, v) < 0 ? NULL : v;
}

struct json_object *pb_add_array(struct json_object *msg, const char *key)
{
	struct json_object *v = json_object_new_array();

	return pb_add(msg, key, v) < 0 ? NULL : v;
}

struct json_object *pb_append_object(struct json_object *arr)
{
	struct json_object *v = json_object_new_object();

	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return NULL;
	}
	return v;
}
