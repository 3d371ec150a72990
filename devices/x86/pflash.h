/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_X86_PFLASH_H
#define DEVICES_X86_PFLASH_H

#include "vmm/device.h"

/* The erase block: what OVMF's PcdOvmfFirmwareBlockSize says. */
#define PFLASH_BLOCK_SIZE 4096

/*
 * A CFI flash chip (Intel command set, 8 bits wide) over the file at
 * @path, decoded at guest address @base for the file's size: the UEFI
 * variable store, whose writes land in the file (pflash.c).
 */
int pflash_create(struct device_host *host, uint64_t base, const char *path,
		  struct device **out, struct err *e);

#endif
