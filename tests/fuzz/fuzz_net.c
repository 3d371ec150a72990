// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-net's transmit and receive paths on a real TAP
 * in a network namespace of the fuzzer's own: virtio_net_hdr fields and
 * offload combinations, frames of any size, mergeable and plain receive
 * buffers, and frames the host sends through a packet socket. Needs root
 * (a network namespace, /dev/net/tun) and says so when it has not.
 *
 * HOST op: u8 action; 0 send a frame to the guest (u16 length, bytes),
 * 1 read and drop what the guest sent.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net.h"
#include "fuzz_virtio.h"

#define TAP_NAME "vfuzz0"

static int pkt_fd = -1;

static void need(bool ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_net: %s failed: this target needs root and /dev/net/tun\n",
		what);
	exit(1);
}

/* A persistent TAP each input's device opens by name, up, with a packet socket. */
static void net_init(struct fuzz_virtio *f)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int tap, s;

	(void)f;
	need(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
	tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	need(tap >= 0, "opening /dev/net/tun");
	strcpy(ifr.ifr_name, TAP_NAME);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	need(ioctl(tap, TUNSETIFF, &ifr) == 0, "TUNSETIFF");
	need(ioctl(tap, TUNSETPERSIST, 1) == 0, "TUNSETPERSIST");
	close(tap);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	need(s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0, "SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	need(ioctl(s, SIOCSIFFLAGS, &ifr) == 0 &&
		     ioctl(s, SIOCGIFINDEX, &ifr) == 0, "bringing the TAP up");
	close(s);
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifr.ifr_ifindex;
	pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			htons(ETH_P_ALL));
	need(pkt_fd >= 0 && bind(pkt_fd, (struct sockaddr *)&sll,
				 sizeof(sll)) == 0, "a packet socket");
}

static int net_create(struct fuzz_virtio *f, struct device **dev,
		      struct err *e)
{
	struct net_config cfg = { .tap_name = TAP_NAME, .tap_fd = -1 };
	struct rate_limit_control *limits;

	return virtio_net_create(&f->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg, dev,
				 &limits, e);
}

static void net_host(struct fuzz_virtio *f, struct fuzz_input *in)
{
	uint8_t frame[2048];
	size_t n;

	if (fuzz_u8(in) % 2 == 0) {
		n = fuzz_bytes(in, frame, fuzz_u16(in) % sizeof(frame));
		if (n >= 14)
			send(pkt_fd, frame, n, MSG_DONTWAIT);
	} else {
		while (recv(pkt_fd, frame, sizeof(frame), MSG_DONTWAIT) > 0)
			;
	}
	fuzz_virtio_drain(f);
}

static void net_cleanup(struct fuzz_virtio *f)
{
	uint8_t frame[2048];

	(void)f;
	while (recv(pkt_fd, frame, sizeof(frame), MSG_DONTWAIT) > 0)
		;
}

static const struct fuzz_device net = {
	.name = "virtio-net",
	.nr_queues = 2,
	.init = net_init,
	.create = net_create,
	.host = net_host,
	.cleanup = net_cleanup,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_virtio_run(&net, data, size);
}
