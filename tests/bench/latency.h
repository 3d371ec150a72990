/* SPDX-License-Identifier: MIT */
#ifndef TESTS_BENCH_LATENCY_H
#define TESTS_BENCH_LATENCY_H

/*
 * Control-socket clients for the benchmarks: connecting, one request and
 * its response line, and InspectVM latency from many clients at once.
 */

#include <stddef.h>
#include <sys/types.h>

#include "bench_util.h"

#define BENCH_INSPECT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"InspectVM\"}\n"

struct bench_latency {
	size_t requests;
	double p50, p99, max; /* ms */
	double per_s;         /* requests answered per second, all clients */
};

/* The @p-th percentile of @v (sorted here). */
double bench_percentile(double *v, size_t n, double p);
/* Sends @req and reads one response line; its length, or -1. */
ssize_t bench_round_trip(int fd, const char *req, char *buf, size_t len);
/*
 * @clients connections at once, each sending @per InspectVM requests one
 * after the other; every round trip's latency. -1 when one failed.
 */
int bench_inspect(const char *sock, int clients, int per,
		  struct bench_latency *out);

#endif
