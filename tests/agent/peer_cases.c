// SPDX-License-Identifier: MIT
#include "tests/agent/peer_cases.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/proto/frame.h"
#include "tests/agent/gojson.h"
#include "tests/agent/peer_hcsshim.h"

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			err_set(e, __VA_ARGS__); \
			goto out; \
		} \
	} while (0)

#define TRY(call) \
	do { \
		if ((call) < 0) \
			goto out; \
	} while (0)

/* Reads @fd to its end (a stdio relay, a forwarded stream). */
static int read_to_eof(int fd, struct bytebuf *b, struct err *e)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t buf[16384];
		ssize_t n;

		if (poll(&p, 1, 60000) <= 0)
			return err_set(e, "no end of stream within 60 s");
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, "read");
		if (n == 0)
			return 0;
		bytebuf_append(b, buf, (size_t)n);
	}
}

static bool buf_is(const struct bytebuf *b, const char *s)
{
	return bytebuf_len(b) == strlen(s) &&
	       !memcmp(bytebuf_head(b), s, strlen(s));
}

static bool buf_has(const struct bytebuf *b, const char *s)
{
	return memmem(bytebuf_head(b), bytebuf_len(b), s, strlen(s)) != NULL;
}

/* process.go Process.Wait then ExitCode: @want, or why not. */
static int exits_with(struct hcs_conn *c, struct hcs_process *proc,
		      uint32_t want, struct err *e)
{
	uint32_t code;

	if (hcs_wait(c, proc, &code, e) < 0)
		return -1;
	if (code != want)
		return err_set(e, "ExitCode %u, want %u", code, want);
	return 0;
}

static int bridge(const struct peer_target *t, struct hcs_conn *c,
		  struct err *e)
{
	int fd = t->bridge_fd(t->ctx, e);

	if (fd < 0)
		return -1;
	hcs_conn_init(c, fd, t->relay_base);
	return hcs_connect(c, e);
}

/* guestconnection.go GuestConnectionConfig.Connect (connect). */
static int hcs_negotiates(const struct peer_target *t, struct err *e)
{
	struct hcs_conn c = { .fd = -1 };
	int ret = bridge(t, &c, e);

	hcs_conn_close(&c);
	return ret;
}

/*
 * process.go GuestConnection.exec with cmd.go's ProcessParameters for a
 * Linux host (CommandArgs), stdio over the relays, then Process.Wait:
 * ExitCode is the process's, and no notification comes (bridge.go
 * recvLoop would end the bridge on one for a container it never made).
 */
static int hcs_runs_a_process_in_the_uvm(const struct peer_target *t,
					 struct err *e)
{
	char *args[] = { "sh", "-c", "tr a-z A-Z; echo $GREETING from $(pwd) >&2; "
			 "exit 3", NULL };
	char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
			"/sbin:/bin", "GREETING=hello", NULL };
	struct hcs_params p = { .args = args, .env = env,
				.working_dir = t->scratch_dir,
				.stdin = true, .stdout = true, .stderr = true };
	char want[300];
	struct hcs_process proc = { .stdin_fd = -1, .stdout_fd = -1,
				    .stderr_fd = -1 };
	struct bytebuf out = { 0 }, errb = { 0 };
	struct hcs_conn c = { .fd = -1 };
	char *stacks = NULL;
	int ret = -1;

	TRY(bridge(t, &c, e));
	TRY(hcs_exec(&c, &p, &proc, e));
	CHECK(write(proc.stdin_fd, "relayed input", 13) == 13, "stdin write");
	/* ioChannel.CloseWrite. */
	shutdown(proc.stdin_fd, SHUT_WR);
	TRY(read_to_eof(proc.stdout_fd, &out, e));
	TRY(read_to_eof(proc.stderr_fd, &errb, e));
	CHECK(buf_is(&out, "RELAYED INPUT"), "stdout: %.*s",
	      (int)bytebuf_len(&out), (char *)bytebuf_head(&out));
	snprintf(want, sizeof(want), "hello from %s\n", t->scratch_dir);
	CHECK(buf_is(&errb, want), "stderr: %.*s",
	      (int)bytebuf_len(&errb), (char *)bytebuf_head(&errb));
	TRY(exits_with(&c, &proc, 3, e));
	/* The bridge is still up: one more call goes through. */
	TRY(hcs_dump_stacks(&c, &stacks, e));
	ret = 0;
out:
	free(stacks);
	bytebuf_free(&out);
	bytebuf_free(&errb);
	hcs_process_close(&proc);
	hcs_conn_close(&c);
	return ret;
}

/*
 * cmd.go Cmd.Output, in short: runs @p (stdout relayed when asked), reads
 * its stdout to the end into @out (NUL-terminated) and checks its exit
 * code is @want.
 */
static int run_output(struct hcs_conn *c, const struct hcs_params *p,
		      struct bytebuf *out, uint32_t want, struct err *e)
{
	struct hcs_process proc = { .stdin_fd = -1, .stdout_fd = -1,
				    .stderr_fd = -1 };
	int ret = -1;

	TRY(hcs_exec(c, p, &proc, e));
	if (p->stdout)
		TRY(read_to_eof(proc.stdout_fd, out, e));
	TRY(exits_with(c, &proc, want, e));
	ret = 0;
out:
	bytebuf_append(out, "", 1);
	hcs_process_close(&proc);
	return ret;
}

/* cmd.go Cmd.Start with Spec.CommandLine (ProcessParameters.CommandLine). */
static int hcs_runs_a_command_line(const struct peer_target *t, struct err *e)
{
	struct hcs_params p = { .command_line = "echo a b | wc -w",
				.stdout = true };
	struct bytebuf out = { 0 };
	struct hcs_conn c = { .fd = -1 };
	int ret = -1;

	TRY(bridge(t, &c, e));
	TRY(run_output(&c, &p, &out, 0, e));
	CHECK(atoi((char *)bytebuf_head(&out)) == 2, "stdout: %s",
	      (char *)bytebuf_head(&out));
	ret = 0;
out:
	bytebuf_free(&out);
	hcs_conn_close(&c);
	return ret;
}

/*
 * process.go Process.Signal and Kill, then ExitCode: a process a signal
 * ended reports uint32(-1), as hcsshim's guest (ProcessState.ExitCode).
 * Signalling it afterwards is hrNotFound: not delivered, and no error.
 */
static int hcs_signal_and_kill(const struct peer_target *t, struct err *e)
{
	char *args[] = { "sleep", "30", NULL };
	struct hcs_params p = { .args = args };
	struct hcs_process a = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
	struct hcs_process b = a;
	struct hcs_conn c = { .fd = -1 };
	bool delivered;
	int ret = -1;

	TRY(bridge(t, &c, e));
	TRY(hcs_exec(&c, &p, &a, e));
	TRY(hcs_exec(&c, &p, &b, e));
	TRY(hcs_signal(&c, &a, SIGTERM, &delivered, e));
	CHECK(delivered, "SIGTERM was not delivered");
	TRY(exits_with(&c, &a, UINT32_MAX, e));
	TRY(hcs_signal(&c, &b, 0, &delivered, e));
	CHECK(delivered, "Kill was not delivered");
	TRY(exits_with(&c, &b, UINT32_MAX, e));
	TRY(hcs_signal(&c, &b, 0, &delivered, e));
	CHECK(!delivered, "Kill of a reaped process was delivered");
	ret = 0;
out:
	hcs_conn_close(&c);
	return ret;
}

/* bridge.go rpcError: the guest's ErrorMessage is the error's text. */
static int hcs_errors_carry_their_message(const struct peer_target *t,
					  struct err *e)
{
	char *args[] = { "/no/such/program", NULL };
	struct hcs_params p = { .args = args };
	struct hcs_process proc;
	struct hcs_conn c = { .fd = -1 };
	struct err why = { "" };
	char *stacks = NULL;
	int ret = -1;

	TRY(bridge(t, &c, e));
	CHECK(hcs_exec(&c, &p, &proc, &why) < 0, "a missing program started");
	CHECK(!c.killed[0], "%s", why.msg);
	CHECK(strstr(why.msg, "guest RPC failure: ") &&
	      strstr(why.msg, "/no/such/program"),
	      "the error does not say what failed: %s", why.msg);
	TRY(hcs_dump_stacks(&c, &stacks, e));
	ret = 0;
out:
	free(stacks);
	hcs_conn_close(&c);
	return ret;
}

/*
 * cmd.go with Spec.Terminal and ConsoleSize, then Process.ResizeConsole:
 * the process has a terminal of that size, and of the new one.
 */
static int hcs_console_resizes(const struct peer_target *t, struct err *e)
{
	char *args[] = { "sh", "-c", "stty size; read x; stty size", NULL };
	struct hcs_params p = { .args = args, .emulate_console = true,
				.stdin = true, .stdout = true,
				.console_height = 40, .console_width = 120 };
	struct hcs_process proc = { .stdin_fd = -1, .stdout_fd = -1,
				    .stderr_fd = -1 };
	struct bytebuf out = { 0 };
	struct hcs_conn c = { .fd = -1 };
	char line[64];
	int ret = -1, n = 0;

	TRY(bridge(t, &c, e));
	TRY(hcs_exec(&c, &p, &proc, e));
	/* The first size is printed before the read: wait for it. */
	while (n < (int)sizeof(line) - 1 && !memchr(line, '\n', (size_t)n)) {
		ssize_t r = read(proc.stdout_fd, line + n, sizeof(line) - 1 - (size_t)n);

		CHECK(r > 0, "console output ended early");
		n += (int)r;
	}
	line[n] = 0;
	CHECK(strstr(line, "40 120"), "first size: %s", line);
	TRY(hcs_resize(&c, &proc, 100, 30, e));
	CHECK(write(proc.stdin_fd, "go\n", 3) == 3, "stdin write");
	TRY(read_to_eof(proc.stdout_fd, &out, e));
	CHECK(buf_has(&out, "30 100"), "after ResizeConsole: %.*s",
	      (int)bytebuf_len(&out), (char *)bytebuf_head(&out));
	TRY(exits_with(&c, &proc, 0, e));
	ret = 0;
out:
	bytebuf_free(&out);
	hcs_process_close(&proc);
	hcs_conn_close(&c);
	return ret;
}

/*
 * bridge.go readMessage takes nothing over prot.MaxMsgSize (64 KiB):
 * DumpStacks with many processes still answers within it.
 */
static int hcs_messages_fit_64k(const struct peer_target *t, struct err *e)
{
	enum { N = 250 };
	char *args[] = { "sleep", "60", NULL };
	struct hcs_params p = { .args = args };
	struct hcs_process *procs = calloc(N, sizeof(*procs));
	struct hcs_conn c = { .fd = -1 };
	struct err cleanup = { "" };
	char *stacks = NULL;
	int started = 0, ret = -1;
	uint32_t code;
	bool delivered;

	CHECK(procs, "out of memory");
	TRY(bridge(t, &c, e));
	for (; started < N; started++)
		TRY(hcs_exec(&c, &p, &procs[started], e));
	TRY(hcs_dump_stacks(&c, &stacks, e));
	CHECK(strstr(stacks, "guest-agent"), "stacks: %.200s", stacks);
	/* This many processes do not fit: the text was cut, not refused. */
	CHECK(strstr(stacks, "[cut to fit"), "%zu bytes of stacks, uncut",
	      strlen(stacks));
	ret = 0;
out:
	for (int i = 0; i < started && !c.killed[0]; i++)
		if (hcs_signal(&c, &procs[i], 0, &delivered, &cleanup) < 0 ||
		    hcs_wait(&c, &procs[i], &code, &cleanup) < 0)
			ret = err_set(e, "ending the processes: %s", cleanup.msg);
	free(stacks);
	free(procs);
	hcs_conn_close(&c);
	return ret;
}

/* guestconnection.go DeleteContainerState for the utility VM. */
static int hcs_deletes_state(const struct peer_target *t, struct err *e)
{
	char *args[] = { "true", NULL };
	struct hcs_params p = { .args = args };
	struct hcs_process proc;
	struct hcs_conn c = { .fd = -1 };
	int ret = -1;

	TRY(bridge(t, &c, e));
	TRY(hcs_exec(&c, &p, &proc, e));
	TRY(exits_with(&c, &proc, 0, e));
	TRY(hcs_delete_container_state(&c, HCS_NULL_ID, e));
	ret = 0;
out:
	hcs_conn_close(&c);
	return ret;
}

static void show(char *buf, size_t len, const struct bytebuf *b)
{
	snprintf(buf, len, "%.*s", (int)MIN(bytebuf_len(b), (size_t)200),
		 (const char *)bytebuf_head(b));
}

/* backend.go execVsock without writers: Exec, output in the result. */
static int ml_exec_buffers(const struct peer_target *t, struct err *e)
{
	char *env[] = { "WHO=matchlock", NULL };
	struct ml_exec_opts o = { .working_dir = "/", .env = env };
	struct ml_exec_result r;
	char s[256];
	int ret = -1;

	TRY(ml_exec(&t->vm, "echo $WHO in $(pwd); echo oops >&2; exit 3", &o,
		    &r, e));
	show(s, sizeof(s), &r.out);
	CHECK(r.exit_code == 3, "exit code %lld", (long long)r.exit_code);
	CHECK(buf_is(&r.out, "matchlock in /\n"), "stdout: %s", s);
	CHECK(buf_is(&r.err, "oops\n"), "stderr");
	CHECK(!r.remote_error[0], "error: %s", r.remote_error);
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/* execVsock: an 8 MiB output arrives whole (frames, then ExecResult). */
static int ml_exec_large_output(const struct peer_target *t, struct err *e)
{
	enum { SIZE = 8 << 20 };
	struct ml_exec_result r;
	const uint8_t *p;
	int ret = -1;

	TRY(ml_exec(&t->vm, "head -c 8388608 /dev/zero | tr '\\000' x; "
		    "echo done >&2", NULL, &r, e));
	CHECK(r.exit_code == 0 && !r.remote_error[0], "exit %lld: %s",
	      (long long)r.exit_code, r.remote_error);
	CHECK(bytebuf_len(&r.out) == SIZE, "stdout is %zu bytes, want %d",
	      bytebuf_len(&r.out), SIZE);
	p = bytebuf_head(&r.out);
	for (size_t i = 0; i < SIZE; i++)
		CHECK(p[i] == 'x', "stdout byte %zu is %#x", i, p[i]);
	CHECK(buf_is(&r.err, "done\n"), "stderr");
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/* execVsock with writers: ExecStream chunks, then the exit code. */
static int ml_exec_streams(const struct peer_target *t, struct err *e)
{
	struct ml_exec_opts o = { .writers = true };
	struct ml_exec_result r;
	int ret = -1;

	TRY(ml_exec(&t->vm, "echo one; echo two >&2; echo three; exit 5", &o,
		    &r, e));
	CHECK(r.exit_code == 5, "exit code %lld", (long long)r.exit_code);
	CHECK(buf_is(&r.wout, "one\nthree\n") && buf_is(&r.out, "one\nthree\n"),
	      "stdout");
	CHECK(buf_is(&r.werr, "two\n"), "stderr");
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/* vsock.ExecPipe: Stdin frames in, output out, Exit. */
static int ml_exec_pipe(const struct peer_target *t, struct err *e)
{
	struct ml_exec_opts o = { .stdin_set = true, .stdin_data = "hello pipe",
				  .stdin_len = 10 };
	struct ml_exec_result r;
	int ret = -1;

	TRY(ml_exec(&t->vm, "tr a-z A-Z; exit 4", &o, &r, e));
	CHECK(r.exit_code == 4, "exit code %lld", (long long)r.exit_code);
	CHECK(buf_is(&r.wout, "HELLO PIPE"), "stdout");
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/*
 * ExecPipe drops ExecResult frames: a command that cannot start says so
 * on Stderr ("failed to start command: ...", as matchlock's
 * handleExecPipe), and Exit 1 ends the call.
 */
static int ml_pipe_start_failure(const struct peer_target *t, struct err *e)
{
	struct ml_exec_opts o = { .working_dir = "/no/such/dir",
				  .stdin_set = true };
	struct ml_exec_result r;
	char s[256];
	int ret = -1;

	TRY(ml_exec(&t->vm, "true", &o, &r, e));
	show(s, sizeof(s), &r.werr);
	CHECK(r.exit_code == 1, "exit code %lld", (long long)r.exit_code);
	CHECK(!strncmp(s, "failed to start command: ", 25) &&
	      strstr(s, "/no/such/dir"), "stderr: %s", s);
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/*
 * An unknown user: exit 127 with the reason on stderr and no error, as
 * matchlock's sandbox launcher (runSandboxLauncher) has it, in each mode.
 */
static int ml_unknown_user(const struct peer_target *t, struct err *e)
{
	struct ml_exec_opts o = { .user = "no-such-user" };
	struct ml_exec_result r;
	char s[256];
	int ret = -1;

	TRY(ml_exec(&t->vm, "true", &o, &r, e));
	show(s, sizeof(s), &r.err);
	CHECK(r.exit_code == 127 && !r.remote_error[0], "Exec: exit %lld, %s",
	      (long long)r.exit_code, r.remote_error);
	CHECK(strstr(s, "no-such-user"), "Exec stderr: %s", s);
	ml_exec_result_free(&r);
	o.stdin_set = true;
	TRY(ml_exec(&t->vm, "true", &o, &r, e));
	show(s, sizeof(s), &r.werr);
	CHECK(r.exit_code == 127 && strstr(s, "no-such-user"),
	      "ExecPipe: exit %lld, stderr %s", (long long)r.exit_code, s);
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/*
 * A process a signal ended: ExecResult's exit_code is -1 and Exit carries
 * uint32(-1), which ExecPipe reads as int(4294967295); as matchlock's agent.
 */
static int ml_signal_exit_code(const struct peer_target *t, struct err *e)
{
	struct ml_exec_opts o = { .stdin_set = true };
	struct ml_exec_result r;
	int ret = -1;

	TRY(ml_exec(&t->vm, "kill -9 $$", NULL, &r, e));
	CHECK(r.exit_code == -1, "Exec: exit code %lld", (long long)r.exit_code);
	ml_exec_result_free(&r);
	TRY(ml_exec(&t->vm, "kill -9 $$", &o, &r, e));
	CHECK(r.exit_code == 4294967295LL, "ExecPipe: exit code %lld",
	      (long long)r.exit_code);
	ret = 0;
out:
	ml_exec_result_free(&r);
	return ret;
}

/* backend.go ExecInteractive: a terminal of rows x cols, stdin, Exit. */
static int ml_exec_interactive_tty(const struct peer_target *t, struct err *e)
{
	struct bytebuf out = { 0 };
	int64_t code = -2;
	int ret = -1;

	TRY(ml_exec_interactive(&t->vm, "read x; echo got-$x; stty size; "
				"exit 6", NULL, 30, 100, "ok\n", &out, &code, e));
	CHECK(code == 6, "exit code %lld", (long long)code);
	CHECK(buf_has(&out, "got-ok") && buf_has(&out, "30 100"), "output: %.*s",
	      (int)bytebuf_len(&out), (char *)bytebuf_head(&out));
	ret = 0;
out:
	bytebuf_free(&out);
	return ret;
}

static const struct ml_file_info *find_file(const struct ml_file_info *f,
					    size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

/*
 * vsock.WriteFileVsock into a directory that does not exist (created 0755,
 * as handleWriteFile), ReadFileVsock, and ListFilesVsock's Go FileMode
 * bits and os.ReadDir order.
 */
static int ml_files(const struct peer_target *t, struct err *e)
{
	char dir[256], path[300], cmd[700];
	struct ml_file_info *files = NULL;
	const struct ml_file_info *f;
	struct ml_exec_result r = { 0 };
	uint8_t *content = NULL;
	size_t len, n = 0;
	int ret = -1;

	snprintf(dir, sizeof(dir), "%s/ml-files-%d", t->scratch_dir, (int)getpid());
	snprintf(path, sizeof(path), "%s/new/sub/file.txt", dir);
	TRY(ml_write_file(&t->vm, path, "payload", 7, 0640, e));
	TRY(ml_read_file(&t->vm, path, &content, &len, e));
	CHECK(len == 7 && !memcmp(content, "payload", 7), "ReadFile: %zu bytes", len);
	snprintf(cmd, sizeof(cmd), "cd %s/new && ln -s sub link && mkfifo fifo && "
		 "chmod 4755 sub/file.txt", dir);
	TRY(ml_exec(&t->vm, cmd, NULL, &r, e));
	CHECK(r.exit_code == 0, "setting up: exit %lld", (long long)r.exit_code);
	snprintf(path, sizeof(path), "%s/new", dir);
	TRY(ml_list_files(&t->vm, path, &files, &n, e));
	CHECK(n == 3 && !strcmp(files[0].name, "fifo") &&
	      !strcmp(files[1].name, "link") && !strcmp(files[2].name, "sub"),
	      "ListFiles: %zu entries, not sorted as os.ReadDir sorts", n);
	f = find_file(files, n, "sub");
	CHECK(f->is_dir && f->mode == (GO_MODE_DIR | 0755),
	      "sub: mode %#x is_dir %d", f->mode, f->is_dir);
	f = find_file(files, n, "link");
	CHECK(!f->is_dir && (f->mode & GO_MODE_SYMLINK), "link: mode %#x", f->mode);
	f = find_file(files, n, "fifo");
	CHECK(f->mode & GO_MODE_NAMED_PIPE, "fifo: mode %#x", f->mode);
	free(files);
	files = NULL;
	snprintf(path, sizeof(path), "%s/new/sub", dir);
	TRY(ml_list_files(&t->vm, path, &files, &n, e));
	CHECK(n == 1 && files[0].mode == (GO_MODE_SETUID | 0755) &&
	      files[0].size == 7, "file.txt: mode %#x size %lld",
	      n ? files[0].mode : 0, n ? (long long)files[0].size : -1);
	ret = 0;
out:
	ml_exec_result_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (ml_exec(&t->vm, cmd, NULL, &r, e) == 0)
		ml_exec_result_free(&r);
	free(files);
	free(content);
	return ret;
}

/* handleReadFile's limit: 16 MiB is read, one byte more is refused. */
static int ml_read_16mib(const struct peer_target *t, struct err *e)
{
	struct ml_exec_result r = { 0 };
	uint8_t *content = NULL;
	char path[300], cmd[700];
	struct err why = { "" };
	size_t len = 0;
	int ret = -1;

	snprintf(path, sizeof(path), "%s/ml-big-%d", t->scratch_dir, (int)getpid());
	snprintf(cmd, sizeof(cmd), "head -c 16777216 /dev/zero > %s", path);
	TRY(ml_exec(&t->vm, cmd, NULL, &r, e));
	CHECK(r.exit_code == 0, "creating it: exit %lld", (long long)r.exit_code);
	TRY(ml_read_file(&t->vm, path, &content, &len, e));
	CHECK(len == 16u << 20, "ReadFile: %zu bytes", len);
	free(content);
	content = NULL;
	ml_exec_result_free(&r);
	snprintf(cmd, sizeof(cmd), "echo >> %s", path);
	TRY(ml_exec(&t->vm, cmd, NULL, &r, e));
	CHECK(ml_read_file(&t->vm, path, &content, &len, &why) < 0,
	      "ReadFile read %zu bytes, over 16 MiB", len);
	ret = 0;
out:
	ml_exec_result_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -f %s", path);
	if (ml_exec(&t->vm, cmd, NULL, &r, e) == 0)
		ml_exec_result_free(&r);
	free(content);
	return ret;
}

/* Starts an ExecStream of @cmd and leaves it running; its connection. */
static int exec_stream_start(const struct peer_target *t, const char *cmd,
			     struct err *e)
{
	uint8_t hdr[FRAME_HDR_SIZE];
	struct gojson g;
	size_t n;
	char *req;
	int fd = t->vm.dial(t->vm.ctx, ML_PORT_EXEC, e);

	if (fd < 0)
		return -1;
	gj_begin(&g, true);
	gj_str(&g, "command", cmd);
	req = gj_end(&g, &n);
	frame_put_hdr(hdr, FRAME_EXEC_STREAM, (uint32_t)n);
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    write(fd, req, n) != (ssize_t)n) {
		free(req);
		close(fd);
		return err_set(e, "starting %s", cmd);
	}
	free(req);
	return fd;
}

/*
 * vsock.OpenPortForward: a Stderr rejection while nothing listens, then
 * Ready and a byte stream to a TCP server in the guest, half-closed
 * through (handlePortForward's CloseWrite).
 */
static int ml_port_forward(const struct peer_target *t, struct err *e)
{
	char cmd[128], want[64];
	struct bytebuf got = { 0 };
	struct err why = { "" };
	int server = -1, fd = -1, ret = -1;

	fd = t->vm.dial(t->vm.ctx, ML_PORT_EXEC, e);
	TRY(fd);
	CHECK(ml_open_port_forward(fd, NULL, 0, &why) < 0 &&
	      strstr(why.msg, "port forward rejected: invalid remote port 0"),
	      "port 0: %s", why.msg);
	close(fd);
	snprintf(cmd, sizeof(cmd), "exec busybox nc -l -p %u -e tr a-z A-Z",
		 t->tcp_port);
	server = exec_stream_start(t, cmd, e);
	TRY(server);
	for (int tries = 0;; tries++) {
		fd = t->vm.dial(t->vm.ctx, ML_PORT_EXEC, e);
		TRY(fd);
		if (ml_open_port_forward(fd, "127.0.0.1", t->tcp_port, &why) == 0)
			break;
		close(fd);
		fd = -1;
		snprintf(want, sizeof(want), "connect 127.0.0.1:%u failed: ",
			 t->tcp_port);
		CHECK(strstr(why.msg, want), "rejection: %s", why.msg);
		CHECK(tries < 500, "the server never listened: %s", why.msg);
		usleep(20000);
	}
	CHECK(write(fd, "hello forward", 13) == 13, "write");
	shutdown(fd, SHUT_WR);
	TRY(read_to_eof(fd, &got, e));
	CHECK(buf_is(&got, "HELLO FORWARD"), "forwarded: %.*s",
	      (int)bytebuf_len(&got), (char *)bytebuf_head(&got));
	ret = 0;
out:
	bytebuf_free(&got);
	if (fd >= 0)
		close(fd);
	if (server >= 0)
		close(server);
	return ret;
}

/* backend.go waitForReady: the ready port accepts. */
static int ml_ready_port(const struct peer_target *t, struct err *e)
{
	return ml_ready(&t->vm, e);
}

/*
 * uvm/scsi/backend.go mountRequest and unmountRequest
 * (guestresource.LCOWMappedVirtualDisk, Controller and Lun left out when
 * 0): the disk at a SCSI address, mounted read-only with options where a
 * process in the utility VM reads it, then removed.
 */
static int hcs_mounts_a_mapped_disk(const struct peer_target *t,
				    struct err *e)
{
	char mount[160], addr[40] = "", req[512], script[400];
	char *args[] = { "sh", "-c", script, NULL };
	struct hcs_params p = { .args = args, .stdout = true };
	struct bytebuf out = { 0 };
	struct hcs_conn c = { .fd = -1 };
	unsigned ctrl, lun;
	int ret = -1;

	CHECK(t->mapped_disk && sscanf(t->mapped_disk, "%u:%u", &ctrl, &lun) == 2,
	      "no mapped disk given (CONTROLLER:LUN)");
	snprintf(mount, sizeof(mount), "%s/mapped-%u-%u", t->scratch_dir, ctrl, lun);
	if (lun)
		snprintf(addr, sizeof(addr), ",\"Lun\":%u", lun);
	if (ctrl)
		snprintf(addr + strlen(addr), sizeof(addr) - strlen(addr),
			 ",\"Controller\":%u", ctrl);
	snprintf(req, sizeof(req), "{\"ResourceType\":\"MappedVirtualDisk\","
		 "\"RequestType\":\"Add\",\"Settings\":{\"MountPath\":\"%s\"%s,"
		 "\"ReadOnly\":true,\"Options\":[\"nosuid\"]}}", mount, addr);
	TRY(bridge(t, &c, e));
	TRY(hcs_modify(&c, req, e));
	snprintf(script, sizeof(script), "cat %s/hello.txt && "
		 "grep ' %s ' /proc/self/mountinfo", mount, mount);
	TRY(run_output(&c, &p, &out, 0, e));
	CHECK(buf_has(&out, "hello from a disk\n") && buf_has(&out, " ro,") &&
	      buf_has(&out, "nosuid"), "the mount as the guest sees it: %s",
	      (char *)bytebuf_head(&out));
	snprintf(req, sizeof(req), "{\"ResourceType\":\"MappedVirtualDisk\","
		 "\"RequestType\":\"Remove\",\"Settings\":{\"MountPath\":\"%s\"%s,"
		 "\"ReadOnly\":true}}", mount, addr);
	TRY(hcs_modify(&c, req, e));
	snprintf(script, sizeof(script), "! grep -q ' %s ' /proc/self/mountinfo",
		 mount);
	p.stdout = false;
	TRY(run_output(&c, &p, &out, 0, e));
	ret = 0;
out:
	bytebuf_free(&out);
	hcs_conn_close(&c);
	return ret;
}

/* Needs a guest disk (peer_target.mapped_disk): run by agent-peer-check. */
const struct peer_case peer_mapped_disk_case = {
	"hcsshim_mounts_a_mapped_disk", hcs_mounts_a_mapped_disk
};

const struct peer_case peer_cases[] = {
	{ "hcsshim_negotiates_protocol_4", hcs_negotiates },
	{ "hcsshim_runs_a_process_in_the_uvm", hcs_runs_a_process_in_the_uvm },
	{ "hcsshim_runs_a_command_line", hcs_runs_a_command_line },
	{ "hcsshim_signal_and_kill_exit_codes", hcs_signal_and_kill },
	{ "hcsshim_errors_carry_their_message", hcs_errors_carry_their_message },
	{ "hcsshim_console_sizes_and_resizes", hcs_console_resizes },
	{ "hcsshim_messages_fit_in_64k", hcs_messages_fit_64k },
	{ "hcsshim_deletes_container_state", hcs_deletes_state },
	{ "matchlock_exec_buffers_output", ml_exec_buffers },
	{ "matchlock_exec_large_output_whole", ml_exec_large_output },
	{ "matchlock_exec_stream", ml_exec_streams },
	{ "matchlock_exec_pipe", ml_exec_pipe },
	{ "matchlock_pipe_start_failure_on_stderr", ml_pipe_start_failure },
	{ "matchlock_unknown_user_exits_127", ml_unknown_user },
	{ "matchlock_signal_exit_code", ml_signal_exit_code },
	{ "matchlock_exec_interactive", ml_exec_interactive_tty },
	{ "matchlock_files", ml_files },
	{ "matchlock_read_file_16mib", ml_read_16mib },
	{ "matchlock_port_forward", ml_port_forward },
	{ "matchlock_ready_port", ml_ready_port },
};

const unsigned peer_ncases = ARRAY_SIZE(peer_cases);
