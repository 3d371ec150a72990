// SPDX-License-Identifier: MIT
#include "aml.h"

#include <string.h>

#include "lib/util.h"

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

void aml_local(struct aml *a, unsigned int n)
{
	aml_byte(a, (uint8_t)(AML_LOCAL0_OP + (n & 7)));
}

void aml_arg(struct aml *a, unsigned int n)
{
	aml_byte(a, (uint8_t)(AML_ARG0_OP + MIN(n, 6U)));
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

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	return a->len;
}

size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	mark = a->len;
	aml_name_string(a, region);
	aml_byte(a, flags);
	return mark;
}

void aml_field_unit(struct aml *a, const char *name, unsigned int bits)
{
	uint8_t seg[4];

	if (strchr(name, '.') || name_seg(name, seg) < 0 || bits == 0 ||
	    bits > 0x3f) {
		a->overflow = true;
		return;
	}
	aml_bytes(a, seg, 4);
	/* The width is a PkgLength; one byte holds up to 63 bits. */
	aml_byte(a, (uint8_t)bits);
}

void aml_op_region(struct aml *a, const char *name, uint8_t space,
		   uint64_t offset, uint64_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OP_REGION_OP);
	aml_name_string(a, name);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

/* ---- resource templates ---- */

#define RES_WORD_ADDRESS 0x88
#define RES_DWORD_ADDRESS 0x87
#define RES_QWORD_ADDRESS 0x8a
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_IRQ 0x89
#define RES_IO 0x47
#define RES_ISA_IRQ 0x23
#define RES_ISA_IRQ_EDGE (1U << 0)
#define RES_ISA_IRQ_SHARED (1U << 4)
#define RES_END_TAG 0x79
#define RES_TYPE_MEMORY 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
/* General flags: producer, positive decode, minimum and maximum fixed. */
#define RES_PRODUCER_FIXED 0x0c
#define RES_MEM_RW 0x01
#define RES_MEM_CACHEABLE (1 << 1)
#define RES_MEM_PREFETCHABLE (3 << 1)
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_IRQ_CONSUMER (1U << 0)
#define RES_IRQ_EDGE (1U << 1)
#define RES_IRQ_ACTIVE_LOW (1U << 2)

void aml_res_init(struct aml_res *r)
{
	r->len = 0;
	r->overflow = false;
}

static uint8_t *res_put(struct aml_res *r, size_t n)
{
	uint8_t *p;

	if (r->overflow || n > sizeof(r->buf) - r->len) {
		r->overflow = true;
		return NULL;
	}
	p = r->buf + r->len;
	memset(p, 0, n);
	r->len += n;
	return p;
}

/* A large item: tag, 16-bit length, then @len bytes the caller fills. */
static uint8_t *res_large(struct aml_res *r, uint8_t tag, uint16_t len)
{
	uint8_t *p = res_put(r, 3 + (size_t)len);

	if (!p)
		return NULL;
	p[0] = tag;
	p[1] = (uint8_t)len;
	p[2] = (uint8_t)(len >> 8);
	return p + 3;
}

/* Word, DWord or QWord address space: type, flags, then five values. */
static void res_address(struct aml_res *r, uint8_t tag, unsigned int width,
			uint8_t type, uint8_t type_flags, uint64_t min,
			uint64_t max)
{
	uint8_t *p = res_large(r, tag, (uint16_t)(3 + 5 * width));
	uint64_t vals[5] = { 0, min, max, 0, max - min + 1 };

	if (!p)
		return;
	p[0] = type;
	p[1] = RES_PRODUCER_FIXED;
	p[2] = type_flags;
	for (unsigned int i = 0; i < 5; i++)
		for (unsigned int b = 0; b < width; b++)
			p[3 + i * width + b] = (uint8_t)(vals[i] >> (8 * b));
}

void aml_res_bus(struct aml_res *r, uint16_t min, uint16_t max)
{
	res_address(r, RES_WORD_ADDRESS, 2, RES_TYPE_BUS, 0, min, max);
}

void aml_res_io_window(struct aml_res *r, uint16_t min, uint16_t max)
{
	res_address(r, RES_WORD_ADDRESS, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE,
		    min, max);
}

void aml_res_mem32_window(struct aml_res *r, uint32_t min, uint32_t max)
{
	res_address(r, RES_DWORD_ADDRESS, 4, RES_TYPE_MEMORY, RES_MEM_RW, min,
		    max);
}

void aml_res_mem64_window(struct aml_res *r, uint64_t min, uint64_t max,
			  bool prefetchable)
{
	res_address(r, RES_QWORD_ADDRESS, 8, RES_TYPE_MEMORY,
		    RES_MEM_RW | (prefetchable ? RES_MEM_PREFETCHABLE :
						 RES_MEM_CACHEABLE),
		    min, max);
}

void aml_res_io(struct aml_res *r, uint16_t base, uint8_t len)
{
	uint8_t *p = res_put(r, 8);

	if (!p)
		return;
	p[0] = RES_IO;
	p[1] = 1; /* decodes 16 address bits */
	p[2] = (uint8_t)base;
	p[3] = (uint8_t)(base >> 8);
	p[4] = (uint8_t)base;
	p[5] = (uint8_t)(base >> 8);
	p[6] = 1; /* alignment */
	p[7] = len;
}

void aml_res_mem32_fixed(struct aml_res *r, uint32_t base, uint32_t len)
{
	uint8_t *p = res_large(r, RES_MEMORY32_FIXED, 9);

	if (!p)
		return;
	p[0] = RES_MEM_RW;
	put_le32(p + 1, base);
	put_le32(p + 5, len);
}

void aml_res_irq(struct aml_res *r, uint32_t gsi, bool edge, bool active_low)
{
	uint8_t *p = res_large(r, RES_EXT_IRQ, 6);

	if (!p)
		return;
	/* Consumer, exclusive; the trigger and polarity the device uses. */
	p[0] = (uint8_t)(RES_IRQ_CONSUMER | (edge ? RES_IRQ_EDGE : 0) |
			 (active_low ? RES_IRQ_ACTIVE_LOW : 0));
	p[1] = 1; /* one interrupt number follows */
	put_le32(p + 2, gsi);
}

void aml_res_isa_irq_shared(struct aml_res *r, uint8_t irq)
{
	uint8_t *p = res_put(r, 4);

	if (!p)
		return;
	p[0] = RES_ISA_IRQ;
	p[1] = (uint8_t)(1U << irq);
	p[2] = (uint8_t)((1U << irq) >> 8);
	p[3] = RES_ISA_IRQ_EDGE | RES_ISA_IRQ_SHARED;
}

size_t aml_res_end(struct aml_res *r)
{
	uint8_t *p = res_put(r, 2), sum = 0;

	if (!p)
		return 0;
	p[0] = RES_END_TAG;
	for (size_t i = 0; i + 1 < r->len; i++)
		sum = (uint8_t)(sum + r->buf[i]);
	p[1] = (uint8_t)-sum;
	return r->len;
}

void aml_name_resources(struct aml *a, const char *name, struct aml_res *r)
{
	size_t n = aml_res_end(r);

	if (!n)
		a->overflow = true;
	aml_name(a, name);
	aml_buffer(a, r->buf, n);
}
