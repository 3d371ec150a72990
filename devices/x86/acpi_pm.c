// SPDX-License-Identifier: MIT
/*
 * Hardware-reduced ACPI power management: the FADT's sleep control register
 * (SLP_EN with SLP_TYP = \_S5 powers off), its sleep status register, and the
 * reset register. The addresses are in vmm/arch/x86/layout.h so the FADT and this
 * device agree.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/x86/legacy.h"
#include "vmm/arch/x86/layout.h"

#define SLEEP_CTL_SLP_EN 0x20
#define SLEEP_CTL_SLP_TYP_SHIFT 2
#define SLEEP_CTL_SLP_TYP_MASK 0x1c
#define SLEEP_STS_WAK_STS 0x80
#define RESET_CONTROL_RST_CPU 0x04

struct acpi_pm {
	struct device dev;
	struct device_host *host;
	struct bus_device sleep_io;
	struct bus_device reset_io;
};

static void acpi_pm_sleep_read(struct bus_device *dev, uint64_t offset,
			       void *data, uint32_t len)
{
	(void)dev;
	(void)offset;
	/* Nothing ever sleeps, so there is never a wake status to report. */
	memset(data, 0, len);
}

static void acpi_pm_sleep_write(struct bus_device *dev, uint64_t offset,
				const void *data, uint32_t len)
{
	struct acpi_pm *pm = dev->opaque;
	uint8_t val = *(const uint8_t *)data;
	unsigned int type;

	(void)len;
	if (offset != LAYOUT_PORT_ACPI_SLEEP_CTL - LAYOUT_PORT_ACPI_SLEEP_CTL ||
	    !(val & SLEEP_CTL_SLP_EN))
		return;
	type = (val & SLEEP_CTL_SLP_TYP_MASK) >> SLEEP_CTL_SLP_TYP_SHIFT;
	if (type == LAYOUT_ACPI_S5_TYPE)
		pm->host->power(pm->host, DEVICE_POWER_OFF, 0);
	else
		log_guest_once("ACPI: guest asked for sleep type %u; only S5 (power off) is supported",
			       type);
}

void pc_reset_control(struct device_host *host, uint8_t val)
{
	if (val & RESET_CONTROL_RST_CPU)
		host->power(host, DEVICE_POWER_RESET, 0);
}

static void acpi_pm_reset_write(struct bus_device *dev, uint64_t offset,
				const void *data, uint32_t len)
{
	struct acpi_pm *pm = dev->opaque;

	(void)offset;
	(void)len;
	pc_reset_control(pm->host, *(const uint8_t *)data);
}

static const struct bus_device_ops acpi_pm_sleep_ops = {
	.read = acpi_pm_sleep_read,
	.write = acpi_pm_sleep_write,
};

static const struct bus_device_ops acpi_pm_reset_ops = {
	.write = acpi_pm_reset_write,
};

static void acpi_pm_destroy(struct device *dev)
{
	free(dev);
}

static const struct device_ops acpi_pm_device_ops = {
	.destroy = acpi_pm_destroy,
};

int acpi_pm_create(struct device_host *host, bool reset_port,
		   struct device **out, struct err *e)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return err_set(e, "ACPI power management: out of memory");
	pm->dev = (struct device){ .name = "acpi-pm", .ops = &acpi_pm_device_ops };
	pm->host = host;
	pm->sleep_io = (struct bus_device){
		.name = "ACPI sleep registers", .base = LAYOUT_PORT_ACPI_SLEEP_CTL,
		.len = LAYOUT_PORT_ACPI_SLEEP_STS - LAYOUT_PORT_ACPI_SLEEP_CTL + 1,
		.ops = &acpi_pm_sleep_ops, .opaque = pm,
	};
	pm->reset_io = (struct bus_device){
		.name = "ACPI reset register", .base = LAYOUT_PORT_ACPI_RESET,
		.len = 1, .ops = &acpi_pm_reset_ops, .opaque = pm,
	};
	if (bus_register(host->pio, &pm->sleep_io, e) < 0)
		goto fail;
	if (reset_port && bus_register(host->pio, &pm->reset_io, e) < 0) {
		bus_unregister(host->pio, &pm->sleep_io);
		goto fail;
	}
	*out = &pm->dev;
	return 0;
fail:
	free(pm);
	return -1;
}
