/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_SMP_H
#define IMAGES_TESTGUEST_SMP_H

#include <stdbool.h>

#include "acpi.h"
#include "bootinfo.h"
#include "check.h"

/*
 * Starts each application processor the MADT lists, one at a time, with
 * INIT, SIPI, SIPI through the xAPIC. Each runs a real-mode trampoline that
 * records its APIC ID and bumps a counter, then halts. Passes when every AP
 * answered under its own APIC ID and @expected - 1 APs ran in all.
 */
bool smp_start_aps(const struct bootinfo *bi, const struct madt_info *madt,
		   unsigned int expected, struct check *c);

#endif
