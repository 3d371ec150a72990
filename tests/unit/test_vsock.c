// SPDX-License-Identifier: MIT
/*
 * virtio-vsock driven by the simulated driver playing the guest, with the
 * test playing the host programs on the Unix sockets: the CONNECT
 * handshake, guest connections to PATH_PORT and registered listeners,
 * credit in both directions, half and full closes, many connections,
 * resets, the control API's connect, and packets a hostile guest sends.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/vsock/vsock.h"
#include "vmm/config_devices.h"
#include "virtio_driver.h"
#include "vsock_driver.h"
#include "fd_hog.h"

#define MEM_SIZE (16 * MiB)
#define HEAP (1 * MiB)
#define CID 3
#define QSIZE 64
#define NR_RX 32
#define RX_SIZE (VSOCK_HDR_SIZE + 4096)
#define WAIT_MS 2000
#define QUIET_MS 150

static struct vtest_host th;
static struct device *dev;
static struct vsock_control *ctl;
static struct vdrv drv;
static struct vguest g;
static char dir[64];
static char uds[128];
static unsigned int max_conns; /* the host's descriptor budget, 0: none */

static void create_on(const struct vsock_config *extra, bool pci)
{
	struct vsock_config cfg = { .enabled = true, .cid = CID };
	struct virtio_attach at;
	struct err e;

	if (extra)
		cfg = *extra;
	cr_assert_lt(strlen(uds), sizeof(cfg.uds_path));
	memcpy(cfg.uds_path, uds, strlen(uds) + 1);
	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
	th.host.max_conns = max_conns;
	at = vtest_at(&th, pci);
	cr_assert_eq(virtio_vsock_create(&th.host, &at, &cfg, &dev, &ctl, &e),
		     0, "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(vdrv_init_at(&drv, &th, pci, HEAP, MEM_SIZE - HEAP), 0);
}

static void create(const struct vsock_config *extra)
{
	create_on(extra, false);
}

/* The driver: version 1 with event index, three queues, buffers posted. */
static void start_driver(void)
{
	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
						VIRTIO_BIT(VIRTIO_F_EVENT_IDX)), 0);
	cr_assert_eq(vdrv_setup_queue(&drv, VIRTIO_VSOCK_RXQ, QSIZE), 0);
	cr_assert_eq(vdrv_setup_queue(&drv, VIRTIO_VSOCK_TXQ, QSIZE), 0);
	cr_assert_eq(vdrv_setup_queue(&drv, VIRTIO_VSOCK_EVQ,
				      VIRTIO_VSOCK_EVQ_SIZE), 0);
	vdrv_driver_ok(&drv);
	cr_assert(vdrv_status(&drv) & VIRTIO_STATUS_DRIVER_OK);
	vg_init(&g, &drv, CID, NR_RX, RX_SIZE);
}

static void setup_on(bool pci)
{
	strcpy(dir, "/tmp/vsock-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	create_on(NULL, pci);
	start_driver();
}

static void setup(void)
{
	setup_on(false);
}

static void setup_pci(void)
{
	setup_on(true);
}

static void teardown(void)
{
	char cmd[128];

	vtest_teardown(&th, &dev, &drv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(vsock, .init = setup, .fini = teardown, .timeout = 30);

static struct vsock_counters counters(void)
{
	struct vsock_counters c;

	virtio_vsock_counters(ctl, &c);
	return c;
}

/* ---- the host side ---- */

static void set_path(struct sockaddr_un *a, const char *path)
{
	cr_assert_lt(strlen(path), sizeof(a->sun_path));
	memcpy(a->sun_path, path, strlen(path) + 1);
}

static int dial(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	set_path(&a, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0,
		     "connect %s: %s", path, strerror(errno));
	return fd;
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	set_path(&a, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 128), 0);
	return fd;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Reads exactly @n bytes within @ms; returns what arrived (0 at EOF). */
static size_t read_full(int fd, void *buf, size_t n, int ms)
{
	size_t got = 0;

	while (got < n && readable(fd, ms)) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* True when the host end reads EOF (or a reset) within @ms. */
static bool host_sees_eof(int fd, int ms)
{
	char c;

	return readable(fd, ms) && read(fd, &c, 1) <= 0;
}

static void write_all(int fd, const void *buf, size_t n)
{
	cr_assert_eq(write(fd, buf, n), (ssize_t)n);
}

/* ---- the guest side ---- */

struct gconn {
	uint32_t gport;     /* the guest's port */
	uint32_t hport;     /* the host's port */
	uint32_t buf_alloc; /* what the guest advertises */
	uint32_t fwd_cnt;   /* what the guest consumed */
};

static struct vsock_hdr gc_hdr(const struct gconn *c, uint16_t op)
{
	struct vsock_hdr h = vg_hdr(&g, op, c->gport, c->hport);

	h.buf_alloc = c->buf_alloc;
	h.fwd_cnt = c->fwd_cnt;
	return h;
}

static void gc_send(struct gconn *c, uint16_t op, const void *data,
		    uint32_t len)
{
	cr_assert(vg_send(&g, gc_hdr(c, op), data, len), "tx not used");
}

/* The next packet for the guest; asserts one arrives. */
static struct vsock_hdr expect_pkt(void *data, uint32_t cap, uint32_t *len)
{
	struct vsock_hdr h;
	uint32_t n;

	cr_assert(vg_recv(&g, &h, data, cap, len ? len : &n, WAIT_MS),
		  "no packet for the guest");
	cr_assert_eq(h.src_cid, VSOCK_HOST_CID);
	cr_assert_eq(h.dst_cid, CID);
	cr_assert_eq(h.type, VSOCK_TYPE_STREAM);
	return h;
}

static bool no_pkt(int ms)
{
	struct vsock_hdr h;
	uint32_t n;

	return !vg_recv(&g, &h, NULL, 0, &n, ms);
}

/*
 * A host program connects to guest port @port through the Unix socket;
 * the guest accepts with receive window @buf_alloc.
 */
static int host_connect(uint32_t port, uint32_t buf_alloc, struct gconn *c)
{
	char line[64], ok[32];
	int fd = dial(uds);
	struct vsock_hdr h;
	size_t n;

	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	write_all(fd, line, strlen(line));
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	cr_assert_eq(h.dst_port, port);
	cr_assert_geq(h.src_port, VSOCK_EPHEMERAL_BASE);
	cr_assert_eq(h.buf_alloc, VSOCK_BUF_ALLOC);
	*c = (struct gconn){ .gport = port, .hport = h.src_port,
			     .buf_alloc = buf_alloc };
	gc_send(c, VSOCK_OP_RESPONSE, NULL, 0);
	snprintf(ok, sizeof(ok), "OK %u\n", c->hport);
	n = read_full(fd, line, strlen(ok), WAIT_MS);
	cr_assert_eq(n, strlen(ok));
	cr_assert_eq(memcmp(line, ok, n), 0, "got '%.*s'", (int)n, line);
	return fd;
}

/* The guest connects to host port @port from @gport. */
static void guest_connect(uint32_t gport, uint32_t port, struct gconn *c)
{
	struct vsock_hdr h;

	*c = (struct gconn){ .gport = gport, .hport = port,
			     .buf_alloc = 64 * 1024 };
	gc_send(c, VSOCK_OP_REQUEST, NULL, 0);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RESPONSE, "op %u", h.op);
	cr_assert_eq(h.src_port, port);
	cr_assert_eq(h.dst_port, gport);
}

/* Guest side: takes RW payload until @n bytes arrived, crediting it. */
static void guest_read(struct gconn *c, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		uint32_t len;
		struct vsock_hdr h = expect_pkt(buf + got, (uint32_t)(n - got),
						&len);

		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			continue;
		cr_assert_eq(h.op, VSOCK_OP_RW, "op %u after %zu bytes", h.op,
			     got);
		cr_assert_leq(got + len, n);
		got += len;
		c->fwd_cnt += len;
	}
}

static void pattern(uint8_t *buf, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 31 + seed);
}

/* ---- tests ---- */

Test(vsock, offers_stream_and_reports_the_cid)
{
	uint8_t cfg[8];

	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	cr_assert(vdrv_device_features(&drv) &
		  VIRTIO_BIT(VIRTIO_VSOCK_F_STREAM));
	vdrv_config_read(&drv, 0, cfg, 8);
	cr_assert_eq(get_le64(cfg), CID);
}

Test(vsock, host_connects_and_bytes_flow_both_ways)
{
	struct gconn c;
	int fd = host_connect(1234, 64 * 1024, &c);
	uint8_t buf[64];
	uint32_t len;
	struct vsock_hdr h;

	write_all(fd, "ping", 4);
	h = expect_pkt(buf, sizeof(buf), &len);
	cr_assert_eq(h.op, VSOCK_OP_RW);
	cr_assert_eq(h.src_port, c.hport);
	cr_assert_eq(h.dst_port, 1234);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	gc_send(&c, VSOCK_OP_RW, "pong", 4);
	cr_assert_eq(read_full(fd, buf, 4, WAIT_MS), 4);
	cr_assert_eq(memcmp(buf, "pong", 4), 0);
	cr_assert_eq(counters().conns, 1);
	close(fd);
}

Test(vsock, bytes_sent_with_the_connect_line_arrive_after_ok)
{
	const char msg[] = "CONNECT 77\r\nearly";
	int fd = dial(uds);
	struct gconn c;
	struct vsock_hdr h;
	uint8_t buf[32];
	uint32_t len;

	write_all(fd, msg, strlen(msg));
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	cr_assert_eq(h.dst_port, 77);
	c = (struct gconn){ 77, h.src_port, 4096, 0 };
	cr_assert(no_pkt(QUIET_MS), "data before the guest accepted");
	gc_send(&c, VSOCK_OP_RESPONSE, NULL, 0);
	h = expect_pkt(buf, sizeof(buf), &len);
	cr_assert_eq(h.op, VSOCK_OP_RW);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(buf, "early", 5), 0);
	len = (uint32_t)read_full(fd, buf, 3, WAIT_MS);
	cr_assert_eq(len, 3);
	cr_assert_eq(memcmp(buf, "OK ", 3), 0);
	close(fd);
}

Test(vsock, malformed_connect_lines_are_closed)
{
	static const char *const bad[] = {
		"CONNECT\n", "CONNECT abc\n", "HELLO 5\n", "CONNECT -1\n",
		"CONNECT 4294967295\n", "connect 5\n",
		"CONNECT 1234567890123456789012345678901234567890\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int fd = dial(uds);

		write_all(fd, bad[i], strlen(bad[i]));
		cr_assert(host_sees_eof(fd, WAIT_MS), "'%s' not closed", bad[i]);
		close(fd);
	}
	cr_assert_eq(counters().host_bad_connect, ARRAY_SIZE(bad));
	cr_assert(no_pkt(QUIET_MS), "the guest heard of a bad CONNECT");
	cr_assert_eq(counters().conns, 0);
}

Test(vsock, guest_refusal_closes_the_host_client)
{
	int fd = dial(uds);
	struct vsock_hdr h;
	struct gconn c;

	write_all(fd, "CONNECT 9\n", 10);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	c = (struct gconn){ 9, h.src_port, 0, 0 };
	gc_send(&c, VSOCK_OP_RST, NULL, 0);
	cr_assert(host_sees_eof(fd, WAIT_MS), "no EOF after the guest's RST");
	cr_assert_eq(counters().conns, 0);
	close(fd);
}

/* The guest reaches host port 5000 at UDS_5000 and talks both ways. */
static void connect_to_path_port(void)
{
	char path[160];
	uint8_t buf[16];
	struct gconn c;
	int lfd, fd;
	uint32_t len;
	struct vsock_hdr h;

	snprintf(path, sizeof(path), "%s_5000", uds);
	lfd = listen_at(path);
	guest_connect(1025, 5000, &c);
	cr_assert(readable(lfd, WAIT_MS));
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	gc_send(&c, VSOCK_OP_RW, "hello", 5);
	cr_assert_eq(read_full(fd, buf, 5, WAIT_MS), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	write_all(fd, "back", 4);
	h = expect_pkt(buf, sizeof(buf), &len);
	cr_assert_eq(h.op, VSOCK_OP_RW);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(buf, "back", 4), 0);
	close(fd);
	close(lfd);
}

Test(vsock, guest_connects_to_path_port)
{
	connect_to_path_port();
}

Test(vsock, guest_connection_to_nothing_is_reset)
{
	struct gconn c = { 1025, 6000, 4096, 0 };
	struct vsock_hdr h;

	gc_send(&c, VSOCK_OP_REQUEST, NULL, 0);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(h.src_port, 6000);
	cr_assert_eq(h.dst_port, 1025);
	cr_assert_eq(counters().refused, 1);
	cr_assert_eq(counters().conns, 0);
}

Test(vsock, registered_listeners_take_precedence)
{
	char path[160], other[160];
	struct gconn c;
	struct err e;
	int lfd, fd, afd;
	char b;

	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	snprintf(other, sizeof(other), "%s_7000", uds);
	lfd = listen_at(path);
	fd = listen_at(other);
	cr_assert_eq(ctl->add_listener(ctl->opaque, 7000, path, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(ctl->add_listener(ctl->opaque, 7000, path, &e), -1);
	cr_assert(strstr(e.msg, "already has a listener"), "%s", e.msg);
	guest_connect(2000, 7000, &c);
	cr_assert(readable(lfd, WAIT_MS), "the registered listener got nothing");
	cr_assert_not(readable(fd, 0), "PATH_PORT used despite the listener");
	afd = accept(lfd, NULL, NULL);
	gc_send(&c, VSOCK_OP_RW, "x", 1);
	cr_assert_eq(read_full(afd, &b, 1, WAIT_MS), 1);
	cr_assert_eq(b, 'x');
	cr_assert_eq(ctl->remove_listener(ctl->opaque, 7000, &e), 0);
	cr_assert_eq(ctl->remove_listener(ctl->opaque, 7000, &e), -1);
	cr_assert(strstr(e.msg, "no listener"), "%s", e.msg);
	guest_connect(2001, 7000, &c);
	cr_assert(readable(fd, WAIT_MS), "PATH_PORT not used after removal");
	close(afd);
	close(lfd);
	close(fd);
}

Test(vsock, listeners_from_the_config)
{
	struct vsock_config cfg = { .enabled = true, .cid = CID };
	char path[160];
	struct gconn c;
	int lfd;

	vtest_teardown(&th, &dev, &drv);
	snprintf(path, sizeof(path), "%s/l.sock", dir);
	cfg.listeners[0].port = 52;
	strcpy(cfg.listeners[0].path, path);
	cfg.nr_listeners = 1;
	create(&cfg);
	start_driver();
	lfd = listen_at(path);
	guest_connect(3000, 52, &c);
	cr_assert(readable(lfd, WAIT_MS));
	close(lfd);
}

Test(vsock, host_data_never_exceeds_the_guest_credit)
{
	static uint8_t out[40000], in[40000];
	struct gconn c;
	int fd = host_connect(88, 4096, &c);
	size_t got = 0;
	bool asked = false;

	pattern(out, sizeof(out), 1);
	write_all(fd, out, sizeof(out));
	while (got < sizeof(out)) {
		size_t window = 0;
		struct vsock_hdr h;
		uint32_t len;

		/* Exactly one window arrives, then the device asks for credit. */
		while (window < 4096) {
			h = expect_pkt(in + got, (uint32_t)(sizeof(in) - got),
				       &len);
			if (h.op == VSOCK_OP_CREDIT_REQUEST) {
				asked = true;
				continue;
			}
			cr_assert_eq(h.op, VSOCK_OP_RW, "op %u", h.op);
			window += len;
			got += len;
			if (got == sizeof(out))
				break;
		}
		cr_assert_leq(window, 4096, "credit exceeded: %zu", window);
		if (got < sizeof(out)) {
			if (vg_recv(&g, &h, NULL, 0, &len, QUIET_MS)) {
				cr_assert_eq(h.op, VSOCK_OP_CREDIT_REQUEST,
					     "op %u past the window", h.op);
				asked = true;
			}
		}
		c.fwd_cnt += (uint32_t)window;
		gc_send(&c, VSOCK_OP_CREDIT_UPDATE, NULL, 0);
	}
	cr_assert(asked, "the device never sent CREDIT_REQUEST");
	cr_assert_eq(memcmp(in, out, sizeof(out)), 0);
	close(fd);
}

Test(vsock, a_guest_that_never_reads_costs_no_memory)
{
	static uint8_t chunk[65536];
	struct gconn c;
	int fd = host_connect(89, 8192, &c);
	size_t written = 0, got = 0;
	struct vsock_hdr h;
	uint32_t len;
	ssize_t r;

	/* The host writes until its socket pushes back. */
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
				&(struct timeval){ 0, 200000 },
				sizeof(struct timeval)), 0);
	while ((r = write(fd, chunk, sizeof(chunk))) > 0)
		written += (size_t)r;
	cr_assert(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	while (vg_recv(&g, &h, NULL, 0, &len, QUIET_MS))
		if (h.op == VSOCK_OP_RW)
			got += len;
	cr_assert_eq(got, 8192, "the guest got %zu bytes with 8192 of credit",
		     got);
	cr_assert_gt(written, 8192);
	cr_assert_eq(counters().buffer_capacity, 0);
	close(fd);
}

/*
 * The guest sends @data[*sent, n) as far as the device's window allows
 * (VSOCK_BUF_ALLOC past the fwd_cnt it last heard, @peer_fwd).
 */
static void guest_send_within_credit(struct gconn *c, const uint8_t *data,
				     size_t n, size_t *sent, uint32_t peer_fwd)
{
	while (*sent < n) {
		uint32_t credit = VSOCK_BUF_ALLOC - ((uint32_t)*sent - peer_fwd);
		uint32_t len = (uint32_t)MIN(MIN((size_t)credit, n - *sent),
					     (size_t)4096);

		if (len == 0)
			break;
		gc_send(c, VSOCK_OP_RW, data + *sent, len);
		*sent += len;
	}
}

Test(vsock, a_slow_host_reader_bounds_the_buffer)
{
	static uint8_t out[1 << 20], in[1 << 20];
	char path[160];
	struct gconn c;
	uint32_t peer_fwd = 0;
	size_t sent = 0, got = 0;
	int lfd, fd;

	pattern(out, sizeof(out), 7);
	snprintf(path, sizeof(path), "%s_5001", uds);
	lfd = listen_at(path);
	guest_connect(1100, 5001, &c);
	fd = accept(lfd, NULL, NULL);
	/*
	 * Nobody reads: the host socket fills, then the device's buffer,
	 * then the credit updates stop and so does the guest.
	 */
	for (size_t before = SIZE_MAX; before != sent;) {
		struct vsock_hdr h;
		uint32_t len;

		before = sent;
		guest_send_within_credit(&c, out, sizeof(out), &sent, peer_fwd);
		while (vg_recv(&g, &h, NULL, 0, &len, QUIET_MS)) {
			cr_assert_eq(h.op, VSOCK_OP_CREDIT_UPDATE);
			peer_fwd = h.fwd_cnt;
		}
		cr_assert_leq(counters().buffered, VSOCK_BUF_ALLOC);
		cr_assert_leq(counters().buffer_capacity, VSOCK_BUF_ALLOC);
	}
	cr_assert_lt(sent, sizeof(out));
	/* Held: what the host socket did not take, more than half a window. */
	cr_assert_leq(counters().buffered, sent - peer_fwd);
	cr_assert_gt(counters().buffered, VSOCK_BUF_ALLOC / 2, "%llu",
		     (unsigned long long)counters().buffered);
	/* The host reads; credit updates let the guest finish. */
	while (got < sizeof(out)) {
		struct vsock_hdr h;
		uint32_t len;
		ssize_t r = read(fd, in + got, sizeof(in) - got);

		cr_assert_gt(r, 0);
		got += (size_t)r;
		while (vg_recv(&g, &h, NULL, 0, &len, got < sent ? 1 : 100)) {
			cr_assert_eq(h.op, VSOCK_OP_CREDIT_UPDATE);
			peer_fwd = h.fwd_cnt;
		}
		guest_send_within_credit(&c, out, sizeof(out), &sent, peer_fwd);
		cr_assert_leq(counters().buffer_capacity, VSOCK_BUF_ALLOC);
	}
	cr_assert_eq(memcmp(in, out, sizeof(out)), 0);
	cr_assert_eq(counters().credit_violations, 0);
	close(fd);
	close(lfd);
}

Test(vsock, a_guest_past_its_credit_is_reset)
{
	static uint8_t out[4096];
	char path[160];
	struct gconn c;
	struct vsock_hdr h;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5002", uds);
	lfd = listen_at(path);
	guest_connect(1200, 5002, &c);
	fd = accept(lfd, NULL, NULL);
	/* Ignoring the credit, far past what the host socket holds. */
	for (int i = 0; i < 4096; i++) {
		gc_send(&c, VSOCK_OP_RW, out, sizeof(out));
		if (counters().credit_violations)
			break;
	}
	cr_assert_eq(counters().credit_violations, 1);
	cr_assert_leq(counters().buffer_capacity, VSOCK_BUF_ALLOC);
	do
		h = expect_pkt(NULL, 0, NULL);
	while (h.op == VSOCK_OP_CREDIT_UPDATE);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(h.dst_port, 1200);
	cr_assert_eq(counters().conns, 0);
	close(fd);
	close(lfd);
}

Test(vsock, host_half_close_reaches_the_guest)
{
	struct gconn c;
	int fd = host_connect(90, 65536, &c);
	struct vsock_hdr h;
	uint8_t buf[16];

	write_all(fd, "last", 4);
	shutdown(fd, SHUT_WR);
	guest_read(&c, buf, 4);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_SHUTDOWN);
	cr_assert_eq(h.flags, VSOCK_SHUTDOWN_SEND, "flags %u", h.flags);
	/* The other direction still works. */
	gc_send(&c, VSOCK_OP_RW, "reply", 5);
	cr_assert_eq(read_full(fd, buf, 5, WAIT_MS), 5);
	cr_assert_eq(memcmp(buf, "reply", 5), 0);
	/* The guest closes: the host reads EOF and the guest gets the RST. */
	c.fwd_cnt = 4;
	h = gc_hdr(&c, VSOCK_OP_SHUTDOWN);
	h.flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
	cr_assert(vg_send(&g, h, NULL, 0));
	cr_assert(host_sees_eof(fd, WAIT_MS));
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(counters().conns, 0);
	close(fd);
}

Test(vsock, guest_half_close_reaches_the_host)
{
	struct gconn c;
	int fd = host_connect(91, 65536, &c);
	struct vsock_hdr h;
	uint8_t buf[16];

	gc_send(&c, VSOCK_OP_RW, "bye", 3);
	h = gc_hdr(&c, VSOCK_OP_SHUTDOWN);
	h.flags = VSOCK_SHUTDOWN_SEND;
	cr_assert(vg_send(&g, h, NULL, 0));
	cr_assert_eq(read_full(fd, buf, 3, WAIT_MS), 3);
	cr_assert(host_sees_eof(fd, WAIT_MS), "no EOF after SHUTDOWN(SEND)");
	/* The host still talks to the guest, then closes. */
	write_all(fd, "more", 4);
	guest_read(&c, buf, 4);
	cr_assert_eq(memcmp(buf, "more", 4), 0);
	close(fd);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_SHUTDOWN);
	cr_assert_eq(h.flags, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(counters().conns, 0);
}

Test(vsock, host_close_waits_for_the_guest_rst)
{
	struct gconn c;
	int fd = host_connect(92, 65536, &c);
	struct vsock_hdr h;

	close(fd);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_SHUTDOWN);
	cr_assert_eq(h.flags, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	cr_assert_eq(counters().conns, 1);
	gc_send(&c, VSOCK_OP_RST, NULL, 0);
	cr_assert(no_pkt(QUIET_MS), "a packet after the guest's RST");
	cr_assert_eq(counters().conns, 0);
}

Test(vsock, many_connections_at_once)
{
	enum { N = 64 };
	struct gconn c[N];
	int fd[N];

	for (int i = 0; i < N; i++)
		fd[i] = host_connect(100 + (uint32_t)i, 65536, &c[i]);
	cr_assert_eq(counters().conns, N);
	for (int i = 0; i < N; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "conn %d", i);
		write_all(fd[i], msg, strlen(msg));
	}
	for (int i = 0; i < N; i++) {
		uint8_t buf[16];
		uint32_t len;
		struct vsock_hdr h = expect_pkt(buf, sizeof(buf), &len);
		int k = (int)h.dst_port - 100;
		char want[16];

		cr_assert(k >= 0 && k < N);
		cr_assert_eq(h.src_port, c[k].hport);
		snprintf(want, sizeof(want), "conn %d", k);
		cr_assert_eq(len, strlen(want));
		cr_assert_eq(memcmp(buf, want, len), 0);
	}
	for (int i = 0; i < N; i++) {
		char buf[8];

		gc_send(&c[i], VSOCK_OP_RW, &i, sizeof(i));
		cr_assert_eq(read_full(fd[i], buf, sizeof(i), WAIT_MS),
			     sizeof(i));
		cr_assert_eq(memcmp(buf, &i, sizeof(i)), 0);
		close(fd[i]);
	}
}

/* The host's descriptor budget caps the connections; the guest hears RST. */
Test(vsock, connections_beyond_the_descriptor_budget_are_refused)
{
	struct gconn c[2], extra;
	struct vsock_hdr h;
	char path[160];
	int fd[2], lfd;

	vtest_teardown(&th, &dev, &drv);
	max_conns = 2;
	create(NULL);
	start_driver();
	snprintf(path, sizeof(path), "%s_5000", uds);
	lfd = listen_at(path);
	for (int i = 0; i < 2; i++)
		fd[i] = host_connect(200 + (uint32_t)i, 65536, &c[i]);
	extra = (struct gconn){ .gport = 300, .hport = 5000,
				.buf_alloc = 65536 };
	gc_send(&extra, VSOCK_OP_REQUEST, NULL, 0);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(h.dst_port, 300);
	cr_assert_eq(counters().conn_limit, 1);
	cr_assert_eq(counters().conns, 2);
	close(lfd);
	close(fd[0]);
	close(fd[1]);
}

/*
 * Out of descriptors, a client of the Unix socket waits in the backlog
 * without the loop spinning on it, and is taken once descriptors are free.
 */
Test(vsock, accepting_pauses_while_descriptors_run_out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int info = epoll_info_open(th.loop.epfd);
	int lfd = find_listening_socket(uds);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct fd_hog hog;
	struct vsock_hdr h;

	cr_assert(info >= 0 && lfd >= 0 && fd >= 0);
	set_path(&a, uds);
	cr_assert_eq(fd_hog_fill(&hog), 0, "cannot run out of descriptors");
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	for (int i = 0; i < WAIT_MS / 10 && epoll_info_watches(info, lfd); i++)
		usleep(10000);
	cr_assert_not(epoll_info_watches(info, lfd),
		      "the socket is still polled without a descriptor to accept with");
	fd_hog_release(&hog);
	write_all(fd, "CONNECT 4321\n", 13);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	cr_assert_eq(h.dst_port, 4321);
	cr_assert(epoll_info_watches(info, lfd));
	close(fd);
	close(info);
}

Test(vsock, hostile_packets_are_counted_and_answered)
{
	struct gconn c = { 1300, 5003, 4096, 0 };
	uint8_t raw[VSOCK_HDR_SIZE + 16] = { 0 };
	struct vsock_hdr h;
	struct vsock_counters n;
	uint32_t len;

	/* A short header: dropped. */
	cr_assert(vg_send_raw(&g, raw, 20));
	/* Somebody else's source CID: dropped without an answer. */
	h = gc_hdr(&c, VSOCK_OP_REQUEST);
	h.src_cid = 99;
	cr_assert(vg_send(&g, h, NULL, 0));
	cr_assert(no_pkt(QUIET_MS), "answered a spoofed packet");
	/* Another CID as destination: refused on its behalf. */
	h = gc_hdr(&c, VSOCK_OP_REQUEST);
	h.dst_cid = 5;
	cr_assert(vg_send(&g, h, NULL, 0));
	cr_assert(vg_recv(&g, &h, NULL, 0, &len, WAIT_MS));
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(h.src_cid, 5);
	/* A datagram type, an unknown op, data for no connection. */
	h = gc_hdr(&c, VSOCK_OP_REQUEST);
	h.type = 2;
	cr_assert(vg_send(&g, h, NULL, 0));
	h = gc_hdr(&c, 42);
	cr_assert(vg_send(&g, h, NULL, 0));
	gc_send(&c, VSOCK_OP_RW, "x", 1);
	for (int i = 0; i < 3; i++) {
		h = expect_pkt(NULL, 0, NULL);
		cr_assert_eq(h.op, VSOCK_OP_RST, "answer %d is op %u", i, h.op);
		cr_assert_eq(h.dst_port, 1300);
	}
	/* A length past the buffer, and past the packet limit. */
	h = gc_hdr(&c, VSOCK_OP_RW);
	h.len = 1000;
	vsock_hdr_encode(&h, raw);
	cr_assert(vg_send_raw(&g, raw, sizeof(raw)));
	h.len = 0xffffffff;
	vsock_hdr_encode(&h, raw);
	cr_assert(vg_send_raw(&g, raw, sizeof(raw)));
	for (int i = 0; i < 2; i++)
		cr_assert_eq(expect_pkt(NULL, 0, NULL).op, VSOCK_OP_RST);
	/* An RST for nothing: silence. */
	gc_send(&c, VSOCK_OP_RST, NULL, 0);
	cr_assert(no_pkt(QUIET_MS));
	n = counters();
	cr_assert_eq(n.bad_header, 3);
	cr_assert_eq(n.bad_src_cid, 1);
	cr_assert_eq(n.bad_dst_cid, 1);
	cr_assert_eq(n.bad_type, 1);
	cr_assert_eq(n.bad_op, 1);
	cr_assert_eq(n.conns, 0);
	/* And the device still works. */
	close(host_connect(1, 4096, &c));
}

Test(vsock, rst_from_another_cid_names_that_cid)
{
	struct gconn c = { 1400, 80, 4096, 0 };
	struct vsock_hdr h = gc_hdr(&c, VSOCK_OP_REQUEST);
	uint32_t len;

	h.dst_cid = 7;
	cr_assert(vg_send(&g, h, NULL, 0));
	cr_assert(vg_recv(&g, &h, NULL, 0, &len, WAIT_MS));
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(h.src_cid, 7);
	cr_assert_eq(h.src_port, 80);
	cr_assert_eq(h.dst_port, 1400);
}

Test(vsock, protocol_violations_reset_the_connection)
{
	struct gconn c;
	int fd = host_connect(93, 4096, &c);
	struct vsock_hdr h;

	/* A second REQUEST on an open connection. */
	gc_send(&c, VSOCK_OP_REQUEST, NULL, 0);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert(host_sees_eof(fd, WAIT_MS));
	cr_assert_eq(counters().bad_state, 1);
	close(fd);
	/* Data after SHUTDOWN(SEND). */
	fd = host_connect(94, 4096, &c);
	h = gc_hdr(&c, VSOCK_OP_SHUTDOWN);
	h.flags = VSOCK_SHUTDOWN_SEND;
	cr_assert(vg_send(&g, h, NULL, 0));
	gc_send(&c, VSOCK_OP_RW, "late", 4);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(counters().bad_state, 2);
	close(fd);
}

Test(vsock, unusable_receive_buffers_come_back_empty)
{
	struct vdrv_buf tiny = { vdrv_alloc(&drv, 64, 8), 20, true };
	struct gconn c = { 1500, 6100, 4096, 0 };
	uint32_t id, len;
	int head;

	/* Fill the ring's free slots with tiny buffers ahead of good ones. */
	vtest_teardown(&th, &dev, &drv);
	create(NULL);
	cr_assert_eq(vdrv_start(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1), 3,
				VIRTIO_VSOCK_EVQ_SIZE), 0);
	tiny.gpa = vdrv_alloc(&drv, 64, 8);
	head = vdrv_add(&drv, VIRTIO_VSOCK_RXQ, &tiny, 1, false);
	cr_assert_geq(head, 0);
	vdrv_kick(&drv, VIRTIO_VSOCK_RXQ);
	g = (struct vguest){ .d = &drv, .cid = CID, .rx_size = RX_SIZE };
	g.tx_cap = VSOCK_HDR_SIZE + VSOCK_MAX_PKT;
	g.tx_gpa = vdrv_alloc(&drv, g.tx_cap, 64);
	gc_send(&c, VSOCK_OP_REQUEST, NULL, 0);
	cr_assert(vdrv_wait_used(&drv, VIRTIO_VSOCK_RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(id, (uint32_t)head);
	cr_assert_eq(len, 0);
	cr_assert_eq(counters().bad_rx_buffers, 1);
}

Test(vsock, headers_split_over_descriptors)
{
	static uint8_t out[10000], in[10000];
	struct gconn c;
	int fd;

	/* A fresh guest whose receive headers span two descriptors. */
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	vdrv_free(&drv);
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, 8 * MiB, 8 * MiB);
	cr_assert_eq(vdrv_start(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1), 2,
				QSIZE), 0);
	vg_init_split(&g, &drv, CID, 16, RX_SIZE);
	fd = host_connect(98, 65536, &c);
	pattern(out, sizeof(out), 3);
	write_all(fd, out, sizeof(out));
	guest_read(&c, in, sizeof(in));
	cr_assert_eq(memcmp(in, out, sizeof(out)), 0);
	close(fd);
}

/*
 * A guest whose receive buffers hold a header and nothing more, in one
 * descriptor or two, while the host has data for it: every such buffer
 * comes back empty (the device neither spins on it nor holds its lock),
 * and the data waits for a buffer that can carry it.
 */
static void header_only_receive_buffers(bool split)
{
	struct vdrv_buf big = { 0, RX_SIZE, true };
	uint32_t id, len;
	struct vsock_hdr h;
	struct gconn c;
	int head, fd;

	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	vdrv_free(&drv);
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, 8 * MiB, 8 * MiB);
	cr_assert_eq(vdrv_start(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1), 2,
				QSIZE), 0);
	if (split)
		vg_init_split(&g, &drv, CID, 8, VSOCK_HDR_SIZE);
	else
		vg_init(&g, &drv, CID, 8, VSOCK_HDR_SIZE);
	/* The handshake fits in headers. */
	fd = host_connect(99, 65536, &c);
	write_all(fd, "hello", 5);
	for (int i = 0; i < 32; i++) {
		cr_assert(vg_recv(&g, &h, NULL, 0, &len, WAIT_MS),
			  "receive buffer %d did not come back", i);
		cr_assert_eq(len, 0);
		cr_assert_eq(h.op, VSOCK_OP_INVALID, "op %u", h.op);
	}
	cr_assert_geq(counters().bad_rx_buffers, 32);
	/* A buffer with room gets the data, whatever else comes back. */
	big.gpa = vdrv_alloc(&drv, RX_SIZE, 64);
	head = vdrv_add(&drv, VIRTIO_VSOCK_RXQ, &big, 1, false);
	cr_assert_geq(head, 0);
	vdrv_kick(&drv, VIRTIO_VSOCK_RXQ);
	do
		cr_assert(vdrv_wait_used(&drv, VIRTIO_VSOCK_RXQ, &id, &len,
					 WAIT_MS), "the data never came");
	while (id != (uint32_t)head);
	cr_assert_eq(len, VSOCK_HDR_SIZE + 5);
	vsock_hdr_decode(vdrv_ptr(&drv, big.gpa, VSOCK_HDR_SIZE), &h);
	cr_assert_eq(h.op, VSOCK_OP_RW);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, big.gpa + VSOCK_HDR_SIZE, 5),
			    "hello", 5), 0);
	close(fd);
}

Test(vsock, header_only_receive_buffers_do_not_stall_the_device)
{
	header_only_receive_buffers(false);
}

Test(vsock, split_header_only_receive_buffers_do_not_stall_the_device)
{
	header_only_receive_buffers(true);
}

Test(vsock, a_looping_transmit_chain_needs_reset)
{
	uint64_t buf = vdrv_alloc(&drv, 64, 8);

	vdrv_desc_write(&drv, VIRTIO_VSOCK_TXQ, 0, buf, 64, VIRTQ_DESC_F_NEXT, 1);
	vdrv_desc_write(&drv, VIRTIO_VSOCK_TXQ, 1, buf, 64, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&drv, VIRTIO_VSOCK_TXQ, 0);
	vdrv_kick(&drv, VIRTIO_VSOCK_TXQ);
	cr_assert(vdrv_wait_status(&drv, VIRTIO_STATUS_NEEDS_RESET, WAIT_MS));
}

Test(vsock, device_reset_closes_host_sockets)
{
	struct gconn c;
	int fd = host_connect(95, 4096, &c);

	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	cr_assert(host_sees_eof(fd, WAIT_MS), "host socket open after reset");
	cr_assert_eq(counters().conns, 0);
	close(fd);
	/* The driver comes back and everything works again. */
	vdrv_free(&drv);
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, 8 * MiB, 8 * MiB);
	start_driver();
	close(host_connect(96, 4096, &c));
}

struct loop_job {
	int (*fn)(struct err *e);
	struct err *e;
	int ret;
	int done;
};

static void loop_job_run(void *opaque)
{
	struct loop_job *j = opaque;

	j->ret = j->fn(j->e);
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
}

/* Runs @fn on the event loop thread, as the control API would. */
static int on_loop(int (*fn)(struct err *e), struct err *e)
{
	struct loop_job j = { fn, e, -1, 0 };

	cr_assert_eq(event_loop_call(&th.loop, loop_job_run, &j), 0);
	for (int i = 0; i < 200 && !__atomic_load_n(&j.done, __ATOMIC_SEQ_CST);
	     i++)
		usleep(10000);
	cr_assert(j.done, "the event loop did not run the call");
	return j.ret;
}

static int transport_reset(struct err *e)
{
	return virtio_vsock_transport_reset(ctl, e);
}

Test(vsock, transport_reset_event)
{
	uint64_t ev = vdrv_alloc(&drv, 8, 8);
	struct vdrv_buf b = { ev, 4, true };
	struct gconn c;
	int fd = host_connect(97, 4096, &c);
	uint32_t id, len;
	struct err e;

	memset(vdrv_ptr(&drv, ev, 4), 0xff, 4);
	cr_assert_geq(vdrv_add(&drv, VIRTIO_VSOCK_EVQ, &b, 1, false), 0);
	vdrv_kick(&drv, VIRTIO_VSOCK_EVQ);
	cr_assert_eq(on_loop(transport_reset, &e), 0, "%s", e.msg);
	cr_assert(vdrv_wait_used(&drv, VIRTIO_VSOCK_EVQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, VSOCK_EVENT_SIZE);
	cr_assert_eq(get_le32(vdrv_ptr(&drv, ev, 4)),
		     VSOCK_EVENT_TRANSPORT_RESET);
	cr_assert(host_sees_eof(fd, WAIT_MS));
	cr_assert_eq(counters().events, 1);
	cr_assert_eq(counters().conns, 0);
	close(fd);
}

struct api_result {
	int fd;
	char msg[sizeof(struct err)];
	int calls;
};

static void api_done(void *ctx, int fd, const struct err *e)
{
	struct api_result *r = ctx;

	r->fd = fd;
	snprintf(r->msg, sizeof(r->msg), "%s", e ? e->msg : "");
	__atomic_add_fetch(&r->calls, 1, __ATOMIC_SEQ_CST);
}

struct api_args {
	uint32_t port;
	struct api_result *r;
	int ret;
	struct err e;
	int done;
};

/* Control API calls happen on the event loop thread. */
static void api_call(void *opaque)
{
	struct api_args *a = opaque;

	a->ret = ctl->connect(ctl->opaque, a->port, api_done, a->r, &a->e);
	__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
}

static void api_connect(struct api_args *a)
{
	cr_assert_eq(event_loop_call(&th.loop, api_call, a), 0);
	for (int i = 0; i < 200 && !__atomic_load_n(&a->done, __ATOMIC_SEQ_CST);
	     i++)
		usleep(10000);
	cr_assert(a->done);
}

static bool wait_calls(struct api_result *r)
{
	for (int i = 0; i < 200; i++) {
		if (__atomic_load_n(&r->calls, __ATOMIC_SEQ_CST))
			return true;
		usleep(10000);
	}
	return false;
}

Test(vsock, api_connect_gets_a_stream)
{
	struct api_result r = { -1, "", 0 };
	struct api_args a = { .port = 5555, .r = &r };
	struct vsock_hdr h;
	struct gconn c;
	uint8_t buf[8];
	uint32_t len;

	api_connect(&a);
	cr_assert_eq(a.ret, 0, "%s", a.e.msg);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	cr_assert_eq(h.dst_port, 5555);
	c = (struct gconn){ 5555, h.src_port, 4096, 0 };
	gc_send(&c, VSOCK_OP_RESPONSE, NULL, 0);
	cr_assert(wait_calls(&r));
	cr_assert_geq(r.fd, 0, "%s", r.msg);
	write_all(r.fd, "api", 3);
	h = expect_pkt(buf, sizeof(buf), &len);
	cr_assert_eq(h.op, VSOCK_OP_RW);
	cr_assert_eq(len, 3);
	gc_send(&c, VSOCK_OP_RW, "ok", 2);
	cr_assert_eq(read_full(r.fd, buf, 2, WAIT_MS), 2);
	cr_assert_eq(memcmp(buf, "ok", 2), 0);
	close(r.fd);
}

Test(vsock, api_connect_refused)
{
	struct api_result r = { -1, "", 0 };
	struct api_args a = { .port = 5556, .r = &r };
	struct vsock_hdr h;
	struct gconn c;

	api_connect(&a);
	cr_assert_eq(a.ret, 0, "%s", a.e.msg);
	h = expect_pkt(NULL, 0, NULL);
	c = (struct gconn){ 5556, h.src_port, 4096, 0 };
	gc_send(&c, VSOCK_OP_RST, NULL, 0);
	cr_assert(wait_calls(&r));
	cr_assert_eq(r.fd, -1);
	cr_assert(strstr(r.msg, "refused"), "%s", r.msg);
	cr_assert_eq(r.calls, 1);
}

Test(vsock, api_connect_without_a_driver_fails_at_once)
{
	struct api_result r = { -1, "", 0 };
	struct api_args a = { .port = 5557, .r = &r };

	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	api_connect(&a);
	cr_assert_eq(a.ret, -1);
	cr_assert(strstr(a.e.msg, "not running"), "%s", a.e.msg);
	usleep(50000);
	cr_assert_eq(r.calls, 0, "done called after a failed call");
}

Test(vsock, unanswered_requests_time_out, .timeout = 30)
{
	struct api_result r = { -1, "", 0 };
	struct api_args a = { .port = 5558, .r = &r };
	int idle = dial(uds), fd = dial(uds);
	struct vsock_hdr h;

	/* @idle never says CONNECT: it is dropped after the handshake time. */
	write_all(fd, "CONNECT 5559\n", 13);
	api_connect(&a);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	h = expect_pkt(NULL, 0, NULL);
	cr_assert_eq(h.op, VSOCK_OP_REQUEST);
	/* The guest stays silent: both give up, and the guest hears RSTs. */
	cr_assert(host_sees_eof(fd, VSOCK_CONNECT_TIMEOUT_MS + 2000));
	cr_assert(wait_calls(&r));
	cr_assert(strstr(r.msg, "did not answer"), "%s", r.msg);
	for (int i = 0; i < 2; i++) {
		h = expect_pkt(NULL, 0, NULL);
		cr_assert_eq(h.op, VSOCK_OP_RST);
	}
	cr_assert(host_sees_eof(idle, WAIT_MS), "a silent client was kept");
	cr_assert_eq(counters().timeouts, 3);
	cr_assert_eq(counters().conns, 0);
	close(fd);
	close(idle);
}

/* ---- the --vsock and --vsock-listen flags ---- */

static struct vm_config fcfg;
static struct err fe;

static void flags_setup(void)
{
	vm_config_init(&fcfg);
	memset(&fe, 0, sizeof(fe));
}

static void flags_teardown(void)
{
	vm_config_free(&fcfg);
}

TestSuite(vsock_flags, .init = flags_setup, .fini = flags_teardown);

Test(vsock_flags, accepted_forms)
{
	cr_assert_eq(config_add_vsock_listen(&fcfg, "5000=/run/agent.sock", &fe),
		     0, "%s", fe.msg);
	cr_assert_eq(config_set_vsock(&fcfg, "cid=3,uds=/run/v.sock", &fe), 0,
		     "%s", fe.msg);
	cr_assert(fcfg.vsock.enabled);
	cr_assert_eq(fcfg.vsock.cid, 3);
	cr_assert_str_eq(fcfg.vsock.uds_path, "/run/v.sock");
	cr_assert_eq(fcfg.vsock.nr_listeners, 1);
	cr_assert_eq(fcfg.vsock.listeners[0].port, 5000);
	cr_assert_str_eq(fcfg.vsock.listeners[0].path, "/run/agent.sock");
	cr_assert_eq(config_add_vsock_listen(&fcfg, "0=/x", &fe), 0, "%s",
		     fe.msg);
}

static void vsock_error(const char *arg, const char *part)
{
	struct vsock_config before = fcfg.vsock;

	cr_assert_eq(config_set_vsock(&fcfg, arg, &fe), -1, "'%s' accepted",
		     arg);
	cr_assert(strstr(fe.msg, "--vsock"), "%s", fe.msg);
	cr_assert(strstr(fe.msg, part), "'%s' not in: %s", part, fe.msg);
	cr_assert_eq(memcmp(&before, &fcfg.vsock, sizeof(before)), 0);
}

static void listen_error(const char *arg, const char *part)
{
	unsigned int before = fcfg.vsock.nr_listeners;

	cr_assert_eq(config_add_vsock_listen(&fcfg, arg, &fe), -1,
		     "'%s' accepted", arg);
	cr_assert(strstr(fe.msg, "--vsock-listen"), "%s", fe.msg);
	cr_assert(strstr(fe.msg, part), "'%s' not in: %s", part, fe.msg);
	cr_assert_eq(fcfg.vsock.nr_listeners, before);
}

Test(vsock_flags, errors_name_the_bad_part)
{
	char longpath[200];

	vsock_error("uds=/a", "needs cid=N");
	vsock_error("cid=3", "needs uds=PATH");
	vsock_error("cid=2,uds=/a", "cid '2'");
	vsock_error("cid=4294967295,uds=/a", "cid '4294967295'");
	vsock_error("cid=x,uds=/a", "cid 'x'");
	vsock_error("cid=3,cid=4,uds=/a", "cid given twice");
	vsock_error("cid=3,uds=", "uds path is empty");
	vsock_error("cid=3,uds=/a,port=5", "unknown option 'port=5'");
	memset(longpath, 'a', sizeof(longpath));
	strcpy(longpath, "cid=3,uds=/");
	memset(longpath + 11, 'p', 120);
	longpath[131] = '\0';
	vsock_error(longpath, "at most");
	cr_assert_eq(config_set_vsock(&fcfg, "cid=3,uds=/a", &fe), 0);
	vsock_error("cid=4,uds=/b", "given twice");
	listen_error("5000", "PORT=PATH");
	listen_error("x=/a", "port 'x'");
	listen_error("4294967295=/a", "port '4294967295'");
	listen_error("5=", "path is empty");
	cr_assert_eq(config_add_vsock_listen(&fcfg, "5=/a", &fe), 0);
	listen_error("5=/b", "already has a listener");
}

TestSuite(vsock_pci, .init = setup_pci, .fini = teardown, .timeout = 30);

Test(vsock_pci, guest_connects_to_path_port)
{
	connect_to_path_port();
}
