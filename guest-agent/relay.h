/* SPDX-License-Identifier: MIT */
#ifndef AGENT_RELAY_H
#define AGENT_RELAY_H

#include <stdbool.h>

#include "lib/proto/bytebuf.h"
#include "lib/event.h"

struct agent;

#define RELAY_BUF (64u * 1024)

/*
 * Copies bytes from one fd to another on the event loop, holding at most
 * RELAY_BUF bytes: the reader waits while the writer is behind. At end of
 * input the destination is shut down for writing and closed. A destination
 * that fails makes the relay drop what it reads, so a writer on the other
 * side never blocks forever.
 */
struct relay {
	struct agent *agent;
	int src, dst;		/* owned */
	struct event_source ssrc, dsrc;
	bool sreg, dreg;
	struct bytebuf buf;
	bool src_eof, discard, done, active;
	void (*finished)(struct relay *r, void *opaque);
	void *opaque;
};

void relay_start(struct agent *a, struct relay *r, int src, int dst,
		 void (*finished)(struct relay *, void *), void *opaque);
/* Queues @n bytes for the destination ahead of what the source brings. */
int relay_push(struct relay *r, const void *p, size_t n);
/* Closes both fds; no callback. Safe on a relay that never started. */
void relay_stop(struct relay *r);

#endif
