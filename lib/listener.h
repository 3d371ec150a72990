/* SPDX-License-Identifier: MIT */
#ifndef LIB_LISTENER_H
#define LIB_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

/*
 * A listening socket served by the event loop: up to a batch of clients
 * per wake-up, each handed to its owner.
 *
 * When the process has no descriptor left (EMFILE, ENFILE) or the kernel
 * no memory for one (ENOBUFS, ENOMEM), the waiting client stays in the
 * backlog and its socket stays readable: polling it would wake the loop
 * for ever. The listener leaves the loop instead and tries again every
 * LISTENER_RETRY_MS on a timer whose descriptor it made up front, so no
 * descriptor is needed to get going again. One line is logged when it
 * pauses and one when it resumes.
 */

#define LISTENER_RETRY_MS 100

struct listener {
	struct event_loop *loop;
	const char *name; /* what log lines call it, e.g. "control socket" */
	int fd;
	int timer_fd;
	struct event_source src;
	struct event_source timer_src;
	bool watched;
	bool paused;
	unsigned int batch;
	void (*accept)(void *opaque, int fd);
	void *opaque;
	uint64_t pauses; /* times accepting paused for want of descriptors */
};

/*
 * Serves the listening socket @fd (non-blocking; it stays the caller's to
 * close) on @loop: accepted clients, non-blocking and close-on-exec, go
 * to @accept, at most @batch per wake-up. @name must outlive @l.
 */
int listener_start(struct listener *l, struct event_loop *loop, int fd,
		   const char *name, unsigned int batch,
		   void (*accept)(void *opaque, int fd), void *opaque,
		   struct err *e);
/* Leaves the loop; tolerates a listener that never started. */
void listener_stop(struct listener *l);

#endif
