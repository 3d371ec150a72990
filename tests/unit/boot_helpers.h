/* SPDX-License-Identifier: MIT */
/* Helpers shared by the boot tests: test guests and synthetic kernels. */
#ifndef TESTS_UNIT_BOOT_HELPERS_H
#define TESTS_UNIT_BOOT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/x86/boot.h"

struct test_guest {
	struct guest_mem mem;
	uint8_t *buf;
	uint64_t size;
};

/* Guest RAM of @size bytes over a zeroed host buffer. */
void tg_init(struct test_guest *g, uint64_t size);
void tg_fini(struct test_guest *g);
/* Host pointer for [gpa, gpa + len); fails the test when not RAM. */
uint8_t *tg_ptr(struct test_guest *g, uint64_t gpa, uint64_t len);

/* The byte a synthetic image carries at file offset @off. */
static inline uint8_t test_pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 8) + 1);
}

struct bz_params {
	uint16_t version;
	uint8_t setup_sects;     /* as written in the header (0 means 4) */
	unsigned int real_sects; /* sectors actually present before the kernel */
	uint8_t jump_len;        /* byte 0x201: header ends at 0x202 + this */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t kernel_size;    /* bytes of protected-mode kernel in the file */
	uint32_t syssize;        /* 0: derived from kernel_size */
	uint8_t relocatable;
	uint32_t alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
};

/* A 64-bit relocatable bzImage, protocol 2.15, preferring 16 MiB. */
void bz_default(struct bz_params *p);
/* Builds the image in a malloc()ed buffer. */
uint8_t *bz_build(const struct bz_params *p, size_t *len);

struct elf_seg {
	uint32_t type; /* PT_LOAD when 0 */
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

struct elf_params {
	unsigned int nr_segs;
	struct elf_seg seg[20];
	uint64_t entry;
	/* PVH entry note: 0 = none, 1 = in a PT_NOTE, 2 = only in a section. */
	int pvh;
	uint32_t pvh_entry;
	uint32_t pvh_descsz;      /* 4 or 8 for a valid note */
	bool pvh_after_other_note; /* put a GNU build-id note first */
	int32_t note_trim;        /* bytes cut from the end of the note data */
};

/* One PT_LOAD at 16 MiB of 64 KiB file data and 128 KiB memory. */
void elf_default(struct elf_params *p);
uint8_t *elf_build(const struct elf_params *p, size_t *len);
/* File offset where segment @i's data starts in elf_build()'s output. */
uint64_t elf_seg_offset(unsigned int i);

/* Writes @data to a new temporary file; returns its malloc()ed path. */
char *write_temp(const void *data, size_t len);
void remove_temp(char *path);

#endif
