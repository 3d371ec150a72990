// SPDX-License-Identifier: MIT
#include "token_bucket.h"

#define NSEC_PER_SEC 1000000000

void token_bucket_init(struct token_bucket *tb, uint64_t rate, uint64_t burst,
		       uint64_t now_ns)
{
	tb->rate = rate;
	tb->burst = burst ? burst : rate;
	tb->credit = (__int128)tb->burst * NSEC_PER_SEC;
	tb->last_ns = now_ns;
}

/* Adds what flowed in since the last call, up to a full bucket. */
static void refill(struct token_bucket *tb, uint64_t now_ns)
{
	__int128 full = (__int128)tb->burst * NSEC_PER_SEC;
	uint64_t elapsed;

	if (now_ns <= tb->last_ns)
		return;
	elapsed = now_ns - tb->last_ns;
	tb->last_ns = now_ns;
	/* Past the time that fills the bucket, it is full (no overflow). */
	if (tb->credit >= full ||
	    (__int128)elapsed >= (full - tb->credit) / tb->rate + 1)
		tb->credit = full;
	else
		tb->credit += (__int128)tb->rate * elapsed;
}

/* What the bucket must hold before @n tokens may be taken. */
static __int128 needed(const struct token_bucket *tb, uint64_t n)
{
	return (__int128)(n < tb->burst ? n : tb->burst) * NSEC_PER_SEC;
}

bool token_bucket_take(struct token_bucket *tb, uint64_t n, uint64_t now_ns)
{
	if (!tb->rate)
		return true;
	refill(tb, now_ns);
	if (tb->credit < needed(tb, n))
		return false;
	tb->credit -= (__int128)n * NSEC_PER_SEC;
	return true;
}

uint64_t token_bucket_wait_ns(struct token_bucket *tb, uint64_t n,
			      uint64_t now_ns)
{
	__int128 missing, wait;

	if (!tb->rate)
		return 0;
	refill(tb, now_ns);
	missing = needed(tb, n) - tb->credit;
	if (missing <= 0)
		return 0;
	/* Rounded up: after this long the tokens are surely there. */
	wait = (missing + tb->rate - 1) / tb->rate;
	return wait > INT64_MAX ? INT64_MAX : (uint64_t)wait;
}
