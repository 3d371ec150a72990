// SPDX-License-Identifier: MIT
#include "rate_limiter.h"

#include <errno.h>
#include <string.h>

static void rate_limiter_expired(void *opaque)
{
	struct rate_limiter *rl = opaque;

	rl->waiting = false;
	rl->resume(rl->opaque);
}

static void rate_limiter_fill(struct rate_limiter *rl,
			      const struct rate_limit_config *cfg)
{
	uint64_t now = rl->host->now_ns(rl->host);

	token_bucket_init(&rl->ops, cfg->ops, cfg->ops_burst, now);
	token_bucket_init(&rl->bytes, cfg->bytes, cfg->bytes_burst, now);
}

int rate_limiter_init(struct rate_limiter *rl, struct device_host *host,
		      const struct rate_limit_config *cfg,
		      void (*resume)(void *opaque), void *opaque,
		      uint64_t *throttled, struct err *e)
{
	memset(rl, 0, sizeof(*rl));
	rl->host = host;
	rl->resume = resume;
	rl->opaque = opaque;
	rl->throttled = throttled;
	rate_limiter_fill(rl, cfg);
	return event_timer_init(&rl->timer, host->loop, rate_limiter_expired,
				rl, e);
}

void rate_limiter_destroy(struct rate_limiter *rl)
{
	event_timer_destroy(&rl->timer);
	rl->waiting = false;
}

bool rate_limiter_admit(struct rate_limiter *rl, uint64_t bytes)
{
	uint64_t now, wait;

	if (!rl->ops.rate && !rl->bytes.rate)
		return true;
	if (rl->waiting)
		return false;
	now = rl->host->now_ns(rl->host);
	wait = MAX(token_bucket_wait_ns(&rl->ops, 1, now),
		   token_bucket_wait_ns(&rl->bytes, bytes, now));
	if (!wait) {
		token_bucket_take(&rl->ops, 1, now);
		token_bucket_take(&rl->bytes, bytes, now);
		return true;
	}
	metric_add(rl->throttled, 1);
	if (event_timer_arm(&rl->timer, wait, 0) < 0) {
		/* Without a timer the device would stall for good: let it go. */
		log_error("rate limiter: arming its timer: %s; the request goes unlimited",
			  strerror(errno));
		return true;
	}
	rl->waiting = true;
	return false;
}

void rate_limiter_set(struct rate_limiter *rl,
		      const struct rate_limit_config *cfg)
{
	rate_limiter_fill(rl, cfg);
	/*
	 * A waiting device tries again at once, under the new limits. Should
	 * re-arming fail, the timer keeps its old expiry and it resumes then.
	 */
	if (rl->waiting && event_timer_arm(&rl->timer, 0, 0) < 0)
		log_warn("rate limiter: re-arming its timer: %s",
			 strerror(errno));
}
