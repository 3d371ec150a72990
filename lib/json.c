// SPDX-License-Identifier: MIT
#include "lib/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/base64.h"

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

/* Returns the field, NULL when absent or null. */
static struct json_object *json_field(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static int json_dup_str(struct json_object *v, const char *what, char **out,
			struct err *e)
{
	const char *s;
	int n;

	if (!json_object_is_type(v, json_type_string))
		return err_set(e, "%s: expected a string", what);
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (strlen(s) != (size_t)n)
		return err_set(e, "%s: contains a NUL character", what);
	*out = strdup(s);
	if (!*out)
		return err_set(e, "out of memory");
	return 0;
}

int json_get_str(struct json_object *obj, const char *key, bool required,
		 char **out, struct err *e)
{
	struct json_object *v = json_field(obj, key);
	char *s;

	if (!v) {
		if (required)
			return err_set(e, "missing field \"%s\"", key);
		return 0;
	}
	if (json_dup_str(v, key, &s, e) < 0)
		return err_prefix(e, "field");
	free(*out);
	*out = s;
	return 0;
}

int json_get_bool(struct json_object *obj, const char *key, bool *out,
		  struct err *e)
{
	struct json_object *v = json_field(obj, key);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return err_set(e, "field \"%s\": expected true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

int json_get_i64(struct json_object *obj, const char *key, int64_t *out,
		 struct err *e)
{
	struct json_object *v = json_field(obj, key);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return err_set(e, "field \"%s\": expected an integer", key);
	*out = json_object_get_int64(v);
	return 0;
}

int json_get_u32(struct json_object *obj, const char *key, uint32_t *out,
		 struct err *e)
{
	struct json_object *v = json_field(obj, key);
	uint64_t u;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return err_set(e, "field \"%s\": expected an integer", key);
	u = json_object_get_uint64(v);
	if (json_object_get_int64(v) < 0 || u > UINT32_MAX)
		return err_set(e, "field \"%s\": %s is out of range 0..%u", key,
			       json_object_get_string(v), UINT32_MAX);
	*out = (uint32_t)u;
	return 0;
}

int json_get_bytes(struct json_object *obj, const char *key, uint8_t **out,
		   size_t *len, bool *present, struct err *e)
{
	struct json_object *v = json_field(obj, key);
	const char *s;
	size_t n;
	uint8_t *buf;
	long got;

	if (present)
		*present = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return err_set(e, "field \"%s\": expected a base64 string", key);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return err_set(e, "out of memory");
	got = base64_decode(s, n, buf);
	if (got < 0) {
		free(buf);
		return err_set(e, "field \"%s\": invalid base64", key);
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

int json_get_str_array(struct json_object *obj, const char *key, char ***out,
		       size_t *n, struct err *e)
{
	struct json_object *v = json_field(obj, key);
	size_t count;
	char **list;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return err_set(e, "field \"%s\": expected an array of strings",
			       key);
	count = json_object_array_length(v);
	list = calloc(count + 1, sizeof(*list));
	if (!list)
		return err_set(e, "out of memory");
	for (size_t i = 0; i < count; i++) {
		char what[64];

		snprintf(what, sizeof(what), "field \"%s\"[%zu]", key, i);
		if (json_dup_str(json_object_array_get_idx(v, i), what,
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

int json_get_env_map(struct json_object *obj, const char *key, char ***out,
		     size_t *n, struct err *e)
{
	struct json_object *v = json_field(obj, key);
	size_t count = 0, i = 0;
	char **list;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return err_set(e, "field \"%s\": expected an object of strings",
			       key);
	count = (size_t)json_object_object_length(v);
	list = calloc(count + 1, sizeof(*list));
	if (!list)
		return err_set(e, "out of memory");
	json_object_object_foreach(v, name, val) {
		char *value = NULL;
		char what[300];

		snprintf(what, sizeof(what), "field \"%s\".%.200s", key, name);
		if (!name[0] || strchr(name, '=')) {
			err_set(e, "%s: a variable name must be non-empty and "
				"contain no '='", what);
			goto fail;
		}
		if (json_dup_str(val, what, &value, e) < 0)
			goto fail;
		if (asprintf(&list[i], "%s=%s", name, value) < 0) {
			list[i] = NULL;
			free(value);
			err_set(e, "out of memory");
			goto fail;
		}
		free(value);
		i++;
	}
	json_free_strv(*out);
	*out = list;
	*n = count;
	return 0;
fail:
	json_free_strv(list);
	return -1;
}

int json_add_bytes(struct json_object *obj, const char *key,
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
	if (!v)
		return -1;
	return json_object_object_add(obj, key, v);
}
