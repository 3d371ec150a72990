/* SPDX-License-Identifier: MIT */
#ifndef VMM_METRICS_H
#define VMM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Counters the VM's parts keep about themselves (docs/metrics.md).
 *
 * A part (a device, a vCPU, the control API) keeps its counters in a
 * block of its own and describes the block once, in a table of struct
 * metric_desc; a struct metrics_group points at both. The part never
 * formats anything and knows nothing of who reads: the core registers the
 * group (a device hands it over in struct device), and GetMetrics and the
 * --metrics file read every registered group.
 *
 * Counters are uint64_t. The hot paths update them without a lock: with
 * metric_add() (a relaxed atomic add) where several threads may count,
 * with metric_add_own() where one thread only ever writes (a vCPU's own
 * exits). Readers load them relaxed; a reader may see one counter of a
 * block ahead of another, never a torn value.
 */

enum metric_kind {
	METRIC_COUNTER,   /* only ever grows */
	METRIC_GAUGE,     /* a current value */
	METRIC_HISTOGRAM, /* struct metric_histogram */
};

/* Upper bounds of a latency histogram's buckets, in microseconds. */
#define METRIC_HIST_BUCKETS 14
extern const uint32_t metric_hist_bounds_us[METRIC_HIST_BUCKETS];

struct metric_histogram {
	uint64_t buckets[METRIC_HIST_BUCKETS + 1]; /* the last one: +Inf */
	uint64_t count;
	uint64_t sum_ns;
};

/*
 * One value of a block. Consecutive entries with the same @name form one
 * family, told apart by @variant (the exits of a vCPU by reason, the API's
 * requests by method): the group's @variant_label names that label.
 */
struct metric_desc {
	const char *name;    /* snake_case: a JSON key, a Prometheus name */
	const char *variant; /* NULL, or this entry's value of variant_label */
	enum metric_kind kind;
	size_t offset;       /* of the value in the block */
	const char *help;
};

#define METRIC_ID_MAX 24

struct metrics_group {
	const char *subsystem; /* "blk": vmm_blk_..., JSON section "blk" */
	/*
	 * Which one of the subsystem: the value of label @id_label ("disk0"
	 * for device="disk0"); "" for a subsystem that exists once.
	 */
	char id[METRIC_ID_MAX];
	const char *id_label;
	const char *variant_label;
	const struct metric_desc *descs;
	unsigned int nr_descs;
	const void *block;
	struct metrics_group *next;
};

/* Every group the process reads. Loop thread only. */
struct metrics {
	struct metrics_group *groups;
};

void metrics_init(struct metrics *m);
/* Adds @g after the groups already there; @m may be NULL (no registry). */
void metrics_add(struct metrics *m, struct metrics_group *g);
void metrics_remove(struct metrics *m, struct metrics_group *g);

/* The value named @name (and @variant) in @g, 0 when there is none. */
uint64_t metrics_group_value(const struct metrics_group *g, const char *name,
			     const char *variant);
/* The group of @subsystem with @id in @m, or NULL. */
const struct metrics_group *metrics_find(const struct metrics *m,
					 const char *subsystem,
					 const char *id);

static inline void metric_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void metric_add_own(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static inline void metric_set(uint64_t *gauge, uint64_t v)
{
	__atomic_store_n(gauge, v, __ATOMIC_RELAXED);
}

static inline uint64_t metric_read(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* Counts one observation of @ns nanoseconds. */
void metric_observe_ns(struct metric_histogram *h, uint64_t ns);

#endif
