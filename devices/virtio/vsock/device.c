// SPDX-License-Identifier: MIT
/*
 * virtio-vsock, the device: three queues, the packets' checks, and the
 * receive loop that hands the guest what its connections owe it.
 *
 * Every packet from the guest is checked before anything acts on it: its
 * header must be complete, come from the guest's own CID, go to the host,
 * be a stream packet with a known op, and carry no more payload than the
 * chain holds. What fails is counted, logged once, and answered with an
 * RST where the addresses can be trusted to mean the guest.
 *
 * Receive buffers are taken only when a packet is ready for them; when the
 * guest posts none, host sockets stop being read until it does. Packets
 * that must not be lost (RSTs, handshake answers, credit updates) are flags
 * on their connection or entries of a bounded RST queue, so a guest that
 * never posts buffers cannot make the VMM's memory grow.
 */
#define LOG_COMPONENT "virtio-vsock"

#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"

#include "conn.h"
#include "host.h"

/* Chains handled per wake-up before other event sources get their turn. */
#define VSOCK_BUDGET 256
/* Receive chains one host read may fill. */
#define VSOCK_RX_BATCH 64
/* How often deadlines are checked while any is set. */
#define VSOCK_TIMER_MS 200

#define VSOCK_HASH_SIZE 1024
#define VSOCK_RST_QUEUE 128

/* An intrusive doubly linked list; an unlinked node points at itself. */
struct vsock_link {
	struct vsock_link *prev, *next;
};

static void link_init(struct vsock_link *l)
{
	l->prev = l->next = l;
}

static bool link_empty(const struct vsock_link *l)
{
	return l->next == l;
}

static void link_del(struct vsock_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

static void link_add_tail(struct vsock_link *head, struct vsock_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

/* A control API connect waiting for its answer, then for its callback. */
struct vsock_call {
	vsock_connect_done_fn done;
	void *ctx;
	int fd;
	struct err e;
	struct vsock_call *next;
};

enum vsock_origin {
	ORIGIN_UDS,   /* a client of the device's Unix socket */
	ORIGIN_API,   /* the control API's connect */
	ORIGIN_GUEST, /* the guest connected to the host */
};

/* The device's record of a connection: where it is kept and watched. */
struct vsock_stream {
	struct vsock_conn conn;
	struct vsock *vs;
	enum vsock_origin origin;
	struct event_source src;
	bool watched;
	bool hashed;
	/* From before a device reset: only its host end is left to close. */
	bool stale;
	int api_fd; /* ORIGIN_API: the caller's end, until established */
	struct vsock_call *call;
	struct vsock_stream *hash_next;
	struct vsock_link all;
	struct vsock_link rxl; /* on vs->rx_pending while linked */
};

/* A connection-less RST owed to the guest. */
struct vsock_rst {
	uint64_t src_cid;
	uint32_t src_port;
	uint32_t dst_port;
};

struct vsock {
	struct virtio_device vdev;
	uint8_t config[VIRTIO_VSOCK_CFG_SIZE];
	struct vsock_control control;
	uint32_t guest_cid;
	struct vsock_host host;
	struct vsock_conn_env env;

	int timer_fd;
	struct event_source timer_src;
	bool timer_watched;
	bool timer_armed;
	int work_fd; /* deferred work: stale streams, callbacks */
	struct event_source work_src;
	bool work_watched;

	struct vsock_stream *hash[VSOCK_HASH_SIZE];
	struct vsock_link streams;
	struct vsock_link rx_pending;
	unsigned int nr_streams;
	unsigned int max_conns;
	uint32_t next_port;

	struct vsock_rst rst[VSOCK_RST_QUEUE];
	unsigned int rst_head;
	unsigned int rst_len;
	bool event_pending; /* TRANSPORT_RESET owed to the driver */

	struct iovec slice[VIRTIO_VSOCK_QUEUE_SIZE];
	struct vsock_call *calls_done; /* callbacks to run without the lock */
	struct vsock_counters counters;
	struct metrics_group metrics;
};

static struct vsock *to_vsock(struct virtio_device *vdev)
{
	return container_of(vdev, struct vsock, vdev);
}

static struct vsock_stream *to_stream(struct vsock_conn *c)
{
	return container_of(c, struct vsock_stream, conn);
}

static bool vsock_ready(struct vsock *vs)
{
	return virtio_active(&vs->vdev) &&
	       vs->vdev.vqs[VIRTIO_VSOCK_RXQ].ready &&
	       vs->vdev.vqs[VIRTIO_VSOCK_TXQ].ready;
}

static void vsock_wake(struct vsock *vs)
{
	uint64_t one = 1;

	if (write(vs->work_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("virtio-vsock: waking the event loop: %s",
			  strerror(errno));
}

/* Queues a finished control API call; it runs without the lock. */
static void vsock_complete(struct vsock *vs, struct vsock_call *call)
{
	call->next = vs->calls_done;
	vs->calls_done = call;
	vsock_wake(vs);
}

/* Runs finished control API calls, oldest first, without the lock. */
static void vsock_run_calls(struct vsock_call *calls)
{
	struct vsock_call *rev = NULL;

	while (calls) {
		struct vsock_call *next = calls->next;

		calls->next = rev;
		rev = calls;
		calls = next;
	}
	while (rev) {
		struct vsock_call *next = rev->next;

		if (rev->fd >= 0)
			rev->done(rev->ctx, rev->fd, NULL);
		else
			rev->done(rev->ctx, -1, &rev->e);
		free(rev);
		rev = next;
	}
}

static void vsock_rst_queue(struct vsock *vs, uint64_t src_cid,
			    uint32_t src_port, uint32_t dst_port)
{
	if (vs->rst_len == VSOCK_RST_QUEUE) {
		vs->counters.rst_dropped++;
		log_guest_once("virtio-vsock: %d RSTs wait for receive buffers; more are dropped",
			       VSOCK_RST_QUEUE);
		return;
	}
	vs->rst[(vs->rst_head + vs->rst_len) % VSOCK_RST_QUEUE] =
		(struct vsock_rst){ src_cid, src_port, dst_port };
	vs->rst_len++;
}

/* Refuses the guest's packet @h with an RST from the host port it named. */
static void vsock_refuse(struct vsock *vs, const struct vsock_hdr *h)
{
	vsock_rst_queue(vs, VSOCK_HOST_CID, h->dst_port, h->src_port);
}

/* ---- the connection table ---- */

static uint32_t stream_bucket(uint32_t host_port, uint32_t guest_port)
{
	uint32_t h = host_port * 0x9e3779b1U ^ guest_port * 0x85ebca6bU;

	return (h ^ (h >> 15)) % VSOCK_HASH_SIZE;
}

static struct vsock_stream *stream_find(struct vsock *vs, uint32_t host_port,
					uint32_t guest_port)
{
	struct vsock_stream *s = vs->hash[stream_bucket(host_port, guest_port)];

	for (; s; s = s->hash_next)
		if (s->conn.host_port == host_port &&
		    s->conn.guest_port == guest_port)
			return s;
	return NULL;
}

/* Enters @s under its ports (set by now) so the guest's packets find it. */
static void stream_hash(struct vsock_stream *s)
{
	struct vsock_stream **b = &s->vs->hash[stream_bucket(
		s->conn.host_port, s->conn.guest_port)];

	s->hash_next = *b;
	*b = s;
	s->hashed = true;
}

static void stream_unhash(struct vsock_stream *s)
{
	struct vsock_stream **p = &s->vs->hash[stream_bucket(
		s->conn.host_port, s->conn.guest_port)];

	if (!s->hashed)
		return;
	for (; *p; p = &(*p)->hash_next) {
		if (*p == s) {
			*p = s->hash_next;
			break;
		}
	}
	s->hashed = false;
}

static void stream_event(void *opaque, uint32_t events);

static struct vsock_stream *stream_new(struct vsock *vs, enum vsock_origin o,
				       int fd)
{
	struct vsock_stream *s;

	if (vs->nr_streams >= vs->max_conns) {
		vs->counters.conn_limit++;
		if (o == ORIGIN_GUEST)
			log_guest_once("virtio-vsock: connection refused: %u connections are open",
				       vs->max_conns);
		else
			log_warn("virtio-vsock: host connection refused: %u connections are open",
				 vs->max_conns);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_error("virtio-vsock: out of memory for a connection");
		return NULL;
	}
	vsock_conn_init(&s->conn, &vs->env, fd);
	s->vs = vs;
	s->origin = o;
	s->api_fd = -1;
	s->src = (struct event_source){
		.fd = fd, .fn = stream_event, .opaque = s,
	};
	link_init(&s->rxl);
	link_add_tail(&vs->streams, &s->all);
	vs->nr_streams++;
	return s;
}

static void stream_free(struct vsock_stream *s, const char *why)
{
	struct vsock *vs = s->vs;

	vsock_conn_close(&s->conn, why);
	stream_unhash(s);
	link_del(&s->all);
	link_del(&s->rxl);
	vs->nr_streams--;
	free(s);
}

/* Drops every connection (stale ones only, with @stale): API calls fail. */
static void vsock_purge(struct vsock *vs, bool stale, const char *why)
{
	struct vsock_link *l, *next;

	for (l = vs->streams.next; l != &vs->streams; l = next) {
		struct vsock_stream *s =
			container_of(l, struct vsock_stream, all);

		next = l->next;
		if (!stale || s->stale)
			stream_free(s, why);
	}
}

/* ---- what connections ask of the device (struct vsock_conn_ops) ---- */

static void conn_want_rx(struct vsock_conn *c)
{
	struct vsock_stream *s = to_stream(c);

	if (link_empty(&s->rxl))
		link_add_tail(&s->vs->rx_pending, &s->rxl);
}

/*
 * Edge-triggered: readiness is remembered by the connection, so a stream
 * that cannot be read now (no credit, no receive buffers) stays in the
 * epoll set without waking the loop.
 */
static void conn_watch(struct vsock_conn *c, uint32_t events)
{
	struct vsock_stream *s = to_stream(c);
	struct event_loop *loop = s->vs->vdev.host->loop;

	if (s->watched) {
		if (event_loop_modify(loop, &s->src, events) < 0)
			log_error("virtio-vsock: epoll: %s", strerror(errno));
		return;
	}
	s->src.events = events;
	if (event_loop_add(loop, &s->src) < 0) {
		log_error("virtio-vsock: watching a host socket: %s",
			  strerror(errno));
		return;
	}
	s->watched = true;
}

/* Deadlines are checked every VSOCK_TIMER_MS while any is set. */
static void conn_deadline(struct vsock_conn *c)
{
	struct vsock *vs = to_stream(c)->vs;
	struct itimerspec its = {
		.it_interval = { 0, VSOCK_TIMER_MS * 1000000L },
		.it_value = { 0, VSOCK_TIMER_MS * 1000000L },
	};

	if (vs->timer_armed)
		return;
	if (timerfd_settime(vs->timer_fd, 0, &its, NULL) < 0) {
		log_error("virtio-vsock: timerfd: %s", strerror(errno));
		return;
	}
	vs->timer_armed = true;
}

static int conn_opened(struct vsock_conn *c)
{
	struct vsock_stream *s = to_stream(c);

	if (s->origin == ORIGIN_UDS)
		return vsock_host_send_ok(c->fd, c->host_port);
	if (s->origin == ORIGIN_API && s->call) {
		s->call->fd = s->api_fd;
		s->api_fd = -1;
		vsock_complete(s->vs, s->call);
		s->call = NULL;
	}
	return 0;
}

static void conn_closing(struct vsock_conn *c, const char *why)
{
	struct vsock_stream *s = to_stream(c);

	if (s->watched)
		event_loop_remove(s->vs->vdev.host->loop, &s->src);
	s->watched = false;
	if (s->api_fd >= 0)
		close(s->api_fd);
	s->api_fd = -1;
	if (s->call) {
		err_set(&s->call->e, "%s", why);
		vsock_complete(s->vs, s->call);
		s->call = NULL;
	}
}

static void conn_release(struct vsock_conn *c)
{
	stream_free(to_stream(c), "the connection was closed");
}

static const struct vsock_conn_ops vsock_conn_ops = {
	.want_rx = conn_want_rx,
	.watch = conn_watch,
	.deadline = conn_deadline,
	.opened = conn_opened,
	.closing = conn_closing,
	.release = conn_release,
};

/* ---- connecting ---- */

/* A free host port for a host-initiated connection to @guest_port. */
static int alloc_port(struct vsock *vs, uint32_t guest_port, uint32_t *out)
{
	for (unsigned int i = 0; i <= vs->max_conns; i++) {
		uint32_t p = vs->next_port;

		vs->next_port = p + 1 >= VSOCK_PORT_ANY ? VSOCK_EPHEMERAL_BASE :
							  p + 1;
		if (!stream_find(vs, p, guest_port)) {
			*out = p;
			return 0;
		}
	}
	return -1;
}

/* The host connects @s to @guest_port: a REQUEST is owed to the guest. */
static int stream_request(struct vsock_stream *s, uint32_t guest_port)
{
	uint32_t host_port;

	if (alloc_port(s->vs, guest_port, &host_port) < 0)
		return -1;
	vsock_conn_request(&s->conn, host_port, guest_port);
	stream_hash(s);
	return 0;
}

/* The guest asks for host port @h->dst_port. */
static void guest_connect(struct vsock *vs, const struct vsock_hdr *h)
{
	int fd = vsock_host_dial(&vs->host, h->dst_port);
	struct vsock_stream *s;

	if (fd == -1)
		vs->counters.refused++;
	if (fd < 0) {
		vsock_refuse(vs, h);
		return;
	}
	s = stream_new(vs, ORIGIN_GUEST, fd);
	if (!s) {
		close(fd);
		vsock_refuse(vs, h);
		return;
	}
	vsock_conn_accept(&s->conn, h);
	stream_hash(s);
}

/* A client of the Unix socket: it has a while to say which port. */
static void host_accept(void *owner, int fd)
{
	struct vsock *vs = owner;
	struct vsock_stream *s;

	virtio_lock(&vs->vdev);
	s = stream_new(vs, ORIGIN_UDS, fd);
	if (s)
		vsock_conn_handshake(&s->conn);
	else
		close(fd);
	virtio_unlock(&vs->vdev);
}

static void stream_handshake(struct vsock_stream *s)
{
	struct vsock *vs = s->vs;
	uint32_t port;
	int r = vsock_host_read_connect(&vs->host, s->conn.fd, &port);

	if (r == 0)
		return;
	if (r == -2)
		vs->counters.host_bad_connect++;
	if (r < 0 || !vsock_ready(vs) || stream_request(s, port) < 0)
		stream_free(s, "the connection was closed");
}

static void vsock_rx_run(struct vsock *vs);

static void stream_event(void *opaque, uint32_t events)
{
	struct vsock_stream *s = opaque;
	struct vsock *vs = s->vs;

	virtio_lock(&vs->vdev);
	/* A stale stream waits for the loop to close it; nothing to do. */
	if (s->stale) {
		virtio_unlock(&vs->vdev);
		return;
	}
	if (s->conn.state == CONN_HANDSHAKE) {
		stream_handshake(s);
	} else {
		vsock_conn_stream_ready(&s->conn, events);
		vsock_rx_run(vs);
	}
	virtio_unlock(&vs->vdev);
}

static void vsock_timer_event(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	struct itimerspec off = { 0 };
	struct vsock_link *l, *next;
	int64_t now = vsock_now_ms();
	bool any = false;
	uint64_t ticks;

	(void)events;
	if (read(vs->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	virtio_lock(&vs->vdev);
	for (l = vs->streams.next; l != &vs->streams; l = next) {
		struct vsock_stream *s =
			container_of(l, struct vsock_stream, all);

		next = l->next;
		if (!s->conn.deadline_ms)
			continue;
		if (now >= s->conn.deadline_ms) {
			vs->counters.timeouts++;
			vsock_conn_expire(&s->conn);
		} else {
			any = true;
		}
	}
	if (!any && timerfd_settime(vs->timer_fd, 0, &off, NULL) == 0)
		vs->timer_armed = false;
	vsock_rx_run(vs);
	virtio_unlock(&vs->vdev);
}

/*
 * The next receive chain a packet fits in (device-writable, header room).
 * Unusable ones go back empty. 1: @ch is ready; 0: none; -1: broken ring.
 */
static int rx_next_chain(struct vsock *vs, struct virtq *vq,
			 struct virtq_chain *ch, bool *pushed)
{
	for (unsigned int tries = vq->size; tries; tries--) {
		int r = virtio_pop(&vs->vdev, vq, ch);

		if (r <= 0)
			return r;
		if (!ch->nr_out && ch->in_len >= VSOCK_HDR_SIZE)
			return 1;
		vs->counters.bad_rx_buffers++;
		log_guest_once("virtio-vsock: receive chain %u (%llu writable bytes, %u readable buffers) cannot hold a packet; returned unused",
			       ch->head, (unsigned long long)ch->in_len,
			       ch->nr_out);
		virtq_push(vq, ch->head, 0);
		*pushed = true;
	}
	return 0;
}

static uint32_t rx_fill_rst(struct vsock *vs, const struct virtq_chain *ch)
{
	const struct vsock_rst *r = &vs->rst[vs->rst_head];
	struct vsock_hdr h = {
		.src_cid = r->src_cid,
		.dst_cid = vs->guest_cid,
		.src_port = r->src_port,
		.dst_port = r->dst_port,
		.type = VSOCK_TYPE_STREAM,
		.op = VSOCK_OP_RST,
	};
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_encode(&h, raw);
	iov_from_buf(ch->iov, ch->nr_in, 0, raw, sizeof(raw));
	vs->rst_head = (vs->rst_head + 1) % VSOCK_RST_QUEUE;
	vs->rst_len--;
	return VSOCK_HDR_SIZE;
}

/* After packets from @s: round robin, or off the list, or gone. */
static void rx_conn_done(struct vsock *vs, struct vsock_stream *s)
{
	struct vsock_conn *c = &s->conn;

	link_del(&s->rxl);
	if (c->state == CONN_DEAD && !c->pending)
		stream_free(s, "the connection was closed");
	else if (vsock_conn_rx_work(c))
		link_add_tail(&vs->rx_pending, &s->rxl);
	else
		vsock_conn_update_poll(c);
}

struct rx_slot {
	uint16_t head;
	uint8_t *hdr;
	uint32_t cap;
};

/*
 * Stream data for @c: as many receive chains as its credit and @budget
 * allow (@ch, popped already, first), filled by a single readv and
 * published together. Returns the packets sent, 0 when nothing was read
 * (every chain went back), -1 when @ch's header is not in one piece and
 * the one-chain path must take it.
 */
static int rx_data(struct vsock *vs, struct virtq *vq, struct vsock_conn *c,
		   struct virtq_chain *ch, unsigned int budget)
{
	struct rx_slot slots[VSOCK_RX_BATCH];
	unsigned int k = 0, niov = 0, used = 0;
	uint32_t left = vsock_conn_credit(c), off = 0, got;

	budget = MIN(budget, (unsigned int)VSOCK_RX_BATCH);
	for (;;) {
		uint32_t cap;
		int n = -1;

		/*
		 * The header in the first buffer, as every Linux guest does,
		 * and room for data after it.
		 */
		if (ch->nr_in && !ch->nr_out && ch->in_len > VSOCK_HDR_SIZE &&
		    ch->iov[0].iov_len >= VSOCK_HDR_SIZE) {
			cap = (uint32_t)MIN(MIN(ch->in_len - VSOCK_HDR_SIZE,
						(uint64_t)VSOCK_MAX_PKT),
					    (uint64_t)left);
			n = iov_slice(ch->iov, ch->nr_in, VSOCK_HDR_SIZE, cap,
				      vs->slice + niov,
				      ARRAY_SIZE(vs->slice) - niov);
		}
		if (n < 0) {
			if (!k)
				return -1;
			virtq_unpop(vq, 1);
			break;
		}
		slots[k++] = (struct rx_slot){ ch->head, ch->iov[0].iov_base,
					       cap };
		niov += (unsigned int)n;
		left -= cap;
		if (!left || k == budget ||
		    virtio_pop(&vs->vdev, vq, ch) <= 0)
			break;
	}
	got = vsock_conn_readv(c, vs->slice, niov);
	for (; used < k && off < got; used++) {
		uint32_t len = MIN(slots[used].cap, got - off);

		vsock_conn_rw_hdr(c, len, slots[used].hdr);
		virtq_fill(vq, (uint16_t)used, slots[used].head,
			   VSOCK_HDR_SIZE + len);
		off += len;
	}
	virtq_unpop(vq, (uint16_t)(k - used));
	virtq_publish(vq, (uint16_t)used);
	return (int)used;
}

/*
 * A receive chain with room for a header only, while @s owes nothing but
 * stream data: it goes back empty, so a guest that posts only such
 * buffers loses them instead of keeping the device spinning on them.
 */
static void rx_refuse_chain(struct vsock *vs, struct virtq *vq,
			    struct vsock_stream *s, const struct virtq_chain *ch)
{
	vs->counters.bad_rx_buffers++;
	log_guest_once("virtio-vsock: receive chain %u holds only a %d-byte header while stream data waits; returned unused",
		       ch->head, VSOCK_HDR_SIZE);
	virtq_push(vq, ch->head, 0);
	rx_conn_done(vs, s);
}

/*
 * Hands the guest what is owed: queued RSTs first, then the connections
 * in turn. Every turn that takes a receive chain costs budget, whether a
 * packet came of it or not, so the loop ends however the guest set its
 * buffers up.
 */
static void vsock_rx_run(struct vsock *vs)
{
	struct virtq *vq = &vs->vdev.vqs[VIRTIO_VSOCK_RXQ];
	unsigned int budget = VSOCK_BUDGET;
	bool have = false, pushed = false;
	struct virtq_chain ch;

	if (!vsock_ready(vs))
		return;
	while (budget && (vs->rst_len || !link_empty(&vs->rx_pending))) {
		struct vsock_stream *s = NULL;
		struct vsock_conn *c = NULL;
		uint32_t len;
		int n;

		if (!vs->rst_len) {
			s = container_of(vs->rx_pending.next,
					 struct vsock_stream, rxl);
			c = &s->conn;
			if (!vsock_conn_rx_work(c)) {
				link_del(&s->rxl);
				vsock_conn_update_poll(c);
				continue;
			}
		}
		if (!have) {
			/* None: the guest's next kick resumes the list. */
			if (rx_next_chain(vs, vq, &ch, &pushed) <= 0)
				break;
			have = true;
		}
		budget--;
		if (!c) {
			len = rx_fill_rst(vs, &ch);
		} else if (ch.in_len <= VSOCK_HDR_SIZE &&
			   vsock_conn_data_only(c)) {
			rx_refuse_chain(vs, vq, s, &ch);
			have = false;
			pushed = true;
			continue;
		} else if (vsock_conn_data_ready(c) &&
			   (n = rx_data(vs, vq, c, &ch, budget + 1)) >= 0) {
			have = false;
			vs->counters.rx_packets += (unsigned int)n;
			budget -= MIN(n ? (unsigned int)n - 1 : 0, budget);
			pushed |= n > 0;
			if (n == 0 && vsock_conn_rx_work(c))
				continue; /* a SHUTDOWN or RST is owed now */
			rx_conn_done(vs, s);
			continue;
		} else {
			len = vsock_conn_fill(c, ch.iov, ch.nr_in, ch.in_len);
			rx_conn_done(vs, s);
			if (!len)
				continue;
		}
		virtq_push(vq, ch.head, len);
		vs->counters.rx_packets++;
		have = false;
		pushed = true;
	}
	if (have)
		virtq_unpop(vq, 1);
	if (!budget)
		virtio_queue_kick(&vs->vdev, vq);
	if (pushed)
		virtio_notify_used(&vs->vdev, vq);
}

/* Checks a packet from the guest and hands it to its connection. */
static void tx_packet(struct vsock *vs, const struct virtq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_stream *s;
	struct vsock_hdr h;

	vs->counters.tx_packets++;
	if (ch->out_len < VSOCK_HDR_SIZE) {
		vs->counters.bad_header++;
		log_guest_once("virtio-vsock: transmit chain %u holds %llu bytes, less than a %d-byte header; dropped",
			       ch->head, (unsigned long long)ch->out_len,
			       VSOCK_HDR_SIZE);
		return;
	}
	iov_to_buf(ch->iov, ch->nr_out, 0, raw, sizeof(raw));
	vsock_hdr_decode(raw, &h);
	if (h.src_cid != vs->guest_cid) {
		vs->counters.bad_src_cid++;
		log_guest_once("virtio-vsock: packet from CID %llu, the guest is CID %u; dropped",
			       (unsigned long long)h.src_cid, vs->guest_cid);
		return;
	}
	if (h.dst_cid != VSOCK_HOST_CID) {
		vs->counters.bad_dst_cid++;
		log_guest_once("virtio-vsock: packet for CID %llu, only the host (2) is reachable; refused",
			       (unsigned long long)h.dst_cid);
		if (h.op != VSOCK_OP_RST)
			vsock_rst_queue(vs, h.dst_cid, h.dst_port, h.src_port);
		return;
	}
	if (h.type != VSOCK_TYPE_STREAM || h.op == VSOCK_OP_INVALID ||
	    h.op > VSOCK_OP_CREDIT_REQUEST) {
		if (h.type != VSOCK_TYPE_STREAM)
			vs->counters.bad_type++;
		else
			vs->counters.bad_op++;
		log_guest_once("virtio-vsock: packet of type %u op %u is not a stream operation; refused",
			       h.type, h.op);
		if (h.op != VSOCK_OP_RST)
			vsock_refuse(vs, &h);
		return;
	}
	s = stream_find(vs, h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_RW &&
	    (h.len > VSOCK_MAX_PKT || h.len > ch->out_len - VSOCK_HDR_SIZE)) {
		vs->counters.bad_header++;
		log_guest_once("virtio-vsock: packet claims %u bytes of data, its chain holds %llu (at most %d); reset",
			       h.len,
			       (unsigned long long)(ch->out_len - VSOCK_HDR_SIZE),
			       VSOCK_MAX_PKT);
		if (s)
			vsock_conn_reset(&s->conn);
		else
			vsock_refuse(vs, &h);
		return;
	}
	/* A new request on the ports of a connection reset before. */
	if (s && s->conn.state == CONN_DEAD && h.op == VSOCK_OP_REQUEST) {
		stream_free(s, "the connection was closed");
		s = NULL;
	}
	if (s)
		vsock_conn_recv(&s->conn, &h, ch->iov, ch->nr_out);
	else if (h.op == VSOCK_OP_REQUEST)
		guest_connect(vs, &h);
	else if (h.op != VSOCK_OP_RST)
		vsock_refuse(vs, &h);
}

static void vsock_tx(struct vsock *vs, struct virtq *vq)
{
	bool pushed = false;
	unsigned int budget;

	for (budget = VSOCK_BUDGET; budget; budget--) {
		struct virtq_chain ch;

		if (virtio_pop(&vs->vdev, vq, &ch) <= 0)
			break;
		tx_packet(vs, &ch);
		virtq_push(vq, ch.head, 0);
		pushed = true;
	}
	if (!budget)
		virtio_queue_kick(&vs->vdev, vq);
	if (pushed)
		virtio_notify_used(&vs->vdev, vq);
	vsock_rx_run(vs);
}

/* Delivers a pending TRANSPORT_RESET once the driver posted a buffer. */
static void vsock_evq_run(struct vsock *vs)
{
	struct virtq *vq = &vs->vdev.vqs[VIRTIO_VSOCK_EVQ];
	uint8_t ev[VSOCK_EVENT_SIZE];
	struct virtq_chain ch;

	if (!vs->event_pending || !virtio_active(&vs->vdev) || !vq->ready)
		return;
	for (unsigned int tries = vq->size; tries; tries--) {
		if (virtio_pop(&vs->vdev, vq, &ch) <= 0)
			return;
		if (!ch.nr_out && ch.in_len >= VSOCK_EVENT_SIZE) {
			put_le32(ev, VSOCK_EVENT_TRANSPORT_RESET);
			iov_from_buf(ch.iov, ch.nr_in, 0, ev, sizeof(ev));
			virtq_push(vq, ch.head, VSOCK_EVENT_SIZE);
			virtio_notify_used(&vs->vdev, vq);
			vs->event_pending = false;
			vs->counters.events++;
			return;
		}
		vs->counters.bad_rx_buffers++;
		log_guest_once("virtio-vsock: event buffer %u cannot hold an event; returned unused",
			       ch.head);
		virtq_push(vq, ch.head, 0);
		virtio_notify_used(&vs->vdev, vq);
	}
}

static void vsock_queue_notify(struct virtio_device *vdev, struct virtq *vq)
{
	struct vsock *vs = to_vsock(vdev);

	switch (vq->index) {
	case VIRTIO_VSOCK_RXQ:
		vsock_rx_run(vs);
		break;
	case VIRTIO_VSOCK_TXQ:
		vsock_tx(vs, vq);
		break;
	case VIRTIO_VSOCK_EVQ:
		vsock_evq_run(vs);
		break;
	}
}

static void vsock_config_write(struct virtio_device *vdev, uint32_t off,
			       const void *data, uint32_t len)
{
	(void)vdev, (void)data;
	log_guest_once("virtio-vsock: %u-byte write at %u of the read-only configuration ignored",
		       len, off);
}

/*
 * Reset runs on a vCPU thread, which may not touch the event loop's
 * sources: the connections become stale (the guest never hears of them
 * again) and the loop closes their host ends in one go.
 */
static void vsock_reset(struct virtio_device *vdev)
{
	struct vsock *vs = to_vsock(vdev);
	bool any = false;

	for (struct vsock_link *l = vs->streams.next; l != &vs->streams;
	     l = l->next) {
		struct vsock_stream *s =
			container_of(l, struct vsock_stream, all);

		stream_unhash(s);
		link_del(&s->rxl);
		s->conn.deadline_ms = 0;
		any |= !s->stale;
		s->stale = true;
	}
	vs->rst_head = vs->rst_len = 0;
	vs->event_pending = false;
	if (any)
		vsock_wake(vs);
}

static void vsock_work_event(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	struct vsock_call *calls;
	uint64_t v;

	(void)events;
	if (read(vs->work_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	virtio_lock(&vs->vdev);
	vsock_purge(vs, true, "the guest reset its vsock device");
	calls = vs->calls_done;
	vs->calls_done = NULL;
	virtio_unlock(&vs->vdev);
	vsock_run_calls(calls);
}

static void vsock_free(struct vsock *vs)
{
	struct event_loop *loop = vs->vdev.host->loop;
	struct vsock_call *calls;

	vsock_purge(vs, false, "the vsock device was removed");
	vsock_host_close(&vs->host);
	if (vs->timer_watched)
		event_loop_remove(loop, &vs->timer_src);
	if (vs->work_watched)
		event_loop_remove(loop, &vs->work_src);
	if (vs->timer_fd >= 0)
		close(vs->timer_fd);
	if (vs->work_fd >= 0)
		close(vs->work_fd);
	calls = vs->calls_done;
	vs->calls_done = NULL;
	vsock_run_calls(calls);
	free(vs);
}

static void vsock_destroy(struct virtio_device *vdev)
{
	vsock_free(to_vsock(vdev));
}

/*
 * A restored device has no connections (their host ends stayed with the
 * process that was saved): the driver hears so through a transport reset
 * as soon as it has an event buffer posted, and reads the CID again then,
 * so a clone may have another.
 */
static int vsock_restore(struct virtio_device *vdev,
			 const struct state_section *s, struct err *e)
{
	struct vsock *vs = to_vsock(vdev);

	(void)s, (void)e;
	vs->event_pending = true;
	return 0;
}

static const struct virtio_device_ops vsock_ops = {
	.config_write = vsock_config_write,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
	.restore = vsock_restore,
};

/* ---- the control API's side (event loop thread) ---- */

static int ctl_add_listener(void *opaque, uint32_t port, const char *path,
			    struct err *e)
{
	struct vsock *vs = opaque;
	int ret;

	virtio_lock(&vs->vdev);
	ret = vsock_host_add_listener(&vs->host, port, path, e);
	virtio_unlock(&vs->vdev);
	return ret;
}

static int ctl_remove_listener(void *opaque, uint32_t port, struct err *e)
{
	struct vsock *vs = opaque;
	int ret;

	virtio_lock(&vs->vdev);
	ret = vsock_host_remove_listener(&vs->host, port, e);
	virtio_unlock(&vs->vdev);
	return ret;
}

/* A stream to guest @port whose other end goes to the caller. */
static int api_connect(struct vsock *vs, uint32_t port,
		       vsock_connect_done_fn done, void *ctx, struct err *e)
{
	struct vsock_call *call;
	struct vsock_stream *s;
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
	/* Ours never blocks the loop; the caller's end is a plain socket. */
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	s = stream_new(vs, ORIGIN_API, sv[0]);
	if (!s) {
		close(sv[0]);
		close(sv[1]);
		free(call);
		return err_set(e, "vsock: at most %u connections at once",
			       vs->max_conns);
	}
	*call = (struct vsock_call){ .done = done, .ctx = ctx, .fd = -1 };
	s->call = call;
	s->api_fd = sv[1];
	if (stream_request(s, port) < 0) {
		char why[64];

		snprintf(why, sizeof(why), "no host port left for guest port %u",
			 port);
		stream_free(s, why);
		return 0;
	}
	vsock_rx_run(vs);
	return 0;
}

static int ctl_connect(void *opaque, uint32_t port, vsock_connect_done_fn done,
		       void *ctx, struct err *e)
{
	struct vsock *vs = opaque;
	int ret;

	virtio_lock(&vs->vdev);
	ret = api_connect(vs, port, done, ctx, e);
	virtio_unlock(&vs->vdev);
	return ret;
}

void virtio_vsock_counters(struct vsock_control *control,
			   struct vsock_counters *out)
{
	struct vsock *vs = control->opaque;

	virtio_lock(&vs->vdev);
	*out = vs->counters;
	out->conns = vs->nr_streams;
	out->buffered = out->buffer_capacity = 0;
	for (struct vsock_link *l = vs->streams.next; l != &vs->streams;
	     l = l->next) {
		struct vsock_stream *s =
			container_of(l, struct vsock_stream, all);

		out->buffered += s->conn.out.len;
		out->buffer_capacity += s->conn.out.cap;
	}
	virtio_unlock(&vs->vdev);
}

int virtio_vsock_transport_reset(struct vsock_control *control,
				 struct err *e)
{
	struct vsock *vs = control->opaque;
	int ret = 0;

	virtio_lock(&vs->vdev);
	if (!virtio_active(&vs->vdev)) {
		ret = err_set(e, "the guest's vsock driver is not running");
	} else {
		vsock_purge(vs, false, "the vsock transport was reset");
		vs->rst_head = vs->rst_len = 0;
		vs->event_pending = true;
		vsock_evq_run(vs);
	}
	virtio_unlock(&vs->vdev);
	return ret;
}

/* ---- creation ---- */

static int vsock_loop_setup(struct vsock *vs, struct err *e)
{
	struct event_loop *loop = vs->vdev.host->loop;

	vs->work_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vs->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_CLOEXEC | TFD_NONBLOCK);
	if (vs->work_fd < 0 || vs->timer_fd < 0)
		return err_errno(e, "virtio-vsock: eventfd/timerfd");
	vs->work_src = (struct event_source){
		.fd = vs->work_fd, .events = EPOLLIN,
		.fn = vsock_work_event, .opaque = vs,
	};
	vs->timer_src = (struct event_source){
		.fd = vs->timer_fd, .events = EPOLLIN,
		.fn = vsock_timer_event, .opaque = vs,
	};
	if (event_loop_add(loop, &vs->work_src) < 0)
		return err_errno(e, "virtio-vsock: epoll");
	vs->work_watched = true;
	if (event_loop_add(loop, &vs->timer_src) < 0)
		return err_errno(e, "virtio-vsock: epoll");
	vs->timer_watched = true;
	return 0;
}

static struct vsock *vsock_alloc(struct device_host *host,
				 const struct vsock_config *cfg)
{
	struct vsock *vs = calloc(1, sizeof(*vs));

	if (!vs)
		return NULL;
	vs->guest_cid = cfg->cid;
	vs->max_conns = host->max_conns ?
				MIN(host->max_conns, (unsigned int)VSOCK_MAX_CONNS) :
				VSOCK_MAX_CONNS;
	put_le64(vs->config, cfg->cid);
	vs->host.listen_fd = vs->timer_fd = vs->work_fd = -1;
	vs->next_port = VSOCK_EPHEMERAL_BASE;
	link_init(&vs->streams);
	link_init(&vs->rx_pending);
	vs->env = (struct vsock_conn_env){
		.ops = &vsock_conn_ops,
		.guest_cid = cfg->cid,
		.counters = &vs->counters,
		.slice = vs->slice,
		.nr_slice = ARRAY_SIZE(vs->slice),
	};
	vs->control = (struct vsock_control){
		.add_listener = ctl_add_listener,
		.remove_listener = ctl_remove_listener,
		.connect = ctl_connect,
		.opaque = vs,
	};
	vs->vdev = (struct virtio_device){
		.name = "virtio-vsock",
		.device_id = VIRTIO_ID_VSOCK,
		.features = VIRTIO_BIT(VIRTIO_VSOCK_F_STREAM),
		.nr_queues = 3,
		.queue_max = { VIRTIO_VSOCK_QUEUE_SIZE,
			       VIRTIO_VSOCK_QUEUE_SIZE,
			       VIRTIO_VSOCK_EVQ_SIZE },
		.config = vs->config,
		.config_len = sizeof(vs->config),
		.ops = &vsock_ops,
		.host = host,
	};
	return vs;
}

/*
 * What GetMetrics and --metrics report (docs/metrics.md). The counters
 * change on the event loop thread only, where they are read.
 */
#define VSOCK_METRIC(field, help)                                              \
	{ #field, NULL, METRIC_COUNTER,                                        \
	  offsetof(struct vsock_counters, field), help }

static const struct metric_desc vsock_metric_descs[] = {
	VSOCK_METRIC(connections, "Streams established, either way"),
	VSOCK_METRIC(tx_bytes, "Stream bytes from the guest"),
	VSOCK_METRIC(rx_bytes, "Stream bytes to the guest"),
	VSOCK_METRIC(tx_packets, "Packets from the guest"),
	VSOCK_METRIC(rx_packets, "Packets to the guest"),
	VSOCK_METRIC(refused, "Guest connections to ports nothing listens on"),
	VSOCK_METRIC(conn_limit,
		     "Connections refused because the limit was reached"),
	VSOCK_METRIC(timeouts, "Streams ended because the peer did not answer"),
};

int virtio_vsock_create(struct device_host *host,
		      const struct virtio_attach *at,
			const struct vsock_config *cfg, struct device **out,
			struct vsock_control **control, struct err *e)
{
	struct vsock *vs;
	struct device *dev;

	if (cfg->cid < 3 || cfg->cid == 0xffffffffU)
		return err_set(e, "virtio-vsock: guest CID %u is reserved (use 3 to 4294967294)",
			       cfg->cid);
	vs = vsock_alloc(host, cfg);
	if (!vs)
		return err_set(e, "virtio-vsock: out of memory");
	if (vsock_loop_setup(vs, e) < 0 ||
	    virtio_attach(host, at, &vs->vdev, &dev, e) < 0) {
		vsock_free(vs);
		return -1;
	}
	/* Clients may come at once: the transport (and its lock) first. */
	if (vsock_host_open(&vs->host, cfg, host->loop, host_accept, vs,
			    e) < 0) {
		dev->ops->destroy(dev);
		return -1;
	}
	vs->metrics = (struct metrics_group){
		.subsystem = "vsock", .descs = vsock_metric_descs,
		.nr_descs = ARRAY_SIZE(vsock_metric_descs),
		.block = &vs->counters,
	};
	dev->metrics = &vs->metrics;
	*out = dev;
	*control = &vs->control;
	return 0;
}
