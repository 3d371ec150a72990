// SPDX-License-Identifier: MIT
/* The guest-side driver program of the virtio fuzz targets: fuzz_virtio.h. */
#include "fuzz_virtio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "fuzz_cost.h"

#define MEM_SIZE (2 * MiB)
/*
 * Inputs run on one device in turn, each starting with a reset; every
 * RECREATE-th input also destroys it (a VM's teardown), so that path is
 * fuzzed without paying for a new device (io_setup, sockets) each time.
 */
#define RECREATE 32
#define HEAP (64 * 1024)
#define HEAP_SIZE (1 * MiB - HEAP)
#define SCRATCH (1 * MiB)
#define MAX_CHAIN 8
#define MAX_BUF 8192
/* Turns of the event loop with no new guest action before it must idle. */
#define MAX_ROUNDS 2000
/* A reset waits for I/O in flight: up to the time budget, in 100 ms turns. */
#define RESET_ROUNDS (FUZZ_TIME_BUDGET_MS / 100)

enum fuzz_op {
	OP_CHAIN,
	OP_KICK,
	OP_RUN,
	OP_RECLAIM,
	OP_POKE,
	OP_RESET,
	OP_HOST,
	OP_CONFIG,
	NR_OPS,
};

uint8_t fuzz_u8(struct fuzz_input *in)
{
	uint8_t v = 0;

	if (in->len) {
		v = *in->p++;
		in->len--;
	}
	return v;
}

uint16_t fuzz_u16(struct fuzz_input *in)
{
	return (uint16_t)(fuzz_u8(in) | fuzz_u8(in) << 8);
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	return fuzz_u16(in) | (uint32_t)fuzz_u16(in) << 16;
}

size_t fuzz_bytes(struct fuzz_input *in, void *buf, size_t len)
{
	size_t n = MIN(len, in->len);

	memcpy(buf, in->p, n);
	in->p += n;
	in->len -= n;
	return n;
}

void fuzz_virtio_drain(struct fuzz_virtio *f)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		if (event_loop_poll(&f->th.loop, 0) <= 0)
			return;
		fuzz_cost_check("running the event loop");
	}
	fprintf(stderr, "fuzz cost: %s: the event loop is still busy after %d turns without anything new from the guest\n",
		f->ops->name, MAX_ROUNDS);
	abort();
}

/* Guest memory for one buffer, from the scratch area, wrapping around. */
static uint64_t buf_alloc(struct fuzz_virtio *f, uint32_t len)
{
	uint64_t gpa = ALIGN_UP(f->buf_next, 8);

	if (gpa + len > MEM_SIZE)
		gpa = SCRATCH;
	f->buf_next = gpa + len;
	return gpa;
}

static void op_chain(struct fuzz_virtio *f, struct fuzz_input *in)
{
	struct vdrv_buf bufs[MAX_CHAIN];
	unsigned int q = fuzz_u8(in) % f->ops->nr_queues;
	unsigned int n = fuzz_u8(in) % MAX_CHAIN + 1;
	bool indirect = false;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t flags = fuzz_u8(in);
		uint32_t len = fuzz_u16(in) % (MAX_BUF + 1);
		uint64_t gpa = buf_alloc(f, len);

		indirect |= flags & 2;
		bufs[i] = (struct vdrv_buf){ gpa, len, flags & 1 };
		if (!(flags & 1))
			fuzz_bytes(in, vdrv_ptr(&f->drv, gpa, len), len);
	}
	/* Indirect tables come from the driver's heap: reuse it when full. */
	if (indirect && f->drv.heap + 16 * MAX_CHAIN > f->drv.heap_end)
		f->drv.heap = f->drv.heap_end - HEAP_SIZE / 2;
	vdrv_add(&f->drv, q, bufs, n, indirect);
}

/* Overwrites what a hostile driver may change under the device. */
static void op_poke(struct fuzz_virtio *f, struct fuzz_input *in)
{
	const struct vdrv_queue *q =
		&f->drv.q[fuzz_u8(in) % f->ops->nr_queues];
	uint16_t off = fuzz_u16(in);
	uint8_t bytes[8];
	size_t n = fuzz_bytes(in, bytes, sizeof(bytes));
	uint64_t gpa;

	/*
	 * The descriptor table, the avail flags and used_event; never the
	 * avail ring's heads, which the driver's own bookkeeping trusts.
	 */
	if (off & 1) {
		gpa = (off & 2) ? q->avail : q->avail + 4 + 2ULL * q->size;
		n = MIN(n, (size_t)2);
	} else {
		gpa = q->desc + off % (16U * q->size);
		n = MIN(n, 16U * q->size - (gpa - q->desc));
	}
	memcpy(vdrv_ptr(&f->drv, gpa, n), bytes, n);
}

static void op_reclaim(struct fuzz_virtio *f)
{
	for (unsigned int q = 0; q < f->ops->nr_queues; q++) {
		uint32_t id, len;

		while (vdrv_get_used(&f->drv, q, &id, &len))
			;
	}
}

static void op_config(struct fuzz_virtio *f, struct fuzz_input *in)
{
	uint8_t off = fuzz_u8(in), width = (uint8_t)(1u << (off >> 6));
	uint8_t val[4];

	put_le32(val, fuzz_u32(in));
	bus_write(&f->th.mmio, VTEST_BASE + VIRTIO_MMIO_CONFIG + (off & 63),
		  val, width > 4 ? 4 : width);
}

/* A reset the device may finish later (I/O in flight), then set-up. */
static bool setup(struct fuzz_virtio *f, uint32_t features)
{
	uint64_t offered, want;

	vdrv_free(&f->drv);
	vdrv_init(&f->drv, &f->th, VTEST_BASE, VTEST_GSI, HEAP, HEAP_SIZE);
	offered = vdrv_device_features(&f->drv);
	want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | (offered & features);
	vdrv_write(&f->drv, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; vdrv_status(&f->drv); i++) {
		if (i == RESET_ROUNDS) {
			fprintf(stderr, "fuzz: %s: a reset never completed\n",
				f->ops->name);
			abort();
		}
		event_loop_poll(&f->th.loop, 100);
	}
	if (vdrv_negotiate(&f->drv, want) < 0)
		return false;
	for (unsigned int i = 0; i < f->ops->nr_queues; i++) {
		uint32_t max;

		vdrv_write(&f->drv, VIRTIO_MMIO_QUEUE_SEL, i);
		max = vdrv_read(&f->drv, VIRTIO_MMIO_QUEUE_NUM_MAX);
		if (vdrv_setup_queue(&f->drv, i, (uint16_t)MIN(f->qsize, max)) < 0)
			return false;
	}
	vdrv_driver_ok(&f->drv);
	return true;
}

static void run_ops(struct fuzz_virtio *f, struct fuzz_input *in)
{
	while (in->len) {
		fuzz_cost_action();
		switch (fuzz_u8(in) % NR_OPS) {
		case OP_CHAIN:
			op_chain(f, in);
			break;
		case OP_KICK:
			vdrv_kick(&f->drv, fuzz_u8(in) % f->ops->nr_queues);
			break;
		case OP_RUN:
			fuzz_virtio_drain(f);
			break;
		case OP_RECLAIM:
			op_reclaim(f);
			break;
		case OP_POKE:
			op_poke(f, in);
			break;
		case OP_RESET:
			if (!setup(f, fuzz_u32(in)))
				return;
			break;
		case OP_HOST:
			if (f->ops->host)
				f->ops->host(f, in);
			break;
		case OP_CONFIG:
			op_config(f, in);
			break;
		}
		fuzz_cost_check(f->ops->name);
	}
}

int fuzz_virtio_run(const struct fuzz_device *ops, const uint8_t *data,
		    size_t size)
{
	static struct fuzz_virtio f;
	static unsigned int runs;
	struct fuzz_input in = { data, size };
	uint32_t features;
	struct err e;

	if (!f.ops) {
		f.ops = ops;
		if (vtest_host_init(&f.th, MEM_SIZE, false) < 0)
			abort();
		if (ops->init)
			ops->init(&f);
	}
	fuzz_cost_begin();
	if (!f.dev && ops->create(&f, &f.dev, &e) < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", ops->name, e.msg);
		abort();
	}
	features = fuzz_u32(&in);
	f.qsize = (uint16_t)(2u << (fuzz_u8(&in) % 8));
	/* The reset first: the last input's device may still use memory. */
	if (setup(&f, features)) {
		memset(f.th.mem.base + SCRATCH, 0, MEM_SIZE - SCRATCH);
		f.buf_next = SCRATCH;
		run_ops(&f, &in);
	}
	fuzz_virtio_drain(&f);
	if (++runs % RECREATE == 0) {
		f.dev->ops->destroy(f.dev);
		f.dev = NULL;
		/* Nothing of the device may be left for the loop. */
		if (f.th.loop.calls)
			abort();
		event_loop_poll(&f.th.loop, 0);
	}
	if (ops->cleanup)
		ops->cleanup(&f);
	fuzz_cost_check(ops->name);
	return 0;
}
