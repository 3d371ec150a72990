// SPDX-License-Identifier: MIT
#include "chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/term.h"

#define CHARDEV_ESCAPE 0x01 /* Ctrl-A */

static void chardev_update_input(struct chardev *chr);

static void chardev_wake(struct chardev *chr)
{
	uint64_t one = 1;

	if (chr->wake_pending)
		return;
	chr->wake_pending = true;
	if (write(chr->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: waking the event loop: %s", chr->name,
			 strerror(errno));
}

size_t chardev_write(struct chardev *chr, const void *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&chr->lock);
	n = ring_push(&chr->out, buf, len);
	if (n)
		chardev_wake(chr);
	if (n < len)
		chr->out_full = true;
	pthread_mutex_unlock(&chr->lock);
	metric_add(&chr->counters.out_bytes, n);
	metric_add(&chr->counters.dropped_bytes, len - n);
	return n;
}

size_t chardev_write_space(struct chardev *chr)
{
	size_t n;

	pthread_mutex_lock(&chr->lock);
	n = ring_space(&chr->out);
	if (!n)
		chr->out_full = true;
	pthread_mutex_unlock(&chr->lock);
	return n;
}

void chardev_rx_ready(struct chardev *chr)
{
	pthread_mutex_lock(&chr->lock);
	chardev_wake(chr);
	pthread_mutex_unlock(&chr->lock);
}

static void chardev_client_drop(struct chardev *chr,
				struct chardev_client *client, const char *why)
{
	struct chardev_client **p = &chr->clients;

	while (*p && *p != client)
		p = &(*p)->next;
	if (*p)
		*p = client->next;
	if (why)
		log_info("%s: dropping a client: %s", chr->name, why);
	if (!client->parked)
		event_loop_remove(chr->loop, &client->src);
	close(client->fd);
	ring_free(&client->pending);
	free(client);
	chr->nr_clients--;
	chardev_update_input(chr);
}

/* Sends what the client has pending, as far as it reads. */
static void chardev_client_flush(struct chardev *chr,
				 struct chardev_client *client)
{
	while (!client->output_gone && !ring_empty(&client->pending)) {
		size_t len;
		const uint8_t *p = ring_peek(&client->pending, &len);
		ssize_t n = send(client->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/*
			 * The peer reads no more: it closed, or shut down its
			 * reading side. What it sent before is still input,
			 * read (or waited for) before the end of file
			 * closes it.
			 */
			client->output_gone = true;
			ring_consume(&client->pending, client->pending.len);
			break;
		}
		ring_consume(&client->pending, (size_t)n);
	}
	if (!client->parked)
		event_loop_modify(chr->loop, &client->src,
				  (chr->in_active ? EPOLLIN : 0) | EPOLLRDHUP |
				  (ring_empty(&client->pending) ? 0 : EPOLLOUT));
}

static void chardev_client_send(struct chardev *chr,
				struct chardev_client *client,
				const uint8_t *buf, size_t len)
{
	if (client->output_gone)
		return;
	if (ring_push(&client->pending, buf, len) < len) {
		chardev_client_drop(chr, client, "it does not read its output");
		return;
	}
	chardev_client_flush(chr, client);
}

/*
 * Keeps output for clients that attach later and sends it to the attached
 * ones, whatever the back end: a socket's clients, or callers attached
 * through chardev_attach().
 */
static void chardev_fan_out(struct chardev *chr, const uint8_t *buf,
			    size_t len)
{
	struct chardev_client *c, *next;

	ring_push_overwrite(&chr->history, buf, len);
	for (c = chr->clients; c; c = next) {
		next = c->next;
		chardev_client_send(chr, c, buf, len);
	}
}

/* Moves @len bytes of guest output to the host side; false: retry later. */
static bool chardev_emit(struct chardev *chr, const uint8_t *buf, size_t len,
			 size_t *done)
{
	ssize_t n;

	*done = len;
	switch (chr->kind) {
	case CHARDEV_SOCKET:
	case CHARDEV_NONE:
		chardev_fan_out(chr, buf, len);
		return true;
	case CHARDEV_STDIO:
	case CHARDEV_FILE:
		n = write(chr->out_fd, buf, len);
		if (n < 0 && errno == EINTR)
			n = 0;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*done = 0;
			return false;
		}
		if (n < 0) {
			/* The reader is gone; output has nowhere to go. */
			if (!chr->out_failed)
				log_warn("%s: writing output: %s; discarding it from now on",
					 chr->name, strerror(errno));
			chr->out_failed = true;
			n = (ssize_t)len;
		}
		*done = (size_t)n;
		chardev_fan_out(chr, buf, *done);
		return true;
	}
	return true;
}

/*
 * Moves output to the host end, at most a buffer's worth per wake-up: a
 * vCPU refilling the buffer as fast as it drains must not keep the loop
 * here. What is left waits for the next turn.
 */
static void chardev_flush_out(struct chardev *chr)
{
	size_t total = 0;

	for (;;) {
		const uint8_t *p;
		size_t len, done;
		bool more, room_again;

		pthread_mutex_lock(&chr->lock);
		p = ring_peek(&chr->out, &len);
		if (len && total >= CHARDEV_OUT_BUF) {
			chardev_wake(chr);
			len = 0;
		}
		pthread_mutex_unlock(&chr->lock);
		if (len == 0)
			break;
		total += len;
		/* Only this thread consumes, so [p, p + len) stays put unlocked. */
		more = chardev_emit(chr, p, len, &done);
		pthread_mutex_lock(&chr->lock);
		ring_consume(&chr->out, done);
		room_again = done && chr->out_full;
		if (room_again)
			chr->out_full = false;
		pthread_mutex_unlock(&chr->lock);
		if (room_again && chr->sink.tx_ready)
			chr->sink.tx_ready(chr->sink.opaque);
		if (!more) {
			if (chr->out_pollable && !chr->out_waiting) {
				chr->out_waiting = true;
				event_loop_add(chr->loop, &chr->out_src);
			}
			return;
		}
	}
	if (chr->out_waiting) {
		chr->out_waiting = false;
		event_loop_remove(chr->loop, &chr->out_src);
	}
}

static void chardev_on_wake(void *opaque, uint32_t events)
{
	struct chardev *chr = opaque;
	uint64_t v;

	(void)events;
	pthread_mutex_lock(&chr->lock);
	if (read(chr->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd: %s", chr->name, strerror(errno));
	chr->wake_pending = false;
	pthread_mutex_unlock(&chr->lock);
	chardev_flush_out(chr);
	chardev_update_input(chr);
}

static void chardev_on_out(void *opaque, uint32_t events)
{
	(void)events;
	chardev_flush_out(opaque);
}

/*
 * Hands host input to the device; handles the escape sequence typed on the
 * terminal (@from_tty), never in what attached clients send.
 */
static void chardev_deliver(struct chardev *chr, const uint8_t *buf,
			    size_t len, bool from_tty)
{
	size_t start = 0;

	if (!from_tty) {
		chr->sink.rx(chr->sink.opaque, buf, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (!chr->escape && buf[i] != CHARDEV_ESCAPE)
			continue;
		if (i > start)
			chr->sink.rx(chr->sink.opaque, buf + start, i - start);
		start = i + 1;
		if (!chr->escape) {
			chr->escape = true;
			continue;
		}
		chr->escape = false;
		if ((buf[i] == 'x' || buf[i] == 'X') && chr->sink.quit.fn)
			chr->sink.quit.fn(chr->sink.quit.opaque);
		else if (buf[i] == CHARDEV_ESCAPE)
			chr->sink.rx(chr->sink.opaque, buf + i, 1);
	}
	if (len > start)
		chr->sink.rx(chr->sink.opaque, buf + start, len - start);
}

/*
 * Reads at most what the device can take: the bytes read, 0 when nothing
 * was read (no room, or nothing waiting), -1 at EOF or error.
 */
static ssize_t chardev_read_into_device(struct chardev *chr, int fd)
{
	uint8_t buf[4096];
	size_t room = chr->sink.rx_space(chr->sink.opaque);
	ssize_t n;

	if (room == 0)
		return 0;
	n = read(fd, buf, MIN(room, sizeof(buf)));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	chardev_deliver(chr, buf, (size_t)n, chr->tty && fd == chr->in_fd);
	return n;
}

/*
 * Serves input events of @src. A hangup while the device has no room may
 * leave input the peer sent unread (a client that writes a line and
 * closes; one that did not read what it was sent even resets the
 * connection, which still leaves its data readable). Hangups and errors
 * are reported whatever events were asked for, so the source leaves the
 * loop ("parked") until the device takes input again; reading then finds
 * the rest, and the end.
 *
 * @events come from the batch epoll_wait returned: an earlier source of
 * that batch (the wake-up of a device that made room) may have turned
 * input back on since. So while input is on, what a read finds decides,
 * never a hangup in @events. False: the source is at its end and goes.
 */
static bool chardev_serve_input(struct chardev *chr, struct event_source *src,
				uint32_t events, bool *parked)
{
	bool hangup = events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP);
	ssize_t n;

	if (!chr->in_active) {
		if (hangup) {
			event_loop_remove(chr->loop, src);
			*parked = true;
		}
		return true;
	}
	n = chardev_read_into_device(chr, src->fd);
	if (n < 0)
		return false;
	/* Hung up, room to spare and nothing came: nothing ever will. */
	return !(n == 0 && hangup && chr->sink.rx_space(chr->sink.opaque) > 0);
}

static void chardev_on_stdin(void *opaque, uint32_t events)
{
	struct chardev *chr = opaque;

	if (!chardev_serve_input(chr, &chr->in_src, events, &chr->in_parked)) {
		event_loop_remove(chr->loop, &chr->in_src);
		chr->in_fd = -1;
		chr->in_active = false;
		return;
	}
	chardev_update_input(chr);
}

static void chardev_on_client(void *opaque, uint32_t events)
{
	struct chardev_client *client = opaque;
	struct chardev *chr = client->chr;

	if (events & EPOLLOUT)
		chardev_client_flush(chr, client);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
	    !chardev_serve_input(chr, &client->src, events, &client->parked)) {
		chardev_client_drop(chr, client, NULL);
		return;
	}
	chardev_update_input(chr);
}

int chardev_attach(struct chardev *chr, int fd, struct err *e)
{
	struct chardev_client *client;
	uint8_t buf[4096];
	size_t off = 0, n;
	int flags = fcntl(fd, F_GETFL);

	if (chr->nr_clients >= CHARDEV_MAX_CLIENTS)
		return err_set(e, "%s: %d clients are already attached",
			       chr->name, CHARDEV_MAX_CLIENTS);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return err_errno(e, "%s: attaching a client", chr->name);
	client = calloc(1, sizeof(*client));
	if (!client || ring_init(&client->pending, CHARDEV_HISTORY + CHARDEV_OUT_BUF) < 0) {
		free(client);
		return err_set(e, "%s: out of memory for a client", chr->name);
	}
	client->chr = chr;
	client->fd = fd;
	client->src = (struct event_source){
		.fd = fd, .events = EPOLLRDHUP | (chr->in_active ? EPOLLIN : 0),
		.fn = chardev_on_client, .opaque = client,
	};
	if (event_loop_add(chr->loop, &client->src) < 0) {
		err_errno(e, "%s: epoll", chr->name);
		ring_free(&client->pending);
		free(client);
		return -1;
	}
	client->next = chr->clients;
	chr->clients = client;
	chr->nr_clients++;
	/* A late client first sees the recent past, e.g. the boot log. */
	while ((n = ring_copy(&chr->history, off, buf, sizeof(buf))) > 0) {
		ring_push(&client->pending, buf, n);
		off += n;
	}
	chardev_client_flush(chr, client);
	return 0;
}

static void chardev_on_accept(void *opaque, int fd)
{
	struct chardev *chr = opaque;
	struct err e;

	if (chardev_attach(chr, fd, &e) < 0) {
		log_info("refusing a client of %s: %s", chr->path, e.msg);
		close(fd);
	}
}

/* A parked source returns to the loop once the device takes input. */
static void chardev_poll_input(struct chardev *chr, struct event_source *src,
			       uint32_t events, bool *parked)
{
	if (!*parked) {
		event_loop_modify(chr->loop, src, events);
		return;
	}
	if (!(events & EPOLLIN))
		return;
	src->events = events;
	if (event_loop_add(chr->loop, src) == 0)
		*parked = false;
}

/* Polls the input side only while the device can take bytes. */
static void chardev_update_input(struct chardev *chr)
{
	bool want = chr->sink.rx_space &&
		    chr->sink.rx_space(chr->sink.opaque) > 0;
	struct chardev_client *c;

	if (want == chr->in_active)
		return;
	chr->in_active = want;
	if (chr->in_fd >= 0)
		chardev_poll_input(chr, &chr->in_src, want ? EPOLLIN : 0,
				   &chr->in_parked);
	for (c = chr->clients; c; c = c->next)
		chardev_poll_input(chr, &c->src,
				   (want ? EPOLLIN : 0) | EPOLLRDHUP |
				   (ring_empty(&c->pending) ? 0 : EPOLLOUT),
				   &c->parked);
}

static int chardev_listen(struct chardev *chr, struct err *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(chr->path) >= sizeof(addr.sun_path))
		return err_set(e, "%s: socket path %s is longer than %zu bytes",
			       chr->name, chr->path, sizeof(addr.sun_path) - 1);
	strcpy(addr.sun_path, chr->path);
	/* Replace a stale socket, never another kind of file. */
	if (lstat(chr->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, "%s: %s exists and is not a socket",
				       chr->name, chr->path);
		unlink(chr->path);
	}
	chr->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (chr->listen_fd < 0)
		return err_errno(e, "%s: socket", chr->name);
	if (bind(chr->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return err_errno(e, "%s: binding %s", chr->name, chr->path);
	chmod(chr->path, 0600);
	if (listen(chr->listen_fd, 8) < 0)
		return err_errno(e, "%s: listening on %s", chr->name, chr->path);
	return listener_start(&chr->listener, chr->loop, chr->listen_fd,
			      chr->name, 1, chardev_on_accept, chr, e);
}

/*
 * A private, non-blocking open of our stdout, so a stalled terminal or pipe
 * never blocks the event loop and the shell's own file stays blocking.
 */
static void chardev_open_stdout(struct chardev *chr)
{
	struct stat st;
	int fd;

	chr->out_fd = STDOUT_FILENO;
	if (fstat(STDOUT_FILENO, &st) < 0 || S_ISREG(st.st_mode))
		return;
	fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
	if (fd < 0)
		return;
	chr->out_fd = fd;
	chr->out_pollable = true;
}

static int chardev_open_stdio(struct chardev *chr, struct err *e)
{
	(void)e;
	chardev_open_stdout(chr);
	chr->in_fd = -1;
	if (!chr->sink.rx || fcntl(STDIN_FILENO, F_GETFL) < 0)
		return 0;
	chr->in_fd = STDIN_FILENO;
	chr->in_src = (struct event_source){
		.fd = chr->in_fd, .events = 0,
		.fn = chardev_on_stdin, .opaque = chr,
	};
	/* Regular files and /dev/null cannot be polled: no input from them. */
	if (event_loop_add(chr->loop, &chr->in_src) < 0) {
		chr->in_fd = -1;
		return 0;
	}
	chr->tty = term_raw_enter(STDIN_FILENO) == 0;
	return 0;
}

static int chardev_open_backend(struct chardev *chr,
				const struct chardev_config *cfg,
				struct err *e)
{
	switch (cfg->kind) {
	case CHARDEV_STDIO:
		return chardev_open_stdio(chr, e);
	case CHARDEV_FILE:
		chr->out_fd = open(cfg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (chr->out_fd < 0)
			return err_errno(e, "%s: opening output file %s",
					 chr->name, cfg->path);
		return 0;
	case CHARDEV_SOCKET:
		return chardev_listen(chr, e);
	case CHARDEV_NONE:
		return 0;
	}
	return err_set(e, "%s: unknown back end", chr->name);
}

#define CHARDEV_METRIC(field, help)                                            \
	{ #field, NULL, METRIC_COUNTER,                                        \
	  offsetof(struct chardev_counters, field), help }

static const struct metric_desc chardev_metric_descs[] = {
	CHARDEV_METRIC(out_bytes, "Bytes of guest output taken"),
	CHARDEV_METRIC(dropped_bytes,
		       "Bytes of guest output lost because the host end was not reading"),
};

static void chardev_init_metrics(struct chardev *chr)
{
	size_t i;

	chr->metrics = (struct metrics_group){
		.subsystem = "serial", .id_label = "port",
		.descs = chardev_metric_descs,
		.nr_descs = ARRAY_SIZE(chardev_metric_descs),
		.block = &chr->counters,
	};
	for (i = 0; chr->name[i] && i + 1 < sizeof(chr->metrics.id); i++)
		chr->metrics.id[i] = (char)(chr->name[i] | 0x20);
}

int chardev_open(struct chardev *chr, const char *name,
		 const struct chardev_config *cfg, struct event_loop *loop,
		 const struct chardev_sink *sink, struct err *e)
{
	memset(chr, 0, sizeof(*chr));
	chr->name = name;
	chr->loop = loop;
	chr->kind = cfg->kind;
	chr->out_fd = chr->in_fd = chr->listen_fd = -1;
	chr->sink = *sink;
	chardev_init_metrics(chr);
	pthread_mutex_init(&chr->lock, NULL);
	if (cfg->path && !(chr->path = strdup(cfg->path)))
		return err_set(e, "%s: out of memory", name);
	if (ring_init(&chr->out, CHARDEV_OUT_BUF) < 0 ||
	    ring_init(&chr->history, CHARDEV_HISTORY) < 0)
		return err_set(e, "%s: out of memory", name);
	chr->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (chr->wake_fd < 0)
		return err_errno(e, "%s: eventfd", name);
	chr->wake_src = (struct event_source){
		.fd = chr->wake_fd, .events = EPOLLIN,
		.fn = chardev_on_wake, .opaque = chr,
	};
	if (event_loop_add(loop, &chr->wake_src) < 0)
		return err_errno(e, "%s: epoll", name);
	if (chardev_open_backend(chr, cfg, e) < 0)
		return -1;
	chr->out_src = (struct event_source){
		.fd = chr->out_fd, .events = EPOLLOUT,
		.fn = chardev_on_out, .opaque = chr,
	};
	chardev_update_input(chr);
	return 0;
}

/* Writes what is left, blocking, so the last lines of a log are never lost. */
static void chardev_drain_blocking(struct chardev *chr)
{
	int fd = chr->out_fd;

	/* Socket and none back ends have no output descriptor. */
	if (fd < 0)
		return;
	if (chr->out_pollable)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	while (!ring_empty(&chr->out)) {
		size_t len;
		const uint8_t *p = ring_peek(&chr->out, &len);
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ring_consume(&chr->out, (size_t)n);
	}
}

void chardev_close(struct chardev *chr)
{
	if (!chr->loop)
		return;
	if (chr->kind == CHARDEV_SOCKET || chr->kind == CHARDEV_NONE)
		chardev_flush_out(chr);
	chardev_drain_blocking(chr);
	while (chr->clients)
		chardev_client_drop(chr, chr->clients, NULL);
	listener_stop(&chr->listener);
	if (chr->listen_fd >= 0) {
		close(chr->listen_fd);
		unlink(chr->path);
	}
	if (chr->tty)
		term_restore();
	if (chr->out_fd >= 0 && chr->out_fd != STDOUT_FILENO)
		close(chr->out_fd);
	if (chr->wake_fd >= 0)
		close(chr->wake_fd);
	ring_free(&chr->out);
	ring_free(&chr->history);
	free(chr->path);
	pthread_mutex_destroy(&chr->lock);
	memset(chr, 0, sizeof(*chr));
}
