/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_ACPI_H
#define IMAGES_TESTGUEST_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "bootinfo.h"
#include "check.h"
#include "cpus.h"

struct madt_info {
	uint64_t rsdp_addr;
	uint64_t madt_addr;
	/* Local APIC address, after any address override entry. */
	uint64_t lapic_addr;
	struct cpu_list cpus;
};

/*
 * Finds the RSDP (from the boot info, else by the legacy search), follows
 * the XSDT (or the RSDT of an ACPI 1.0 RSDP) to the MADT, checks every
 * checksum and length on the way, and lists the enabled processors.
 * Fails @c with the reason when any of it is wrong.
 */
bool acpi_read_madt(const struct bootinfo *bi, struct madt_info *out,
		    struct check *c);

/*
 * The table with signature @sig that the XSDT (or RSDT) lists, checked as
 * above and at most @max_len bytes long; NULL with @c failed otherwise.
 */
const uint8_t *acpi_find_table(const struct bootinfo *bi, const char *sig,
			       uint32_t max_len, struct check *c);

#endif
