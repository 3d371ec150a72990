// SPDX-License-Identifier: MIT
/* The event loop's promises to devices: safe removal and cross-thread calls. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/event.h"

struct probe {
	struct event_loop *loop;
	struct event_source src;
	struct probe *victim; /* removed by this probe's handler */
	int runs;
};

static void probe_fn(void *opaque, uint32_t events)
{
	struct probe *p = opaque;
	uint64_t v;

	(void)events;
	p->runs++;
	if (read(p->src.fd, &v, sizeof(v)) < 0)
		cr_log_warn("read: %m");
	if (p->victim) {
		event_loop_remove(p->loop, &p->victim->src);
		p->victim = NULL;
	}
	event_loop_stop(p->loop);
}

static void probe_init(struct probe *p, struct event_loop *loop)
{
	p->loop = loop;
	p->src = (struct event_source){
		.fd = eventfd(0, EFD_NONBLOCK), .events = EPOLLIN,
		.fn = probe_fn, .opaque = p,
	};
	cr_assert_geq(p->src.fd, 0);
	cr_assert_eq(event_loop_add(loop, &p->src), 0);
}

Test(event, a_source_removed_mid_batch_is_not_dispatched)
{
	struct event_loop loop;
	struct probe a = { 0 }, b = { 0 };
	uint64_t one = 1;
	struct err e;

	cr_assert_eq(event_loop_init(&loop, &e), 0, "%s", e.msg);
	probe_init(&a, &loop);
	probe_init(&b, &loop);
	/* Whichever runs first removes the other; both are ready at once. */
	a.victim = &b;
	b.victim = &a;
	cr_assert_eq(write(a.src.fd, &one, sizeof(one)), sizeof(one));
	cr_assert_eq(write(b.src.fd, &one, sizeof(one)), sizeof(one));
	cr_assert_eq(event_loop_run(&loop), 0);
	cr_assert_eq(a.runs + b.runs, 1, "a=%d b=%d", a.runs, b.runs);
	close(a.src.fd);
	close(b.src.fd);
	event_loop_destroy(&loop);
}

/* Calls posted from other threads; the test checks where and how often they ran. */
struct call_log {
	pthread_mutex_t lock;
	pthread_t loop_thread;
	int calls;
	int off_thread;
};

static void log_call(void *opaque)
{
	struct call_log *log = opaque;

	pthread_mutex_lock(&log->lock);
	log->calls++;
	if (!pthread_equal(pthread_self(), log->loop_thread))
		log->off_thread++;
	pthread_mutex_unlock(&log->lock);
}

struct poster {
	struct event_loop *loop;
	struct call_log *log;
	int failures;
};

static void *post_calls(void *opaque)
{
	struct poster *p = opaque;

	for (int i = 0; i < 1000; i++)
		if (event_loop_call(p->loop, log_call, p->log) < 0)
			p->failures++;
	return NULL;
}

Test(event, calls_from_other_threads_run_once_on_the_loop_thread)
{
	struct call_log log = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct poster posters[4];
	pthread_t threads[4];
	struct event_loop loop;
	struct err e;

	cr_assert_eq(event_loop_init(&loop, &e), 0, "%s", e.msg);
	cr_assert_eq(event_loop_start_thread(&loop, &e), 0, "%s", e.msg);
	log.loop_thread = loop.thread;
	for (int i = 0; i < 4; i++) {
		posters[i] = (struct poster){ .loop = &loop, .log = &log };
		pthread_create(&threads[i], NULL, post_calls, &posters[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(posters[i].failures, 0);
	}
	event_loop_stop(&loop);
	event_loop_join(&loop);
	cr_assert_eq(log.calls, 4000, "every posted call runs exactly once");
	cr_assert_eq(log.off_thread, 0, "calls ran off the loop thread");
	event_loop_destroy(&loop);
}
