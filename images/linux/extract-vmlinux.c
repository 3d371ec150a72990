// SPDX-License-Identifier: MIT
/*
 * extract-vmlinux: writes the compressed kernel payload of a bzImage, as
 * located by the setup header (boot protocol 2.08+: payload_offset and
 * payload_length, relative to the protected-mode code that starts after
 * the setup sectors). Debian's cloud kernel compresses it with LZ4 (legacy
 * frame format); `lz4 -dc` then yields the ELF vmlinux.
 *
 *   extract-vmlinux BZIMAGE PAYLOAD-OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define HDR_SETUP_SECTS 0x1f1
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c

static const struct {
	const char *name;
	const uint8_t magic[4];
	size_t len;
} formats[] = {
	{ "lz4", { 0x02, 0x21, 0x4c, 0x18 }, 4 },
	{ "gzip", { 0x1f, 0x8b }, 2 },
	{ "xz", { 0xfd, '7', 'z', 'X' }, 4 },
	{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
};

int main(int argc, char **argv)
{
	struct err e = { "" };
	uint8_t *img;
	size_t len, start;
	uint32_t off, plen;
	unsigned setup_sects;
	const char *fmt = NULL;
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: extract-vmlinux BZIMAGE PAYLOAD-OUT\n");
		return 2;
	}
	if (read_file(argv[1], 256 * MiB, &img, &len, &e) < 0) {
		fprintf(stderr, "extract-vmlinux: %s\n", e.msg);
		return 1;
	}
	if (len < 0x250 || memcmp(img + HDR_MAGIC, "HdrS", 4)) {
		fprintf(stderr, "extract-vmlinux: %s: not a bzImage (no HdrS "
			"setup header)\n", argv[1]);
		return 1;
	}
	if (get_le16(img + HDR_VERSION) < 0x208) {
		fprintf(stderr, "extract-vmlinux: %s: boot protocol %#x has no "
			"payload fields (needs 2.08)\n", argv[1],
			get_le16(img + HDR_VERSION));
		return 1;
	}
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	start = (setup_sects + 1) * 512;
	off = get_le32(img + HDR_PAYLOAD_OFFSET);
	plen = get_le32(img + HDR_PAYLOAD_LENGTH);
	if (!range_ok(start, off, len) || !range_ok(start + off, plen, len)) {
		fprintf(stderr, "extract-vmlinux: %s: payload [%#zx+%#x, %u "
			"bytes] lies outside the %zu-byte file\n", argv[1],
			start, off, plen, len);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (plen >= 4 && !memcmp(img + start + off, formats[i].magic,
					 formats[i].len))
			fmt = formats[i].name;
	if (!fmt || strcmp(fmt, "lz4")) {
		fprintf(stderr, "extract-vmlinux: %s: payload is %s, not LZ4\n",
			argv[1], fmt ? fmt : "of an unknown format");
		return 1;
	}
	/* The build appends the decompressed size (4 bytes); lz4 wants none. */
	plen -= 4;
	out = fopen(argv[2], "wb");
	if (!out || fwrite(img + start + off, 1, plen, out) != plen ||
	    fclose(out)) {
		perror(argv[2]);
		return 1;
	}
	free(img);
	return 0;
}
