// SPDX-License-Identifier: MIT
#include "lib/proto/bytebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

uint8_t *bytebuf_reserve(struct bytebuf *b, size_t n)
{
	size_t len = bytebuf_len(b);
	size_t cap;
	uint8_t *p;

	if (b->cap - b->tail >= n)
		return b->data + b->tail;
	if (b->head && b->cap - len >= n) {
		memmove(b->data, b->data + b->head, len);
		b->head = 0;
		b->tail = len;
		return b->data + b->tail;
	}
	if (n > SIZE_MAX / 2 - len)
		return NULL;
	cap = b->cap ? b->cap : 4096;
	while (cap - len < n)
		cap *= 2;
	p = malloc(cap);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, b->data + b->head, len);
	free(b->data);
	b->data = p;
	b->cap = cap;
	b->head = 0;
	b->tail = len;
	return b->data + b->tail;
}

void bytebuf_commit(struct bytebuf *b, size_t n)
{
	b->tail += n;
}

int bytebuf_append(struct bytebuf *b, const void *p, size_t n)
{
	uint8_t *dst = bytebuf_reserve(b, n);

	if (!dst)
		return -1;
	if (n)
		memcpy(dst, p, n);
	b->tail += n;
	return 0;
}

void bytebuf_consume(struct bytebuf *b, size_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

void bytebuf_reset(struct bytebuf *b)
{
	b->head = b->tail = 0;
}

void bytebuf_free(struct bytebuf *b)
{
	free(b->data);
	b->data = NULL;
	b->head = b->tail = b->cap = 0;
}

ssize_t bytebuf_flush(struct bytebuf *b, int fd)
{
	ssize_t total = 0;

	while (bytebuf_len(b)) {
		ssize_t n = send(fd, bytebuf_head(b), bytebuf_len(b),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, bytebuf_head(b), bytebuf_len(b));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		bytebuf_consume(b, (size_t)n);
		total += n;
	}
	return total;
}
