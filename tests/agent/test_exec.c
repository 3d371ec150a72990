// SPDX-License-Identifier: MIT
/* The exec protocol (matchlock's pkg/vsock) against the agent over a Unix socket. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/agent/helpers.h"

static struct test_agent agent;

static void setup(void)
{
	agent_start(&agent, false, NULL);
}

static void teardown(void)
{
	agent_stop_expect_clean(&agent);
}

TestSuite(exec, .init = setup, .fini = teardown, .timeout = 60);

struct run {
	struct exec_result res;
	struct bytebuf out, err;
};

static void run_req(uint8_t type, struct exec_request *req, struct run *r)
{
	struct exec_stream s;
	struct err e = { "" };
	int fd = agent_connect(&agent);

	memset(r, 0, sizeof(*r));
	cr_assert_geq(fd, 0);
	exec_stream_init(&s, fd);
	cr_assert_eq(exec_run(&s, type, req, &r->res, &r->out, &r->err, 30000,
			      &e), 0, "%s", e.msg);
	exec_stream_close(&s);
	bytebuf_append(&r->out, "", 1);
	bytebuf_append(&r->err, "", 1);
}

static void run_free(struct run *r)
{
	exec_result_free(&r->res);
	bytebuf_free(&r->out);
	bytebuf_free(&r->err);
}

#define OUT(r) ((const char *)bytebuf_head(&(r)->out))
#define ERR(r) ((const char *)bytebuf_head(&(r)->err))

Test(exec, exec_buffers_output_and_exit_code)
{
	struct exec_request req = {
		.command = "echo hello; echo oops >&2; exit 3" };
	struct run r;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 3);
	cr_assert_str_eq(OUT(&r), "hello\n");
	cr_assert_str_eq(ERR(&r), "oops\n");
	cr_assert_null(r.res.error);
	run_free(&r);
}

Test(exec, command_with_args_runs_without_a_shell)
{
	char *args[] = { "%s|%s", "a b", "$HOME", NULL };
	struct exec_request req = { .command = "printf", .args = args,
				    .nargs = 3 };
	struct run r;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 0);
	cr_assert_str_eq(OUT(&r), "a b|$HOME");
	run_free(&r);
}

Test(exec, exec_stdin_is_fed_then_closed)
{
	struct exec_request req = { .command = "cat; echo end",
				    .stdin_data = (uint8_t *)"in\0put",
				    .stdin_len = 6 };
	struct run r;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 0);
	cr_assert_eq(bytebuf_len(&r.out), 11);
	cr_assert_eq(memcmp(OUT(&r), "in\0putend\n", 10), 0);
	run_free(&r);
}

Test(exec, env_and_working_dir_apply)
{
	char *env[] = { "GREETING=hi there", "PATH=/usr/bin:/bin", NULL };
	struct exec_request req = { .command = "echo \"$GREETING\"; pwd; echo $PATH",
				    .env = env, .nenv = 2,
				    .working_dir = "/usr" };
	struct run r;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 0);
	cr_assert_str_eq(OUT(&r), "hi there\n/usr\n/usr/bin:/bin\n");
	run_free(&r);
}

Test(exec, missing_working_dir_is_an_error)
{
	struct exec_request req = { .command = "true",
				    .working_dir = "/no/such/dir" };
	struct run r;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_neq(r.res.exit_code, 0);
	cr_assert_not_null(strstr(r.res.error, "/no/such/dir"), "%s",
			   r.res.error);
	run_free(&r);
	assert_agent_alive(&agent);
}

Test(exec, user_as_uid_gid_and_name)
{
	struct exec_request req = { .command = "id -u; id -g",
				    .user = "65534:65534" };
	struct run r;

	if (geteuid() != 0)
		cr_skip_test("changing users needs root");
	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 0, "%s", r.res.error);
	cr_assert_str_eq(OUT(&r), "65534\n65534\n");
	run_free(&r);

	req.user = "nobody";
	req.command = "id -un; echo $HOME";
	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 0, "%s", r.res.error);
	cr_assert_str_eq(OUT(&r), "nobody\n/nonexistent\n");
	run_free(&r);

	req.user = "1234";
	req.command = "id -u; id -g";
	run_req(FRAME_EXEC, &req, &r);
	cr_assert_str_eq(OUT(&r), "1234\n0\n");
	run_free(&r);
}

/* As a shell or matchlock's launcher: the reason on stderr, status 127. */
Test(exec, unknown_user_exits_127_with_the_reason_on_stderr)
{
	struct exec_request req = { .command = "true",
				    .user = "no-such-user-xyz" };
	struct run r;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 127);
	cr_assert_null(r.res.error, "%s", r.res.error);
	cr_assert_str_eq(ERR(&r), "guest-agent: user \"no-such-user-xyz\": no such "
			 "user in /etc/passwd\n");
	run_free(&r);
	run_req(FRAME_EXEC_STREAM, &req, &r);
	cr_assert_eq(r.res.exit_code, 127);
	cr_assert_not_null(strstr(ERR(&r), "no-such-user-xyz"));
	run_free(&r);
}

Test(exec, exec_stream_sends_chunks_then_result)
{
	struct exec_request req = {
		.command = "echo one; echo two >&2; echo three; exit 9" };
	struct run r;

	run_req(FRAME_EXEC_STREAM, &req, &r);
	cr_assert_eq(r.res.exit_code, 9);
	cr_assert_str_eq(OUT(&r), "one\nthree\n");
	cr_assert_str_eq(ERR(&r), "two\n");
	cr_assert_eq(r.res.out_len, 0, "ExecStream's result carries no output");
	run_free(&r);
}

/*
 * Reads frames until Exit; collects Stdout, and Stderr and any ExecResult
 * error in @error. Returns a shell's status: the code, or 128 + N when Exit
 * is uint32(-1) followed by signal N.
 */
static int read_until_exit(struct exec_stream *s, struct bytebuf *out,
			   char *error, size_t error_len)
{
	struct frame_event ev;
	struct err e = { "" };

	if (error)
		error[0] = 0;
	for (;;) {
		int r = exec_stream_next(s, &ev, 20000, &e);

		cr_assert_eq(r, 1, "stream ended: %s", e.msg);
		if (ev.kind == FRAME_EV_CHUNK && ev.type == FRAME_STDOUT)
			bytebuf_append(out, ev.data, ev.len);
		if (ev.kind == FRAME_EV_CHUNK && ev.type == FRAME_STDERR && error)
			snprintf(error + strlen(error), error_len - strlen(error),
				 "%.*s", (int)ev.len, (const char *)ev.data);
		if (ev.kind == FRAME_EV_FRAME && ev.type == FRAME_EXEC_RESULT &&
		    error) {
			struct exec_result res;

			cr_assert_eq(exec_result_decode((const char *)ev.data,
							ev.len, &res, &e), 0);
			snprintf(error + strlen(error), error_len - strlen(error),
				 "%s", res.error ? res.error : "");
			exec_result_free(&res);
		}
		if (ev.kind == FRAME_EV_FRAME && ev.type == FRAME_EXIT) {
			if (ev.len == 5) {
				cr_assert_eq(get_be32(ev.data), UINT32_MAX);
				return 128 + ev.data[4];
			}
			cr_assert_eq(ev.len, 4);
			return (int)get_be32(ev.data);
		}
	}
}

Test(exec, exec_pipe_streams_stdin_until_empty_chunk)
{
	struct exec_request req = { .command = "tr a-z A-Z; exit 4" };
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_PIPE, &req, &e), 0);
	cr_assert_eq(exec_stream_send(&s, FRAME_STDIN, "hello ", 6, &e), 0);
	cr_assert_eq(exec_stream_send(&s, FRAME_STDIN, "world", 5, &e), 0);
	cr_assert_eq(exec_stream_send(&s, FRAME_STDIN, NULL, 0, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, NULL, 0), 4);
	bytebuf_append(&out, "", 1);
	cr_assert_str_eq((char *)bytebuf_head(&out), "HELLO WORLD");
	bytebuf_free(&out);
	exec_stream_close(&s);
}

Test(exec, exec_tty_uses_a_pty_with_resize_and_stdin)
{
	struct exec_request req = {
		.command = "test -t 0 && echo is-a-tty; stty size; read x; "
			   "stty size; echo got:$x; exit 6",
		.rows = 30, .cols = 100 };
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };
	uint8_t resize[4];
	const char *text;

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_TTY, &req, &e), 0);
	/* Wait for the first size before resizing. */
	while (!strstr((char *)bytebuf_head(&out) ?: "", "30 100")) {
		struct frame_event ev;

		cr_assert_eq(exec_stream_next(&s, &ev, 20000, &e), 1, "%s", e.msg);
		if (ev.kind == FRAME_EV_CHUNK && ev.type == FRAME_STDOUT)
			bytebuf_append(&out, ev.data, ev.len);
		bytebuf_append(&out, "", 1);
		out.tail--;
	}
	put_be16(resize, 50);
	put_be16(resize + 2, 132);
	cr_assert_eq(exec_stream_send(&s, FRAME_RESIZE, resize, 4, &e), 0);
	cr_assert_eq(exec_stream_send(&s, FRAME_STDIN, "abc\n", 4, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, NULL, 0), 6);
	bytebuf_append(&out, "", 1);
	text = (const char *)bytebuf_head(&out);
	cr_assert_not_null(strstr(text, "is-a-tty"), "%s", text);
	cr_assert_not_null(strstr(text, "50 132"), "%s", text);
	cr_assert_not_null(strstr(text, "got:abc"), "%s", text);
	bytebuf_free(&out);
	exec_stream_close(&s);
}

Test(exec, signal_ends_a_pipe_session_with_128_plus_signal)
{
	struct exec_request req = { .command = "echo started; exec sleep 30" };
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };
	struct frame_event ev;
	uint8_t sig = SIGTERM;

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_PIPE, &req, &e), 0);
	cr_assert_eq(exec_stream_next(&s, &ev, 20000, &e), 1);
	cr_assert_eq(ev.type, FRAME_STDOUT);
	cr_assert_eq(exec_stream_send(&s, FRAME_SIGNAL, &sig, 1, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, NULL, 0), 128 + SIGTERM);
	bytebuf_free(&out);
	exec_stream_close(&s);
}

Test(exec, signal_kill_in_exec_stream_reports_the_signal)
{
	struct exec_request req = { .command = "echo started; sleep 30" };
	struct exec_stream s;
	struct exec_result res;
	struct err e = { "" };
	struct frame_event ev;
	uint8_t sig = SIGKILL;

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_STREAM, &req, &e), 0);
	cr_assert_eq(exec_stream_next(&s, &ev, 20000, &e), 1);
	cr_assert_eq(ev.type, FRAME_STDOUT);
	cr_assert_eq(exec_stream_send(&s, FRAME_SIGNAL, &sig, 1, &e), 0);
	do
		cr_assert_eq(exec_stream_next(&s, &ev, 20000, &e), 1, "%s", e.msg);
	while (ev.type != FRAME_EXEC_RESULT);
	cr_assert_eq(exec_result_decode((const char *)ev.data, ev.len, &res, &e), 0);
	/* Go's ExitCode() for a signalled process, and the signal beside it. */
	cr_assert_eq(res.exit_code, -1);
	cr_assert_eq(res.signal, SIGKILL);
	exec_result_free(&res);
	exec_stream_close(&s);
}

Test(exec, signal_in_tty_session)
{
	struct exec_request req = { .command = "echo ready; exec sleep 30",
				    .rows = 24, .cols = 80 };
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };
	uint8_t sig = SIGHUP;

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_TTY, &req, &e), 0);
	while (!memmem(bytebuf_head(&out) ?: (uint8_t *)"", bytebuf_len(&out),
		       "ready", 5)) {
		struct frame_event ev;

		cr_assert_eq(exec_stream_next(&s, &ev, 20000, &e), 1);
		if (ev.type == FRAME_STDOUT)
			bytebuf_append(&out, ev.data, ev.len);
	}
	cr_assert_eq(exec_stream_send(&s, FRAME_SIGNAL, &sig, 1, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, NULL, 0), 128 + SIGHUP);
	bytebuf_free(&out);
	exec_stream_close(&s);
}

Test(exec, ready_port_accepts_and_closes)
{
	struct err e;
	char c;
	int fd = exec_dial_unix(agent.ready_sock, &e);

	cr_assert_geq(fd, 0, "%s", e.msg);
	cr_assert_eq(read(fd, &c, 1), 0, "the ready check closes at once");
	close(fd);
}

Test(exec, ready_frame_is_echoed)
{
	struct exec_stream s;
	struct frame_event ev;
	struct err e = { "" };

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send(&s, FRAME_READY, NULL, 0, &e), 0);
	cr_assert_eq(exec_stream_next(&s, &ev, 10000, &e), 1);
	cr_assert_eq(ev.type, FRAME_READY);
	cr_assert_eq(ev.len, 0);
	/* The connection still takes a request afterwards. */
	struct exec_request req = { .command = "echo after-ready" };
	struct exec_result res;
	struct bytebuf o = { 0 }, er = { 0 };

	cr_assert_eq(exec_run(&s, FRAME_EXEC, &req, &res, &o, &er, 20000, &e), 0);
	cr_assert_eq(bytebuf_len(&o), 12);
	exec_result_free(&res);
	bytebuf_free(&o);
	bytebuf_free(&er);
	exec_stream_close(&s);
}

Test(exec, fifty_concurrent_sessions)
{
	enum { N = 50 };
	struct exec_stream s[N];
	struct err e = { "" };

	/* All fifty run at once: each waits for a file the test creates last. */
	char gate[128];

	snprintf(gate, sizeof(gate), "%s/gate", agent.dir);
	for (int i = 0; i < N; i++) {
		char cmd[256];
		struct exec_request req = { .command = cmd };

		snprintf(cmd, sizeof(cmd), "while [ ! -e %s ]; do sleep 0.05; "
			 "done; echo session-%d; exit %d", gate, i, i % 7);
		exec_stream_init(&s[i], agent_connect(&agent));
		cr_assert_eq(exec_stream_send_request(&s[i], FRAME_EXEC_STREAM,
						      &req, &e), 0);
	}
	FILE *f = fopen(gate, "w");

	cr_assert_not_null(f);
	fclose(f);
	for (int i = 0; i < N; i++) {
		struct bytebuf out = { 0 };
		struct exec_result res;
		struct frame_event ev;
		char want[32];

		for (;;) {
			cr_assert_eq(exec_stream_next(&s[i], &ev, 30000, &e), 1,
				     "session %d: %s", i, e.msg);
			if (ev.type == FRAME_STDOUT)
				bytebuf_append(&out, ev.data, ev.len);
			if (ev.type == FRAME_EXEC_RESULT)
				break;
		}
		cr_assert_eq(exec_result_decode((const char *)ev.data, ev.len,
						&res, &e), 0);
		cr_assert_eq(res.exit_code, i % 7);
		snprintf(want, sizeof(want), "session-%d\n", i);
		bytebuf_append(&out, "", 1);
		cr_assert_str_eq((char *)bytebuf_head(&out), want);
		exec_result_free(&res);
		bytebuf_free(&out);
		exec_stream_close(&s[i]);
	}
}

/* The agent's RSS bound for streaming: its own buffers are 256 KiB a
 * session; the rest is the (sanitized) binary's baseline. */
#define RSS_BOUND_KIB (64 * 1024)

Test(exec, hundred_megabytes_stream_in_bounded_memory, .timeout = 180)
{
	const size_t total = 100u * 1000 * 1000;
	struct exec_request req = {
		.command = "head -c 100000000 /dev/zero | tr '\\0' x" };
	struct exec_stream s;
	struct exec_result res;
	struct frame_event ev;
	struct err e = { "" };
	size_t got = 0;
	long base = proc_status_kib(agent.pid, "VmHWM"), hwm;

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_STREAM, &req, &e), 0);
	for (;;) {
		cr_assert_eq(exec_stream_next(&s, &ev, 60000, &e), 1, "%s", e.msg);
		if (ev.type == FRAME_STDOUT) {
			for (uint32_t i = 0; i < ev.len; i++)
				cr_assert_eq(ev.data[i], 'x');
			got += ev.len;
		}
		if (ev.type == FRAME_EXEC_RESULT)
			break;
	}
	cr_assert_eq(got, total);
	cr_assert_eq(exec_result_decode((const char *)ev.data, ev.len, &res, &e), 0);
	cr_assert_eq(res.exit_code, 0);
	exec_result_free(&res);
	exec_stream_close(&s);
	hwm = proc_status_kib(agent.pid, "VmHWM");
	cr_assert_gt(hwm, 0);
	cr_assert_lt(hwm, RSS_BOUND_KIB, "agent peak RSS %ld KiB (was %ld KiB "
		     "before); the stream must not be buffered", hwm, base);
	cr_assert_lt(hwm - base, 16 * 1024, "agent grew by %ld KiB", hwm - base);
}

/*
 * Exec past its 4 MiB capture: what was collected goes out as Stdout
 * frames, the rest follows as it comes, then the ExecResult without it;
 * the agent holds the capture, not the output.
 */
Test(exec, exec_output_past_the_capture_limit_arrives_whole, .timeout = 180)
{
	const size_t total = 40u * 1000 * 1000;
	struct exec_request req = {
		.command = "head -c 40000000 /dev/zero | tr '\\0' x; echo e >&2" };
	long base = proc_status_kib(agent.pid, "VmHWM"), hwm;
	struct run r;
	const char *p;

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 0, "%s", r.res.error);
	cr_assert_null(r.res.error);
	cr_assert_eq(r.res.out_len, 0, "the spilled stream is not in the result");
	cr_assert_eq(bytebuf_len(&r.out), total + 1);
	p = OUT(&r);
	for (size_t i = 0; i < total; i++)
		cr_assert_eq(p[i], 'x', "byte %zu", i);
	cr_assert_str_eq(ERR(&r), "e\n");
	cr_assert_eq(r.res.err_len, 2, "stderr stayed in the result");
	run_free(&r);
	hwm = proc_status_kib(agent.pid, "VmHWM");
	/* The 4 MiB capture (and, sanitized, its growth), not the 40 MB. */
	cr_assert_lt(hwm - base, 16 * 1024, "agent grew by %ld KiB", hwm - base);
}

Test(exec, a_client_that_never_reads_does_not_grow_the_agent)
{
	char cmd[256], pidfile[128], out[64];
	struct exec_request req = { .command = cmd };
	struct exec_stream s;
	struct err e = { "" };
	long rss0, rss1;
	int pid = 0;
	FILE *f;

	snprintf(pidfile, sizeof(pidfile), "%s/pid", agent.dir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; exec cat /dev/zero", pidfile);
	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_STREAM, &req, &e), 0);
	usleep(300 * 1000);
	rss0 = proc_status_kib(agent.pid, "VmRSS");
	/* Others are served while that session is stuck. */
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(agent_exec_sh(&agent, "echo other", out, sizeof(out)), 0);
		cr_assert_str_eq(out, "other\n");
	}
	usleep(700 * 1000);
	rss1 = proc_status_kib(agent.pid, "VmRSS");
	cr_assert_lt(rss1 - rss0, 4096, "RSS went from %ld to %ld KiB", rss0, rss1);
	f = fopen(pidfile, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	cr_assert_eq(kill(pid, 0), 0, "cat /dev/zero should still run");
	/* Closing the connection cancels the endless command. */
	exec_stream_close(&s);
	for (int i = 0; i < 100; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return;
		usleep(100 * 1000);
	}
	cr_assert_fail("cat /dev/zero (pid %d) survived its connection", pid);
}

static void expect_error_reply(const void *data, size_t n, bool shut,
			       const char *needle)
{
	uint8_t buf[8192];
	size_t got = raw_exchange(&agent, data, n, shut, buf, sizeof(buf));
	uint32_t plen;
	const uint8_t *p = find_frame(buf, got, FRAME_EXEC_RESULT, &plen);
	struct exec_result res;
	struct err e;

	cr_assert_not_null(p, "no ExecResult in %zu bytes of reply", got);
	cr_assert_eq(exec_result_decode((const char *)p, plen, &res, &e), 0);
	cr_assert_not_null(res.error);
	cr_assert_not_null(strstr(res.error, needle), "error \"%s\" lacks \"%s\"",
			   res.error, needle);
	cr_assert_neq(res.exit_code, 0);
	exec_result_free(&res);
	assert_agent_alive(&agent);
}

Test(exec, frame_over_the_limit_is_refused)
{
	uint8_t hdr[FRAME_HDR_SIZE];

	frame_put_hdr(hdr, FRAME_EXEC, FRAME_MAX_PAYLOAD + 1);
	expect_error_reply(hdr, sizeof(hdr), false, "limit");
}

Test(exec, truncated_frame_is_reported)
{
	uint8_t msg[FRAME_HDR_SIZE + 4];

	frame_put_hdr(msg, FRAME_EXEC, 100);
	memcpy(msg + FRAME_HDR_SIZE, "{\"co", 4);
	expect_error_reply(msg, sizeof(msg), true, "truncated");
	expect_error_reply(msg, 3, true, "truncated");
}

Test(exec, invalid_json_is_reported)
{
	static const char body[] = "{\"command\": ";
	uint8_t msg[64];

	frame_put_hdr(msg, FRAME_EXEC_STREAM, sizeof(body) - 1);
	memcpy(msg + FRAME_HDR_SIZE, body, sizeof(body) - 1);
	expect_error_reply(msg, FRAME_HDR_SIZE + sizeof(body) - 1, false,
			   "invalid JSON");
	frame_put_hdr(msg, FRAME_EXEC, 2);
	memcpy(msg + FRAME_HDR_SIZE, "[]", 2);
	expect_error_reply(msg, FRAME_HDR_SIZE + 2, false, "object");
	frame_put_hdr(msg, FRAME_EXEC, 14);
	memcpy(msg + FRAME_HDR_SIZE, "{\"command\": 5}", 14);
	expect_error_reply(msg, FRAME_HDR_SIZE + 14, false, "command");
}

Test(exec, unknown_type_is_reported)
{
	uint8_t msg[FRAME_HDR_SIZE + 2];

	frame_put_hdr(msg, 99, 2);
	memcpy(msg + FRAME_HDR_SIZE, "{}", 2);
	expect_error_reply(msg, sizeof(msg), false, "unknown message type 99");
}

Test(exec, signal_without_a_process_is_reported)
{
	uint8_t msg[FRAME_HDR_SIZE + 1];

	frame_put_hdr(msg, FRAME_SIGNAL, 1);
	msg[FRAME_HDR_SIZE] = SIGTERM;
	expect_error_reply(msg, sizeof(msg), false, "no process");
}

Test(exec, command_that_cannot_be_executed)
{
	char *args[] = { "x", NULL };
	struct exec_request req = { .command = "/no/such/program", .args = args,
				    .nargs = 1 };
	struct run r;
	char path[128];

	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 127);
	cr_assert_null(r.res.error);
	cr_assert_not_null(strstr(ERR(&r), "cannot execute \"/no/such/program\""),
			   "%s", ERR(&r));
	run_free(&r);

	snprintf(path, sizeof(path), "%s/not-executable", agent.dir);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs("#!/bin/sh\necho hi\n", f);
	fclose(f);
	req.command = path;
	run_req(FRAME_EXEC, &req, &r);
	cr_assert_eq(r.res.exit_code, 126);
	cr_assert_not_null(strstr(ERR(&r), "Permission denied"), "%s", ERR(&r));
	run_free(&r);

	/* ExecPipe clients read output and Exit: the reason, then Exit 127. */
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };
	char error[256];

	req.command = "/no/such/program";
	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_PIPE, &req, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, error, sizeof(error)), 127);
	cr_assert_not_null(strstr(error, "/no/such/program"));
	exec_stream_close(&s);
	bytebuf_free(&out);
	assert_agent_alive(&agent);
}

/*
 * A process that cannot start at all: ExecPipe and ExecTTY say why where
 * their clients look (Stderr, the terminal), then Exit 1.
 */
Test(exec, start_failure_in_pipe_and_tty_sessions)
{
	struct exec_request req = { .command = "true",
				    .working_dir = "/no/such/dir" };
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };
	char error[256];

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_PIPE, &req, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, error, sizeof(error)), 1);
	cr_assert_str_eq(error, "failed to start command: working directory "
			 "\"/no/such/dir\": No such file or directory\n");
	exec_stream_close(&s);
	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_TTY, &req, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, error, sizeof(error)), 1);
	cr_assert_not_null(memmem(bytebuf_head(&out), bytebuf_len(&out),
				  "failed to start command: ", 25));
	exec_stream_close(&s);
	bytebuf_free(&out);
}

Test(exec, bad_signal_payload_cancels_the_session)
{
	struct exec_request req = { .command = "echo started; exec sleep 30" };
	struct exec_stream s;
	struct bytebuf out = { 0 };
	struct err e = { "" };
	char error[256];
	uint8_t bad[2] = { 1, 2 };

	exec_stream_init(&s, agent_connect(&agent));
	cr_assert_eq(exec_stream_send_request(&s, FRAME_EXEC_PIPE, &req, &e), 0);
	cr_assert_eq(exec_stream_send(&s, FRAME_SIGNAL, bad, 2, &e), 0);
	cr_assert_eq(read_until_exit(&s, &out, error, sizeof(error)),
		     128 + SIGTERM);
	cr_assert_not_null(strstr(error, "Signal"), "%s", error);
	exec_stream_close(&s);
	bytebuf_free(&out);
}

Test(exec, file_write_read_list)
{
	char path[192], dir[128];
	struct file_request wr = { .path = path, .content = (uint8_t *)"data\0x",
				   .content_len = 6, .mode = 0600 };
	struct exec_stream s;
	struct frame_event ev;
	struct file_result res;
	struct err e = { "" };
	size_t len;
	char *json;
	bool found = false;

	snprintf(dir, sizeof(dir), "%s/files", agent.dir);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/a.bin", dir);
	exec_stream_init(&s, agent_connect(&agent));

	json = file_request_encode(&wr, FRAME_WRITE_FILE, &len);
	cr_assert_eq(exec_stream_send(&s, FRAME_WRITE_FILE, json, (uint32_t)len, &e), 0);
	free(json);
	cr_assert_eq(exec_stream_next(&s, &ev, 10000, &e), 1);
	cr_assert_eq(ev.type, FRAME_FILE_RESULT);
	cr_assert_eq(file_result_decode((const char *)ev.data, ev.len, &res, &e), 0);
	cr_assert_null(res.error, "%s", res.error);
	file_result_free(&res);

	json = file_request_encode(&wr, FRAME_READ_FILE, &len);
	cr_assert_eq(exec_stream_send(&s, FRAME_READ_FILE, json, (uint32_t)len, &e), 0);
	free(json);
	cr_assert_eq(exec_stream_next(&s, &ev, 10000, &e), 1);
	cr_assert_eq(file_result_decode((const char *)ev.data, ev.len, &res, &e), 0);
	cr_assert_eq(res.content_len, 6);
	cr_assert_eq(memcmp(res.content, "data\0x", 6), 0);
	file_result_free(&res);

	wr.path = dir;
	json = file_request_encode(&wr, FRAME_LIST_FILES, &len);
	cr_assert_eq(exec_stream_send(&s, FRAME_LIST_FILES, json, (uint32_t)len, &e), 0);
	free(json);
	cr_assert_eq(exec_stream_next(&s, &ev, 10000, &e), 1);
	cr_assert_eq(file_result_decode((const char *)ev.data, ev.len, &res, &e), 0);
	for (size_t i = 0; i < res.nfiles; i++) {
		if (!strcmp(res.files[i].name, "a.bin")) {
			found = true;
			cr_assert_eq(res.files[i].size, 6);
			cr_assert_eq(res.files[i].mode & 0777, 0600);
			cr_assert(!res.files[i].is_dir);
		}
	}
	cr_assert(found);
	file_result_free(&res);

	wr.path = "/no/such/file";
	json = file_request_encode(&wr, FRAME_READ_FILE, &len);
	cr_assert_eq(exec_stream_send(&s, FRAME_READ_FILE, json, (uint32_t)len, &e), 0);
	free(json);
	cr_assert_eq(exec_stream_next(&s, &ev, 10000, &e), 1);
	cr_assert_eq(file_result_decode((const char *)ev.data, ev.len, &res, &e), 0);
	cr_assert_not_null(res.error);
	cr_assert_not_null(strstr(res.error, "No such file"), "%s", res.error);
	file_result_free(&res);
	exec_stream_close(&s);
}
