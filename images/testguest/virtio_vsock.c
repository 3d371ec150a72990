// SPDX-License-Identifier: MIT
/*
 * virtio_vsock check: a small stream client and server over the rx and tx
 * queues (see virtio_vsock.h for the script the host follows). Every
 * packet the device delivers is checked: addresses, type, length, and
 * that data never exceeds the window the guest advertised.
 */
#include "virtio_vsock.h"

#include "cmdline.h"
#include "serial.h"
#include "str.h"
#include "virtio.h"

#define VIRTIO_ID_VSOCK 19
#define RXQ 0
#define TXQ 1
#define HDR 44
#define NR_RX 6
#define PAYLOAD 1024
#define HOST_CID 2
#define TYPE_STREAM 1
#define SHUT_RCV 1
#define SHUT_SEND 2
#define CLIENT_PORT 1025

enum {
	OP_REQUEST = 1,
	OP_RESPONSE = 2,
	OP_RST = 3,
	OP_SHUTDOWN = 4,
	OP_RW = 5,
	OP_CREDIT_UPDATE = 6,
	OP_CREDIT_REQUEST = 7,
};

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
	const uint8_t *data; /* the payload: vs.data until the next receive */
};

/* One stream, seen from the guest. */
struct conn {
	uint32_t port;      /* the guest's */
	uint32_t peer;      /* the host's */
	uint32_t received;  /* payload bytes taken */
	uint32_t credited;  /* the fwd_cnt the device last heard */
	uint32_t sent;      /* payload bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
};

static struct {
	struct tg_vring rings[2];
	uint8_t rx[NR_RX][HDR + PAYLOAD];
	uint8_t tx[HDR + PAYLOAD];
	uint8_t rx_of_desc[TG_VQ_SIZE];
	uint8_t data[PAYLOAD]; /* the last packet's payload */
	uint8_t out[PAYLOAD];
	uint8_t line[64];
	uint64_t cid;
} vs __attribute__((aligned(4096)));

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static bool post_rx(struct tg_virtio *d, unsigned int i, struct check *c)
{
	struct tg_buf b = { vs.rx[i], sizeof(vs.rx[i]), true };

	vs.rx_of_desc[d->vq[RXQ].next_desc] = (uint8_t)i;
	return tg_virtio_submit(d, RXQ, &b, 1, c);
}

/* Sends a packet of @op on @k with @len bytes of @data. */
static bool send_pkt(struct tg_virtio *d, struct conn *k, uint16_t op,
		     uint32_t flags, const void *data, uint32_t len,
		     struct check *c)
{
	struct tg_buf b = { vs.tx, HDR + len, false };
	uint8_t *p = vs.tx;
	uint32_t used;

	put64(p, vs.cid);
	put64(p + 8, HOST_CID);
	put32(p + 16, k->port);
	put32(p + 20, k->peer);
	put32(p + 24, len);
	put16(p + 28, TYPE_STREAM);
	put16(p + 30, op);
	put32(p + 32, flags);
	put32(p + 36, TG_VSOCK_BUF_ALLOC);
	put32(p + 40, k->received);
	memcpy(p + HDR, data, len);
	k->credited = k->received;
	k->sent += op == OP_RW ? len : 0;
	return tg_virtio_submit(d, TXQ, &b, 1, c) &&
	       tg_virtio_wait(d, TXQ, &used, c);
}

/* The next packet the device delivered; its buffer goes back at once. */
static bool recv_pkt(struct tg_virtio *d, struct pkt *h, struct check *c)
{
	struct tg_vq *q = &d->vq[RXQ];
	const uint8_t *p;
	uint32_t len, id;
	unsigned int i;

	if (!tg_virtio_wait(d, RXQ, &len, c))
		return false;
	id = *(volatile uint32_t *)&q->r->used.ring[(uint16_t)(q->last_used - 1) %
						     TG_VQ_SIZE].id;
	if (id >= TG_VQ_SIZE)
		return check_fail(c, "used element names descriptor %u", id);
	i = vs.rx_of_desc[id];
	p = vs.rx[i];
	if (len < HDR || len > sizeof(vs.rx[i]))
		return check_fail(c, "a packet of %u bytes in a %u-byte buffer",
				  len, (unsigned int)sizeof(vs.rx[i]));
	*h = (struct pkt){
		.src_cid = rd64(p), .dst_cid = rd64(p + 8),
		.src_port = rd32(p + 16), .dst_port = rd32(p + 20),
		.len = rd32(p + 24), .type = rd16(p + 28), .op = rd16(p + 30),
		.flags = rd32(p + 32), .buf_alloc = rd32(p + 36),
		.fwd_cnt = rd32(p + 40), .data = vs.data,
	};
	if (h->len != len - HDR)
		return check_fail(c, "header says %u bytes of data, the buffer got %u",
				  h->len, len - HDR);
	memcpy(vs.data, p + HDR, h->len);
	if (h->src_cid != HOST_CID || h->dst_cid != vs.cid ||
	    h->type != TYPE_STREAM)
		return check_fail(c, "packet from CID %lu to %lu of type %u",
				  h->src_cid, h->dst_cid, h->type);
	return post_rx(d, i, c);
}

/*
 * The next packet of @k other than credit traffic, which is handled here.
 * RW data is checked against the window first.
 */
static bool recv_conn(struct tg_virtio *d, struct conn *k, struct pkt *h,
		      struct check *c)
{
	for (;;) {
		if (!recv_pkt(d, h, c))
			return false;
		if (h->src_port != k->peer || h->dst_port != k->port)
			return check_fail(c, "packet op %u for ports %u->%u, expected %u->%u",
					  h->op, h->src_port, h->dst_port,
					  k->peer, k->port);
		k->peer_buf_alloc = h->buf_alloc;
		k->peer_fwd_cnt = h->fwd_cnt;
		if (h->op == OP_CREDIT_REQUEST) {
			if (!send_pkt(d, k, OP_CREDIT_UPDATE, 0, NULL, 0, c))
				return false;
			continue;
		}
		if (h->op == OP_CREDIT_UPDATE)
			continue;
		if (h->op == OP_RW &&
		    k->received + h->len - k->credited > TG_VSOCK_BUF_ALLOC)
			return check_fail(c, "the device sent %u bytes with %u of credit",
					  h->len,
					  TG_VSOCK_BUF_ALLOC -
						  (k->received - k->credited));
		return true;
	}
}

static bool expect_op(struct pkt *h, uint16_t op, struct check *c)
{
	if (h->op != op)
		return check_fail(c, "got op %u (flags %u), expected op %u",
				  h->op, h->flags, op);
	return true;
}

/* Step 1: the host's connection request. */
static bool accept_host(struct tg_virtio *d, struct conn *k, struct check *c)
{
	struct pkt h;

	serial_puts(TG_VSOCK_READY "\n");
	if (!recv_pkt(d, &h, c) || !expect_op(&h, OP_REQUEST, c))
		return false;
	if (h.dst_port != TG_VSOCK_LISTEN_PORT)
		return check_fail(c, "request for port %u", h.dst_port);
	*k = (struct conn){ .port = h.dst_port, .peer = h.src_port,
			    .peer_buf_alloc = h.buf_alloc,
			    .peer_fwd_cnt = h.fwd_cnt };
	return send_pkt(d, k, OP_RESPONSE, 0, NULL, 0, c);
}

/* Step 2: the host's bytes, credit returned as they are taken. */
static bool read_host(struct tg_virtio *d, struct conn *k, struct check *c)
{
	struct pkt h;

	for (;;) {
		if (!recv_conn(d, k, &h, c))
			return false;
		if (h.op == OP_SHUTDOWN)
			break;
		if (!expect_op(&h, OP_RW, c))
			return false;
		if (k->received + h.len > TG_VSOCK_HOST_BYTES)
			return check_fail(c, "more than %u bytes from the host",
					  TG_VSOCK_HOST_BYTES);
		for (uint32_t i = 0; i < h.len; i++)
			if (h.data[i] != tg_vsock_pattern(k->received + i, 1))
				return check_fail(c, "byte %u of the host's stream is wrong",
						  k->received + i);
		k->received += h.len;
		if (!send_pkt(d, k, OP_CREDIT_UPDATE, 0, NULL, 0, c))
			return false;
	}
	if (h.flags != SHUT_SEND)
		return check_fail(c, "the host's half-close came as SHUTDOWN flags %u",
				  h.flags);
	if (k->received != TG_VSOCK_HOST_BYTES)
		return check_fail(c, "the host's stream ended after %u of %u bytes",
				  k->received, TG_VSOCK_HOST_BYTES);
	return true;
}

/* Step 3: the guest's bytes, within the host's credit, then the close. */
static bool write_and_close(struct tg_virtio *d, struct conn *k,
			    struct check *c)
{
	struct pkt h;

	while (k->sent < TG_VSOCK_GUEST_BYTES) {
		uint32_t credit = k->peer_buf_alloc - (k->sent - k->peer_fwd_cnt);
		uint32_t n = TG_VSOCK_GUEST_BYTES - k->sent;

		if (n > PAYLOAD)
			n = PAYLOAD;
		if (n > credit)
			n = credit;
		if (n == 0) {
			if (!recv_conn(d, k, &h, c))
				return false;
			return check_fail(c, "op %u while waiting for credit", h.op);
		}
		for (uint32_t i = 0; i < n; i++)
			vs.out[i] = tg_vsock_pattern(k->sent + i, 2);
		if (!send_pkt(d, k, OP_RW, 0, vs.out, n, c))
			return false;
	}
	if (!send_pkt(d, k, OP_SHUTDOWN, SHUT_RCV | SHUT_SEND, NULL, 0, c) ||
	    !recv_conn(d, k, &h, c))
		return false;
	return expect_op(&h, OP_RST, c);
}

/* Step 4: a connection to the host, a line each way, the host's close. */
static bool connect_host(struct tg_virtio *d, struct check *c)
{
	struct conn k = { .port = CLIENT_PORT, .peer = TG_VSOCK_HOST_PORT };
	size_t want = strlen(TG_VSOCK_REPLY);
	uint32_t got = 0;
	struct pkt h;

	if (!send_pkt(d, &k, OP_REQUEST, 0, NULL, 0, c) ||
	    !recv_conn(d, &k, &h, c) || !expect_op(&h, OP_RESPONSE, c) ||
	    !send_pkt(d, &k, OP_RW, 0, TG_VSOCK_HELLO, strlen(TG_VSOCK_HELLO),
		      c))
		return false;
	while (got < want) {
		if (!recv_conn(d, &k, &h, c) || !expect_op(&h, OP_RW, c))
			return false;
		if (got + h.len > want)
			return check_fail(c, "the host's reply is longer than expected");
		memcpy(vs.line + got, h.data, h.len);
		got += h.len;
		k.received += h.len;
	}
	if (memcmp(vs.line, TG_VSOCK_REPLY, want))
		return check_fail(c, "the host's reply is wrong");
	if (!recv_conn(d, &k, &h, c) || !expect_op(&h, OP_SHUTDOWN, c))
		return false;
	if (!(h.flags & SHUT_SEND))
		return check_fail(c, "the host's close came as SHUTDOWN flags %u",
				  h.flags);
	return send_pkt(d, &k, OP_RST, 0, NULL, 0, c);
}

/* Step 5: nothing listens on the host port: the device refuses. */
static bool connect_refused(struct tg_virtio *d, struct check *c)
{
	struct conn k = { .port = CLIENT_PORT + 1,
			  .peer = TG_VSOCK_REFUSED_PORT };
	struct pkt h;

	return send_pkt(d, &k, OP_REQUEST, 0, NULL, 0, c) &&
	       recv_conn(d, &k, &h, c) && expect_op(&h, OP_RST, c);
}

static bool check_cid(const char *cmdline, struct tg_virtio *d,
		      struct check *c)
{
	const char *val;
	uint32_t want;
	size_t len;

	vs.cid = tg_virtio_config32(d, 0) |
		 (uint64_t)tg_virtio_config32(d, 4) << 32;
	if (cmdline_param(cmdline, "testguest.vsock_cid", &val, &len) < 0)
		return true;
	if (!parse_dec32(val, len, &want))
		return check_fail(c, "testguest.vsock_cid=%.*s is not a number",
				  (int)len, val);
	if (vs.cid != want)
		return check_fail(c, "the device's guest_cid is %lu, expected %u",
				  vs.cid, want);
	return true;
}

void tg_virtio_vsock_test(const char *cmdline, struct check *c)
{
	struct tg_virtio d = { .name = "virtio-vsock" };
	struct conn k;

	if (!tg_virtio_find(cmdline, VIRTIO_ID_VSOCK, &d, c) ||
	    !tg_virtio_start(&d, 0, vs.rings, 2, c) ||
	    !check_cid(cmdline, &d, c))
		return;
	for (unsigned int i = 0; i < NR_RX; i++)
		if (!post_rx(&d, i, c))
			return;
	if (accept_host(&d, &k, c) && read_host(&d, &k, c) &&
	    write_and_close(&d, &k, c) && connect_host(&d, c))
		connect_refused(&d, c);
}

bool tg_virtio_vsock_open_many(const char *cmdline, uint32_t n,
			       struct check *c)
{
	struct tg_virtio d = { .name = "virtio-vsock" };

	if (!tg_virtio_find(cmdline, VIRTIO_ID_VSOCK, &d, c) ||
	    !tg_virtio_start(&d, 0, vs.rings, 2, c) ||
	    !check_cid(cmdline, &d, c))
		return false;
	for (unsigned int i = 0; i < NR_RX; i++)
		if (!post_rx(&d, i, c))
			return false;
	for (uint32_t i = 0; i < n; i++) {
		struct conn k = { .port = TG_LOAD_GUEST_PORT + i,
				  .peer = TG_LOAD_HOST_PORT };
		struct pkt h;

		if (!send_pkt(&d, &k, OP_REQUEST, 0, NULL, 0, c) ||
		    !recv_conn(&d, &k, &h, c) || !expect_op(&h, OP_RESPONSE, c))
			return false;
	}
	return true;
}
