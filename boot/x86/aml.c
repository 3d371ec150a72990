// SPDX-License-Identifier: MIT
#include "aml.h"

#include <string.h>

/* A PkgLength counts itself; four bytes encode at most 28 bits. */
#define PKG_LENGTH_MAX ((1U << 28) - 1)

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	a->len = 0;
	a->overflow = false;
}

static bool room(struct aml *a, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return false;
	}
	return true;
}

void aml_byte(struct aml *a, uint8_t b)
{
	if (room(a, 1))
		a->buf[a->len++] = b;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!room(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static bool seg_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* Parses one NameSeg of @s (up to 4 chars, '_'-padded); returns its length. */
static int name_seg(const char *s, uint8_t out[4])
{
	int n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !seg_char(s[n], n == 0))
			return -1;
		out[n] = (uint8_t)s[n];
		n++;
	}
	if (n == 0)
		return -1;
	for (int i = n; i < 4; i++)
		out[i] = '_';
	return n;
}

int aml_name_string(struct aml *a, const char *name)
{
	uint8_t segs[255][4];
	unsigned int nr = 0;
	const char *p = name;

	if (*p == AML_ROOT_CHAR)
		p++;
	for (;;) {
		int n;

		if (nr == 255 || (n = name_seg(p, segs[nr])) < 0) {
			a->overflow = true;
			return -1;
		}
		nr++;
		p += n;
		if (*p == '\0')
			break;
		p++; /* '.' */
	}
	if (*name == AML_ROOT_CHAR)
		aml_byte(a, AML_ROOT_CHAR);
	if (nr == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nr > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nr);
	}
	aml_bytes(a, segs, nr * 4);
	return 0;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[8];

	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_bytes(a, b, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_bytes(a, b, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_bytes(a, b, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_bytes(a, b, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

unsigned int aml_pkg_length_size(size_t content)
{
	if (content + 1 <= 0x3f)
		return 1;
	if (content + 2 <= 0xfff)
		return 2;
	if (content + 3 <= 0xfffff)
		return 3;
	if (content + 4 <= PKG_LENGTH_MAX)
		return 4;
	return 0;
}

void aml_end(struct aml *a, size_t mark)
{
	size_t content = a->len - mark;
	unsigned int n = aml_pkg_length_size(content);
	uint32_t total;

	if (a->overflow)
		return;
	if (n == 0 || !room(a, n))
		return (void)(a->overflow = true);
	total = (uint32_t)(content + n);
	memmove(a->buf + mark + n, a->buf + mark, content);
	if (n == 1) {
		a->buf[mark] = (uint8_t)total;
	} else {
		/* Lead byte: count of following bytes, then the low nibble. */
		a->buf[mark] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (unsigned int i = 1; i < n; i++)
			a->buf[mark + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = a->len;
	aml_name_string(a, name);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml_byte(a, nr_elements);
	return mark;
}

void aml_buffer(struct aml *a, const void *bytes, size_t n)
{
	size_t mark;

	aml_byte(a, AML_BUFFER_OP);
	mark = a->len;
	aml_integer(a, n);
	aml_bytes(a, bytes, n);
	aml_end(a, mark);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	/* Five bits per letter ('A' is 1), then four hex digits, big-endian. */
	for (int i = 0; i < 3; i++)
		v = v << 5 | ((uint32_t)(id[i] - '@') & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];

		v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	aml_byte(a, AML_DWORD_PREFIX);
	aml_byte(a, (uint8_t)(v >> 24));
	aml_byte(a, (uint8_t)(v >> 16));
	aml_byte(a, (uint8_t)(v >> 8));
	aml_byte(a, (uint8_t)v);
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs,
			bool serialized)
{
	size_t mark;

	aml_byte(a, AML_METHOD_OP);
	mark = a->len;
	aml_name_string(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}
