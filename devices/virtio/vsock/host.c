// SPDX-License-Identifier: MIT
/*
 * The host's ends of vsock streams, as Firecracker lays them out:
 *   - a host program connects to the Unix socket PATH and writes
 *     "CONNECT <port>\n"; once the guest accepts, it reads
 *     "OK <host-port>\n" and the stream is open;
 *   - a guest connection to host port P is relayed to the Unix socket
 *     listening at the path registered for P (--vsock-listen, the control
 *     API), else at "PATH_P";
 *   - the control API's connect gets one end of a socket pair.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* "CONNECT 4294967294\n" with room to spare. */
#define CONNECT_LINE_MAX 32
/* Clients accepted per wake-up before other sources get their turn. */
#define ACCEPT_BUDGET 16
#define LISTEN_BACKLOG 64
#define VSOCK_PORT_ANY 0xffffffffU

static struct vsock_listener *find_listener(struct vsock *vs, uint32_t port)
{
	for (unsigned int i = 0; i < vs->nr_listeners; i++)
		if (vs->listeners[i].port == port)
			return &vs->listeners[i];
	return NULL;
}

int vsock_host_add_listener(struct vsock *vs, uint32_t port, const char *path,
			    struct err *e)
{
	size_t n = strlen(path);
	struct vsock_listener *l = find_listener(vs, port);

	if (port == VSOCK_PORT_ANY)
		return err_set(e, "vsock port %u is VMADDR_PORT_ANY, not a port",
			       port);
	if (n == 0 || n >= CONFIG_VSOCK_PATH_MAX)
		return err_set(e, "vsock port %u: the listener path must have 1 to %d bytes",
			       port, CONFIG_VSOCK_PATH_MAX - 1);
	if (l)
		return err_set(e, "vsock port %u already has a listener (%s)",
			       port, l->path);
	if (vs->nr_listeners == VSOCK_MAX_LISTENERS)
		return err_set(e, "vsock port %u: at most %d listeners", port,
			       VSOCK_MAX_LISTENERS);
	l = &vs->listeners[vs->nr_listeners++];
	l->port = port;
	memcpy(l->path, path, n + 1);
	return 0;
}

int vsock_host_remove_listener(struct vsock *vs, uint32_t port, struct err *e)
{
	struct vsock_listener *l = find_listener(vs, port);

	if (!l)
		return err_set(e, "vsock port %u has no listener", port);
	*l = vs->listeners[--vs->nr_listeners];
	return 0;
}

static int unix_addr(struct sockaddr_un *a, const char *path)
{
	if (strlen(path) >= sizeof(a->sun_path))
		return -1;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return 0;
}

/* Where a guest connection to host @port goes. */
static int guest_target(struct vsock *vs, uint32_t port,
			struct sockaddr_un *a)
{
	struct vsock_listener *l = find_listener(vs, port);
	char path[CONFIG_VSOCK_PATH_MAX + 16];

	if (l)
		return unix_addr(a, l->path);
	snprintf(path, sizeof(path), "%s_%u", vs->uds_path, port);
	return unix_addr(a, path);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void refuse(struct vsock *vs, const struct vsock_hdr *h)
{
	vsock_rst_queue(vs, VSOCK_HOST_CID, h->dst_port, h->src_port);
}

void vsock_host_guest_connect(struct vsock *vs, const struct vsock_hdr *h)
{
	struct sockaddr_un a;
	struct vsock_conn *c;
	int fd;

	if (guest_target(vs, h->dst_port, &a) < 0) {
		refuse(vs, h);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("virtio-vsock: socket: %s", strerror(errno));
		refuse(vs, h);
		return;
	}
	/* Unix sockets connect at once, or fail (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		vs->counters.refused++;
		close(fd);
		refuse(vs, h);
		return;
	}
	c = vsock_conn_new(vs, ORIGIN_GUEST, fd);
	if (!c) {
		close(fd);
		refuse(vs, h);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->state = CONN_ESTABLISHED;
	c->pending = PEND_RESPONSE;
	c->host_readable = true;
	vsock_conn_hash(c);
	vsock_conn_want_rx(c);
	vsock_conn_update_poll(c);
}

int vsock_host_alloc_port(struct vsock *vs, uint32_t guest_port,
			  uint32_t *out)
{
	for (unsigned int i = 0; i <= VSOCK_MAX_CONNS; i++) {
		uint32_t p = vs->next_port;

		vs->next_port = p + 1 >= VSOCK_PORT_ANY ? VSOCK_EPHEMERAL_BASE :
							  p + 1;
		if (!vsock_conn_find(vs, p, guest_port)) {
			*out = p;
			return 0;
		}
	}
	return -1;
}

int vsock_host_start_request(struct vsock_conn *c, uint32_t guest_port)
{
	struct vsock *vs = c->vs;

	if (vsock_host_alloc_port(vs, guest_port, &c->host_port) < 0)
		return -1;
	c->guest_port = guest_port;
	c->state = CONN_CONNECTING;
	c->pending = PEND_REQUEST;
	c->deadline_ms = vsock_now_ms() + VSOCK_CONNECT_TIMEOUT_MS;
	vsock_conn_hash(c);
	vsock_conn_want_rx(c);
	vsock_conn_update_poll(c);
	vsock_timer_update(vs);
	return 0;
}

/* "CONNECT <port>\n", with an optional '\r' before the newline. */
static int parse_connect(char *line, size_t len, uint32_t *port)
{
	unsigned long long v = 0;
	size_t i = 8;

	if (len && line[len - 1] == '\r')
		len--;
	if (len <= 8 || memcmp(line, "CONNECT ", 8))
		return -1;
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(line[i] - '0');
		if (v >= VSOCK_PORT_ANY)
			return -1;
	}
	*port = (uint32_t)v;
	return 0;
}

static void bad_connect(struct vsock_conn *c, const char *why)
{
	struct vsock *vs = c->vs;

	vs->counters.host_bad_connect++;
	if (!vs->bad_connect_logged) {
		vs->bad_connect_logged = true;
		log_warn("virtio-vsock: %s: %s; closed", vs->uds_path, why);
	}
	vsock_conn_free(c);
}

/*
 * Reads the CONNECT line without taking a byte past its newline: what
 * follows is already stream data for the guest.
 */
void vsock_host_handshake(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	char line[CONNECT_LINE_MAX];
	uint32_t port;
	ssize_t n;
	char *nl;

	do
		n = recv(c->fd, line, sizeof(line), MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		vsock_conn_free(c);
		return;
	}
	nl = memchr(line, '\n', (size_t)n);
	if (!nl) {
		if (n == sizeof(line))
			bad_connect(c, "a client's first line is not \"CONNECT <port>\"");
		return;
	}
	if (recv(c->fd, line, (size_t)(nl - line) + 1, 0) != nl - line + 1 ||
	    parse_connect(line, (size_t)(nl - line), &port) < 0) {
		bad_connect(c, "a client's first line is not \"CONNECT <port>\"");
		return;
	}
	if (!vsock_ready(vs) || vsock_host_start_request(c, port) < 0)
		vsock_conn_free(c);
}

static void listen_event(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;

	(void)events;
	virtio_lock(&vs->vdev);
	vsock_sync(vs);
	for (unsigned int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(vs->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_error("virtio-vsock: accepting on %s: %s",
					  vs->uds_path, strerror(errno));
			break;
		}
		c = vsock_conn_new(vs, ORIGIN_UDS, fd);
		if (!c) {
			close(fd);
			continue;
		}
		c->state = CONN_HANDSHAKE;
		c->deadline_ms = vsock_now_ms() + VSOCK_HANDSHAKE_TIMEOUT_MS;
		vsock_conn_update_poll(c);
		vsock_timer_update(vs);
	}
	virtio_unlock(&vs->vdev);
}

int vsock_host_api_connect(struct vsock *vs, uint32_t port,
			   vsock_connect_done_fn done, void *ctx,
			   struct err *e)
{
	struct vsock_call *call;
	struct vsock_conn *c;
	int sv[2];

	if (port == VSOCK_PORT_ANY)
		return err_set(e, "vsock port %u is VMADDR_PORT_ANY, not a port",
			       port);
	if (!vsock_ready(vs))
		return err_set(e, "the guest's vsock driver is not running");
	call = calloc(1, sizeof(*call));
	if (!call)
		return err_set(e, "out of memory");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(call);
		return err_errno(e, "vsock: socketpair");
	}
	c = vsock_conn_new(vs, ORIGIN_API, sv[0]);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		free(call);
		return err_set(e, "vsock: at most %d connections at once",
			       VSOCK_MAX_CONNS);
	}
	set_nonblock(sv[0]);
	call->done = done;
	call->ctx = ctx;
	call->fd = -1;
	c->call = call;
	c->api_fd = sv[1];
	if (vsock_host_start_request(c, port) < 0) {
		err_set(&call->e, "no host port left for guest port %u", port);
		vsock_conn_free(c);
		return 0;
	}
	vsock_rx_run(vs);
	return 0;
}

static int bind_listener(struct vsock *vs, struct err *e)
{
	struct sockaddr_un a;
	struct stat st;

	if (unix_addr(&a, vs->uds_path) < 0)
		return err_set(e, "virtio-vsock: socket path %s is too long",
			       vs->uds_path);
	/* Replace a stale socket, never another kind of file. */
	if (lstat(vs->uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, "virtio-vsock: %s exists and is not a socket",
				       vs->uds_path);
		unlink(vs->uds_path);
	}
	vs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					 SOCK_CLOEXEC, 0);
	if (vs->listen_fd < 0)
		return err_errno(e, "virtio-vsock: socket");
	if (bind(vs->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return err_errno(e, "virtio-vsock: binding %s", vs->uds_path);
	chmod(vs->uds_path, 0600);
	if (listen(vs->listen_fd, LISTEN_BACKLOG) < 0)
		return err_errno(e, "virtio-vsock: listening on %s",
				 vs->uds_path);
	return 0;
}

int vsock_host_open(struct vsock *vs, const struct vsock_config *cfg,
		    struct err *e)
{
	memcpy(vs->uds_path, cfg->uds_path, sizeof(vs->uds_path));
	vs->uds_path[sizeof(vs->uds_path) - 1] = '\0';
	if (!vs->uds_path[0])
		return err_set(e, "virtio-vsock: no Unix socket path (uds=PATH)");
	for (unsigned int i = 0; i < cfg->nr_listeners; i++) {
		const struct vsock_listen_config *l = &cfg->listeners[i];

		if (memchr(l->path, '\0', sizeof(l->path)) == NULL ||
		    vsock_host_add_listener(vs, l->port, l->path, e) < 0)
			return err_prefix(e, "--vsock-listen");
	}
	if (bind_listener(vs, e) < 0)
		return -1;
	vs->listen_src = (struct event_source){
		.fd = vs->listen_fd, .events = EPOLLIN,
		.fn = listen_event, .opaque = vs,
	};
	if (event_loop_add(vs->vdev.host->loop, &vs->listen_src) < 0)
		return err_errno(e, "virtio-vsock: epoll");
	vs->listen_watched = true;
	return 0;
}

void vsock_host_close(struct vsock *vs)
{
	if (vs->listen_watched)
		event_loop_remove(vs->vdev.host->loop, &vs->listen_src);
	vs->listen_watched = false;
	if (vs->listen_fd >= 0) {
		close(vs->listen_fd);
		unlink(vs->uds_path);
	}
	vs->listen_fd = -1;
}
