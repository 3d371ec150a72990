// SPDX-License-Identifier: MIT
#include "vsock_driver.h"

#include <stdlib.h>
#include <string.h>

#define TX_WAIT_MS 2000

static void post_rx(struct vguest *g, uint64_t gpa)
{
	struct vdrv_buf b[3] = {
		{ gpa, g->rx_size, true },
		{ gpa + 20, 24, true },
		{ gpa + VSOCK_HDR_SIZE, g->rx_size - VSOCK_HDR_SIZE, true },
	};
	int head;

	if (g->rx_split)
		b[0].len = 20;
	head = vdrv_add(g->d, VIRTIO_VSOCK_RXQ, b, g->rx_split ? 3 : 1, false);

	if (head < 0 || head >= VG_MAX_RX)
		abort();
	g->rx_gpa[head] = gpa;
	g->rx_unkicked++;
}

void vg_flush_rx(struct vguest *g)
{
	struct vdrv_queue *q = &g->d->q[VIRTIO_VSOCK_RXQ];

	if (!g->rx_unkicked)
		return;
	vdrv_kick_if_needed(g->d, VIRTIO_VSOCK_RXQ,
			    (uint16_t)(q->avail_idx - g->rx_unkicked));
	g->rx_unkicked = 0;
}

static void init(struct vguest *g, struct vdrv *d, uint32_t cid,
		 unsigned int nr_rx, uint32_t rx_size, bool split)
{
	memset(g, 0, sizeof(*g));
	g->rx_split = split;
	g->d = d;
	g->cid = cid;
	g->rx_size = rx_size;
	g->tx_cap = VSOCK_HDR_SIZE + VSOCK_MAX_PKT + 4096;
	g->tx_gpa = vdrv_alloc(d, g->tx_cap, 64);
	g->async_gpa = vdrv_alloc(d, 64ULL * VG_ASYNC, 64);
	for (unsigned int i = 0; i < nr_rx; i++)
		post_rx(g, vdrv_alloc(d, rx_size, 64));
	vdrv_kick(d, VIRTIO_VSOCK_RXQ);
	g->rx_unkicked = 0;
}

void vg_init(struct vguest *g, struct vdrv *d, uint32_t cid,
	     unsigned int nr_rx, uint32_t rx_size)
{
	init(g, d, cid, nr_rx, rx_size, false);
}

void vg_init_split(struct vguest *g, struct vdrv *d, uint32_t cid,
		   unsigned int nr_rx, uint32_t rx_size)
{
	init(g, d, cid, nr_rx, rx_size, true);
}

struct vsock_hdr vg_hdr(const struct vguest *g, uint16_t op,
			uint32_t src_port, uint32_t dst_port)
{
	return (struct vsock_hdr){
		.src_cid = g->cid,
		.dst_cid = VSOCK_HOST_CID,
		.src_port = src_port,
		.dst_port = dst_port,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = 64 * 1024,
	};
}

/* Waits for chain @head; asynchronous packets completing meanwhile count. */
static bool wait_tx(struct vguest *g, int head)
{
	uint32_t id, used;

	while (vdrv_wait_used(g->d, VIRTIO_VSOCK_TXQ, &id, &used, TX_WAIT_MS)) {
		if (id == (uint32_t)head)
			return true;
		g->async_inflight--;
	}
	return false;
}

bool vg_send_raw(struct vguest *g, const void *buf, uint32_t len)
{
	struct vdrv_buf b = { g->tx_gpa, len, false };
	int head;

	if (len > g->tx_cap || len == 0)
		abort();
	memcpy(vdrv_ptr(g->d, g->tx_gpa, len), buf, len);
	head = vdrv_add(g->d, VIRTIO_VSOCK_TXQ, &b, 1, false);
	if (head < 0)
		return false;
	vdrv_kick(g->d, VIRTIO_VSOCK_TXQ);
	return wait_tx(g, head);
}

bool vg_send_hdr_async(struct vguest *g, struct vsock_hdr h)
{
	struct vdrv_queue *q = &g->d->q[VIRTIO_VSOCK_TXQ];
	uint64_t gpa = g->async_gpa + 64ULL * (g->async_next % VG_ASYNC);
	struct vdrv_buf b = { gpa, VSOCK_HDR_SIZE, false };
	uint32_t id, used;
	uint16_t old = q->avail_idx;

	while (vdrv_get_used(g->d, VIRTIO_VSOCK_TXQ, &id, &used))
		g->async_inflight--;
	if (g->async_inflight == VG_ASYNC) {
		if (!vdrv_wait_used(g->d, VIRTIO_VSOCK_TXQ, &id, &used,
				    TX_WAIT_MS))
			return false;
		g->async_inflight--;
	}
	h.len = 0;
	vsock_hdr_encode(&h, vdrv_ptr(g->d, gpa, VSOCK_HDR_SIZE));
	if (vdrv_add(g->d, VIRTIO_VSOCK_TXQ, &b, 1, false) < 0)
		return false;
	g->async_next++;
	g->async_inflight++;
	vdrv_kick_if_needed(g->d, VIRTIO_VSOCK_TXQ, old);
	return true;
}

bool vg_send(struct vguest *g, struct vsock_hdr h, const void *payload,
	     uint32_t len)
{
	uint8_t *p = vdrv_ptr(g->d, g->tx_gpa, VSOCK_HDR_SIZE + len);
	struct vdrv_buf b = { g->tx_gpa, VSOCK_HDR_SIZE + len, false };
	int head;

	if (VSOCK_HDR_SIZE + len > g->tx_cap)
		abort();
	h.len = len;
	vsock_hdr_encode(&h, p);
	if (len)
		memcpy(p + VSOCK_HDR_SIZE, payload, len);
	head = vdrv_add(g->d, VIRTIO_VSOCK_TXQ, &b, 1, false);
	if (head < 0)
		return false;
	vdrv_kick(g->d, VIRTIO_VSOCK_TXQ);
	return wait_tx(g, head);
}

static bool take(struct vguest *g, uint32_t id, uint32_t used,
		 struct vsock_hdr *h, void *payload, uint32_t cap,
		 uint32_t *len)
{
	uint64_t gpa;

	if (id >= VG_MAX_RX)
		abort();
	gpa = g->rx_gpa[id];
	if (used < VSOCK_HDR_SIZE) {
		memset(h, 0, sizeof(*h));
		*len = 0;
	} else {
		uint8_t *p = vdrv_ptr(g->d, gpa, used);

		vsock_hdr_decode(p, h);
		*len = used - VSOCK_HDR_SIZE;
		if (payload)
			memcpy(payload, p + VSOCK_HDR_SIZE, MIN(*len, cap));
	}
	post_rx(g, gpa);
	return true;
}

bool vg_recv(struct vguest *g, struct vsock_hdr *h, void *payload,
	     uint32_t cap, uint32_t *len, int ms)
{
	uint32_t id, used;

	if (!vdrv_wait_used(g->d, VIRTIO_VSOCK_RXQ, &id, &used, ms))
		return false;
	take(g, id, used, h, payload, cap, len);
	vg_flush_rx(g);
	return true;
}

bool vg_poll(struct vguest *g, struct vsock_hdr *h, void *payload,
	     uint32_t cap, uint32_t *len)
{
	uint32_t id, used;

	if (!vdrv_get_used(g->d, VIRTIO_VSOCK_RXQ, &id, &used))
		return false;
	return take(g, id, used, h, payload, cap, len);
}
