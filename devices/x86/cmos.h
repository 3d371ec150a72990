/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_X86_CMOS_H
#define DEVICES_X86_CMOS_H

#include "vmm/device.h"

/* What the CMOS memory-size bytes report. */
struct cmos_memory {
	uint64_t low_end;   /* end of RAM below 4 GiB */
	uint64_t high_size; /* RAM from 4 GiB up */
	unsigned int nr_cpus;
};

/* The RTC and its CMOS memory at ports 0x70-0x71 (cmos.c). */
int cmos_create(struct device_host *host, const struct cmos_memory *m,
		struct device **out, struct err *e);

#endif
