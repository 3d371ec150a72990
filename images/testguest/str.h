/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_STR_H
#define IMAGES_TESTGUEST_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The compiler may emit calls to the first four on its own. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t strlen(const char *s);
/* Length of @s, or @max when no NUL comes within the first @max bytes. */
size_t strnlen(const char *s, size_t max);
/* First occurrence of @needle in @hay[0..len), or NULL. */
const char *memmem_str(const char *hay, size_t len, const char *needle);

/* Sum of @len bytes modulo 256: 0 for a valid ACPI or MP table. */
uint8_t byte_sum(const uint8_t *p, size_t len);

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

#endif
