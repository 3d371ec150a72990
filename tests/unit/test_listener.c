// SPDX-License-Identifier: MIT
/*
 * Listening sockets on the event loop: a process out of descriptors stops
 * polling its listening socket instead of spinning on it, and takes the
 * waiting client once a descriptor is free again, with nobody's help.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/listener.h"
#include "fd_hog.h"

#define WAIT_MS 5000

struct accepted {
	int n;
	int fd;
};

static void on_client(void *opaque, int fd)
{
	struct accepted *a = opaque;

	a->fd = fd;
	__atomic_add_fetch(&a->n, 1, __ATOMIC_SEQ_CST);
}

/* Polls @cond every 10 ms for up to WAIT_MS. */
#define WAIT_FOR(cond)                                                         \
	do {                                                                   \
		for (int i_ = 0; i_ < WAIT_MS / 10 && !(cond); i_++)           \
			usleep(10000);                                         \
		cr_assert(cond, "waited %d ms for %s", WAIT_MS, #cond);        \
	} while (0)

Test(listener, pauses_without_descriptors_and_resumes_by_itself)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct accepted acc = { 0, -1 };
	struct event_loop loop;
	struct listener l;
	struct fd_hog hog;
	struct err e;
	int lfd, info, client;

	snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/vmm-listener-%d",
		 getpid());
	unlink(a.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	cr_assert_eq(event_loop_init(&loop, &e), 0, "%s", e.msg);
	cr_assert_eq(listener_start(&l, &loop, lfd, "test socket", 4,
				    on_client, &acc, &e), 0, "%s", e.msg);
	cr_assert_eq(event_loop_start_thread(&loop, &e), 0, "%s", e.msg);
	info = epoll_info_open(loop.epfd);
	client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(info >= 0 && client >= 0);
	cr_assert(epoll_info_watches(info, lfd));

	cr_assert_eq(fd_hog_fill(&hog), 0, "cannot run out of descriptors");
	cr_assert_eq(connect(client, (struct sockaddr *)&a, sizeof(a)), 0);
	/* The client waits in the backlog; the socket leaves the epoll set. */
	WAIT_FOR(!epoll_info_watches(info, lfd));
	cr_assert_eq(__atomic_load_n(&acc.n, __ATOMIC_SEQ_CST), 0);
	fd_hog_release(&hog);
	WAIT_FOR(__atomic_load_n(&acc.n, __ATOMIC_SEQ_CST) == 1);
	WAIT_FOR(epoll_info_watches(info, lfd));

	event_loop_stop(&loop);
	event_loop_join(&loop);
	cr_assert_eq(l.pauses, 1);
	listener_stop(&l);
	event_loop_destroy(&loop);
	close(acc.fd);
	close(client);
	close(info);
	close(lfd);
	unlink(a.sun_path);
}
