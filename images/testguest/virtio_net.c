// SPDX-License-Identifier: MIT
/* virtio_net check: send a ping frame, wait for the host's pong frame. */
#include "virtio.h"

#include "str.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5
#define HDR 12 /* struct virtio_net_hdr_v1 */
#define ETH_HLEN 14
#define ETH_ZLEN 60
#define RX_LEN (HDR + 1518)
#define RXQ 0
#define TXQ 1
/* Frames of other kinds that may arrive before the pong. */
#define MAX_FRAMES 64

static struct {
	struct tg_vring rings[2];
	uint8_t tx[HDR + ETH_ZLEN];
	uint8_t rx[RX_LEN];
} net __attribute__((aligned(4096)));

static bool post_rx(struct tg_virtio *d, struct check *c)
{
	struct tg_buf b = { net.rx, RX_LEN, true };

	return tg_virtio_submit(d, RXQ, &b, 1, c);
}

static bool is_pong(uint32_t len)
{
	const uint8_t *f = net.rx + HDR;
	size_t plen = strlen(TG_NET_PONG);

	return len >= HDR + ETH_HLEN + plen &&
	       f[12] == (TG_NET_ETHERTYPE >> 8) &&
	       f[13] == (TG_NET_ETHERTYPE & 0xff) &&
	       !memcmp(f + ETH_HLEN, TG_NET_PONG, plen);
}

void tg_virtio_net_test(const char *cmdline, struct check *c)
{
	struct tg_virtio d = { .name = "virtio-net" };
	struct tg_buf tx = { net.tx, sizeof(net.tx), false };
	uint8_t *f = net.tx + HDR;
	uint32_t len;
	unsigned int i;

	if (!tg_virtio_find(cmdline, VIRTIO_ID_NET, &d, c) ||
	    !tg_virtio_start(&d, 1ULL << VIRTIO_NET_F_MAC, net.rings, 2, c) ||
	    !post_rx(&d, c))
		return;
	memset(net.tx, 0, sizeof(net.tx));
	memset(f, 0xff, 6);
	for (i = 0; i < 6; i++)
		f[6 + i] = tg_virtio_config8(&d, i);
	f[12] = TG_NET_ETHERTYPE >> 8;
	f[13] = TG_NET_ETHERTYPE & 0xff;
	memcpy(f + ETH_HLEN, TG_NET_PING, strlen(TG_NET_PING));
	if (!tg_virtio_submit(&d, TXQ, &tx, 1, c) ||
	    !tg_virtio_wait(&d, TXQ, &len, c))
		return;
	for (i = 0; i < MAX_FRAMES; i++) {
		if (!tg_virtio_wait(&d, RXQ, &len, c))
			return;
		if (is_pong(len))
			return;
		if (!post_rx(&d, c))
			return;
	}
	check_fail(c, "%u frames arrived, none was the pong", MAX_FRAMES);
}
