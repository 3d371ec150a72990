// SPDX-License-Identifier: MIT
#include "vsock_driver.h"

#include <stdlib.h>
#include <string.h>

#define TX_WAIT_MS 2000

static void post_rx(struct vguest *g, uint64_t gpa)
{
	struct vdrv_buf b = { gpa, g->rx_size, true };
	int head = vdrv_add(g->d, VIRTIO_VSOCK_RXQ, &b, 1, false);

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

void vg_init(struct vguest *g, struct vdrv *d, uint32_t cid,
	     unsigned int nr_rx, uint32_t rx_size)
{
	memset(g, 0, sizeof(*g));
	g->d = d;
	g->cid = cid;
	g->rx_size = rx_size;
	g->tx_cap = VSOCK_HDR_SIZE + VSOCK_MAX_PKT + 4096;
	g->tx_gpa = vdrv_alloc(d, g->tx_cap, 64);
	for (unsigned int i = 0; i < nr_rx; i++)
		post_rx(g, vdrv_alloc(d, rx_size, 64));
	vdrv_kick(d, VIRTIO_VSOCK_RXQ);
	g->rx_unkicked = 0;
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

bool vg_send_raw(struct vguest *g, const void *buf, uint32_t len)
{
	struct vdrv_buf b = { g->tx_gpa, len, false };
	uint32_t id, used;
	int head;

	if (len > g->tx_cap || len == 0)
		abort();
	memcpy(vdrv_ptr(g->d, g->tx_gpa, len), buf, len);
	head = vdrv_add(g->d, VIRTIO_VSOCK_TXQ, &b, 1, false);
	if (head < 0)
		return false;
	vdrv_kick(g->d, VIRTIO_VSOCK_TXQ);
	return vdrv_wait_used(g->d, VIRTIO_VSOCK_TXQ, &id, &used, TX_WAIT_MS) &&
	       id == (uint32_t)head;
}

bool vg_send(struct vguest *g, struct vsock_hdr h, const void *payload,
	     uint32_t len)
{
	uint8_t *p = vdrv_ptr(g->d, g->tx_gpa, VSOCK_HDR_SIZE + len);
	struct vdrv_buf b = { g->tx_gpa, VSOCK_HDR_SIZE + len, false };
	uint32_t id, used;
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
	return vdrv_wait_used(g->d, VIRTIO_VSOCK_TXQ, &id, &used, TX_WAIT_MS) &&
	       id == (uint32_t)head;
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
