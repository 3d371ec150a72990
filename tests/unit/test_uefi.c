// SPDX-License-Identifier: MIT
/*
 * UEFI boot without firmware: the image checks, fw_cfg as OVMF's
 * QemuFwCfgLib drives it (port I/O and DMA), what uefi_setup() hands the
 * firmware (read back and the table-loader script carried out as
 * AcpiPlatformDxe does), the CMOS and the LPC bridge's PM timer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot/x86/acpi.h"
#include "boot/x86/firmware.h"
#include "boot/x86/uefi.h"
#include "boot_helpers.h"
#include "devices/pci/pci.h"
#include "devices/x86/cmos.h"
#include "devices/x86/fw_cfg.h"
#include "devices/x86/ich9_lpc.h"
#include "devices/x86/pflash.h"
#include "virtio_driver.h"

#define FV_SIZE (64 * KiB)

/* One firmware volume filling @len bytes, a jump at the reset vector. */
static uint8_t *fake_firmware(size_t len)
{
	uint8_t *img = calloc(1, len);

	put_le64(img + 32, len);
	memcpy(img + 40, "_FVH", 4);
	put_le16(img + 48, 72);
	img[len - 16] = 0xe9; /* jmp near */
	return img;
}

Test(firmware, accepts_a_volume_chain_with_a_reset_vector)
{
	uint8_t *img = fake_firmware(FV_SIZE);
	struct err e;

	cr_assert_eq(firmware_check(img, FV_SIZE, &e), 0, "%s", e.msg);
	free(img);
}

Test(firmware, refuses_what_is_not_a_bootable_flash_image)
{
	uint8_t *img = fake_firmware(2 * FV_SIZE);
	struct err e;

	/* The volume claims more than the file holds. */
	cr_assert_eq(firmware_check(img, FV_SIZE, &e), -1);
	cr_assert(strstr(e.msg, "truncated firmware image"), "%s", e.msg);
	/* A second volume without its header. */
	put_le64(img + 32, FV_SIZE);
	cr_assert_eq(firmware_check(img, 2 * FV_SIZE, &e), -1);
	cr_assert(strstr(e.msg, "no firmware volume header ('_FVH') at offset 0x10000"),
		  "%s", e.msg);
	put_le64(img + 32, 2 * FV_SIZE);
	/* A cut that leaves no whole block. */
	cr_assert_eq(firmware_check(img, FV_SIZE + 100, &e), -1);
	cr_assert(strstr(e.msg, "whole number of 4 KiB blocks"), "%s", e.msg);
	/* Erased flash where the reset vector belongs: a variable store. */
	memset(img + 2 * FV_SIZE - 16, 0xff, 16);
	cr_assert_eq(firmware_check(img, 2 * FV_SIZE, &e), -1);
	cr_assert(strstr(e.msg, "reset vector"), "%s", e.msg);
	/* Text. */
	memset(img, 'x', FV_SIZE);
	cr_assert_eq(firmware_check(img, FV_SIZE, &e), -1);
	cr_assert(strstr(e.msg, "not a UEFI firmware image"), "%s", e.msg);
	cr_assert_eq(firmware_check(img, FIRMWARE_MAX_SIZE + 4096, &e), -1);
	cr_assert(strstr(e.msg, "below 4 GiB"), "%s", e.msg);
	free(img);
}

Test(firmware, read_names_the_file)
{
	uint8_t *img;
	size_t len;
	struct err e;

	cr_assert_eq(firmware_read("/nonexistent/OVMF.fd", &img, &len, &e), -1);
	cr_assert(strstr(e.msg, "/nonexistent/OVMF.fd"), "%s", e.msg);
}

/* --- fw_cfg ------------------------------------------------------------- */

#define RAM (64 * MiB)
#define DMA_ACCESS 0x1000ULL /* the access structure */
#define DMA_BUF 0x2000ULL

static struct vtest_host th;
static struct fw_cfg *fw;

static void fw_setup(void)
{
	struct err e;

	cr_assert_eq(vtest_host_init(&th, RAM, false), 0);
	cr_assert_eq(fw_cfg_create(&th.host, &fw, &e), 0, "%s", e.msg);
}

static void fw_teardown(void)
{
	struct device *d = fw_cfg_device(fw);

	d->ops->destroy(d);
	vtest_host_destroy(&th);
}

static void fw_select(uint16_t key)
{
	bus_write(&th.pio, FW_CFG_PORT_SELECTOR, &key, 2);
}

static uint8_t fw_byte(void)
{
	uint8_t b;

	bus_read(&th.pio, FW_CFG_PORT_DATA, &b, 1);
	return b;
}

/* One DMA transfer as QemuFwCfgLib makes it; returns the control word. */
static uint32_t fw_dma(uint64_t access, uint32_t control, uint32_t len,
		       uint64_t addr)
{
	uint8_t acc[16];
	uint32_t hi = __builtin_bswap32((uint32_t)(access >> 32));
	uint32_t lo = __builtin_bswap32((uint32_t)access);

	put_le32(acc, __builtin_bswap32(control));
	put_le32(acc + 4, __builtin_bswap32(len));
	put_le64(acc + 8, __builtin_bswap64(addr));
	guest_mem_write(&th.mem, access, acc, sizeof(acc));
	bus_write(&th.pio, FW_CFG_PORT_DMA, &hi, 4);
	bus_write(&th.pio, FW_CFG_PORT_DMA + 4, &lo, 4);
	guest_mem_read(&th.mem, access, acc, 4);
	return __builtin_bswap32(get_le32(acc));
}

static uint8_t *gp(uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_ptr(&th.mem, gpa, len);

	cr_assert_not_null(p);
	return p;
}

/* Item @key, read by DMA into DMA_BUF; @len bytes of it. */
static uint8_t *fw_item(uint16_t key, uint32_t len)
{
	cr_assert_eq(fw_dma(DMA_ACCESS,
			    FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (uint32_t)key << 16,
			    len, DMA_BUF), 0);
	return gp(DMA_BUF, len);
}

/* The key and size of file @name, from the directory. */
static bool fw_find(const char *name, uint16_t *key, uint32_t *size)
{
	uint32_t n = __builtin_bswap32(get_le32(fw_item(FW_CFG_FILE_DIR, 4)));
	uint8_t *dir = fw_item(FW_CFG_FILE_DIR, 4 + n * 64);

	for (uint32_t i = 0; i < n; i++) {
		uint8_t *ent = dir + 4 + i * 64;

		if (!strcmp((char *)ent + 8, name)) {
			*size = __builtin_bswap32(get_le32(ent));
			*key = __builtin_bswap16(get_le16(ent + 4));
			return true;
		}
	}
	return false;
}

TestSuite(fw_cfg, .init = fw_setup, .fini = fw_teardown);

Test(fw_cfg, signature_and_features_over_the_data_port)
{
	char sig[5] = { 0 };
	uint8_t id[4], dma_sig[8];

	fw_select(FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)fw_byte();
	cr_assert_str_eq(sig, "QEMU");
	cr_assert_eq(fw_byte(), 0, "past the end reads 0");
	fw_select(FW_CFG_ID);
	for (int i = 0; i < 4; i++)
		id[i] = fw_byte();
	cr_assert_eq(get_le32(id), 3, "traditional interface and DMA");
	bus_read(&th.pio, FW_CFG_PORT_DMA, dma_sig, 8);
	cr_assert_eq(memcmp(dma_sig, "QEMU CFG", 8), 0);
}

Test(fw_cfg, dma_reads_skips_and_fills_zeros_past_the_end)
{
	struct err e;
	uint8_t *data = malloc(10);

	memcpy(data, "0123456789", 10);
	cr_assert_eq(fw_cfg_add_file(fw, "opt/test", data, 10, &e), 0, "%s", e.msg);
	uint16_t key;
	uint32_t size;

	cr_assert(fw_find("opt/test", &key, &size));
	cr_assert_eq(size, 10);
	memset(gp(DMA_BUF, 16), 0xaa, 16);
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP |
			    (uint32_t)key << 16, 4, 0), 0);
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_READ, 8, DMA_BUF), 0);
	cr_assert_eq(memcmp(gp(DMA_BUF, 8), "456789\0\0", 8), 0);
	cr_assert_eq(gp(DMA_BUF, 16)[8], 0xaa, "nothing past the length");
}

Test(fw_cfg, dma_outside_guest_ram_is_an_error_and_writes_nothing)
{
	/* Destination past the end of RAM, or wrapping around. */
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
			    4, RAM - 2), FW_CFG_DMA_ERROR);
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_READ, 0xffffffff,
			    DMA_BUF), FW_CFG_DMA_ERROR);
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_READ, 16,
			    UINT64_MAX - 8), FW_CFG_DMA_ERROR);
	/* No item is writable. */
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_WRITE, 4, DMA_BUF),
		     FW_CFG_DMA_ERROR);
	/* An access structure outside RAM is ignored; the device survives. */
	fw_dma(RAM - 8, FW_CFG_DMA_READ, 4, DMA_BUF);
	cr_assert_eq(fw_dma(DMA_ACCESS, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
			    4, DMA_BUF), 0);
	cr_assert_eq(memcmp(gp(DMA_BUF, 4), "QEMU", 4), 0);
}

Test(fw_cfg, files_are_unique_and_bounded)
{
	struct err e;
	char name[16];

	cr_assert_eq(fw_cfg_add_file(fw, "a", strdup("x"), 1, &e), 0);
	cr_assert_eq(fw_cfg_add_file(fw, "a", strdup("y"), 1, &e), -1);
	cr_assert_eq(fw_cfg_add_u32(fw, FW_CFG_ID, 1, &e), -1, "taken");
	for (int i = 1; i < FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		cr_assert_eq(fw_cfg_add_file(fw, name, strdup("z"), 1, &e), 0);
	}
	cr_assert_eq(fw_cfg_add_file(fw, "one-too-many", strdup("z"), 1, &e), -1);
}

/* --- uefi_setup ------------------------------------------------------------ */

/* A bzImage that is also a PE image, as one with an EFI stub is. */
static char *efi_kernel(size_t *setup_len, size_t *len)
{
	struct bz_params p;
	uint8_t *img;
	char *path;

	bz_default(&p);
	img = bz_build(&p, len);
	img[0] = 'M';
	img[1] = 'Z';
	put_le32(img + 0x3c, 0x80);
	memcpy(img + 0x80, "PE\0\0", 4);
	*setup_len = (size_t)(p.real_sects + 1) * 512;
	path = write_temp(img, *len);
	free(img);
	return path;
}

static struct boot_config uefi_cfg(const char *kernel)
{
	return (struct boot_config){
		.kernel_path = kernel, .cmdline = "console=ttyS0 quiet",
		.nr_cpus = 3,
	};
}

Test(fw_cfg, uefi_setup_hands_over_cpus_memory_and_kernel)
{
	size_t setup_len, len;
	char *kernel = efi_kernel(&setup_len, &len);
	struct boot_config cfg = uefi_cfg(kernel);
	struct err e;
	uint16_t key;
	uint32_t size;
	uint8_t *ent;

	cr_assert_eq(uefi_setup(&th.mem, &cfg, fw, &e), 0, "%s", e.msg);
	cr_assert_eq(get_le16(fw_item(FW_CFG_NB_CPUS, 2)), 3);
	cr_assert(fw_find("etc/e820", &key, &size));
	cr_assert_eq(size, 20, "one run of RAM");
	ent = fw_item(key, size);
	cr_assert_eq(get_le64(ent), 0);
	cr_assert_eq(get_le64(ent + 8), RAM);
	cr_assert_eq(get_le32(ent + 16), 1);
	/* Setup and the rest make the whole file again. */
	cr_assert_eq(get_le32(fw_item(FW_CFG_SETUP_SIZE, 4)), setup_len);
	cr_assert_eq(get_le32(fw_item(FW_CFG_KERNEL_SIZE, 4)), len - setup_len);
	cr_assert_eq(memcmp(fw_item(FW_CFG_SETUP_DATA, 2), "MZ", 2), 0);
	cr_assert_eq(fw_item(FW_CFG_KERNEL_DATA, 1)[0], test_pattern(setup_len));
	cr_assert_eq(get_le32(fw_item(FW_CFG_CMDLINE_SIZE, 4)),
		     strlen(cfg.cmdline) + 1, "the NUL counts");
	cr_assert_str_eq((char *)fw_item(FW_CFG_CMDLINE_DATA, 20),
			 "console=ttyS0 quiet");
	unlink(kernel);
	free(kernel);
}

Test(fw_cfg, uefi_setup_refuses_a_kernel_that_is_no_efi_executable)
{
	struct bz_params p;
	size_t len;
	uint8_t *img;
	char *path;
	struct boot_config cfg;
	struct err e;

	bz_default(&p);
	img = bz_build(&p, &len);
	path = write_temp(img, len);
	cfg = uefi_cfg(path);
	cr_assert_eq(uefi_setup(&th.mem, &cfg, fw, &e), -1);
	cr_assert(strstr(e.msg, "not an EFI executable"), "%s", e.msg);
	cr_assert(strstr(e.msg, path), "%s", e.msg);
	unlink(path);
	free(path);
	free(img);
}

/* Where the script below placed each file. */
struct placed {
	char name[FW_CFG_FNAME_SIZE];
	uint64_t gpa;
	uint32_t size;
};

static struct placed *placed_find(struct placed *p, unsigned int n,
				  const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return &p[i];
	cr_assert_fail("the script names '%s' before allocating it", name);
	return NULL;
}

static uint8_t sum8(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/*
 * Carries out etc/table-loader as OVMF's QemuFwCfgAcpi.c does and returns
 * the RSDP's guest address.
 */
static uint64_t run_table_loader(void)
{
	struct placed files[8];
	unsigned int nr = 0;
	uint64_t next = 0x100000, rsdp = 0;
	uint16_t key;
	uint32_t size;
	uint8_t *script;

	cr_assert(fw_find("etc/table-loader", &key, &size));
	cr_assert_eq(size % 128, 0);
	script = malloc(size);
	memcpy(script, fw_item(key, size), size);
	for (uint32_t off = 0; off < size; off += 128) {
		uint8_t *c = script + off + 4;
		struct placed *p, *q;
		uint64_t v = 0;

		switch (get_le32(script + off)) {
		case 1: /* ALLOCATE */
			p = &files[nr++];
			memcpy(p->name, c, FW_CFG_FNAME_SIZE);
			cr_assert(fw_find(p->name, &key, &p->size), "%s", p->name);
			p->gpa = next;
			next = ALIGN_UP(next + p->size, 4096);
			memcpy(gp(p->gpa, p->size), fw_item(key, p->size), p->size);
			if (!strcmp(p->name, "etc/acpi/rsdp"))
				rsdp = p->gpa;
			break;
		case 2: /* ADD_POINTER */
			p = placed_find(files, nr, (char *)c);
			q = placed_find(files, nr, (char *)c + FW_CFG_FNAME_SIZE);
			cr_assert(c[2 * FW_CFG_FNAME_SIZE + 4] <= 8);
			memcpy(&v, gp(p->gpa + get_le32(c + 2 * FW_CFG_FNAME_SIZE),
				      c[2 * FW_CFG_FNAME_SIZE + 4]),
			       c[2 * FW_CFG_FNAME_SIZE + 4]);
			cr_assert_lt(v, q->size, "the pointer leads into its file");
			v += q->gpa;
			memcpy(gp(p->gpa + get_le32(c + 2 * FW_CFG_FNAME_SIZE),
				  c[2 * FW_CFG_FNAME_SIZE + 4]),
			       &v, c[2 * FW_CFG_FNAME_SIZE + 4]);
			break;
		case 3: { /* ADD_CHECKSUM */
			uint32_t res = get_le32(c + FW_CFG_FNAME_SIZE);
			uint32_t start = get_le32(c + FW_CFG_FNAME_SIZE + 4);
			uint32_t len = get_le32(c + FW_CFG_FNAME_SIZE + 8);

			p = placed_find(files, nr, (char *)c);
			cr_assert(range_ok(start, len, p->size) && res < p->size);
			/* The byte's old value counts, as in OVMF. */
			gp(p->gpa + res, 1)[0] =
				(uint8_t)-sum8(gp(p->gpa + start, len), len);
			break;
		}
		default:
			cr_assert_fail("unknown loader command %u",
				       get_le32(script + off));
		}
	}
	free(script);
	cr_assert_neq(rsdp, 0);
	return rsdp;
}

static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = gp(gpa, ACPI_TABLE_HEADER_SIZE);

	cr_assert_eq(memcmp(t, sig, 4), 0, "expected %s", sig);
	t = gp(gpa, get_le32(t + 4));
	cr_assert_eq(sum8(t, get_le32(t + 4)), 0, "%s checksum", sig);
	return t;
}

Test(fw_cfg, table_loader_links_the_tables_wherever_they_land)
{
	struct boot_pci pci = {
		.ecam_base = 0xb0000000, .ecam_size = 256 * MiB,
		.mmio32_base = 0xc0000000, .mmio32_end = 0xfc000000,
		.mmio64_base = 0x800000000, .mmio64_end = 0x1000000000,
		.io_base = 0x6000, .io_end = 0x10000,
	};
	struct boot_config cfg = { .nr_cpus = 2, .pci = &pci };
	const uint8_t *rsdp, *xsdt, *fadt;
	struct err e;
	unsigned int n;

	cr_assert_eq(uefi_setup(&th.mem, &cfg, fw, &e), 0, "%s", e.msg);
	rsdp = gp(run_table_loader(), ACPI_RSDP_SIZE);
	cr_assert_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
	cr_assert_eq(sum8(rsdp, 20), 0);
	cr_assert_eq(sum8(rsdp, ACPI_RSDP_SIZE), 0);
	xsdt = table_at(get_le64(rsdp + ACPI_RSDP_XSDT), "XSDT");
	n = (get_le32(xsdt + 4) - ACPI_TABLE_HEADER_SIZE) / 8;
	cr_assert_eq(n, 3, "FADT, MADT, MCFG");
	fadt = table_at(get_le64(xsdt + ACPI_TABLE_HEADER_SIZE), "FACP");
	table_at(get_le64(xsdt + ACPI_TABLE_HEADER_SIZE + 8), "APIC");
	table_at(get_le64(xsdt + ACPI_TABLE_HEADER_SIZE + 16), "MCFG");
	table_at(get_le64(fadt + ACPI_FADT_X_DSDT), "DSDT");
	cr_assert_eq(get_le32(fadt + ACPI_FADT_DSDT),
		     (uint32_t)get_le64(fadt + ACPI_FADT_X_DSDT));
}

/* --- CMOS and the LPC bridge ------------------------------------------- */

static uint8_t cmos_rd(uint8_t index)
{
	uint8_t v;

	bus_write(&th.pio, 0x70, &index, 1);
	bus_read(&th.pio, 0x71, &v, 1);
	return v;
}

static void cmos_wr(uint8_t index, uint8_t v)
{
	bus_write(&th.pio, 0x70, &index, 1);
	bus_write(&th.pio, 0x71, &v, 1);
}

Test(fw_cfg, cmos_reports_memory_and_keeps_the_guest_clock)
{
	struct cmos_memory m = { .low_end = 0xb0000000,
				 .high_size = 2 * GiB, .nr_cpus = 4 };
	struct device *d;
	struct err e;
	uint8_t min;

	cr_assert_eq(cmos_create(&th.host, &m, &d, &e), 0, "%s", e.msg);
	/* What MemDetect.c computes without etc/e820. */
	cr_assert_eq(((uint64_t)(cmos_rd(0x35) << 8 | cmos_rd(0x34)) << 16) + 16 * MiB,
		     0xb0000000);
	cr_assert_eq((uint64_t)(cmos_rd(0x5d) << 16 | cmos_rd(0x5c) << 8 |
				cmos_rd(0x5b)) << 16, 2 * GiB);
	cr_assert_eq(cmos_rd(0x0d) & 0x80, 0x80, "valid RAM and time");
	cr_assert_eq(cmos_rd(0x0f), 0, "no S3 resume");
	/* BCD by default; the guest may set the clock (here: the year). */
	cr_assert_leq(cmos_rd(0x00) & 0xf, 9);
	cmos_wr(0x09, 0x42);
	cr_assert_eq(cmos_rd(0x09), 0x42);
	min = cmos_rd(0x02);
	cr_assert_leq(min >> 4, 5);
	d->ops->destroy(d);
}

/* Binary mode: the clock's fields read as plain numbers. */
static void cmos_date(struct tm *tm)
{
	*tm = (struct tm){
		.tm_sec = cmos_rd(0x00), .tm_min = cmos_rd(0x02),
		.tm_hour = cmos_rd(0x04), .tm_wday = cmos_rd(0x06) - 1,
		.tm_mday = cmos_rd(0x07), .tm_mon = cmos_rd(0x08) - 1,
		.tm_year = cmos_rd(0x32) * 100 + cmos_rd(0x09) - 1900,
	};
}

Test(fw_cfg, cmos_clock_is_the_hosts_utc_calendar_and_the_guests_own_dates)
{
	struct cmos_memory m = { .low_end = 64 * MiB, .nr_cpus = 1 };
	struct tm host, rtc;
	struct device *d;
	struct err e;
	time_t t;

	cr_assert_eq(cmos_create(&th.host, &m, &d, &e), 0, "%s", e.msg);
	cmos_wr(0x0b, 0x02 | 0x04);
	/* Read again if the host's minute turned while we read. */
	do {
		t = time(NULL);
		cmos_date(&rtc);
		gmtime_r(&t, &host);
	} while (time(NULL) / 60 != t / 60);
	cr_assert_eq(rtc.tm_year, host.tm_year);
	cr_assert_eq(rtc.tm_mon, host.tm_mon);
	cr_assert_eq(rtc.tm_mday, host.tm_mday);
	cr_assert_eq(rtc.tm_wday, host.tm_wday);
	cr_assert_eq(rtc.tm_hour, host.tm_hour);
	cr_assert_eq(rtc.tm_min, host.tm_min);
	/* A leap day, set a field at a time as a guest's driver does. */
	cmos_wr(0x07, 1);
	cmos_wr(0x32, 20);
	cmos_wr(0x09, 24);
	cmos_wr(0x08, 2);
	cmos_wr(0x07, 29);
	cmos_wr(0x04, 23);
	cmos_date(&rtc);
	cr_assert_eq(rtc.tm_year, 124);
	cr_assert_eq(rtc.tm_mon, 1);
	cr_assert_eq(rtc.tm_mday, 29);
	cr_assert_eq(rtc.tm_wday, 4, "2024-02-29 was a Thursday");
	/* Before 1970, and past the day's end: 1969-12-31 carries over. */
	cmos_wr(0x32, 19);
	cmos_wr(0x09, 69);
	cmos_wr(0x08, 12);
	cmos_wr(0x07, 32);
	cmos_date(&rtc);
	cr_assert_eq(rtc.tm_year, 70);
	cr_assert_eq(rtc.tm_mon, 0);
	cr_assert_eq(rtc.tm_mday, 1);
	cr_assert_eq(rtc.tm_wday, 4, "1970-01-01 was a Thursday");
	d->ops->destroy(d);
}

Test(fw_cfg, pm_timer_counts_once_pmbase_and_acpi_en_are_set)
{
	struct pci_bus *bus = vtest_host_pci(&th);
	struct device *d;
	struct err e;
	uint32_t t0, t1, v;
	unsigned int devfn = ICH9_LPC_SLOT << 3;

	cr_assert_eq(ich9_lpc_create(&th.host, bus, 0x600, &d, &e), 0, "%s", e.msg);
	pci_bus_config_read(bus, 0, devfn, 0, &v, 4);
	cr_assert_eq(v, 0x29188086);
	bus_read(&th.pio, 0x608, &t0, 4);
	cr_assert_eq(t0, 0xffffffff, "no timer before the firmware enables it");
	/* As PlatformPei does it, then the read-back AcpiTimerLib makes. */
	v = 0x600;
	pci_bus_config_write(bus, 0, devfn, 0x40, &v, 4);
	v = 0x80;
	pci_bus_config_write(bus, 0, devfn, 0x44, &v, 1);
	pci_bus_config_read(bus, 0, devfn, 0x40, &v, 4);
	cr_assert_eq(v, 0x601, "PMBASE with its I/O space bit");
	bus_read(&th.pio, 0x608, &t0, 4);
	usleep(2000);
	bus_read(&th.pio, 0x608, &t1, 4);
	cr_assert_leq(t0, 0xffffff);
	cr_assert_geq((t1 - t0) & 0xffffff, 3579545 / 1000, "2 ms at 3.58 MHz");
	d->ops->destroy(d);
}

static void pm1_cnt_wr(uint16_t v)
{
	bus_write(&th.pio, 0x604, &v, 2);
}

/*
 * OVMF's ResetSystemLib powers off as Linux asks it to under hardware-
 * reduced ACPI: sleep type 0 in PM1a control, then SLP_EN.
 */
Test(fw_cfg, pm1_control_powers_off_as_ovmf_asks)
{
	struct pci_bus *bus = vtest_host_pci(&th);
	unsigned int devfn = ICH9_LPC_SLOT << 3;
	struct device *d;
	struct err e;
	uint32_t v;
	uint16_t cnt;

	cr_assert_eq(ich9_lpc_create(&th.host, bus, 0x600, &d, &e), 0, "%s", e.msg);
	pm1_cnt_wr(0x2000);
	cr_assert_eq(th.power_events[DEVICE_POWER_OFF], 0,
		     "no PM block before the firmware enables it");
	v = 0x600;
	pci_bus_config_write(bus, 0, devfn, 0x40, &v, 4);
	v = 0x80;
	pci_bus_config_write(bus, 0, devfn, 0x44, &v, 1);
	/* A sleep state other than soft-off is not entered. */
	pm1_cnt_wr(5 << 10);
	pm1_cnt_wr(5 << 10 | 0x2000);
	cr_assert_eq(th.power_events[DEVICE_POWER_OFF], 0);
	/* IoBitFieldWrite16 (PMBASE + 4, 10, 13, 0), then IoOr16 (BIT13). */
	bus_read(&th.pio, 0x604, &cnt, 2);
	cr_assert_eq(cnt & 1, 1, "SCI_EN: always in ACPI mode");
	pm1_cnt_wr(cnt & ~(7 << 10));
	bus_read(&th.pio, 0x604, &cnt, 2);
	cr_assert_eq(cnt & 0x2000, 0, "SLP_EN reads as 0");
	pm1_cnt_wr(cnt | 0x2000);
	cr_assert_eq(th.power_events[DEVICE_POWER_OFF], 1);
	d->ops->destroy(d);
}

/* --- the variable store's flash --------------------------------------- */

#define FLASH_BASE 0xffc00000ULL
#define FLASH_SIZE (4 * PFLASH_BLOCK_SIZE)

/* A guest read: from the ROM window where one is mapped, else an exit. */
static uint8_t fl_rd(uint64_t off)
{
	uint8_t v;

	if (th.rom.present) {
		cr_assert(th.rom.gpa == FLASH_BASE && off < th.rom.size);
		return th.rom.hva[off];
	}
	bus_read(&th.mmio, FLASH_BASE + off, &v, 1);
	return v;
}

static void fl_wr(uint64_t off, uint8_t v)
{
	bus_write(&th.mmio, FLASH_BASE + off, &v, 1);
}

Test(fw_cfg, pflash_is_detected_programmed_and_erased_into_its_file)
{
	uint8_t *img = calloc(1, FLASH_SIZE), back[FLASH_SIZE];
	char *path;
	struct device *d;
	struct err e;
	FILE *f;

	img[0x100] = 0x5a;
	path = write_temp(img, FLASH_SIZE);
	cr_assert_eq(pflash_create(&th.host, FLASH_BASE, path, &d, &e), 0, "%s",
		     e.msg);
	/* QemuFlashDetected(): neither RAM nor ROM answers like this. */
	cr_assert(th.rom.present, "the array is read without exits");
	cr_assert_eq(fl_rd(0x100), 0x5a);
	fl_wr(0x100, 0x50);
	cr_assert_not(th.rom.present, "reads exit while a command runs");
	cr_assert_eq(fl_rd(0x100), 0x00, "cleared status");
	fl_wr(0x100, 0x70);
	cr_assert_eq(fl_rd(0x100), 0x00, "status, not the command");
	fl_wr(0x100, 0xff);
	cr_assert(th.rom.present, "READ ARRAY maps the array again");
	cr_assert_eq(fl_rd(0x100), 0x5a, "back to the array");
	/* QemuFlashWrite(), QemuFlashEraseBlock(). */
	fl_wr(0x2001, 0x10);
	fl_wr(0x2001, 0xa5);
	cr_assert_eq(fl_rd(0x2001) & 0x80, 0x80, "ready");
	fl_wr(0x2001, 0xff);
	cr_assert_eq(fl_rd(0x2001), 0xa5);
	fl_wr(0x1000, 0x20);
	fl_wr(0x1000, 0xd0);
	fl_wr(0x1000, 0xff);
	cr_assert_eq(fl_rd(0x1fff), 0xff, "the block is erased");
	cr_assert_eq(fl_rd(0x0fff), 0x00, "the one before is not");
	d->ops->destroy(d);
	/* What the guest wrote is in the file. */
	f = fopen(path, "rb");
	cr_assert_eq(fread(back, 1, FLASH_SIZE, f), FLASH_SIZE);
	fclose(f);
	cr_assert_eq(back[0x2001], 0xa5);
	cr_assert_eq(back[0x1800], 0xff);
	cr_assert_eq(back[0x100], 0x5a);
	unlink(path);
	free(path);
	free(img);
}
