// SPDX-License-Identifier: MIT
/*
 * The debug-exit port: a byte V written to LAYOUT_PORT_DEBUG_EXIT ends the
 * VM, and the VMM exits with status V. Test guests use it to report their
 * verdict without an ACPI power-off path.
 */
#include <stdlib.h>

#include "devices/x86/legacy.h"
#include "vmm/arch/x86/layout.h"

struct debug_exit {
	struct device dev;
	struct device_host *host;
	struct bus_device io;
};

static void debug_exit_write(struct bus_device *dev, uint64_t offset,
			     const void *data, uint32_t len)
{
	struct debug_exit *dbg = dev->opaque;

	(void)offset;
	(void)len;
	dbg->host->power(dbg->host, DEVICE_POWER_EXIT_STATUS,
			 *(const uint8_t *)data);
}

static const struct bus_device_ops debug_exit_ops = {
	.write = debug_exit_write,
};

static void debug_exit_destroy(struct device *dev)
{
	free(dev);
}

static const struct device_ops debug_exit_device_ops = {
	.destroy = debug_exit_destroy,
};

int debug_exit_create(struct device_host *host, struct device **out,
		      struct err *e)
{
	struct debug_exit *dbg = calloc(1, sizeof(*dbg));

	if (!dbg)
		return err_set(e, "debug-exit: out of memory");
	dbg->dev = (struct device){ .name = "debug-exit",
				    .ops = &debug_exit_device_ops };
	dbg->host = host;
	dbg->io = (struct bus_device){
		.name = "debug-exit", .base = LAYOUT_PORT_DEBUG_EXIT, .len = 1,
		.ops = &debug_exit_ops, .opaque = dbg,
	};
	if (bus_register(host->pio, &dbg->io, e) < 0) {
		free(dbg);
		return -1;
	}
	*out = &dbg->dev;
	return 0;
}
