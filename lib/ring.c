// SPDX-License-Identifier: MIT
#include "ring.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int ring_init(struct ring *r, size_t cap)
{
	r->buf = malloc(cap);
	r->cap = r->buf ? cap : 0;
	r->head = r->len = 0;
	return r->buf ? 0 : -1;
}

void ring_free(struct ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

size_t ring_push(struct ring *r, const void *data, size_t len)
{
	const uint8_t *src = data;
	size_t n = MIN(len, ring_space(r)), done = 0;

	while (done < n) {
		size_t tail = (r->head + r->len) % r->cap;
		size_t chunk = MIN(n - done, r->cap - tail);

		memcpy(r->buf + tail, src + done, chunk);
		r->len += chunk;
		done += chunk;
	}
	return n;
}

void ring_push_overwrite(struct ring *r, const void *data, size_t len)
{
	const uint8_t *src = data;

	if (r->cap == 0)
		return;
	if (len > r->cap) {
		src += len - r->cap;
		len = r->cap;
	}
	if (len > ring_space(r))
		ring_consume(r, len - ring_space(r));
	ring_push(r, src, len);
}

const uint8_t *ring_peek(const struct ring *r, size_t *len)
{
	*len = MIN(r->len, r->cap - r->head);
	return r->buf + r->head;
}

void ring_consume(struct ring *r, size_t len)
{
	len = MIN(len, r->len);
	r->head = r->cap ? (r->head + len) % r->cap : 0;
	r->len -= len;
	if (r->len == 0)
		r->head = 0;
}

size_t ring_copy(const struct ring *r, size_t offset, void *out, size_t len)
{
	uint8_t *dst = out;
	size_t n, done = 0;

	if (offset >= r->len)
		return 0;
	n = MIN(len, r->len - offset);
	while (done < n) {
		size_t pos = (r->head + offset + done) % r->cap;
		size_t chunk = MIN(n - done, r->cap - pos);

		memcpy(dst + done, r->buf + pos, chunk);
		done += chunk;
	}
	return n;
}
