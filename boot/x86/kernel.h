/* SPDX-License-Identifier: MIT */
#ifndef BOOT_KERNEL_H
#define BOOT_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "boot/x86/boot.h"
#include "boot/x86/e820.h"

/* A vmlinux has a handful of PT_LOAD segments; more means a broken file. */
#define KERNEL_MAX_SEGMENTS 16

/* A run of guest memory to fill: @filesz bytes from @data, then zeros. */
struct kernel_segment {
	const uint8_t *data;
	uint64_t filesz;
	uint64_t gpa;
	uint64_t memsz;
};

/*
 * What a parser learned from a kernel image. Parsing writes nothing to guest
 * memory, so every check is done before the first byte is loaded. @data of
 * each segment and @setup_hdr point into the image buffer.
 */
struct kernel_image {
	const char *format; /* "bzImage" or "ELF", for messages */
	enum boot_mode mode;
	uint64_t entry;
	/* Guest memory the kernel owns at entry, decompression room included. */
	uint64_t start;
	uint64_t end;
	unsigned int nr_segments;
	struct kernel_segment seg[KERNEL_MAX_SEGMENTS];
	/* bzImage: the setup header to copy to the zero page (from 0x1f1). */
	const uint8_t *setup_hdr;
	size_t setup_hdr_len;
	/* Boot protocol version the zero page announces. */
	uint16_t protocol;
	/* Longest command line the kernel takes, without the NUL. */
	uint32_t cmdline_max;
	/* The initrd must end at or below this address. */
	uint64_t initrd_end_max;
};

/* Everything the zero page and the PVH start info tell the kernel. */
struct boot_info {
	uint64_t cmdline_gpa;
	uint64_t initrd_start;
	uint64_t initrd_size;
	uint64_t rsdp;
	unsigned int nr_e820;
	struct e820_entry e820[E820_MAP_MAX];
};

/*
 * Detects the format of @img by content (ELF magic, else the bzImage "HdrS"
 * header) and parses it for guest RAM below @ram_end.
 */
int kernel_parse(const uint8_t *img, size_t len, uint64_t ram_end,
		 struct kernel_image *k, struct err *e);

/*
 * Picks the page-aligned address of an initrd of @size bytes: as high as
 * possible below both the kernel's limit and @ram_end, never overlapping
 * the kernel.
 */
int initrd_place(const struct kernel_image *k, uint64_t size, uint64_t ram_end,
		 uint64_t *start, struct err *e);

/* Copies the segments of @k into guest memory (zero-filling the rest). */
int kernel_load(const struct guest_mem *mem, const struct kernel_image *k,
		struct err *e);

#endif
