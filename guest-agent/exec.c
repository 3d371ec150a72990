// SPDX-License-Identifier: MIT
/*
 * The exec service (matchlock's pkg/vsock protocol, as its host speaks it):
 * one connection per session. A session starts with Exec, ExecStream,
 * ExecPipe, ExecTTY or PortForward; Ready and the file-transfer requests may
 * come before that. Everything is non-blocking on the agent's single event
 * loop; output is read from the child only while the session's queue is
 * below EXEC_OUT_HIGH, so a host that stops reading stops the child (through
 * its full pipe) instead of growing the agent.
 */
#include "guest-agent/exec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/files.h"
#include "guest-agent/process.h"
#include "guest-agent/relay.h"
#include "lib/proto/bytebuf.h"
#include "lib/proto/exec_msg.h"
#include "lib/proto/frame.h"

#define EXEC_CHUNK (32u * 1024)

enum conn_state {
	CONN_IDLE,	/* waiting for a request */
	CONN_RUNNING,	/* a process runs */
	CONN_CONNECTING, /* PortForward: the TCP connection is being made */
	CONN_FORWARD,	/* PortForward: relaying bytes both ways */
	CONN_FINISHING,	/* flushing the last frames */
	CONN_LINGER,	/* write side shut, draining the peer until it closes */
	CONN_CLOSED,
};

/* One of the child's fds that the session polls. */
struct cfd {
	int fd;
	struct event_source src;
	bool reg;
	bool eof;
	bool spilled;	/* Exec: past the capture limit, sent as frames */
};

struct exec_conn {
	struct exec_server *srv;
	struct exec_conn *next, *prev;
	int fd;
	struct event_source src;
	bool reg;
	enum conn_state state;
	bool peer_eof;		/* the host will send nothing more */
	bool peer_gone;		/* writing failed: output is dropped */
	bool input_closed;	/* a protocol error: stop interpreting input */
	uint8_t in[EXEC_CHUNK];
	size_t in_off, in_len;
	struct frame_reader rd;
	struct bytebuf out;

	uint8_t mode;
	bool has_proc, exited, cancelled, pty;
	pid_t pid;
	int status;
	struct child child;
	struct cfd cin, cout, cerr;	/* with a PTY, cout is the master */
	struct bytebuf stdin_q;
	bool stdin_close;	/* close the child's stdin once drained */
	struct bytebuf cap_out, cap_err;
	struct timer timer;
	bool linger_timer;
	char error[512];

	struct cfd tcp;			/* PortForward: the guest connection */
	char tcp_name[80];		/* "HOST:PORT", for messages */
	struct relay up, down;		/* host -> TCP, TCP -> host */
};

struct exec_server {
	struct agent *agent;
	int lfd, ready_fd;
	struct event_source lsrc, ready_src;
	struct exec_conn *conns;
	unsigned nconns;
};

static void conn_settle(struct exec_conn *c);

/* Whether @f's output is collected for the ExecResult (not sent as frames). */
static bool cfd_buffered(const struct exec_conn *c, const struct cfd *f)
{
	return c->mode == FRAME_EXEC && !f->spilled;
}

static void conn_send(struct exec_conn *c, uint8_t type, const void *data,
		      uint32_t len)
{
	uint8_t *p;

	if (c->peer_gone)
		return;
	p = bytebuf_reserve(&c->out, FRAME_HDR_SIZE + (size_t)len);
	if (!p) {
		agent_log("error", "exec: out of memory queueing a %u-byte "
			  "frame", len);
		c->peer_gone = true;
		return;
	}
	frame_put_hdr(p, type, len);
	if (len)
		memcpy(p + FRAME_HDR_SIZE, data, len);
	bytebuf_commit(&c->out, FRAME_HDR_SIZE + (size_t)len);
}

static void conn_send_result(struct exec_conn *c, const struct exec_result *r)
{
	size_t len;
	char *json = exec_result_encode(r, &len);

	if (!json) {
		agent_log("error", "exec: out of memory encoding a result");
		c->peer_gone = true;
		return;
	}
	conn_send(c, FRAME_EXEC_RESULT, json, (uint32_t)len);
	free(json);
}

/*
 * Exit: the code as a 4-byte big-endian integer, uint32(-1) when a signal
 * ended the process (as matchlock's agent sends it); then one more byte
 * naming that signal, which readers of the first 4 bytes never see.
 */
static void conn_send_exit(struct exec_conn *c, int code, int sig)
{
	uint8_t b[5];

	put_be32(b, (uint32_t)code);
	b[4] = (uint8_t)sig;
	conn_send(c, FRAME_EXIT, b, sig ? 5 : 4);
}

static bool conn_interactive(const struct exec_conn *c)
{
	return c->mode == FRAME_EXEC_PIPE || c->mode == FRAME_EXEC_TTY;
}

/* Sends a line of explanation where the session's output goes. */
static void conn_send_line(struct exec_conn *c, const char *prefix,
			   const char *msg)
{
	char line[640];
	int n = snprintf(line, sizeof(line), "%s%s%s", prefix,
			 prefix[0] ? ": " : "", msg);

	n = MIN(n, (int)sizeof(line) - 3);
	/* A terminal in raw mode needs the carriage return. */
	n += snprintf(line + n, 3, c->mode == FRAME_EXEC_TTY ? "\r\n" : "\n");
	conn_send(c, c->mode == FRAME_EXEC_TTY ? FRAME_STDOUT : FRAME_STDERR,
		  line, (uint32_t)n);
}

/*
 * Reports a request that ran no process. ExecPipe and ExecTTY clients
 * (matchlock's ExecPipe, ExecInteractive) read only output and Exit, so they
 * get "@what: @msg" as output and then Exit; the others an ExecResult.
 */
static void conn_reply_error(struct exec_conn *c, const char *what,
			     const char *msg, int code)
{
	struct exec_result r = { .exit_code = code, .error = (char *)msg };

	agent_log("warning", "exec: %s", msg);
	if (conn_interactive(c)) {
		conn_send_line(c, what, msg);
		conn_send_exit(c, code, 0);
	} else {
		conn_send_result(c, &r);
	}
	c->state = CONN_FINISHING;
	c->input_closed = true;
}

/*
 * The program could not run (no such user, nothing to execute): reported as
 * a process that said why on stderr and exited with @code, as a shell does
 * and as matchlock's launcher does.
 */
static void conn_launch_failed(struct exec_conn *c, const char *msg, int code)
{
	struct exec_result r = { .exit_code = code };
	char line[600];
	int n = snprintf(line, sizeof(line), "guest-agent: %s\n", msg);

	agent_log("warning", "exec: %s", msg);
	if (conn_interactive(c)) {
		conn_send_line(c, "guest-agent", msg);
		conn_send_exit(c, code, 0);
	} else {
		if (c->mode == FRAME_EXEC) {
			r.err = (uint8_t *)line;
			r.err_len = (size_t)MIN(n, (int)sizeof(line) - 1);
		} else {
			conn_send_line(c, "guest-agent", msg);
		}
		conn_send_result(c, &r);
	}
	c->state = CONN_FINISHING;
	c->input_closed = true;
}

static void conn_kill_group(struct exec_conn *c, int sig)
{
	if (c->has_proc && !c->exited)
		kill(-c->pid, sig);
}

static void conn_cancel(struct exec_conn *c)
{
	if (!c->has_proc || c->exited || c->cancelled)
		return;
	c->cancelled = true;
	conn_kill_group(c, SIGTERM);
	c->linger_timer = false;
	timer_start(c->srv->agent, &c->timer, EXEC_KILL_GRACE_MS);
}

/* Bad input: answered with an error; a running process is cancelled. */
static void conn_fail(struct exec_conn *c, const char *msg)
{
	if (c->state == CONN_IDLE) {
		conn_reply_error(c, "", msg, 1);
		return;
	}
	if (c->state != CONN_RUNNING)
		return;
	agent_log("warning", "exec: %s", msg);
	if (!c->error[0])
		snprintf(c->error, sizeof(c->error), "%s", msg);
	c->input_closed = true;
	conn_cancel(c);
}

static void conn_peer_gone(struct exec_conn *c)
{
	c->peer_gone = true;
	c->input_closed = true;
	bytebuf_reset(&c->out);
	if (c->state == CONN_RUNNING)
		conn_cancel(c);
	else
		c->state = CONN_CLOSED;
}

static void cfd_close(struct exec_conn *c, struct cfd *f)
{
	if (f->fd < 0)
		return;
	agent_watch(c->srv->agent, &f->src, &f->reg, 0);
	close(f->fd);
	f->fd = -1;
}

/* Moves queued input into the child's stdin (a pipe or the PTY master). */
static void conn_feed_stdin(struct exec_conn *c, int fd)
{
	while (bytebuf_len(&c->stdin_q)) {
		ssize_t n = write(fd, bytebuf_head(&c->stdin_q),
				  bytebuf_len(&c->stdin_q));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* The child closed its stdin: the rest has no reader. */
			bytebuf_reset(&c->stdin_q);
			if (!c->pty) {
				c->stdin_close = true;
				cfd_close(c, &c->cin);
			}
			return;
		}
		bytebuf_consume(&c->stdin_q, (size_t)n);
	}
	if (c->stdin_close && !c->pty)
		cfd_close(c, &c->cin);
}

/*
 * An Exec's output past EXEC_CAPTURE_MAX goes out as frames before the
 * ExecResult (matchlock's host collects Stdout/Stderr frames in buffered
 * mode too): what was collected first, as the host reads it, then the
 * rest as it comes.
 */
static void conn_spill(struct exec_conn *c, struct bytebuf *cap, uint8_t type)
{
	while (bytebuf_len(cap) && bytebuf_len(&c->out) < EXEC_OUT_HIGH &&
	       !c->peer_gone) {
		uint32_t n = (uint32_t)MIN((size_t)EXEC_CHUNK, bytebuf_len(cap));

		conn_send(c, type, bytebuf_head(cap), n);
		bytebuf_consume(cap, n);
	}
}

/* Where the next read of @f goes: @scratch to drop, @cap, or a frame. */
static uint8_t *pump_target(struct exec_conn *c, struct cfd *f, uint8_t type,
			    uint8_t *scratch, size_t *room)
{
	struct bytebuf *cap = type == FRAME_STDERR ? &c->cap_err : &c->cap_out;
	uint8_t *dst;

	if (c->peer_gone) {
		*room = 4096;
		return scratch;
	}
	if (cfd_buffered(c, f)) {
		*room = MIN((size_t)EXEC_CHUNK, EXEC_CAPTURE_MAX - bytebuf_len(cap));
		dst = *room ? bytebuf_reserve(cap, *room) : NULL;
		if (dst)
			return dst;
		f->spilled = true;
	}
	if (bytebuf_len(cap)) {
		conn_spill(c, cap, type);
		if (bytebuf_len(cap))
			return NULL;
		bytebuf_free(cap);
	}
	if (bytebuf_len(&c->out) >= EXEC_OUT_HIGH)
		return NULL;
	dst = bytebuf_reserve(&c->out, FRAME_HDR_SIZE + EXEC_CHUNK);
	*room = EXEC_CHUNK;
	return dst ? dst + FRAME_HDR_SIZE : NULL;
}

/* Reads what the child wrote on @f, within the session's output budget. */
static void conn_pump(struct exec_conn *c, struct cfd *f, uint8_t type)
{
	uint8_t scratch[4096];
	bool done = false;

	for (int i = 0; i < 16 && !done; i++) {
		size_t room = 0;
		uint8_t *dst = pump_target(c, f, type, scratch, &room);
		ssize_t n;

		if (!dst)
			return;
		n = read(f->fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* After the exit, nothing pending on a PTY means done. */
			done = c->pty && c->exited;
			if (!done)
				return;
			break;
		}
		if (n <= 0) {
			/* EOF, or EIO once a PTY's last slave closed. */
			done = true;
			break;
		}
		if (dst == scratch)
			continue;
		if (cfd_buffered(c, f)) {
			bytebuf_commit(type == FRAME_STDERR ? &c->cap_err :
				       &c->cap_out, (size_t)n);
		} else {
			frame_put_hdr(dst - FRAME_HDR_SIZE, type, (uint32_t)n);
			bytebuf_commit(&c->out, FRAME_HDR_SIZE + (size_t)n);
		}
	}
	if (!done)
		return;	/* the loop budget ran out; the fd stays readable */
	f->eof = true;
	if (c->pty)
		bytebuf_reset(&c->stdin_q);
	cfd_close(c, f);
}

static void conn_on_stdout(void *opaque, uint32_t events)
{
	struct exec_conn *c = opaque;

	if (c->pty && (events & EPOLLOUT))
		conn_feed_stdin(c, c->cout.fd);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_pump(c, &c->cout, FRAME_STDOUT);
	conn_settle(c);
}

static void conn_on_stderr(void *opaque, uint32_t events)
{
	struct exec_conn *c = opaque;

	(void)events;
	conn_pump(c, &c->cerr, FRAME_STDERR);
	conn_settle(c);
}

static void conn_on_stdin(void *opaque, uint32_t events)
{
	struct exec_conn *c = opaque;

	(void)events;
	conn_feed_stdin(c, c->cin.fd);
	conn_settle(c);
}

static void conn_child_exited(struct child *ch, int status)
{
	struct exec_conn *c = (struct exec_conn *)((char *)ch -
				offsetof(struct exec_conn, child));

	c->exited = true;
	c->status = status;
	if (c->cancelled)
		timer_stop(c->srv->agent, &c->timer);
	if (c->pty && c->cout.fd >= 0 &&
	    (c->peer_gone || bytebuf_len(&c->out) < EXEC_OUT_HIGH))
		conn_pump(c, &c->cout, FRAME_STDOUT);
	conn_settle(c);
}

static void cfd_init(struct exec_conn *c, struct cfd *f, int fd,
		     event_fn fn)
{
	f->fd = fd;
	f->eof = fd < 0;
	f->reg = false;
	f->spilled = false;
	f->src = (struct event_source){ .fd = fd, .fn = fn, .opaque = c };
}

static void conn_start(struct exec_conn *c, uint8_t type, const char *json,
		       size_t len)
{
	struct exec_request req;
	struct spawn_opts o = { 0 };
	struct spawn_result r;
	struct agent *a = c->srv->agent;
	struct err e = { "" };
	char **argv = NULL;

	c->mode = type;
	if (exec_request_decode(json, len, type == FRAME_EXEC_TTY, &req, &e) < 0) {
		err_prefix(&e, "%s request", frame_type_name(type));
		conn_reply_error(c, "failed to decode exec request", e.msg, 1);
		return;
	}
	if (req.nargs) {
		argv = calloc(req.nargs + 2, sizeof(*argv));
		if (!argv) {
			conn_reply_error(c, "failed to start command",
					 "out of memory", 1);
			goto out;
		}
		argv[0] = req.command;
		memcpy(argv + 1, req.args, req.nargs * sizeof(*argv));
	} else {
		o.command_line = req.command;
	}
	o.argv = argv;
	o.working_dir = req.working_dir;
	o.env = req.env;
	o.user = req.user;
	o.passwd_file = a->opts.passwd_file;
	o.group_file = a->opts.group_file;
	o.pty = type == FRAME_EXEC_TTY;
	o.rows = req.rows;
	o.cols = req.cols;
	o.pipe_stdin = type == FRAME_EXEC_PIPE ||
		       (type == FRAME_EXEC && req.stdin_len);
	o.pipe_stdout = o.pipe_stderr = true;
	if (spawn_process(&o, &r, &e) < 0) {
		if (r.launch_failed)
			conn_launch_failed(c, e.msg, r.exit_code);
		else
			conn_reply_error(c, "failed to start command", e.msg,
					 r.exit_code);
		goto out;
	}
	c->state = CONN_RUNNING;
	c->has_proc = true;
	c->pid = r.pid;
	c->pty = o.pty;
	c->child = (struct child){ .pid = r.pid, .exited = conn_child_exited };
	agent_track_child(a, &c->child);
	if (c->pty) {
		cfd_init(c, &c->cout, r.pty_fd, conn_on_stdout);
		cfd_init(c, &c->cerr, -1, conn_on_stderr);
		cfd_init(c, &c->cin, -1, conn_on_stdin);
	} else {
		cfd_init(c, &c->cout, r.out_fd, conn_on_stdout);
		cfd_init(c, &c->cerr, r.err_fd, conn_on_stderr);
		cfd_init(c, &c->cin, r.in_fd, conn_on_stdin);
	}
	if (type == FRAME_EXEC && req.stdin_len) {
		if (bytebuf_append(&c->stdin_q, req.stdin_data, req.stdin_len) < 0)
			agent_log("error", "exec: out of memory for stdin");
		c->stdin_close = true;
	}
out:
	free(argv);
	exec_request_free(&req);
}

/* The TCP address of a PortForward: an IP address; none means 127.0.0.1. */
static int forward_addr(const struct port_forward_request *req,
			struct sockaddr_storage *ss, socklen_t *len,
			struct err *e)
{
	const char *host = req->host && req->host[0] ? req->host : "127.0.0.1";
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(req->port);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(req->port);
		*len = sizeof(*in6);
	} else {
		return err_set(e, "host \"%.64s\" is not an IP address (the "
			       "agent resolves no names)", host);
	}
	if (!req->port)
		return err_set(e, "invalid remote port 0");
	return 0;
}

/* A PortForward that cannot go ahead: the reason as Stderr, then close. */
static void conn_forward_reject(struct exec_conn *c, const char *msg)
{
	agent_log("warning", "exec: port forward: %s", msg);
	conn_send(c, FRAME_STDERR, msg, (uint32_t)strlen(msg));
	cfd_close(c, &c->tcp);
	timer_stop(c->srv->agent, &c->timer);
	c->state = CONN_FINISHING;
	c->input_closed = true;
}

static void forward_relay_done(struct relay *r, void *opaque)
{
	(void)r;
	conn_settle(opaque);
}

/*
 * Connected: Ready goes out (after anything queued before it), input that
 * came after the request goes to the guest connection first, and from then
 * on two relays copy bytes, each passing its end of input on as a
 * half-close.
 */
static void conn_forward_start(struct exec_conn *c)
{
	struct agent *a = c->srv->agent;
	uint8_t ready[FRAME_HDR_SIZE];
	int up_src = dup(c->fd), down_dst = dup(c->fd), tcp_src = dup(c->tcp.fd);

	if (up_src < 0 || down_dst < 0 || tcp_src < 0) {
		if (up_src >= 0)
			close(up_src);
		if (down_dst >= 0)
			close(down_dst);
		if (tcp_src >= 0)
			close(tcp_src);
		conn_forward_reject(c, "out of file descriptors");
		return;
	}
	timer_stop(a, &c->timer);
	agent_watch(a, &c->tcp.src, &c->tcp.reg, 0);
	agent_watch(a, &c->src, &c->reg, 0);
	relay_start(a, &c->up, up_src, c->tcp.fd, forward_relay_done, c);
	relay_start(a, &c->down, tcp_src, down_dst, forward_relay_done, c);
	c->tcp.fd = -1;
	c->state = CONN_FORWARD;
	frame_put_hdr(ready, FRAME_READY, 0);
	relay_push(&c->down, bytebuf_head(&c->out), bytebuf_len(&c->out));
	relay_push(&c->down, ready, sizeof(ready));
	bytebuf_reset(&c->out);
	relay_push(&c->up, c->in + c->in_off, c->in_len - c->in_off);
	c->in_off = c->in_len = 0;
}

static void conn_on_tcp(void *opaque, uint32_t events)
{
	struct exec_conn *c = opaque;
	int err = 0;
	socklen_t len = sizeof(err);
	char msg[200];

	(void)events;
	if (getsockopt(c->tcp.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		snprintf(msg, sizeof(msg), "connect %s failed: %s", c->tcp_name,
			 strerror(err));
		conn_forward_reject(c, msg);
	} else {
		conn_forward_start(c);
	}
	conn_settle(c);
}

/* PortForward (matchlock's OpenPortForward): connect to a guest TCP port. */
static void conn_port_forward(struct exec_conn *c, const char *json,
			      size_t len)
{
	struct port_forward_request req;
	struct sockaddr_storage ss;
	socklen_t alen = 0;
	struct err e = { "" };
	char msg[600];
	int fd;

	c->mode = FRAME_PORT_FORWARD;
	if (port_forward_decode(json, len, &req, &e) < 0) {
		snprintf(msg, sizeof(msg), "invalid port-forward request: %s",
			 e.msg);
		conn_forward_reject(c, msg);
		return;
	}
	snprintf(c->tcp_name, sizeof(c->tcp_name), "%.64s:%u",
		 req.host && req.host[0] ? req.host : "127.0.0.1", req.port);
	if (forward_addr(&req, &ss, &alen, &e) < 0) {
		conn_forward_reject(c, e.msg);
		goto out;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, alen) < 0 &&
		       errno != EINPROGRESS)) {
		snprintf(msg, sizeof(msg), "connect %s failed: %s", c->tcp_name,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		conn_forward_reject(c, msg);
		goto out;
	}
	cfd_init(c, &c->tcp, fd, conn_on_tcp);
	c->state = CONN_CONNECTING;
	c->linger_timer = false;
	timer_start(c->srv->agent, &c->timer, EXEC_CONNECT_MS);
out:
	port_forward_free(&req);
}

static void conn_resize(struct exec_conn *c, const uint8_t *p)
{
	struct winsize ws = { .ws_row = get_be16(p), .ws_col = get_be16(p + 2) };

	if (c->pty && c->cout.fd >= 0 && ioctl(c->cout.fd, TIOCSWINSZ, &ws) < 0)
		agent_log("warning", "exec: resizing the terminal: %s",
			  strerror(errno));
}

static void conn_idle_frame(struct exec_conn *c, const struct frame_event *ev)
{
	char msg[160];
	const char *name = frame_type_name(ev->type);

	switch (ev->type) {
	case FRAME_EXEC:
	case FRAME_EXEC_STREAM:
	case FRAME_EXEC_PIPE:
	case FRAME_EXEC_TTY:
		conn_start(c, ev->type, (const char *)ev->data, ev->len);
		return;
	case FRAME_PORT_FORWARD:
		conn_port_forward(c, (const char *)ev->data, ev->len);
		return;
	case FRAME_READY:
		conn_send(c, FRAME_READY, NULL, 0);
		return;
	case FRAME_WRITE_FILE:
	case FRAME_READ_FILE:
	case FRAME_LIST_FILES: {
		size_t len;
		char *json = files_handle(ev->type, (const char *)ev->data,
					  ev->len, &len);

		if (!json) {
			conn_fail(c, "out of memory");
			return;
		}
		conn_send(c, FRAME_FILE_RESULT, json, (uint32_t)len);
		free(json);
		return;
	}
	case FRAME_SIGNAL:
	case FRAME_RESIZE:
	case FRAME_STDIN:
		snprintf(msg, sizeof(msg), "%s: no process runs on this "
			 "connection; start one with Exec, ExecStream, "
			 "ExecPipe or ExecTTY", name);
		break;
	default:
		if (name)
			snprintf(msg, sizeof(msg), "message type %s (%u) is "
				 "sent by the agent, not to it", name, ev->type);
		else
			snprintf(msg, sizeof(msg), "unknown message type %u",
				 ev->type);
	}
	conn_fail(c, msg);
}

static void conn_running_frame(struct exec_conn *c, const struct frame_event *ev)
{
	char msg[160];
	const char *name = frame_type_name(ev->type);

	switch (ev->type) {
	case FRAME_STDIN:
		if (c->mode != FRAME_EXEC_PIPE && c->mode != FRAME_EXEC_TTY) {
			conn_fail(c, "Stdin is accepted only in ExecPipe and "
				  "ExecTTY sessions");
			return;
		}
		if (c->stdin_close || (!c->pty && c->cin.fd < 0) ||
		    (c->pty && c->cout.fd < 0))
			return;	/* no reader any more: drop it */
		if (ev->frame_len == 0) {
			/* An empty chunk is end of input for a pipe. */
			if (!c->pty) {
				c->stdin_close = true;
				if (!bytebuf_len(&c->stdin_q))
					cfd_close(c, &c->cin);
			}
			return;
		}
		if (bytebuf_append(&c->stdin_q, ev->data, ev->len) < 0)
			conn_fail(c, "out of memory for stdin");
		return;
	case FRAME_SIGNAL:
		if (ev->len != 1 || ev->data[0] < 1 || ev->data[0] >= NSIG) {
			snprintf(msg, sizeof(msg), "Signal: expected one byte "
				 "holding a signal number 1..%d", NSIG - 1);
			conn_fail(c, msg);
			return;
		}
		conn_kill_group(c, ev->data[0]);
		return;
	case FRAME_RESIZE:
		if (ev->len != 4) {
			conn_fail(c, "Resize: expected 4 bytes (rows, cols)");
			return;
		}
		conn_resize(c, ev->data);
		return;
	case FRAME_READY:
		conn_send(c, FRAME_READY, NULL, 0);
		return;
	}
	if (name)
		snprintf(msg, sizeof(msg), "message type %s (%u) is not "
			 "valid while a process runs", name, ev->type);
	else
		snprintf(msg, sizeof(msg), "unknown message type %u", ev->type);
	conn_fail(c, msg);
}

/* Interprets buffered input until it runs out or stdin is backed up. */
static void conn_consume(struct exec_conn *c)
{
	while (c->in_off < c->in_len && !c->input_closed &&
	       (c->state == CONN_IDLE || c->state == CONN_RUNNING)) {
		struct frame_event ev;
		struct err e = { "" };
		long n;

		if (c->rd.in_payload && c->rd.type == FRAME_STDIN &&
		    bytebuf_len(&c->stdin_q) >= EXEC_STDIN_HIGH)
			return;
		n = frame_reader_feed(&c->rd, c->in + c->in_off,
				      c->in_len - c->in_off, &ev, &e);
		if (n < 0) {
			conn_fail(c, e.msg);
			break;
		}
		c->in_off += (size_t)n;
		if (ev.kind == FRAME_EV_NONE)
			continue;
		if (c->state == CONN_IDLE)
			conn_idle_frame(c, &ev);
		else
			conn_running_frame(c, &ev);
	}
	if (c->in_off == c->in_len || c->input_closed)
		c->in_off = c->in_len = 0;
}

static void conn_on_eof(struct exec_conn *c)
{
	c->peer_eof = true;
	if (c->input_closed)
		return;
	if (frame_reader_partial(&c->rd)) {
		struct err e;

		frame_reader_truncation(&c->rd, &e);
		conn_fail(c, e.msg);
		return;
	}
	if (c->state == CONN_IDLE) {
		c->state = CONN_FINISHING;
	} else if (c->state == CONN_RUNNING) {
		if (c->mode == FRAME_EXEC_PIPE) {
			c->stdin_close = true;
			if (!bytebuf_len(&c->stdin_q))
				cfd_close(c, &c->cin);
		} else {
			/* A closed connection cancels, as matchlock's client does. */
			conn_cancel(c);
		}
	}
}

static void conn_read(struct exec_conn *c)
{
	for (int i = 0; i < 4 && !c->peer_eof; i++) {
		ssize_t n;

		if (c->state == CONN_LINGER || c->input_closed) {
			uint8_t sink[4096];

			n = read(c->fd, sink, sizeof(sink));
		} else if (c->in_off < c->in_len) {
			return;
		} else {
			n = read(c->fd, c->in, sizeof(c->in));
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			conn_peer_gone(c);
			return;
		}
		if (n == 0) {
			conn_on_eof(c);
			return;
		}
		if (c->state == CONN_LINGER || c->input_closed)
			continue;
		c->in_off = 0;
		c->in_len = (size_t)n;
		conn_consume(c);
	}
}

static void conn_finish_process(struct exec_conn *c)
{
	int sig, code = wait_status_exit_code(c->status, &sig);
	struct exec_result r = { .exit_code = code, .signal = sig,
				 .error = c->error };

	cfd_close(c, &c->cin);
	timer_stop(c->srv->agent, &c->timer);
	c->has_proc = false;
	if (c->mode == FRAME_EXEC) {
		r.out = bytebuf_head(&c->cap_out);
		r.out_len = bytebuf_len(&c->cap_out);
		r.err = bytebuf_head(&c->cap_err);
		r.err_len = bytebuf_len(&c->cap_err);
		conn_send_result(c, &r);
		bytebuf_free(&c->cap_out);
		bytebuf_free(&c->cap_err);
	} else if (c->mode == FRAME_EXEC_STREAM) {
		conn_send_result(c, &r);
	} else {
		if (c->error[0])
			conn_send_result(c, &r);
		conn_send_exit(c, code, sig);
	}
	c->state = CONN_FINISHING;
}

static void conn_destroy(struct exec_conn *c)
{
	struct agent *a = c->srv->agent;

	if (c->has_proc && !c->exited) {
		/* Only at agent exit: the orphan is reaped without an owner. */
		kill(-c->pid, SIGKILL);
		agent_untrack_child(a, &c->child);
	}
	cfd_close(c, &c->cin);
	cfd_close(c, &c->cout);
	cfd_close(c, &c->cerr);
	cfd_close(c, &c->tcp);
	relay_stop(&c->up);
	relay_stop(&c->down);
	agent_watch(a, &c->src, &c->reg, 0);
	close(c->fd);
	timer_destroy(a, &c->timer);
	frame_reader_free(&c->rd);
	bytebuf_free(&c->out);
	bytebuf_free(&c->stdin_q);
	bytebuf_free(&c->cap_out);
	bytebuf_free(&c->cap_err);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->nconns--;
	free(c);
}

static uint32_t cfd_events(struct exec_conn *c, struct cfd *f)
{
	uint32_t ev = 0;

	if (f->fd < 0)
		return 0;
	if (!f->eof && (c->peer_gone || cfd_buffered(c, f) ||
			bytebuf_len(&c->out) < EXEC_OUT_HIGH))
		ev |= EPOLLIN;
	if (f == &c->cin || (c->pty && f == &c->cout))
		if (bytebuf_len(&c->stdin_q))
			ev |= EPOLLOUT;
	return ev;
}

/*
 * Runs after every event of a session: advances its state machine and sets
 * what each of its fds waits for. It may free the session.
 */
static void conn_settle(struct exec_conn *c)
{
	struct agent *a = c->srv->agent;
	uint32_t ev = 0;

	if (c->in_off < c->in_len && bytebuf_len(&c->stdin_q) < EXEC_STDIN_HIGH)
		conn_consume(c);
	/* Spilled output moves on as the host reads, quiet child or not. */
	if (c->cout.spilled)
		conn_spill(c, &c->cap_out, FRAME_STDOUT);
	if (c->cerr.spilled)
		conn_spill(c, &c->cap_err, FRAME_STDERR);
	if (c->state == CONN_RUNNING && c->exited && c->cout.eof &&
	    c->cerr.eof)
		conn_finish_process(c);
	if (c->state == CONN_FINISHING && (c->peer_gone ||
					   !bytebuf_len(&c->out))) {
		if (c->peer_gone || c->peer_eof) {
			c->state = CONN_CLOSED;
		} else {
			/* Let the host read everything before the close. */
			shutdown(c->fd, SHUT_WR);
			c->state = CONN_LINGER;
			c->linger_timer = true;
			timer_start(a, &c->timer, EXEC_LINGER_MS);
		}
	}
	if (c->state == CONN_LINGER && c->peer_eof)
		c->state = CONN_CLOSED;
	if (c->state == CONN_FORWARD && c->up.done && c->down.done)
		c->state = CONN_CLOSED;
	if (c->state == CONN_CLOSED) {
		conn_destroy(c);
		return;
	}
	if (c->state == CONN_FORWARD)
		return;	/* the relays own the connection now */
	if (c->state == CONN_CONNECTING)
		agent_watch(a, &c->tcp.src, &c->tcp.reg, EPOLLOUT);
	if (!c->peer_eof && c->in_off == c->in_len)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (bytebuf_len(&c->out) && !c->peer_gone)
		ev |= EPOLLOUT;
	agent_watch(a, &c->src, &c->reg, ev);
	if (c->has_proc) {
		agent_watch(a, &c->cout.src, &c->cout.reg, cfd_events(c, &c->cout));
		agent_watch(a, &c->cerr.src, &c->cerr.reg, cfd_events(c, &c->cerr));
		agent_watch(a, &c->cin.src, &c->cin.reg, cfd_events(c, &c->cin));
	}
}

static void conn_event(void *opaque, uint32_t events)
{
	struct exec_conn *c = opaque;

	if (events & EPOLLOUT) {
		if (bytebuf_flush(&c->out, c->fd) < 0)
			conn_peer_gone(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		conn_read(c);
	conn_settle(c);
}

static void conn_timer(void *opaque)
{
	struct exec_conn *c = opaque;

	if (c->linger_timer) {
		c->state = CONN_CLOSED;
	} else if (c->state == CONN_CONNECTING) {
		char msg[160];

		snprintf(msg, sizeof(msg), "connect %s failed: no answer within "
			 "%d ms", c->tcp_name, EXEC_CONNECT_MS);
		conn_forward_reject(c, msg);
	} else {
		conn_kill_group(c, SIGKILL);
	}
	conn_settle(c);
}

static void exec_accept(void *opaque, uint32_t events)
{
	struct exec_server *s = opaque;

	(void)events;
	for (int i = 0; i < 64; i++) {
		int fd = transport_accept(s->lfd);
		struct exec_conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				agent_log("warning", "exec: accept: %s",
					  strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->src = (struct event_source){ .fd = fd, .fn = conn_event,
						.opaque = c };
		c->cin.fd = c->cout.fd = c->cerr.fd = c->tcp.fd = -1;
		frame_reader_init(&c->rd, FRAME_MAX_PAYLOAD);
		timer_init(&c->timer, conn_timer, c);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		if (s->nconns > EXEC_MAX_SESSIONS) {
			char msg[96];

			snprintf(msg, sizeof(msg), "too many sessions: the "
				 "limit is %d", EXEC_MAX_SESSIONS);
			conn_reply_error(c, "", msg, 1);
		}
		conn_settle(c);
	}
}

static void ready_accept(void *opaque, uint32_t events)
{
	struct exec_server *s = opaque;

	(void)events;
	for (;;) {
		int fd = transport_accept(s->ready_fd);

		if (fd < 0)
			return;
		/* Accepting is the whole answer: the agent is up. */
		close(fd);
	}
}

int exec_server_start(struct agent *a, struct exec_server **out, struct err *e)
{
	struct exec_server *s = calloc(1, sizeof(*s));

	if (!s)
		return err_set(e, "out of memory");
	s->agent = a;
	s->lfd = s->ready_fd = -1;
	if (a->opts.exec_on) {
		s->lfd = transport_listen(&a->opts.exec_ep, e);
		if (s->lfd < 0)
			goto fail;
		s->lsrc = (struct event_source){ .fd = s->lfd, .events = EPOLLIN,
						 .fn = exec_accept, .opaque = s };
		if (event_loop_add(&a->loop, &s->lsrc) < 0) {
			err_errno(e, "exec service: epoll");
			goto fail;
		}
	}
	if (a->opts.ready_on) {
		s->ready_fd = transport_listen(&a->opts.ready_ep, e);
		if (s->ready_fd < 0)
			goto fail;
		s->ready_src = (struct event_source){
			.fd = s->ready_fd, .events = EPOLLIN,
			.fn = ready_accept, .opaque = s,
		};
		if (event_loop_add(&a->loop, &s->ready_src) < 0) {
			err_errno(e, "ready service: epoll");
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	exec_server_stop(s);
	return -1;
}

void exec_server_stop(struct exec_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_destroy(s->conns);
	if (s->lfd >= 0) {
		event_loop_remove(&s->agent->loop, &s->lsrc);
		close(s->lfd);
	}
	if (s->ready_fd >= 0) {
		event_loop_remove(&s->agent->loop, &s->ready_src);
		close(s->ready_fd);
	}
	free(s);
}

void exec_server_signal_all(struct exec_server *s, int sig)
{
	for (struct exec_conn *c = s ? s->conns : NULL; c; c = c->next)
		conn_kill_group(c, sig);
}

unsigned exec_server_running(const struct exec_server *s)
{
	unsigned n = 0;

	for (struct exec_conn *c = s ? s->conns : NULL; c; c = c->next)
		n += c->has_proc && !c->exited;
	return n;
}
