// SPDX-License-Identifier: MIT
#include "boot/x86/boot.h"

#include <stdlib.h>
#include <string.h>

#include "boot/x86/acpi.h"
#include "boot/x86/bzimage.h"
#include "boot/x86/e820.h"
#include "boot/x86/elf.h"
#include "boot/x86/kernel.h"
#include "boot/x86/mptable.h"
#include "boot/x86/pvh.h"
#include "boot/x86/entry.h"
#include "boot/x86/zeropage.h"
#include "vmm/arch/x86/layout.h"

#define PAGE_SIZE 4096

int kernel_parse(const uint8_t *img, size_t len, uint64_t ram_end,
		 struct kernel_image *k, struct err *e)
{
	if (elf_detect(img, len))
		return elf_parse(img, len, ram_end, k, e);
	if (bzimage_detect(img, len))
		return bzimage_parse(img, len, ram_end, k, e);
	return err_set(e, "not a Linux kernel image (no bzImage setup header and no ELF header)");
}

int initrd_place(const struct kernel_image *k, uint64_t size, uint64_t ram_end,
		 uint64_t *start, struct err *e)
{
	uint64_t top = MIN(k->initrd_end_max, ram_end);
	uint64_t room = ram_end > LAYOUT_HIGH_RAM ? ram_end - LAYOUT_HIGH_RAM : 0;
	uint64_t s;

	if (size == 0)
		return err_set(e, "initrd is empty");
	/* Above the kernel, as high as the kernel and RAM allow... */
	if (size <= top) {
		s = ALIGN_DOWN(top - size, PAGE_SIZE);
		if (s >= k->end) {
			*start = s;
			return 0;
		}
	}
	/* ...or else in the gap between 1 MiB and the kernel. */
	if (size <= k->start) {
		s = ALIGN_DOWN(k->start - size, PAGE_SIZE);
		if (s >= LAYOUT_HIGH_RAM && s + size <= top) {
			*start = s;
			return 0;
		}
	}
	if (size > room)
		return err_set(e, "initrd is too big: %llu bytes, but guest RAM from 1 MiB to 0x%llx holds only %llu",
			       (unsigned long long)size, (unsigned long long)ram_end,
			       (unsigned long long)room);
	return err_set(e, "initrd is too big: %llu bytes do not fit below 0x%llx without overlapping the kernel at [0x%llx, 0x%llx)",
		       (unsigned long long)size, (unsigned long long)top,
		       (unsigned long long)k->start, (unsigned long long)k->end);
}

int kernel_load(const struct guest_mem *mem, const struct kernel_image *k,
		struct err *e)
{
	for (unsigned int i = 0; i < k->nr_segments; i++) {
		const struct kernel_segment *s = &k->seg[i];
		uint8_t *p = guest_mem_ptr(mem, s->gpa, s->memsz);

		if (!p)
			return err_set(e, "kernel segment at 0x%llx (%llu bytes) is outside guest RAM",
				       (unsigned long long)s->gpa,
				       (unsigned long long)s->memsz);
		memcpy(p, s->data, s->filesz);
		memset(p + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

static int check_config(const struct guest_mem *mem,
			const struct boot_config *cfg, struct err *e)
{
	uint64_t ram_end = guest_mem_low_end(mem);

	if (!cfg->kernel_path)
		return err_set(e, "no kernel image given");
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > BOOT_MAX_CPUS)
		return err_set(e, "%u vCPUs: direct boot supports 1 to %u",
			       cfg->nr_cpus, BOOT_MAX_CPUS);
	if (mem->nr_regions == 0 || mem->regions[0].gpa != 0 ||
	    ram_end < LAYOUT_MIN_RAM)
		return err_set(e, "guest memory too small: %llu KiB of RAM below the MMIO hole, direct boot needs at least %llu KiB",
			       (unsigned long long)(ram_end / KiB),
			       LAYOUT_MIN_RAM / KiB);
	if (cfg->nr_mmio && !cfg->mmio)
		return err_set(e, "%u virtio-mmio devices announced but none described",
			       cfg->nr_mmio);
	return 0;
}

static int check_cmdline(const char *cmdline, const struct kernel_image *k,
			 struct err *e)
{
	size_t len = strlen(cmdline);
	uint64_t max = MIN((uint64_t)k->cmdline_max, LAYOUT_CMDLINE_MAX - 1);

	if (len > max)
		return err_set(e, "kernel command line is %zu bytes, over the limit of %llu bytes",
			       len, (unsigned long long)max);
	return 0;
}

static int write_cmdline(const struct guest_mem *mem, const char *cmdline,
			 struct err *e)
{
	if (guest_mem_write(mem, LAYOUT_CMDLINE, cmdline, strlen(cmdline) + 1) < 0)
		return err_set(e, "command line area at 0x%llx is outside guest RAM",
			       LAYOUT_CMDLINE);
	return 0;
}

static int write_all(const struct guest_mem *mem, const struct kernel_image *k,
		     const struct boot_info *info, const char *cmdline,
		     const uint8_t *initrd, struct err *e)
{
	if (kernel_load(mem, k, e) < 0 || write_cmdline(mem, cmdline, e) < 0 ||
	    x86_write_gdt_idt(mem, e) < 0)
		return -1;
	if (info->initrd_size &&
	    guest_mem_write(mem, info->initrd_start, initrd, info->initrd_size) < 0)
		return err_set(e, "initrd at 0x%llx is outside guest RAM",
			       (unsigned long long)info->initrd_start);
	if (k->mode == BOOT_MODE_PVH)
		return pvh_write_start_info(mem, info, e);
	if (x86_write_page_tables(mem, e) < 0)
		return -1;
	return zeropage_write(mem, k, info, e);
}

static void fill_entry(const struct kernel_image *k,
		       const struct boot_info *info, struct boot_entry *entry)
{
	memset(entry, 0, sizeof(*entry));
	entry->mode = k->mode;
	entry->rip = k->entry;
	entry->rsp = LAYOUT_BOOT_STACK;
	if (k->mode == BOOT_MODE_PVH)
		entry->rbx = LAYOUT_PVH_START_INFO;
	else
		entry->rsi = LAYOUT_ZERO_PAGE;
	entry->kernel_start = k->start;
	entry->kernel_end = k->end;
	entry->initrd_start = info->initrd_start;
	entry->initrd_size = info->initrd_size;
}

int boot_linux(struct guest_mem *mem, const struct boot_config *cfg,
	       struct boot_entry *entry, struct err *e)
{
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	uint64_t ram_end = guest_mem_low_end(mem);
	struct boot_info info = { .cmdline_gpa = LAYOUT_CMDLINE };
	struct kernel_image k;
	uint8_t *kbuf = NULL, *ibuf = NULL;
	size_t klen, ilen;
	int ret = -1;

	if (check_config(mem, cfg, e) < 0 ||
	    read_file(cfg->kernel_path, BOOT_MAX_IMAGE, &kbuf, &klen, e) < 0)
		return -1;
	if (kernel_parse(kbuf, klen, ram_end, &k, e) < 0) {
		err_prefix(e, "%s", cfg->kernel_path);
		goto out;
	}
	if (check_cmdline(cmdline, &k, e) < 0)
		goto out;
	if (cfg->initrd_path) {
		if (read_file(cfg->initrd_path, BOOT_MAX_IMAGE, &ibuf, &ilen, e) < 0)
			goto out;
		if (initrd_place(&k, ilen, ram_end, &info.initrd_start, e) < 0) {
			err_prefix(e, "%s", cfg->initrd_path);
			goto out;
		}
		info.initrd_size = ilen;
	}
	/* The tables check the vCPU and device lists before writing. */
	if (acpi_build(mem, cfg, &info.rsdp, e) < 0 ||
	    mptable_build(mem, cfg->nr_cpus, e) < 0)
		goto out;
	info.nr_e820 = e820_build(mem, cfg->pci, info.e820);
	if (write_all(mem, &k, &info, cmdline, ibuf, e) < 0)
		goto out;
	fill_entry(&k, &info, entry);
	ret = 0;
out:
	free(kbuf);
	free(ibuf);
	return ret;
}
