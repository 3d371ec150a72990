/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_ARM64_PL031_H
#define DEVICES_ARM64_PL031_H

#include <stdint.h>

#include "vmm/device.h"

/*
 * An ARM PL031 real-time clock on MMIO at @base, raising line @gsi: the
 * wall clock an arm64 kernel reads at boot (RTC_HCTOSYS), with its match
 * interrupt for alarms. It counts the host's UTC seconds plus whatever
 * offset the guest sets by loading it.
 */
int pl031_create(struct device_host *host, uint64_t base, uint32_t gsi,
		 struct device **out, struct err *e);

/* Register offsets (exposed for tests). */
#define PL031_DR 0x00   /* data: the current count */
#define PL031_MR 0x04   /* match */
#define PL031_LR 0x08   /* load */
#define PL031_CR 0x0c   /* control: bit 0 starts the counter */
#define PL031_IMSC 0x10 /* interrupt mask set/clear */
#define PL031_RIS 0x14  /* raw interrupt status */
#define PL031_MIS 0x18  /* masked interrupt status */
#define PL031_ICR 0x1c  /* interrupt clear */
#define PL031_ID 0xfe0  /* PeriphID0-3, then PCellID0-3, one byte a word */

#endif
