/* SPDX-License-Identifier: MIT */
#ifndef TESTS_AGENT_GOJSON_H
#define TESTS_AGENT_GOJSON_H

/*
 * JSON as the peers' Go code writes and reads it (encoding/json), for the
 * tests that play a peer's host: objects written field by field in struct
 * order with Go's escaping, and decoding checks with Go's type rules.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/bytebuf.h"
#include "lib/util.h"

/* An object being written, as json.Marshal writes a struct. */
struct gojson {
	struct bytebuf b;
	bool first;
	bool escape_html;	/* json.Marshal: yes; an Encoder with
				   SetEscapeHTML(false): no */
};

void gj_begin(struct gojson *g, bool escape_html);
void gj_str(struct gojson *g, const char *key, const char *val);
/* A []byte: base64, or null when @data is NULL (a nil slice). */
void gj_bytes(struct gojson *g, const char *key, const void *data, size_t len);
void gj_uint(struct gojson *g, const char *key, uint64_t v);
void gj_int(struct gojson *g, const char *key, int64_t v);
void gj_bool(struct gojson *g, const char *key, bool v);
/* An already encoded value (a nested object or array). */
void gj_raw(struct gojson *g, const char *key, const char *json);
/* A []string, NULL-terminated. */
void gj_strv(struct gojson *g, const char *key, char *const *v);
/* A map[string]string from "KEY=VALUE" strings: Go sorts the keys. */
void gj_env(struct gojson *g, const char *key, char *const *kv);
/* Closes the object; returns it NUL-terminated (malloc()ed). */
char *gj_end(struct gojson *g, size_t *len);

/* Appends @s as a Go JSON string literal. */
void gj_quote(struct bytebuf *b, const char *s, bool escape_html);

/*
 * json.Unmarshal into a struct field of a Go type: absent and null leave
 * the value alone; any other JSON type, or a number the type cannot hold,
 * is the error Go's decoder returns (named after the field).
 */
int go_int(struct json_object *o, const char *key, int64_t min, int64_t max,
	   int64_t *out, struct err *e);
int go_uint32(struct json_object *o, const char *key, uint32_t *out,
	      struct err *e);
int go_int32(struct json_object *o, const char *key, int32_t *out,
	     struct err *e);
/* A string field; *@out points into @o (valid while it lives), or "". */
int go_string(struct json_object *o, const char *key, const char **out,
	      struct err *e);
int go_bool(struct json_object *o, const char *key, bool *out, struct err *e);
/* A []byte field: base64 (StdEncoding) or null; malloc()ed into @out. */
int go_bytes(struct json_object *o, const char *key, uint8_t **out,
	     size_t *len, struct err *e);
/* A guid.GUID field (go-winio's UnmarshalText). */
int go_guid(struct json_object *o, const char *key, struct err *e);
/* The field of type object or array, or NULL; wrong types are errors. */
int go_object(struct json_object *o, const char *key, json_type type,
	      struct json_object **out, struct err *e);

#endif
