/* SPDX-License-Identifier: MIT */
#ifndef LIB_PROTO_BYTEBUF_H
#define LIB_PROTO_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A byte queue for outgoing data. It grows on demand; the callers decide how
 * much they let it hold (they stop producing above a high-water mark), which
 * is what keeps memory bounded when the peer reads slowly.
 */
struct bytebuf {
	uint8_t *data;
	size_t head;
	size_t tail;
	size_t cap;
};

static inline size_t bytebuf_len(const struct bytebuf *b)
{
	return b->tail - b->head;
}

static inline uint8_t *bytebuf_head(const struct bytebuf *b)
{
	return b->data + b->head;
}

/* Makes room for @n more bytes at the tail; returns a pointer to it or NULL. */
uint8_t *bytebuf_reserve(struct bytebuf *b, size_t n);
/* Marks @n bytes written at the reserved tail as queued. */
void bytebuf_commit(struct bytebuf *b, size_t n);
int bytebuf_append(struct bytebuf *b, const void *p, size_t n);
void bytebuf_consume(struct bytebuf *b, size_t n);
void bytebuf_reset(struct bytebuf *b);
void bytebuf_free(struct bytebuf *b);

/*
 * Writes queued bytes to a non-blocking @fd until it would block. Returns the
 * number of bytes written, or -1 with errno set on a write error.
 */
ssize_t bytebuf_flush(struct bytebuf *b, int fd);

#endif
