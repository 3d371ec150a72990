// SPDX-License-Identifier: MIT
/*
 * The arm64 Image loader on valid and hostile headers, and the whole arm64
 * boot (kernel, initrd, device tree) into a guest memory buffer.
 */
#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/arm64/boot.h"
#include "boot/arm64/image.h"
#include "vmm/arch/arm64/layout.h"

#define RAM_SIZE (64 * MiB)

static uint8_t *image(size_t len, uint64_t text_offset, uint64_t image_size,
		      uint64_t flags)
{
	uint8_t *img = calloc(1, len);

	cr_assert_not_null(img);
	put_le32(img, 0x14000000); /* b . + 0: code0 as the kernel has it */
	put_le64(img + 8, text_offset);
	put_le64(img + 16, image_size);
	put_le64(img + 24, flags);
	put_le32(img + 56, ARM64_IMAGE_MAGIC);
	for (size_t i = ARM64_IMAGE_HEADER_SIZE; i < len; i++)
		img[i] = (uint8_t)(i * 7);
	return img;
}

static void expect_refused(const uint8_t *img, size_t len, uint64_t ram_base,
			   uint64_t ram_size, const char *why)
{
	struct arm64_image k;
	struct err e;

	cr_assert_eq(arm64_image_parse(img, len, ram_base, ram_size, &k, &e), -1);
	cr_assert(strstr(e.msg, why), "got: %s", e.msg);
}

Test(arm64_image, modern_header_loads_at_ram_base_plus_text_offset)
{
	uint8_t *img = image(8192, 0, 3 * MiB, 0xa);
	struct arm64_image k;
	struct err e;

	cr_assert_eq(arm64_image_parse(img, 8192, LAYOUT_RAM, RAM_SIZE, &k, &e),
		     0, "%s", e.msg);
	cr_assert_eq(k.load, LAYOUT_RAM);
	cr_assert_eq(k.size, 3 * MiB);
	free(img);
	img = image(8192, 0x80000, 3 * MiB, 0);
	cr_assert_eq(arm64_image_parse(img, 8192, LAYOUT_RAM, RAM_SIZE, &k, &e), 0);
	cr_assert_eq(k.load, LAYOUT_RAM + 0x80000);
	free(img);
}

Test(arm64_image, base_is_rounded_up_to_2_mib)
{
	uint8_t *img = image(4096, 0x1000, 1 * MiB, 0);
	struct arm64_image k;
	struct err e;

	cr_assert_eq(arm64_image_parse(img, 4096, LAYOUT_RAM + 4096, RAM_SIZE,
				       &k, &e), 0, "%s", e.msg);
	cr_assert_eq(k.load, LAYOUT_RAM + 2 * MiB + 0x1000);
	free(img);
}

Test(arm64_image, pre_3_17_header_means_text_offset_0x80000)
{
	uint8_t *img = image(8192, 0x1234, 0, 0);
	struct arm64_image k;
	struct err e;

	cr_assert_eq(arm64_image_parse(img, 8192, LAYOUT_RAM, RAM_SIZE, &k, &e), 0);
	cr_assert_eq(k.load, LAYOUT_RAM + 0x80000);
	cr_assert_eq(k.size, 8192);
	free(img);
}

Test(arm64_image, hostile_headers_are_refused_with_a_reason)
{
	uint8_t *img = image(8192, 0, 1 * MiB, 0);
	static const uint8_t gz[] = { 0x1f, 0x8b, 8, 0 };

	expect_refused(img, 63, LAYOUT_RAM, RAM_SIZE, "shorter than its 64-byte header");
	expect_refused(gz, sizeof(gz), LAYOUT_RAM, RAM_SIZE, "gzip-compressed");
	put_le32(img + 56, 0x12345678);
	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "no \"ARM\\x64\" magic");
	free(img);

	img = image(8192, 0, 1 * MiB, 1);
	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "big-endian");
	free(img);
	img = image(8192, 2 * MiB, 1 * MiB, 0);
	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "text_offset");
	free(img);
	img = image(8192, 0x801, 1 * MiB, 0);
	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "page-aligned");
	free(img);
	img = image(8192, 0, 4096, 0);
	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "smaller than the file");
	free(img);
}

Test(arm64_image, sizes_past_ram_or_wrapping_are_refused)
{
	uint8_t *img = image(8192, 0, RAM_SIZE + 4096, 0);

	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "more than the guest's");
	free(img);
	img = image(8192, 0x1000, UINT64_MAX - 0x800, 0);
	expect_refused(img, 8192, LAYOUT_RAM, RAM_SIZE, "more than the guest's");
	free(img);
	img = image(8192, 0, 1 * MiB, 0);
	expect_refused(img, 8192, UINT64_MAX - 4095, RAM_SIZE, "more than the guest's");
	expect_refused(img, 8192, LAYOUT_RAM + 4096, 2 * MiB, "more than the guest's");
	free(img);
}

/* ---- the whole boot into a guest memory buffer ---- */

struct files {
	char kernel[64];
	char initrd[64];
};

static void write_temp(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/vmm-arm64-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static uint8_t *ram;
static struct guest_mem mem;
static struct files files;

static void setup(void)
{
	static const struct guest_ram_map map = { .base = LAYOUT_RAM,
						  .low_max = UINT64_MAX };

	ram = calloc(1, RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0xee, RAM_SIZE);
	guest_mem_init_buffer(&mem, &map, ram, RAM_SIZE);
}

static void teardown(void)
{
	unlink(files.kernel);
	unlink(files.initrd);
	free(ram);
}

static int boot(size_t kernel_len, uint64_t image_size, size_t initrd_len,
		const char *cmdline, struct arm64_boot_entry *entry,
		struct fdt_machine *m, struct err *e)
{
	uint8_t *img = image(kernel_len, 0, image_size, 0);
	uint8_t *initrd = malloc(initrd_len + 1);
	struct boot_config cfg = {
		.kernel_path = files.kernel,
		.initrd_path = initrd_len ? files.initrd : NULL,
		.cmdline = cmdline,
		.nr_cpus = 2,
	};
	int ret;

	memset(initrd, 0x42, initrd_len + 1);
	write_temp(files.kernel, img, kernel_len);
	write_temp(files.initrd, initrd, initrd_len);
	*m = (struct fdt_machine){ .gic_version = 3, .uarts = 1, .rtc = true };
	ret = arm64_boot_linux(&mem, &cfg, m, entry, e);
	free(img);
	free(initrd);
	return ret;
}

Test(arm64_boot, kernel_initrd_and_tree_land_where_the_entry_says,
     .init = setup, .fini = teardown)
{
	struct arm64_boot_entry entry;
	struct fdt_machine m;
	struct err e;
	uint8_t *dtb, *k;
	fdt64_t start;
	int chosen;

	cr_assert_eq(boot(100000, 4 * MiB, 300000, "console=ttyS0", &entry, &m, &e),
		     0, "%s", e.msg);
	cr_assert_eq(entry.pc, LAYOUT_RAM);
	cr_assert_eq(entry.kernel_end, LAYOUT_RAM + 4 * MiB);
	k = ram;
	cr_assert_eq(get_le32(k + 56), ARM64_IMAGE_MAGIC);
	cr_assert_eq(k[99999], (uint8_t)(99999 * 7));
	cr_assert_eq(k[100000], 0, "BSS is zeroed");
	cr_assert_eq(k[4 * MiB - 1], 0, "BSS is zeroed to image_size");
	/* The tree in the last 2 MiB, the initrd right below it. */
	cr_assert_eq(entry.fdt, LAYOUT_RAM + RAM_SIZE - 2 * MiB);
	cr_assert_eq(entry.fdt % 8, 0);
	cr_assert_eq(entry.initrd_size, 300000);
	cr_assert_leq(entry.initrd_start + entry.initrd_size, entry.fdt);
	cr_assert_geq(entry.initrd_start, entry.kernel_end);
	cr_assert_eq(ram[entry.initrd_start - LAYOUT_RAM], 0x42);
	cr_assert_eq(ram[entry.initrd_start - LAYOUT_RAM + 299999], 0x42);
	dtb = ram + (entry.fdt - LAYOUT_RAM);
	cr_assert_eq(fdt_check_full(dtb, 2 * MiB), 0);
	chosen = fdt_path_offset(dtb, "/chosen");
	cr_assert_geq(chosen, 0);
	cr_assert_str_eq(fdt_getprop(dtb, chosen, "bootargs", NULL), "console=ttyS0");
	memcpy(&start, fdt_getprop(dtb, chosen, "linux,initrd-start", NULL), 8);
	cr_assert_eq(fdt64_to_cpu(start), entry.initrd_start);
	cr_assert_geq(fdt_path_offset(dtb, "/memory@80000000"), 0);
	cr_assert_geq(fdt_path_offset(dtb, "/cpus/cpu@1"), 0);
}

Test(arm64_boot, what_does_not_fit_is_refused_with_the_file_named,
     .init = setup, .fini = teardown)
{
	struct arm64_boot_entry entry;
	struct fdt_machine m;
	struct err e;
	char cmdline[ARM64_CMDLINE_MAX + 2];

	cr_assert_eq(boot(100000, 4 * MiB, 60 * MiB, NULL, &entry, &m, &e), -1);
	cr_assert(strstr(e.msg, "initrd is too big"), "%s", e.msg);
	cr_assert(strstr(e.msg, files.initrd), "%s", e.msg);
	cr_assert_eq(boot(100000, RAM_SIZE, 0, NULL, &entry, &m, &e), -1);
	cr_assert(strstr(e.msg, "no room for the device tree"), "%s", e.msg);
	cr_assert(strstr(e.msg, files.kernel), "%s", e.msg);
	memset(cmdline, 'a', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	cr_assert_eq(boot(100000, 4 * MiB, 0, cmdline, &entry, &m, &e), -1);
	cr_assert(strstr(e.msg, "over the limit of 2047 bytes"), "%s", e.msg);
	cr_assert_eq(ram[0], 0xee, "nothing was written");
}
