/* SPDX-License-Identifier: MIT */
#ifndef BOOT_X86_FIRMWARE_H
#define BOOT_X86_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * A UEFI flash image (OVMF.fd, OVMF_CODE*.fd): a chain of firmware volumes
 * (PI spec, EFI_FIRMWARE_VOLUME_HEADER) that fills the file exactly, the
 * last holding the reset vector in its final 16 bytes. The VMM maps it
 * read-only to end at 4 GiB, where the vCPU fetches its first instruction.
 */
#define FIRMWARE_MAX_SIZE (16ULL << 20) /* below it: the LAPIC, KVM's pages */
#define FIRMWARE_MIN_SIZE 4096ULL

/*
 * Checks that @img is such an image; -1 with @e saying what is wrong
 * (truncated, not a firmware volume, no reset vector, too big).
 */
int firmware_check(const uint8_t *img, size_t len, struct err *e);

/*
 * Checks that @img is a variable store to go with a code image (the
 * OVMF_VARS*.fd of an OVMF_CODE*.fd): firmware volumes filling the file.
 */
int firmware_check_vars(const uint8_t *img, size_t len, struct err *e);

/* Reads and checks the image at @path; errors name the file. */
int firmware_read(const char *path, uint8_t **img, size_t *len,
		  struct err *e);
/* Checks the variable store at @path; its size in @len. */
int firmware_check_vars_file(const char *path, size_t *len, struct err *e);

#endif
