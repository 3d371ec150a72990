/* SPDX-License-Identifier: MIT */
#ifndef BOOT_X86_CMDLINE_H
#define BOOT_X86_CMDLINE_H

#include <stdbool.h>

/*
 * Whether Linux, given @cmdline, boots without ACPI: its last "acpi=off"
 * is not overridden by a later "acpi=force". Words are split as the kernel
 * splits them (double quotes group spaces); nothing after "--" counts,
 * since that goes to init.
 */
bool cmdline_acpi_off(const char *cmdline);

#endif
