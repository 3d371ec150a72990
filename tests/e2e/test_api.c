// SPDX-License-Identifier: MIT
/*
 * The control socket driving real VMs: created paused (the guest does not
 * run), resumed, paused (its progress stops), inspected, measured, halted,
 * torn down; the serial relay with a late client; events; the command
 * line's VM under the socket; vmmctl.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_helpers.h"
#include "vmm/api/rpc.h"

#define TEST_TIMEOUT_S 240
#define GUEST_LINE "console=ttyS0 testguest.cpus=1 testguest.mem=64"
#define GUEST_DONE "testguest: 0 of 6 checks failed"

static int com1_connect(struct api_vmm *v)
{
	return api_connect(api_path(v, "com1.sock"));
}

/* Reads @fd into @buf until @needle shows up; false after @timeout_s. */
static bool read_until(int fd, char *buf, size_t len, const char *needle,
		       int timeout_s)
{
	size_t n = strlen(buf);

	for (int i = 0; i < timeout_s * 10 && !strstr(buf, needle); i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 100) != 1)
			continue;
		r = read(fd, buf + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	return strstr(buf, needle) != NULL;
}

static uint64_t runtime_ns(struct api_vmm *v)
{
	struct json_object *r = api_ok(v, "PropertiesVM", "{\"types\":[\"Processor\"]}");
	uint64_t ns = strtoull(jstr(r, "processor_stats.total_runtime_ns"), NULL, 10);

	json_object_put(r);
	return ns;
}

static void expect_state(struct api_vmm *v, const char *state)
{
	struct json_object *r = api_ok(v, "InspectVM", "{\"query\":\"state\"}");

	cr_assert_str_eq(jstr(r, "result"), state);
	json_object_put(r);
}

Test(api, create_paused_resume_wait_teardown, .timeout = TEST_TIMEOUT_S)
{
	struct api_vmm v;
	struct json_object *r;
	char params[1024], log[16384] = "";
	int com, waiter, serial = -1;

	api_vmm_start(&v, NULL);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  GUEST_LINE, 1, api_path(&v, "com1.sock"));
	json_object_put(api_ok(&v, "CreateVM", params));
	expect_state(&v, "paused");
	api_fails(&v, "CreateVM", params, RPC_BAD_STATE, "a VM already exists");

	/* Created paused: the guest has not run a single instruction. */
	com = com1_connect(&v);
	cr_assert_eq(drain(com, 500), 0, "a paused guest wrote to its serial port");

	/* WaitVM blocks only its own caller. */
	waiter = api_connect(v.sock);
	cr_assert_eq(send(waiter, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"WaitVM\"}\n",
			  44, 0), 44);
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	r = api_read(waiter, NULL, API_TIMEOUT_S * 1000);
	cr_assert(json_object_object_get_ex(r, "result", NULL), "%s",
		  json_object_to_json_string(r));
	json_object_put(r);
	close(waiter);

	r = api_ok(&v, "InspectVM", "{\"query\":\"exit\"}");
	cr_assert_str_eq(jstr(r, "result.reason"), "guest_status");
	cr_assert_eq(jint(r, "result.status"), 0);
	json_object_put(r);
	expect_state(&v, "halted");
	cr_assert(read_until(com, log, sizeof(log), GUEST_DONE, 10),
		  "COM1's socket client saw:\n%s", log);

	/* A client attaching after the fact still sees the whole boot log. */
	serial = -1;
	{
		int fd = api_connect(v.sock);

		r = api_call(fd, "GetSerial", NULL, &serial);
		close(fd);
	}
	cr_assert_geq(serial, 0, "GetSerial passed no socket: %s",
		      json_object_to_json_string(r));
	json_object_put(r);
	log[0] = '\0';
	cr_assert(read_until(serial, log, sizeof(log), GUEST_DONE, 10),
		  "the late client saw:\n%s", log);
	cr_assert(strstr(log, "testguest: boot via bzImage"), "%s", log);
	cr_assert(strstr(log, "PASS e820"), "%s", log);
	close(serial);
	close(com);

	cr_assert_gt(runtime_ns(&v), 0);
	r = api_ok(&v, "InspectVM", "{\"query\":\"config.direct_boot.kernel_path\"}");
	cr_assert_str_eq(jstr(r, "result"), image_path("testguest.bzImage"));
	json_object_put(r);
	json_object_put(api_ok(&v, "TeardownVM", NULL));
	expect_state(&v, "torn_down");
	api_fails(&v, "ResumeVM", NULL, RPC_BAD_STATE, "torn down");
	json_object_put(api_ok(&v, "WaitVM", NULL));

	/* The process takes a new VM after a teardown. */
	json_object_put(api_ok(&v, "CreateVM", params));
	expect_state(&v, "paused");
	json_object_put(api_ok(&v, "TeardownVM", NULL));
	api_vmm_quit(&v);
}

Test(api, pause_stops_the_guest, .timeout = TEST_TIMEOUT_S)
{
	static char out[32768];
	struct api_vmm v;
	struct json_object *r;
	uint64_t before, after;
	char params[1024];
	int com, waiter;
	size_t got = 0;
	long tick;

	api_vmm_start(&v, NULL);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  TICK_LINE, 1, api_path(&v, "com1.sock"));
	json_object_put(api_ok(&v, "CreateVM", params));
	com = com1_connect(&v);
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	cr_assert(tick_past(com, out, sizeof(out), 2),
		  "the guest's counter does not advance:\n%s", out);

	json_object_put(api_ok(&v, "PauseVM", NULL));
	expect_state(&v, "paused");
	/* Lines the guest wrote before the pause may still be on their way. */
	collect(com, out, sizeof(out), 300, NULL);
	tick = last_tick(out);
	before = runtime_ns(&v);
	collect(com, out, sizeof(out), 1500, &got);
	after = runtime_ns(&v);
	cr_assert_eq(got, 0, "a paused guest wrote %zu bytes; counter %ld -> %ld",
		     got, tick, last_tick(out));
	cr_assert_eq(before, after, "paused vCPUs used CPU time: %llu -> %llu ns",
		     (unsigned long long)before, (unsigned long long)after);
	json_object_put(api_ok(&v, "PauseVM", NULL));

	json_object_put(api_ok(&v, "ResumeVM", NULL));
	expect_state(&v, "running");
	cr_assert(tick_past(com, out, sizeof(out), tick),
		  "the counter stays at %ld after ResumeVM", tick);
	cr_assert_gt(runtime_ns(&v), after, "resumed vCPUs do not run");

	waiter = api_connect(v.sock);
	cr_assert_eq(send(waiter, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"WaitVM\"}\n",
			  44, 0), 44);
	json_object_put(api_ok(&v, "TeardownVM", NULL));
	r = api_read(waiter, NULL, API_TIMEOUT_S * 1000);
	cr_assert(json_object_object_get_ex(r, "result", NULL));
	json_object_put(r);
	close(waiter);
	r = api_ok(&v, "InspectVM", NULL);
	cr_assert_str_eq(jstr(r, "result.state"), "torn_down");
	cr_assert_str_eq(jstr(r, "result.exit.reason"), "teardown");
	json_object_put(r);
	/* The port's socket went with the VM: what was in flight, then EOF. */
	drain(com, 1000);
	{
		struct pollfd p = { .fd = com, .events = POLLIN };
		char c;

		cr_assert_eq(poll(&p, 1, 5000), 1);
		cr_assert_eq(read(com, &c, 1), 0, "COM1's client is still connected");
	}
	close(com);
	api_vmm_quit(&v);
}

Test(api, inspect_and_properties_describe_the_vm, .timeout = TEST_TIMEOUT_S)
{
	struct api_vmm v;
	struct json_object *r;
	char params[1024];

	api_vmm_start(&v, NULL);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  "console=ttyS0 testguest.cpus=2 testguest.tick=1", 2,
			  api_path(&v, "com1.sock"));
	json_object_put(api_ok(&v, "CreateVM", params));
	r = api_ok(&v, "InspectVM", NULL);
	cr_assert_str_eq(jstr(r, "result.log_id"), "e2e");
	cr_assert_str_eq(jstr(r, "result.config.memory_config.memory_mb"), "64");
	cr_assert_eq(jint(r, "result.config.processor_config.processor_count"), 2);
	cr_assert_str_eq(jstr(r, "result.config.serial_config.ports.0.socket_path"),
			 api_path(&v, "com1.sock"));
	cr_assert_str_eq(jstr(r, "result.memory.assigned_bytes"), "67108864");
	cr_assert_eq(jint(r, "result.vcpus.1.id"), 1);
	cr_assert_str_eq(jstr(r, "result.devices.0.name"), "COM1");
	cr_assert_str_eq(jstr(r, "result.serial_ports.0.backend"), "socket");
	json_object_put(r);
	r = api_ok(&v, "InspectVM", "{\"query\":\"config\",\"recursion_limit\":1}");
	cr_assert_str_eq(jstr(r, "result.memory_config"), "{...}");
	json_object_put(r);
	api_fails(&v, "InspectVM", "{\"query\":\"vcpus.2\"}", RPC_INVALID_PARAMS,
		  "not an index of the 2-element array at 'vcpus'");

	json_object_put(api_ok(&v, "ResumeVM", NULL));
	r = api_ok(&v, "PropertiesVM", NULL);
	cr_assert_str_eq(jstr(r, "memory_stats.assigned_memory"), "67108864");
	cr_assert_gt(strtoull(jstr(r, "memory_stats.working_set_bytes"), NULL, 10),
		     1 * MiB);
	cr_assert_str_eq(jstr(r, "memory_stats.available_memory"), "0",
			 "no balloon, no guest statistics");
	json_object_put(r);

	/* Without a balloon the VMM cannot resize memory, and says so. */
	r = api_ok(&v, "CapabilitiesVM", NULL);
	cr_assert_str_eq(jstr(r, "supported_resources.5.resource"), "Memory");
	cr_assert_str_eq(jstr(r, "supported_resources.5.Update"), "false");
	json_object_put(r);
	api_fails(&v, "ModifyResource", "{\"type\":\"UPDATE\",\"memory\":{\"memory_mb\":32}}",
		  RPC_NO_DEVICE, "no balloon device (start it with --balloon)");
	api_fails(&v, "ModifyResource", "{\"type\":\"ADD\",\"processor\":{\"processor_index\":2}}",
		  RPC_UNSUPPORTED, "vCPU hot-plug");
	api_fails(&v, "GetNumPages", NULL, RPC_NO_DEVICE, "no balloon device");
	api_fails(&v, "VMSocket", "{\"type\":\"ADD\",\"vsock_listen\":{\"port\":5000,"
				  "\"listener_path\":\"/tmp/l.sock\"}}",
		  RPC_NO_DEVICE, "no vsock device (start it with --vsock)");
	api_fails(&v, "GetSerial", "{\"port\":1}", RPC_NO_DEVICE, "no serial port 1");
	api_vmm_quit(&v);
}

Test(api, events_follow_the_vm, .timeout = TEST_TIMEOUT_S)
{
	static const char *const expect[] = { "created", "running", "halted",
					      "torn_down" };
	struct api_vmm v;
	struct json_object *r;
	char params[1024];
	int sub;

	api_vmm_start(&v, NULL);
	sub = api_connect(v.sock);
	r = api_call(sub, "SubscribeEvents", NULL, NULL);
	cr_assert_str_eq(jstr(r, "result.state"), "not_created");
	json_object_put(r);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  GUEST_LINE, 1, NULL);
	json_object_put(api_ok(&v, "CreateVM", params));
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		r = api_read(sub, NULL, API_TIMEOUT_S * 1000);
		cr_assert_not_null(r);
		cr_assert_str_eq(jstr(r, "method"), "VMEvent");
		cr_assert_str_eq(jstr(r, "params.event"), expect[i], "%s",
				 json_object_to_json_string(r));
		cr_assert_str_eq(jstr(r, "params.log_id"), "e2e");
		if (!strcmp(expect[i], "halted")) {
			cr_assert_str_eq(jstr(r, "params.exit_reason"), "guest_status");
			cr_assert_eq(jint(r, "params.exit_status"), 0);
			json_object_put(api_ok(&v, "TeardownVM", NULL));
		}
		json_object_put(r);
	}
	close(sub);
	api_vmm_quit(&v);
}

Test(api, command_line_vm_stays_under_the_socket, .timeout = TEST_TIMEOUT_S)
{
	const char *extra[] = { "--kernel", image_path("testguest.bzImage"),
				"--memory", "64", "--cmdline", GUEST_LINE, NULL };
	struct api_vmm v;
	struct json_object *r;
	char *out;

	api_vmm_start(&v, extra);
	json_object_put(api_ok(&v, "WaitVM", NULL));
	r = api_ok(&v, "InspectVM", NULL);
	cr_assert_str_eq(jstr(r, "result.state"), "halted");
	cr_assert_eq(jint(r, "result.exit.status"), 0);
	cr_assert_str_eq(jstr(r, "result.config.extra_data.serial_0"), "stdio");
	cr_assert_str_eq(jstr(r, "result.config.direct_boot.kernel_cmdline"), GUEST_LINE);
	json_object_put(r);
	cr_assert(vmm_wait_output(&v.p, GUEST_DONE, 10));
	out = vmm_stdout(&v.p);
	cr_assert(strstr(out, "PASS e820"), "%s", out);
	free(out);
	/* The VM halted; the process keeps serving until Quit. */
	usleep(200000);
	cr_assert_eq(waitpid(v.p.pid, NULL, WNOHANG), 0, "the VMM exited with its VM");
	api_vmm_quit(&v);
}

Test(api, command_line_errors_keep_their_exit_status, .timeout = TEST_TIMEOUT_S)
{
	const char *no_file[] = { "--api-sock", "/tmp/vmm-api-unused.sock",
				  "--kernel", "/nonexistent/k", NULL };
	const char *no_kernel[] = { "--api-sock", "/tmp/vmm-api-unused.sock",
				    "--memory", "64", NULL };
	struct vmm_proc p;
	char *err;

	cr_assert_eq(vmm_run(&p, no_file, 30), 66);
	err = vmm_stderr(&p);
	cr_assert(strstr(err, "/nonexistent/k: No such file"), "%s", err);
	free(err);
	vmm_cleanup(&p);
	cr_assert_eq(vmm_run(&p, no_kernel, 30), 64);
	err = vmm_stderr(&p);
	cr_assert(strstr(err, "VM options need --kernel"), "%s", err);
	free(err);
	vmm_cleanup(&p);
	cr_assert_neq(access("/tmp/vmm-api-unused.sock", F_OK), 0);
}

Test(api, a_signal_ends_the_process, .timeout = TEST_TIMEOUT_S)
{
	struct api_vmm v;
	char params[1024];

	api_vmm_start(&v, NULL);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  TICK_LINE, 1, NULL);
	json_object_put(api_ok(&v, "CreateVM", params));
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	vmm_signal(&v.p, SIGTERM);
	cr_assert_eq(vmm_wait(&v.p, API_TIMEOUT_S), 128 + SIGTERM);
	api_vmm_quit(&v);
}

Test(api, vmmctl_drives_the_socket, .timeout = TEST_TIMEOUT_S)
{
	struct api_vmm v;
	char params[1024], *out, *err, *log;
	const char *create[] = { "--sock", NULL, "create", NULL, NULL };
	struct json_object *req;
	const char *attach[] = { "--sock", NULL, "serial", "attach", "0", NULL };
	FILE *f;
	int status;
	pid_t pid;

	api_vmm_start(&v, NULL);
	create[1] = attach[1] = v.sock;
	create[3] = api_path(&v, "create.json");
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  GUEST_LINE, 1, NULL);
	req = json_tokener_parse(params);
	f = fopen(create[3], "w");
	cr_assert_not_null(f);
	/* vmmctl takes a bare VMConfig as well as a CreateVMRequest. */
	fputs(json_object_to_json_string(json_object_object_get(req, "config")), f);
	fclose(f);
	json_object_put(req);
	cr_assert_eq(vmmctl(create, &out, &err), 0, "%s", err);
	free(out);
	free(err);

	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "inspect", "state", NULL },
			    &out, &err), 0, "%s", err);
	cr_assert_str_eq(out, "\"paused\"\n");
	free(out);
	free(err);
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "balloon", "get", NULL },
			    &out, &err), 1);
	cr_assert(strstr(err, "GetNumPages: this VM has no balloon device"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "capabilities", NULL },
			    &out, &err), 0, "%s", err);
	cr_assert(strstr(out, "\"supported_guest_os\""), "%s", out);
	free(out);
	free(err);

	pid = vmmctl_bg(attach, api_path(&v, "attach.out"));
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "resume", NULL },
			    &out, &err), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "wait", NULL },
			    &out, &err), 0, "%s", err);
	cr_assert(strstr(out, "\"reason\": \"guest_status\""), "%s", out);
	cr_assert(strstr(out, "\"status\": 0"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "properties", "processor", NULL },
			    &out, &err), 0, "%s", err);
	cr_assert(strstr(out, "\"total_runtime_ns\""), "%s", out);
	free(out);
	free(err);

	/* The attached client saw the guest's log; teardown ends its relay. */
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "teardown", NULL },
			    &out, &err), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0);
	log = slurp(api_path(&v, "attach.out"), NULL);
	cr_assert(strstr(log, GUEST_DONE), "serial attach printed:\n%s", log);
	free(log);

	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "pause", NULL },
			    &out, &err), 1);
	cr_assert(strstr(err, "vmmctl: PauseVM: the VM was torn down"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "frobnicate", NULL },
			    &out, &err), 2);
	free(out);
	free(err);
	cr_assert_eq(vmmctl((const char *[]){ "--sock", v.sock, "quit", NULL },
			    &out, &err), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(vmm_wait(&v.p, API_TIMEOUT_S), 0);
	api_vmm_quit(&v);
}
