/* SPDX-License-Identifier: MIT */
#ifndef LIB_RING_H
#define LIB_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fixed-capacity byte FIFO; the capacity bounds memory use. */
struct ring {
	uint8_t *buf;
	size_t cap;
	size_t head;
	size_t len;
};

int ring_init(struct ring *r, size_t cap);
void ring_free(struct ring *r);
/* Stores as much of @data as fits; returns the bytes stored. */
size_t ring_push(struct ring *r, const void *data, size_t len);
/* Stores all of @data, dropping the oldest bytes when full. */
void ring_push_overwrite(struct ring *r, const void *data, size_t len);
/* The longest contiguous run of queued bytes starting at the oldest. */
const uint8_t *ring_peek(const struct ring *r, size_t *len);
void ring_consume(struct ring *r, size_t len);
/* Copies out up to @len bytes from @offset past the oldest, not consuming. */
size_t ring_copy(const struct ring *r, size_t offset, void *out, size_t len);

static inline size_t ring_space(const struct ring *r)
{
	return r->cap - r->len;
}

static inline bool ring_empty(const struct ring *r)
{
	return r->len == 0;
}

#endif
