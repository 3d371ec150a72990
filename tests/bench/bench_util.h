/* SPDX-License-Identifier: MIT */
#ifndef TESTS_BENCH_BENCH_UTIL_H
#define TESTS_BENCH_BENCH_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* What the benchmark programs share: clocks, statistics, processes. */

/* CLOCK_MONOTONIC in ms. */
double now_ms(void);

/* qsort() order of doubles. */
int cmp_double(const void *a, const void *b);

/* The median of @v (sorted here). */
double median(double *v, size_t n);

/* A connected stream socket to the Unix socket @path, or -1. */
int dial(const char *path);

/*
 * CPU time every thread of process @pid has run so far, in ms, from the
 * scheduler's accounting (/proc/PID/task/TID/schedstat, in ns); -1 when
 * the process is gone.
 */
double proc_cpu_ms(pid_t pid);

/* One command of a side-by-side benchmark, as "NAME -- CMD ARGS..." names it. */
struct bench_argv {
	const char *name;
	char **argv;
};

/*
 * Splits @argv[@first..@argc) into commands "NAME -- CMD ARGS...",
 * separated by "---", into @cmds (at most @max); each command's argv is
 * ended in place. Returns how many, or -1 when one is malformed.
 */
int bench_parse_cmds(int argc, char **argv, int first, struct bench_argv *cmds,
		     int max);

#endif
