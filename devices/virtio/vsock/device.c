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
#include "vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "conn.h"

/* Chains handled per wake-up before other event sources get their turn. */
#define VSOCK_BUDGET 256
/* Receive chains one host read may fill. */
#define VSOCK_RX_BATCH 64
/* How often deadlines are checked while any is set. */
#define VSOCK_TIMER_MS 200

static struct vsock *to_vsock(struct virtio_device *vdev)
{
	return container_of(vdev, struct vsock, vdev);
}

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
	h->src_cid = get_le64(raw + VSOCK_HDR_SRC_CID);
	h->dst_cid = get_le64(raw + VSOCK_HDR_DST_CID);
	h->src_port = get_le32(raw + VSOCK_HDR_SRC_PORT);
	h->dst_port = get_le32(raw + VSOCK_HDR_DST_PORT);
	h->len = get_le32(raw + VSOCK_HDR_LEN);
	h->type = get_le16(raw + VSOCK_HDR_TYPE);
	h->op = get_le16(raw + VSOCK_HDR_OP);
	h->flags = get_le32(raw + VSOCK_HDR_FLAGS);
	h->buf_alloc = get_le32(raw + VSOCK_HDR_BUF_ALLOC);
	h->fwd_cnt = get_le32(raw + VSOCK_HDR_FWD_CNT);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE])
{
	put_le64(raw + VSOCK_HDR_SRC_CID, h->src_cid);
	put_le64(raw + VSOCK_HDR_DST_CID, h->dst_cid);
	put_le32(raw + VSOCK_HDR_SRC_PORT, h->src_port);
	put_le32(raw + VSOCK_HDR_DST_PORT, h->dst_port);
	put_le32(raw + VSOCK_HDR_LEN, h->len);
	put_le16(raw + VSOCK_HDR_TYPE, h->type);
	put_le16(raw + VSOCK_HDR_OP, h->op);
	put_le32(raw + VSOCK_HDR_FLAGS, h->flags);
	put_le32(raw + VSOCK_HDR_BUF_ALLOC, h->buf_alloc);
	put_le32(raw + VSOCK_HDR_FWD_CNT, h->fwd_cnt);
}

int64_t vsock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool vsock_ready(struct vsock *vs)
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

void vsock_complete(struct vsock *vs, struct vsock_call *call)
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

void vsock_rst_queue(struct vsock *vs, uint64_t src_cid, uint32_t src_port,
		     uint32_t dst_port)
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

/* Drops every connection: their host sockets close, API calls fail. */
static void vsock_purge(struct vsock *vs, const char *why)
{
	while (!link_empty(&vs->conns)) {
		struct vsock_conn *c =
			container_of(vs->conns.next, struct vsock_conn, all);

		if (c->call && !c->call->e.msg[0])
			err_set(&c->call->e, "%s", why);
		vsock_conn_free(c);
	}
	vs->rst_head = vs->rst_len = 0;
}

bool vsock_sync(struct vsock *vs)
{
	if (!vs->reset_pending)
		return false;
	vs->reset_pending = false;
	vs->event_pending = false;
	vsock_purge(vs, "the guest reset its vsock device");
	return true;
}

void vsock_timer_update(struct vsock *vs)
{
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
	vsock_sync(vs);
	for (l = vs->conns.next; l != &vs->conns; l = next) {
		struct vsock_conn *c = container_of(l, struct vsock_conn, all);

		next = l->next;
		if (!c->deadline_ms)
			continue;
		if (now >= c->deadline_ms)
			vsock_conn_expire(c);
		else
			any = true;
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

/* After packets from @c: round robin, or off the list, or gone. */
static void rx_conn_done(struct vsock *vs, struct vsock_conn *c)
{
	link_del(&c->rxl);
	if (c->state == CONN_DEAD && !c->pending)
		vsock_conn_free(c);
	else if (vsock_conn_rx_work(c))
		link_add_tail(&vs->rx_pending, &c->rxl);
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

		/* The header in the first buffer, as every Linux guest does. */
		if (ch->nr_in && !ch->nr_out && ch->in_len >= VSOCK_HDR_SIZE &&
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

void vsock_rx_run(struct vsock *vs)
{
	struct virtq *vq = &vs->vdev.vqs[VIRTIO_VSOCK_RXQ];
	unsigned int budget = VSOCK_BUDGET;
	bool have = false, pushed = false;
	struct virtq_chain ch;

	if (!vsock_ready(vs))
		return;
	while (budget && (vs->rst_len || !link_empty(&vs->rx_pending))) {
		struct vsock_conn *c = NULL;
		uint32_t len;
		int n;

		if (!vs->rst_len) {
			c = container_of(vs->rx_pending.next, struct vsock_conn,
					 rxl);
			if (!vsock_conn_rx_work(c)) {
				link_del(&c->rxl);
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
		if (!c) {
			len = rx_fill_rst(vs, &ch);
		} else if (vsock_conn_data_ready(c) &&
			   (n = rx_data(vs, vq, c, &ch, budget)) >= 0) {
			have = false;
			vs->counters.rx_packets += (unsigned int)n;
			budget -= MIN((unsigned int)n, budget);
			pushed |= n > 0;
			if (n == 0 && vsock_conn_rx_work(c))
				continue; /* a SHUTDOWN or RST is owed now */
			rx_conn_done(vs, c);
			continue;
		} else {
			len = vsock_conn_fill(c, ch.iov, ch.nr_in, ch.in_len);
			rx_conn_done(vs, c);
			if (!len)
				continue;
		}
		virtq_push(vq, ch.head, len);
		vs->counters.rx_packets++;
		have = false;
		pushed = true;
		budget--;
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
	struct vsock_conn *c;
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
			vsock_rst_queue(vs, VSOCK_HOST_CID, h.dst_port,
					h.src_port);
		return;
	}
	c = vsock_conn_find(vs, h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_RW &&
	    (h.len > VSOCK_MAX_PKT || h.len > ch->out_len - VSOCK_HDR_SIZE)) {
		vs->counters.bad_header++;
		log_guest_once("virtio-vsock: packet claims %u bytes of data, its chain holds %llu (at most %d); reset",
			       h.len,
			       (unsigned long long)(ch->out_len - VSOCK_HDR_SIZE),
			       VSOCK_MAX_PKT);
		if (c)
			vsock_conn_reset(c);
		else
			vsock_rst_queue(vs, VSOCK_HOST_CID, h.dst_port,
					h.src_port);
		return;
	}
	/* A new request on the ports of a connection reset before. */
	if (c && c->state == CONN_DEAD && h.op == VSOCK_OP_REQUEST) {
		vsock_conn_free(c);
		c = NULL;
	}
	if (c)
		vsock_conn_recv(c, &h, ch->iov, ch->nr_out);
	else if (h.op == VSOCK_OP_REQUEST)
		vsock_host_guest_connect(vs, &h);
	else if (h.op != VSOCK_OP_RST)
		vsock_rst_queue(vs, VSOCK_HOST_CID, h.dst_port, h.src_port);
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

	vsock_sync(vs);
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

/* Reset runs on a vCPU thread: the loop does the work. */
static void vsock_reset(struct virtio_device *vdev)
{
	struct vsock *vs = to_vsock(vdev);

	vs->reset_pending = true;
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
	vsock_sync(vs);
	calls = vs->calls_done;
	vs->calls_done = NULL;
	virtio_unlock(&vs->vdev);
	vsock_run_calls(calls);
}

static void vsock_free(struct vsock *vs)
{
	struct event_loop *loop = vs->vdev.host->loop;
	struct vsock_call *calls;

	vsock_purge(vs, "the vsock device was removed");
	vsock_host_close(vs);
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

static const struct virtio_device_ops vsock_ops = {
	.config_write = vsock_config_write,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};

/* ---- the control API's side (event loop thread) ---- */

static int ctl_add_listener(void *opaque, uint32_t port, const char *path,
			    struct err *e)
{
	struct vsock *vs = opaque;
	int ret;

	virtio_lock(&vs->vdev);
	ret = vsock_host_add_listener(vs, port, path, e);
	virtio_unlock(&vs->vdev);
	return ret;
}

static int ctl_remove_listener(void *opaque, uint32_t port, struct err *e)
{
	struct vsock *vs = opaque;
	int ret;

	virtio_lock(&vs->vdev);
	ret = vsock_host_remove_listener(vs, port, e);
	virtio_unlock(&vs->vdev);
	return ret;
}

static int ctl_connect(void *opaque, uint32_t port, vsock_connect_done_fn done,
		       void *ctx, struct err *e)
{
	struct vsock *vs = opaque;
	int ret;

	virtio_lock(&vs->vdev);
	vsock_sync(vs);
	ret = vsock_host_api_connect(vs, port, done, ctx, e);
	virtio_unlock(&vs->vdev);
	return ret;
}

void virtio_vsock_counters(struct vsock_control *control,
			   struct vsock_counters *out)
{
	struct vsock *vs = control->opaque;

	virtio_lock(&vs->vdev);
	*out = vs->counters;
	out->conns = vs->nr_conns;
	out->buffered = out->buffer_capacity = 0;
	for (struct vsock_link *l = vs->conns.next; l != &vs->conns;
	     l = l->next) {
		struct vsock_conn *c = container_of(l, struct vsock_conn, all);

		out->buffered += c->out.len;
		out->buffer_capacity += c->out.cap;
	}
	virtio_unlock(&vs->vdev);
}

int virtio_vsock_transport_reset(struct vsock_control *control,
				 struct err *e)
{
	struct vsock *vs = control->opaque;
	int ret = 0;

	virtio_lock(&vs->vdev);
	vsock_sync(vs);
	if (!virtio_active(&vs->vdev)) {
		ret = err_set(e, "the guest's vsock driver is not running");
	} else {
		vsock_purge(vs, "the vsock transport was reset");
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
	put_le64(vs->config, cfg->cid);
	vs->listen_fd = vs->timer_fd = vs->work_fd = -1;
	vs->next_port = VSOCK_EPHEMERAL_BASE;
	link_init(&vs->conns);
	link_init(&vs->rx_pending);
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

int virtio_vsock_create(struct device_host *host, uint64_t base, uint32_t gsi,
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
	    virtio_mmio_create(host, base, gsi, &vs->vdev, &dev, e) < 0) {
		vsock_free(vs);
		return -1;
	}
	/* Clients may come at once: the transport (and its lock) first. */
	if (vsock_host_open(vs, cfg, e) < 0) {
		dev->ops->destroy(dev);
		return -1;
	}
	*out = dev;
	*control = &vs->control;
	return 0;
}
