// SPDX-License-Identifier: MIT
/*
 * The fw_cfg items OVMF reads, each with the edk2 code that reads it:
 *   NB_CPUS, MAX_CPUS  PlatformInitLib/Platform.c (MaxCpuCountInitialization):
 *                      how many APs MpInitLib waits for.
 *   etc/e820           PlatformInitLib/MemDetect.c: RAM below and above 4 GiB.
 *   etc/table-loader   AcpiPlatformDxe/QemuFwCfgAcpi.c: allocates
 *   etc/acpi/tables    "etc/acpi/rsdp" and "etc/acpi/tables", patches the
 *   etc/acpi/rsdp      pointers between them and the checksums, then
 *                      installs every table a pointer leads to.
 *   KERNEL_*, SETUP_*, QemuKernelLoaderFsDxe and X86QemuLoadImageLib: the
 *   INITRD_*, CMDLINE_* kernel (setup + rest of the bzImage, or any PE
 *                      image), its initrd and its NUL-terminated command line.
 */
#include "boot/x86/uefi.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/acpi.h"
#include "boot/x86/bzimage.h"
#include "boot/x86/e820.h"
#include "devices/x86/fw_cfg.h"
#include "vmm/arch/x86/layout.h"

#define E820_ENTRY_SIZE 20 /* packed: address, length, type */

#define LOADER_ENTRY_SIZE 128
#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH 1
#define LOADER_ZONE_FSEG 2
/*
 * The script's commands besides one pointer per XSDT entry: two
 * allocations, the RSDP's and the FADT's two pointers, four checksums.
 */
#define LOADER_FIXED_ENTRIES 9

#define ACPI_TABLES_FILE "etc/acpi/tables"
#define ACPI_RSDP_FILE "etc/acpi/rsdp"
#define ACPI_CHECKSUM 9
#define RSDP_CHECKSUM 8
#define RSDP_V1_SIZE 20
#define RSDP_EXT_CHECKSUM 32

#define PE_MZ_LFANEW 0x3c

/* RAM as the firmware should see it: every region, nothing reserved. */
static int uefi_add_e820(const struct guest_mem *mem, struct fw_cfg *fw,
			 struct err *e)
{
	size_t len = (size_t)mem->nr_regions * E820_ENTRY_SIZE;
	uint8_t *map = calloc(1, len);

	if (!map)
		return err_set(e, "out of memory for the e820 map");
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		uint8_t *ent = map + (size_t)i * E820_ENTRY_SIZE;

		put_le64(ent, mem->regions[i].gpa);
		put_le64(ent + 8, mem->regions[i].size);
		put_le32(ent + 16, E820_RAM);
	}
	return fw_cfg_add_file(fw, "etc/e820", map, len, e);
}

struct loader {
	uint8_t *cmds;
	unsigned int n;
};

static uint8_t *loader_next(struct loader *l, uint32_t type)
{
	uint8_t *c = l->cmds + (size_t)l->n++ * LOADER_ENTRY_SIZE;

	put_le32(c, type);
	return c + 4;
}

static void loader_allocate(struct loader *l, const char *file,
			    uint32_t align, uint8_t zone)
{
	uint8_t *c = loader_next(l, LOADER_ALLOCATE);

	strncpy((char *)c, file, FW_CFG_FNAME_SIZE - 1);
	put_le32(c + FW_CFG_FNAME_SIZE, align);
	c[FW_CFG_FNAME_SIZE + 4] = zone;
}

/* The @size-byte pointer at @offset in @file gets @pointee's address added. */
static void loader_add_pointer(struct loader *l, const char *file,
			       uint32_t offset, uint8_t size,
			       const char *pointee)
{
	uint8_t *c = loader_next(l, LOADER_ADD_POINTER);

	strncpy((char *)c, file, FW_CFG_FNAME_SIZE - 1);
	strncpy((char *)c + FW_CFG_FNAME_SIZE, pointee, FW_CFG_FNAME_SIZE - 1);
	put_le32(c + 2 * FW_CFG_FNAME_SIZE, offset);
	c[2 * FW_CFG_FNAME_SIZE + 4] = size;
}

/*
 * OVMF sets the byte at @result to the checksum of the range with that
 * byte in it (ProcessCmdAddChecksum in AcpiPlatformDxe/QemuFwCfgAcpi.c),
 * so the byte must be zero in @data, the file's contents, beforehand.
 * Otherwise the FADT, whose pointers the script patches, fails its sum
 * and OVMF silently leaves it, and with it the DSDT, uninstalled.
 */
static void loader_add_checksum(struct loader *l, const char *file,
				uint8_t *data, uint32_t result, uint32_t start,
				uint32_t len)
{
	uint8_t *c = loader_next(l, LOADER_ADD_CHECKSUM);

	data[result] = 0;

	strncpy((char *)c, file, FW_CFG_FNAME_SIZE - 1);
	put_le32(c + FW_CFG_FNAME_SIZE, result);
	put_le32(c + FW_CFG_FNAME_SIZE + 4, start);
	put_le32(c + FW_CFG_FNAME_SIZE + 8, len);
}

/*
 * The script for tables built at address 0, so each pointer holds an
 * offset into the tables file: the RSDP's to the XSDT, the XSDT's to its
 * tables, the FADT's to the DSDT; then the checksums they change.
 */
static void loader_script(struct loader *l, struct acpi_area *area,
			  uint8_t *rsdp)
{
	const uint32_t xsdt = ACPI_AREA_XSDT, fadt = ACPI_AREA_FADT;
	uint32_t xsdt_len = get_le32(area->data + xsdt + 4);

	loader_allocate(l, ACPI_RSDP_FILE, 16, LOADER_ZONE_FSEG);
	loader_allocate(l, ACPI_TABLES_FILE, 64, LOADER_ZONE_HIGH);
	loader_add_pointer(l, ACPI_RSDP_FILE, ACPI_RSDP_XSDT, 8,
			   ACPI_TABLES_FILE);
	for (unsigned int i = 0; i < area->nr_xsdt_entries; i++)
		loader_add_pointer(l, ACPI_TABLES_FILE,
				   xsdt + ACPI_TABLE_HEADER_SIZE + 8 * i, 8,
				   ACPI_TABLES_FILE);
	loader_add_pointer(l, ACPI_TABLES_FILE, fadt + ACPI_FADT_DSDT, 4,
			   ACPI_TABLES_FILE);
	loader_add_pointer(l, ACPI_TABLES_FILE, fadt + ACPI_FADT_X_DSDT, 8,
			   ACPI_TABLES_FILE);
	loader_add_checksum(l, ACPI_TABLES_FILE, area->data,
			    xsdt + ACPI_CHECKSUM, xsdt, xsdt_len);
	loader_add_checksum(l, ACPI_TABLES_FILE, area->data,
			    fadt + ACPI_CHECKSUM, fadt, ACPI_FADT_SIZE);
	loader_add_checksum(l, ACPI_RSDP_FILE, rsdp, RSDP_CHECKSUM, 0,
			    RSDP_V1_SIZE);
	loader_add_checksum(l, ACPI_RSDP_FILE, rsdp, RSDP_EXT_CHECKSUM, 0,
			    ACPI_RSDP_SIZE);
}

static int uefi_add_acpi(const struct boot_config *cfg, struct fw_cfg *fw,
			 struct err *e)
{
	struct acpi_area area;
	struct loader l = { NULL, 0 };
	uint8_t *rsdp;

	if (acpi_build_area(0, cfg, &area, e) < 0)
		return -1;
	rsdp = malloc(ACPI_RSDP_SIZE);
	l.cmds = calloc(LOADER_FIXED_ENTRIES + area.nr_xsdt_entries,
			LOADER_ENTRY_SIZE);
	if (!rsdp || !l.cmds) {
		free(rsdp);
		free(l.cmds);
		free(area.data);
		return err_set(e, "out of memory for the ACPI tables");
	}
	/* The RSDP is a file of its own; its place in the area stays zero. */
	memcpy(rsdp, area.data + ACPI_AREA_RSDP, ACPI_RSDP_SIZE);
	memset(area.data + ACPI_AREA_RSDP, 0, ACPI_RSDP_SIZE);
	loader_script(&l, &area, rsdp);
	if (fw_cfg_add_file(fw, ACPI_RSDP_FILE, rsdp, ACPI_RSDP_SIZE, e) < 0) {
		free(area.data);
		free(l.cmds);
		return -1;
	}
	if (fw_cfg_add_file(fw, ACPI_TABLES_FILE, area.data, area.len, e) < 0) {
		free(l.cmds);
		return -1;
	}
	return fw_cfg_add_file(fw, "etc/table-loader", l.cmds,
			       (size_t)l.n * LOADER_ENTRY_SIZE, e);
}

/* A PE image: "MZ", and "PE\0\0" where e_lfanew says. */
static bool is_pe_image(const uint8_t *img, size_t len)
{
	uint32_t pe;

	if (len < PE_MZ_LFANEW + 4 || img[0] != 'M' || img[1] != 'Z')
		return false;
	pe = get_le32(img + PE_MZ_LFANEW);
	return range_ok(pe, 4, len) && !memcmp(img + pe, "PE\0\0", 4);
}

/*
 * QEMU's split, which QemuKernelLoaderFsDxe joins again into the "kernel"
 * file: the bzImage's setup sectors, then the rest.
 */
static int uefi_add_kernel(const char *path, struct fw_cfg *fw, struct err *e)
{
	uint8_t *img, *setup = NULL, *rest;
	size_t len, setup_len = 0;

	if (read_file(path, BOOT_MAX_IMAGE, &img, &len, e) < 0)
		return -1;
	if (!is_pe_image(img, len)) {
		free(img);
		return err_set(e, "%s: not an EFI executable (no PE header): UEFI firmware starts a bzImage with an EFI stub or another PE image",
			       path);
	}
	if (bzimage_detect(img, len) && bzimage_setup_size(img) < len)
		setup_len = bzimage_setup_size(img);
	rest = malloc(len - setup_len);
	if (setup_len)
		setup = malloc(setup_len);
	if (!rest || (setup_len && !setup)) {
		free(rest);
		free(setup);
		free(img);
		return err_set(e, "%s: out of memory", path);
	}
	if (setup_len)
		memcpy(setup, img, setup_len);
	memcpy(rest, img + setup_len, len - setup_len);
	free(img);
	if (fw_cfg_add_u32(fw, FW_CFG_SETUP_SIZE, (uint32_t)setup_len, e) < 0 ||
	    fw_cfg_add_u32(fw, FW_CFG_KERNEL_SIZE, (uint32_t)(len - setup_len), e) < 0) {
		free(setup);
		free(rest);
		return -1;
	}
	if (setup_len && fw_cfg_add(fw, FW_CFG_SETUP_DATA, setup, setup_len, e) < 0) {
		free(rest);
		return -1;
	}
	return fw_cfg_add(fw, FW_CFG_KERNEL_DATA, rest, len - setup_len, e);
}

static int uefi_add_initrd(const char *path, struct fw_cfg *fw, struct err *e)
{
	uint8_t *img;
	size_t len;

	if (read_file(path, BOOT_MAX_IMAGE, &img, &len, e) < 0)
		return -1;
	if (fw_cfg_add_u32(fw, FW_CFG_INITRD_SIZE, (uint32_t)len, e) < 0) {
		free(img);
		return -1;
	}
	return fw_cfg_add(fw, FW_CFG_INITRD_DATA, img, len, e);
}

static int uefi_add_cmdline(const char *cmdline, struct fw_cfg *fw,
			    struct err *e)
{
	size_t len = strlen(cmdline) + 1;
	char *s = strdup(cmdline);

	if (!s)
		return err_set(e, "out of memory for the command line");
	if (fw_cfg_add_u32(fw, FW_CFG_CMDLINE_SIZE, (uint32_t)len, e) < 0) {
		free(s);
		return -1;
	}
	return fw_cfg_add(fw, FW_CFG_CMDLINE_DATA, s, len, e);
}

int uefi_setup(const struct guest_mem *mem, const struct boot_config *cfg,
	       struct fw_cfg *fw, struct err *e)
{
	if (cfg->initrd_path && !cfg->kernel_path)
		return err_set(e, "an initrd needs a kernel (--kernel) to go with it");
	if (fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)cfg->nr_cpus, e) < 0 ||
	    fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)cfg->nr_cpus, e) < 0 ||
	    uefi_add_e820(mem, fw, e) < 0 || uefi_add_acpi(cfg, fw, e) < 0)
		return -1;
	if (!cfg->kernel_path)
		return 0;
	if (uefi_add_kernel(cfg->kernel_path, fw, e) < 0 ||
	    (cfg->initrd_path && uefi_add_initrd(cfg->initrd_path, fw, e) < 0))
		return -1;
	return uefi_add_cmdline(cfg->cmdline ? cfg->cmdline : "", fw, e);
}
