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
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_NOTIFY_OP 0x86
#define AML_ROOT_CHAR '\\'

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
void aml_end(struct aml *a, size_t mark);

/* Bytes a PkgLength takes for @content bytes of contents (0: too long). */
unsigned int aml_pkg_length_size(size_t content);

#endif
