// SPDX-License-Identifier: MIT
/*
 * bridge-client: a host end of the HCS/GCS bridge for trying an agent by
 * hand. It listens on a Unix socket (the agent's --bridge unix:PATH),
 * negotiates the protocol, runs one command in the utility VM with its
 * stdout and stderr relayed here, waits for it and exits with its status.
 *
 *   bridge-client --listen PATH [--shutdown] [--timeout MS] -- CMD [ARGS...]
 */
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/bridge_host.h"

#define PORT_STDOUT 1
#define PORT_STDERR 2
/* hcsshim's UVM container ID; requests carry it as ContainerId and ActivityId. */
#define UVM_ID "00000000-0000-0000-0000-000000000000"

static int check(struct bridge_msg *m, const char *what)
{
	struct json_object *o = json_tokener_parse(m->body), *r;
	int ok = o && json_object_object_get_ex(o, "Result", &r) &&
		 json_object_get_int(r) == 0;

	if (!ok)
		fprintf(stderr, "bridge-client: %s failed: %s\n", what, m->body);
	json_object_put(o);
	return ok ? 0 : -1;
}

static int64_t field(struct bridge_msg *m, const char *key)
{
	struct json_object *o = json_tokener_parse(m->body), *v;
	int64_t n = -1;

	if (o && json_object_object_get_ex(o, key, &v))
		n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

/* Copies both relay connections to our stdout/stderr until they close. */
static void relay_output(int out, int err)
{
	while (out >= 0 || err >= 0) {
		struct pollfd p[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
		char buf[16384];

		if (poll(p, 2, -1) < 0)
			return;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(i ? 2 : 1, buf, (size_t)n) != n) {
				close(p[i].fd);
				*(i ? &err : &out) = -1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "shutdown", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	const char *path = NULL;
	bool shutdown = false;
	int timeout = 30000, opt, lout, lerr, out, err, code;
	struct bridge_host h;
	struct bridge_msg *m;
	struct json_object *params, *args, *wrap;
	struct err e = { "" };
	char req[8192];

	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (opt == 'l')
			path = optarg;
		else if (opt == 's')
			shutdown = true;
		else if (opt == 't')
			timeout = atoi(optarg);
		else
			return 2;
	}
	if (!path || optind >= argc) {
		fprintf(stderr, "usage: bridge-client --listen PATH [--shutdown] "
			"[--timeout MS] -- CMD [ARGS...]\n");
		return 2;
	}
	if (bridge_host_listen(&h, path, &e) < 0 ||
	    (lout = bridge_host_relay_listen(path, PORT_STDOUT, &e)) < 0 ||
	    (lerr = bridge_host_relay_listen(path, PORT_STDERR, &e)) < 0 ||
	    bridge_host_accept(&h, timeout, &e) < 0)
		goto fail;
	if (bridge_host_request(&h, BRIDGE_NEGOTIATE_PROTOCOL,
				"{\"MinimumVersion\":4,\"MaximumVersion\":4}",
				timeout, &m, &e) < 0)
		goto fail;
	if (check(m, "NegotiateProtocol") < 0)
		return 1;
	bridge_msg_free(m);

	params = json_object_new_object();
	args = json_object_new_array();
	for (int i = optind; i < argc; i++)
		json_object_array_add(args, json_object_new_string(argv[i]));
	json_object_object_add(params, "CommandArgs", args);
	json_object_object_add(params, "CreateStdOutPipe", json_object_new_boolean(1));
	json_object_object_add(params, "CreateStdErrPipe", json_object_new_boolean(1));
	wrap = json_object_new_string(json_object_to_json_string(params));
	snprintf(req, sizeof(req), "{\"ContainerId\":\"" UVM_ID "\","
		 "\"ActivityId\":\"" UVM_ID "\",\"Settings\":"
		 "{\"ProcessParameters\":%s,\"VsockStdioRelaySettings\":"
		 "{\"StdOut\":%d,\"StdErr\":%d}}}",
		 json_object_to_json_string(wrap), PORT_STDOUT, PORT_STDERR);
	json_object_put(wrap);
	json_object_put(params);
	if (bridge_host_request(&h, BRIDGE_EXECUTE_PROCESS, req, timeout, &m,
				&e) < 0)
		goto fail;
	if (check(m, "ExecuteProcess") < 0)
		return 1;
	snprintf(req, sizeof(req), "{\"ContainerId\":\"" UVM_ID "\","
		 "\"ActivityId\":\"" UVM_ID "\",\"ProcessId\":%lld,"
		 "\"TimeoutInMs\":%u}", (long long)field(m, "ProcessId"),
		 BRIDGE_INFINITE_WAIT);
	bridge_msg_free(m);
	out = unix_accept_timeout(lout, timeout);
	err = unix_accept_timeout(lerr, timeout);
	relay_output(out, err);
	if (bridge_host_request(&h, BRIDGE_WAIT_FOR_PROCESS, req,
				24 * 3600 * 1000, &m, &e) < 0)
		goto fail;
	if (check(m, "WaitForProcess") < 0)
		return 1;
	/* uint32(-1) and the signal that ended it: a shell's 128 + N. */
	code = (int)field(m, "ExitCode");
	if ((uint32_t)code == UINT32_MAX && field(m, "Signal") > 0)
		code = 128 + (int)field(m, "Signal");
	bridge_msg_free(m);
	if (shutdown) {
		if (bridge_host_request(&h, BRIDGE_SHUTDOWN_GRACEFUL, "{}",
					timeout, &m, &e) < 0)
			goto fail;
		bridge_msg_free(m);
	}
	bridge_host_close(&h);
	return code & 0xff;
fail:
	fprintf(stderr, "bridge-client: %s\n", e.msg);
	return 1;
}
