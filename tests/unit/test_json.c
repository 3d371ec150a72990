// SPDX-License-Identifier: MIT
/*
 * lib/json.h: the field readers every protocol shares, as the control
 * socket (protobuf's JSON mapping) and the agent (Go's encoding/json) use
 * them, with errors that name the field.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

Test(json, reads_uint64_as_protobuf_json_writes_it)
{
	struct json_object *m = json_tokener_parse(
		"{\"a\":\"18446744073709551615\",\"b\":42,\"c\":4.0,\"d\":-1,"
		"\"e\":\"12x\",\"f\":1.5,\"g\":true,\"h\":\"184467440737095516160\"}");
	uint64_t v = 0;
	uint32_t u = 0;
	struct err e;

	cr_assert_eq(json_get_u64(m, "msg", "a", &v, &e), 0, "%s", e.msg);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(json_get_u64(m, "msg", "b", &v, &e), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(json_get_u64(m, "msg", "c", &v, &e), 0);
	cr_assert_eq(v, 4);
	cr_assert_eq(json_get_u64(m, "msg", "d", &v, &e), -1);
	cr_assert(strstr(e.msg, "msg.d: -1 is negative"), "%s", e.msg);
	cr_assert_eq(json_get_u64(m, "msg", "e", &v, &e), -1);
	cr_assert(strstr(e.msg, "msg.e"), "%s", e.msg);
	cr_assert_eq(json_get_u64(m, "msg", "f", &v, &e), -1);
	cr_assert_eq(json_get_u64(m, "msg", "g", &v, &e), -1);
	cr_assert(strstr(e.msg, "expected an unsigned integer, got a boolean"), "%s", e.msg);
	cr_assert_eq(json_get_u64(m, "msg", "h", &v, &e), -1);
	cr_assert_eq(json_get_u32(m, "msg", "a", &u, &e), -1);
	cr_assert(strstr(e.msg, "does not fit in 32 bits"), "%s", e.msg);
	v = 5;
	cr_assert_eq(json_get_u64(m, "msg", "absent", &v, &e), 0);
	cr_assert_eq(v, 5, "an absent field leaves the value alone");
	json_object_put(m);
}

Test(json, checks_messages_strings_and_enums)
{
	static const char *const fields[] = { "name", "kind", NULL };
	static const char *const kinds[] = { "ADD", "REMOVE", "UPDATE" };
	struct json_object *m = json_tokener_parse(
		"{\"name\":\"a\\u0000b\",\"kind\":\"REMOVE\",\"typo\":1}");
	struct err e;
	char *s = NULL;
	int k = -1;

	cr_assert_eq(json_check_fields(m, "req", fields, &e), -1);
	cr_assert(strstr(e.msg, "req: unknown field 'typo' (known: name, kind)"),
		  "%s", e.msg);
	cr_assert_eq(json_get_str(m, "req", "name", &s, &e), -1);
	cr_assert(strstr(e.msg, "NUL"), "%s", e.msg);
	cr_assert_null(s);
	cr_assert_eq(json_get_enum(m, "req", "kind", kinds, 3, &k, &e), 0);
	cr_assert_eq(k, 1);
	json_object_object_add(m, "kind", json_object_new_int(2));
	cr_assert_eq(json_get_enum(m, "req", "kind", kinds, 3, &k, &e), 0);
	cr_assert_eq(k, 2);
	json_object_object_add(m, "kind", json_object_new_string("DELETE"));
	cr_assert_eq(json_get_enum(m, "req", "kind", kinds, 3, &k, &e), -1);
	cr_assert(strstr(e.msg, "unknown value \"DELETE\" (known: ADD, REMOVE, UPDATE)"),
		  "%s", e.msg);
	json_object_put(m);
}

Test(json, reads_signed_integers_and_required_strings)
{
	struct json_object *m = json_tokener_parse(
		"{\"a\":-7,\"b\":\"-9223372036854775808\",\"c\":2.5,"
		"\"d\":9223372036854775808,\"s\":\"x\",\"n\":null}");
	int64_t v = 0;
	char *s = NULL;
	struct err e;

	cr_assert_eq(json_get_i64(m, NULL, "a", &v, &e), 0, "%s", e.msg);
	cr_assert_eq(v, -7);
	cr_assert_eq(json_get_i64(m, NULL, "b", &v, &e), 0, "%s", e.msg);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(json_get_i64(m, "msg", "c", &v, &e), -1);
	cr_assert(strstr(e.msg, "msg.c: 2.5 is not an integer"), "%s", e.msg);
	cr_assert_eq(json_get_i64(m, NULL, "d", &v, &e), -1);
	cr_assert(strstr(e.msg, "d: "), "%s", e.msg);
	cr_assert_eq(json_need_str(m, "msg", "n", &s, &e), -1,
		     "null is as good as absent");
	cr_assert(strstr(e.msg, "msg.n: missing"), "%s", e.msg);
	cr_assert_eq(json_need_str(m, NULL, "s", &s, &e), 0, "%s", e.msg);
	cr_assert_str_eq(s, "x");
	cr_assert_eq(json_get_str(m, NULL, "a", &s, &e), -1);
	cr_assert(strstr(e.msg, "a: expected a string, got a number"), "%s",
		  e.msg);
	cr_assert_str_eq(s, "x", "a failed read leaves the value alone");
	free(s);
	json_object_put(m);
}

Test(json, reads_bytes_lists_and_maps)
{
	struct json_object *m = json_tokener_parse(
		"{\"b\":\"aGk=\",\"bad\":\"a\",\"l\":[\"x\",\"y\"],"
		"\"l2\":[\"x\",1],\"env\":{\"A\":\"1\"},\"env2\":{\"B=\":\"2\"}}");
	uint8_t *bytes = NULL;
	char **list = NULL;
	bool present;
	size_t n = 0;
	struct err e;

	cr_assert_eq(json_get_bytes(m, NULL, "b", &bytes, &n, &present, &e), 0);
	cr_assert(present);
	cr_assert_eq(n, 2);
	cr_assert_eq(memcmp(bytes, "hi", 2), 0);
	cr_assert_eq(json_get_bytes(m, "msg", "bad", &bytes, &n, &present, &e),
		     -1);
	cr_assert(strstr(e.msg, "msg.bad: invalid base64"), "%s", e.msg);
	cr_assert_eq(json_get_bytes(m, NULL, "none", &bytes, &n, &present, &e),
		     0);
	cr_assert_not(present);
	free(bytes);

	cr_assert_eq(json_get_str_array(m, NULL, "l", &list, &n, &e), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[1], "y");
	cr_assert_null(list[2]);
	cr_assert_eq(json_get_str_array(m, "p", "l2", &list, &n, &e), -1);
	cr_assert(strstr(e.msg, "p.l2[1]: expected a string"), "%s", e.msg);
	json_free_strv(list);
	list = NULL;
	cr_assert_eq(json_get_env_map(m, NULL, "env", &list, &n, &e), 0);
	cr_assert_str_eq(list[0], "A=1");
	cr_assert_eq(json_get_env_map(m, NULL, "env2", &list, &n, &e), -1);
	cr_assert(strstr(e.msg, "env2.B=: a variable name"), "%s", e.msg);
	json_free_strv(list);
	json_object_put(m);
}
