/* SPDX-License-Identifier: MIT */
#ifndef BOOT_ARM64_IMAGE_H
#define BOOT_ARM64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* The arm64 Image header (Documentation/arm64/booting.rst), 64 bytes. */
#define ARM64_IMAGE_HEADER_SIZE 64
#define ARM64_IMAGE_MAGIC 0x644d5241U /* "ARM\x64" at offset 56 */
/* The kernel's base must be 2 MiB aligned; text_offset is added to it. */
#define ARM64_IMAGE_ALIGN (2ULL << 20)

/* Where an Image goes in guest RAM, and how much RAM it owns from there. */
struct arm64_image {
	uint64_t load;  /* 2 MiB aligned base + text_offset; also the entry */
	uint64_t size;  /* image_size: file plus BSS and early page tables */
	uint64_t text_offset;
};

/*
 * Checks the header of the Image in @img (@len bytes) and places it in the
 * RAM [@ram_base, @ram_base + @ram_size): at the lowest 2 MiB aligned
 * address, plus text_offset, where image_size bytes fit. Refuses
 * compressed images, big-endian kernels and sizes that do not add up,
 * each with its own message.
 */
int arm64_image_parse(const uint8_t *img, size_t len, uint64_t ram_base,
		      uint64_t ram_size, struct arm64_image *out,
		      struct err *e);

#endif
