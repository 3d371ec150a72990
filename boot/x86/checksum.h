/* SPDX-License-Identifier: MIT */
#ifndef BOOT_CHECKSUM_H
#define BOOT_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * ACPI tables and MP structures carry a byte that makes all their bytes sum
 * to zero (mod 256). Returns that byte for @p, computed with the checksum
 * byte itself counted as zero by the caller.
 */
static inline uint8_t checksum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

#endif
