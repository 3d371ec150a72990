/* SPDX-License-Identifier: MIT */
#ifndef LIB_TOKEN_BUCKET_H
#define LIB_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A token bucket: @rate tokens a second flow in, up to @burst. Taking n
 * tokens succeeds once the bucket holds min(n, burst) of them and may
 * leave it in debt, so a request larger than the burst still passes when
 * the bucket is full and the long-run rate holds exactly. The caller
 * gives the time (nanoseconds of any monotonic clock), so the arithmetic
 * is exact and tests can drive it.
 */
struct token_bucket {
	uint64_t rate;  /* tokens per second; 0: unlimited */
	uint64_t burst; /* the bucket's size */
	/* Tokens held, in token-nanoseconds (tokens x 1e9); < 0: debt. */
	__int128 credit;
	uint64_t last_ns;
};

/* A full bucket; @burst 0 means one second's worth of @rate. */
void token_bucket_init(struct token_bucket *tb, uint64_t rate, uint64_t burst,
		       uint64_t now_ns);
/* Takes @n tokens when it can; false leaves the bucket as it was. */
bool token_bucket_take(struct token_bucket *tb, uint64_t n, uint64_t now_ns);
/* Nanoseconds until taking @n tokens succeeds: 0 when it would now. */
uint64_t token_bucket_wait_ns(struct token_bucket *tb, uint64_t n,
			      uint64_t now_ns);

#endif
