// SPDX-License-Identifier: MIT
/*
 * The HCS/GCS bridge (hcsshim's internal/guest/prot): the test is the host
 * end. What hcsshim's own host sends and checks is in peer_cases.c; these
 * cover the rest of the protocol, its errors and the seed's older shapes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/agent/helpers.h"

#define UVM_ID "00000000-0000-0000-0000-000000000000"
#define ACTIVITY "6f2a3c64-1b0e-4a8e-9d3c-0a1b2c3d4e5f"
#define TIMEOUT 20000

static struct test_agent agent;
static struct bridge_host host;

/* What a test mounted through the agent, undone even when it fails. */
static char loop_dev[64], mounted_at[160];

static void undo_mounts(void)
{
	char cmd[128];

	if (mounted_at[0])
		umount2(mounted_at, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", loop_dev);
	if (loop_dev[0] && system(cmd) != 0)
		fprintf(stderr, "detaching %s failed\n", loop_dev);
	loop_dev[0] = mounted_at[0] = 0;
}

static void setup(void)
{
	agent_start(&agent, true, &host);
}

static void teardown(void)
{
	int status;

	undo_mounts();
	status = agent_stop(&agent);

	bridge_host_close(&host);
	cr_assert(status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
		  "the agent ended with status %#x", status);
}

TestSuite(bridge, .init = setup, .fini = teardown, .timeout = 60);

/* Sends a request and returns the parsed response body; checks its type. */
static struct json_object *request(uint32_t type, const char *fmt, ...)
{
	char body[4096];
	struct bridge_msg *m;
	struct json_object *o;
	struct err e = { "" };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	cr_assert_eq(bridge_host_request(&host, type, body, TIMEOUT, &m, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(m->type, bridge_response_type(type), "response type %#x",
		     m->type);
	o = json_tokener_parse(m->body);
	cr_assert_not_null(o, "bad JSON: %s", m->body);
	bridge_msg_free(m);
	return o;
}

static int64_t field_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no field %s in %s",
		  key, json_object_to_json_string(o));
	return json_object_get_int64(v);
}

static const char *error_message(struct json_object *o)
{
	struct json_object *recs, *rec, *msg;

	cr_assert(json_object_object_get_ex(o, "ErrorRecords", &recs), "%s",
		  json_object_to_json_string(o));
	rec = json_object_array_get_idx(recs, 0);
	cr_assert_not_null(rec);
	cr_assert(json_object_object_get_ex(rec, "Message", &msg));
	cr_assert_eq(field_int(rec, "Result"), field_int(o, "Result"));
	return json_object_get_string(msg);
}

/* The HRESULT, and the message both at the top (hcsshim's rpcError) and
 * in the ErrorRecord. */
static void expect_error(struct json_object *o, int32_t hr, const char *needle)
{
	struct json_object *top;
	const char *msg;

	cr_assert_eq(field_int(o, "Result"), hr, "Result %#llx, want %#x: %s",
		     (unsigned long long)field_int(o, "Result"), (unsigned)hr,
		     json_object_to_json_string(o));
	msg = error_message(o);
	cr_assert_not_null(strstr(msg, needle), "\"%s\" lacks \"%s\"", msg,
			   needle);
	cr_assert(json_object_object_get_ex(o, "ErrorMessage", &top));
	cr_assert_str_eq(json_object_get_string(top), msg);
}

/* Starts a process in the UVM; @params is ProcessParameters' JSON. */
static uint32_t execute(const char *params, const char *relay)
{
	struct json_object *p = json_object_new_string(params);
	struct json_object *o = request(BRIDGE_EXECUTE_PROCESS,
		"{\"ContainerId\":\"" UVM_ID "\",\"ActivityId\":\"" ACTIVITY "\","
		"\"Settings\":{\"ProcessParameters\":%s,"
		"\"VsockStdioRelaySettings\":{%s}}}",
		json_object_to_json_string(p), relay);
	uint32_t pid;

	json_object_put(p);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	pid = (uint32_t)field_int(o, "ProcessId");
	cr_assert_gt(pid, 0);
	json_object_put(o);
	return pid;
}

/*
 * WaitForProcess: ExitCode as the peers send it (uint32(-1) for a signal),
 * returned as a shell's status, 128 + the signal that Signal names.
 */
static int64_t wait_exit(uint32_t pid, uint32_t timeout)
{
	struct json_object *o = request(BRIDGE_WAIT_FOR_PROCESS,
		"{\"ContainerId\":\"" UVM_ID "\",\"ProcessId\":%u,"
		"\"TimeoutInMs\":%u}", pid, timeout);
	struct json_object *sig;
	int64_t code;

	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	code = field_int(o, "ExitCode");
	if (json_object_object_get_ex(o, "Signal", &sig)) {
		cr_assert_eq(code, UINT32_MAX, "%s", json_object_to_json_string(o));
		code = 128 + json_object_get_int(sig);
	}
	json_object_put(o);
	return code;
}

static size_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	return got;
}

Test(bridge, negotiate_protocol_version_4)
{
	struct json_object *o = request(BRIDGE_NEGOTIATE_PROTOCOL,
		"{\"ContainerId\":\"" UVM_ID "\",\"ActivityId\":\"" ACTIVITY "\","
		"\"MinimumVersion\":1,\"MaximumVersion\":4}");
	struct json_object *caps, *guest, *schemas, *v;

	cr_assert_eq(field_int(o, "Result"), 0);
	cr_assert_eq(field_int(o, "Version"), 4);
	cr_assert(json_object_object_get_ex(o, "ActivityId", &v));
	cr_assert_str_eq(json_object_get_string(v), ACTIVITY);
	cr_assert(json_object_object_get_ex(o, "Capabilities", &caps));
	cr_assert(json_object_object_get_ex(caps, "RuntimeOsType", &v));
	cr_assert_str_eq(json_object_get_string(v), "Linux");
	cr_assert(json_object_object_get_ex(caps, "SupportedSchemaVersions", &schemas));
	cr_assert_eq(field_int(json_object_array_get_idx(schemas, 0), "Major"), 2);
	cr_assert(json_object_object_get_ex(caps, "GuestDefinedCapabilities", &guest));
	cr_assert(json_object_object_get_ex(guest, "SignalProcessSupported", &v));
	cr_assert(json_object_get_boolean(v));
	cr_assert(json_object_object_get_ex(guest, "DumpStacksSupported", &v));
	cr_assert(json_object_object_get_ex(guest, "DeleteContainerStateSupported", &v));
	json_object_put(o);

	o = request(BRIDGE_NEGOTIATE_PROTOCOL,
		    "{\"MinimumVersion\":5,\"MaximumVersion\":9}");
	expect_error(o, HR_UNSUPPORTED_PROTOCOL, "version 4");
	json_object_put(o);
}

/* hcsshim's host reads ActivityId as a GUID: anything else is left out. */
Test(bridge, activity_id_is_echoed_only_as_a_guid)
{
	struct json_object *o = request(BRIDGE_NEGOTIATE_PROTOCOL,
		"{\"ActivityId\":\"act-1\",\"MinimumVersion\":4,"
		"\"MaximumVersion\":4}");

	cr_assert_eq(field_int(o, "Result"), 0);
	cr_assert_not(json_object_object_get_ex(o, "ActivityId", NULL), "%s",
		      json_object_to_json_string(o));
	json_object_put(o);
	o = request(BRIDGE_WAIT_FOR_PROCESS, "{\"ActivityId\":\"\","
		    "\"ProcessId\":1}");
	expect_error(o, HR_NOT_FOUND, "not found");
	cr_assert_not(json_object_object_get_ex(o, "ActivityId", NULL));
	json_object_put(o);
}

Test(bridge, execute_process_relays_stdio_and_sends_no_notification)
{
	int lin = bridge_host_relay_listen(agent.bridge_sock, 1000, NULL);
	int lout = bridge_host_relay_listen(agent.bridge_sock, 1001, NULL);
	int lerr = bridge_host_relay_listen(agent.bridge_sock, 1002, NULL);
	int in, out, errfd;
	uint32_t pid;
	char buf[256];
	struct bridge_msg *n;
	struct json_object *o;
	struct err e = { "" };

	cr_assert(lin >= 0 && lout >= 0 && lerr >= 0);
	pid = execute("{\"CommandArgs\":[\"sh\",\"-c\",\"tr a-z A-Z; echo "
		      "$GREETING from $(pwd) >&2; exit 3\"],"
		      "\"WorkingDirectory\":\"/usr\","
		      "\"Environment\":{\"GREETING\":\"hello\"},"
		      "\"CreateStdInPipe\":true,\"CreateStdOutPipe\":true,"
		      "\"CreateStdErrPipe\":true}",
		      "\"StdIn\":1000,\"StdOut\":1001,\"StdErr\":1002");
	in = unix_accept_timeout(lin, TIMEOUT);
	out = unix_accept_timeout(lout, TIMEOUT);
	errfd = unix_accept_timeout(lerr, TIMEOUT);
	cr_assert(in >= 0 && out >= 0 && errfd >= 0);
	cr_assert_eq(write(in, "relayed input", 13), 13);
	close(in);
	read_all(out, buf, sizeof(buf));
	cr_assert_str_eq(buf, "RELAYED INPUT");
	read_all(errfd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "hello from /usr\n");
	cr_assert_eq(wait_exit(pid, BRIDGE_INFINITE_WAIT), 3);
	/*
	 * Messages arrive in order: with DumpStacks answered, anything sent
	 * about the exit is here. A process in the utility VM gets none.
	 */
	json_object_put(request(BRIDGE_DUMP_STACKS, "{}"));
	cr_assert_neq(bridge_host_wait_notification(&host, 0, &n, &e), 0,
		      "a notification came: %s", n->body);

	/* Once its exit was reported, the process is gone. */
	o = request(BRIDGE_WAIT_FOR_PROCESS, "{\"ProcessId\":%u,"
		    "\"TimeoutInMs\":100}", pid);
	expect_error(o, HR_NOT_FOUND, "not found");
	json_object_put(o);
	close(out);
	close(errfd);
	close(lin);
	close(lout);
	close(lerr);
}

Test(bridge, command_line_runs_through_the_shell)
{
	int lout = bridge_host_relay_listen(agent.bridge_sock, 2001, NULL);
	int out;
	uint32_t pid;
	char buf[128];

	pid = execute("{\"CommandLine\":\"echo a b | wc -w\","
		      "\"CreateStdOutPipe\":true}", "\"StdOut\":2001");
	out = unix_accept_timeout(lout, TIMEOUT);
	cr_assert_geq(out, 0);
	read_all(out, buf, sizeof(buf));
	cr_assert_eq(atoi(buf), 2, "%s", buf);
	cr_assert_eq(wait_exit(pid, BRIDGE_INFINITE_WAIT), 0);
	close(out);
	close(lout);
}

Test(bridge, wait_times_out_then_signal_ends_the_process)
{
	uint32_t pid = execute("{\"CommandLine\":\"exec sleep 30\"}", "");
	struct json_object *o = request(BRIDGE_WAIT_FOR_PROCESS,
		"{\"ProcessId\":%u,\"TimeoutInMs\":200}", pid);

	expect_error(o, HR_TIMEOUT, "still running");
	json_object_put(o);
	o = request(BRIDGE_SIGNAL_PROCESS, "{\"ProcessId\":%u,"
		    "\"Options\":{\"Signal\":%d}}", pid, SIGTERM);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	json_object_put(o);
	cr_assert_eq(wait_exit(pid, BRIDGE_INFINITE_WAIT), 128 + SIGTERM);
}

Test(bridge, signal_without_options_kills)
{
	uint32_t pid = execute("{\"CommandArgs\":[\"sleep\",\"30\"]}", "");
	struct json_object *o = request(BRIDGE_SIGNAL_PROCESS,
					"{\"ProcessId\":%u}", pid);

	cr_assert_eq(field_int(o, "Result"), 0);
	json_object_put(o);
	cr_assert_eq(wait_exit(pid, 10000), 128 + SIGKILL);
}

Test(bridge, missing_process_is_not_found)
{
	struct json_object *o;

	o = request(BRIDGE_WAIT_FOR_PROCESS, "{\"ProcessId\":999999,"
		    "\"TimeoutInMs\":4294967295}");
	expect_error(o, HR_NOT_FOUND, "999999");
	json_object_put(o);
	o = request(BRIDGE_SIGNAL_PROCESS, "{\"ProcessId\":999999,"
		    "\"Options\":{\"Signal\":15}}");
	expect_error(o, HR_NOT_FOUND, "999999");
	json_object_put(o);
	o = request(BRIDGE_RESIZE_CONSOLE, "{\"ProcessId\":999999,"
		    "\"Height\":10,\"Width\":10}");
	expect_error(o, HR_NOT_FOUND, "999999");
	json_object_put(o);
}

Test(bridge, console_is_a_pty_and_resizes)
{
	int lin = bridge_host_relay_listen(agent.bridge_sock, 3000, NULL);
	int lout = bridge_host_relay_listen(agent.bridge_sock, 3001, NULL);
	int in, out;
	uint32_t pid;
	char buf[512];
	struct json_object *o;

	pid = execute("{\"CommandLine\":\"read x; stty size; test -t 1 && "
		      "echo tty-$x\",\"EmulateConsole\":true,"
		      "\"CreateStdInPipe\":true,\"CreateStdOutPipe\":true,"
		      "\"CreateInUtilityVM\":true}",
		      "\"StdIn\":3000,\"StdOut\":3001");
	in = unix_accept_timeout(lin, TIMEOUT);
	out = unix_accept_timeout(lout, TIMEOUT);
	cr_assert(in >= 0 && out >= 0);
	o = request(BRIDGE_RESIZE_CONSOLE, "{\"ProcessId\":%u,\"Height\":40,"
		    "\"Width\":120}", pid);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	json_object_put(o);
	cr_assert_eq(write(in, "ok\n", 3), 3);
	read_all(out, buf, sizeof(buf));
	cr_assert_not_null(strstr(buf, "40 120"), "%s", buf);
	cr_assert_not_null(strstr(buf, "tty-ok"), "%s", buf);
	cr_assert_eq(wait_exit(pid, BRIDGE_INFINITE_WAIT), 0);
	close(in);
	close(out);
	close(lin);
	close(lout);
}

Test(bridge, resize_without_console_is_an_error)
{
	uint32_t pid = execute("{\"CommandLine\":\"sleep 30\"}", "");
	struct json_object *o = request(BRIDGE_RESIZE_CONSOLE,
		"{\"ProcessId\":%u,\"Height\":40,\"Width\":120}", pid);

	expect_error(o, HR_INVALID_STATE, "no console");
	json_object_put(o);
	json_object_put(request(BRIDGE_SIGNAL_PROCESS, "{\"ProcessId\":%u}", pid));
	cr_assert_eq(wait_exit(pid, 10000), 128 + SIGKILL);
}

Test(bridge, get_properties_lists_processes_and_statistics)
{
	uint32_t pid = execute("{\"CommandLine\":\"sleep 30\"}", "");
	struct json_object *o = request(BRIDGE_GET_PROPERTIES,
		"{\"ContainerId\":\"" UVM_ID "\",\"Query\":"
		"\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\",\\\"Statistics\\\"]}\"}");
	struct json_object *props, *list, *metrics, *v;
	bool found = false;

	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	cr_assert(json_object_object_get_ex(o, "Properties", &v));
	props = json_tokener_parse(json_object_get_string(v));
	cr_assert_not_null(props);
	cr_assert(json_object_object_get_ex(props, "ProcessList", &list));
	for (size_t i = 0; i < json_object_array_length(list); i++)
		found |= field_int(json_object_array_get_idx(list, i),
				   "ProcessId") == pid;
	cr_assert(found, "%s", json_object_get_string(v));
	cr_assert(json_object_object_get_ex(props, "LCOWMetrics", &metrics));
	cr_assert(json_object_object_get_ex(metrics, "memory", &v));
	cr_assert(json_object_object_get_ex(v, "usage", &v));
	cr_assert_gt(field_int(v, "limit"), 0);
	cr_assert(json_object_object_get_ex(metrics, "pids", &v));
	cr_assert_gt(field_int(v, "current"), 0);
	json_object_put(props);
	json_object_put(o);

	o = request(BRIDGE_GET_PROPERTIES, "{\"Query\":"
		    "\"{\\\"PropertyTypes\\\":[\\\"Memory\\\"]}\"}");
	expect_error(o, HR_INVALID_ARG, "Memory");
	json_object_put(o);
	json_object_put(request(BRIDGE_SIGNAL_PROCESS, "{\"ProcessId\":%u}", pid));
	cr_assert_eq(wait_exit(pid, 10000), 128 + SIGKILL);
}

/* A disk as the kernel shows it: SYS/block/NAME/serial and DEV/NAME. */
/*
 * A disk as the kernel shows it: SYS/block/NAME/serial and DEV/NAME, a
 * block device node for @dev, or a plain file when @dev is 0.
 */
static void fake_disk(const char *name, const char *serial, dev_t dev)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/block/%s", agent.dir, name);
	cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/sys/block/%s/serial", agent.dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", serial);
	fclose(f);
	snprintf(path, sizeof(path), "%s/dev/%s", agent.dir, name);
	if (!dev) {
		f = fopen(path, "w");
		cr_assert_not_null(f);
		fclose(f);
		return;
	}
	if (mknod(path, S_IFBLK | 0600, dev) < 0)
		cr_skip_test("creating a block device node needs root: %s",
			     strerror(errno));
}

/* An unbound loop device: a block device nothing can mount. */
#define UNBOUND_LOOP makedev(7, 200)

static struct json_object *modify(const char *settings)
{
	return request(BRIDGE_MODIFY_SETTINGS, "{\"ContainerId\":\"" UVM_ID
		       "\",\"ActivityId\":\"" ACTIVITY "\",\"Request\":%s}",
		       settings);
}

/* ModifySettings with the Request @fmt names @path in: it must succeed. */
static void modify_succeeds(const char *fmt, const char *path)
{
	char settings[1024];
	struct json_object *o;

	snprintf(settings, sizeof(settings), fmt, path);
	o = modify(settings);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	json_object_put(o);
}

static void modify_fails(const char *settings, int32_t hr, const char *needle)
{
	struct json_object *o = modify(settings);

	expect_error(o, hr, needle);
	json_object_put(o);
}

/*
 * hcsshim's LCOWMappedVirtualDisk (uvm/scsi/backend.go mountRequest):
 * Controller and Lun name the disk whose serial is scsi-C-L; omitted
 * (Go's omitempty) they are 0.
 */
Test(bridge, mapped_disk_is_found_by_its_scsi_serial)
{
	modify_fails("{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\","
		     "\"Settings\":{\"MountPath\":\"/run/mounts/m0\",\"ReadOnly\":true,"
		     "\"Options\":[\"ro\"]}}",
		     HR_FAIL, "controller 0, lun 0: no disk under");
	fake_disk("vdc", "scsi-1-5", 0);
	modify_fails("{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\","
		     "\"Settings\":{\"MountPath\":\"/run/mounts/m1\",\"Lun\":5,"
		     "\"Controller\":1}}",
		     HR_FAIL, "/dev/vdc is not a block device");
	fake_disk("vdd", "scsi-1-5", 0);
	modify_fails("{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		     "{\"Lun\":5,\"Controller\":1}}",
		     HR_FAIL, "both have serial scsi-1-5");
}

Test(bridge, mapped_disk_block_dev_partition_and_mount_errors)
{
	char link[160], target[160], want[160];
	struct json_object *o;
	ssize_t n;

	fake_disk("vdb", "scsi-0-3", UNBOUND_LOOP);
	snprintf(link, sizeof(link), "%s/links/disk", agent.dir);
	modify_fails("{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\","
		     "\"Settings\":{\"MountPath\":\"/run/x\",\"Lun\":3,\"Partition\":1}}",
		     HR_FAIL, "disk vdb has no partition 1");
	/* BlockDev: MountPath becomes a link to the device. */
	o = request(BRIDGE_MODIFY_SETTINGS, "{\"Request\":{\"RequestType\":\"Add\","
		    "\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		    "{\"MountPath\":\"%s\",\"Lun\":3,\"BlockDev\":true}}}", link);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	json_object_put(o);
	n = readlink(link, target, sizeof(target) - 1);
	cr_assert_gt(n, 0);
	target[n] = 0;
	snprintf(want, sizeof(want), "%s/dev/vdb", agent.dir);
	cr_assert_str_eq(target, want);
	o = request(BRIDGE_MODIFY_SETTINGS, "{\"Request\":{\"RequestType\":\"Remove\","
		    "\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		    "{\"MountPath\":\"%s\",\"Lun\":3,\"BlockDev\":true}}}", link);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	json_object_put(o);
	cr_assert(readlink(link, target, sizeof(target)) < 0 && errno == ENOENT);
	/* Nothing to mount on an unbound loop device: the reason comes back. */
	o = request(BRIDGE_MODIFY_SETTINGS, "{\"Request\":{\"ResourceType\":"
		    "\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"%s/mnt\","
		    "\"Lun\":3,\"Filesystem\":\"ext4\",\"EnsureFilesystem\":true}}}",
		    agent.dir);
	expect_error(o, HR_FAIL, "EnsureFilesystem: this agent does not format "
		     "disks: mounting");
	json_object_put(o);
}

/* Runs @cmd, giving its first output line in @out; nonzero: it failed. */
static int run_line(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	int ok = p && fgets(out, (int)len, p) != NULL;

	if (p && pclose(p) != 0)
		ok = 0;
	out[strcspn(out, "\n")] = 0;
	return ok ? 0 : -1;
}

/*
 * The whole way on a real disk: an ext4 image on a loop device, found by
 * its serial, mounted read-only with options, read, and removed.
 */
Test(bridge, mapped_disk_mounts_a_real_file_system, .timeout = 120)
{
	char src[160], cmd[512], line[256], file[200];
	struct stat st;
	FILE *f;

	if (geteuid() != 0)
		cr_skip_test("mounting needs root");
	snprintf(src, sizeof(src), "%s/content", agent.dir);
	cr_assert_eq(mkdir(src, 0755), 0);
	snprintf(file, sizeof(file), "%s/hello.txt", src);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("hello from a disk\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "truncate -s 8M %s/disk.img && mkfs.ext4 -q "
		 "-F -d %s %s/disk.img >/dev/null 2>&1", agent.dir, src, agent.dir);
	if (system(cmd) != 0)
		cr_skip_test("mkfs.ext4 -d is not available");
	snprintf(cmd, sizeof(cmd), "losetup --find --show %s/disk.img 2>/dev/null",
		 agent.dir);
	if (run_line(cmd, loop_dev, sizeof(loop_dev)) < 0 ||
	    stat(loop_dev, &st) < 0 || !S_ISBLK(st.st_mode)) {
		loop_dev[0] = 0;
		cr_skip_test("no loop device to attach the image to");
	}
	fake_disk(strrchr(loop_dev, '/') + 1, "scsi-0-6", st.st_rdev);
	snprintf(mounted_at, sizeof(mounted_at), "%s/mnt", agent.dir);
	/* uvm/scsi/backend.go mountRequest: Controller 0 is left out. */
	modify_succeeds("{\"RequestType\":\"Add\",\"ResourceType\":"
			"\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"%s\","
			"\"Lun\":6,\"ReadOnly\":true,\"Options\":[\"nosuid\","
			"\"rprivate\"]}}", mounted_at);
	snprintf(file, sizeof(file), "%s/hello.txt", mounted_at);
	f = fopen(file, "r");
	cr_assert_not_null(f, "%s: %s", file, strerror(errno));
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	cr_assert_str_eq(line, "hello from a disk\n");
	snprintf(cmd, sizeof(cmd), "grep ' %s ' /proc/self/mountinfo", mounted_at);
	cr_assert_eq(run_line(cmd, line, sizeof(line)), 0, "not mounted");
	cr_assert(strstr(line, " ro,") && strstr(line, "nosuid"), "%s", line);
	/* unmountRequest. */
	modify_succeeds("{\"RequestType\":\"Remove\",\"ResourceType\":"
			"\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":"
			"\"%s\",\"Lun\":6,\"ReadOnly\":true}}", mounted_at);
	mounted_at[0] = 0;
	cr_assert(stat(file, &st) < 0 && errno == ENOENT, "still mounted");
}

/* The seed's shape: ContainerPath and Lun (controller 0). */
Test(bridge, mapped_disk_in_the_seed_shape)
{
	fake_disk("vde", "scsi-0-2", 0);
	modify_fails("{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		     "{\"ContainerPath\":\"/run/disk2\",\"Lun\":2,"
		     "\"CreateInUtilityVM\":true,\"ReadOnly\":true}}",
		     HR_FAIL, "/dev/vde is not a block device");
	modify_fails("{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		     "{\"ContainerPath\":\"relative\",\"Lun\":1}}",
		     HR_INVALID_ARG, "absolute");
	modify_fails("{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		     "{\"ContainerPath\":\"\",\"Lun\":2,\"AttachOnly\":true}}",
		     HR_FAIL, "not a block device");
}

Test(bridge, modify_settings_refusals)
{
	modify_fails("{\"RequestType\":\"Remove\",\"ResourceType\":"
		     "\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":"
		     "\"/run/never-mounted\"}}",
		     HR_FAIL, "nothing was mounted");
	modify_fails("{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		     "{\"MountPath\":\"/run/e\",\"Encrypted\":true}}",
		     HR_NOT_IMPL, "encrypted disks");
	modify_fails("{\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		     "{\"Controller\":4}}",
		     HR_INVALID_ARG, "controllers are 0..3");
	/* uvm/scsi/backend.go unplugRequest. */
	modify_fails("{\"RequestType\":\"Remove\",\"ResourceType\":\"SCSIDevice\","
		     "\"Settings\":{\"Controller\":0,\"Lun\":1}}",
		     HR_NOT_IMPL, "cannot be unplugged");
	modify_fails("{\"ResourceType\":\"Network\",\"Settings\":{}}",
		     HR_NOT_IMPL, "Network");
}

/* Other containers do not exist: their requests say so. */
Test(bridge, containers_other_than_the_uvm_do_not_exist)
{
	struct json_object *o;

	o = request(BRIDGE_GET_PROPERTIES, "{\"ContainerId\":\"c1\",\"Query\":"
		    "\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\"]}\"}");
	expect_error(o, HR_SYSTEM_NOT_FOUND, "c1");
	json_object_put(o);
	o = request(BRIDGE_DELETE_CONTAINER_STATE, "{\"ContainerId\":\"c1\"}");
	expect_error(o, HR_SYSTEM_NOT_FOUND, "c1");
	json_object_put(o);
}

Test(bridge, dump_stacks_describes_the_agent)
{
	struct json_object *o = request(BRIDGE_DUMP_STACKS,
					"{\"ContainerId\":\"" UVM_ID "\"}");
	struct json_object *v;

	cr_assert_eq(field_int(o, "Result"), 0);
	cr_assert(json_object_object_get_ex(o, "GuestStacks", &v));
	cr_assert_not_null(strstr(json_object_get_string(v), "guest-agent"));
	json_object_put(o);
}

Test(bridge, delete_container_state)
{
	uint32_t pid = execute("{\"CommandLine\":\"sleep 30\"}", "");
	struct json_object *o = request(BRIDGE_DELETE_CONTAINER_STATE,
					"{\"ContainerId\":\"" UVM_ID "\"}");

	expect_error(o, HR_INVALID_STATE, "running");
	json_object_put(o);
	json_object_put(request(BRIDGE_SIGNAL_PROCESS, "{\"ContainerId\":\""
				UVM_ID "\",\"ProcessId\":%u}", pid));
	cr_assert_eq(wait_exit(pid, 10000), 128 + SIGKILL);
	o = request(BRIDGE_DELETE_CONTAINER_STATE,
		    "{\"ContainerId\":\"" UVM_ID "\"}");
	cr_assert_eq(field_int(o, "Result"), 0);
	json_object_put(o);
}

/* ProcessParameters.User, and the seed's CreateInUtilityVM beside any ID. */
Test(bridge, user_and_create_in_utility_vm)
{
	int lout = bridge_host_relay_listen(agent.bridge_sock, 4001, NULL);
	struct json_object *p = json_object_new_string(
		"{\"CommandLine\":\"id -u\",\"User\":\"65534\","
		"\"CreateStdOutPipe\":true,\"CreateInUtilityVM\":true}");
	struct json_object *o;
	char buf[64];
	int out;

	if (geteuid() != 0)
		cr_skip_test("running as another user needs root");
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"ContainerId\":\"seed-host\","
		    "\"Settings\":{\"ProcessParameters\":%s,"
		    "\"VsockStdioRelaySettings\":{\"StdOut\":4001}}}",
		    json_object_to_json_string(p));
	json_object_put(p);
	cr_assert_eq(field_int(o, "Result"), 0, "%s", json_object_to_json_string(o));
	out = unix_accept_timeout(lout, TIMEOUT);
	cr_assert_geq(out, 0);
	read_all(out, buf, sizeof(buf));
	cr_assert_str_eq(buf, "65534\n");
	cr_assert_eq(wait_exit((uint32_t)field_int(o, "ProcessId"),
			       BRIDGE_INFINITE_WAIT), 0);
	json_object_put(o);
	close(out);
	close(lout);
}

Test(bridge, containers_are_not_supported_yet)
{
	struct json_object *o = request(BRIDGE_CREATE, "{\"ContainerId\":\"c1\","
		"\"ContainerConfig\":\"{}\"}");

	expect_error(o, HR_NOT_IMPL, "not supported yet");
	json_object_put(o);
	o = request(BRIDGE_START, "{\"ContainerId\":\"c1\"}");
	expect_error(o, HR_NOT_IMPL, "not supported yet");
	json_object_put(o);
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"ContainerId\":\"c1\","
		    "\"Settings\":{\"ProcessParameters\":\"{\\\"OciSpecification\\\":{}}\"}}");
	expect_error(o, HR_NOT_IMPL, "OCI");
	json_object_put(o);
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"ContainerId\":\"c1\","
		    "\"Settings\":{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"true\\\"}\"}}");
	expect_error(o, HR_SYSTEM_NOT_FOUND, "c1");
	json_object_put(o);
}

Test(bridge, execute_errors)
{
	struct json_object *o;

	o = request(BRIDGE_EXECUTE_PROCESS, "{\"Settings\":{\"ProcessParameters\":"
		    "\"{\\\"CommandArgs\\\":[\\\"/no/such/program\\\"],"
		    "\\\"CreateInUtilityVM\\\":true}\"}}");
	expect_error(o, HR_FAIL, "/no/such/program");
	json_object_put(o);
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"ContainerId\":\"" UVM_ID "\","
		    "\"Settings\":{\"ProcessParameters\":\"{\\\"CommandLine\\\":"
		    "\\\"true\\\",\\\"User\\\":\\\"no-such-user\\\"}\"}}");
	expect_error(o, HR_FAIL, "no such user");
	json_object_put(o);
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"Settings\":{\"ProcessParameters\":"
		    "\"{\\\"CommandLine\\\":\\\"true\\\",\\\"CreateStdOutPipe\\\":"
		    "true,\\\"CreateInUtilityVM\\\":true}\"}}");
	expect_error(o, HR_INVALID_ARG, "StdOut");
	json_object_put(o);
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"Settings\":{\"ProcessParameters\":"
		    "\"{\\\"CommandLine\\\":\\\"true\\\",\\\"CreateStdOutPipe\\\":"
		    "true,\\\"CreateInUtilityVM\\\":true}\",\"VsockStdioRelaySettings\":"
		    "{\"StdOut\":4242}}}");
	expect_error(o, HR_FAIL, "stdout relay");
	json_object_put(o);
	o = request(BRIDGE_EXECUTE_PROCESS, "{\"Settings\":{\"ProcessParameters\":"
		    "\"not json\"}}");
	expect_error(o, HR_INVALID_ARG, "ProcessParameters");
	json_object_put(o);
}

Test(bridge, bad_messages_get_error_responses)
{
	struct json_object *o = request(0x10100e01, "{}");

	expect_error(o, HR_UNKNOWN_MESSAGE, "0x10100e01");
	json_object_put(o);
	o = request(BRIDGE_NEGOTIATE_PROTOCOL, "{\"MinimumVersion\":");
	expect_error(o, HR_INVALID_JSON, "invalid JSON");
	json_object_put(o);
	o = request(BRIDGE_WAIT_FOR_PROCESS, "{\"ProcessId\":\"x\"}");
	expect_error(o, HR_INVALID_ARG, "ProcessId");
	json_object_put(o);
	/* Still answering after all that. */
	o = request(BRIDGE_NEGOTIATE_PROTOCOL,
		    "{\"MinimumVersion\":4,\"MaximumVersion\":4}");
	cr_assert_eq(field_int(o, "Result"), 0);
	json_object_put(o);
}

Test(bridge, oversized_message_closes_the_bridge_and_the_agent_redials)
{
	uint8_t raw[BRIDGE_HDR_SIZE];
	struct bridge_hdr h = { .type = BRIDGE_NEGOTIATE_PROTOCOL,
				.size = BRIDGE_MAX_MESSAGE + 1, .id = 77 };
	struct err e = { "" };
	struct json_object *o;

	bridge_hdr_encode(raw, &h);
	cr_assert_eq(bridge_host_send_raw(&host, raw, sizeof(raw), &e), 0);
	cr_assert_eq(bridge_host_wait_closed(&host, TIMEOUT), 1,
		     "the agent kept a connection it cannot resynchronise");
	assert_agent_alive(&agent);
	cr_assert_eq(bridge_host_accept(&host, TIMEOUT, &e), 0, "%s", e.msg);
	o = request(BRIDGE_NEGOTIATE_PROTOCOL,
		    "{\"MinimumVersion\":4,\"MaximumVersion\":4}");
	cr_assert_eq(field_int(o, "Result"), 0);
	json_object_put(o);

	/* A header smaller than itself, and a truncated message. */
	h.size = 8;
	bridge_hdr_encode(raw, &h);
	cr_assert_eq(bridge_host_send_raw(&host, raw, sizeof(raw), &e), 0);
	cr_assert_eq(bridge_host_wait_closed(&host, TIMEOUT), 1);
	cr_assert_eq(bridge_host_accept(&host, TIMEOUT, &e), 0, "%s", e.msg);
	h.size = 100;
	bridge_hdr_encode(raw, &h);
	cr_assert_eq(bridge_host_send_raw(&host, raw, sizeof(raw), &e), 0);
	shutdown(host.fd, SHUT_WR);
	cr_assert_eq(bridge_host_wait_closed(&host, TIMEOUT), 1);
	cr_assert_eq(bridge_host_accept(&host, TIMEOUT, &e), 0, "%s", e.msg);
	assert_agent_alive(&agent);
}

static void shutdown_test(uint32_t type)
{
	uint32_t pid = execute("{\"CommandLine\":\"trap '' TERM; sleep 30\"}", "");
	struct json_object *o = request(type, "{\"ContainerId\":\"" UVM_ID "\"}");
	int status;

	cr_assert_eq(field_int(o, "Result"), 0);
	json_object_put(o);
	status = agent_wait_exit(&agent, TIMEOUT);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "agent status %#x", status);
	cr_assert(kill((pid_t)pid, 0) < 0, "process %u survived the shutdown", pid);
}

Test(bridge, shutdown_graceful_ends_processes_and_exits)
{
	shutdown_test(BRIDGE_SHUTDOWN_GRACEFUL);
}

Test(bridge, shutdown_forced_ends_processes_and_exits)
{
	shutdown_test(BRIDGE_SHUTDOWN_FORCED);
}
