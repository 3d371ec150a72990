/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_RATE_LIMITER_H
#define DEVICES_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/event.h"
#include "lib/token_bucket.h"
#include "vmm/config.h"
#include "vmm/device.h"

/*
 * The I/O limits of one device queue (docs/rate-limits.md): a bucket of
 * operations and one of bytes. A device asks before each request; when a
 * bucket is short it leaves the request in the guest's ring, stops
 * processing, and a timer calls @resume on the event loop once the
 * tokens are there. Nothing is dropped and the loop never waits.
 *
 * Loop thread, under the device's lock, except @resume, which runs on
 * the loop without it (it takes the lock itself).
 */
struct rate_limiter {
	struct device_host *host;
	struct token_bucket ops;
	struct token_bucket bytes;
	struct event_timer timer;
	bool waiting; /* the timer is armed for @resume */
	void (*resume)(void *opaque);
	void *opaque;
	uint64_t *throttled; /* a device counter: requests that had to wait */
};

int rate_limiter_init(struct rate_limiter *rl, struct device_host *host,
		      const struct rate_limit_config *cfg,
		      void (*resume)(void *opaque), void *opaque,
		      uint64_t *throttled, struct err *e);
void rate_limiter_destroy(struct rate_limiter *rl);

/*
 * Takes one operation and @bytes. False when the request must wait:
 * nothing is taken and @resume is scheduled for when it can go.
 */
bool rate_limiter_admit(struct rate_limiter *rl, uint64_t bytes);

/* True while the device waits for tokens (it should not pop requests). */
static inline bool rate_limiter_waiting(const struct rate_limiter *rl)
{
	return rl->waiting;
}

/* New limits, starting with full buckets; a waiting device resumes now. */
void rate_limiter_set(struct rate_limiter *rl,
		      const struct rate_limit_config *cfg);

#endif
