// SPDX-License-Identifier: MIT
#include "client/exec_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define SESSION_OUT_HIGH (256 * 1024)

int exec_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	bool sock = true;

	while (n) {
		ssize_t w = sock ? send(fd, b, n, MSG_NOSIGNAL) : write(fd, b, n);

		if (w < 0 && errno == ENOTSOCK && sock) {
			sock = false;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (w < 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int exec_dial_unix(const char *path, struct err *e)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(un.sun_path))
		return err_set(e, "%s: socket path too long", path);
	strcpy(un.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, "socket");
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		err_errno(e, "connecting to %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int exec_dial_vsock_uds(const char *path, uint32_t port, struct err *e)
{
	char line[64];
	size_t n = 0;
	int fd = exec_dial_unix(path, e);

	if (fd < 0)
		return -1;
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (exec_write_all(fd, line, strlen(line)) < 0) {
		err_errno(e, "%s: sending CONNECT", path);
		goto fail;
	}
	/* Byte by byte: what follows the newline belongs to the guest. */
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				err_errno(e, "%s: reading the CONNECT reply", path);
			else
				err_set(e, "%s: the VMM closed the connection: "
					"nothing listens on guest port %u", path,
					port);
			goto fail;
		}
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	if (strncmp(line, "OK ", 3)) {
		line[strcspn(line, "\r\n")] = 0;
		err_set(e, "%s: CONNECT %u refused: \"%s\"", path, port, line);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

void exec_stream_init(struct exec_stream *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	frame_reader_init(&s->rd, FRAME_MAX_PAYLOAD);
}

void exec_stream_close(struct exec_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	frame_reader_free(&s->rd);
}

int exec_stream_send(struct exec_stream *s, uint8_t type, const void *data,
		     uint32_t len, struct err *e)
{
	uint8_t hdr[FRAME_HDR_SIZE];

	frame_put_hdr(hdr, type, len);
	if (exec_write_all(s->fd, hdr, sizeof(hdr)) < 0 ||
	    (len && exec_write_all(s->fd, data, len) < 0))
		return err_errno(e, "sending a %s frame", frame_type_name(type));
	return 0;
}

int exec_stream_send_request(struct exec_stream *s, uint8_t type,
			     const struct exec_request *req, struct err *e)
{
	size_t len;
	char *json = exec_request_encode(req, type == FRAME_EXEC_TTY, &len);
	int ret;

	if (!json)
		return err_set(e, "out of memory");
	if (len > FRAME_MAX_PAYLOAD) {
		free(json);
		return err_set(e, "the request is %zu bytes, more than the "
			       "frame limit of %u", len, FRAME_MAX_PAYLOAD);
	}
	ret = exec_stream_send(s, type, json, (uint32_t)len, e);
	free(json);
	return ret;
}

/* Decodes buffered input; returns 1 with an event or 0 when it needs more. */
static int stream_decode(struct exec_stream *s, struct frame_event *ev,
			 struct err *e)
{
	while (s->off < s->len) {
		long n = frame_reader_feed(&s->rd, s->buf + s->off,
					   s->len - s->off, ev, e);

		if (n < 0)
			return -1;
		s->off += (size_t)n;
		if (ev->kind != FRAME_EV_NONE)
			return 1;
	}
	return 0;
}

static int stream_fill(struct exec_stream *s, int timeout_ms, struct err *e)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_errno(e, "poll");
	if (r == 0)
		return err_set(e, "timed out after %d ms waiting for the agent",
			       timeout_ms);
	do
		n = read(s->fd, s->buf, sizeof(s->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_errno(e, "reading from the agent");
	s->off = 0;
	s->len = (size_t)n;
	if (!n)
		s->eof = true;
	return 0;
}

int exec_stream_next(struct exec_stream *s, struct frame_event *ev,
		     int timeout_ms, struct err *e)
{
	for (;;) {
		int r = stream_decode(s, ev, e);

		if (r)
			return r;
		if (s->eof) {
			if (frame_reader_partial(&s->rd)) {
				frame_reader_truncation(&s->rd, e);
				return -1;
			}
			return 0;
		}
		if (stream_fill(s, timeout_ms, e) < 0)
			return -1;
	}
}

/* Receives stdout and stderr bytes (@type FRAME_STDOUT or FRAME_STDERR). */
typedef int (*exec_sink)(void *ctx, uint8_t type, const uint8_t *p, size_t n);

static int run_request(struct exec_stream *s, uint8_t type,
		       const struct exec_request *req, struct exec_result *res,
		       exec_sink sink, void *ctx, int timeout_ms, struct err *e)
{
	struct frame_event ev;

	memset(res, 0, sizeof(*res));
	if (exec_stream_send_request(s, type, req, e) < 0)
		return -1;
	for (;;) {
		int r = exec_stream_next(s, &ev, timeout_ms, e);

		if (r < 0)
			return -1;
		if (r == 0)
			return err_set(e, "the agent closed the connection "
				       "before the result");
		if (ev.kind == FRAME_EV_CHUNK && ev.type != FRAME_STDIN) {
			if (sink(ctx, ev.type, ev.data, ev.len) < 0)
				return err_errno(e, "%s output",
						 frame_type_name(ev.type));
			continue;
		}
		if (ev.kind == FRAME_EV_FRAME && ev.type == FRAME_EXEC_RESULT)
			break;
		return err_set(e, "unexpected %s frame from the agent",
			       frame_type_name(ev.type) ? frame_type_name(ev.type)
			       : "unknown");
	}
	if (exec_result_decode((const char *)ev.data, ev.len, res, e) < 0)
		return err_prefix(e, "ExecResult");
	if (type == FRAME_EXEC &&
	    ((res->out_len && sink(ctx, FRAME_STDOUT, res->out, res->out_len) < 0) ||
	     (res->err_len && sink(ctx, FRAME_STDERR, res->err, res->err_len) < 0)))
		return err_errno(e, "command output");
	return 0;
}

struct buffer_sink {
	struct bytebuf *out, *err;
};

static int to_buffers(void *ctx, uint8_t type, const uint8_t *p, size_t n)
{
	struct buffer_sink *b = ctx;

	if (bytebuf_append(type == FRAME_STDOUT ? b->out : b->err, p, n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int exec_run(struct exec_stream *s, uint8_t type,
	     const struct exec_request *req, struct exec_result *res,
	     struct bytebuf *out, struct bytebuf *err, int timeout_ms,
	     struct err *e)
{
	struct buffer_sink b = { out, err };

	return run_request(s, type, req, res, to_buffers, &b, timeout_ms, e);
}

struct fd_sink {
	int out, err;
};

static int to_fds(void *ctx, uint8_t type, const uint8_t *p, size_t n)
{
	struct fd_sink *f = ctx;

	return exec_write_all(type == FRAME_STDOUT ? f->out : f->err, p, n);
}

int exec_run_fds(struct exec_stream *s, uint8_t type,
		 const struct exec_request *req, struct exec_result *res,
		 int out_fd, int err_fd, struct err *e)
{
	struct fd_sink f = { out_fd, err_fd };

	return run_request(s, type, req, res, to_fds, &f, -1, e);
}

struct session {
	struct exec_stream *s;
	bool tty;
	const struct exec_session_io *io;
	struct bytebuf q;	/* frames waiting to go to the agent */
	bool in_eof;
	bool done;
	int code;
	char agent_error[512];
};

static void session_queue(struct session *ss, uint8_t type, const void *p,
			  uint32_t len)
{
	uint8_t *dst = bytebuf_reserve(&ss->q, FRAME_HDR_SIZE + (size_t)len);

	if (!dst)
		return;
	frame_put_hdr(dst, type, len);
	if (len)
		memcpy(dst + FRAME_HDR_SIZE, p, len);
	bytebuf_commit(&ss->q, FRAME_HDR_SIZE + (size_t)len);
}

static void session_resize(struct session *ss)
{
	struct winsize ws;
	uint8_t b[4];

	if (ss->io->tty_fd < 0 || ioctl(ss->io->tty_fd, TIOCGWINSZ, &ws) < 0)
		return;
	put_be16(b, ws.ws_row);
	put_be16(b + 2, ws.ws_col);
	session_queue(ss, FRAME_RESIZE, b, sizeof(b));
}

static void session_signal(struct session *ss)
{
	struct signalfd_siginfo si;

	while (read(ss->io->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		uint8_t sig = (uint8_t)si.ssi_signo;

		if (si.ssi_signo == SIGWINCH)
			session_resize(ss);
		else
			session_queue(ss, FRAME_SIGNAL, &sig, 1);
	}
}

static int session_stdin(struct session *ss, struct err *e)
{
	uint8_t buf[32 * 1024];
	ssize_t n = read(ss->io->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0 && errno != EIO)
		return err_errno(e, "reading stdin");
	if (n <= 0) {
		ss->in_eof = true;
		/* A pipe's end of input is an empty Stdin frame. */
		if (!ss->tty)
			session_queue(ss, FRAME_STDIN, NULL, 0);
		return 0;
	}
	session_queue(ss, FRAME_STDIN, buf, (uint32_t)n);
	return 0;
}

/*
 * A shell's exit status from an Exit payload: the code, or 128 + N when it
 * is uint32(-1) followed by the signal number N (this agent's fifth byte).
 */
static int exit_frame_status(const uint8_t *p, uint32_t len)
{
	uint32_t code = get_be32(p);

	if (code == UINT32_MAX && len >= 5 && p[4])
		return 128 + p[4];
	return (int)code;
}

static int session_frame(struct session *ss, const struct frame_event *ev,
			 struct err *e)
{
	struct exec_result res;
	struct err re;

	if (ev->kind == FRAME_EV_CHUNK) {
		int fd = ev->type == FRAME_STDERR ? ss->io->err_fd : ss->io->out_fd;

		if (ev->type != FRAME_STDIN && ev->len &&
		    exec_write_all(fd, ev->data, ev->len) < 0)
			return err_errno(e, "writing output");
		return 0;
	}
	switch (ev->type) {
	case FRAME_EXIT:
		if (ev->len < 4)
			return err_set(e, "Exit frame of %u bytes", ev->len);
		ss->code = exit_frame_status(ev->data, ev->len);
		ss->done = true;
		return 0;
	case FRAME_EXEC_RESULT:
		/* The agent explains a failure before its Exit. */
		if (exec_result_decode((const char *)ev->data, ev->len, &res,
				       &re) == 0) {
			if (res.error)
				snprintf(ss->agent_error, sizeof(ss->agent_error),
					 "%s", res.error);
			exec_result_free(&res);
		}
		return 0;
	default:
		return 0;
	}
}

int exec_session(struct exec_stream *s, bool tty, const struct exec_request *req,
		 const struct exec_session_io *io, int *exit_code, struct err *e)
{
	struct session ss = { .s = s, .tty = tty, .io = io };
	int ret = -1;

	if (exec_stream_send_request(s, tty ? FRAME_EXEC_TTY : FRAME_EXEC_PIPE,
				     req, e) < 0)
		return -1;
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	while (!ss.done) {
		struct pollfd pfd[3] = {
			{ .fd = s->fd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
			{ .fd = io->sig_fd, .events = POLLIN },
		};
		struct frame_event ev;
		int r;

		if (bytebuf_len(&ss.q))
			pfd[0].events |= POLLOUT;
		if (!ss.in_eof && io->in_fd >= 0 &&
		    bytebuf_len(&ss.q) < SESSION_OUT_HIGH)
			pfd[1].fd = io->in_fd;
		r = poll(pfd, 3, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_errno(e, "poll");
			goto out;
		}
		if (pfd[2].revents & POLLIN)
			session_signal(&ss);
		if (pfd[1].revents && session_stdin(&ss, e) < 0)
			goto out;
		if (pfd[0].revents & POLLOUT) {
			if (bytebuf_flush(&ss.q, s->fd) < 0) {
				err_errno(e, "sending to the agent");
				goto out;
			}
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (stream_fill(s, 0, e) < 0) {
			if (errno == EAGAIN)
				continue;
			goto out;
		}
		while (!ss.done && (r = stream_decode(s, &ev, e)) == 1)
			if (session_frame(&ss, &ev, e) < 0)
				goto out;
		if (r < 0)
			goto out;
		if (s->eof && !ss.done) {
			if (ss.agent_error[0])
				err_set(e, "%s", ss.agent_error);
			else
				err_set(e, "the agent closed the connection "
					"before the exit status");
			goto out;
		}
	}
	/* A message from the agent can accompany a valid exit code. */
	if (ss.agent_error[0])
		err_set(e, "%s", ss.agent_error);
	else
		e->msg[0] = 0;
	*exit_code = ss.code;
	ret = 0;
out:
	bytebuf_free(&ss.q);
	return ret;
}
