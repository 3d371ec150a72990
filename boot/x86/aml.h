/* SPDX-License-Identifier: MIT */
#ifndef BOOT_AML_H
#define BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AML opcodes and prefixes (ACPI specification, "ACPI Machine Language"). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_METHOD_OP 0x14
#define AML_EXT_OP_PREFIX 0x5b
#define AML_OP_REGION_OP 0x80 /* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP 0x81     /* after AML_EXT_OP_PREFIX */
#define AML_DEVICE_OP 0x82    /* after AML_EXT_OP_PREFIX */
#define AML_LOCAL0_OP 0x60
#define AML_ARG0_OP 0x68
#define AML_STORE_OP 0x70
#define AML_SHIFT_LEFT_OP 0x79
#define AML_AND_OP 0x7b
#define AML_OR_OP 0x7d
#define AML_NOTIFY_OP 0x86
#define AML_IF_OP 0xa0
#define AML_NULL_NAME 0x00
#define AML_ROOT_CHAR '\\'

/* Operation region spaces and field flags. */
#define AML_SYSTEM_IO 1
#define AML_FIELD_DWORD_ACC 3
#define AML_FIELD_WRITE_AS_ZEROS 0x40

/*
 * Writes AML into a fixed buffer. Nothing is ever written past @cap: once
 * something does not fit, @overflow is set and later calls do nothing.
 */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * A NameString: optional leading '\' then 1 to 255 four-character segments
 * separated by '.', e.g. "\\_SB_.V000". Segments shorter than 4 characters
 * are padded with '_'. Returns -1 (and sets @overflow) on a malformed name.
 */
int aml_name_string(struct aml *a, const char *name);
/* The shortest encoding of an integer constant. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISAID ("PNP0A08"): three letters and four hex digits, compressed. */
void aml_eisaid(struct aml *a, const char *id);
/* LocalN and ArgN. */
void aml_local(struct aml *a, unsigned int n);
void aml_arg(struct aml *a, unsigned int n);

/* Name (name, ...): the caller writes the object next. */
void aml_name(struct aml *a, const char *name);
/* Buffer (n) { bytes } */
void aml_buffer(struct aml *a, const void *bytes, size_t n);

/*
 * Constructs with a PkgLength: *_begin() returns a mark for aml_end(), which
 * inserts the encoded length once the contents are written.
 */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_package_begin(struct aml *a, uint8_t nr_elements);
/* Method (name, nargs, Serialized or NotSerialized) { ... } */
size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs,
			bool serialized);
/* If (predicate) { ... }: the caller writes the predicate, then the body. */
size_t aml_if_begin(struct aml *a);
/* Field (region, flags) { units }: aml_field_unit() per named unit. */
size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, unsigned int bits);
void aml_end(struct aml *a, size_t mark);

/* OperationRegion (name, space, offset, length) */
void aml_op_region(struct aml *a, const char *name, uint8_t space,
		   uint64_t offset, uint64_t len);

/*
 * A ResourceTemplate () (ACPI 6.0, 6.4): descriptors appended to a fixed
 * buffer, then aml_res_end() with the end tag. Nothing is written past
 * the buffer; an overflow makes aml_res_end() return 0.
 */
#define AML_RES_MAX 256

struct aml_res {
	uint8_t buf[AML_RES_MAX];
	size_t len;
	bool overflow;
};

void aml_res_init(struct aml_res *r);
/* WordBusNumber, a producer of buses [min, max]. */
void aml_res_bus(struct aml_res *r, uint16_t min, uint16_t max);
/* WordIO, a producer of ports [min, max]. */
void aml_res_io_window(struct aml_res *r, uint16_t min, uint16_t max);
/* IO (Decode16) of @len fixed ports at @base. */
void aml_res_io(struct aml_res *r, uint16_t base, uint8_t len);
/* DWordMemory / QWordMemory producers of [min, max]. */
void aml_res_mem32_window(struct aml_res *r, uint32_t min, uint32_t max);
void aml_res_mem64_window(struct aml_res *r, uint64_t min, uint64_t max,
			  bool prefetchable);
/* Memory32Fixed (ReadWrite) */
void aml_res_mem32_fixed(struct aml_res *r, uint32_t base, uint32_t len);
/* Interrupt (ResourceConsumer, ...) { gsi } */
void aml_res_irq(struct aml_res *r, uint32_t gsi, bool edge, bool active_low);
/*
 * IRQ (Edge, ActiveHigh, Shared) { @irq }: an ISA line (0-15), shareable
 * as COM1/COM3 and COM2/COM4 share theirs on a PC.
 */
void aml_res_isa_irq_shared(struct aml_res *r, uint8_t irq);
/* Appends the end tag; returns the template's length, 0 on overflow. */
size_t aml_res_end(struct aml_res *r);
/* Name (@name, ResourceTemplate () {...}): ends @r and writes it. */
void aml_name_resources(struct aml *a, const char *name, struct aml_res *r);

/* Bytes a PkgLength takes for @content bytes of contents (0: too long). */
unsigned int aml_pkg_length_size(size_t content);

#endif
