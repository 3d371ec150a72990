/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_CMDLINE_H
#define IMAGES_TESTGUEST_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Finds the space-separated word "@key=VALUE" in @cmdline. Returns the offset
 * of the word (or -1 when absent) and the value in @val/@len. The last
 * occurrence wins, as with kernel parameters.
 */
long cmdline_param(const char *cmdline, const char *key, const char **val,
		   size_t *len);

/* Strict number parsers: the whole of @s[0..len) must be digits. */
bool parse_dec32(const char *s, size_t len, uint32_t *out);
bool parse_hex32(const char *s, size_t len, uint32_t *out);

/* CRC-32 as in IEEE 802.3 and zlib (reflected polynomial 0xedb88320). */
uint32_t crc32_ieee(const void *data, size_t len);

#endif
