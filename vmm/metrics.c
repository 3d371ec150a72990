// SPDX-License-Identifier: MIT
#include "metrics.h"

#include <string.h>

/* From 10 us (a request the page cache serves) to 1 s (a stalled disk). */
const uint32_t metric_hist_bounds_us[METRIC_HIST_BUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000,
	250000, 1000000,
};

void metrics_init(struct metrics *m)
{
	m->groups = NULL;
}

void metrics_add(struct metrics *m, struct metrics_group *g)
{
	struct metrics_group **p;

	if (!m)
		return;
	for (p = &m->groups; *p; p = &(*p)->next)
		;
	g->next = NULL;
	*p = g;
}

void metrics_remove(struct metrics *m, struct metrics_group *g)
{
	struct metrics_group **p;

	if (!m)
		return;
	for (p = &m->groups; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			g->next = NULL;
			return;
		}
	}
}

uint64_t metrics_group_value(const struct metrics_group *g, const char *name,
			     const char *variant)
{
	for (unsigned int i = 0; i < g->nr_descs; i++) {
		const struct metric_desc *d = &g->descs[i];
		const uint8_t *p = (const uint8_t *)g->block + d->offset;

		if (strcmp(d->name, name) ||
		    (variant && (!d->variant || strcmp(d->variant, variant))))
			continue;
		if (d->kind == METRIC_HISTOGRAM)
			return metric_read(&((const struct metric_histogram *)p)->count);
		return metric_read((const uint64_t *)p);
	}
	return 0;
}

const struct metrics_group *metrics_find(const struct metrics *m,
					 const char *subsystem, const char *id)
{
	for (const struct metrics_group *g = m->groups; g; g = g->next)
		if (!strcmp(g->subsystem, subsystem) && !strcmp(g->id, id))
			return g;
	return NULL;
}

void metric_observe_ns(struct metric_histogram *h, uint64_t ns)
{
	unsigned int i = 0;

	while (i < METRIC_HIST_BUCKETS && ns > metric_hist_bounds_us[i] * 1000ULL)
		i++;
	metric_add(&h->buckets[i], 1);
	metric_add(&h->sum_ns, ns);
	metric_add(&h->count, 1);
}
