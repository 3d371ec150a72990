// SPDX-License-Identifier: MIT
/* Listening sockets that pause on descriptor exhaustion: see listener.h. */
#include "listener.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

static bool exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	       err == ENOMEM;
}

static void listener_pause(struct listener *l, int err)
{
	struct itimerspec its = {
		.it_interval = { 0, LISTENER_RETRY_MS * 1000000L },
		.it_value = { 0, LISTENER_RETRY_MS * 1000000L },
	};

	if (l->watched)
		event_loop_remove(l->loop, &l->src);
	l->watched = false;
	if (l->paused)
		return;
	l->paused = true;
	l->pauses++;
	log_warn("%s: accepting a client: %s; retrying every %d ms",
		 l->name, strerror(err), LISTENER_RETRY_MS);
	if (timerfd_settime(l->timer_fd, 0, &its, NULL) < 0)
		log_error("%s: timerfd: %s", l->name, strerror(errno));
}

static void listener_resume(struct listener *l)
{
	struct itimerspec off = { 0 };

	if (!l->paused)
		return;
	l->paused = false;
	timerfd_settime(l->timer_fd, 0, &off, NULL);
	log_info("%s: accepting clients again", l->name);
	if (event_loop_add(l->loop, &l->src) == 0)
		l->watched = true;
	else
		log_error("%s: epoll: %s", l->name, strerror(errno));
}

/* Takes up to a batch of clients; false when accepting had to pause. */
static bool listener_take(struct listener *l)
{
	for (unsigned int i = 0; i < l->batch; i++) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			l->accept(l->opaque, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (exhausted(errno)) {
			listener_pause(l, errno);
			return false;
		}
		if (errno != EAGAIN)
			log_warn("%s: accepting a client: %s", l->name,
				 strerror(errno));
		break;
	}
	return true;
}

static void listener_event(void *opaque, uint32_t events)
{
	(void)events;
	listener_take(opaque);
}

static void listener_retry(void *opaque, uint32_t events)
{
	struct listener *l = opaque;
	uint64_t ticks;

	(void)events;
	if (read(l->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (listener_take(l))
		listener_resume(l);
}

int listener_start(struct listener *l, struct event_loop *loop, int fd,
		   const char *name, unsigned int batch,
		   void (*accept)(void *opaque, int fd), void *opaque,
		   struct err *e)
{
	*l = (struct listener){
		.loop = loop, .name = name, .fd = fd, .batch = batch,
		.accept = accept, .opaque = opaque,
	};
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->timer_fd < 0)
		return err_errno(e, "%s: timerfd", name);
	l->src = (struct event_source){
		.fd = fd, .events = EPOLLIN, .fn = listener_event, .opaque = l,
	};
	l->timer_src = (struct event_source){
		.fd = l->timer_fd, .events = EPOLLIN, .fn = listener_retry,
		.opaque = l,
	};
	if (event_loop_add(loop, &l->timer_src) < 0 ||
	    event_loop_add(loop, &l->src) < 0) {
		err_errno(e, "%s: epoll", name);
		event_loop_remove(loop, &l->timer_src);
		close(l->timer_fd);
		l->timer_fd = -1;
		return -1;
	}
	l->watched = true;
	return 0;
}

void listener_stop(struct listener *l)
{
	if (!l->loop)
		return;
	if (l->watched)
		event_loop_remove(l->loop, &l->src);
	l->watched = false;
	if (l->timer_fd >= 0) {
		event_loop_remove(l->loop, &l->timer_src);
		close(l->timer_fd);
	}
	l->timer_fd = -1;
	l->loop = NULL;
}
