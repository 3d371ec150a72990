/* SPDX-License-Identifier: MIT */
#ifndef LIB_JSON_H
#define LIB_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * Fields of JSON messages, as every protocol here speaks them: the control
 * socket (protobuf's JSON mapping of vmservice.proto and
 * fuchsia.virtualization) and the guest agent's exec and bridge messages
 * (Go's encoding/json).
 *
 * Readers take the enclosing message's @path ("config.memory_config"; NULL
 * or "" at the top) so that an error names the exact field:
 * "config.memory_config.memory_mb: expected an unsigned integer, got a
 * string". A field that is absent or null leaves the output untouched and
 * returns 0.
 *
 * Integers are JSON numbers without a fraction, or decimal strings (how
 * protobuf's JSON mapping writes 64-bit integers; numbers are accepted
 * too). Enums are names, or their numbers.
 */

#define JSON_PATH_MAX 160

/* @path + "." + @key, or @key alone at the top. */
void json_path_join(char *out, size_t len, const char *path, const char *key);

/* The JSON type of @v in words, for messages ("a string", "null"). */
const char *json_type_name(struct json_object *v);

/* Parses exactly @len bytes as one JSON object (trailing bytes are an error). */
int json_parse_object(const char *buf, size_t len, struct json_object **out,
		      struct err *e);
/* Serializes compactly without escaping '/'; returns a malloc()ed string. */
char *json_dump(struct json_object *obj, size_t *len);

/*
 * Checks that @msg is an object whose members are all named in @fields
 * (NULL-terminated); an unknown member is an error, so typos do not pass
 * silently.
 */
int json_check_fields(struct json_object *msg, const char *path,
		      const char *const *fields, struct err *e);

int json_get_u64(struct json_object *msg, const char *path, const char *key,
		 uint64_t *out, struct err *e);
int json_get_u32(struct json_object *msg, const char *path, const char *key,
		 uint32_t *out, struct err *e);
int json_get_i64(struct json_object *msg, const char *path, const char *key,
		 int64_t *out, struct err *e);
int json_get_bool(struct json_object *msg, const char *path, const char *key,
		  bool *out, struct err *e);
/* A malloc()ed copy (replacing *@out); strings holding NUL are refused. */
int json_get_str(struct json_object *msg, const char *path, const char *key,
		 char **out, struct err *e);
/* The same for a field that must be present. */
int json_need_str(struct json_object *msg, const char *path, const char *key,
		  char **out, struct err *e);
/* An enum given by name or number; *out is the index into @names. */
int json_get_enum(struct json_object *msg, const char *path, const char *key,
		  const char *const *names, unsigned int nr, int *out,
		  struct err *e);
/* A nested message (object) or a repeated field (array); NULL when absent. */
int json_get_object(struct json_object *msg, const char *path,
		    const char *key, struct json_object **out, struct err *e);
int json_get_array(struct json_object *msg, const char *path, const char *key,
		   struct json_object **out, struct err *e);
/* A base64 string field, as Go encodes []byte; @present tells if it was set. */
int json_get_bytes(struct json_object *msg, const char *path, const char *key,
		   uint8_t **out, size_t *len, bool *present, struct err *e);
/* An array of strings, returned NULL-terminated. */
int json_get_str_array(struct json_object *msg, const char *path,
		       const char *key, char ***out, size_t *n, struct err *e);
/* A string-to-string map, returned as NULL-terminated "KEY=VALUE" strings. */
int json_get_env_map(struct json_object *msg, const char *path,
		     const char *key, char ***out, size_t *n, struct err *e);
void json_free_strv(char **v);

/* Convert one JSON value (already extracted, found at @path). */
int json_value_u64(struct json_object *v, const char *path, uint64_t *out,
		   struct err *e);
int json_value_enum(struct json_object *v, const char *path,
		    const char *const *names, unsigned int nr, int *out,
		    struct err *e);

/* Writers; they return -1 when memory runs out. */
int json_add(struct json_object *msg, const char *key, struct json_object *v);
/* A decimal string, as protobuf's JSON mapping writes uint64. */
int json_add_u64(struct json_object *msg, const char *key, uint64_t v);
int json_add_u32(struct json_object *msg, const char *key, uint32_t v);
int json_add_bool(struct json_object *msg, const char *key, bool v);
int json_add_string(struct json_object *msg, const char *key, const char *v);
/* Base64, as Go encodes []byte. */
int json_add_bytes(struct json_object *msg, const char *key,
		   const uint8_t *data, size_t len);
/* A new member object or array of @msg (owned by it), or NULL. */
struct json_object *json_add_object(struct json_object *msg, const char *key);
struct json_object *json_add_array(struct json_object *msg, const char *key);
/* Appends a new object to @arr and returns it (owned by @arr), or NULL. */
struct json_object *json_append_object(struct json_object *arr);

#endif
