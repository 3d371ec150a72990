// SPDX-License-Identifier: MIT
/*
 * vsock connections: one stream between a guest port and a host socket.
 *
 * Host to guest, bytes go straight from the host socket into the guest's
 * receive buffers, never more than the guest's credit (its buf_alloc less
 * what it has not consumed yet); without credit or receive buffers the
 * socket is simply not read, and the host writer blocks.
 *
 * Guest to host, bytes go straight from the guest's transmit buffers to the
 * host socket; what the socket does not take waits in a ring of
 * VSOCK_BUF_ALLOC bytes, the credit the guest was given, and a guest that
 * sends past its credit is reset. The guest hears how much was forwarded
 * (fwd_cnt) with every packet, and in a CREDIT_UPDATE once half a window
 * went out since it last heard.
 *
 * Closing follows 5.10.6.6: SHUTDOWN flags per direction, then an RST from
 * the side that saw both directions finish.
 */
#define LOG_COMPONENT "virtio-vsock"

#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t vsock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vsock_conn_init(struct vsock_conn *c, const struct vsock_conn_env *env,
		     int fd)
{
	*c = (struct vsock_conn){ .env = env, .fd = fd,
				  .state = CONN_HANDSHAKE };
}

static void conn_want_rx(struct vsock_conn *c)
{
	c->env->ops->want_rx(c);
}

static void conn_set_deadline(struct vsock_conn *c, int ms)
{
	c->deadline_ms = vsock_now_ms() + ms;
	c->env->ops->deadline(c);
}

void vsock_conn_handshake(struct vsock_conn *c)
{
	c->state = CONN_HANDSHAKE;
	conn_set_deadline(c, VSOCK_HANDSHAKE_TIMEOUT_MS);
	vsock_conn_update_poll(c);
}

void vsock_conn_request(struct vsock_conn *c, uint32_t host_port,
			uint32_t guest_port)
{
	c->host_port = host_port;
	c->guest_port = guest_port;
	c->state = CONN_CONNECTING;
	c->pending = PEND_REQUEST;
	conn_set_deadline(c, VSOCK_CONNECT_TIMEOUT_MS);
	conn_want_rx(c);
	vsock_conn_update_poll(c);
}

void vsock_conn_accept(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->state = CONN_ESTABLISHED;
	c->env->counters->connections++;
	c->pending = PEND_RESPONSE;
	c->host_readable = true;
	conn_want_rx(c);
	vsock_conn_update_poll(c);
}

void vsock_conn_close(struct vsock_conn *c, const char *why)
{
	if (c->fd >= 0) {
		c->env->ops->closing(c, why);
		close(c->fd);
		c->fd = -1;
	}
	ring_free(&c->out);
}

/* Closes the host side for @why and owes the guest an RST. */
static void conn_reset(struct vsock_conn *c, const char *why)
{
	if (c->state == CONN_DEAD)
		return;
	vsock_conn_close(c, why);
	c->state = CONN_DEAD;
	c->pending = PEND_RST;
	c->deadline_ms = 0;
	conn_want_rx(c);
}

void vsock_conn_reset(struct vsock_conn *c)
{
	conn_reset(c, "the guest refused or reset the connection");
}

/* What the guest can still take: its buf_alloc less what it holds. */
static uint32_t conn_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 :
						 c->peer_buf_alloc - in_flight;
}

static bool conn_open(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED || c->state == CONN_CLOSING;
}

/* Host data may go to the guest: nobody closed that direction. */
static bool conn_host_to_guest_open(const struct vsock_conn *c)
{
	return conn_open(c) && !c->host_eof &&
	       !(c->guest_shut & VSOCK_SHUTDOWN_RCV);
}

static bool conn_can_read(const struct vsock_conn *c)
{
	return c->host_readable && conn_host_to_guest_open(c) &&
	       conn_credit(c) > 0;
}

/* Data waits without credit, and the guest was not asked for more yet. */
static bool conn_needs_credit(const struct vsock_conn *c)
{
	return c->host_readable && conn_host_to_guest_open(c) &&
	       conn_credit(c) == 0 && !c->credit_requested;
}

bool vsock_conn_rx_work(const struct vsock_conn *c)
{
	return c->pending || conn_can_read(c) || conn_needs_credit(c);
}

/*
 * Edge-triggered: readiness is remembered in host_readable, so a socket
 * that cannot be read now (no credit, no receive buffers) stays in the
 * epoll set without waking the loop. EPOLLOUT only while bytes wait.
 */
void vsock_conn_update_poll(struct vsock_conn *c)
{
	uint32_t want = EPOLLIN | EPOLLET;

	if (c->fd < 0)
		return;
	if (!ring_empty(&c->out))
		want |= EPOLLOUT;
	c->env->ops->watch(c, want);
}

/* Tells the guest about forwarded bytes once half a window went out. */
static void conn_credit_check(struct vsock_conn *c)
{
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 2) {
		c->pending |= PEND_CREDIT_UPDATE;
		conn_want_rx(c);
	}
}

/*
 * Both directions are finished: the host sends nothing more (our SHUTDOWN
 * said so, or the guest stopped receiving) and everything the guest sent
 * reached the host socket before the guest said it was done. An RST ends it.
 */
static void conn_check_finished(struct vsock_conn *c)
{
	bool host_done = (c->shutdown_sent &&
			  (c->shutdown_flags & VSOCK_SHUTDOWN_SEND)) ||
			 (c->guest_shut & VSOCK_SHUTDOWN_RCV);
	bool guest_done = (c->guest_shut & VSOCK_SHUTDOWN_SEND) &&
			  ring_empty(&c->out);

	if (conn_open(c) && host_done && guest_done)
		vsock_conn_reset(c);
}

/* The guest will send nothing more: pass the EOF on once all is out. */
static void conn_shut_host_write(struct vsock_conn *c)
{
	if ((c->guest_shut & VSOCK_SHUTDOWN_SEND) && ring_empty(&c->out) &&
	    !c->host_wr_shut && c->fd >= 0) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
}

static void conn_flush(struct vsock_conn *c)
{
	while (!ring_empty(&c->out)) {
		size_t n;
		const uint8_t *p = ring_peek(&c->out, &n);
		ssize_t r = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			vsock_conn_reset(c);
			return;
		}
		ring_consume(&c->out, (size_t)r);
		c->fwd_cnt += (uint32_t)r;
	}
	conn_shut_host_write(c);
	conn_credit_check(c);
	conn_check_finished(c);
}

static int conn_buffer(struct vsock_conn *c, const struct iovec *iov,
		       unsigned int niov, size_t off, size_t len)
{
	const struct vsock_conn_env *env = c->env;
	int n;

	if (!c->out.buf && ring_init(&c->out, VSOCK_BUF_ALLOC) < 0) {
		log_error("virtio-vsock: out of memory buffering for port %u",
			  c->host_port);
		return -1;
	}
	n = iov_slice(iov, niov, off, len, env->slice, env->nr_slice);
	for (int i = 0; i < n; i++)
		ring_push(&c->out, env->slice[i].iov_base, env->slice[i].iov_len);
	return n < 0 ? -1 : 0;
}

/* Stream data from the guest: to the host socket, or into the ring. */
static void conn_recv_rw(struct vsock_conn *c, const struct vsock_hdr *h,
			 const struct iovec *iov, unsigned int niov)
{
	const struct vsock_conn_env *env = c->env;
	size_t off = VSOCK_HDR_SIZE, len = h->len;

	if (!conn_open(c) || (c->guest_shut & VSOCK_SHUTDOWN_SEND)) {
		env->counters->bad_state++;
		log_guest_once("virtio-vsock: data for port %u after the stream closed or before it opened; reset",
			       c->host_port);
		vsock_conn_reset(c);
		return;
	}
	if (len == 0)
		return;
	if (c->out.len + len > VSOCK_BUF_ALLOC) {
		env->counters->credit_violations++;
		log_guest_once("virtio-vsock: %zu bytes for port %u exceed the %u-byte window; reset",
			       len, c->host_port, VSOCK_BUF_ALLOC);
		vsock_conn_reset(c);
		return;
	}
	env->counters->tx_bytes += len;
	if (c->shutdown_sent && (c->shutdown_flags & VSOCK_SHUTDOWN_RCV)) {
		/* The host end is gone: nothing can take the data. */
		vsock_conn_reset(c);
		return;
	}
	if (ring_empty(&c->out)) {
		struct msghdr m = { .msg_iov = env->slice };
		int n = iov_slice(iov, niov, off, len, env->slice,
				  env->nr_slice);
		ssize_t r;

		m.msg_iovlen = n < 0 ? 0 : (size_t)n;
		do
			r = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
		if (r < 0 && errno != EAGAIN) {
			vsock_conn_reset(c);
			return;
		}
		if (r > 0) {
			c->fwd_cnt += (uint32_t)r;
			off += (size_t)r;
			len -= (size_t)r;
		}
	}
	if (len && conn_buffer(c, iov, niov, off, len) < 0) {
		vsock_conn_reset(c);
		return;
	}
	conn_credit_check(c);
}

static void conn_recv_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (!conn_open(c)) {
		c->env->counters->bad_state++;
		log_guest_once("virtio-vsock: SHUTDOWN for port %u before the stream opened; reset",
			       c->host_port);
		vsock_conn_reset(c);
		return;
	}
	c->guest_shut |= flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	conn_shut_host_write(c);
	/* Closed both ways with data still queued: flush, but not forever. */
	if (c->guest_shut == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND) &&
	    !ring_empty(&c->out) && c->state != CONN_CLOSING) {
		c->state = CONN_CLOSING;
		conn_set_deadline(c, VSOCK_LINGER_TIMEOUT_MS);
	}
	conn_check_finished(c);
}

/* The guest accepted a connection the host asked for. */
static void conn_established(struct vsock_conn *c)
{
	if (c->env->ops->opened(c) < 0) {
		vsock_conn_reset(c);
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->env->counters->connections++;
	c->deadline_ms = 0;
	/* Bytes may have come while it was connecting: their edge is gone. */
	c->host_readable = true;
}

static void conn_bad_state(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->env->counters->bad_state++;
	log_guest_once("virtio-vsock: op %u not valid for port %u in state %d; reset",
		       h->op, c->host_port, c->state);
	vsock_conn_reset(c);
}

void vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h,
		     const struct iovec *iov, unsigned int niov)
{
	char why[80];

	if (c->state == CONN_DEAD) {
		/* Only the RST that answers ours matters now. */
		if (h->op == VSOCK_OP_RST)
			c->env->ops->release(c);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RST:
		snprintf(why, sizeof(why),
			 "the guest refused the connection to port %u",
			 c->guest_port);
		vsock_conn_close(c, why);
		c->env->ops->release(c);
		return;
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_CONNECTING)
			conn_bad_state(c, h);
		else
			conn_established(c);
		break;
	case VSOCK_OP_REQUEST:
		conn_bad_state(c, h);
		break;
	case VSOCK_OP_SHUTDOWN:
		conn_recv_shutdown(c, h->flags);
		break;
	case VSOCK_OP_RW:
		conn_recv_rw(c, h, iov, niov);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		if (conn_open(c)) {
			c->pending |= PEND_CREDIT_UPDATE;
			conn_want_rx(c);
		}
		break;
	}
	if (c->state == CONN_DEAD)
		return;
	if (conn_credit(c) > 0)
		c->credit_requested = false;
	if (conn_can_read(c))
		conn_want_rx(c);
	vsock_conn_update_poll(c);
}

static void conn_host_eof(struct vsock_conn *c);

bool vsock_conn_data_ready(const struct vsock_conn *c)
{
	return !(c->pending & (PEND_RST | PEND_REQUEST | PEND_RESPONSE)) &&
	       conn_can_read(c);
}

bool vsock_conn_data_only(const struct vsock_conn *c)
{
	return !c->pending && conn_can_read(c);
}

uint32_t vsock_conn_credit(const struct vsock_conn *c)
{
	return conn_credit(c);
}

uint32_t vsock_conn_readv(struct vsock_conn *c, const struct iovec *iov,
			  unsigned int niov)
{
	ssize_t r;

	if (!niov)
		return 0;
	do
		r = readv(c->fd, iov, (int)niov);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		return (uint32_t)r;
	if (r == 0)
		conn_host_eof(c);
	else if (errno == EAGAIN)
		c->host_readable = false;
	else
		vsock_conn_reset(c);
	return 0;
}

/* Fills the common header fields of a packet from @c. */
static void conn_hdr(struct vsock_conn *c, struct vsock_hdr *h, uint16_t op,
		     uint32_t len)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = c->env->guest_cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = VSOCK_BUF_ALLOC,
		/* Every packet tells the guest how much of its data went out. */
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pending &= ~PEND_CREDIT_UPDATE;
}

void vsock_conn_rw_hdr(struct vsock_conn *c, uint32_t len,
		       uint8_t raw[VSOCK_HDR_SIZE])
{
	struct vsock_hdr h;

	conn_hdr(c, &h, VSOCK_OP_RW, len);
	vsock_hdr_encode(&h, raw);
	c->tx_cnt += len;
	c->env->counters->rx_bytes += len;
}

/* Host bytes into one receive chain, after the header. */
static uint32_t conn_read(struct vsock_conn *c, const struct iovec *iov,
			  unsigned int niov, uint64_t room)
{
	const struct vsock_conn_env *env = c->env;
	size_t want = (size_t)MIN(MIN(room, (uint64_t)VSOCK_MAX_PKT),
				  (uint64_t)conn_credit(c));
	int n = iov_slice(iov, niov, VSOCK_HDR_SIZE, want, env->slice,
			  env->nr_slice);

	return n <= 0 ? 0 : vsock_conn_readv(c, env->slice, (unsigned int)n);
}

/* The host socket reached EOF: the host sends no more, maybe is gone. */
static void conn_host_eof(struct vsock_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

	c->host_eof = true;
	c->host_readable = false;
	c->shutdown_flags = VSOCK_SHUTDOWN_SEND;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		c->shutdown_flags |= VSOCK_SHUTDOWN_RCV;
	c->pending |= PEND_SHUTDOWN;
}

/* Our SHUTDOWN went out: wait for the guest's close where the host is gone. */
static void conn_shutdown_sent(struct vsock_conn *c)
{
	c->shutdown_sent = true;
	if ((c->shutdown_flags & VSOCK_SHUTDOWN_RCV) &&
	    c->state != CONN_CLOSING) {
		c->state = CONN_CLOSING;
		conn_set_deadline(c, VSOCK_LINGER_TIMEOUT_MS);
	}
	conn_check_finished(c);
}

/* Picks the op of the next packet; reads host data for RW. */
static uint16_t conn_next_op(struct vsock_conn *c, const struct iovec *iov,
			     unsigned int niov, uint64_t space,
			     uint32_t *len)
{
	*len = 0;
	if (c->pending & PEND_RST)
		return VSOCK_OP_RST;
	if (c->pending & PEND_REQUEST)
		return VSOCK_OP_REQUEST;
	if (c->pending & PEND_RESPONSE)
		return VSOCK_OP_RESPONSE;
	if (conn_can_read(c)) {
		*len = conn_read(c, iov, niov, space - VSOCK_HDR_SIZE);
		if (*len)
			return VSOCK_OP_RW;
		if (c->pending & PEND_RST)
			return VSOCK_OP_RST;
	}
	if (conn_needs_credit(c))
		c->pending |= PEND_CREDIT_REQUEST;
	if (c->pending & PEND_CREDIT_UPDATE)
		return VSOCK_OP_CREDIT_UPDATE;
	if (c->pending & PEND_CREDIT_REQUEST)
		return VSOCK_OP_CREDIT_REQUEST;
	if (c->pending & PEND_SHUTDOWN)
		return VSOCK_OP_SHUTDOWN;
	return VSOCK_OP_INVALID;
}

uint32_t vsock_conn_fill(struct vsock_conn *c, const struct iovec *iov,
			 unsigned int niov, uint64_t space)
{
	struct vsock_hdr h;
	uint8_t raw[VSOCK_HDR_SIZE];
	uint32_t len;
	uint16_t op = conn_next_op(c, iov, niov, space, &len);

	if (op == VSOCK_OP_RW) {
		vsock_conn_rw_hdr(c, len, raw);
		iov_from_buf(iov, niov, 0, raw, VSOCK_HDR_SIZE);
		return VSOCK_HDR_SIZE + len;
	}
	switch (op) {
	case VSOCK_OP_INVALID:
		return 0;
	case VSOCK_OP_RST:
		c->pending = 0;
		break;
	case VSOCK_OP_REQUEST:
		c->pending &= ~PEND_REQUEST;
		break;
	case VSOCK_OP_RESPONSE:
		c->pending &= ~PEND_RESPONSE;
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending &= ~PEND_CREDIT_REQUEST;
		c->credit_requested = true;
		break;
	case VSOCK_OP_SHUTDOWN:
		c->pending &= ~PEND_SHUTDOWN;
		break;
	}
	conn_hdr(c, &h, op, 0);
	if (op == VSOCK_OP_SHUTDOWN)
		h.flags = c->shutdown_flags;
	vsock_hdr_encode(&h, raw);
	iov_from_buf(iov, niov, 0, raw, VSOCK_HDR_SIZE);
	if (op == VSOCK_OP_SHUTDOWN)
		conn_shutdown_sent(c);
	return VSOCK_HDR_SIZE;
}

void vsock_conn_expire(struct vsock_conn *c)
{
	char why[96];

	switch (c->state) {
	case CONN_HANDSHAKE:
		vsock_conn_close(c, "the client did not say which port");
		c->env->ops->release(c);
		return;
	case CONN_CONNECTING:
		snprintf(why, sizeof(why),
			 "the guest did not answer the connection to port %u within %d ms",
			 c->guest_port, VSOCK_CONNECT_TIMEOUT_MS);
		conn_reset(c, why);
		return;
	case CONN_ESTABLISHED:
	case CONN_CLOSING:
	case CONN_DEAD:
		vsock_conn_reset(c);
		return;
	}
}

void vsock_conn_stream_ready(struct vsock_conn *c, uint32_t events)
{
	if (events & EPOLLOUT)
		conn_flush(c);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    conn_host_to_guest_open(c)) {
		c->host_readable = true;
		conn_want_rx(c);
	}
	vsock_conn_update_poll(c);
}
