// SPDX-License-Identifier: MIT
#include "lib/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/base64.h"

/* Integers above 2^53 are not exact in a JSON number parsed as a double. */
#define JSON_MAX_EXACT_DOUBLE 9007199254740992.0

void json_path_join(char *out, size_t len, const char *path, const char *key)
{
	if (path && *path)
		snprintf(out, len, "%s.%s", path, key);
	else
		snprintf(out, len, "%s", key);
}

const char *json_type_name(struct json_object *v)
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

int json_parse_object(const char *buf, size_t len, struct json_object **out,
		      struct err *e)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT32_MAX)
		return err_set(e, "invalid JSON: message too long");
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok)
		return err_set(e, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue || (!obj && jerr == json_tokener_success)) {
		json_object_put(obj);
		return err_set(e, "invalid JSON: unexpected end of input");
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return err_set(e, "invalid JSON at byte %zu: %s", end,
			       json_tokener_error_desc(jerr));
	}
	while (end < len && strchr(" \t\r\n", buf[end]) && buf[end])
		end++;
	if (end != len) {
		json_object_put(obj);
		return err_set(e, "invalid JSON: unexpected data at byte %zu",
			       end);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return err_set(e, "invalid JSON: expected an object");
	}
	*out = obj;
	return 0;
}

char *json_dump(struct json_object *obj, size_t *len)
{
	size_t n;
	const char *s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&n);
	char *copy;

	if (!s)
		return NULL;
	copy = malloc(n + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, n + 1);
	if (len)
		*len = n;
	return copy;
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

int json_check_fields(struct json_object *msg, const char *path,
		     const char *const *fields, struct err *e)
{
	char known[256];

	if (!json_object_is_type(msg, json_type_object))
		return err_set(e, "%s: expected an object, got %s",
			       path && *path ? path : "params",
			       json_type_name(msg));
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

int json_value_u64(struct json_object *v, const char *path, uint64_t *out,
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
		if (!(d >= 0) || d > JSON_MAX_EXACT_DOUBLE || (double)(uint64_t)d != d)
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
			       path, json_type_name(v));
	}
}

int json_get_u64(struct json_object *msg, const char *path, const char *key,
	       uint64_t *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];

	if (!v)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	return json_value_u64(v, where, out, e);
}

int json_get_u32(struct json_object *msg, const char *path, const char *key,
	       uint32_t *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];
	uint64_t u;

	if (!v)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	if (json_value_u64(v, where, &u, e) < 0)
		return -1;
	if (u > UINT32_MAX)
		return err_set(e, "%s: %llu does not fit in 32 bits", where,
			       (unsigned long long)u);
	*out = (uint32_t)u;
	return 0;
}

/* A signed decimal string: optional '-', then digits. */
static int parse_signed(const char *s, size_t len, int64_t *out)
{
	bool neg = len && s[0] == '-';
	uint64_t mag;

	if (parse_decimal(s + neg, len - neg, &mag) < 0 ||
	    mag > (uint64_t)INT64_MAX + neg)
		return -1;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

int json_get_i64(struct json_object *msg, const char *path, const char *key,
		 int64_t *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];
	double d;

	if (!v)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	switch (json_object_get_type(v)) {
	case json_type_int:
		if (json_object_get_int64(v) == INT64_MAX &&
		    json_object_get_uint64(v) > INT64_MAX)
			return err_set(e, "%s: %llu does not fit in 64 bits",
				       where,
				       (unsigned long long)json_object_get_uint64(v));
		*out = json_object_get_int64(v);
		return 0;
	case json_type_double:
		d = json_object_get_double(v);
		if (!(d >= -JSON_MAX_EXACT_DOUBLE && d <= JSON_MAX_EXACT_DOUBLE) ||
		    (double)(int64_t)d != d)
			return err_set(e, "%s: %g is not an integer", where, d);
		*out = (int64_t)d;
		return 0;
	case json_type_string:
		if (parse_signed(json_object_get_string(v),
				 (size_t)json_object_get_string_len(v), out) < 0)
			return err_set(e, "%s: \"%.40s\" is not a 64-bit decimal integer",
				       where, json_object_get_string(v));
		return 0;
	default:
		return err_set(e, "%s: expected an integer, got %s", where,
			       json_type_name(v));
	}
}

int json_get_bool(struct json_object *msg, const char *path, const char *key,
		bool *out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		json_path_join(where, sizeof(where), path, key);
		return err_set(e, "%s: expected true or false, got %s", where,
			       json_type_name(v));
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* A malloc()ed copy of string value @v, found at @where. */
static int dup_string(struct json_object *v, const char *where, char **out,
		      struct err *e)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return err_set(e, "%s: expected a string, got %s", where,
			       json_type_name(v));
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return err_set(e, "%s: the string holds a NUL byte", where);
	*out = strdup(s);
	return *out ? 0 : err_set(e, "%s: out of memory", where);
}

int json_get_str(struct json_object *msg, const char *path, const char *key,
		 char **out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];
	char *copy;

	if (!v)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	if (dup_string(v, where, &copy, e) < 0)
		return -1;
	free(*out);
	*out = copy;
	return 0;
}

int json_need_str(struct json_object *msg, const char *path, const char *key,
		  char **out, struct err *e)
{
	char where[JSON_PATH_MAX];

	if (member(msg, key))
		return json_get_str(msg, path, key, out, e);
	json_path_join(where, sizeof(where), path, key);
	return err_set(e, "%s: missing", where);
}

int json_value_enum(struct json_object *v, const char *path,
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
			       path, json_type_name(v));
	if (json_value_u64(v, path, &n, e) < 0)
		return -1;
	if (n >= nr)
		return err_set(e, "%s: %llu is not a known value", path,
			       (unsigned long long)n);
	*out = (int)n;
	return 0;
}

int json_get_enum(struct json_object *msg, const char *path, const char *key,
		const char *const *names, unsigned int nr, int *out,
		struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];

	if (!v)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	return json_value_enum(v, where, names, nr, out, e);
}

static int get_typed(struct json_object *msg, const char *path,
		     const char *key, enum json_type type, const char *want,
		     struct json_object **out, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, type)) {
		json_path_join(where, sizeof(where), path, key);
		return err_set(e, "%s: expected %s, got %s", where, want,
			       json_type_name(v));
	}
	*out = v;
	return 0;
}

int json_get_object(struct json_object *msg, const char *path, const char *key,
		   struct json_object **out, struct err *e)
{
	return get_typed(msg, path, key, json_type_object, "an object", out, e);
}

int json_get_array(struct json_object *msg, const char *path, const char *key,
		 struct json_object **out, struct err *e)
{
	return get_typed(msg, path, key, json_type_array, "an array", out, e);
}

int json_get_bytes(struct json_object *msg, const char *path, const char *key,
		   uint8_t **out, size_t *len, bool *present, struct err *e)
{
	struct json_object *v = member(msg, key);
	char where[JSON_PATH_MAX];
	uint8_t *buf;
	size_t n;
	long got;

	if (present)
		*present = false;
	if (!v)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	if (!json_object_is_type(v, json_type_string))
		return err_set(e, "%s: expected a base64 string, got %s", where,
			       json_type_name(v));
	n = (size_t)json_object_get_string_len(v);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return err_set(e, "%s: out of memory", where);
	got = base64_decode(json_object_get_string(v), n, buf);
	if (got < 0) {
		free(buf);
		return err_set(e, "%s: invalid base64", where);
	}
	free(*out);
	*out = buf;
	*len = (size_t)got;
	if (present)
		*present = true;
	return 0;
}

void json_free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int json_get_str_array(struct json_object *msg, const char *path,
		       const char *key, char ***out, size_t *n, struct err *e)
{
	char where[JSON_PATH_MAX], item[JSON_PATH_MAX + 24];
	struct json_object *arr;
	size_t count;
	char **list;

	if (json_get_array(msg, path, key, &arr, e) < 0)
		return -1;
	if (!arr)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	count = json_object_array_length(arr);
	list = calloc(count + 1, sizeof(*list));
	if (!list)
		return err_set(e, "%s: out of memory", where);
	for (size_t i = 0; i < count; i++) {
		snprintf(item, sizeof(item), "%s[%zu]", where, i);
		if (dup_string(json_object_array_get_idx(arr, i), item,
			       &list[i], e) < 0) {
			json_free_strv(list);
			return -1;
		}
	}
	json_free_strv(*out);
	*out = list;
	*n = count;
	return 0;
}

/* "NAME=VALUE" from member @name of an environment map (at @where). */
static int env_entry(const char *where, const char *name,
		     struct json_object *val, char **out, struct err *e)
{
	char item[JSON_PATH_MAX + 64];
	char *value = NULL;
	int n;

	snprintf(item, sizeof(item), "%s.%.60s", where, name);
	if (!name[0] || strchr(name, '='))
		return err_set(e, "%s: a variable name must be non-empty and contain no '='",
			       item);
	if (dup_string(val, item, &value, e) < 0)
		return -1;
	n = asprintf(out, "%s=%s", name, value);
	free(value);
	if (n < 0) {
		*out = NULL;
		return err_set(e, "%s: out of memory", item);
	}
	return 0;
}

int json_get_env_map(struct json_object *msg, const char *path,
		     const char *key, char ***out, size_t *n, struct err *e)
{
	char where[JSON_PATH_MAX];
	struct json_object *map;
	size_t count, i = 0;
	char **list;

	if (json_get_object(msg, path, key, &map, e) < 0)
		return -1;
	if (!map)
		return 0;
	json_path_join(where, sizeof(where), path, key);
	count = (size_t)json_object_object_length(map);
	list = calloc(count + 1, sizeof(*list));
	if (!list)
		return err_set(e, "%s: out of memory", where);
	json_object_object_foreach(map, name, val) {
		if (env_entry(where, name, val, &list[i], e) < 0) {
			json_free_strv(list);
			return -1;
		}
		i++;
	}
	json_free_strv(*out);
	*out = list;
	*n = count;
	return 0;
}

int json_add(struct json_object *msg, const char *key, struct json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(msg, key, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int json_add_u64(struct json_object *msg, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_add(msg, key, json_object_new_string(buf));
}

int json_add_u32(struct json_object *msg, const char *key, uint32_t v)
{
	return json_add(msg, key, json_object_new_int64(v));
}

int json_add_bool(struct json_object *msg, const char *key, bool v)
{
	return json_add(msg, key, json_object_new_boolean(v));
}

int json_add_string(struct json_object *msg, const char *key, const char *v)
{
	return json_add(msg, key, json_object_new_string(v ? v : ""));
}

int json_add_bytes(struct json_object *msg, const char *key,
		   const uint8_t *data, size_t len)
{
	size_t n = base64_encoded_len(len);
	char *s = malloc(n + 1);
	struct json_object *v;

	if (!s)
		return -1;
	base64_encode(data, len, s);
	v = json_object_new_string_len(s, (int)n);
	free(s);
	return json_add(msg, key, v);
}

struct json_object *json_add_object(struct json_object *msg, const char *key)
{
	struct json_object *v = json_object_new_object();

	return json_add(msg, key, v) < 0 ? NULL : v;
}

struct json_object *json_add_array(struct json_object *msg, const char *key)
{
	struct json_object *v = json_object_new_array();

	return json_add(msg, key, v) < 0 ? NULL : v;
}

struct json_object *json_append_object(struct json_object *arr)
{
	struct json_object *v = json_object_new_object();

	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return NULL;
	}
	return v;
}
