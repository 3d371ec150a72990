// SPDX-License-Identifier: MIT
#include "latency.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct client_run {
	const char *sock;
	int requests;
	double *ms; /* one per request */
	int failed;
};

double bench_percentile(double *v, size_t n, double p)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

ssize_t bench_round_trip(int fd, const char *req, char *buf, size_t len)
{
	size_t n = 0, want = strlen(req);

	if (write(fd, req, want) != (ssize_t)want)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r <= 0)
			return -1;
		n += (size_t)r;
		if (buf[n - 1] == '\n')
			break;
		if (n == len - 1)
			return -1;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static void *client_thread(void *opaque)
{
	struct client_run *r = opaque;
	char buf[65536];
	int fd = dial(r->sock);

	if (fd < 0) {
		r->failed = r->requests;
		return NULL;
	}
	for (int i = 0; i < r->requests; i++) {
		double t = now_ms();

		if (bench_round_trip(fd, BENCH_INSPECT, buf, sizeof(buf)) < 0 ||
		    !strstr(buf, "\"result\"")) {
			r->failed++;
			break;
		}
		r->ms[i] = now_ms() - t;
	}
	close(fd);
	return NULL;
}

int bench_inspect(const char *sock, int clients, int per,
		  struct bench_latency *out)
{
	struct client_run *runs = calloc((size_t)clients, sizeof(*runs));
	pthread_t *threads = calloc((size_t)clients, sizeof(*threads));
	size_t n = (size_t)clients * (size_t)per;
	double *all = calloc(n, sizeof(double));
	double start = now_ms();
	int ret = 0;

	if (!runs || !threads || !all)
		abort();
	for (int i = 0; i < clients; i++) {
		runs[i] = (struct client_run){ .sock = sock, .requests = per,
					       .ms = all + (size_t)i * (size_t)per };
		if (pthread_create(&threads[i], NULL, client_thread, &runs[i]))
			abort();
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(threads[i], NULL);
		if (runs[i].failed) {
			fprintf(stderr, "bench: InspectVM client %d failed\n", i);
			ret = -1;
		}
	}
	if (ret == 0) {
		out->requests = n;
		out->per_s = (double)n / (now_ms() - start) * 1e3;
		out->p50 = bench_percentile(all, n, 50);
		out->p99 = bench_percentile(all, n, 99);
		out->max = all[n - 1];
	}
	free(all);
	free(runs);
	free(threads);
	return ret;
}
