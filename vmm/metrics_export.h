/* SPDX-License-Identifier: MIT */
#ifndef VMM_METRICS_EXPORT_H
#define VMM_METRICS_EXPORT_H

#include <json-c/json.h>

#include "lib/event.h"
#include "vmm/metrics.h"

/*
 * The registered counters as their readers want them (docs/metrics.md):
 * JSON for GetMetrics, the Prometheus text format for --metrics FILE and
 * GetMetrics {"format": "PROMETHEUS"}. Loop thread.
 */

/*
 * {SUBSYSTEM: {ID: {NAME: VALUE}}}, or {SUBSYSTEM: {NAME: VALUE}} for a
 * subsystem without ids. A family with variants is {VARIANT: VALUE}; a
 * histogram {count, sum_us, buckets_us: {BOUND: cumulative count}}.
 * Values are decimal strings, as protobuf's JSON mapping writes uint64.
 * NULL when memory runs out.
 */
struct json_object *metrics_to_json(const struct metrics *m);

/* The Prometheus text exposition format 0.0.4, malloc()ed; NULL: no memory. */
char *metrics_to_prometheus(const struct metrics *m, size_t *len);

/*
 * Writes @path in the Prometheus format every @interval_s seconds, each
 * time whole: a temporary file next to it is renamed over it, so a reader
 * never sees half a snapshot.
 */
struct metrics_file {
	const struct metrics *metrics;
	char *path;
	struct event_timer timer;
	bool timer_ready;
	bool failing; /* the last write failed (said once until one works) */
};

int metrics_file_start(struct metrics_file *f, struct event_loop *loop,
		       const struct metrics *m, const char *path,
		       unsigned int interval_s, struct err *e);
/* Writes the file now; -1 with @e set when it could not be written. */
int metrics_file_write(struct metrics_file *f, struct err *e);
/* Writes a last snapshot and stops. */
void metrics_file_stop(struct metrics_file *f);

#endif
