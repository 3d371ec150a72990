// SPDX-License-Identifier: MIT
/*
 * Token buckets, on a clock the test moves: bursts, refills capped at the
 * bucket's size, requests larger than the bucket, and the long-run rate,
 * all exact.
 */
#include <criterion/criterion.h>

#include "lib/token_bucket.h"

#define MS 1000000ULL
#define S 1000000000ULL

Test(token_bucket, a_full_bucket_gives_its_burst_then_refills_at_the_rate)
{
	struct token_bucket tb;
	uint64_t t = 5 * S;

	token_bucket_init(&tb, 100, 10, t);
	for (int i = 0; i < 10; i++)
		cr_assert(token_bucket_take(&tb, 1, t), "token %d", i);
	cr_assert_not(token_bucket_take(&tb, 1, t));
	cr_assert_eq(token_bucket_wait_ns(&tb, 1, t), 10 * MS);
	cr_assert_not(token_bucket_take(&tb, 1, t + 10 * MS - 1));
	cr_assert(token_bucket_take(&tb, 1, t + 10 * MS));
	cr_assert_not(token_bucket_take(&tb, 1, t + 10 * MS));
	/* An hour idle holds no more than the burst. */
	t += 3600 * S;
	for (int i = 0; i < 10; i++)
		cr_assert(token_bucket_take(&tb, 1, t));
	cr_assert_not(token_bucket_take(&tb, 1, t));
}

Test(token_bucket, burst_zero_is_one_second_of_the_rate)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 50, 0, 0);
	cr_assert(token_bucket_take(&tb, 50, 0));
	cr_assert_not(token_bucket_take(&tb, 1, 0));
	cr_assert_eq(token_bucket_wait_ns(&tb, 1, 0), 20 * MS);
}

Test(token_bucket, a_request_over_the_burst_passes_when_full_and_is_repaid)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 4096, 4096, 0);
	cr_assert(token_bucket_take(&tb, 16384, 0), "a full bucket lets it go");
	/* 12 KiB of debt plus the next request's 4 KiB: four seconds. */
	cr_assert_eq(token_bucket_wait_ns(&tb, 16384, 0), 4 * S);
	cr_assert_not(token_bucket_take(&tb, 1, 3 * S));
	cr_assert(token_bucket_take(&tb, 16384, 4 * S));
}

Test(token_bucket, a_refused_take_changes_nothing)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 10, 3, 0);
	cr_assert(token_bucket_take(&tb, 2, 0));
	cr_assert_not(token_bucket_take(&tb, 2, 0));
	cr_assert(token_bucket_take(&tb, 1, 0));
	cr_assert_not(token_bucket_take(&tb, 1, 0));
}

Test(token_bucket, zero_rate_is_unlimited)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 0, 0, 0);
	for (int i = 0; i < 1000; i++)
		cr_assert(token_bucket_take(&tb, UINT32_MAX, 0));
	cr_assert_eq(token_bucket_wait_ns(&tb, UINT64_MAX, 0), 0);
}

/* Taking as soon as allowed, n requests take exactly (n - burst) / rate. */
Test(token_bucket, the_long_run_rate_is_exact)
{
	struct token_bucket tb;
	uint64_t t = 0;
	const unsigned int n = 10000;

	token_bucket_init(&tb, 3000, 30, 0);
	for (unsigned int i = 0; i < n; i++) {
		t += token_bucket_wait_ns(&tb, 1, t);
		cr_assert(token_bucket_take(&tb, 1, t), "request %u", i);
	}
	/* 9970 tokens at 3000/s: 3.323333 s, each wait rounded up a ns. */
	cr_assert_geq(t, (uint64_t)(n - 30) * S / 3000);
	cr_assert_leq(t, (uint64_t)(n - 30) * S / 3000 + n);
}

Test(token_bucket, huge_rates_and_waits_do_not_overflow)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 1ULL << 50, 1ULL << 50, 0);
	cr_assert(token_bucket_take(&tb, 1ULL << 50, 0));
	cr_assert_eq(token_bucket_wait_ns(&tb, 1ULL << 50, 0), S);
	cr_assert(token_bucket_take(&tb, 1ULL << 50, UINT64_MAX / 2));
	token_bucket_init(&tb, 1, 1ULL << 50, 0);
	cr_assert(token_bucket_take(&tb, 1ULL << 50, 0));
	cr_assert_gt(token_bucket_wait_ns(&tb, 1ULL << 50, 0), 0);
}
