// SPDX-License-Identifier: MIT
/*
 * Host-to-guest vsock throughput against a plain Unix socket pair, side by
 * side in one run, the same bytes each way.
 *
 * Socket pair: a writer thread writes CHUNK-byte blocks into one end, the
 * reader reads them from the other.
 *
 * vsock: the same writer thread writes into a Unix socket connected to the
 * VMM's vsock device (after the "CONNECT <port>\n" handshake); the device,
 * on its event loop thread, reads from that socket straight into the
 * receive buffers of a guest played by the unit tests' simulated virtio
 * driver (EVENT_IDX, interrupts through an eventfd), which takes each
 * packet, gives the buffer back, and returns credit the way Linux does
 * (a 256 KiB window, updates sent without waiting, no interrupts while it
 * finds work). Prints both rates, their ratio, and the CPU time of the
 * device's event loop thread.
 *
 * usage: bench-vsock [--mib N] [--rx-buf BYTES] [--rounds N]
 * (--rx-buf: the guest's receive buffers; Linux posts 4 KiB ones)
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/vsock/vsock.h"
#include "tests/unit/virtio_driver.h"
#include "tests/unit/vsock_driver.h"

#define CHUNK (64 * 1024)
#define MEM_SIZE (64 * MiB)
#define HEAP (1 * MiB)
#define QSIZE 256
#define GUEST_PORT 1234
#define GUEST_BUF_ALLOC (256 * 1024) /* Linux's default */
#define CID 3

struct writer {
	int fd;
	uint64_t total;
	pthread_t thread;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-vsock: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *writer_main(void *opaque)
{
	struct writer *w = opaque;
	static uint8_t buf[CHUNK];
	uint64_t left = w->total;

	memset(buf, 0xa5, sizeof(buf));
	while (left) {
		ssize_t n = write(w->fd, buf, MIN(left, (uint64_t)CHUNK));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writer");
		left -= (uint64_t)n;
	}
	return NULL;
}

static void writer_start(struct writer *w, int fd, uint64_t total)
{
	w->fd = fd;
	w->total = total;
	if (pthread_create(&w->thread, NULL, writer_main, w))
		die("pthread_create");
}

static double run_socketpair(uint64_t total)
{
	static uint8_t buf[CHUNK];
	struct writer w;
	uint64_t got = 0;
	double t0;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	t0 = now();
	writer_start(&w, sv[0], total);
	while (got < total) {
		ssize_t n = read(sv[1], buf, sizeof(buf));

		if (n <= 0)
			die("socketpair read");
		got += (uint64_t)n;
	}
	t0 = now() - t0;
	pthread_join(w.thread, NULL);
	close(sv[0]);
	close(sv[1]);
	return t0;
}

struct vsock_bench {
	struct vtest_host th;
	struct device *dev;
	struct vsock_control *ctl;
	struct vdrv drv;
	struct vguest g;
	char dir[64];
	char uds[128];
};

static void vb_setup(struct vsock_bench *b, uint32_t rx_buf)
{
	struct vsock_config cfg = { .enabled = true, .cid = CID };
	struct err e;

	strcpy(b->dir, "/tmp/bench-vsock-XXXXXX");
	if (!mkdtemp(b->dir))
		die("mkdtemp");
	snprintf(b->uds, sizeof(b->uds), "%s/v.sock", b->dir);
	memcpy(cfg.uds_path, b->uds, strlen(b->uds) + 1);
	if (vtest_host_init(&b->th, MEM_SIZE, true) < 0)
		die("test host");
	if (virtio_vsock_create(&b->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				&b->dev, &b->ctl, &e) < 0) {
		fprintf(stderr, "bench-vsock: %s\n", e.msg);
		exit(1);
	}
	if (vtest_host_start(&b->th) < 0)
		die("event loop");
	vdrv_init(&b->drv, &b->th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
	if (vdrv_negotiate(&b->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					    VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) < 0 ||
	    vdrv_setup_queue(&b->drv, VIRTIO_VSOCK_RXQ, QSIZE) < 0 ||
	    vdrv_setup_queue(&b->drv, VIRTIO_VSOCK_TXQ, QSIZE) < 0 ||
	    vdrv_setup_queue(&b->drv, VIRTIO_VSOCK_EVQ,
			     VIRTIO_VSOCK_EVQ_SIZE) < 0) {
		fprintf(stderr, "bench-vsock: driver setup failed\n");
		exit(1);
	}
	vdrv_driver_ok(&b->drv);
	/* 1 MiB of buffers: Linux fills our 256 entries with 4 KiB ones. */
	vg_init(&b->g, &b->drv, CID, MIN(QSIZE, (unsigned int)(MiB / rx_buf)),
		VSOCK_HDR_SIZE + rx_buf);
}

static void vb_teardown(struct vsock_bench *b)
{
	char path[160];

	vtest_host_stop(&b->th);
	b->dev->ops->destroy(b->dev);
	vdrv_free(&b->drv);
	vtest_host_destroy(&b->th);
	snprintf(path, sizeof(path), "%s", b->uds);
	unlink(path);
	rmdir(b->dir);
}

/*
 * The next packet. As Linux does, the guest takes no interrupts while it
 * finds work, and asks for one (then looks once more) before sleeping.
 */
static void vb_next(struct vsock_bench *b, struct vsock_hdr *h, uint32_t *len)
{
	struct vdrv_queue *q = &b->drv.q[VIRTIO_VSOCK_RXQ];

	for (;;) {
		if (vg_poll(&b->g, h, NULL, 0, len))
			return;
		vg_flush_rx(&b->g);
		vdrv_set_used_event(&b->drv, VIRTIO_VSOCK_RXQ, q->last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (vg_poll(&b->g, h, NULL, 0, len))
			return;
		vtest_irq_wait(&b->th, VTEST_GSI, 100);
	}
}

static int vb_connect(struct vsock_bench *b, struct vsock_hdr *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[32];
	uint32_t len;
	struct vsock_hdr h;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = 0;

	memcpy(a.sun_path, b->uds, strlen(b->uds) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connecting to the vsock socket");
	snprintf(line, sizeof(line), "CONNECT %u\n", GUEST_PORT);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		die("CONNECT");
	vb_next(b, req, &len);
	if (req->op != VSOCK_OP_REQUEST) {
		fprintf(stderr, "bench-vsock: expected a REQUEST, got op %u\n",
			req->op);
		exit(1);
	}
	h = vg_hdr(&b->g, VSOCK_OP_RESPONSE, GUEST_PORT, req->src_port);
	h.buf_alloc = GUEST_BUF_ALLOC;
	if (!vg_send(&b->g, h, NULL, 0))
		die("RESPONSE");
	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1)
		if (line[n++] == '\n')
			break;
	if (n < 4 || memcmp(line, "OK ", 3)) {
		fprintf(stderr, "bench-vsock: no OK line\n");
		exit(1);
	}
	return fd;
}

/* CPU time of the device's event loop thread in the last vsock run. */
static uint64_t loop_ns;

/* Guest side: takes @total bytes, crediting them back as Linux does. */
static double run_vsock(struct vsock_bench *b, uint64_t total)
{
	uint64_t l0;
	struct vsock_hdr req, h, cu;
	uint32_t fwd = 0, reported = 0, len;
	uint64_t got = 0;
	struct writer w;
	double t0;
	int fd;

	fd = vb_connect(b, &req);
	cu = vg_hdr(&b->g, VSOCK_OP_CREDIT_UPDATE, GUEST_PORT, req.src_port);
	cu.buf_alloc = GUEST_BUF_ALLOC;
	t0 = now();
	l0 = vtest_loop_cpu_ns(&b->th);
	writer_start(&w, fd, total);
	while (got < total) {
		vb_next(b, &h, &len);
		if (h.op != VSOCK_OP_RW)
			continue;
		got += len;
		fwd += len;
		/* Linux: a credit update once free space runs low. */
		if (fwd - reported >= GUEST_BUF_ALLOC / 2) {
			vg_flush_rx(&b->g);
			cu.fwd_cnt = fwd;
			if (!vg_send_hdr_async(&b->g, cu))
				die("CREDIT_UPDATE");
			reported = fwd;
		}
	}
	t0 = now() - t0;
	loop_ns = vtest_loop_cpu_ns(&b->th) - l0;
	pthread_join(w.thread, NULL);
	/* A clean close: the host's SHUTDOWN, the guest's RST. */
	close(fd);
	do
		vb_next(b, &h, &len);
	while (h.op != VSOCK_OP_SHUTDOWN);
	h = vg_hdr(&b->g, VSOCK_OP_RST, GUEST_PORT, req.src_port);
	if (!vg_send(&b->g, h, NULL, 0))
		die("RST");
	vg_flush_rx(&b->g);
	return t0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "rx-buf", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t mib = 512;
	uint32_t rx_buf = 4096;
	int rounds = 3, c;
	double best_pair = 1e9, best_vsock = 1e9;
	uint64_t best_loop_ns = 0;
	struct vsock_bench b;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			mib = strtoull(optarg, NULL, 10);
		else if (c == 'r')
			rx_buf = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 'n')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (!mib || rx_buf < 256 || rx_buf > VSOCK_MAX_PKT || rounds < 1) {
		fprintf(stderr, "usage: bench-vsock [--mib N] [--rx-buf 256..65536] [--rounds N]\n");
		return 2;
	}
	vb_setup(&b, rx_buf);
	/* Alternating rounds; the best of each side counts. */
	for (int i = 0; i < rounds; i++) {
		double t;

		best_pair = MIN(best_pair, run_socketpair(mib * MiB));
		t = run_vsock(&b, mib * MiB);
		if (t < best_vsock) {
			best_vsock = t;
			best_loop_ns = loop_ns;
		}
	}
	vb_teardown(&b);
	printf("%llu MiB host to guest, %u-byte guest receive buffers, best of %d rounds\n",
	       (unsigned long long)mib, rx_buf, rounds);
	printf("  unix socketpair   %8.0f MB/s\n", (double)(mib * MiB) / best_pair / 1e6);
	printf("  vsock (device)    %8.0f MB/s\n", (double)(mib * MiB) / best_vsock / 1e6);
	printf("  ratio             %8.0f %%  (target >= 50 %%)\n",
	       100.0 * best_pair / best_vsock);
	printf("  device CPU        %8.0f ms per GiB (event loop thread)\n",
	       (double)best_loop_ns / 1e6 / ((double)mib / 1024.0));
	return 0;
}
