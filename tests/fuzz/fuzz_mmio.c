// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: sequences of register accesses on the virtio-mmio
 * transport, any offset, width and value, in any order, with the event
 * loop run in between: status and feature negotiation, queue set-up with
 * rings anywhere, notifications, resets. A console (no host end) sits
 * behind it. The status register may never show DRIVER_OK without
 * FEATURES_OK.
 *
 * Input: records of u8 kind (bit 7 read, bits 0-1 log2 width, 0x7f run
 * the loop), u16 offset in the window, u32 value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"
#include "fuzz_cost.h"
#include "fuzz_virtio.h"

#define MEM_SIZE (1 * MiB)

static struct vtest_host th;

static uint32_t reg_read(uint64_t off)
{
	uint8_t b[4];

	bus_read(&th.mmio, VTEST_BASE + off, b, 4);
	return get_le32(b);
}

static void check_transport(void)
{
	uint32_t status = reg_read(VIRTIO_MMIO_STATUS);

	if ((status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(status & VIRTIO_STATUS_FEATURES_OK)) {
		fprintf(stderr, "fuzz: virtio-mmio: DRIVER_OK without FEATURES_OK (status %#x)\n",
			status);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chardev_config cfg = { .kind = CHARDEV_NONE };
	struct fuzz_input in = { data, size };
	struct device *dev;
	struct err e;

	if (!th.mem.base && vtest_host_init(&th, MEM_SIZE, false) < 0)
		abort();
	fuzz_cost_begin();
	memset(th.mem.base, 0, MEM_SIZE);
	if (virtio_console_create(&th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg, &dev,
				  &e) < 0)
		abort();
	while (in.len) {
		uint8_t kind = fuzz_u8(&in), b[8];
		uint64_t off = fuzz_u16(&in) % (VIRTIO_MMIO_WINDOW + 16);
		uint32_t width = 1u << (kind & 3);

		fuzz_cost_action();
		put_le32(b, fuzz_u32(&in));
		put_le32(b + 4, 0);
		if (kind == 0x7f)
			for (int i = 0; i < 64 && event_loop_poll(&th.loop, 0) > 0; i++)
				;
		else if (kind & 0x80)
			bus_read(&th.mmio, VTEST_BASE + off, b, width);
		else
			bus_write(&th.mmio, VTEST_BASE + off, b, width);
		check_transport();
		fuzz_cost_check("virtio-mmio register accesses");
	}
	while (event_loop_poll(&th.loop, 0) > 0)
		fuzz_cost_check("virtio-mmio register accesses");
	dev->ops->destroy(dev);
	return 0;
}
