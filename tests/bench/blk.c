// SPDX-License-Identifier: MIT
/*
 * virtio-blk against raw libaio, side by side in one run: 4 KiB random
 * reads, then random writes, at queue depth 32 on the same file. The raw
 * side is one thread keeping 32 O_DIRECT requests in flight with
 * io_submit()/io_getevents(). The device side is the VMM's virtio-blk on
 * its event loop thread, driven by the simulated virtio driver of the unit
 * tests (descriptor chains in guest memory, EVENT_IDX, kicks through the
 * ioeventfd path, interrupts through an eventfd), keeping 32 requests in
 * the ring. Prints both IOPS, their ratio, and the VMM's CPU time per
 * request (the event loop thread's CPU clock).
 *
 * Then the same device under rate limits (docs/rate-limits.md): an
 * operations limit and a bandwidth limit, each with a burst of 10 ms
 * worth, enough to hide the timer's wake-up latency yet under 1% of a
 * round, so what the disk achieves is its limit's doing. Prints the
 * achieved IOPS against the limit, as a ratio.
 *
 * usage: bench-blk --file PATH [--size MIB] [--seconds N] [--limit-iops N]
 * (three alternating rounds of N seconds per side and access pattern)
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "tests/unit/virtio_driver.h"

#define QD 32
#define BS 4096
#define MEM_SIZE (64 * MiB)
#define HEAP (1 * MiB)
#define QSIZE 256
#define ROUNDS 3

struct result {
	uint64_t ios;
	double secs;
	uint64_t cpu_ns; /* of the thread doing the I/O work */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The same offsets for both sides: xorshift from a fixed seed. */
static uint64_t next_block(uint64_t *state, uint64_t nr_blocks)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x % nr_blocks;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-blk: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of @size bytes full of data, so writes overwrite allocated blocks. */
static void prepare(const char *path, uint64_t size)
{
	struct stat st;
	char *buf;
	int fd;

	if (stat(path, &st) == 0 && (uint64_t)st.st_size == size)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path);
	buf = malloc(MiB);
	if (!buf)
		die("malloc");
	memset(buf, 0x5a, MiB);
	for (uint64_t off = 0; off < size; off += MiB)
		if (pwrite(fd, buf, MiB, (off_t)off) != (ssize_t)MiB)
			die("writing the bench file");
	if (fsync(fd) < 0)
		die("fsync");
	free(buf);
	close(fd);
}

static struct result run_raw(const char *path, uint64_t nr_blocks, bool write,
			     double secs, bool *direct)
{
	struct iocb iocbs[QD], *ptrs[QD];
	struct io_event ev[QD];
	struct result r = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL, cpu0;
	io_context_t ctx = 0;
	void *bufs;
	double t0, end;
	int fd;

	fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	*direct = fd >= 0;
	if (fd < 0)
		fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (posix_memalign(&bufs, BS, (size_t)BS * QD))
		die("posix_memalign");
	memset(bufs, 0xa5, (size_t)BS * QD);
	if (io_setup(QD, &ctx) < 0)
		die("io_setup");
	cpu0 = thread_cpu_ns();
	t0 = now();
	end = t0 + secs;
	for (int i = 0; i < QD; i++) {
		void *b = (char *)bufs + (size_t)i * BS;
		long long off = (long long)(next_block(&seed, nr_blocks) * BS);

		if (write)
			io_prep_pwrite(&iocbs[i], fd, b, BS, off);
		else
			io_prep_pread(&iocbs[i], fd, b, BS, off);
		ptrs[i] = &iocbs[i];
	}
	if (io_submit(ctx, QD, ptrs) != QD)
		die("io_submit");
	while (now() < end) {
		int n = io_getevents(ctx, 1, QD, ev, NULL);

		if (n < 0)
			die("io_getevents");
		for (int i = 0; i < n; i++) {
			struct iocb *cb = ev[i].obj;

			if ((long)ev[i].res != BS)
				die("raw I/O failed");
			cb->u.c.offset = (long long)(next_block(&seed, nr_blocks) * BS);
			ptrs[i] = cb;
		}
		r.ios += (uint64_t)n;
		if (io_submit(ctx, n, ptrs) != n)
			die("io_submit");
	}
	r.secs = now() - t0;
	r.cpu_ns = thread_cpu_ns() - cpu0;
	for (int left = QD; left > 0;) {
		int n = io_getevents(ctx, 1, QD, ev, NULL);

		if (n < 0)
			die("io_getevents");
		left -= n;
	}
	io_destroy(ctx);
	free(bufs);
	close(fd);
	return r;
}

struct dev_slot {
	uint64_t hdr, data, status;
};

static int add_request(struct vdrv *d, struct dev_slot *s, bool write,
		       uint64_t block)
{
	uint8_t *h = vdrv_ptr(d, s->hdr, 16);
	struct vdrv_buf bufs[3] = {
		{ s->hdr, 16, false },
		{ s->data, BS, !write },
		{ s->status, 1, true },
	};

	put_le32(h, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
	put_le64(h + 8, block * (BS / VIRTIO_BLK_SECTOR));
	return vdrv_add(d, 0, bufs, 3, false);
}

static struct result run_device(struct vtest_host *th, uint64_t nr_blocks,
				bool write, double secs)
{
	struct dev_slot slots[QD];
	int slot_of[QSIZE]; /* head descriptor -> slot */
	struct result r = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL, cpu0;
	struct vdrv d;
	double t0, end;
	int outstanding = 0;

	vdrv_init(&d, th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
	if (vdrv_start(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			       VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			       VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			       VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			       VIRTIO_BIT(VIRTIO_BLK_F_FLUSH), 1, QSIZE) < 0) {
		fprintf(stderr, "bench-blk: the device refused the driver\n");
		exit(1);
	}
	for (int i = 0; i < QD; i++) {
		slots[i].hdr = vdrv_alloc(&d, 16, 16);
		slots[i].data = vdrv_alloc(&d, BS, BS);
		slots[i].status = vdrv_alloc(&d, 1, 1);
		memset(vdrv_ptr(&d, slots[i].data, BS), 0xa5, BS);
	}
	cpu0 = vtest_loop_cpu_ns(th);
	t0 = now();
	end = t0 + secs;
	for (int i = 0; i < QD; i++) {
		int head = add_request(&d, &slots[i], write,
				       next_block(&seed, nr_blocks));

		if (head < 0)
			exit(1);
		slot_of[head] = i;
		outstanding++;
	}
	vdrv_kick(&d, 0);
	for (;;) {
		uint16_t old = d.q[0].avail_idx;
		bool more = now() < end;
		uint32_t id, len;
		int done = 0;

		while (vdrv_get_used(&d, 0, &id, &len)) {
			int slot = slot_of[id], head;

			if (*(uint8_t *)vdrv_ptr(&d, slots[slot].status, 1) !=
			    VIRTIO_BLK_S_OK) {
				fprintf(stderr, "bench-blk: device I/O failed\n");
				exit(1);
			}
			done++;
			outstanding--;
			if (!more)
				continue;
			head = add_request(&d, &slots[slot], write,
					   next_block(&seed, nr_blocks));
			if (head < 0)
				exit(1);
			slot_of[head] = slot;
			outstanding++;
		}
		r.ios += (uint64_t)done;
		if (!more && outstanding == 0)
			break;
		if (d.q[0].avail_idx != old)
			vdrv_kick_if_needed(&d, 0, old);
		if (!done)
			vtest_irq_wait(th, VTEST_GSI, 100);
	}
	r.secs = now() - t0;
	r.cpu_ns = vtest_loop_cpu_ns(th) - cpu0;
	vdrv_write(&d, VIRTIO_MMIO_STATUS, 0);
	vdrv_free(&d);
	return r;
}

static void add(struct result *sum, struct result r)
{
	sum->ios += r.ios;
	sum->secs += r.secs;
	sum->cpu_ns += r.cpu_ns;
}

/* A limited disk: what it achieved against @limit_iops. */
static void report_limited(const char *name, struct result r,
			   double limit_iops)
{
	double iops = (double)r.ios / r.secs;
	double ratio = 100.0 * iops / limit_iops;

	printf("%-26s %10.0f %12.0f %8.1f%% %s %12.2f\n", name, limit_iops,
	       iops, ratio,
	       ratio >= 95.0 && ratio <= 100.5 ? "(95-100%: met)   " :
						 "(95-100%: missed)",
	       (double)r.cpu_ns / 1000.0 / (double)r.ios);
}

static void set_limits(struct rate_limit_control *limits,
		       const struct rate_limit_config *cfg)
{
	struct err e;

	if (limits->set(limits->opaque, cfg, &e) < 0) {
		fprintf(stderr, "bench-blk: %s\n", e.msg);
		exit(1);
	}
}

/* Random reads under an operations limit, then under a bandwidth limit. */
static void run_limited(struct vtest_host *th, struct rate_limit_control *limits,
			uint64_t nr_blocks, double secs, uint64_t limit_iops)
{
	uint64_t burst = MAX(limit_iops / 100, 1);
	struct rate_limit_config ops = { .ops = limit_iops, .ops_burst = burst };
	struct rate_limit_config bw = {
		.bytes = limit_iops * BS, .bytes_burst = burst * BS,
	};
	char name[64];

	printf("%-26s %10s %12s %9s %17s %12s\n", "", "limit IOPS",
	       "achieved", "ratio", "", "VMM us/req");
	set_limits(limits, &ops);
	snprintf(name, sizeof(name), "randread iops=%llu",
		 (unsigned long long)limit_iops);
	report_limited(name, run_device(th, nr_blocks, false, secs),
		       (double)limit_iops);
	set_limits(limits, &bw);
	snprintf(name, sizeof(name), "randread bw=%lluK",
		 (unsigned long long)(limit_iops * BS / KiB));
	report_limited(name, run_device(th, nr_blocks, false, secs),
		       (double)limit_iops);
	set_limits(limits, &(struct rate_limit_config){ 0 });
}

static void report(const char *name, struct result raw, struct result dev)
{
	double raw_iops = (double)raw.ios / raw.secs;
	double dev_iops = (double)dev.ios / dev.secs;
	double ratio = 100.0 * dev_iops / raw_iops;

	printf("%-10s %10.0f %12.0f %8.1f%% %s %10.2f %12.2f\n", name, raw_iops,
	       dev_iops, ratio, ratio >= 90.0 ? "(>= 90%: met)   " :
						  "(>= 90%: missed)",
	       (double)raw.cpu_ns / 1000.0 / (double)raw.ios,
	       (double)dev.cpu_ns / 1000.0 / (double)dev.ios);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	uint64_t size = 256 * MiB;
	double secs = 2;
	uint64_t limit_iops = 2000;
	struct vtest_host th;
	struct rate_limit_control *limits;
	struct device *dev;
	struct err e;
	bool direct;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--file"))
			path = argv[i + 1];
		else if (!strcmp(argv[i], "--size"))
			size = strtoull(argv[i + 1], NULL, 10) * MiB;
		else if (!strcmp(argv[i], "--seconds"))
			secs = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--limit-iops"))
			limit_iops = strtoull(argv[i + 1], NULL, 10);
	}
	if (!path || size < MiB || secs <= 0 || !limit_iops) {
		fprintf(stderr, "usage: bench-blk --file PATH [--size MIB] [--seconds N] [--limit-iops N]\n");
		return 2;
	}
	prepare(path, size);

	if (vtest_host_init(&th, MEM_SIZE, true) < 0)
		die("guest memory and event loop");
	{
		struct disk_config cfg = { .path = (char *)path };

		if (virtio_blk_create(&th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				      &dev, &limits, &e) < 0) {
			fprintf(stderr, "bench-blk: %s\n", e.msg);
			return 1;
		}
	}
	if (vtest_host_start(&th) < 0)
		die("event loop thread");

	printf("%s, %llu MiB, 4 KiB blocks, queue depth %d, %d rounds of %.1f s per side\n",
	       path, (unsigned long long)(size / MiB), QD, ROUNDS, secs);
	printf("%-10s %10s %12s %9s %16s %10s %12s\n", "", "raw IOPS",
	       "virtio IOPS", "ratio", "", "raw us/req", "VMM us/req");
	for (int write = 0; write < 2; write++) {
		struct result raw = { 0 }, dev_r = { 0 };

		/* Alternating sides cancels drift in the host's disk. */
		for (int i = 0; i < ROUNDS; i++) {
			add(&raw, run_raw(path, size / BS, write, secs, &direct));
			add(&dev_r, run_device(&th, size / BS, write, secs));
		}
		report(write ? "randwrite" : "randread", raw, dev_r);
	}
	if (!direct)
		printf("(the file system refused O_DIRECT: both sides used the page cache)\n");
	run_limited(&th, limits, size / BS, secs * ROUNDS, limit_iops);
	vtest_host_stop(&th);
	dev->ops->destroy(dev);
	vtest_host_destroy(&th);
	return 0;
}
