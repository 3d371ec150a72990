// SPDX-License-Identifier: MIT
#include "boot/x86/firmware.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* EFI_FIRMWARE_VOLUME_HEADER (PI spec vol. 3, 3.2.1). */
#define FV_LENGTH 32
#define FV_SIGNATURE 40
#define FV_HEADER_LENGTH 48
#define FV_HEADER_MIN 56
#define RESET_VECTOR_SIZE 16

static int firmware_check_volumes(const uint8_t *img, size_t len,
				  struct err *e)
{
	size_t off = 0;

	while (off < len) {
		uint64_t fv_len;

		if (len - off < FV_HEADER_MIN ||
		    memcmp(img + off + FV_SIGNATURE, "_FVH", 4))
			return err_set(e, "not a UEFI firmware image: no firmware volume header ('_FVH') at offset 0x%zx",
				       off);
		fv_len = get_le64(img + off + FV_LENGTH);
		if (fv_len < get_le16(img + off + FV_HEADER_LENGTH) ||
		    fv_len < FV_HEADER_MIN)
			return err_set(e, "corrupt firmware image: the volume at offset 0x%zx claims %llu bytes",
				       off, (unsigned long long)fv_len);
		if (fv_len > len - off)
			return err_set(e, "truncated firmware image: the volume at offset 0x%zx needs 0x%llx bytes, the file ends 0x%zx bytes after it",
				       off, (unsigned long long)fv_len, len - off);
		off += fv_len;
	}
	return 0;
}

/* Erased flash (all ones) or nothing at all is no first instruction. */
static bool reset_vector_blank(const uint8_t *v)
{
	bool ones = true, zeros = true;

	for (unsigned int i = 0; i < RESET_VECTOR_SIZE; i++) {
		ones = ones && v[i] == 0xff;
		zeros = zeros && v[i] == 0;
	}
	return ones || zeros;
}

int firmware_check_vars(const uint8_t *img, size_t len, struct err *e)
{
	if (len < FIRMWARE_MIN_SIZE || len % 4096)
		return err_set(e, "not a firmware image: %zu bytes, a flash image is a whole number of 4 KiB blocks",
			       len);
	if (len > FIRMWARE_MAX_SIZE)
		return err_set(e, "firmware image is %zu bytes; at most %llu MiB fit below 4 GiB",
			       len, FIRMWARE_MAX_SIZE >> 20);
	return firmware_check_volumes(img, len, e);
}

int firmware_check(const uint8_t *img, size_t len, struct err *e)
{
	if (firmware_check_vars(img, len, e) < 0)
		return -1;
	if (reset_vector_blank(img + len - RESET_VECTOR_SIZE))
		return err_set(e, "not a bootable firmware image: its last 16 bytes (the reset vector) are blank; a variable store (OVMF_VARS) is not the code");
	return 0;
}

int firmware_read(const char *path, uint8_t **img, size_t *len,
		  struct err *e)
{
	if (read_file(path, FIRMWARE_MAX_SIZE, img, len, e) < 0)
		return err_prefix(e, "firmware");
	if (firmware_check(*img, *len, e) < 0) {
		free(*img);
		*img = NULL;
		return err_prefix(e, "firmware %s", path);
	}
	return 0;
}

int firmware_check_vars_file(const char *path, size_t *len, struct err *e)
{
	uint8_t *img;
	int ret;

	if (read_file(path, FIRMWARE_MAX_SIZE, &img, len, e) < 0)
		return err_prefix(e, "variable store");
	ret = firmware_check_vars(img, *len, e);
	free(img);
	if (ret < 0)
		return err_prefix(e, "variable store %s", path);
	return 0;
}
