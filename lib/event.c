// SPDX-License-Identifier: MIT
#include "event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct event_call {
	void (*fn)(void *);
	void *opaque;
	struct event_call *next;
};

static void event_wake_drain(void *opaque, uint32_t events)
{
	struct event_loop *loop = opaque;
	uint64_t v;

	(void)events;
	if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("event loop: wake-up read: %s", strerror(errno));
}

int event_loop_init(struct event_loop *loop, struct err *e)
{
	memset(loop, 0, sizeof(*loop));
	loop->wake_fd = -1;
	loop->calls_tail = &loop->calls;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return err_errno(e, "epoll_create1");
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0) {
		err_errno(e, "eventfd");
		goto fail;
	}
	loop->wake_src = (struct event_source){
		.fd = loop->wake_fd, .events = EPOLLIN,
		.fn = event_wake_drain, .opaque = loop,
	};
	if (event_loop_add(loop, &loop->wake_src) < 0) {
		err_errno(e, "epoll_ctl");
		goto fail;
	}
	return 0;
fail:
	event_loop_destroy(loop);
	return -1;
}

void event_loop_destroy(struct event_loop *loop)
{
	struct event_call *c = loop->calls;

	if (!loop->calls_tail)
		return; /* never initialised */
	while (c) {
		struct event_call *next = c->next;

		free(c);
		c = next;
	}
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
	loop->epfd = loop->wake_fd = -1;
}

int event_loop_add(struct event_loop *loop, struct event_source *src)
{
	struct epoll_event ev = { .events = src->events, .data.ptr = src };

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, src->fd, &ev);
}

int event_loop_modify(struct event_loop *loop, struct event_source *src,
		      uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (src->events == events)
		return 0;
	src->events = events;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, src->fd, &ev);
}

void event_loop_remove(struct event_loop *loop, struct event_source *src)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	/* Forget events of this source still waiting in the current batch. */
	for (int i = 0; i < loop->batch_len; i++)
		if (loop->batch[i].data.ptr == src)
			loop->batch[i].data.ptr = NULL;
}

int event_loop_call(struct event_loop *loop, void (*fn)(void *), void *opaque)
{
	struct event_call *c = malloc(sizeof(*c));
	uint64_t one = 1;

	if (!c)
		return -1;
	c->fn = fn;
	c->opaque = opaque;
	c->next = NULL;
	pthread_mutex_lock(&loop->lock);
	*loop->calls_tail = c;
	loop->calls_tail = &c->next;
	pthread_mutex_unlock(&loop->lock);
	if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

static void event_loop_run_calls(struct event_loop *loop)
{
	struct event_call *c;

	pthread_mutex_lock(&loop->lock);
	c = loop->calls;
	loop->calls = NULL;
	loop->calls_tail = &loop->calls;
	pthread_mutex_unlock(&loop->lock);
	while (c) {
		struct event_call *next = c->next;

		c->fn(c->opaque);
		free(c);
		c = next;
	}
}

int event_loop_poll(struct event_loop *loop, int timeout_ms)
{
	int n = epoll_wait(loop->epfd, loop->batch, EVENT_BATCH, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_error("event loop: epoll_wait: %s", strerror(errno));
		return -1;
	}
	loop->batch_len = n;
	for (int i = 0; i < n; i++) {
		struct event_source *src = loop->batch[i].data.ptr;

		if (src)
			src->fn(src->opaque, loop->batch[i].events);
	}
	loop->batch_len = 0;
	event_loop_run_calls(loop);
	return n;
}

int event_loop_run(struct event_loop *loop)
{
	loop->thread = pthread_self();
	loop->running = true;
	while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE))
		if (event_loop_poll(loop, -1) < 0)
			return -1;
	event_loop_run_calls(loop);
	/* The stop ended this run; the loop may be run again. */
	__atomic_store_n(&loop->stopping, false, __ATOMIC_RELEASE);
	return 0;
}

static void event_loop_stop_fn(void *opaque)
{
	struct event_loop *loop = opaque;

	__atomic_store_n(&loop->stopping, true, __ATOMIC_RELEASE);
}

void event_loop_stop(struct event_loop *loop)
{
	if (event_loop_call(loop, event_loop_stop_fn, loop) < 0)
		event_loop_stop_fn(loop);
}

bool event_loop_on_thread(const struct event_loop *loop)
{
	return loop->running && pthread_equal(loop->thread, pthread_self());
}

static void *event_loop_thread(void *opaque)
{
	event_loop_run(opaque);
	return NULL;
}

int event_loop_start_thread(struct event_loop *loop, struct err *e)
{
	pthread_t t;
	int ret = pthread_create(&t, NULL, event_loop_thread, loop);

	if (ret) {
		errno = ret;
		return err_errno(e, "starting the event loop thread");
	}
	loop->thread = t;
	loop->running = true;
	return 0;
}

void event_loop_join(struct event_loop *loop)
{
	if (loop->running && !pthread_equal(loop->thread, pthread_self()))
		pthread_join(loop->thread, NULL);
	loop->running = false;
}

static void event_timer_expired(void *opaque, uint32_t events)
{
	struct event_timer *t = opaque;
	uint64_t expirations;

	(void)events;
	/* A timer re-armed meanwhile reads EAGAIN: it has not expired. */
	if (read(t->src.fd, &expirations, sizeof(expirations)) < 0)
		return;
	t->fn(t->opaque);
}

int event_timer_init(struct event_timer *t, struct event_loop *loop,
		     void (*fn)(void *opaque), void *opaque, struct err *e)
{
	*t = (struct event_timer){ .loop = loop, .fn = fn, .opaque = opaque };
	t->src = (struct event_source){
		.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
		.events = EPOLLIN, .fn = event_timer_expired, .opaque = t,
	};
	if (t->src.fd < 0) {
		t->loop = NULL;
		return err_errno(e, "timerfd_create");
	}
	if (event_loop_add(loop, &t->src) < 0) {
		err_errno(e, "watching a timer");
		close(t->src.fd);
		t->src.fd = -1;
		t->loop = NULL;
		return -1;
	}
	t->watched = true;
	return 0;
}

static struct timespec ns_to_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
				  .tv_nsec = (long)(ns % 1000000000ULL) };
}

int event_timer_arm(struct event_timer *t, uint64_t delay_ns,
		    uint64_t interval_ns)
{
	/* A zero it_value disarms: the shortest real delay is 1 ns. */
	struct itimerspec its = {
		.it_value = ns_to_timespec(delay_ns ? delay_ns : 1),
		.it_interval = ns_to_timespec(interval_ns),
	};

	return timerfd_settime(t->src.fd, 0, &its, NULL);
}

void event_timer_disarm(struct event_timer *t)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };

	if (t->loop && t->src.fd >= 0)
		timerfd_settime(t->src.fd, 0, &off, NULL);
}

void event_timer_destroy(struct event_timer *t)
{
	if (!t->loop)
		return; /* never initialised (all zero) */
	if (t->watched)
		event_loop_remove(t->loop, &t->src);
	t->watched = false;
	if (t->src.fd >= 0)
		close(t->src.fd);
	t->src.fd = -1;
}
