/* SPDX-License-Identifier: MIT */
#ifndef LIB_JSON_H
#define LIB_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* Parses exactly @len bytes as one JSON object (trailing bytes are an error). */
int json_parse_object(const char *buf, size_t len, struct json_object **out,
		      struct err *e);
/* Serializes compactly without escaping '/'; returns a malloc()ed string. */
char *json_dump(struct json_object *obj, size_t *len);

/*
 * Field readers: a missing or null field leaves the output untouched and
 * returns 0 (or fails when @required); a field of the wrong type fails with a
 * message naming the field.
 */
int json_get_str(struct json_object *obj, const char *key, bool required,
		 char **out, struct err *e);
int json_get_bool(struct json_object *obj, const char *key, bool *out,
		  struct err *e);
int json_get_u32(struct json_object *obj, const char *key, uint32_t *out,
		 struct err *e);
int json_get_i64(struct json_object *obj, const char *key, int64_t *out,
		 struct err *e);
/* A base64 string field, as Go encodes []byte; @present tells if it was set. */
int json_get_bytes(struct json_object *obj, const char *key, uint8_t **out,
		   size_t *len, bool *present, struct err *e);
/* An array of strings, returned NULL-terminated. */
int json_get_str_array(struct json_object *obj, const char *key, char ***out,
		       size_t *n, struct err *e);
/* A string-to-string map, returned as NULL-terminated "KEY=VALUE" strings. */
int json_get_env_map(struct json_object *obj, const char *key, char ***out,
		     size_t *n, struct err *e);

int json_add_bytes(struct json_object *obj, const char *key,
		   const uint8_t *data, size_t len);
void json_free_strv(char **v);

#endif
