// SPDX-License-Identifier: MIT
/*
 * agent-bench: measures the guest agent on the host over a Unix socket.
 *   start-up:  fork+exec of the agent until its exec socket accepts
 *   round trip: connect, Exec "true", ExecResult received
 *
 *   agent-bench PATH-TO-AGENT [ITERATIONS]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/exec_client.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-34s median %8.1f us  min %8.1f us  p90 %8.1f us  (n=%d)\n",
	       what, v[n / 2], v[0], v[n * 9 / 10], n);
}

static pid_t start_agent(const char *agent, const char *sock)
{
	char arg[160];
	pid_t pid;

	snprintf(arg, sizeof(arg), "unix:%s", sock);
	pid = fork();
	if (pid == 0) {
		execl(agent, agent, "--listen", arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_agent(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int wait_listening(const char *sock)
{
	struct err e;

	for (int i = 0; i < 200000; i++) {
		int fd = exec_dial_unix(sock, &e);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(20);
	}
	return -1;
}

static int exec_once(const char *sock, uint8_t type, char *command,
		     char **args, size_t nargs)
{
	struct exec_request req = { .command = command, .args = args,
				    .nargs = nargs };
	struct exec_result res;
	struct bytebuf out = { 0 }, err = { 0 };
	struct exec_stream s;
	struct err e = { "" };
	int fd = exec_dial_unix(sock, &e), ret;

	if (fd < 0)
		return -1;
	exec_stream_init(&s, fd);
	ret = exec_run(&s, type, &req, &res, &out, &err, 10000, &e);
	if (ret == 0 && res.exit_code != 0)
		ret = -1;
	if (ret < 0)
		fprintf(stderr, "agent-bench: %s\n", e.msg);
	exec_result_free(&res);
	bytebuf_free(&out);
	bytebuf_free(&err);
	exec_stream_close(&s);
	return ret;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/agent-bench-XXXXXX", sock[128];
	int n = argc > 2 ? atoi(argv[2]) : 200;
	int starts = n < 50 ? n : 50;
	double *t = calloc((size_t)n, sizeof(*t));
	char *args[] = { "--", NULL };
	pid_t pid;

	if (argc < 2 || !t || !mkdtemp(dir)) {
		fprintf(stderr, "usage: agent-bench AGENT [ITERATIONS]\n");
		return 2;
	}
	snprintf(sock, sizeof(sock), "%s/exec", dir);

	for (int i = 0; i < starts; i++) {
		double t0 = now_us();

		pid = start_agent(argv[1], sock);
		if (wait_listening(sock) < 0) {
			fprintf(stderr, "agent-bench: the agent did not start\n");
			return 1;
		}
		t[i] = now_us() - t0;
		stop_agent(pid);
		unlink(sock);
	}
	report("start-up (exec to listening)", t, starts);

	pid = start_agent(argv[1], sock);
	if (wait_listening(sock) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		double t0 = now_us();

		if (exec_once(sock, FRAME_EXEC, "true", NULL, 0) < 0)
			return 1;
		t[i] = now_us() - t0;
	}
	report("Exec \"true\" via sh -c", t, n);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();

		if (exec_once(sock, FRAME_EXEC, "true", args, 1) < 0)
			return 1;
		t[i] = now_us() - t0;
	}
	report("Exec true (argv, no shell)", t, n);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();

		if (exec_once(sock, FRAME_EXEC_STREAM, "true", args, 1) < 0)
			return 1;
		t[i] = now_us() - t0;
	}
	report("ExecStream true (argv, no shell)", t, n);
	printf("peak RSS of the agent: %s", "");
	{
		char path[64], line[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmHWM:", 6))
				printf("%s", line + 6);
		if (f)
			fclose(f);
	}
	stop_agent(pid);
	unlink(sock);
	rmdir(dir);
	free(t);
	return 0;
}
