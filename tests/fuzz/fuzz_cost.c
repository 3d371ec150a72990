// SPDX-License-Identifier: MIT
#include "fuzz_cost.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "devices/virtio/virtqueue.h"

/* One input at a time, on one thread: the budgets are plain counters. */
static uint64_t pops, allowed;
static struct timespec started;

int __real_virtq_pop(struct virtq *vq, struct virtq_chain *chain,
		     struct err *e);
int __wrap_virtq_pop(struct virtq *vq, struct virtq_chain *chain,
		     struct err *e);

int __wrap_virtq_pop(struct virtq *vq, struct virtq_chain *chain,
		     struct err *e)
{
	if (++pops > allowed) {
		fprintf(stderr, "fuzz cost: more than %llu virtqueue pops for what the guest did: the device spins\n",
			(unsigned long long)allowed);
		abort();
	}
	return __real_virtq_pop(vq, chain, e);
}

void fuzz_cost_begin(void)
{
	pops = 0;
	allowed = FUZZ_POP_BUDGET;
	clock_gettime(CLOCK_MONOTONIC, &started);
}

void fuzz_cost_check(const char *what)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - started.tv_sec) * 1000 +
	     (now.tv_nsec - started.tv_nsec) / 1000000;
	if (ms > FUZZ_TIME_BUDGET_MS) {
		fprintf(stderr, "fuzz cost: %s took %ld ms, more than %d ms for one input\n",
			what, ms, FUZZ_TIME_BUDGET_MS);
		abort();
	}
}

void fuzz_cost_action(void)
{
	allowed += FUZZ_POPS_PER_ACTION;
}
