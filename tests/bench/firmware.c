// SPDX-License-Identifier: MIT
/*
 * Firmware boot against direct boot: the same Linux image, started by
 * each command given, side by side in one run on one host. Each command
 * puts the guest's serial console on its stdout; per run the benchmark
 * measures, from process start:
 *
 *   kernel  the kernel's first line, "Linux version" (the command line has
 *           earlyprintk, so it comes a few milliseconds after the kernel
 *           starts: after the firmware, when there is one);
 *   init    "Run /init as init process", the kernel's last word before
 *           user space.
 *
 * The process is killed at that point. The medians of each command follow,
 * with ratios against the first command, and how many of its runs never
 * got there (the guest died or hung on the way): those are reported, not
 * counted, so that a guest that fails now and then does not hide how fast
 * the others start.
 *
 * usage: bench-firmware RUNS NAME -- CMD... [--- NAME -- CMD...]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_CMDS 4
#define MAX_RUNS 50
#define RUN_TIMEOUT_MS 120000
#define KERNEL_MARK "Linux version"
#define INIT_MARK "Run /init as init process"
/* The output kept to find the marks in: a line or two either side. */
#define TAIL 4096

struct bench_cmd {
	double kernel_ms[MAX_RUNS], init_ms[MAX_RUNS];
	int ok, failed;
};

static pid_t spawn(char **argv, int *out)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/*
 * Reads the console until both marks have passed; false on EOF, error or
 * timeout. Keeps the last TAIL bytes, so a mark split across reads is found.
 */
static bool watch(int fd, double start, double *kernel_ms, double *init_ms)
{
	char buf[2 * TAIL + 1];
	size_t len = 0;

	*kernel_ms = *init_ms = -1;
	while (*init_ms < 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = RUN_TIMEOUT_MS - (int)(now_ms() - start);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (*kernel_ms < 0 && strstr(buf, KERNEL_MARK))
			*kernel_ms = now_ms() - start;
		if (*kernel_ms >= 0 && strstr(buf, INIT_MARK))
			*init_ms = now_ms() - start;
		if (len > TAIL) {
			memmove(buf, buf + len - TAIL, TAIL);
			len = TAIL;
		}
	}
	return true;
}

static void run_once(struct bench_cmd *c, const struct bench_argv *a, int r)
{
	double start = now_ms();
	int fd, status;
	pid_t pid = spawn(a->argv, &fd);
	bool ok;

	if (pid < 0) {
		perror("bench-firmware: fork");
		c->failed++;
		return;
	}
	ok = watch(fd, start, &c->kernel_ms[c->ok], &c->init_ms[c->ok]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fd);
	if (!ok) {
		fprintf(stderr, "bench-firmware: %s: %s, run %d: no \"%s\" on its console\n",
			a->name, a->argv[0], r + 1,
			c->kernel_ms[c->ok] < 0 ? KERNEL_MARK : INIT_MARK);
		c->failed++;
		return;
	}
	c->ok++;
}

int main(int argc, char **argv)
{
	struct bench_cmd cmds[MAX_CMDS] = { 0 };
	struct bench_argv args[MAX_CMDS];
	double k0 = 0, i0 = 0;
	int runs, n;

	if (argc < 5 || (runs = atoi(argv[1])) < 1 || runs > MAX_RUNS ||
	    (n = bench_parse_cmds(argc, argv, 2, args, MAX_CMDS)) < 1) {
		fprintf(stderr, "usage: bench-firmware RUNS NAME -- CMD... [--- NAME -- CMD...]\n");
		return 2;
	}
	/* Interleave the commands so drift on the machine hits all alike. */
	for (int r = 0; r < runs; r++)
		for (int c = 0; c < n; c++)
			run_once(&cmds[c], &args[c], r);
	for (int c = 0; c < n; c++)
		if (!cmds[c].ok) {
			fprintf(stderr, "bench-firmware: %s: no run got to /init\n",
				args[c].name);
			return 1;
		}
	printf("%-12s %12s %12s %10s %10s %8s\n", "", "kernel ms", "init ms",
	       "kernel x", "init x", "failed");
	for (int c = 0; c < n; c++) {
		double k = median(cmds[c].kernel_ms, (size_t)cmds[c].ok);
		double i = median(cmds[c].init_ms, (size_t)cmds[c].ok);

		if (c == 0) {
			k0 = k;
			i0 = i;
		}
		printf("%-12s %12.0f %12.0f %10.2f %10.2f %5d/%d\n", args[c].name,
		       k, i, k / k0, i / i0, cmds[c].failed, runs);
	}
	printf("(medians of the runs that got to /init; x: against %s)\n",
	       args[0].name);
	return 0;
}
