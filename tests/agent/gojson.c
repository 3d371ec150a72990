// SPDX-License-Identifier: MIT
#include "tests/agent/gojson.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/base64.h"

static void put(struct bytebuf *b, const char *s)
{
	bytebuf_append(b, s, strlen(s));
}

/* The length of a valid UTF-8 sequence at @s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 :
		   s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* encoding/json's encodeState.string. */
void gj_quote(struct bytebuf *b, const char *str, bool escape_html)
{
	const unsigned char *s = (const unsigned char *)str;
	char u[8];

	put(b, "\"");
	while (*s) {
		size_t n;

		if (*s == '"' || *s == '\\') {
			snprintf(u, sizeof(u), "\\%c", *s++);
			put(b, u);
		} else if (*s < 0x20) {
			static const char short_esc[] = "\b\f\n\r\t";
			static const char letters[] = "bfnrt";
			const char *p = strchr(short_esc, *s);

			if (p)
				snprintf(u, sizeof(u), "\\%c", letters[p - short_esc]);
			else
				snprintf(u, sizeof(u), "\\u%04x", *s);
			put(b, u);
			s++;
		} else if (escape_html && (*s == '<' || *s == '>' || *s == '&')) {
			snprintf(u, sizeof(u), "\\u%04x", *s++);
			put(b, u);
		} else if (*s < 0x80) {
			bytebuf_append(b, s++, 1);
		} else if (!(n = utf8_len(s))) {
			put(b, "\\ufffd");
			s++;
		} else if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 &&
			   (s[2] == 0xa8 || s[2] == 0xa9)) {
			put(b, s[2] == 0xa8 ? "\\u2028" : "\\u2029");
			s += 3;
		} else {
			bytebuf_append(b, s, n);
			s += n;
		}
	}
	put(b, "\"");
}

void gj_begin(struct gojson *g, bool escape_html)
{
	memset(g, 0, sizeof(*g));
	g->first = true;
	g->escape_html = escape_html;
	put(&g->b, "{");
}

static void key(struct gojson *g, const char *k)
{
	if (!g->first)
		put(&g->b, ",");
	g->first = false;
	gj_quote(&g->b, k, g->escape_html);
	put(&g->b, ":");
}

void gj_str(struct gojson *g, const char *k, const char *val)
{
	key(g, k);
	gj_quote(&g->b, val, g->escape_html);
}

void gj_bytes(struct gojson *g, const char *k, const void *data, size_t len)
{
	char *s;

	key(g, k);
	if (!data) {
		put(&g->b, "null");
		return;
	}
	s = malloc(base64_encoded_len(len) + 1);
	if (!s)
		return;
	base64_encode(data, len, s);
	put(&g->b, "\"");
	put(&g->b, s);
	put(&g->b, "\"");
	free(s);
}

void gj_uint(struct gojson *g, const char *k, uint64_t v)
{
	char n[24];

	key(g, k);
	snprintf(n, sizeof(n), "%" PRIu64, v);
	put(&g->b, n);
}

void gj_int(struct gojson *g, const char *k, int64_t v)
{
	char n[24];

	key(g, k);
	snprintf(n, sizeof(n), "%" PRId64, v);
	put(&g->b, n);
}

void gj_bool(struct gojson *g, const char *k, bool v)
{
	key(g, k);
	put(&g->b, v ? "true" : "false");
}

void gj_raw(struct gojson *g, const char *k, const char *json)
{
	key(g, k);
	put(&g->b, json);
}

void gj_strv(struct gojson *g, const char *k, char *const *v)
{
	key(g, k);
	put(&g->b, "[");
	for (size_t i = 0; v[i]; i++) {
		if (i)
			put(&g->b, ",");
		gj_quote(&g->b, v[i], g->escape_html);
	}
	put(&g->b, "]");
}

static int env_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
	int c = memcmp(x, y, MIN(nx, ny));

	return c ? c : (nx > ny) - (nx < ny);
}

void gj_env(struct gojson *g, const char *k, char *const *kv)
{
	size_t n = 0;
	char **sorted;

	while (kv[n])
		n++;
	sorted = calloc(n + 1, sizeof(*sorted));
	if (!sorted)
		return;
	memcpy(sorted, kv, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), env_cmp);
	key(g, k);
	put(&g->b, "{");
	for (size_t i = 0; i < n; i++) {
		char *name = strndup(sorted[i], strcspn(sorted[i], "="));
		const char *val = strchr(sorted[i], '=');

		if (i)
			put(&g->b, ",");
		gj_quote(&g->b, name ? name : "", g->escape_html);
		put(&g->b, ":");
		gj_quote(&g->b, val ? val + 1 : "", g->escape_html);
		free(name);
	}
	put(&g->b, "}");
	free(sorted);
}

char *gj_end(struct gojson *g, size_t *len)
{
	char *s;

	put(&g->b, "}");
	s = strndup((const char *)bytebuf_head(&g->b), bytebuf_len(&g->b));
	if (len)
		*len = bytebuf_len(&g->b);
	bytebuf_free(&g->b);
	return s;
}

static const char *go_json_type(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return "bool";
	case json_type_double:
	case json_type_int:
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	case json_type_object:
		return "object";
	default:
		return "null";
	}
}

/* The field's value, NULL when absent or null. */
static struct json_object *field(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static int type_error(struct json_object *v, const char *key,
		      const char *go_type, struct err *e)
{
	return err_set(e, "json: cannot unmarshal %s into Go struct field .%s "
		       "of type %s", go_json_type(v), key, go_type);
}

int go_int(struct json_object *o, const char *key, int64_t min, int64_t max,
	   int64_t *out, struct err *e)
{
	struct json_object *v = field(o, key);
	int64_t n;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return type_error(v, key, "integer", e);
	n = json_object_get_int64(v);
	/* json-c saturates: a bigger number reads as INT64_MAX. */
	if (n < min || n > max || (n == INT64_MAX &&
				   json_object_get_uint64(v) > INT64_MAX &&
				   max < INT64_MAX))
		return err_set(e, "json: cannot unmarshal number %s into Go "
			       "struct field .%s: out of range",
			       json_object_get_string(v), key);
	*out = n;
	return 0;
}

int go_uint32(struct json_object *o, const char *key, uint32_t *out,
	      struct err *e)
{
	int64_t n = *out;

	if (go_int(o, key, 0, UINT32_MAX, &n, e) < 0)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

int go_int32(struct json_object *o, const char *key, int32_t *out,
	     struct err *e)
{
	int64_t n = *out;

	if (go_int(o, key, INT32_MIN, INT32_MAX, &n, e) < 0)
		return -1;
	*out = (int32_t)n;
	return 0;
}

int go_string(struct json_object *o, const char *key, const char **out,
	      struct err *e)
{
	struct json_object *v = field(o, key);

	if (!*out)
		*out = "";
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return type_error(v, key, "string", e);
	*out = json_object_get_string(v);
	return 0;
}

int go_bool(struct json_object *o, const char *key, bool *out, struct err *e)
{
	struct json_object *v = field(o, key);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return type_error(v, key, "bool", e);
	*out = json_object_get_boolean(v);
	return 0;
}

int go_bytes(struct json_object *o, const char *key, uint8_t **out,
	     size_t *len, struct err *e)
{
	struct json_object *v = field(o, key);
	const char *s;
	size_t n;
	long got;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return type_error(v, key, "[]uint8", e);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	free(*out);
	*out = malloc(n / 4 * 3 + 1);
	if (!*out)
		return err_set(e, "out of memory");
	got = base64_decode(s, n, *out);
	if (got < 0)
		return err_set(e, "illegal base64 data in field .%s", key);
	*len = (size_t)got;
	return 0;
}

int go_guid(struct json_object *o, const char *key, struct err *e)
{
	struct json_object *v = field(o, key);
	const char *s;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return type_error(v, key, "guid.GUID", e);
	s = json_object_get_string(v);
	/* go-winio's guid.FromString: 36 characters, dashes at 8/13/18/23. */
	if (strlen(s) != 36)
		return err_set(e, "invalid GUID \"%s\"", s);
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return err_set(e, "invalid GUID \"%s\"", s);
	}
	return 0;
}

int go_object(struct json_object *o, const char *key, json_type type,
	      struct json_object **out, struct err *e)
{
	struct json_object *v = field(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, type))
		return type_error(v, key, type == json_type_array ? "slice" :
				  "struct", e);
	*out = v;
	return 0;
}
