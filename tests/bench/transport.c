// SPDX-License-Identifier: MIT
/*
 * The same devices over virtio-mmio and virtio-pci, side by side in one
 * run: request round trips through the VMM's device path, driven by the
 * simulated virtio driver of the unit tests with doorbells bound like
 * KVM's ioeventfds. Two devices: the unit tests' echo device (64 bytes
 * each way: the transport and the virtqueue alone) and virtio-blk reading
 * 4 KiB blocks of a file in the page cache (a whole device path), each at
 * queue depth 1 and with a full queue.
 *
 * The driver takes interrupts as Linux's do: virtio-mmio reads
 * InterruptStatus and writes InterruptACK for each; virtio-pci with MSI-X
 * has a vector per queue and touches no register; virtio-pci with INTx
 * reads the ISR. Every register access is counted: in a real guest each
 * is a VM exit, which this simulation does not pay, so the exits per
 * request are the figure to carry over to a real host.
 *
 * usage: bench-transport --file PATH [--seconds N]
 * (three alternating rounds of N seconds per transport and workload)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "tests/unit/echo_device.h"
#include "tests/unit/virtio_driver.h"

#define MEM_SIZE (64 * MiB)
#define HEAP (1 * MiB)
#define ROUNDS 3
#define ECHO_LEN 64
#define BLK_BS 4096
#define BLK_QSIZE 128
#define FILE_SIZE (64 * MiB)
#define MAX_QD 128

enum transport { MMIO, PCI_MSIX, PCI_INTX, NR_TRANSPORTS };
static const char *const transport_names[] = { "virtio-mmio", "pci msi-x",
					       "pci intx" };

enum device_kind { ECHO, BLK };

struct workload {
	const char *name;
	enum device_kind kind;
	unsigned int qd;
};

static const struct workload workloads[] = {
	{ "echo qd1", ECHO, 1 },
	{ "echo qd8", ECHO, ECHO_QSIZE / 2 }, /* two descriptors each */
	{ "blk read qd1", BLK, 1 },
	{ "blk read qd32", BLK, 32 },
};

struct result {
	uint64_t reqs;
	double secs;
	uint64_t loop_cpu_ns;
	unsigned long exits;
};

struct req {
	uint64_t out, in, status;
};

struct bench {
	struct vtest_host th;
	const char *path;
	struct echo echo;
	struct device *dev;
	struct vdrv d;
	enum transport t;
	const struct workload *w;
	struct req reqs[MAX_QD];
	int req_of[BLK_QSIZE]; /* head descriptor -> request */
	uint64_t seed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-transport: %s\n", what);
	exit(1);
}

static void prepare(const char *path)
{
	struct stat st;
	char *buf;
	int fd;

	if (stat(path, &st) == 0 && (uint64_t)st.st_size == FILE_SIZE)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	buf = calloc(1, MiB);
	if (fd < 0 || !buf) {
		perror(path);
		exit(1);
	}
	memset(buf, 0x5a, MiB);
	for (uint64_t off = 0; off < FILE_SIZE; off += MiB)
		if (pwrite(fd, buf, MiB, (off_t)off) != (ssize_t)MiB)
			die("writing the bench file");
	free(buf);
	close(fd);
}

/*
 * A fresh host with a device on transport @b->t, a driver with its queues
 * up, and the event loop running.
 */
static void attach(struct bench *b)
{
	struct virtio_attach at;
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	struct disk_config disk = { .path = (char *)b->path, .read_only = true };
	uint16_t qsize = ECHO_QSIZE;
	unsigned int nr_queues = 2;
	struct err e;

	if (vtest_host_init(&b->th, MEM_SIZE, true) < 0)
		die("guest memory and event loop");
	at = vtest_at(&b->th, b->t != MMIO);
	if (b->w->kind == ECHO) {
		echo_init(&b->echo);
		if (virtio_attach(&b->th.host, &at, &b->echo.vdev, &b->dev, &e) < 0)
			die(e.msg);
	} else {
		if (virtio_blk_create(&b->th.host, &at, &disk, &b->dev, &e) < 0)
			die(e.msg);
		qsize = BLK_QSIZE;
		nr_queues = 1;
	}
	if (b->t == MMIO)
		vdrv_init(&b->d, &b->th, VTEST_BASE, VTEST_GSI, HEAP,
			  MEM_SIZE - HEAP);
	else if (vdrv_init_pci(&b->d, &b->th, VTEST_PCI_SLOT, b->t == PCI_MSIX,
			       HEAP, MEM_SIZE - HEAP) < 0)
		die("the PCI function does not look like virtio");
	if (vdrv_start(&b->d, want, nr_queues, qsize) < 0)
		die("the device refused the driver");
	for (unsigned int i = 0; i < b->w->qd; i++) {
		b->reqs[i].out = vdrv_alloc(&b->d, BLK_BS, 16);
		b->reqs[i].in = vdrv_alloc(&b->d, BLK_BS, BLK_BS);
		b->reqs[i].status = vdrv_alloc(&b->d, 1, 1);
	}
	if (vtest_host_start(&b->th) < 0)
		die("event loop thread");
}

static void add_request(struct bench *b, unsigned int i)
{
	struct req *r = &b->reqs[i];
	int head;

	if (b->w->kind == ECHO) {
		struct vdrv_buf bufs[2] = {
			{ r->out, ECHO_LEN, false },
			{ r->in, ECHO_LEN, true },
		};

		head = vdrv_add(&b->d, 0, bufs, 2, false);
	} else {
		uint8_t *h = vdrv_ptr(&b->d, r->out, 16);
		struct vdrv_buf bufs[3] = {
			{ r->out, 16, false },
			{ r->in, BLK_BS, true },
			{ r->status, 1, true },
		};

		/* xorshift: the same blocks for every transport. */
		b->seed ^= b->seed << 13;
		b->seed ^= b->seed >> 7;
		b->seed ^= b->seed << 17;
		put_le32(h, VIRTIO_BLK_T_IN);
		put_le64(h + 8, (b->seed % (FILE_SIZE / BLK_BS)) *
					(BLK_BS / VIRTIO_BLK_SECTOR));
		head = vdrv_add(&b->d, 0, bufs, 3, false);
	}
	if (head < 0 || head >= BLK_QSIZE)
		die("no descriptors left");
	b->req_of[head] = (int)i;
}

static void check_done(struct bench *b, unsigned int i, uint32_t len)
{
	bool ok = b->w->kind == ECHO ?
			  len == ECHO_LEN :
			  *(uint8_t *)vdrv_ptr(&b->d, b->reqs[i].status, 1) ==
				  VIRTIO_BLK_S_OK;

	if (!ok)
		die("a request failed");
}

/* What the guest's interrupt handler does before it looks at the ring. */
static void take_interrupt(struct bench *b)
{
	uint32_t isr;

	switch (b->t) {
	case MMIO:
		isr = vdrv_read(&b->d, VIRTIO_MMIO_INTERRUPT_STATUS);
		vdrv_write(&b->d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
		break;
	case PCI_INTX:
		vdrv_mem_read(&b->th, b->d.pci.isr, 1);
		break;
	case PCI_MSIX:
	case NR_TRANSPORTS:
		break;
	}
}

static struct result run(struct bench *b, double secs)
{
	struct result r = { 0 };
	unsigned int outstanding = 0;
	double t0, end;
	uint64_t cpu0;
	unsigned long exits0;

	attach(b);
	b->seed = 0x9e3779b97f4a7c15ULL;
	cpu0 = vtest_loop_cpu_ns(&b->th);
	exits0 = __atomic_load_n(&b->th.exits, __ATOMIC_RELAXED);
	t0 = now();
	end = t0 + secs;
	for (unsigned int i = 0; i < b->w->qd; i++, outstanding++)
		add_request(b, i);
	vdrv_kick(&b->d, 0);
	for (;;) {
		uint16_t old = b->d.q[0].avail_idx;
		bool more = now() < end;
		uint32_t id, len;

		if (!vdrv_irq_wait(&b->d, 0, 1000))
			die("no interrupt within a second");
		take_interrupt(b);
		while (vdrv_get_used(&b->d, 0, &id, &len)) {
			unsigned int i = (unsigned int)b->req_of[id];

			check_done(b, i, len);
			r.reqs++;
			outstanding--;
			if (more) {
				add_request(b, i);
				outstanding++;
			}
		}
		if (!more && !outstanding)
			break;
		if (b->d.q[0].avail_idx != old)
			vdrv_kick_if_needed(&b->d, 0, old);
	}
	r.secs = now() - t0;
	r.loop_cpu_ns = vtest_loop_cpu_ns(&b->th) - cpu0;
	r.exits = __atomic_load_n(&b->th.exits, __ATOMIC_RELAXED) - exits0;
	vtest_teardown(&b->th, &b->dev, &b->d);
	return r;
}

static void add(struct result *sum, struct result r)
{
	sum->reqs += r.reqs;
	sum->secs += r.secs;
	sum->loop_cpu_ns += r.loop_cpu_ns;
	sum->exits += r.exits;
}

static void report(const char *workload, enum transport t,
		   const struct result *r, const struct result *mmio)
{
	double rate = (double)r->reqs / r->secs;
	double mmio_rate = (double)mmio->reqs / mmio->secs;

	printf("%-14s %-12s %10.0f %8.2f %9.2f %9.2f %8.2fx\n", workload,
	       transport_names[t], rate, 1e6 / rate,
	       (double)r->loop_cpu_ns / 1000.0 / (double)r->reqs,
	       (double)r->exits / (double)r->reqs, rate / mmio_rate);
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	double secs = 1;

	if (!b)
		die("out of memory");
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--file"))
			b->path = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			secs = strtod(argv[i + 1], NULL);
	}
	if (!b->path || secs <= 0) {
		fprintf(stderr, "usage: bench-transport --file PATH [--seconds N]\n");
		return 2;
	}
	prepare(b->path);

	printf("%d alternating rounds of %.1f s per transport; exits: register accesses per request (VM exits in a guest)\n",
	       ROUNDS, secs);
	printf("%-14s %-12s %10s %8s %9s %9s %9s\n", "", "transport",
	       "req/s", "us/req", "VMM us", "exits", "vs mmio");
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
		struct result sum[NR_TRANSPORTS] = { 0 };

		b->w = &workloads[w];
		/* Alternating transports cancels drift in the host. */
		for (int round = 0; round < ROUNDS; round++) {
			for (b->t = 0; b->t < NR_TRANSPORTS; b->t++)
				add(&sum[b->t], run(b, secs));
		}
		for (int t = 0; t < NR_TRANSPORTS; t++)
			report(b->w->name, t, &sum[t], &sum[MMIO]);
	}
	free(b);
	return 0;
}
