// SPDX-License-Identifier: MIT
#include "bzimage.h"

#include <string.h>

#include "boot/x86/zeropage.h"
#include "vmm/arch/x86/layout.h"

#define SECTOR 512
/* arch/x86/boot/setup.ld refuses setup code over 32 KiB: 63 + 1 sectors. */
#define SETUP_SECTS_MAX 63
/* The 64-bit entry point sits this far into the protected-mode kernel. */
#define ENTRY64_OFFSET 0x200
/* Bigger alignments than this are not a real kernel's. */
#define ALIGNMENT_MAX (1 * GiB)

unsigned int bzimage_setup_sects(const uint8_t *img)
{
	/* 0 means 4, for boot loaders older than the field. */
	return img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
}

size_t bzimage_setup_size(const uint8_t *img)
{
	return (size_t)(bzimage_setup_sects(img) + 1) * SECTOR;
}

bool bzimage_detect(const uint8_t *img, size_t len)
{
	return len >= HDR_MAGIC + 4 && memcmp(img + HDR_MAGIC, "HdrS", 4) == 0;
}

struct bz_hdr {
	uint16_t version;
	size_t setup_size;
	uint64_t kernel_size;
	size_t hdr_end;
	uint8_t relocatable;
	uint32_t alignment;
	uint64_t pref_address;
	uint32_t init_size;
};

/* Where the file's parts are; everything the rest of the parser reads. */
static int check_layout(const uint8_t *img, size_t len, struct bz_hdr *h,
			struct err *e)
{
	unsigned int sects;
	size_t needed;

	if (len < HDR_VERSION + 2)
		return err_set(e, "truncated bzImage: %zu bytes, the setup header needs at least %u",
			       len, HDR_VERSION + 2);
	if (get_le16(img + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC)
		return err_set(e, "bad boot sector signature 0x%04x at 0x1fe (expected 0xaa55)",
			       get_le16(img + HDR_BOOT_FLAG));
	h->version = get_le16(img + HDR_VERSION);
	if (h->version < 0x0206)
		return err_set(e, "boot protocol %u.%02u is too old: 2.06 or newer is required",
			       h->version >> 8, h->version & 0xff);

	sects = bzimage_setup_sects(img);
	if (sects > SETUP_SECTS_MAX)
		return err_set(e, "setup_sects %u is out of range (at most %u: the setup code is limited to 32 KiB)",
			       sects, SETUP_SECTS_MAX);
	h->setup_size = bzimage_setup_size(img);
	if (h->setup_size > len)
		return err_set(e, "truncated bzImage: the setup code (setup_sects %u, %zu bytes) is longer than the file (%zu bytes)",
			       sects, h->setup_size, len);

	/* From here on the whole setup header lies inside the file. */
	h->hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	needed = h->version >= 0x020a ? HDR_INIT_SIZE + 4 : HDR_CMDLINE_SIZE + 4;
	if (h->hdr_end < needed)
		return err_set(e, "setup header ends at 0x%zx, before the fields of boot protocol %u.%02u (0x%zx)",
			       h->hdr_end, h->version >> 8, h->version & 0xff,
			       needed);
	h->hdr_end = MIN(h->hdr_end, (size_t)ZP_HDR_LIMIT);

	h->kernel_size = (uint64_t)get_le32(img + HDR_SYSSIZE) * 16;
	if (h->kernel_size == 0)
		return err_set(e, "syssize is 0: no protected-mode kernel");
	if (h->kernel_size > len - h->setup_size)
		return err_set(e, "truncated bzImage: syssize says the protected-mode kernel is %llu bytes but only %zu bytes follow the setup code",
			       (unsigned long long)h->kernel_size,
			       len - h->setup_size);
	return 0;
}

static int check_entry(const uint8_t *img, struct bz_hdr *h, struct err *e)
{
	if (!(img[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return err_set(e, "kernel is a zImage (LOADED_HIGH clear in loadflags): only bzImage kernels are supported");
	if (h->version < 0x020c)
		return err_set(e, "boot protocol %u.%02u has no xloadflags: the 64-bit entry point needs 2.12 or newer",
			       h->version >> 8, h->version & 0xff);
	if (!(get_le16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err_set(e, "kernel has no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags): only 64-bit kernels are supported");

	if (h->kernel_size <= ENTRY64_OFFSET)
		return err_set(e, "protected-mode kernel is only %llu bytes: it cannot hold the 64-bit entry point at offset 0x%x",
			       (unsigned long long)h->kernel_size, ENTRY64_OFFSET);

	h->relocatable = img[HDR_RELOCATABLE];
	h->alignment = get_le32(img + HDR_KERNEL_ALIGNMENT);
	if (h->relocatable &&
	    (h->alignment == 0 || (h->alignment & (h->alignment - 1)) ||
	     h->alignment > ALIGNMENT_MAX))
		return err_set(e, "kernel_alignment 0x%x is not a power of two up to 1 GiB",
			       h->alignment);
	h->pref_address = get_le64(img + HDR_PREF_ADDRESS);
	h->init_size = get_le32(img + HDR_INIT_SIZE);
	return 0;
}

/*
 * End of the memory the kernel uses when loaded at @load, or 0 when that
 * does not fit below @ram_end. A relocatable kernel decompresses at its load
 * address rounded up to kernel_alignment, but never below its
 * LOAD_PHYSICAL_ADDR, which pref_address announces; it needs init_size
 * bytes there.
 */
static uint64_t footprint_end(const struct bz_hdr *h, uint64_t load,
			      uint64_t ram_end)
{
	uint64_t need = MAX((uint64_t)h->init_size, h->kernel_size);
	uint64_t run = load, end;

	if (h->relocatable) {
		run = ALIGN_UP(load, (uint64_t)h->alignment);
		run = MAX(run, h->pref_address);
	}
	if (__builtin_add_overflow(run, need, &end))
		return 0;
	end = MAX(end, load + h->kernel_size);
	return end <= ram_end ? end : 0;
}

static int place(const struct bz_hdr *h, uint64_t ram_end,
		 struct kernel_image *k, struct err *e)
{
	uint64_t cand[2], end = 0;
	unsigned int n = 0, i;

	/* The preferred address first; anywhere from 1 MiB if relocatable. */
	if (h->pref_address >= LAYOUT_HIGH_RAM && h->pref_address < ram_end)
		cand[n++] = h->pref_address;
	if (h->relocatable)
		cand[n++] = LAYOUT_HIGH_RAM;
	if (n == 0)
		return err_set(e, "kernel is not relocatable and its load address 0x%llx is not in guest RAM [0x%llx, 0x%llx)",
			       (unsigned long long)h->pref_address,
			       LAYOUT_HIGH_RAM, (unsigned long long)ram_end);
	for (i = 0; i < n; i++) {
		end = footprint_end(h, cand[i], ram_end);
		if (end)
			break;
	}
	if (!end)
		return err_set(e, "guest memory too small: the kernel (%llu bytes, init_size %u, preferred address 0x%llx) does not fit below 0x%llx",
			       (unsigned long long)h->kernel_size, h->init_size,
			       (unsigned long long)h->pref_address,
			       (unsigned long long)ram_end);
	k->start = cand[i];
	k->end = end;
	return 0;
}

int bzimage_parse(const uint8_t *img, size_t len, uint64_t ram_end,
		  struct kernel_image *k, struct err *e)
{
	struct bz_hdr h = { 0 };

	memset(k, 0, sizeof(*k));
	if (!bzimage_detect(img, len))
		return err_set(e, "no bzImage setup header (\"HdrS\" missing at 0x202)");
	if (check_layout(img, len, &h, e) < 0 || check_entry(img, &h, e) < 0 ||
	    place(&h, ram_end, k, e) < 0)
		return -1;

	k->format = "bzImage";
	k->mode = BOOT_MODE_LINUX64;
	k->entry = k->start + ENTRY64_OFFSET;
	k->nr_segments = 1;
	k->seg[0] = (struct kernel_segment){
		.data = img + h.setup_size,
		.filesz = h.kernel_size,
		.gpa = k->start,
		.memsz = h.kernel_size,
	};
	k->setup_hdr = img + HDR_START;
	k->setup_hdr_len = h.hdr_end - HDR_START;
	k->protocol = h.version;
	k->cmdline_max = get_le32(img + HDR_CMDLINE_SIZE);
	k->initrd_end_max = (uint64_t)get_le32(img + HDR_INITRD_ADDR_MAX) + 1;
	return 0;
}
