// SPDX-License-Identifier: MIT
#include "boot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "boot/arm64/image.h"

#define PAGE_SIZE 4096ULL

struct placement {
	struct arm64_image kernel;
	uint64_t fdt;
	uint64_t fdt_size;
	uint64_t initrd;
};

static int check_config(const struct guest_mem *mem,
			const struct boot_config *cfg, struct err *e)
{
	size_t len = cfg->cmdline ? strlen(cfg->cmdline) : 0;

	if (!cfg->kernel_path)
		return err_set(e, "no kernel image given");
	if (mem->nr_regions != 1)
		return err_set(e, "arm64 guest RAM must be one run, not %u",
			       mem->nr_regions);
	if (len > ARM64_CMDLINE_MAX)
		return err_set(e, "kernel command line is %zu bytes, over the limit of %d bytes",
			       len, ARM64_CMDLINE_MAX);
	return 0;
}

/* The device tree takes the last 2 MiB block of RAM, after the kernel. */
static int place_fdt(const struct guest_region *ram, struct placement *p,
		     struct err *e)
{
	uint64_t end = ram->gpa + ram->size;
	uint64_t kernel_end = p->kernel.load + p->kernel.size;

	p->fdt = end > FDT_MAX_SIZE ? ALIGN_DOWN(end - FDT_MAX_SIZE, FDT_MAX_SIZE) : 0;
	if (p->fdt < kernel_end)
		p->fdt = ALIGN_UP(kernel_end, PAGE_SIZE);
	if (p->fdt >= end)
		return err_set(e, "no room for the device tree after the kernel: "
			       "guest RAM ends at 0x%llx, the kernel at 0x%llx",
			       (unsigned long long)end,
			       (unsigned long long)kernel_end);
	p->fdt_size = MIN(end - p->fdt, FDT_MAX_SIZE);
	return 0;
}

/* The initrd goes as high as it can below the device tree. */
static int place_initrd(uint64_t size, struct placement *p, struct err *e)
{
	uint64_t kernel_end = p->kernel.load + p->kernel.size;

	if (size == 0)
		return err_set(e, "initrd is empty");
	if (size > p->fdt || ALIGN_DOWN(p->fdt - size, PAGE_SIZE) < kernel_end)
		return err_set(e, "initrd is too big: %llu bytes do not fit between the kernel's end at 0x%llx and the device tree at 0x%llx",
			       (unsigned long long)size,
			       (unsigned long long)kernel_end,
			       (unsigned long long)p->fdt);
	p->initrd = ALIGN_DOWN(p->fdt - size, PAGE_SIZE);
	return 0;
}

static int load_kernel(const struct guest_mem *mem, const uint8_t *img,
		       size_t len, const struct arm64_image *k, struct err *e)
{
	uint8_t *dst = guest_mem_ptr(mem, k->load, k->size);

	if (!dst)
		return err_set(e, "kernel at 0x%llx (%llu bytes) is outside guest RAM",
			       (unsigned long long)k->load,
			       (unsigned long long)k->size);
	memcpy(dst, img, len);
	memset(dst + len, 0, k->size - len);
	return 0;
}

static int write_fdt(const struct guest_mem *mem, const struct placement *p,
		     const struct fdt_machine *m, struct err *e)
{
	void *dst = guest_mem_ptr(mem, p->fdt, p->fdt_size);

	if (!dst)
		return err_set(e, "device tree area at 0x%llx is outside guest RAM",
			       (unsigned long long)p->fdt);
	return arm64_fdt_build(dst, p->fdt_size, m, e);
}

static int read_initrd(const char *path, struct placement *p, uint8_t **buf,
		       size_t *len, struct err *e)
{
	if (read_file(path, BOOT_MAX_IMAGE, buf, len, e) < 0)
		return -1;
	if (place_initrd(*len, p, e) < 0)
		return err_prefix(e, "%s", path);
	return 0;
}

static void fill_seed(uint8_t *seed, size_t len)
{
	/* Without entropy the kernel still boots; it just seeds itself later. */
	if (getrandom(seed, len, GRND_NONBLOCK) != (ssize_t)len)
		memset(seed, 0, len);
}

int arm64_boot_linux(struct guest_mem *mem, const struct boot_config *cfg,
		     struct fdt_machine *machine,
		     struct arm64_boot_entry *entry, struct err *e)
{
	const struct guest_region *ram = &mem->regions[0];
	struct placement p = { 0 };
	uint8_t *kbuf = NULL, *ibuf = NULL;
	size_t klen, ilen = 0;
	int ret = -1;

	if (check_config(mem, cfg, e) < 0 ||
	    read_file(cfg->kernel_path, BOOT_MAX_IMAGE, &kbuf, &klen, e) < 0)
		return -1;
	if (arm64_image_parse(kbuf, klen, ram->gpa, ram->size, &p.kernel, e) < 0 ||
	    place_fdt(ram, &p, e) < 0) {
		err_prefix(e, "%s", cfg->kernel_path);
		goto out;
	}
	if (cfg->initrd_path && read_initrd(cfg->initrd_path, &p, &ibuf, &ilen, e) < 0)
		goto out;
	machine->nr_cpus = cfg->nr_cpus;
	machine->nr_mmio = cfg->nr_mmio;
	machine->mmio = cfg->mmio;
	machine->ram_base = ram->gpa;
	machine->ram_size = ram->size;
	machine->cmdline = cfg->cmdline;
	machine->initrd_start = p.initrd;
	machine->initrd_size = ilen;
	fill_seed(machine->seed, sizeof(machine->seed));
	if (load_kernel(mem, kbuf, klen, &p.kernel, e) < 0)
		goto out;
	if (ilen && guest_mem_write(mem, p.initrd, ibuf, ilen) < 0) {
		err_set(e, "initrd at 0x%llx is outside guest RAM",
			(unsigned long long)p.initrd);
		goto out;
	}
	if (write_fdt(mem, &p, machine, e) < 0)
		goto out;
	*entry = (struct arm64_boot_entry){
		.pc = p.kernel.load,
		.fdt = p.fdt,
		.kernel_start = p.kernel.load,
		.kernel_end = p.kernel.load + p.kernel.size,
		.initrd_start = p.initrd,
		.initrd_size = ilen,
	};
	ret = 0;
out:
	free(kbuf);
	free(ibuf);
	return ret;
}
