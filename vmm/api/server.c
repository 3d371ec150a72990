// SPDX-License-Identifier: MIT
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/fd_budget.h"
#include "vmm/metrics.h"

/* Input buffers start small and grow up to API_MAX_REQUEST. */
#define API_IN_INITIAL 4096
/* Connections taken per wake-up, so a flood cannot starve the loop. */
#define API_ACCEPT_BATCH 32
/* Requests of one client handled per turn; the rest wait for the next. */
#define API_LINES_PER_TURN 16

struct out_chunk {
	struct out_chunk *next;
	char *data;
	size_t len;
	size_t off;
	int fd; /* passed with the chunk's first byte, then closed */
};

struct api_client {
	struct api_server *srv;
	int fd;
	struct event_source src;
	char *in;
	size_t in_len;
	size_t in_cap;
	struct out_chunk *out_head;
	struct out_chunk **out_tail;
	size_t out_bytes;
	struct api_call *calls;
	unsigned int nr_calls;
	bool subscribed;
	bool busy;    /* inside its event handler: freeing waits */
	bool dead;    /* dropped; freed when no longer busy */
	bool eof;     /* the client sent all it will send */
	bool closing; /* close once the output is out, whatever is pending */
	bool backlog; /* whole requests wait in @in for the next turn */
	struct api_client *next;
};

static void client_flush(struct api_client *c);

static void chunk_free(struct out_chunk *ch)
{
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch->data);
	free(ch);
}

static void client_free(struct api_client *c)
{
	struct api_server *srv = c->srv;
	struct api_client **p = &srv->clients;

	while (*p && *p != c)
		p = &(*p)->next;
	if (*p)
		*p = c->next;
	free(c);
}

static void client_drop(struct api_client *c, const char *why)
{
	struct api_server *srv = c->srv;
	struct api_call *call, *next;

	if (c->dead)
		return;
	c->dead = true;
	if (why)
		log_info("control socket: dropping a client: %s", why);
	/* The owner ends the calls it keeps; the rest are orphaned. */
	srv->ops.client_gone(srv->opaque, c);
	for (call = c->calls; call; call = next) {
		next = call->client_next;
		call->client = NULL;
		call->client_next = NULL;
	}
	c->calls = NULL;
	c->nr_calls = 0;
	event_loop_remove(srv->loop, &c->src);
	close(c->fd);
	c->fd = -1;
	while (c->out_head) {
		struct out_chunk *ch = c->out_head;

		c->out_head = ch->next;
		chunk_free(ch);
	}
	free(c->in);
	c->in = NULL;
	srv->nr_clients--;
	if (!c->busy)
		client_free(c);
}

static bool client_reading(const struct api_client *c)
{
	return !c->eof && !c->closing;
}

/* No more input is read while requests already read wait their turn. */
static bool client_wants_input(const struct api_client *c)
{
	return client_reading(c) && !c->backlog;
}

static void client_update_events(struct api_client *c)
{
	uint32_t events = (client_wants_input(c) ? EPOLLIN : 0) |
			  (c->out_head ? EPOLLOUT : 0);

	if (!c->dead)
		event_loop_modify(c->srv->loop, &c->src, events);
}

/* Closes a connection that has nothing more to do. */
static void client_maybe_finish(struct api_client *c)
{
	if (c->dead || c->out_head)
		return;
	if (c->closing || (c->eof && c->nr_calls == 0))
		client_drop(c, NULL);
}

/* Queues @data (malloc()ed, consumed) and @fd (consumed) for @c. */
static void client_send(struct api_client *c, char *data, size_t len, int fd)
{
	struct out_chunk *ch;

	if (c->dead || !data) {
		free(data);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (c->out_bytes + len > c->srv->max_output) {
		free(data);
		if (fd >= 0)
			close(fd);
		client_drop(c, "it does not read what it is sent");
		return;
	}
	ch = malloc(sizeof(*ch));
	if (!ch) {
		free(data);
		if (fd >= 0)
			close(fd);
		client_drop(c, "out of memory for its output");
		return;
	}
	*ch = (struct out_chunk){ .data = data, .len = len, .fd = fd };
	*c->out_tail = ch;
	c->out_tail = &ch->next;
	c->out_bytes += len;
	client_flush(c);
}

static ssize_t send_chunk(int sock, const struct out_chunk *ch)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {
		.iov_base = ch->data + ch->off, .iov_len = ch->len - ch->off,
	};
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (ch->fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &ch->fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void client_flush(struct api_client *c)
{
	while (!c->dead && c->out_head) {
		struct out_chunk *ch = c->out_head;
		ssize_t n = send_chunk(c->fd, ch);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_drop(c, NULL);
			return;
		}
		if (ch->fd >= 0) {
			/* The descriptor went with the first byte sent. */
			close(ch->fd);
			ch->fd = -1;
		}
		ch->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (ch->off < ch->len)
			continue;
		c->out_head = ch->next;
		if (!c->out_head)
			c->out_tail = &c->out_head;
		chunk_free(ch);
	}
	client_update_events(c);
	client_maybe_finish(c);
}

static void client_error(struct api_client *c, struct json_object *id,
			 int code, const char *msg)
{
	size_t len = 0;
	char *line = rpc_error_line(id, code, msg, &len);

	client_send(c, line, len, -1);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static void handle_line(struct api_client *c, const char *line, size_t len)
{
	struct api_server *srv = c->srv;
	struct rpc_request req;
	struct rpc_error re;
	struct api_call *call;

	if (blank(line, len))
		return;
	if (rpc_parse_request(line, len, &req, &re) < 0) {
		/* Malformed requests are answered even without an id. */
		if (!req.notification || re.code == RPC_PARSE_ERROR ||
		    re.code == RPC_INVALID_REQUEST)
			client_error(c, req.id, re.code, re.e.msg);
		rpc_request_free(&req);
		return;
	}
	if (c->nr_calls >= srv->max_calls) {
		snprintf(re.e.msg, sizeof(re.e.msg),
			 "%u calls on this connection are still waiting for an answer; that is the limit",
			 srv->max_calls);
		client_error(c, req.id, RPC_LIMIT, re.e.msg);
		rpc_request_free(&req);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (!call) {
		client_error(c, req.id, RPC_INTERNAL_ERROR, "out of memory");
		rpc_request_free(&req);
		return;
	}
	call->srv = srv;
	call->client = c;
	call->id = json_object_get(req.id);
	call->notification = req.notification;
	call->client_next = c->calls;
	c->calls = call;
	c->nr_calls++;
	srv->ops.request(srv->opaque, call, &req);
	rpc_request_free(&req);
}

static bool client_grow(struct api_client *c)
{
	size_t cap = c->in_cap ? MIN(c->in_cap * 2, (size_t)API_MAX_REQUEST) :
				 API_IN_INITIAL;
	char *in = realloc(c->in, cap);

	if (!in)
		return false;
	c->in = in;
	c->in_cap = cap;
	return true;
}

static void server_wake(struct api_server *srv)
{
	uint64_t one = 1;

	if (write(srv->more_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("control socket: eventfd: %s", strerror(errno));
}

/*
 * Handles the whole requests read so far, API_LINES_PER_TURN of them: a
 * client that sends thousands in one write waits for its next turn while
 * the others are served.
 */
static void client_process(struct api_client *c)
{
	unsigned int lines = 0;
	size_t start = 0;
	char msg[128];
	char *nl;

	c->backlog = false;
	while (!c->dead && client_reading(c) &&
	       (nl = memchr(c->in + start, '\n', c->in_len - start))) {
		size_t len = (size_t)(nl - (c->in + start));

		if (lines++ == API_LINES_PER_TURN) {
			c->backlog = true;
			server_wake(c->srv);
			break;
		}
		handle_line(c, c->in + start, len);
		start += len + 1;
	}
	if (c->dead || !client_reading(c))
		return;
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	client_update_events(c);
	if (c->backlog || c->in_len < API_MAX_REQUEST)
		return;
	/* No newline in a full buffer: the request is over the limit. */
	c->in_len = 0;
	c->closing = true;
	snprintf(msg, sizeof(msg),
		 "invalid request: longer than the limit of %d bytes; closing the connection",
		 API_MAX_REQUEST);
	client_error(c, NULL, RPC_INVALID_REQUEST, msg);
	if (!c->dead)
		client_update_events(c);
	client_maybe_finish(c);
}

static void client_read(struct api_client *c)
{
	ssize_t n;

	if (c->in_len == c->in_cap && !client_grow(c)) {
		client_drop(c, "out of memory for its request");
		return;
	}
	n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_drop(c, NULL);
		return;
	}
	if (n == 0) {
		/* A request cut off by the end of input is not answered. */
		c->eof = true;
		c->in_len = 0;
		client_update_events(c);
		client_maybe_finish(c);
		return;
	}
	c->in_len += (size_t)n;
	client_process(c);
}

static void client_on_event(void *opaque, uint32_t events)
{
	struct api_client *c = opaque;

	c->busy = true;
	if (events & EPOLLOUT)
		client_flush(c);
	if (!c->dead && client_wants_input(c) &&
	    events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(c);
	else if (!c->dead && events & (EPOLLHUP | EPOLLERR))
		client_drop(c, NULL);
	c->busy = false;
	if (c->dead)
		client_free(c);
}

/* The next turn of every client with requests waiting. */
static void on_more(void *opaque, uint32_t events)
{
	struct api_server *srv = opaque;
	struct api_client *c, *next;
	uint64_t v;

	(void)events;
	if (read(srv->more_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	for (c = srv->clients; c; c = next) {
		c->busy = true;
		if (c->backlog && !c->dead)
			client_process(c);
		c->busy = false;
		next = c->next;
		if (c->dead)
			client_free(c);
	}
}

static void refuse(struct api_server *srv, int fd)
{
	char msg[128];
	size_t len = 0;
	char *line;

	snprintf(msg, sizeof(msg), "too many clients (at most %u); try again later",
		 srv->max_clients);
	line = rpc_error_line(NULL, RPC_LIMIT, msg, &len);
	if (line && send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_info("control socket: refusing a client: %s", msg);
	free(line);
	close(fd);
}

static void client_new(struct api_server *srv, int fd)
{
	struct api_client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->out_tail = &c->out_head;
	c->src = (struct event_source){
		.fd = fd, .events = EPOLLIN, .fn = client_on_event, .opaque = c,
	};
	if (event_loop_add(srv->loop, &c->src) < 0) {
		log_warn("control socket: epoll: %s", strerror(errno));
		close(fd);
		free(c);
		return;
	}
	c->next = srv->clients;
	srv->clients = c;
	srv->nr_clients++;
}

static void on_accept(void *opaque, int fd)
{
	struct api_server *srv = opaque;

	if (srv->nr_clients >= srv->max_clients)
		refuse(srv, fd);
	else
		client_new(srv, fd);
}

/* Removes a socket left by a process that died; refuses to touch others. */
static int clear_stale(const char *path, const struct sockaddr_un *addr,
		       struct err *e)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_errno(e, "control socket %s", path);
	if (!S_ISSOCK(st.st_mode))
		return err_set(e, "control socket %s: the path exists and is not a socket",
			       path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, "control socket %s: socket", path);
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (ret == 0)
		return err_set(e, "control socket %s: another process is serving it",
			       path);
	if (errno != ECONNREFUSED)
		return err_errno(e, "control socket %s", path);
	if (unlink(path) < 0)
		return err_errno(e, "control socket %s: removing the stale socket",
				 path);
	return 0;
}

static int bind_private(struct api_server *srv, const struct sockaddr_un *addr,
			struct err *e)
{
	struct stat st;
	mode_t old;
	int ret;

	/* Owner-only from the first instant: no window with wider access. */
	old = umask(0177);
	ret = bind(srv->listen_fd, (const struct sockaddr *)addr, sizeof(*addr));
	umask(old);
	if (ret < 0)
		return err_errno(e, "control socket %s: bind", srv->path);
	if (stat(srv->path, &st) < 0)
		return err_errno(e, "control socket %s", srv->path);
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (listen(srv->listen_fd, SOMAXCONN) < 0)
		return err_errno(e, "control socket %s: listen", srv->path);
	return 0;
}

static void server_close_more(struct api_server *srv)
{
	if (srv->more_fd < 0)
		return;
	event_loop_remove(srv->loop, &srv->more_src);
	close(srv->more_fd);
	srv->more_fd = -1;
}

int api_server_open(struct api_server *srv, const char *path,
		    struct event_loop *loop, const struct api_server_ops *ops,
		    void *opaque, struct err *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct fd_budget fds;

	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = srv->more_fd = -1;
	srv->loop = loop;
	srv->ops = *ops;
	srv->opaque = opaque;
	fd_budget_get(&fds);
	srv->max_clients = MIN(API_MAX_CLIENTS, fds.clients);
	srv->max_output = API_MAX_OUTPUT;
	srv->max_calls = API_MAX_CALLS;
	if (!*path)
		return err_set(e, "control socket: the path is empty");
	if (strlen(path) >= sizeof(addr.sun_path))
		return err_set(e, "control socket %s: the path is longer than %zu bytes",
			       path, sizeof(addr.sun_path) - 1);
	strcpy(addr.sun_path, path);
	srv->path = strdup(path);
	if (!srv->path)
		return err_set(e, "out of memory");
	if (clear_stale(path, &addr, e) < 0)
		goto fail;
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		err_errno(e, "control socket %s: socket", path);
		goto fail;
	}
	if (bind_private(srv, &addr, e) < 0)
		goto fail;
	srv->more_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->more_fd < 0) {
		err_errno(e, "control socket: eventfd");
		goto fail;
	}
	srv->more_src = (struct event_source){
		.fd = srv->more_fd, .events = EPOLLIN, .fn = on_more,
		.opaque = srv,
	};
	if (event_loop_add(loop, &srv->more_src) < 0) {
		err_errno(e, "control socket %s: epoll", path);
		goto fail;
	}
	if (listener_start(&srv->listener, loop, srv->listen_fd,
			   "control socket", API_ACCEPT_BATCH, on_accept, srv,
			   e) < 0)
		goto fail;
	return 0;
fail:
	server_close_more(srv);
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		if (srv->ino)
			unlink(srv->path);
	}
	srv->listen_fd = -1;
	free(srv->path);
	srv->path = NULL;
	return -1;
}

void api_server_close(struct api_server *srv)
{
	struct stat st;

	if (srv->listen_fd >= 0) {
		listener_stop(&srv->listener);
		close(srv->listen_fd);
		srv->listen_fd = -1;
		/* Only our own socket: another process may have replaced it. */
		if (stat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
		    st.st_ino == srv->ino)
			unlink(srv->path);
	}
	while (srv->clients) {
		struct api_client *c = srv->clients;

		c->busy = true;
		client_flush(c);
		client_drop(c, NULL);
		c->busy = false;
		client_free(c);
	}
	server_close_more(srv);
	free(srv->path);
	srv->path = NULL;
}

static void call_end(struct api_call *call)
{
	struct api_client *c = call->client;

	if (c) {
		struct api_call **p = &c->calls;

		while (*p && *p != call)
			p = &(*p)->client_next;
		if (*p)
			*p = call->client_next;
		c->nr_calls--;
	}
	json_object_put(call->id);
	free(call);
	if (c)
		client_maybe_finish(c);
}

void api_call_reply_fd(struct api_call *call, struct json_object *result,
		       int fd)
{
	size_t len = 0;

	if (!call->client || call->notification) {
		json_object_put(result);
		if (fd >= 0)
			close(fd);
	} else {
		char *line = rpc_result_line(call->id, result, &len);

		if (!line) {
			if (fd >= 0)
				close(fd);
			client_error(call->client, call->id, RPC_INTERNAL_ERROR,
				     "out of memory for the response");
		} else {
			client_send(call->client, line, len, fd);
		}
	}
	call_end(call);
}

void api_call_reply(struct api_call *call, struct json_object *result)
{
	api_call_reply_fd(call, result, -1);
}

void api_call_fail(struct api_call *call, const struct rpc_error *re)
{
	if (call->fail_counter)
		metric_add(call->fail_counter, 1);
	if (call->client && !call->notification)
		client_error(call->client, call->id, re->code, re->e.msg);
	call_end(call);
}

void api_call_drop(struct api_call *call)
{
	call_end(call);
}

void api_call_subscribe(struct api_call *call)
{
	if (call->client)
		call->client->subscribed = true;
}

void api_server_notify(struct api_server *srv, const char *method,
		       struct json_object *params)
{
	struct api_client *c, *next;
	size_t len = 0;
	char *line = rpc_notification_line(method, params, &len);

	if (!line)
		return;
	for (c = srv->clients; c; c = next) {
		char *copy;

		next = c->next;
		if (c->dead || !c->subscribed)
			continue;
		copy = malloc(len);
		if (copy)
			memcpy(copy, line, len);
		client_send(c, copy, len, -1);
	}
	free(line);
}
