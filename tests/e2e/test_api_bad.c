// SPDX-License-Identifier: MIT
/*
 * Clients that misbehave on the control socket of a VMM whose guest keeps
 * running: each gets a JSON-RPC error or is dropped, the guest never
 * notices, and the socket keeps serving everyone else.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_helpers.h"
#include "vmm/api/rpc.h"

#define TEST_TIMEOUT_S 240

static struct api_vmm v;
static int com = -1;

/* A VM whose guest counts forever, running before each test. */
static void start_running_vm(void)
{
	char params[1024];

	api_vmm_start(&v, NULL);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  TICK_LINE, 1, api_path(&v, "com1.sock"));
	json_object_put(api_ok(&v, "CreateVM", params));
	com = api_connect(api_path(&v, "com1.sock"));
	json_object_put(api_ok(&v, "ResumeVM", NULL));
}

/* The guest still runs and the socket still answers. */
static void vm_survived(void)
{
	struct json_object *r = api_ok(&v, "InspectVM", "{\"query\":\"state\"}");
	size_t n = 0;

	cr_assert_str_eq(jstr(r, "result"), "running");
	json_object_put(r);
	drain(com, 100);
	for (int i = 0; i < 60 && n == 0; i++)
		n = drain(com, 1000);
	cr_assert_gt(n, 0, "the guest stopped making progress");
	close(com);
	api_vmm_quit(&v);
}

static void send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	cr_assert_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len, "send: %s",
		     strerror(errno));
}

static void expect_error(int fd, int code, const char *msg)
{
	struct json_object *r = api_read(fd, NULL, API_TIMEOUT_S * 1000);

	cr_assert_not_null(r, "the connection closed instead of an error");
	cr_assert_eq(jint(r, "error.code"), code, "%s", json_object_to_json_string(r));
	cr_assert(strstr(jstr(r, "error.message"), msg), "'%s' lacks '%s'",
		  jstr(r, "error.message"), msg);
	json_object_put(r);
}

TestSuite(api_bad, .init = start_running_vm, .fini = vm_survived,
	  .timeout = TEST_TIMEOUT_S);

Test(api_bad, malformed_json_and_unknown_methods)
{
	int fd = api_connect(v.sock);
	struct json_object *r;

	send_all(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"InspectVM\"\n");
	expect_error(fd, RPC_PARSE_ERROR, "parse error");
	send_all(fd, "\x01\x02\xff garbage\n");
	expect_error(fd, RPC_PARSE_ERROR, "parse error");
	send_all(fd, "[]\n");
	expect_error(fd, RPC_INVALID_REQUEST, "batches are not supported");
	send_all(fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"DestroyEverything\"}\n");
	expect_error(fd, RPC_METHOD_NOT_FOUND, "unknown method 'DestroyEverything'");
	/* The same connection still works. */
	r = api_call(fd, "InspectVM", "{\"query\":\"state\"}", NULL);
	cr_assert_str_eq(jstr(r, "result.result"), "running");
	json_object_put(r);
	close(fd);
}

Test(api_bad, missing_and_mistyped_fields)
{
	api_fails(&v, "InspectVM", "{\"query\":[\"state\"]}", RPC_INVALID_PARAMS,
		  "query: expected a string, got an array");
	api_fails(&v, "InspectVM", "{\"recursion_limit\":\"deep\"}", RPC_INVALID_PARAMS,
		  "recursion_limit: \"deep\" is not an unsigned");
	api_fails(&v, "PropertiesVM", "{\"types\":\"Memory\"}", RPC_INVALID_PARAMS,
		  "types: expected an array, got a string");
	api_fails(&v, "ModifyResource", "{\"type\":\"UPDATE\"}", RPC_INVALID_PARAMS,
		  "no resource given");
	api_fails(&v, "ModifyResource", "{\"type\":\"UPDATE\",\"memory\":{\"memory_mb\":true}}",
		  RPC_INVALID_PARAMS, "memory.memory_mb: expected an unsigned integer");
	api_fails(&v, "VMSocket", "{\"vsock_listen\":{\"port\":\"x\"}}", RPC_INVALID_PARAMS,
		  "vsock_listen.port");
	api_fails(&v, "GetSerial", "{\"port\":-1}", RPC_INVALID_PARAMS, "negative");
	api_fails(&v, "ResumeVM", "{\"force\":true}", RPC_INVALID_PARAMS,
		  "takes no parameters");
	api_fails(&v, "CreateVM", "{\"config\":{}}", RPC_BAD_STATE, "a VM already exists");
}

Test(api_bad, oversized_request)
{
	size_t len = API_MAX_REQUEST + 4096;
	char *big = malloc(len);
	int fd = api_connect(v.sock);
	size_t off = 0;

	memset(big, 'x', len);
	memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"", 35);
	while (off < len) {
		ssize_t n = send(fd, big + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	expect_error(fd, RPC_INVALID_REQUEST, "longer than the limit of 65536 bytes");
	cr_assert_null(api_read(fd, NULL, API_TIMEOUT_S * 1000),
		       "the connection stayed open");
	close(fd);
	free(big);
}

Test(api_bad, client_leaves_mid_request)
{
	for (int i = 0; i < 20; i++) {
		int fd = api_connect(v.sock);

		send_all(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Pause");
		close(fd);
	}
	/* Not one half request was taken for a whole one. */
	json_object_put(api_ok(&v, "InspectVM", NULL));
}

Test(api_bad, client_that_never_reads_is_dropped)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"InspectVM\"}\n";
	int fd = api_connect(v.sock), sent = 0;
	bool dropped = false;

	/* Each answer is the whole view; none is ever read. */
	while (sent < 1000000 && !dropped) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		cr_assert_eq(poll(&p, 1, API_TIMEOUT_S * 1000), 1,
			     "neither writable nor closed after %d requests", sent);
		if (p.revents & (POLLHUP | POLLERR)) {
			dropped = true;
		} else if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			cr_assert(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET,
				  "send: %s", strerror(errno));
			dropped = errno != EAGAIN;
		} else {
			sent++;
		}
	}
	cr_assert(dropped, "still connected after %d unanswered requests", sent);
	close(fd);
}

Test(api_bad, a_hundred_clients_at_once)
{
	enum { N = 100 };
	int fds[N];

	for (int i = 0; i < N; i++)
		fds[i] = api_connect(v.sock);
	for (int i = 0; i < N; i++) {
		char req[160];

		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}\n", i,
			 i % 2 ? "InspectVM" : "PropertiesVM");
		send_all(fds[i], req);
	}
	for (int i = 0; i < N; i++) {
		struct json_object *r = api_read(fds[i], NULL, API_TIMEOUT_S * 1000);

		cr_assert_not_null(r, "client %d got no answer", i);
		cr_assert_eq(jint(r, "id"), i);
		cr_assert(json_object_object_get_ex(r, "result", NULL), "%s",
			  json_object_to_json_string(r));
		json_object_put(r);
		close(fds[i]);
	}
}
