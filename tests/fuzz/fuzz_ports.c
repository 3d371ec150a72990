// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: port I/O sequences on the legacy devices a PC gets:
 * the 16550A UART (its host end discarding output), the i8042, the ACPI
 * sleep and reset registers and the debug-exit port, with host input to
 * the UART in between and the event loop run. Reads never return more
 * than the access is wide, and the UART never holds more input than its
 * FIFO.
 *
 * Input: records of u8 kind (bit 7 read, bits 0-1 log2 width, 0x7e host
 * input to COM1: u8 length, bytes; 0x7f run the loop), u8 port (an index
 * into the ports below, plus an offset), u32 value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/x86/legacy.h"
#include "devices/serial.h"
#include "fuzz_cost.h"
#include "fuzz_virtio.h"
#include "vmm/arch.h"

static const uint16_t ports[] = {
	LAYOUT_PORT_COM1,           LAYOUT_PORT_I8042_DATA,
	LAYOUT_PORT_I8042_CMD,      LAYOUT_PORT_ACPI_SLEEP_CTL,
	LAYOUT_PORT_ACPI_SLEEP_STS, LAYOUT_PORT_ACPI_RESET,
	LAYOUT_PORT_DEBUG_EXIT,     LAYOUT_PORT_POST,
};

static struct vtest_host th;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chardev_config none = { .kind = CHARDEV_NONE };
	struct serial_place at = { .base = LAYOUT_PORT_COM1,
				   .gsi = LAYOUT_IRQ_COM1 };
	struct fuzz_input in = { data, size };
	struct device *kbc, *pm, *dbg;
	struct serial *com1;
	struct err e;

	if (!th.mem.base && vtest_host_init(&th, 1 * MiB, false) < 0)
		abort();
	fuzz_cost_begin();
	/* The devices stay on the bus until it goes, as in a VM. */
	bus_destroy(&th.pio);
	bus_init(&th.pio, "port I/O");
	if (serial_create(&th.host, 1, &at, &none, NULL, &com1, &e) < 0 ||
	    i8042_create(&th.host, &kbc, &e) < 0 ||
	    acpi_pm_create(&th.host, true, &pm, &e) < 0 ||
	    debug_exit_create(&th.host, &dbg, &e) < 0) {
		fprintf(stderr, "fuzz_ports: %s\n", e.msg);
		abort();
	}
	while (in.len) {
		uint8_t kind = fuzz_u8(&in), sel = fuzz_u8(&in), b[8] = { 0 };
		uint16_t port = (uint16_t)(ports[sel % ARRAY_SIZE(ports)] +
					   sel / ARRAY_SIZE(ports) % 8);
		uint32_t width = 1u << (kind & 3), v = fuzz_u32(&in);

		if (kind == 0x7e) {
			uint8_t buf[64];
			size_t n = fuzz_bytes(&in, buf, v % sizeof(buf));

			serial_receive(com1, buf, n);
		} else if (kind == 0x7f) {
			while (event_loop_poll(&th.loop, 0) > 0)
				fuzz_cost_check("the legacy devices");
		} else if (kind & 0x80) {
			memset(b, 0xa5, sizeof(b));
			bus_read(&th.pio, port, b, width);
			for (uint32_t i = width; i < sizeof(b); i++)
				if (b[i] != 0xa5)
					abort(); /* wrote past the access */
		} else {
			put_le32(b, v);
			bus_write(&th.pio, port, b, width);
		}
		if (com1->rx_len > SERIAL_FIFO_SIZE)
			abort();
		fuzz_cost_check("the legacy devices");
	}
	while (event_loop_poll(&th.loop, 0) > 0)
		fuzz_cost_check("the legacy devices");
	dbg->ops->destroy(dbg);
	pm->ops->destroy(pm);
	kbc->ops->destroy(kbc);
	com1->dev.ops->destroy(&com1->dev);
	return 0;
}
