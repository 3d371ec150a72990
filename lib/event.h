/* SPDX-License-Identifier: MIT */
#ifndef LIB_EVENT_H
#define LIB_EVENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "util.h"

/*
 * One epoll thread serves every host-side file descriptor: device back ends,
 * sockets, timers. vCPU threads never block on host I/O; they hand work here
 * through eventfds or event_loop_call().
 */
typedef void (*event_fn)(void *opaque, uint32_t events);

/* Owned by the caller; must stay valid until event_loop_remove(). */
struct event_source {
	int fd;
	uint32_t events;
	event_fn fn;
	void *opaque;
};

struct event_call;

#define EVENT_BATCH 64

struct event_loop {
	int epfd;
	int wake_fd;
	bool stopping;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	struct event_call *calls;
	struct event_call **calls_tail;
	struct epoll_event batch[EVENT_BATCH];
	int batch_len;
	struct event_source wake_src;
};

int event_loop_init(struct event_loop *loop, struct err *e);
void event_loop_destroy(struct event_loop *loop);

/*
 * Adds, changes or removes a source. Call these on the loop thread, or
 * before the loop runs; other threads use event_loop_call(). A handler may
 * remove any source, itself included: pending events of a removed source
 * are dropped.
 */
int event_loop_add(struct event_loop *loop, struct event_source *src);
int event_loop_modify(struct event_loop *loop, struct event_source *src,
		      uint32_t events);
void event_loop_remove(struct event_loop *loop, struct event_source *src);

/* Runs @fn(@opaque) on the loop thread; safe from any thread. */
int event_loop_call(struct event_loop *loop, void (*fn)(void *), void *opaque);

/*
 * Runs until event_loop_stop(); returns 0 (it may be run again later), or
 * -1 when epoll fails.
 */
int event_loop_run(struct event_loop *loop);
/*
 * One turn on the calling thread: waits up to @timeout_ms for events,
 * runs their handlers and the posted calls. Returns the events handled,
 * or -1 when epoll fails. For loops driven by hand (the fuzzers).
 */
int event_loop_poll(struct event_loop *loop, int timeout_ms);
void event_loop_stop(struct event_loop *loop);
bool event_loop_on_thread(const struct event_loop *loop);

/*
 * A timer on the loop (a timerfd on CLOCK_MONOTONIC): @fn runs on the loop
 * thread when it expires. Arming replaces whatever was armed before. A
 * zeroed timer that was never initialised may be destroyed.
 */
struct event_timer {
	struct event_loop *loop;
	struct event_source src;
	bool watched;
	void (*fn)(void *opaque);
	void *opaque;
};

int event_timer_init(struct event_timer *t, struct event_loop *loop,
		     void (*fn)(void *opaque), void *opaque, struct err *e);
/* Expires after @delay_ns, then every @interval_ns (0: once). */
int event_timer_arm(struct event_timer *t, uint64_t delay_ns,
		    uint64_t interval_ns);
void event_timer_disarm(struct event_timer *t);
void event_timer_destroy(struct event_timer *t);

/* Starts/joins a thread running event_loop_run(). */
int event_loop_start_thread(struct event_loop *loop, struct err *e);
void event_loop_join(struct event_loop *loop);

#endif
