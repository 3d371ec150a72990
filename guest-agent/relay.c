// SPDX-License-Identifier: MIT
#include "guest-agent/relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest-agent/agent.h"

static void relay_close_fds(struct relay *r)
{
	agent_watch(r->agent, &r->ssrc, &r->sreg, 0);
	agent_watch(r->agent, &r->dsrc, &r->dreg, 0);
	if (r->src >= 0)
		close(r->src);
	if (r->dst >= 0)
		close(r->dst);
	r->src = r->dst = -1;
	bytebuf_free(&r->buf);
}

static void relay_settle(struct relay *r)
{
	if (r->src_eof && (r->discard || !bytebuf_len(&r->buf))) {
		/* End of input, even when @dst is one of several fds of a socket. */
		shutdown(r->dst, SHUT_WR);
		relay_close_fds(r);
		r->done = true;
		if (r->finished)
			r->finished(r, r->opaque);
		return;
	}
	agent_watch(r->agent, &r->ssrc, &r->sreg,
		    !r->src_eof && (r->discard || bytebuf_len(&r->buf) < RELAY_BUF) ?
		    EPOLLIN : 0);
	agent_watch(r->agent, &r->dsrc, &r->dreg,
		    !r->discard && bytebuf_len(&r->buf) ? EPOLLOUT : 0);
}

static void relay_write(struct relay *r)
{
	while (bytebuf_len(&r->buf)) {
		ssize_t n = write(r->dst, bytebuf_head(&r->buf),
				  bytebuf_len(&r->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			r->discard = true;
			bytebuf_reset(&r->buf);
			return;
		}
		bytebuf_consume(&r->buf, (size_t)n);
	}
}

static void relay_read(struct relay *r)
{
	uint8_t sink[4096];

	for (int i = 0; i < 8; i++) {
		size_t room = r->discard ? sizeof(sink) :
			      RELAY_BUF - MIN(bytebuf_len(&r->buf), RELAY_BUF);
		uint8_t *p = r->discard ? sink : bytebuf_reserve(&r->buf, room);
		ssize_t n;

		if (!room || !p)
			return;
		n = read(r->src, p, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* EOF, an error, or EIO from a PTY whose slave closed. */
			r->src_eof = true;
			return;
		}
		if (!r->discard)
			bytebuf_commit(&r->buf, (size_t)n);
	}
}

static void relay_on_src(void *opaque, uint32_t events)
{
	struct relay *r = opaque;

	(void)events;
	relay_read(r);
	relay_write(r);
	relay_settle(r);
}

static void relay_on_dst(void *opaque, uint32_t events)
{
	struct relay *r = opaque;

	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT)) {
		r->discard = true;
		bytebuf_reset(&r->buf);
	}
	relay_write(r);
	relay_settle(r);
}

void relay_start(struct agent *a, struct relay *r, int src, int dst,
		 void (*finished)(struct relay *, void *), void *opaque)
{
	memset(r, 0, sizeof(*r));
	r->agent = a;
	r->src = src;
	r->dst = dst;
	r->active = true;
	r->finished = finished;
	r->opaque = opaque;
	r->ssrc = (struct event_source){ .fd = src, .fn = relay_on_src,
					 .opaque = r };
	r->dsrc = (struct event_source){ .fd = dst, .fn = relay_on_dst,
					 .opaque = r };
	relay_settle(r);
}

int relay_push(struct relay *r, const void *p, size_t n)
{
	if (n && bytebuf_append(&r->buf, p, n) < 0)
		return -1;
	relay_write(r);
	relay_settle(r);
	return 0;
}

void relay_stop(struct relay *r)
{
	if (!r->active || r->done)
		return;
	relay_close_fds(r);
	r->done = true;
}
