// SPDX-License-Identifier: MIT
/*
 * Start-up benchmark: runs a command that boots a guest whose first action is
 * to write one byte to its serial port and whose second is to exit. Measures,
 * per run, process start to that first byte on stdout (the guest's first
 * instruction), process start to exit, CPU time and peak RSS, and prints the
 * medians for each command given, with ratios against the first.
 *
 * usage: bench-boot RUNS NAME -- CMD ARGS... [--- NAME -- CMD ARGS...]
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_CMDS 4
#define MAX_RUNS 200

struct sample {
	double first_byte_ms;
	double exit_ms;
	double cpu_ms;
	long max_rss_kib;
};

struct bench_cmd {
	struct sample s[MAX_RUNS];
	struct sample median;
};

static int run_once(char **argv, struct sample *s)
{
	int out[2], status;
	struct rusage ru;
	double start;
	pid_t pid;
	char c;

	if (pipe(out) < 0)
		return -1;
	start = now_ms();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	s->first_byte_ms = -1;
	for (;;) {
		ssize_t n = read(out[0], &c, 1);

		if (n == 1 && s->first_byte_ms < 0)
			s->first_byte_ms = now_ms() - start;
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
	}
	close(out[0]);
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	s->exit_ms = now_ms() - start;
	s->cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	s->max_rss_kib = ru.ru_maxrss;
	if (s->first_byte_ms < 0) {
		fprintf(stderr, "bench-boot: %s printed nothing (status %d)\n",
			argv[0], status);
		return -1;
	}
	return 0;
}

static double median_of(const struct sample *s, int n, size_t field)
{
	double v[MAX_RUNS];

	for (int i = 0; i < n; i++) {
		if (field == offsetof(struct sample, max_rss_kib))
			v[i] = (double)s[i].max_rss_kib;
		else
			v[i] = *(const double *)((const char *)&s[i] + field);
	}
	return median(v, (size_t)n);
}

int main(int argc, char **argv)
{
	struct bench_cmd cmds[MAX_CMDS];
	struct bench_argv args[MAX_CMDS];
	int runs, n;

	if (argc < 5 || (runs = atoi(argv[1])) < 1 || runs > MAX_RUNS ||
	    (n = bench_parse_cmds(argc, argv, 2, args, MAX_CMDS)) < 1) {
		fprintf(stderr, "usage: bench-boot RUNS NAME -- CMD... [--- NAME -- CMD...]\n");
		return 2;
	}
	/* Interleave the commands so drift on the machine hits all alike. */
	for (int r = 0; r < runs; r++)
		for (int c = 0; c < n; c++)
			if (run_once(args[c].argv, &cmds[c].s[r]) < 0)
				return 1;
	printf("%-14s %14s %14s %12s %12s\n", "", "first insn ms",
	       "start-exit ms", "CPU ms", "peak RSS KiB");
	for (int c = 0; c < n; c++) {
		struct sample *m = &cmds[c].median;

		m->first_byte_ms = median_of(cmds[c].s, runs, offsetof(struct sample, first_byte_ms));
		m->exit_ms = median_of(cmds[c].s, runs, offsetof(struct sample, exit_ms));
		m->cpu_ms = median_of(cmds[c].s, runs, offsetof(struct sample, cpu_ms));
		m->max_rss_kib = (long)median_of(cmds[c].s, runs, offsetof(struct sample, max_rss_kib));
		printf("%-14s %14.2f %14.2f %12.2f %12ld\n", args[c].name,
		       m->first_byte_ms, m->exit_ms, m->cpu_ms, m->max_rss_kib);
	}
	for (int c = 1; c < n; c++) {
		const struct sample *a = &cmds[0].median, *b = &cmds[c].median;

		printf("ratio %s/%s: first instruction %.1fx, start-to-exit %.1fx, CPU %.1fx, peak RSS %.1fx (medians of %d runs)\n",
		       args[c].name, args[0].name,
		       b->first_byte_ms / a->first_byte_ms,
		       b->exit_ms / a->exit_ms, b->cpu_ms / a->cpu_ms,
		       (double)b->max_rss_kib / (double)a->max_rss_kib, runs);
	}
	return 0;
}
