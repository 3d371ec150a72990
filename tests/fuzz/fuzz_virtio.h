/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_H
#define TESTS_FUZZ_FUZZ_VIRTIO_H

/*
 * Fuzzing a virtio device the way a guest drives it. The input is a
 * program for a virtio driver (tests/unit/virtio_driver.c) on the device's
 * own event loop, run by hand on the fuzzer's thread:
 *
 *   u32 features (masked with what the device offers), u8 queue size
 *   exponent, then ops until the input ends:
 *
 *   0 CHAIN q n, then n buffers: u8 flags (bit 0 device-writable,
 *     bit 1 the chain goes in an indirect table), u16 length, and for a
 *     device-readable buffer its bytes
 *   1 KICK q            ring the doorbell
 *   2 RUN               run the event loop until it is idle
 *   3 RECLAIM           take back every used buffer
 *   4 POKE q u16 off, 8 bytes: overwrite the queue's rings in place
 *   5 RESET u32 features: reset, wait for it, set the device up again
 *   6 HOST              a host-side action, device-specific (below)
 *   7 CONFIG u8 off u32 val: write the configuration space
 *
 * Every op is followed by a cost check (tests/fuzz/fuzz_cost.h); RUN also
 * fails when the loop keeps finding work with nothing new from the guest.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/unit/virtio_driver.h"

/* The input being run, consumed from the front. */
struct fuzz_input {
	const uint8_t *p;
	size_t len;
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
/* Up to @len bytes into @buf; returns how many there were. */
size_t fuzz_bytes(struct fuzz_input *in, void *buf, size_t len);

struct fuzz_virtio;

struct fuzz_device {
	const char *name;
	unsigned int nr_queues;
	/* Once per process: what every input shares (a disk, a TAP). */
	void (*init)(struct fuzz_virtio *f);
	/* Per input: creates the device at VTEST_BASE on @f->th. */
	int (*create)(struct fuzz_virtio *f, struct device **dev,
		      struct err *e);
	/* Op HOST: one host-side action chosen by the input. */
	void (*host)(struct fuzz_virtio *f, struct fuzz_input *in);
	/* Per input, after the device is gone: host ends closed. */
	void (*cleanup)(struct fuzz_virtio *f);
};

struct fuzz_virtio {
	const struct fuzz_device *ops;
	struct vtest_host th;
	struct vdrv drv;
	struct device *dev;
	uint16_t qsize;
	uint64_t buf_next; /* guest buffers are carved from a scratch area */
	void *priv;        /* the device's own fuzzing state */
};

/* The whole libFuzzer entry for device @ops. */
int fuzz_virtio_run(const struct fuzz_device *ops, const uint8_t *data,
		    size_t size);

/* Runs the event loop until idle; aborts when it never gets idle. */
void fuzz_virtio_drain(struct fuzz_virtio *f);

#endif
