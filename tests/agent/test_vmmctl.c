// SPDX-License-Identifier: MIT
/* vmmctl exec and port-forward end to end: directly on the agent's Unix
 * socket, and through a Firecracker-style vsock Unix socket played by the
 * test. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/agent/helpers.h"

static struct test_agent agent;
static pid_t forwarder;		/* a vmmctl port-forward a test started */

static void setup(void)
{
	agent_start(&agent, false, NULL);
}

static void teardown(void)
{
	if (forwarder > 0) {
		kill(forwarder, SIGTERM);
		waitpid(forwarder, NULL, 0);
	}
	agent_stop_expect_clean(&agent);
}

TestSuite(vmmctl, .init = setup, .fini = teardown, .timeout = 60);

static const char *vmmctl_path(void)
{
	const char *p = getenv("VMMCTL");

	return p && *p ? p : "build/vmmctl-asan";
}

/* Runs vmmctl with @argv (after "exec"), feeding @input; returns the exit
 * status and fills @out/@err. */
static int run_vmmctl(const char *const *args, const char *input, char *out,
		      size_t out_len, char *err, size_t err_len)
{
	int in[2], o[2], e[2], status;
	const char *argv[32] = { vmmctl_path(), "exec" };
	size_t n = 2, got_o = 0, got_e = 0;
	pid_t pid;

	while (*args)
		argv[n++] = *args++;
	argv[n] = NULL;
	cr_assert(pipe(in) == 0 && pipe(o) == 0 && pipe(e) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(in[1]);
		close(o[0]);
		close(e[0]);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	if (input && write(in[1], input, strlen(input)) < 0)
		cr_assert_fail("writing vmmctl's stdin");
	close(in[1]);
	for (;;) {
		struct pollfd p[2] = { { o[0], POLLIN, 0 }, { e[0], POLLIN, 0 } };
		ssize_t r;

		if (p[0].fd < 0 && p[1].fd < 0)
			break;
		cr_assert_gt(poll(p, 2, 20000), 0, "vmmctl hangs");
		if (p[0].revents) {
			r = read(o[0], out + got_o, out_len - 1 - got_o);
			if (r <= 0) {
				close(o[0]);
				o[0] = -1;
			} else {
				got_o += (size_t)r;
			}
		}
		if (p[1].revents) {
			r = read(e[0], err + got_e, err_len - 1 - got_e);
			if (r <= 0) {
				close(e[0]);
				e[0] = -1;
			} else {
				got_e += (size_t)r;
			}
		}
		if (o[0] < 0 && e[0] < 0)
			break;
	}
	out[got_o] = 0;
	err[got_e] = 0;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status), "vmmctl died: %#x", status);
	return WEXITSTATUS(status);
}

Test(vmmctl, pipes_stdin_stdout_stderr_and_exit_code)
{
	char out[256], err[256];
	const char *args[] = { "--unix", agent.exec_sock, "--", "sh", "-c",
			       "cat; echo to-stderr >&2; exit 3", NULL };

	cr_assert_eq(run_vmmctl(args, "from stdin\n", out, sizeof(out), err,
				sizeof(err)), 3);
	cr_assert_str_eq(out, "from stdin\n");
	cr_assert_str_eq(err, "to-stderr\n");
}

Test(vmmctl, stream_and_buffered_modes)
{
	static const char *const modes[] = { "stream", "buffered" };

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		char out[256], err[256];
		const char *args[] = { "--unix", agent.exec_sock, "-m", modes[i],
				       "echo one; echo two >&2; echo three; exit 4",
				       NULL };

		cr_assert_eq(run_vmmctl(args, NULL, out, sizeof(out), err,
					sizeof(err)), 4, "%s: %s", modes[i], err);
		cr_assert_str_eq(out, "one\nthree\n", "%s", modes[i]);
		cr_assert_str_eq(err, "two\n", "%s", modes[i]);
	}
}

Test(vmmctl, mode_is_checked)
{
	char out[64], err[512];
	const char *bad[] = { "--unix", agent.exec_sock, "-m", "batch", "true",
			      NULL };
	const char *tty[] = { "--unix", agent.exec_sock, "-t", "-m", "stream",
			      "true", NULL };

	cr_assert_eq(run_vmmctl(bad, NULL, out, sizeof(out), err, sizeof(err)), 2);
	cr_assert_not_null(strstr(err, "unknown mode \"batch\""), "%s", err);
	cr_assert_eq(run_vmmctl(tty, NULL, out, sizeof(out), err, sizeof(err)), 2);
	cr_assert_not_null(strstr(err, "-t runs an interactive session"), "%s", err);
}

Test(vmmctl, signal_becomes_128_plus_n)
{
	char out[64], err[256];
	const char *args[] = { "--unix", agent.exec_sock, "kill -KILL $$", NULL };

	cr_assert_eq(run_vmmctl(args, NULL, out, sizeof(out), err, sizeof(err)),
		     128 + SIGKILL);
}

Test(vmmctl, env_workdir_and_tty_flag)
{
	char out[256], err[256];
	const char *args[] = { "--unix", agent.exec_sock, "-e", "X=42", "-w",
			       "/tmp", "-t", "--",
			       "test -t 1 && echo tty $X $(pwd)", NULL };

	cr_assert_eq(run_vmmctl(args, NULL, out, sizeof(out), err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(out, "tty 42 /tmp\r\n");
}

Test(vmmctl, command_that_cannot_run_reports_why)
{
	char out[64], err[512];
	const char *args[] = { "--unix", agent.exec_sock, "/no/such/prog",
			       "arg", NULL };

	cr_assert_eq(run_vmmctl(args, NULL, out, sizeof(out), err, sizeof(err)), 127);
	cr_assert_not_null(strstr(err, "/no/such/prog"), "%s", err);
}

/* The host side of a VMM's vsock device: "CONNECT PORT\n" -> "OK N\n". */
struct fake_vsock {
	char path[128];
	int lfd;
	const char *agent_sock;
	pthread_t thread;
};

static void *fake_vsock_main(void *opaque)
{
	struct fake_vsock *f = opaque;
	int c = accept(f->lfd, NULL, NULL), a;
	char line[64];
	size_t n = 0;
	struct err e;

	if (c < 0)
		return NULL;
	while (n < sizeof(line) - 1 && read(c, line + n, 1) == 1 &&
	       line[n] != '\n')
		n++;
	line[n] = 0;
	if (strcmp(line, "CONNECT 5000")) {
		close(c);	/* nothing listens on that guest port */
		return NULL;
	}
	a = exec_dial_unix(f->agent_sock, &e);
	if (a < 0 || write(c, "OK 1073741824\n", 14) != 14) {
		close(c);
		return NULL;
	}
	for (;;) {
		struct pollfd p[2] = { { c, POLLIN, 0 }, { a, POLLIN, 0 } };
		char buf[4096];
		ssize_t r;

		if (poll(p, 2, 20000) <= 0)
			break;
		if (p[0].revents) {
			r = read(c, buf, sizeof(buf));
			if (r <= 0)
				shutdown(a, SHUT_WR);
			else if (write(a, buf, (size_t)r) != r)
				break;
			if (r <= 0)
				p[0].fd = -1;
		}
		if (p[1].revents) {
			r = read(a, buf, sizeof(buf));
			if (r <= 0 || write(c, buf, (size_t)r) != r)
				break;
		}
	}
	close(a);
	close(c);
	return NULL;
}

static void fake_vsock_start(struct fake_vsock *f)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	snprintf(f->path, sizeof(f->path), "%s/vsock.sock", agent.dir);
	strcpy(un.sun_path, f->path);
	f->agent_sock = agent.exec_sock;
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	cr_assert_eq(listen(f->lfd, 4), 0);
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_vsock_main, f), 0);
}

static void fake_vsock_stop(struct fake_vsock *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

Test(vmmctl, connects_through_a_vsock_unix_socket)
{
	struct fake_vsock f;
	char out[256], err[256];

	fake_vsock_start(&f);
	const char *args[] = { "--vsock-uds", f.path, "--port", "5000", "--",
			       "tr", "a-z", "A-Z", NULL };

	cr_assert_eq(run_vmmctl(args, "through vsock\n", out, sizeof(out), err,
				sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "THROUGH VSOCK\n");
	fake_vsock_stop(&f);
}

Test(vmmctl, refused_vsock_port_is_an_error)
{
	struct fake_vsock f;
	char out[64], err[512];

	fake_vsock_start(&f);
	const char *args[] = { "--vsock-uds", f.path, "--port", "5999", "true",
			       NULL };

	cr_assert_eq(run_vmmctl(args, NULL, out, sizeof(out), err, sizeof(err)), 255);
	cr_assert_not_null(strstr(err, "5999"), "%s", err);
	fake_vsock_stop(&f);
}

Test(vmmctl, tty_mode_restores_the_local_terminal)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 101 };
	struct termios before, after;
	int master, slave, status;
	char buf[4096];
	size_t got = 0;
	pid_t pid;

	cr_assert_eq(openpty(&master, &slave, NULL, NULL, &ws), 0);
	cr_assert_eq(tcgetattr(slave, &before), 0);
	pid = fork();
	if (pid == 0) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		close(master);
		execl(vmmctl_path(), vmmctl_path(), "exec", "--unix",
		      agent.exec_sock, "-t", "stty size; exit 4", (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { master, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 20000) <= 0)
			break;
		r = read(master, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = 0;
			break;
		}
	}
	buf[got] = 0;
	if (pid)
		waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 4);
	cr_assert_not_null(strstr(buf, "33 101"), "%s", buf);
	cr_assert_eq(tcgetattr(slave, &after), 0);
	cr_assert_eq(after.c_lflag, before.c_lflag, "local modes not restored");
	cr_assert_eq(after.c_iflag, before.c_iflag);
	cr_assert_eq(after.c_oflag, before.c_oflag);
	close(master);
	close(slave);
}

/* A TCP server in the "guest": each client's bytes come back upper-cased. */
struct upper_server {
	int lfd;
	uint16_t port;
	pthread_t thread;
};

static void *upper_main(void *opaque)
{
	struct upper_server *u = opaque;
	int c = accept(u->lfd, NULL, NULL);
	char buf[4096];
	ssize_t n;

	if (c < 0)
		return NULL;
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
		if (write(c, buf, (size_t)n) != n)
			break;
	}
	close(c);
	return NULL;
}

static void upper_start(struct upper_server *u)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);

	/* Not inherited: a listener left in vmmctl would take connections. */
	u->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(u->lfd, (struct sockaddr *)&in, sizeof(in)), 0);
	cr_assert_eq(listen(u->lfd, 4), 0);
	cr_assert_eq(getsockname(u->lfd, (struct sockaddr *)&in, &len), 0);
	u->port = ntohs(in.sin_port);
	cr_assert_eq(pthread_create(&u->thread, NULL, upper_main, u), 0);
}

/* vmmctl port-forward --unix EXEC 0:PORT; *@local is its listening port. */
static pid_t forward_start(uint16_t guest_port, uint16_t *local, int *err_fd)
{
	char pair[32], line[160];
	int o[2], e[2];
	size_t n = 0;
	unsigned port = 0;
	pid_t pid;

	snprintf(pair, sizeof(pair), "0:%u", guest_port);
	cr_assert(pipe2(o, O_CLOEXEC) == 0 && pipe2(e, O_CLOEXEC) == 0);
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		execl(vmmctl_path(), vmmctl_path(), "port-forward", "--unix",
		      agent.exec_sock, pair, (char *)NULL);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	while (n < sizeof(line) - 1 && read(o[0], line + n, 1) == 1 &&
	       line[n] != '\n')
		n++;
	line[n] = 0;
	close(o[0]);
	cr_assert_eq(sscanf(line, "Forwarding from 127.0.0.1:%u -> guest port",
			    &port), 1, "first line: \"%s\"", line);
	*local = (uint16_t)port;
	*err_fd = e[0];
	forwarder = pid;
	return pid;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	return fd;
}

static size_t read_until_eof(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		cr_assert_gt(poll(&p, 1, 20000), 0, "no end of stream after "
			     "\"%.*s\"", (int)got, buf);
		n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

Test(vmmctl, port_forward_relays_a_tcp_connection_both_ways)
{
	struct upper_server u;
	uint16_t local;
	char buf[256];
	int fd, err_fd, status;
	pid_t pid;

	upper_start(&u);
	pid = forward_start(u.port, &local, &err_fd);
	fd = tcp_connect(local);
	cr_assert_eq(write(fd, "hello through the agent", 23), 23);
	/* The end of our input reaches the server, whose close ends ours. */
	shutdown(fd, SHUT_WR);
	read_until_eof(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "HELLO THROUGH THE AGENT");
	close(fd);
	pthread_join(u.thread, NULL);
	close(u.lfd);

	/* Nothing listens there any more: the agent's reason, and a close. */
	fd = tcp_connect(local);
	read_until_eof(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "");
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	forwarder = 0;
	read_until_eof(err_fd, buf, sizeof(buf));
	close(err_fd);
	cr_assert_not_null(strstr(buf, "the guest refused: connect 127.0.0.1:"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "Connection refused"), "%s", buf);
}

Test(vmmctl, port_forward_usage_errors)
{
	const char *bad[] = { "80", "0:0", "x:80", "1:70000" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 2);
			execl(vmmctl_path(), vmmctl_path(), "port-forward", "--unix",
			      agent.exec_sock, bad[i], (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2,
			  "\"%s\": status %#x", bad[i], status);
	}
}
