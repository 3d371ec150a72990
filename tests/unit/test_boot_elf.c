// SPDX-License-Identifier: MIT
/* ELF vmlinux parsing: 64-bit boot protocol or PVH entry, hostile files. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/elf.h"
#include "boot/x86/kernel.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

#define RAM_64M (64 * MiB)

static int parse(const struct elf_params *p, struct kernel_image *k,
		 struct err *e)
{
	size_t len;
	uint8_t *img = elf_build(p, &len);
	int ret = elf_parse(img, len, RAM_64M, k, e);

	free(img);
	return ret;
}

static void expect_refused(const struct elf_params *p, const char *what)
{
	struct kernel_image k;
	struct err e = { "" };

	cr_assert_eq(parse(p, &k, &e), -1, "accepted, expected \"%s\"", what);
	cr_assert(strstr(e.msg, what), "message \"%s\" does not say \"%s\"",
		  e.msg, what);
}

/* Builds the default image, lets @edit change it, expects @what. */
static void expect_edit_refused(void (*edit)(uint8_t *img, size_t len),
				const char *what)
{
	struct elf_params p;
	struct kernel_image k;
	struct err e = { "" };
	size_t len;
	uint8_t *img;

	elf_default(&p);
	img = elf_build(&p, &len);
	edit(img, len);
	cr_assert_eq(kernel_parse(img, len, RAM_64M, &k, &e), -1,
		     "accepted, expected \"%s\"", what);
	cr_assert(strstr(e.msg, what), "message \"%s\" does not say \"%s\"",
		  e.msg, what);
	free(img);
}

static Elf64_Ehdr *ehdr(uint8_t *img)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *phdr(uint8_t *img, unsigned int i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

Test(boot_elf, linux64_entry_without_pvh_note)
{
	struct elf_params p;
	struct kernel_image k;
	struct err e = { "" };
	size_t len;
	uint8_t *img;

	elf_default(&p);
	p.nr_segs = 2;
	p.seg[1] = (struct elf_seg){ .paddr = 18 * MiB, .filesz = 4096,
				     .memsz = 3 * MiB };
	p.entry = 16 * MiB + 0x40;
	img = elf_build(&p, &len);
	cr_assert_eq(elf_parse(img, len, RAM_64M, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.mode, BOOT_MODE_LINUX64);
	cr_assert_eq(k.entry, 16 * MiB + 0x40);
	cr_assert_eq(k.nr_segments, 2);
	cr_assert_eq(k.seg[1].data, img + elf_seg_offset(1));
	cr_assert_eq(k.seg[1].memsz, 3 * MiB);
	cr_assert_eq(k.start, 16 * MiB);
	cr_assert_eq(k.end, 21 * MiB);
	cr_assert_null(k.setup_hdr);
	cr_assert_eq(k.protocol, 0x020f);
	free(img);
}

Test(boot_elf, pvh_note_in_segment)
{
	struct elf_params p;
	struct kernel_image k;
	struct err e = { "" };

	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 16 * MiB + 0x1000;
	cr_assert_eq(parse(&p, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.mode, BOOT_MODE_PVH);
	cr_assert_eq(k.entry, 16 * MiB + 0x1000);
}

Test(boot_elf, pvh_note_after_other_notes_and_8_byte_descriptor)
{
	struct elf_params p;
	struct kernel_image k;
	struct err e = { "" };

	elf_default(&p);
	p.pvh = 1;
	p.pvh_after_other_note = true;
	p.pvh_descsz = 8;
	p.pvh_entry = 16 * MiB + 0x2000;
	cr_assert_eq(parse(&p, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.mode, BOOT_MODE_PVH);
	cr_assert_eq(k.entry, 16 * MiB + 0x2000);
}

Test(boot_elf, pvh_note_in_section_only)
{
	struct elf_params p;
	struct kernel_image k;
	struct err e = { "" };

	elf_default(&p);
	p.pvh = 2;
	p.pvh_entry = 16 * MiB + 0x3000;
	cr_assert_eq(parse(&p, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.mode, BOOT_MODE_PVH);
	cr_assert_eq(k.entry, 16 * MiB + 0x3000);
}

Test(boot_elf, pvh_note_truncated_descriptor)
{
	struct elf_params p;

	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 16 * MiB;
	p.note_trim = 2; /* 2 of the 4 descriptor bytes remain */
	expect_refused(&p, "PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) is truncated");
	p.pvh = 2;
	expect_refused(&p, "is truncated");
}

Test(boot_elf, pvh_note_bad_descriptor_size)
{
	struct elf_params p;

	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 16 * MiB;
	p.pvh_descsz = 2;
	expect_refused(&p, "descriptor is 2 bytes, expected 4 or 8");
}

Test(boot_elf, pvh_entry_outside_segments)
{
	struct elf_params p;

	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 32 * MiB;
	expect_refused(&p, "PVH entry point 0x2000000 is not inside any loaded segment");
}

Test(boot_elf, entry_outside_segments)
{
	struct elf_params p;

	elf_default(&p);
	p.entry = 0xffffffff81000000ULL; /* a virtual address */
	expect_refused(&p, "ELF entry point 0xffffffff81000000 is not inside any loaded segment");
}

Test(boot_elf, segment_outside_ram)
{
	struct elf_params p;

	elf_default(&p);
	p.seg[0].paddr = RAM_64M - 64 * KiB; /* memsz is 128 KiB */
	p.entry = p.seg[0].paddr;
	expect_refused(&p, "do not fit in guest RAM below 0x4000000");
	p.seg[0].paddr = UINT64_MAX - 0x1000; /* paddr + memsz wraps */
	p.entry = p.seg[0].paddr;
	expect_refused(&p, "do not fit in guest RAM");
}

Test(boot_elf, segment_over_low_reserved_area)
{
	struct elf_params p;

	elf_default(&p);
	p.seg[0].paddr = 0x9000;
	p.entry = 0x9000;
	expect_refused(&p, "below 1 MiB");
	p.seg[0].paddr = LAYOUT_ACPI;
	p.entry = LAYOUT_ACPI;
	expect_refused(&p, "below 1 MiB");
}

Test(boot_elf, segment_data_beyond_file)
{
	struct elf_params p;

	elf_default(&p);
	p.seg[0].filesz = 0x20001; /* one byte past the file */
	p.seg[0].memsz = 0x30000;
	expect_refused(&p, "extends beyond the end of the file");
}

static void huge_offset(uint8_t *img, size_t len)
{
	(void)len;
	phdr(img, 0)->p_offset = UINT64_MAX - 8; /* offset + filesz wraps */
}

Test(boot_elf, segment_offset_overflow)
{
	expect_edit_refused(huge_offset, "extends beyond the end of the file");
}

Test(boot_elf, filesz_larger_than_memsz)
{
	struct elf_params p;

	elf_default(&p);
	p.seg[0].filesz = 0x10000;
	p.seg[0].memsz = 0x8000;
	expect_refused(&p, "p_filesz 0x10000 is larger than p_memsz 0x8000");
}

static void class32(uint8_t *img, size_t len)
{
	(void)len;
	img[EI_CLASS] = ELFCLASS32;
}

static void big_endian(uint8_t *img, size_t len)
{
	(void)len;
	img[EI_DATA] = ELFDATA2MSB;
}

static void machine_i386(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_machine = EM_386;
}

static void machine_aarch64(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_machine = EM_AARCH64;
}

static void type_dyn(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_type = ET_DYN;
}

static void bad_version(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_version = 2;
}

static void bad_phentsize(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_phentsize = 32;
}

static void no_phdrs(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_phnum = 0;
}

static void huge_phnum(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_phnum = 0xffff;
}

static void phoff_out_of_range(uint8_t *img, size_t len)
{
	ehdr(img)->e_phoff = len - 10;
}

static void phoff_huge(uint8_t *img, size_t len)
{
	(void)len;
	ehdr(img)->e_phoff = UINT64_MAX - 16;
}

static void shoff_out_of_range(uint8_t *img, size_t len)
{
	ehdr(img)->e_shoff = len;
	ehdr(img)->e_shnum = 4;
	ehdr(img)->e_shentsize = sizeof(Elf64_Shdr);
}

static void no_load_segment(uint8_t *img, size_t len)
{
	(void)len;
	phdr(img, 0)->p_type = PT_NULL;
}

Test(boot_elf, bad_headers)
{
	expect_edit_refused(class32, "32-bit ELF");
	expect_edit_refused(big_endian, "not little-endian");
	expect_edit_refused(machine_i386, "ELF machine 3 is not x86-64");
	expect_edit_refused(machine_aarch64, "ELF machine 183 is not x86-64");
	expect_edit_refused(type_dyn, "not an executable");
	expect_edit_refused(bad_version, "ELF version 2");
	expect_edit_refused(bad_phentsize, "program header entry size 32");
	expect_edit_refused(no_phdrs, "no program headers");
	expect_edit_refused(huge_phnum, "65535 program headers");
	expect_edit_refused(phoff_out_of_range, "program header table");
	expect_edit_refused(phoff_huge, "program header table");
	expect_edit_refused(shoff_out_of_range, "section header table");
	expect_edit_refused(no_load_segment, "no PT_LOAD segment");
}

Test(boot_elf, too_many_load_segments)
{
	struct elf_params p;

	elf_default(&p);
	p.nr_segs = KERNEL_MAX_SEGMENTS + 1;
	for (unsigned int i = 0; i < p.nr_segs; i++)
		p.seg[i] = (struct elf_seg){ .paddr = 16 * MiB + i * MiB,
					     .filesz = 16, .memsz = 4096 };
	expect_refused(&p, "more than 16 PT_LOAD segments");
}

Test(boot_elf, truncated_files)
{
	struct elf_params p;
	size_t len, cuts[] = { 4, 16, 63, 64, 64 + 30, 64 + 56 + 20,
			       0x1000, 0x1000 + 0x8000 };
	uint8_t *img;

	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 16 * MiB;
	img = elf_build(&p, &len);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		struct kernel_image k;
		struct err e = { "" };
		uint8_t *copy = malloc(cuts[i]);

		memcpy(copy, img, cuts[i]);
		cr_assert_eq(kernel_parse(copy, cuts[i], RAM_64M, &k, &e), -1,
			     "accepted a file cut at %zu bytes", cuts[i]);
		if (cuts[i] < 64)
			cr_assert(strstr(e.msg, "truncated ELF file"), "cut at %zu: %s",
				  cuts[i], e.msg);
		else if (cuts[i] < 0x1000)
			cr_assert(strstr(e.msg, "program header table"),
				  "cut at %zu: %s", cuts[i], e.msg);
		else
			cr_assert(strstr(e.msg, "extends beyond the end of the file"),
				  "cut at %zu: %s", cuts[i], e.msg);
		free(copy);
	}
	free(img);
}

/* Random corruption of headers and notes never leads outside the image. */
Test(boot_elf, corrupted_headers_stay_in_bounds)
{
	struct elf_params p;
	uint32_t seed = 4242;
	size_t len;
	uint8_t *orig;

	elf_default(&p);
	p.nr_segs = 2;
	p.seg[1] = (struct elf_seg){ .paddr = 20 * MiB, .filesz = 4096,
				     .memsz = 8192 };
	p.pvh = 1;
	p.pvh_after_other_note = true;
	p.pvh_entry = 16 * MiB;
	orig = elf_build(&p, &len);
	for (int iter = 0; iter < 3000; iter++) {
		uint8_t *img = malloc(len);
		struct kernel_image k;
		struct err e = { "" };

		memcpy(img, orig, len);
		for (int j = 0; j < 3; j++) {
			size_t off;

			seed = seed * 1103515245 + 12345;
			/* headers (0..0xb0) or the notes at 0x800 */
			off = (seed >> 8) % 0xb0;
			if (seed & 0x10000)
				off = 0x800 + (seed >> 8) % 0x40;
			img[off] = (uint8_t)(seed >> 20);
		}
		if (elf_parse(img, len, RAM_64M, &k, &e) == 0) {
			for (unsigned int i = 0; i < k.nr_segments; i++) {
				const struct kernel_segment *s = &k.seg[i];

				cr_assert(s->data >= img && s->filesz <= s->memsz);
				cr_assert((uint64_t)(s->data - img) + s->filesz <= len);
				cr_assert(s->gpa >= LAYOUT_HIGH_RAM);
				cr_assert(s->gpa + s->memsz <= RAM_64M);
			}
		} else {
			cr_assert(e.msg[0] != '\0');
		}
		free(img);
	}
	free(orig);
}
