// SPDX-License-Identifier: MIT
#include "client/bridge_host.h"
#include "client/exec_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int unix_listen(const char *path, struct err *e)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(un.sun_path))
		return err_set(e, "%s: socket path too long", path);
	strcpy(un.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, "socket");
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    listen(fd, 16) < 0) {
		err_errno(e, "listening on %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int unix_accept_timeout(int lfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int bridge_host_relay_listen(const char *base, uint32_t port, struct err *e)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if ((size_t)snprintf(path, sizeof(path), "%s_%u", base, port) >=
	    sizeof(path))
		return err_set(e, "%s_%u: socket path too long", base, port);
	return unix_listen(path, e);
}

int bridge_host_listen(struct bridge_host *h, const char *path, struct err *e)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->next_id = 1;
	bridge_reader_init(&h->rd, BRIDGE_MAX_MESSAGE);
	h->lfd = unix_listen(path, e);
	return h->lfd < 0 ? -1 : 0;
}

int bridge_host_accept(struct bridge_host *h, int timeout_ms, struct err *e)
{
	int fd = unix_accept_timeout(h->lfd, timeout_ms);

	if (fd < 0)
		return err_set(e, "the agent did not connect within %d ms",
			       timeout_ms);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = fd;
	h->off = h->len = 0;
	bridge_reader_free(&h->rd);
	bridge_reader_init(&h->rd, BRIDGE_MAX_MESSAGE);
	return 0;
}

void bridge_msg_free(struct bridge_msg *m)
{
	if (!m)
		return;
	free(m->body);
	free(m);
}

void bridge_host_close(struct bridge_host *h)
{
	while (h->queue) {
		struct bridge_msg *m = h->queue;

		h->queue = m->next;
		bridge_msg_free(m);
	}
	if (h->fd >= 0)
		close(h->fd);
	if (h->lfd >= 0)
		close(h->lfd);
	h->fd = h->lfd = -1;
	bridge_reader_free(&h->rd);
}

int bridge_host_send_raw(struct bridge_host *h, const void *p, size_t n,
			 struct err *e)
{
	if (exec_write_all(h->fd, p, n) < 0)
		return err_errno(e, "sending to the agent");
	return 0;
}

int bridge_host_send(struct bridge_host *h, uint32_t type, const char *json,
		     uint64_t *id, struct err *e)
{
	size_t len = strlen(json);
	struct bridge_hdr hdr = { .type = type, .id = h->next_id++ };
	uint8_t raw[BRIDGE_HDR_SIZE];

	if (len > BRIDGE_MAX_MESSAGE - BRIDGE_HDR_SIZE)
		return err_set(e, "message too large");
	hdr.size = (uint32_t)(BRIDGE_HDR_SIZE + len);
	bridge_hdr_encode(raw, &hdr);
	if (bridge_host_send_raw(h, raw, sizeof(raw), e) < 0 ||
	    bridge_host_send_raw(h, json, len, e) < 0)
		return -1;
	if (id)
		*id = hdr.id;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads the next message from the connection into a new bridge_msg. */
static int bridge_host_recv(struct bridge_host *h, long long deadline,
			    struct bridge_msg **out, struct err *e)
{
	for (;;) {
		while (h->off < h->len) {
			bool done;
			long n = bridge_reader_feed(&h->rd, h->buf + h->off,
						    h->len - h->off, &done, e);
			struct bridge_msg *m;

			if (n < 0)
				return -1;
			h->off += (size_t)n;
			if (!done)
				continue;
			m = calloc(1, sizeof(*m));
			if (!m || !(m->body = strdup(h->rd.body))) {
				free(m);
				return err_set(e, "out of memory");
			}
			m->type = h->rd.h.type;
			m->id = h->rd.h.id;
			m->len = h->rd.body_len;
			*out = m;
			return 0;
		}
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return err_set(e, "timed out waiting for the agent");
		n = read(h->fd, h->buf, sizeof(h->buf));
		if (n <= 0)
			return err_set(e, "the agent closed the bridge");
		h->off = 0;
		h->len = (size_t)n;
	}
}

static int bridge_host_wait(struct bridge_host *h, bool notification,
			    uint64_t id, int timeout_ms,
			    struct bridge_msg **out, struct err *e)
{
	long long deadline = now_ms() + timeout_ms;
	struct bridge_msg **tail;

	for (struct bridge_msg **pp = &h->queue; *pp; pp = &(*pp)->next) {
		struct bridge_msg *m = *pp;
		bool is_note = m->type == BRIDGE_NOTIFICATION;

		if (notification ? is_note : (!is_note && m->id == id)) {
			*pp = m->next;
			m->next = NULL;
			*out = m;
			return 0;
		}
	}
	for (;;) {
		struct bridge_msg *m = NULL;
		bool is_note;

		if (bridge_host_recv(h, deadline, &m, e) < 0)
			return -1;
		is_note = m->type == BRIDGE_NOTIFICATION;
		if (notification ? is_note : (!is_note && m->id == id)) {
			*out = m;
			return 0;
		}
		for (tail = &h->queue; *tail; tail = &(*tail)->next)
			;
		*tail = m;
	}
}

int bridge_host_wait_response(struct bridge_host *h, uint64_t id,
			      int timeout_ms, struct bridge_msg **out,
			      struct err *e)
{
	return bridge_host_wait(h, false, id, timeout_ms, out, e);
}

int bridge_host_wait_notification(struct bridge_host *h, int timeout_ms,
				  struct bridge_msg **out, struct err *e)
{
	return bridge_host_wait(h, true, 0, timeout_ms, out, e);
}

int bridge_host_request(struct bridge_host *h, uint32_t type, const char *json,
			int timeout_ms, struct bridge_msg **out, struct err *e)
{
	uint64_t id;

	if (bridge_host_send(h, type, json, &id, e) < 0)
		return -1;
	return bridge_host_wait_response(h, id, timeout_ms, out, e);
}

int bridge_host_wait_closed(struct bridge_host *h, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return 0;
		n = read(h->fd, h->buf, sizeof(h->buf));
		if (n <= 0)
			return 1;
	}
}
