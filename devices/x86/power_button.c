// SPDX-License-Identifier: MIT
/*
 * The power button of a hardware-reduced ACPI machine, which has no fixed
 * power button: a control-method button (PNP0C0C) and a generic event
 * device (ACPI0013) whose interrupt is the press. The DSDT gives the GED
 * that interrupt in its _CRS and an _EVT method that does
 * Notify (\_SB.PWRB, 0x80) (boot/x86/acpi.c); Linux's evged driver runs
 * _EVT on the interrupt and its button driver turns the notification
 * into a KEY_POWER press, which logind or acpid act on.
 */
#include <stdlib.h>
#include <unistd.h>

#include "devices/x86/legacy.h"

struct power_button {
	struct device dev;
	struct irq_line irq;
	struct power_control control;
};

static int power_button_press(void *opaque, struct err *e)
{
	struct power_button *pb = opaque;

	(void)e;
	/* An edge: the GED's interrupt is edge-triggered, one press each. */
	irq_line_pulse(&pb->irq);
	log_info("power button pressed");
	return 0;
}

static void power_button_destroy(struct device *dev)
{
	struct power_button *pb = (struct power_button *)dev;

	if (pb->irq.fd >= 0)
		close(pb->irq.fd);
	free(pb);
}

static const struct device_ops power_button_ops = {
	.destroy = power_button_destroy,
};

int power_button_create(struct device_host *host, uint32_t gsi,
			struct device **out, struct power_control **control,
			struct err *e)
{
	struct power_button *pb = calloc(1, sizeof(*pb));

	if (!pb)
		return err_set(e, "ACPI power button: out of memory");
	pb->dev = (struct device){ .name = "acpi-power-button",
				   .ops = &power_button_ops };
	pb->control = (struct power_control){
		.press = power_button_press, .opaque = pb,
	};
	pb->irq.fd = -1;
	if (host->irq_line(host, gsi, &pb->irq, e) < 0) {
		free(pb);
		return err_prefix(e, "ACPI power button");
	}
	*out = &pb->dev;
	*control = &pb->control;
	return 0;
}
