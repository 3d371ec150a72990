// SPDX-License-Identifier: MIT
/*
 * virtio-net through the simulated driver and a real TAP device in a
 * network namespace of the test's own (criterion runs every test in a
 * process of its own, so unshare() touches nothing else). The host side of
 * the TAP is an AF_PACKET socket: frames the guest sends appear there, and
 * frames sent there reach the guest.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio.h"
#include "virtio_driver.h"

#define MEM_SIZE (32 * MiB)
#define HEAP (1 * MiB)
#define WAIT_MS 3000
#define QSIZE 64
#define TAP_NAME "vtap0"
#define ETHERTYPE_TEST 0x88b5
#define HDR VIRTIO_NET_HDR_SIZE
#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ

#define BASIC_FEATURES                                                         \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |      \
	 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |    \
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS))

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t host_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static struct vtest_host th;
static struct device *dev;
static struct rate_limit_control *limits;
static struct vdrv drv;
static int tap_fd = -1;
static int pkt_fd = -1;

static void sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0) {
		if (write(fd, val, strlen(val)) < 0)
			cr_log_warn("%s: %s", path, strerror(errno));
		close(fd);
	}
}

static void enter_netns(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	/* No IPv6 autoconfiguration chatter on the TAP. */
	sysctl_write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
}

static int tap_create(const char *name, short flags)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	strcpy(ifr.ifr_name, name);
	ifr.ifr_flags = flags;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s",
		     strerror(errno));
	return fd;
}

static int ifindex_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	strcpy(ifr.ifr_name, name);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	cr_assert_eq(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	close(s);
	return ifr.ifr_ifindex;
}

/* The host's end: a packet socket on the TAP interface. */
static void open_packet_socket(const char *name)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex_up(name),
	};

	pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	cr_assert_geq(pkt_fd, 0);
	cr_assert_eq(bind(pkt_fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static int create_net_at(const struct virtio_attach *at, const char *name,
			 int fd, const uint8_t *mac, struct device **out,
			 struct err *e)
{
	struct net_config cfg = { .tap_name = (char *)name, .tap_fd = fd };

	if (mac) {
		cfg.has_mac = true;
		memcpy(cfg.mac, mac, 6);
	}
	return virtio_net_create(&th.host, at, &cfg, out, &limits, e);
}

static int create_net(const char *name, int fd, const uint8_t *mac,
		      struct device **out, struct err *e)
{
	return create_net_at(&VTEST_MMIO(VTEST_BASE, VTEST_GSI), name, fd, mac,
			     out, e);
}

/*
 * On virtio-mmio or, with @pci, virtio-pci; with @fake_clock, the
 * device's time moves only when a test moves it.
 */
static void setup_on(bool pci, bool fake_clock)
{
	struct virtio_attach at;
	struct err e;

	enter_netns();
	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
	if (fake_clock)
		vtest_clock_fake(&th, 1000000000ULL);
	tap_fd = tap_create(TAP_NAME, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	at = vtest_at(&th, pci);
	cr_assert_eq(create_net_at(&at, NULL, tap_fd, guest_mac, &dev, &e), 0,
		     "%s", e.msg);
	open_packet_socket(TAP_NAME);
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(vdrv_init_at(&drv, &th, pci, HEAP, MEM_SIZE - HEAP), 0);
}

static void setup(void)
{
	setup_on(false, false);
}

static void setup_pci(void)
{
	setup_on(true, false);
}

static void setup_fake_clock(void)
{
	setup_on(false, true);
}

static void teardown(void)
{
	/* The device owns tap_fd and closes it. */
	vtest_teardown(&th, &dev, &drv);
	if (pkt_fd >= 0)
		close(pkt_fd);
}

static size_t make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, host_mac, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
	return len;
}

static void host_send(const uint8_t *frame, size_t len)
{
	cr_assert_eq(send(pkt_fd, frame, len, 0), (ssize_t)len, "send: %s",
		     strerror(errno));
}

/* Next test frame the guest sent, skipping anything else on the wire. */
static ssize_t host_recv(uint8_t *buf, size_t cap, int ms)
{
	for (;;) {
		struct pollfd p = { .fd = pkt_fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			return -1;
		n = recvfrom(pkt_fd, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (n >= 14 && from.sll_pkttype != PACKET_OUTGOING &&
		    buf[12] == (ETHERTYPE_TEST >> 8) &&
		    buf[13] == (ETHERTYPE_TEST & 0xff))
			return n;
	}
}

static void guest_send(const struct vdrv_buf *bufs, unsigned int n)
{
	uint32_t id, len;

	cr_assert_geq(vdrv_add(&drv, TXQ, bufs, n, false), 0);
	vdrv_kick(&drv, TXQ);
	cr_assert(vdrv_wait_used(&drv, TXQ, &id, &len, WAIT_MS),
		  "transmit chain not returned");
}

static uint64_t post_rx(uint32_t size)
{
	uint64_t buf = vdrv_alloc(&drv, size, 64);
	struct vdrv_buf b = { buf, size, true };

	cr_assert_geq(vdrv_add(&drv, RXQ, &b, 1, false), 0);
	return buf;
}

TestSuite(net, .init = setup, .fini = teardown, .timeout = 60);

Test(net, config_space_and_features)
{
	uint8_t c[VIRTIO_NET_CFG_SIZE];
	uint64_t f = vdrv_device_features(&drv);
	uint64_t want = VIRTIO_BIT(VIRTIO_NET_F_MAC) |
			VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
			VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);

	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	cr_assert_eq(f & want, want);
	vdrv_config_read(&drv, 0, c, sizeof(c));
	cr_assert_eq(memcmp(c + VIRTIO_NET_CFG_MAC, guest_mac, 6), 0);
	cr_assert_eq(get_le16(c + VIRTIO_NET_CFG_STATUS), VIRTIO_NET_S_LINK_UP);
}

Test(net, transmit_reaches_the_tap_with_split_header)
{
	uint8_t frame[200], got[2048];
	uint64_t hdr = vdrv_alloc(&drv, HDR, 8), data = vdrv_alloc(&drv, 200, 8);
	struct vdrv_buf bufs[] = {
		{ hdr, 5, false }, { hdr + 5, 7, false },
		{ data, 14, false }, { data + 14, 0, false },
		{ data + 14, 186, false },
	};

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	make_frame(frame, sizeof(frame), 1);
	memcpy(vdrv_ptr(&drv, data, 200), frame, 200);
	guest_send(bufs, ARRAY_SIZE(bufs));
	cr_assert_eq(host_recv(got, sizeof(got), WAIT_MS), 200);
	cr_assert_eq(memcmp(got, frame, 200), 0);
}

Test(net, receive_into_one_buffer)
{
	uint8_t frame[1000];
	uint64_t buf;
	uint32_t id, len;
	uint8_t *p;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	buf = post_rx(HDR + 1514);
	vdrv_kick(&drv, RXQ);
	host_send(frame, make_frame(frame, sizeof(frame), 2));
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, HDR + sizeof(frame));
	p = vdrv_ptr(&drv, buf, len);
	cr_assert_eq(get_le16(p + VIRTIO_NET_HDR_NUM_BUFFERS), 1);
	cr_assert_eq(memcmp(p + HDR, frame, sizeof(frame)), 0);
}

Test(net, mergeable_receive_buffers)
{
	uint8_t frame[1000], got[HDR + 1000];
	uint64_t bufs[8];
	uint32_t id, len, total = 0;
	unsigned int used = 0;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES |
				VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 2, QSIZE), 0);
	for (int i = 0; i < 8; i++)
		bufs[i] = post_rx(256);
	vdrv_kick(&drv, RXQ);
	host_send(frame, make_frame(frame, sizeof(frame), 3));
	while (total < HDR + sizeof(frame)) {
		cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS),
			  "frame incomplete after %u bytes", total);
		cr_assert_leq(len, 256);
		memcpy(got + total, vdrv_ptr(&drv, bufs[used], len), len);
		total += len;
		used++;
	}
	cr_assert_eq(used, 4, "1012 bytes in 256-byte buffers");
	cr_assert_eq(get_le16(got + VIRTIO_NET_HDR_NUM_BUFFERS), 4);
	cr_assert_eq(memcmp(got + HDR, frame, sizeof(frame)), 0);
}

Test(net, no_receive_buffers_stops_reading_the_tap)
{
	uint8_t frame[300];
	uint64_t cpu, buf;
	uint32_t id, len;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	usleep(100 * 1000);
	cr_assert(vtest_loop_watches(&th, tap_fd), "an active device polls the TAP");
	for (int i = 0; i < 3; i++)
		host_send(frame, make_frame(frame, sizeof(frame), (uint8_t)(10 + i)));
	/* The first frame is read and held; then the TAP leaves the loop. */
	for (int i = 0; i < 100 && vtest_loop_watches(&th, tap_fd); i++)
		usleep(10 * 1000);
	cr_assert_not(vtest_loop_watches(&th, tap_fd),
		      "TAP still polled without receive buffers");
	cpu = vtest_loop_cpu_ns(&th);
	usleep(300 * 1000);
	cr_assert_lt(vtest_loop_cpu_ns(&th) - cpu, 20 * 1000 * 1000ULL,
		     "event loop busy while waiting for buffers");
	/* Buffers arrive: every frame is delivered, in order, none dropped. */
	for (int i = 0; i < 3; i++) {
		buf = post_rx(HDR + 1514);
		vdrv_kick(&drv, RXQ);
		cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS),
			  "frame %d lost", i);
		cr_assert_eq(len, HDR + sizeof(frame));
		make_frame(frame, sizeof(frame), (uint8_t)(10 + i));
		cr_assert_eq(memcmp(vdrv_ptr(&drv, buf + HDR, sizeof(frame)),
				    frame, sizeof(frame)), 0);
	}
	for (int i = 0; i < 100 && !vtest_loop_watches(&th, tap_fd); i++)
		usleep(10 * 1000);
	cr_assert(vtest_loop_watches(&th, tap_fd), "polling resumes");
}

Test(net, inactive_device_does_not_poll)
{
	cr_assert_not(vtest_loop_watches(&th, tap_fd),
		      "no driver yet: the TAP queues frames in the kernel");
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	for (int i = 0; i < 100 && !vtest_loop_watches(&th, tap_fd); i++)
		usleep(10 * 1000);
	cr_assert(vtest_loop_watches(&th, tap_fd));
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < 100 && vtest_loop_watches(&th, tap_fd); i++)
		usleep(10 * 1000);
	cr_assert_not(vtest_loop_watches(&th, tap_fd), "reset stops polling");
}

static bool tap_tso_enabled(void)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	strcpy(ifr.ifr_name, TAP_NAME);
	ifr.ifr_data = (void *)&ev;
	ret = ioctl(s, SIOCETHTOOL, &ifr);
	close(s);
	cr_assert_eq(ret, 0, "SIOCETHTOOL: %s", strerror(errno));
	return ev.data;
}

Test(net, guest_offloads_configure_the_tap)
{
	uint64_t csum = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	uint64_t tso = VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);

	cr_assert_eq(vdrv_negotiate(&drv, BASIC_FEATURES | tso), -1,
		     "TSO without checksum offload is refused");
	cr_assert_eq(vdrv_negotiate(&drv, BASIC_FEATURES |
				   VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4)), -1);
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES | csum | tso, 2, QSIZE), 0);
	cr_assert(tap_tso_enabled(), "TAP hands TSO frames to this guest");
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	cr_assert_not(tap_tso_enabled(), "a guest without TSO gets none");
}

Test(net, checksum_offloaded_frame_gets_header_through)
{
	uint8_t got[2048], frame[120];
	uint64_t buf;
	uint32_t id, len;
	uint8_t *p;

	/* A frame with NEEDS_CSUM from the guest passes the TAP as is. */
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES |
				VIRTIO_BIT(VIRTIO_NET_F_CSUM), 2, QSIZE), 0);
	buf = vdrv_alloc(&drv, HDR + sizeof(frame), 8);
	p = vdrv_ptr(&drv, buf, HDR + sizeof(frame));
	p[VIRTIO_NET_HDR_FLAGS] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	put_le16(p + 6, 20);  /* csum_start */
	put_le16(p + 8, 6);   /* csum_offset */
	make_frame(p + HDR, sizeof(frame), 4);
	memcpy(frame, p + HDR, sizeof(frame));
	{
		struct vdrv_buf b = { buf, HDR + sizeof(frame), false };

		guest_send(&b, 1);
	}
	cr_assert_eq(host_recv(got, sizeof(got), WAIT_MS), (ssize_t)sizeof(frame));
	cr_assert_eq(memcmp(got, frame, 20), 0);
	(void)id;
	(void)len;
}

Test(net, malformed_chains)
{
	uint64_t small = vdrv_alloc(&drv, 8, 8), buf = vdrv_alloc(&drv, 64, 8);
	struct vdrv_buf short_tx = { small, 8, false };
	struct vdrv_buf readable_rx = { buf, 64, false };
	uint8_t frame[64];
	uint32_t id, len;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	vdrv_add(&drv, TXQ, &short_tx, 1, false);
	vdrv_kick(&drv, TXQ);
	cr_assert(vdrv_wait_used(&drv, TXQ, &id, &len, WAIT_MS),
		  "a transmit chain shorter than the header is returned");
	cr_assert_eq(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET, 0);
	vdrv_add(&drv, RXQ, &readable_rx, 1, false);
	vdrv_kick(&drv, RXQ);
	host_send(frame, make_frame(frame, sizeof(frame), 5));
	cr_assert(vdrv_wait_status(&drv, VIRTIO_STATUS_NEEDS_RESET, WAIT_MS),
		  "a receive buffer the device cannot write breaks the ring");
}

Test(net, frame_larger_than_a_plain_buffer_is_dropped_not_stuck)
{
	uint8_t frame[1400], small_frame[100];
	uint64_t buf;
	uint32_t id, len;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	buf = post_rx(HDR + 200);
	vdrv_kick(&drv, RXQ);
	host_send(frame, make_frame(frame, sizeof(frame), 6));
	host_send(small_frame, make_frame(small_frame, sizeof(small_frame), 7));
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, HDR + sizeof(small_frame),
		     "the buffer went to the next frame that fits");
	cr_assert_eq(memcmp(vdrv_ptr(&drv, buf + HDR, sizeof(small_frame)),
			    small_frame, sizeof(small_frame)), 0);
}

Test(net, reset_drops_pending_frame_and_restarts)
{
	uint8_t frame[100];
	uint64_t buf;
	uint32_t id, len;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	host_send(frame, make_frame(frame, sizeof(frame), 8));
	usleep(50 * 1000);
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	buf = post_rx(HDR + 1514);
	vdrv_kick(&drv, RXQ);
	host_send(frame, make_frame(frame, sizeof(frame), 9));
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(memcmp(vdrv_ptr(&drv, buf + HDR, sizeof(frame)), frame,
			    sizeof(frame)), 0,
		     "the frame held across the reset was dropped");
}

/*
 * Destroying the device resets it, which asks the loop to re-sync the
 * TAP: nothing of that may stay queued on the loop once the device is
 * gone (the control API's TeardownVM keeps the loop running after).
 */
Test(net, destroy_leaves_nothing_queued_on_the_loop)
{
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	vtest_host_stop(&th);
	dev->ops->destroy(dev);
	dev = NULL;
	cr_assert_null(th.loop.calls, "a call for the destroyed device");
	cr_assert_geq(event_loop_poll(&th.loop, 0), 0);
}

/* ---- counters and rate limits ---- */

static uint64_t counter(const char *name)
{
	return metrics_group_value(dev->metrics, name, NULL);
}

Test(net, counters_follow_frames)
{
	uint8_t frame[300], got[2048];
	uint64_t data = vdrv_alloc(&drv, HDR + sizeof(frame), 8);
	uint64_t small = vdrv_alloc(&drv, 8, 8);
	struct vdrv_buf tx = { data, HDR + sizeof(frame), false };
	struct vdrv_buf short_tx = { small, 8, false };
	uint32_t id, len;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	cr_assert_str_eq(dev->metrics->subsystem, "net");
	make_frame(frame, sizeof(frame), 1);
	memcpy(vdrv_ptr(&drv, data + HDR, sizeof(frame)), frame, sizeof(frame));
	guest_send(&tx, 1);
	cr_assert_eq(host_recv(got, sizeof(got), WAIT_MS), (ssize_t)sizeof(frame));
	guest_send(&short_tx, 1);
	post_rx(HDR + 1514);
	vdrv_kick(&drv, RXQ);
	host_send(frame, make_frame(frame, 200, 2));
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(counter("tx_packets"), 1);
	cr_assert_eq(counter("tx_bytes"), sizeof(frame));
	cr_assert_eq(counter("tx_dropped"), 1, "the chain shorter than a header");
	cr_assert_eq(counter("rx_packets"), 1);
	cr_assert_eq(counter("rx_bytes"), 200);
}

TestSuite(net_limits, .init = setup_fake_clock, .fini = teardown,
	  .timeout = 60);

#define MSEC 1000000ULL

static void set_limits(uint64_t ops, uint64_t ops_burst)
{
	struct rate_limit_config cfg = { .ops = ops, .ops_burst = ops_burst };
	struct err e;

	cr_assert_eq(limits->set(limits->opaque, &cfg, &e), 0, "%s", e.msg);
}

/* Counts test frames on the wire until none comes for a while. */
static unsigned int frames_on_the_wire(void)
{
	uint8_t got[2048];
	unsigned int n = 0;

	while (host_recv(got, sizeof(got), 100) > 0)
		n++;
	return n;
}

/* The device refused a frame since @before, so it has run out of tokens. */
static void expect_throttled(const char *name, uint64_t before)
{
	for (int i = 0; i < 500 && counter(name) == before; i++)
		usleep(10 * 1000);
	cr_assert_gt(counter(name), before, "%s never waited", name);
}

Test(net_limits, transmit_waits_for_tokens_and_loses_nothing)
{
	uint8_t frame[100];
	uint64_t before;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	set_limits(100, 3);
	for (int i = 0; i < 8; i++) {
		uint64_t data = vdrv_alloc(&drv, HDR + sizeof(frame), 8);
		struct vdrv_buf tx = { data, HDR + sizeof(frame), false };

		make_frame(frame, sizeof(frame), (uint8_t)i);
		memcpy(vdrv_ptr(&drv, data + HDR, sizeof(frame)), frame,
		       sizeof(frame));
		cr_assert_geq(vdrv_add(&drv, TXQ, &tx, 1, false), 0);
	}
	vdrv_kick(&drv, TXQ);
	expect_throttled("tx_throttled", 0);
	cr_assert_eq(frames_on_the_wire(), 3, "the burst, then nothing");
	before = counter("tx_throttled");
	vtest_clock_advance(&th, 30 * MSEC);
	expect_throttled("tx_throttled", before);
	cr_assert_eq(frames_on_the_wire(), 3, "30 ms at 100 frames a second");
	vtest_clock_advance(&th, 1000 * MSEC);
	cr_assert_eq(frames_on_the_wire(), 2);
	cr_assert_eq(counter("tx_packets"), 8);
}

Test(net_limits, receive_holds_frames_in_the_tap)
{
	uint8_t frame[100];
	uint32_t id, len;
	unsigned int got = 0;

	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	set_limits(100, 2);
	for (int i = 0; i < 6; i++)
		post_rx(HDR + 1514);
	vdrv_kick(&drv, RXQ);
	for (int i = 0; i < 6; i++)
		host_send(frame, make_frame(frame, sizeof(frame), (uint8_t)i));
	expect_throttled("rx_throttled", 0);
	while (vdrv_wait_used(&drv, RXQ, &id, &len, 100))
		got++;
	cr_assert_eq(got, 2, "the burst, then the frames wait");
	/* However long the wait, the bucket holds two frames. */
	for (unsigned int want = 4; want <= 6; want += 2) {
		uint64_t before = counter("rx_throttled");

		vtest_clock_advance(&th, 1000 * MSEC);
		while (got < want && vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS))
			got++;
		if (want < 6)
			expect_throttled("rx_throttled", before);
		while (vdrv_wait_used(&drv, RXQ, &id, &len, 100))
			got++;
		cr_assert_eq(got, want, "two more frames per refill");
	}
	cr_assert_eq(counter("rx_packets"), 6);
	cr_assert_eq(counter("rx_dropped"), 0);
}

/* ---- back ends opened by name, and their errors ---- */

static void setup_ns_only(void)
{
	enter_netns();
	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
}

static void teardown_ns_only(void)
{
	if (dev)
		dev->ops->destroy(dev);
	dev = NULL;
	vtest_host_destroy(&th);
}

TestSuite(net_backend, .init = setup_ns_only, .fini = teardown_ns_only,
	  .timeout = 60);

Test(net_backend, tap_by_name_and_random_mac)
{
	struct device *other;
	struct rate_limit_control *other_limits;
	uint8_t mac[6], mac2[6];
	struct err e;

	cr_assert_eq(create_net(TAP_NAME, -1, NULL, &dev, &e), 0, "%s", e.msg);
	cr_assert_geq((int)if_nametoindex(TAP_NAME), 1, "the device created the TAP");
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
	vdrv_config_read(&drv, VIRTIO_NET_CFG_MAC, mac, 6);
	cr_assert_eq(mac[0] & 0x03, 0x02, "unicast, locally administered");
	cr_assert_eq(create_net(TAP_NAME, -1, NULL, &other, &e), -1);
	cr_assert(strstr(e.msg, "tap " TAP_NAME), "%s", e.msg);
	{
		struct net_config cfg = { .tap_name = "vtap1", .tap_fd = -1 };

		cr_assert_eq(virtio_net_create(&th.host, &VTEST_MMIO(VTEST_BASE + 0x1000, 6),
					       &cfg, &other, &other_limits, &e),
			     0, "%s", e.msg);
		bus_read(&th.mmio, VTEST_BASE + 0x1000 + VIRTIO_MMIO_CONFIG, mac2, 6);
		cr_assert_neq(memcmp(mac, mac2, 6), 0, "each device its own MAC");
		other->ops->destroy(other);
	}
}

Test(net_backend, unusable_back_ends_are_named)
{
	struct err e;
	int p[2];
	int plain;

	cr_assert_eq(create_net("this-name-is-far-too-long", -1, NULL, &dev, &e), -1);
	cr_assert(strstr(e.msg, "interface names"), "%s", e.msg);
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(create_net(NULL, p[0], NULL, &dev, &e), -1);
	cr_assert(strstr(e.msg, "not an attached TAP"), "%s", e.msg);
	cr_assert_eq(create_net(NULL, 999, NULL, &dev, &e), -1);
	cr_assert(strstr(e.msg, "tap fd 999"), "%s", e.msg);
	plain = tap_create("plain0", IFF_TAP | IFF_NO_PI);
	cr_assert_eq(create_net(NULL, plain, NULL, &dev, &e), -1);
	cr_assert(strstr(e.msg, "IFF_VNET_HDR"), "%s", e.msg);
	close(plain);
	dev = NULL;
}

Test(net_backend, tap_without_permission)
{
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct err e;

		if (setuid(65534) < 0)
			_exit(2);
		if (create_net("vtapperm", -1, NULL, &dev, &e) == 0)
			_exit(3);
		_exit(strstr(e.msg, "tap vtapperm: permission denied") &&
		      strstr(e.msg, "CAP_NET_ADMIN") ? 0 : 4);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "child status %d", WEXITSTATUS(st));
}

TestSuite(net_pci, .init = setup_pci, .fini = teardown, .timeout = 60);

Test(net_pci, frames_both_ways_over_pci)
{
	uint8_t frame[300], got[2048], c[VIRTIO_NET_CFG_SIZE];
	uint64_t hdr = vdrv_alloc(&drv, HDR, 8), data = vdrv_alloc(&drv, 300, 8);
	struct vdrv_buf bufs[] = { { hdr, HDR, false }, { data, 300, false } };
	uint64_t rx;
	uint32_t id, len;

	vdrv_config_read(&drv, 0, c, sizeof(c));
	cr_assert_eq(memcmp(c + VIRTIO_NET_CFG_MAC, guest_mac, 6), 0);
	cr_assert_eq(vdrv_start(&drv, BASIC_FEATURES, 2, QSIZE), 0);
	make_frame(frame, sizeof(frame), 3);
	memcpy(vdrv_ptr(&drv, data, 300), frame, 300);
	guest_send(bufs, 2);
	cr_assert_eq(host_recv(got, sizeof(got), WAIT_MS), 300);
	cr_assert_eq(memcmp(got, frame, 300), 0);
	rx = post_rx(HDR + 1514);
	vdrv_kick(&drv, RXQ);
	host_send(frame, sizeof(frame));
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, HDR + sizeof(frame));
	cr_assert_eq(memcmp(vdrv_ptr(&drv, rx + HDR, 300), frame, 300), 0);
	cr_assert_geq(vdrv_irq_count(&drv, RXQ), 1);
}
