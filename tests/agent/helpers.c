// SPDX-License-Identifier: MIT
#include "tests/agent/helpers.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *agent_path(void)
{
	const char *p = getenv("AGENT");

	return p && *p ? p : "build/guest-agent-asan";
}

void agent_start(struct test_agent *t, bool bridge, struct bridge_host *host)
{
	char listen[128], ready[128], bridge_arg[128], dev[96], sys[96];
	struct err e = { "" };

	memset(t, 0, sizeof(*t));
	strcpy(t->dir, "/tmp/agent-test-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir), "mkdtemp: %s", strerror(errno));
	snprintf(t->exec_sock, sizeof(t->exec_sock), "%s/exec", t->dir);
	snprintf(t->ready_sock, sizeof(t->ready_sock), "%s/ready", t->dir);
	snprintf(t->bridge_sock, sizeof(t->bridge_sock), "%s/bridge", t->dir);
	snprintf(dev, sizeof(dev), "%s/dev", t->dir);
	mkdir(dev, 0755);
	snprintf(sys, sizeof(sys), "%s/sys", t->dir);
	mkdir(sys, 0755);
	snprintf(sys, sizeof(sys), "%s/sys/block", t->dir);
	mkdir(sys, 0755);
	snprintf(sys, sizeof(sys), "%s/sys", t->dir);
	snprintf(listen, sizeof(listen), "unix:%s", t->exec_sock);
	snprintf(ready, sizeof(ready), "unix:%s", t->ready_sock);
	snprintf(bridge_arg, sizeof(bridge_arg), "unix:%s", t->bridge_sock);
	t->bridge = bridge;
	if (bridge)
		cr_assert_eq(bridge_host_listen(host, t->bridge_sock, &e), 0,
			     "%s", e.msg);
	t->pid = fork();
	cr_assert_geq(t->pid, 0);
	if (t->pid == 0) {
		/* Never --init: the agent must not mount or power off here. */
		const char *argv[16] = {
			agent_path(), "--listen", listen, "--ready", ready,
			"--dev-dir", dev, "--sys-dir", sys, "--exit-on-shutdown",
			"--shutdown-grace", "1000", NULL,
		};
		if (bridge) {
			argv[12] = "--bridge";
			argv[13] = bridge_arg;
		}
		setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0", 0);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int fd = agent_connect(t);

		if (fd >= 0) {
			close(fd);
			if (bridge)
				cr_assert_eq(bridge_host_accept(host, 5000, &e), 0,
					     "%s", e.msg);
			return;
		}
		usleep(10000);
	}
	cr_assert_fail("the agent did not start listening on %s", t->exec_sock);
}

int agent_wait_exit(struct test_agent *t, int ms)
{
	int status;

	for (int waited = 0; waited <= ms; waited += 10) {
		pid_t r = waitpid(t->pid, &status, WNOHANG);

		if (r == t->pid) {
			t->pid = 0;
			return status;
		}
		usleep(10000);
	}
	return -1;
}

int agent_stop(struct test_agent *t)
{
	int status = 0;
	char cmd[128];

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		status = agent_wait_exit(t, 10000);
		if (status < 0 && t->pid > 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (t->dir[0] && system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", t->dir);
	return status;
}

void agent_stop_expect_clean(struct test_agent *t)
{
	int status = agent_stop(t);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the agent ended with status %#x", status);
}

int agent_connect(const struct test_agent *t)
{
	struct err e;

	return exec_dial_unix(t->exec_sock, &e);
}

int agent_exec_sh(const struct test_agent *t, const char *command_line,
		  char *out, size_t out_len)
{
	struct exec_request req = { .command = (char *)command_line };
	struct exec_result res;
	struct bytebuf o = { 0 }, er = { 0 };
	struct exec_stream s;
	struct err e = { "" };
	int fd = agent_connect(t), code;

	cr_assert_geq(fd, 0, "connecting to the agent");
	exec_stream_init(&s, fd);
	cr_assert_eq(exec_run(&s, FRAME_EXEC, &req, &res, &o, &er, 20000, &e), 0,
		     "%s", e.msg);
	if (out) {
		size_t n = MIN(bytebuf_len(&o), out_len - 1);

		memcpy(out, bytebuf_head(&o), n);
		out[n] = 0;
	}
	code = res.exit_code;
	exec_result_free(&res);
	bytebuf_free(&o);
	bytebuf_free(&er);
	exec_stream_close(&s);
	return code;
}

void assert_agent_alive(const struct test_agent *t)
{
	char out[64];

	cr_assert_eq(agent_exec_sh(t, "echo alive", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "alive\n");
}

uint16_t free_tcp_port(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	close(fd);
	return ntohs(in.sin_port);
}

long proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)) &&
		    line[strlen(field)] == ':')
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

size_t raw_exchange(const struct test_agent *t, const void *data, size_t n,
		    bool shut_write, uint8_t *buf, size_t len)
{
	int fd = agent_connect(t);
	size_t got = 0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(send(fd, data, n, MSG_NOSIGNAL), (ssize_t)n);
	if (shut_write)
		shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		cr_assert_gt(poll(&pfd, 1, 10000), 0,
			     "the agent neither answered nor closed");
		r = read(fd, buf + got, len - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		cr_assert_lt(got, len);
	}
	close(fd);
	return got;
}

const uint8_t *find_frame(const uint8_t *buf, size_t len, uint8_t type,
			  uint32_t *plen)
{
	size_t off = 0;

	while (off + FRAME_HDR_SIZE <= len) {
		uint32_t n = get_be32(buf + off + 1);

		if (off + FRAME_HDR_SIZE + n > len)
			return NULL;
		if (buf[off] == type) {
			*plen = n;
			return buf + off + FRAME_HDR_SIZE;
		}
		off += FRAME_HDR_SIZE + n;
	}
	return NULL;
}
