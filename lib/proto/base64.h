/* SPDX-License-Identifier: MIT */
#ifndef LIB_PROTO_BASE64_H
#define LIB_PROTO_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Standard base64 with padding, as Go's encoding/json writes []byte. */
static inline size_t base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Writes base64_encoded_len(@n) characters and a NUL to @out. */
void base64_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes @n characters into @out (room for n / 4 * 3 bytes). Returns the
 * decoded length, or -1 for invalid input.
 */
long base64_decode(const char *in, size_t n, uint8_t *out);

#endif
