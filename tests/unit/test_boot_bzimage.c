// SPDX-License-Identifier: MIT
/* bzImage parsing and loading through the 64-bit boot protocol. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/bzimage.h"
#include "boot/x86/kernel.h"
#include "boot/x86/zeropage.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

#define RAM_64M (64 * MiB)

static int parse(const struct bz_params *p, uint64_t ram_end,
		 struct kernel_image *k, struct err *e)
{
	size_t len;
	uint8_t *img = bz_build(p, &len);
	int ret = bzimage_parse(img, len, ram_end, k, e);

	free(img);
	return ret;
}

/* Parsing @p must fail with a message containing @what. */
static void expect_refused(const struct bz_params *p, const char *what)
{
	struct kernel_image k;
	struct err e = { "" };

	cr_assert_eq(parse(p, RAM_64M, &k, &e), -1, "accepted, expected \"%s\"", what);
	cr_assert(strstr(e.msg, what), "message \"%s\" does not say \"%s\"",
		  e.msg, what);
}

Test(boot_bzimage, loads_at_preferred_address)
{
	struct bz_params p;
	struct kernel_image k;
	struct err e = { "" };
	size_t len;
	uint8_t *img;

	bz_default(&p);
	img = bz_build(&p, &len);
	cr_assert_eq(bzimage_parse(img, len, RAM_64M, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.mode, BOOT_MODE_LINUX64);
	cr_assert_eq(k.start, 16 * MiB);
	cr_assert_eq(k.entry, 16 * MiB + 0x200);
	/* The decompressor owns init_size bytes from the load address. */
	cr_assert_eq(k.end, 16 * MiB + p.init_size);
	cr_assert_eq(k.nr_segments, 1);
	cr_assert_eq(k.seg[0].data, img + 5 * 512);
	cr_assert_eq(k.seg[0].filesz, p.kernel_size);
	cr_assert_eq(k.seg[0].gpa, 16 * MiB);
	cr_assert_eq(k.protocol, 0x020f);
	cr_assert_eq(k.cmdline_max, 2047);
	cr_assert_eq(k.setup_hdr, img + 0x1f1);
	cr_assert_eq(k.setup_hdr_len, 0x26c - 0x1f1);
	free(img);
}

Test(boot_bzimage, setup_sects_zero_means_four)
{
	struct bz_params p;
	struct kernel_image k;
	struct err e = { "" };
	size_t len;
	uint8_t *img;

	bz_default(&p);
	p.setup_sects = 0;
	img = bz_build(&p, &len);
	cr_assert_eq(bzimage_parse(img, len, RAM_64M, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.seg[0].data, img + 5 * 512);
	free(img);
}

Test(boot_bzimage, larger_setup_code)
{
	struct bz_params p;
	struct kernel_image k;
	struct err e = { "" };
	size_t len;
	uint8_t *img;

	bz_default(&p);
	p.setup_sects = p.real_sects = 30;
	img = bz_build(&p, &len);
	cr_assert_eq(bzimage_parse(img, len, RAM_64M, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.seg[0].data, img + 31 * 512);
	cr_assert_eq(k.seg[0].data[0], test_pattern(31 * 512));
	free(img);
}

Test(boot_bzimage, preferred_address_below_1m_falls_back_to_1m)
{
	struct bz_params p;
	struct kernel_image k;
	struct err e = { "" };

	bz_default(&p);
	p.pref_address = 0x10000;
	cr_assert_eq(parse(&p, RAM_64M, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.start, LAYOUT_HIGH_RAM);
	cr_assert_eq(k.entry, LAYOUT_HIGH_RAM + 0x200);
	/* It relocates itself to the next kernel_alignment boundary. */
	cr_assert_eq(k.end, 2 * MiB + p.init_size);
}

/*
 * A relocatable kernel loaded at 1 MiB still moves itself up to its
 * LOAD_PHYSICAL_ADDR (pref_address) before decompressing, so a preferred
 * address beyond RAM means the guest is too small, not "load it lower".
 */
Test(boot_bzimage, preferred_address_beyond_ram)
{
	struct bz_params p;

	bz_default(&p);
	p.pref_address = 0x123456789000ULL;
	expect_refused(&p, "guest memory too small");
	p.pref_address = 62 * MiB; /* fits, but not with init_size after it */
	expect_refused(&p, "guest memory too small");
	p.pref_address = UINT64_MAX - 0x1000;
	expect_refused(&p, "guest memory too small");
}

Test(boot_bzimage, non_relocatable_needs_its_address)
{
	struct bz_params p;
	struct kernel_image k;
	struct err e = { "" };

	bz_default(&p);
	p.relocatable = 0;
	p.pref_address = 0x1000000;
	cr_assert_eq(parse(&p, RAM_64M, &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.start, 0x1000000);

	p.pref_address = 128 * MiB;
	expect_refused(&p, "not relocatable");
	p.pref_address = 0x80000;
	expect_refused(&p, "not relocatable");
}

Test(boot_bzimage, memory_too_small_for_init_size)
{
	struct bz_params p;

	bz_default(&p);
	p.init_size = 60 * MiB; /* 16 MiB + 60 MiB > 64 MiB */
	expect_refused(&p, "guest memory too small");
}

Test(boot_bzimage, truncated_files)
{
	struct bz_params p;
	size_t len, cuts[] = { 0, 1, 0x1ff, 0x205, 0x206, 0x207, 0x26b, 0x300,
			       5 * 512 - 1, 5 * 512, 5 * 512 + 100 };
	uint8_t *img;

	bz_default(&p);
	img = bz_build(&p, &len);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		struct kernel_image k;
		struct err e = { "" };
		uint8_t *copy = malloc(cuts[i] ? cuts[i] : 1);

		/* An exact-size copy so ASan sees any read past the end. */
		memcpy(copy, img, cuts[i]);
		cr_assert_eq(kernel_parse(copy, cuts[i], RAM_64M, &k, &e), -1,
			     "accepted a file cut at %zu bytes", cuts[i]);
		if (cuts[i] < 0x206)
			cr_assert(strstr(e.msg, "not a Linux kernel image"),
				  "cut at %zu: %s", cuts[i], e.msg);
		else if (cuts[i] < 5 * 512)
			cr_assert(strstr(e.msg, "truncated bzImage"),
				  "cut at %zu: %s", cuts[i], e.msg);
		else
			cr_assert(strstr(e.msg, "syssize"), "cut at %zu: %s",
				  cuts[i], e.msg);
		free(copy);
	}
	free(img);
}

Test(boot_bzimage, wrong_magic)
{
	struct bz_params p;
	struct kernel_image k;
	struct err e = { "" };
	size_t len;
	uint8_t *img;

	bz_default(&p);
	img = bz_build(&p, &len);
	put_le16(img + HDR_BOOT_FLAG, 0x55aa);
	cr_assert_eq(bzimage_parse(img, len, RAM_64M, &k, &e), -1);
	cr_assert(strstr(e.msg, "boot sector signature"), "%s", e.msg);

	put_le16(img + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
	memcpy(img + HDR_MAGIC, "HdrX", 4);
	cr_assert_eq(kernel_parse(img, len, RAM_64M, &k, &e), -1);
	cr_assert(strstr(e.msg, "not a Linux kernel image (no bzImage setup header and no ELF header)"),
		  "%s", e.msg);
	free(img);
}

Test(boot_bzimage, old_protocol_refused)
{
	struct bz_params p;

	bz_default(&p);
	p.version = 0x0205;
	expect_refused(&p, "boot protocol 2.05 is too old");
	p.version = 0x0100;
	expect_refused(&p, "too old");
	/* 2.06 to 2.11 parse but predate the 64-bit entry point. */
	p.version = 0x020a;
	expect_refused(&p, "2.12");
}

Test(boot_bzimage, setup_sects_out_of_range)
{
	struct bz_params p;

	bz_default(&p);
	p.setup_sects = 64;
	expect_refused(&p, "setup_sects 64 is out of range");
	p.setup_sects = 255;
	expect_refused(&p, "setup_sects 255 is out of range");
}

Test(boot_bzimage, setup_sects_larger_than_file)
{
	struct bz_params p;

	bz_default(&p);
	p.kernel_size = 1024;
	p.setup_sects = 40;
	expect_refused(&p, "longer than the file");
}

Test(boot_bzimage, syssize_beyond_file)
{
	struct bz_params p;

	bz_default(&p);
	p.syssize = p.kernel_size / 16 + 1;
	expect_refused(&p, "syssize says");
	p.syssize = 0xffffffff;
	expect_refused(&p, "syssize says");
}

Test(boot_bzimage, kernel_too_small_for_entry)
{
	struct bz_params p;

	bz_default(&p);
	p.kernel_size = 0x200;
	expect_refused(&p, "64-bit entry point at offset 0x200");
}

Test(boot_bzimage, no_64bit_entry)
{
	struct bz_params p;

	bz_default(&p);
	p.xloadflags = 0x2;
	expect_refused(&p, "XLF_KERNEL_64");
}

Test(boot_bzimage, zimage_refused)
{
	struct bz_params p;

	bz_default(&p);
	p.loadflags = 0;
	expect_refused(&p, "zImage");
}

Test(boot_bzimage, short_setup_header)
{
	struct bz_params p;

	bz_default(&p);
	p.jump_len = 0x20; /* ends at 0x222, before init_size */
	expect_refused(&p, "setup header ends at 0x222");
}

Test(boot_bzimage, bad_alignment)
{
	struct bz_params p;

	bz_default(&p);
	p.alignment = 0x300000;
	expect_refused(&p, "kernel_alignment 0x300000");
	p.alignment = 0;
	expect_refused(&p, "kernel_alignment 0x0");
}

/*
 * Random corruption of the header area: the parser must never read outside
 * the image, and whatever it accepts must stay inside guest RAM.
 */
Test(boot_bzimage, corrupted_headers_stay_in_bounds)
{
	struct bz_params p;
	uint32_t seed = 12345;
	size_t len;
	uint8_t *orig;

	bz_default(&p);
	orig = bz_build(&p, &len);
	for (int iter = 0; iter < 3000; iter++) {
		uint8_t *img = malloc(len);
		size_t cut = len;
		struct kernel_image k;
		struct err e = { "" };

		memcpy(img, orig, len);
		for (int j = 0; j < 4; j++) {
			seed = seed * 1103515245 + 12345;
			img[0x1f1 + (seed >> 8) % (0x270 - 0x1f1)] = (uint8_t)(seed >> 20);
		}
		if (iter % 3 == 0)
			cut = (seed >> 4) % len;
		if (bzimage_parse(img, cut, RAM_64M, &k, &e) == 0) {
			cr_assert(k.seg[0].data >= img &&
				  k.seg[0].data + k.seg[0].filesz <= img + cut);
			cr_assert(k.seg[0].gpa >= LAYOUT_HIGH_RAM);
			cr_assert(k.end <= RAM_64M && k.start < k.end);
			cr_assert(k.entry >= k.start && k.entry < k.end);
		} else {
			cr_assert(e.msg[0] != '\0');
		}
		free(img);
	}
	free(orig);
}
