// SPDX-License-Identifier: MIT
/*
 * The arm64 Image loader: the 64-byte header at the start of every arm64
 * Linux kernel says how far from a 2 MiB boundary the kernel must sit
 * (text_offset) and how much memory it uses from there (image_size).
 */
#include "image.h"

#include <string.h>

#define HDR_TEXT_OFFSET 8
#define HDR_IMAGE_SIZE 16
#define HDR_FLAGS 24
#define HDR_MAGIC 56

#define FLAG_BE (1ULL << 0)

/* What booting.rst tells loaders to assume of kernels before 3.17. */
#define LEGACY_TEXT_OFFSET 0x80000ULL

static int check_magic(const uint8_t *img, size_t len, struct err *e)
{
	static const uint8_t gzip[] = { 0x1f, 0x8b };

	if (len >= sizeof(gzip) && !memcmp(img, gzip, sizeof(gzip)))
		return err_set(e, "a gzip-compressed kernel (Image.gz); decompress it first (gunzip)");
	if (len < ARM64_IMAGE_HEADER_SIZE)
		return err_set(e, "not an arm64 Image: %zu bytes, shorter than its %d-byte header",
			       len, ARM64_IMAGE_HEADER_SIZE);
	if (get_le32(img + HDR_MAGIC) != ARM64_IMAGE_MAGIC)
		return err_set(e, "not an arm64 Image (no \"ARM\\x64\" magic at offset %d)",
			       HDR_MAGIC);
	return 0;
}

int arm64_image_parse(const uint8_t *img, size_t len, uint64_t ram_base,
		      uint64_t ram_size, struct arm64_image *out,
		      struct err *e)
{
	uint64_t text_offset, image_size, base;

	if (check_magic(img, len, e) < 0)
		return -1;
	if (get_le64(img + HDR_FLAGS) & FLAG_BE)
		return err_set(e, "a big-endian kernel; this VMM runs little-endian guests");
	text_offset = get_le64(img + HDR_TEXT_OFFSET);
	image_size = get_le64(img + HDR_IMAGE_SIZE);
	if (image_size == 0) {
		/* Before 3.17 the header carried neither; the file is the image. */
		text_offset = LEGACY_TEXT_OFFSET;
		image_size = len;
	}
	if (text_offset >= ARM64_IMAGE_ALIGN || text_offset % 4096)
		return err_set(e, "text_offset %#llx is not a page-aligned offset below 2 MiB",
			       (unsigned long long)text_offset);
	if (image_size < len)
		return err_set(e, "image_size %llu is smaller than the file (%zu bytes)",
			       (unsigned long long)image_size, len);
	base = ALIGN_UP(ram_base, ARM64_IMAGE_ALIGN);
	if (base < ram_base ||
	    !range_ok(base - ram_base + text_offset, image_size, ram_size))
		return err_set(e, "kernel needs %llu MiB from 0x%llx, more than the guest's %llu MiB of RAM",
			       (unsigned long long)(image_size / MiB + 1),
			       (unsigned long long)(base + text_offset),
			       (unsigned long long)(ram_size / MiB));
	*out = (struct arm64_image){
		.load = base + text_offset,
		.size = image_size,
		.text_offset = text_offset,
	};
	return 0;
}
