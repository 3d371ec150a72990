/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_PBJSON_H
#define VMM_API_PBJSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * Messages in protobuf's JSON mapping, as the control socket speaks them:
 * field names as in the .proto (snake_case), uint64 written as decimal
 * strings (numbers accepted too), enums by name (numbers accepted too).
 *
 * Readers take the message's @path ("config.memory_config") so an error
 * names the exact field: "config.memory_config.memory_mb: expected an
 * unsigned integer, got a string". A field that is absent or null leaves
 * the output untouched and returns 0.
 */

#define PB_PATH_MAX 160

/* @path + "." + @key, or @key alone at the top. */
void pb_join(char *out, size_t len, const char *path, const char *key);

/*
 * Checks that @msg is an object whose members are all named in @fields
 * (NULL-terminated); an unknown member is an error, so typos do not pass
 * silently.
 */
int pb_check_message(struct json_object *msg, const char *path,
		     const char *const *fields, struct err *e);

int pb_get_u64(struct json_object *msg, const char *path, const char *key,
	       uint64_t *out, struct err *e);
int pb_get_u32(struct json_object *msg, const char *path, const char *key,
	       uint32_t *out, struct err *e);
int pb_get_bool(struct json_object *msg, const char *path, const char *key,
		bool *out, struct err *e);
/* A malloc()ed copy; strings holding NUL bytes are refused. */
int pb_get_string(struct json_object *msg, const char *path, const char *key,
		  char **out, struct err *e);
/* An enum given by name or number; *out is the index into @names. */
int pb_get_enum(struct json_object *msg, const char *path, const char *key,
		const char *const *names, unsigned int nr, int *out,
		struct err *e);
/* A nested message (object) or a repeated field (array); NULL when absent. */
int pb_get_message(struct json_object *msg, const char *path, const char *key,
		   struct json_object **out, struct err *e);
int pb_get_array(struct json_object *msg, const char *path, const char *key,
		 struct json_object **out, struct err *e);

/* Convert one JSON value (already extracted) with the rules above. */
int pb_value_u64(struct json_object *v, const char *path, uint64_t *out,
		 struct err *e);
int pb_value_enum(struct json_object *v, const char *path,
		  const char *const *names, unsigned int nr, int *out,
		  struct err *e);

/* Writers; they return -1 when memory runs out. */
int pb_add(struct json_object *msg, const char *key, struct json_object *v);
int pb_add_u64(struct json_object *msg, const char *key, uint64_t v);
int pb_add_u32(struct json_object *msg, const char *key, uint32_t v);
int pb_add_bool(struct json_object *msg, const char *key, bool v);
int pb_add_string(struct json_object *msg, const char *key, const char *v);
/* A new member object or array of @msg (owned by it), or NULL. */
struct json_object *pb_add_object(struct json_object *msg, const char *key);
struct json_object *pb_add_array(struct json_object *msg, const char *key);
/* Appends a new object to @arr and returns it (owned by @arr), or NULL. */
struct json_object *pb_append_object(struct json_object *arr);

/* The JSON type of @v in words, for messages ("a string", "null"). */
const char *pb_type_name(struct json_object *v);

#endif
