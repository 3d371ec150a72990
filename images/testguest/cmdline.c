// SPDX-License-Identifier: MIT
/* Reading testguest.* parameters out of the kernel command line. */
#include "cmdline.h"
#include "str.h"

long cmdline_param(const char *cmdline, const char *key, const char **val,
		   size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	long found = -1;

	while (*p) {
		const char *word;
		size_t wlen = 0;

		while (*p == ' ')
			p++;
		word = p;
		while (p[wlen] && p[wlen] != ' ')
			wlen++;
		if (wlen > klen && !memcmp(word, key, klen) &&
		    word[klen] == '=') {
			found = word - cmdline;
			*val = word + klen + 1;
			*len = wlen - klen - 1;
		}
		p += wlen;
	}
	return found;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

static bool parse_base(const char *s, size_t len, unsigned base, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		int d = digit_value(s[i]);

		if (d >= (int)base)
			return false;
		v = v * base + (unsigned)d;
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool parse_dec32(const char *s, size_t len, uint32_t *out)
{
	return parse_base(s, len, 10, out);
}

bool parse_hex32(const char *s, size_t len, uint32_t *out)
{
	return parse_base(s, len, 16, out);
}

uint32_t crc32_ieee(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffff;
	int bit;

	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320 & (0u - (crc & 1)));
	}
	return ~crc;
}
