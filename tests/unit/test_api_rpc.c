// SPDX-License-Identifier: MIT
/*
 * The control socket's JSON-RPC framing, the protobuf JSON field readers
 * and InspectVM's query language.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/inspect.h"
#include "vmm/api/rpc.h"

static int parse(const char *line, struct rpc_request *req,
		 struct rpc_error *re)
{
	memset(re, 0, sizeof(*re));
	return rpc_parse_request(line, strlen(line), req, re);
}

Test(api_rpc, parses_a_request)
{
	struct rpc_request req;
	struct rpc_error re;

	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"InspectVM\","
			   "\"params\":{\"query\":\"state\"}}", &req, &re), 0,
		     "%s", re.e.msg);
	cr_assert_str_eq(req.method, "InspectVM");
	cr_assert_not(req.notification);
	cr_assert_eq(json_object_get_int(req.id), 7);
	cr_assert_str_eq(json_object_get_string(
				 json_object_object_get(req.params, "query")),
			 "state");
	rpc_request_free(&req);
}

Test(api_rpc, tells_notifications_from_null_ids)
{
	struct rpc_request req;
	struct rpc_error re;

	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"method\":\"Quit\"}", &req, &re), 0);
	cr_assert(req.notification);
	cr_assert_null(req.params);
	rpc_request_free(&req);
	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"Quit\"}",
			   &req, &re), 0);
	cr_assert_not(req.notification);
	cr_assert_null(req.id);
	rpc_request_free(&req);
	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":\"a-1\",\"method\":\"Quit\"}",
			   &req, &re), 0);
	cr_assert_str_eq(json_object_get_string(req.id), "a-1");
	rpc_request_free(&req);
}

Test(api_rpc, rejects_bad_requests_with_the_right_code)
{
	static const struct {
		const char *line;
		int code;
		const char *msg;
	} bad[] = {
		{ "{\"jsonrpc\":\"2.0\",", RPC_PARSE_ERROR, "ends early" },
		{ "{\"jsonrpc\":'2.0'}", RPC_PARSE_ERROR, "parse error" },
		{ "{\"a\":1} x", RPC_PARSE_ERROR, "parse error" },
		{ "[{\"jsonrpc\":\"2.0\",\"method\":\"Quit\"}]", RPC_INVALID_REQUEST, "batches" },
		{ "42", RPC_PARSE_ERROR, "" },
		{ "\"Quit\"", RPC_INVALID_REQUEST, "expected a JSON object" },
		{ "{\"id\":1,\"method\":\"Quit\"}", RPC_INVALID_REQUEST, "\"jsonrpc\" must be" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"Quit\"}", RPC_INVALID_REQUEST, "\"jsonrpc\" must be" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_INVALID_REQUEST, "\"method\" must be a string" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", RPC_INVALID_REQUEST, "\"method\" must be a string" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"Quit\"}", RPC_INVALID_REQUEST, "id must be" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"Quit\"}", RPC_INVALID_REQUEST, "id must be" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Quit\",\"params\":[1]}", RPC_INVALID_PARAMS, "not an array" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Quit\",\"params\":3}", RPC_INVALID_REQUEST, "\"params\" must be an object" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Quit\",\"extra\":1}", RPC_INVALID_REQUEST, "unknown field 'extra'" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}", RPC_PARSE_ERROR, "" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rpc_request req;
		struct rpc_error re;

		cr_expect_eq(parse(bad[i].line, &req, &re), -1, "accepted %s",
			     bad[i].line);
		cr_expect_eq(re.code, bad[i].code, "%s: code %d (%s)",
			     bad[i].line, re.code, re.e.msg);
		cr_expect(strstr(re.e.msg, bad[i].msg), "%s: '%s'", bad[i].line,
			  re.e.msg);
		rpc_request_free(&req);
	}
}

Test(api_rpc, keeps_the_id_of_an_invalid_request)
{
	struct rpc_request req;
	struct rpc_error re;

	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":[]}", &req, &re), -1);
	cr_assert_eq(json_object_get_int(req.id), 9);
	rpc_request_free(&req);
}

Test(api_rpc, refuses_nul_bytes_and_deep_nesting)
{
	char line[512];
	struct rpc_request req;
	struct rpc_error re;
	size_t n = 0;

	memcpy(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Quit\"}", 41);
	line[20] = '\0';
	cr_assert_eq(rpc_parse_request(line, 41, &req, &re), -1);
	cr_assert_eq(re.code, RPC_PARSE_ERROR);
	cr_assert(strstr(re.e.msg, "NUL"), "%s", re.e.msg);
	rpc_request_free(&req);

	n += (size_t)sprintf(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"X\",\"params\":{\"a\":");
	for (int i = 0; i < API_MAX_DEPTH + 2; i++)
		line[n++] = '[';
	for (int i = 0; i < API_MAX_DEPTH + 2; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n++] = '}';
	cr_assert_eq(rpc_parse_request(line, n, &req, &re), -1);
	cr_assert_eq(re.code, RPC_PARSE_ERROR, "%s", re.e.msg);
	cr_assert(strstr(re.e.msg, "too deep"), "%s", re.e.msg);
	rpc_request_free(&req);
}

Test(api_rpc, encodes_responses_one_per_line)
{
	struct json_object *id = json_object_new_string("x"), *res;
	char *line;
	size_t len;

	res = json_object_new_object();
	json_object_object_add(res, "path", json_object_new_string("/tmp/a"));
	line = rpc_result_line(id, res, &len);
	cr_assert_eq(len, strlen("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"path\":\"/tmp/a\"}}\n"));
	cr_assert_eq(memcmp(line, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"path\":\"/tmp/a\"}}\n", len), 0,
		     "%.*s", (int)len, line);
	free(line);
	line = rpc_error_line(NULL, RPC_METHOD_NOT_FOUND, "no\nsuch", &len);
	cr_assert_eq(memchr(line, '\n', len), line + len - 1, "%.*s", (int)len, line);
	cr_assert(strstr(line, "\"id\":null"));
	cr_assert(strstr(line, "\"code\":-32601"));
	free(line);
	line = rpc_notification_line("VMEvent", json_object_new_object(), &len);
	cr_assert_eq(memcmp(line, "{\"jsonrpc\":\"2.0\",\"method\":\"VMEvent\",\"params\":{}}\n", len), 0);
	free(line);
	json_object_put(id);
}

static struct json_object *view(void)
{
	return json_tokener_parse(
		"{\"state\":\"running\",\"config\":{\"memory_config\":"
		"{\"memory_mb\":\"64\"}},\"vcpus\":[{\"id\":0},{\"id\":1,"
		"\"deep\":{\"x\":[1]}}],\"nothing\":null}");
}

Test(api_inspect, follows_members_and_indexes)
{
	struct json_object *v = view(), *out;
	struct rpc_error re;

	cr_assert_eq(inspect_query(v, "config.memory_config.memory_mb", 0, &out, &re), 0,
		     "%s", re.e.msg);
	cr_assert_str_eq(json_object_get_string(out), "64");
	json_object_put(out);
	cr_assert_eq(inspect_query(v, "vcpus.1.id", 0, &out, &re), 0);
	cr_assert_eq(json_object_get_int(out), 1);
	json_object_put(out);
	cr_assert_eq(inspect_query(v, "nothing", 0, &out, &re), 0);
	cr_assert_null(out);
	cr_assert_eq(inspect_query(v, "", 0, &out, &re), 0);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(out, "state")),
			 "running");
	json_object_put(out);
	json_object_put(v);
}

Test(api_inspect, names_what_a_bad_query_misses)
{
	static const struct {
		const char *q, *msg;
	} bad[] = {
		{ "config.cpus", "no member 'cpus' in 'config'" },
		{ "vcpus.2", "'2' is not an index of the 2-element array at 'vcpus'" },
		{ "vcpus.01", "is not an index" },
		{ "state.x", "'state' is a value" },
		{ "config..memory_config", "empty member name" },
		{ "config.", "ends with '.'" },
	};
	struct json_object *v = view(), *out;
	struct rpc_error re;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(inspect_query(v, bad[i].q, 0, &out, &re), -1, "%s", bad[i].q);
		cr_expect_eq(re.code, RPC_INVALID_PARAMS);
		cr_expect(strstr(re.e.msg, bad[i].msg), "%s: %s", bad[i].q, re.e.msg);
	}
	cr_assert_eq(inspect_query(v, "", INSPECT_MAX_DEPTH + 1, &out, &re), -1);
	json_object_put(v);
}

Test(api_inspect, stops_at_the_recursion_limit)
{
	struct json_object *v = view(), *out, *vcpus;
	struct rpc_error re;

	cr_assert_eq(inspect_query(v, "", 1, &out, &re), 0);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(out, "config")),
			 "{...}");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(out, "vcpus")),
			 "[...]");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(out, "state")),
			 "running");
	json_object_put(out);
	cr_assert_eq(inspect_query(v, "vcpus", 2, &out, &re), 0);
	vcpus = json_object_array_get_idx(out, 1);
	cr_assert_eq(json_object_get_int(json_object_object_get(vcpus, "id")), 1);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(vcpus, "deep")),
			 "{...}");
	json_object_put(out);
	json_object_put(v);
}
