// SPDX-License-Identifier: MIT
/* boot_linux() end to end: files in, guest memory and entry state out. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/e820.h"
#include "boot/x86/pvh.h"
#include "boot/x86/entry.h"
#include "boot/x86/zeropage.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

#define RAM_64M (64 * MiB)

struct fixture {
	struct test_guest g;
	char *kernel;
	char *initrd;
	uint8_t *initrd_data;
	size_t initrd_len;
	struct boot_config cfg;
	struct boot_entry entry;
	struct err e;
};

static void fx_init(struct fixture *f, uint64_t ram)
{
	memset(f, 0, sizeof(*f));
	tg_init(&f->g, ram);
	f->cfg.nr_cpus = 2;
}

static void fx_kernel(struct fixture *f, const uint8_t *img, size_t len)
{
	f->kernel = write_temp(img, len);
	f->cfg.kernel_path = f->kernel;
}

static void fx_initrd(struct fixture *f, size_t len)
{
	f->initrd_data = malloc(len);
	for (size_t i = 0; i < len; i++)
		f->initrd_data[i] = (uint8_t)(i ^ 0x5a);
	f->initrd_len = len;
	f->initrd = write_temp(f->initrd_data, len);
	f->cfg.initrd_path = f->initrd;
}

static void fx_bz(struct fixture *f, const struct bz_params *p)
{
	size_t len;
	uint8_t *img = bz_build(p, &len);

	fx_kernel(f, img, len);
	free(img);
}

static void fx_fini(struct fixture *f)
{
	if (f->kernel)
		remove_temp(f->kernel);
	if (f->initrd)
		remove_temp(f->initrd);
	free(f->initrd_data);
	tg_fini(&f->g);
}

static int fx_boot(struct fixture *f)
{
	return boot_linux(&f->g.mem, &f->cfg, &f->entry, &f->e);
}

static void expect_boot_refused(struct fixture *f, const char *what)
{
	cr_assert_eq(fx_boot(f), -1, "booted, expected \"%s\"", what);
	cr_assert(strstr(f->e.msg, what), "message \"%s\" does not say \"%s\"",
		  f->e.msg, what);
}

/* The zero page's e820 table equals e820_build()'s map. */
static void check_e820(struct fixture *f, const uint8_t *table, unsigned int n,
		       size_t entry_size)
{
	struct e820_entry map[E820_MAP_MAX];
	unsigned int want = e820_build(&f->g.mem, NULL, map);

	cr_assert_eq(n, want);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *ent = table + i * entry_size;

		cr_assert_eq(get_le64(ent), map[i].addr);
		cr_assert_eq(get_le64(ent + 8), map[i].size);
		cr_assert_eq(get_le32(ent + 16), map[i].type);
	}
}

static void check_initrd(struct fixture *f, uint64_t limit)
{
	uint64_t start = f->entry.initrd_start;

	cr_assert_eq(f->entry.initrd_size, f->initrd_len);
	cr_assert_eq(start % 4096, 0, "initrd at 0x%llx not page aligned",
		     (unsigned long long)start);
	cr_assert(start + f->initrd_len <= limit);
	cr_assert(start >= f->entry.kernel_end ||
		  start + f->initrd_len <= f->entry.kernel_start,
		  "initrd [0x%llx, +0x%zx) overlaps the kernel [0x%llx, 0x%llx)",
		  (unsigned long long)start, f->initrd_len,
		  (unsigned long long)f->entry.kernel_start,
		  (unsigned long long)f->entry.kernel_end);
	cr_assert(start >= LAYOUT_HIGH_RAM);
	cr_assert_eq(memcmp(tg_ptr(&f->g, start, f->initrd_len), f->initrd_data,
			    f->initrd_len), 0);
}

Test(boot_linux, bzimage_zero_page)
{
	const char *cmdline = "console=ttyS0 root=/dev/vda quiet";
	struct fixture f;
	struct bz_params p;
	uint8_t *zp, *k;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	fx_bz(&f, &p);
	fx_initrd(&f, 3 * MiB + 123);
	f.cfg.cmdline = cmdline;
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);

	cr_assert_eq(f.entry.mode, BOOT_MODE_LINUX64);
	cr_assert_eq(f.entry.rip, 16 * MiB + 0x200);
	cr_assert_eq(f.entry.rsi, LAYOUT_ZERO_PAGE);
	cr_assert_eq(f.entry.kernel_start, 16 * MiB);

	/* The protected-mode kernel, byte for byte, at its address. */
	k = tg_ptr(&f.g, 16 * MiB, p.kernel_size);
	for (size_t i = 0; i < p.kernel_size; i++)
		cr_assert_eq(k[i], test_pattern(5 * 512 + i));

	zp = tg_ptr(&f.g, LAYOUT_ZERO_PAGE, ZP_SIZE);
	cr_assert_eq(get_le16(zp + HDR_BOOT_FLAG), 0xaa55);
	cr_assert_eq(memcmp(zp + HDR_MAGIC, "HdrS", 4), 0);
	cr_assert_eq(get_le16(zp + HDR_VERSION), 0x020f);
	cr_assert_eq(zp[HDR_SETUP_SECTS], 4);
	cr_assert_eq(zp[HDR_TYPE_OF_LOADER], 0xff);
	cr_assert_eq(zp[HDR_LOADFLAGS], LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP);
	cr_assert_eq(get_le16(zp + HDR_HEAP_END_PTR), 0xfe00);
	cr_assert_eq(get_le32(zp + HDR_CMD_LINE_PTR), LAYOUT_CMDLINE);
	cr_assert_eq(get_le32(zp + HDR_CMDLINE_SIZE), 2047);
	cr_assert_eq(get_le32(zp + HDR_RAMDISK_IMAGE), f.entry.initrd_start);
	cr_assert_eq(get_le32(zp + HDR_RAMDISK_SIZE), f.initrd_len);
	cr_assert_eq(get_le64(zp + ZP_ACPI_RSDP_ADDR), LAYOUT_ACPI);
	cr_assert_eq(zp[ZP_SENTINEL], 0);
	cr_assert_eq(get_le32(zp + ZP_EXT_CMD_LINE_PTR), 0);
	check_e820(&f, zp + ZP_E820_TABLE, zp[ZP_E820_ENTRIES], ZP_E820_ENTRY_SIZE);

	cr_assert_str_eq((char *)tg_ptr(&f.g, LAYOUT_CMDLINE, strlen(cmdline) + 1),
			 cmdline);
	/* Highest page-aligned spot below the end of RAM. */
	check_initrd(&f, RAM_64M);
	cr_assert_eq(f.entry.initrd_start, ALIGN_DOWN(RAM_64M - f.initrd_len, 4096));

	/* Identity page tables and the GDT for the 64-bit entry. */
	cr_assert_eq(get_le64(tg_ptr(&f.g, LAYOUT_PML4, 8)) & ~0xfffULL, LAYOUT_PDPT);
	cr_assert_eq(get_le64(tg_ptr(&f.g, LAYOUT_GDT + X86_SEL_CODE64, 8)),
		     0x00af9b000000ffffULL);
	fx_fini(&f);
}

Test(boot_linux, rsdp_only_for_protocol_2_14)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	p.version = 0x020d;
	fx_bz(&f, &p);
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	cr_assert_eq(get_le64(tg_ptr(&f.g, LAYOUT_ZERO_PAGE + ZP_ACPI_RSDP_ADDR, 8)), 0);
	fx_fini(&f);
}

Test(boot_linux, empty_command_line)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	memset(tg_ptr(&f.g, LAYOUT_CMDLINE, 16), 'x', 16);
	bz_default(&p);
	fx_bz(&f, &p);
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	cr_assert_eq(*tg_ptr(&f.g, LAYOUT_CMDLINE, 1), 0);
	cr_assert_eq(f.entry.initrd_size, 0);
	cr_assert_eq(get_le32(tg_ptr(&f.g, LAYOUT_ZERO_PAGE + HDR_RAMDISK_SIZE, 4)), 0);
	fx_fini(&f);
}

Test(boot_linux, command_line_limits)
{
	struct fixture f;
	struct bz_params p;
	char *line = malloc(LAYOUT_CMDLINE_MAX + 1);

	fx_init(&f, RAM_64M);
	bz_default(&p);
	p.cmdline_size = 16;
	fx_bz(&f, &p);
	memset(line, 'a', 17);
	line[17] = 0;
	f.cfg.cmdline = line;
	expect_boot_refused(&f, "command line is 17 bytes, over the limit of 16");
	line[16] = 0;
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	cr_assert_str_eq((char *)tg_ptr(&f.g, LAYOUT_CMDLINE, 17), line);
	remove_temp(f.kernel);

	/* A kernel accepting more still stops at the VMM's area. */
	p.cmdline_size = 0xffffffff;
	fx_bz(&f, &p);
	memset(line, 'b', LAYOUT_CMDLINE_MAX);
	line[LAYOUT_CMDLINE_MAX] = 0;
	expect_boot_refused(&f, "command line is 65536 bytes, over the limit of 65535");
	line[LAYOUT_CMDLINE_MAX - 1] = 0;
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	free(line);
	fx_fini(&f);
}

Test(boot_linux, initrd_under_initrd_addr_max)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	p.initrd_addr_max = 40 * MiB - 1;
	fx_bz(&f, &p);
	fx_initrd(&f, 5000);
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	check_initrd(&f, 40 * MiB);
	cr_assert_eq(f.entry.initrd_start, 40 * MiB - 8192);
	fx_fini(&f);
}

Test(boot_linux, initrd_below_kernel_when_limit_requires)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	/* Kernel owns [16 MiB, 20 MiB); the initrd must end below 18 MiB. */
	p.initrd_addr_max = 18 * MiB - 1;
	fx_bz(&f, &p);
	fx_initrd(&f, 2 * MiB + 1);
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	check_initrd(&f, 16 * MiB);
	cr_assert_eq(f.entry.initrd_start, ALIGN_DOWN(16 * MiB - (2 * MiB + 1), 4096));
	fx_fini(&f);
}

Test(boot_linux, initrd_would_overlap_kernel)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	p.initrd_addr_max = 18 * MiB - 1;
	fx_bz(&f, &p);
	fx_initrd(&f, 16 * MiB); /* 15 MiB below the kernel, none above */
	expect_boot_refused(&f, "without overlapping the kernel at [0x1000000, 0x1400000)");
	cr_assert(strstr(f.e.msg, f.initrd), "message does not name the file: %s",
		  f.e.msg);
	fx_fini(&f);
}

Test(boot_linux, initrd_too_big_for_ram)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, 16 * MiB);
	bz_default(&p);
	p.pref_address = LAYOUT_HIGH_RAM;
	p.init_size = 2 * MiB;
	fx_bz(&f, &p);
	fx_initrd(&f, 16 * MiB);
	expect_boot_refused(&f, "initrd is too big: 16777216 bytes, but guest RAM");
	fx_fini(&f);
}

Test(boot_linux, empty_initrd)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	fx_bz(&f, &p);
	f.initrd = write_temp("", 0);
	f.cfg.initrd_path = f.initrd;
	expect_boot_refused(&f, "initrd is empty");
	fx_fini(&f);
}

Test(boot_linux, memory_too_small)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, 1 * MiB);
	bz_default(&p);
	fx_bz(&f, &p);
	expect_boot_refused(&f, "guest memory too small: 1024 KiB");
	fx_fini(&f);

	/* Big enough for the tables, too small for this kernel. */
	fx_init(&f, 8 * MiB);
	fx_bz(&f, &p);
	expect_boot_refused(&f, "guest memory too small");
	cr_assert(strstr(f.e.msg, f.kernel), "message does not name the file: %s",
		  f.e.msg);
	fx_fini(&f);
}

Test(boot_linux, vcpu_count)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	bz_default(&p);
	fx_bz(&f, &p);
	f.cfg.nr_cpus = 0;
	expect_boot_refused(&f, "0 vCPUs");
	f.cfg.nr_cpus = 256;
	expect_boot_refused(&f, "256 vCPUs");
	f.cfg.nr_cpus = 255;
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	fx_fini(&f);
}

Test(boot_linux, not_a_kernel)
{
	struct fixture f;
	uint8_t text[4096];

	fx_init(&f, RAM_64M);
	memset(text, 'z', sizeof(text));
	fx_kernel(&f, text, sizeof(text));
	cr_assert_eq(fx_boot(&f), -1);
	cr_assert(strstr(f.e.msg, ": not a Linux kernel image (no bzImage setup header and no ELF header)"),
		  "%s", f.e.msg);
	cr_assert_eq(strncmp(f.e.msg, f.kernel, strlen(f.kernel)), 0,
		     "message does not start with the path: %s", f.e.msg);
	fx_fini(&f);
}

Test(boot_linux, missing_files)
{
	struct fixture f;
	struct bz_params p;

	fx_init(&f, RAM_64M);
	f.cfg.kernel_path = "/nonexistent/vmlinuz";
	expect_boot_refused(&f, "/nonexistent/vmlinuz");
	bz_default(&p);
	fx_bz(&f, &p);
	f.cfg.initrd_path = "/nonexistent/initrd.img";
	expect_boot_refused(&f, "/nonexistent/initrd.img");
	fx_fini(&f);
}

Test(boot_linux, elf_linux64_zero_page)
{
	struct fixture f;
	struct elf_params p;
	size_t len;
	uint8_t *img, *zp, *seg;

	fx_init(&f, RAM_64M);
	elf_default(&p);
	p.nr_segs = 2;
	p.seg[1] = (struct elf_seg){ .paddr = 17 * MiB, .filesz = 100,
				     .memsz = 64 * KiB };
	img = elf_build(&p, &len);
	fx_kernel(&f, img, len);
	/* The bss must come out zero even over stale memory. */
	memset(tg_ptr(&f.g, 17 * MiB, 64 * KiB), 0xee, 64 * KiB);
	fx_initrd(&f, 100000);
	f.cfg.cmdline = "console=hvc0";
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);

	cr_assert_eq(f.entry.mode, BOOT_MODE_LINUX64);
	cr_assert_eq(f.entry.rip, 16 * MiB);
	cr_assert_eq(f.entry.rsi, LAYOUT_ZERO_PAGE);
	cr_assert_eq(f.entry.kernel_start, 16 * MiB);
	cr_assert_eq(f.entry.kernel_end, 17 * MiB + 64 * KiB);
	seg = tg_ptr(&f.g, 17 * MiB, 64 * KiB);
	for (size_t i = 0; i < 64 * KiB; i++)
		cr_assert_eq(seg[i], i < 100 ? test_pattern(elf_seg_offset(1) + i) : 0,
			     "byte %zu of segment 1", i);

	zp = tg_ptr(&f.g, LAYOUT_ZERO_PAGE, ZP_SIZE);
	cr_assert_eq(get_le16(zp + HDR_BOOT_FLAG), 0xaa55);
	cr_assert_eq(memcmp(zp + HDR_MAGIC, "HdrS", 4), 0);
	cr_assert_eq(get_le16(zp + HDR_VERSION), 0x020f);
	cr_assert_eq(zp[HDR_TYPE_OF_LOADER], 0xff);
	cr_assert_eq(get_le32(zp + HDR_CMD_LINE_PTR), LAYOUT_CMDLINE);
	cr_assert_eq(get_le32(zp + HDR_CMDLINE_SIZE), LAYOUT_CMDLINE_MAX - 1);
	cr_assert_eq(get_le32(zp + HDR_RAMDISK_IMAGE), f.entry.initrd_start);
	cr_assert_eq(get_le32(zp + HDR_RAMDISK_SIZE), 100000);
	cr_assert_eq(get_le64(zp + ZP_ACPI_RSDP_ADDR), LAYOUT_ACPI);
	check_e820(&f, zp + ZP_E820_TABLE, zp[ZP_E820_ENTRIES], ZP_E820_ENTRY_SIZE);
	check_initrd(&f, RAM_64M);
	free(img);
	fx_fini(&f);
}

Test(boot_linux, elf_pvh_start_info)
{
	struct fixture f;
	struct elf_params p;
	size_t len;
	uint8_t *img, *si, *mod;

	fx_init(&f, RAM_64M);
	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 16 * MiB + 0x100;
	img = elf_build(&p, &len);
	fx_kernel(&f, img, len);
	fx_initrd(&f, 8192);
	f.cfg.cmdline = "pvh console=ttyS0";
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);

	cr_assert_eq(f.entry.mode, BOOT_MODE_PVH);
	cr_assert_eq(f.entry.rip, 16 * MiB + 0x100);
	cr_assert_eq(f.entry.rbx, LAYOUT_PVH_START_INFO);
	si = tg_ptr(&f.g, LAYOUT_PVH_START_INFO, PVH_START_INFO_SIZE);
	cr_assert_eq(get_le32(si), 0x336ec578);
	cr_assert_eq(get_le32(si + 4), 1);
	cr_assert_eq(get_le32(si + 12), 1); /* nr_modules */
	cr_assert_eq(get_le64(si + 24), LAYOUT_CMDLINE);
	cr_assert_str_eq((char *)tg_ptr(&f.g, get_le64(si + 24), 18), "pvh console=ttyS0");
	cr_assert_eq(get_le64(si + 32), LAYOUT_ACPI);
	mod = tg_ptr(&f.g, get_le64(si + 16), PVH_MODLIST_ENTRY_SIZE);
	cr_assert_eq(get_le64(mod), f.entry.initrd_start);
	cr_assert_eq(get_le64(mod + 8), 8192);
	check_initrd(&f, RAM_64M);
	check_e820(&f, tg_ptr(&f.g, get_le64(si + 40), E820_MAP_MAX * 24),
		   get_le32(si + 48), PVH_MEMMAP_ENTRY_SIZE);
	/* No zero page in PVH mode: the kernel builds its own. */
	cr_assert_eq(get_le16(tg_ptr(&f.g, LAYOUT_ZERO_PAGE + HDR_BOOT_FLAG, 2)), 0);
	free(img);
	fx_fini(&f);
}

Test(boot_linux, pvh_without_initrd_has_no_modules)
{
	struct fixture f;
	struct elf_params p;
	size_t len;
	uint8_t *img, *si;

	fx_init(&f, RAM_64M);
	elf_default(&p);
	p.pvh = 1;
	p.pvh_entry = 16 * MiB;
	img = elf_build(&p, &len);
	fx_kernel(&f, img, len);
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	si = tg_ptr(&f.g, LAYOUT_PVH_START_INFO, PVH_START_INFO_SIZE);
	cr_assert_eq(get_le32(si + 12), 0);
	cr_assert_eq(get_le64(si + 16), 0);
	free(img);
	fx_fini(&f);
}

Test(boot_linux, elf_segment_outside_small_guest)
{
	struct fixture f;
	struct elf_params p;
	size_t len;
	uint8_t *img;

	fx_init(&f, 16 * MiB);
	elf_default(&p); /* loads at 16 MiB: beyond this guest's RAM */
	img = elf_build(&p, &len);
	fx_kernel(&f, img, len);
	expect_boot_refused(&f, "do not fit in guest RAM below 0x1000000");
	free(img);
	fx_fini(&f);
}

Test(boot_linux, many_cpus_and_devices)
{
	struct boot_mmio_device mmio[LAYOUT_VIRTIO_MMIO_MAX + 1];
	struct fixture f;
	struct bz_params p;

	for (unsigned int i = 0; i < ARRAY_SIZE(mmio); i++)
		mmio[i] = (struct boot_mmio_device){
			.base = LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE,
			.size = LAYOUT_VIRTIO_MMIO_SIZE,
			.gsi = LAYOUT_IRQ_VIRTIO_FIRST + i % 16,
		};
	fx_init(&f, RAM_64M);
	bz_default(&p);
	fx_bz(&f, &p);
	f.cfg.nr_cpus = 255;
	f.cfg.mmio = mmio;
	f.cfg.nr_mmio = LAYOUT_VIRTIO_MMIO_MAX;
	cr_assert_eq(fx_boot(&f), 0, "%s", f.e.msg);
	f.cfg.nr_mmio = LAYOUT_VIRTIO_MMIO_MAX + 1;
	expect_boot_refused(&f, "65 virtio-mmio devices");
	fx_fini(&f);
}
