/* SPDX-License-Identifier: MIT */
#ifndef VMM_STATE_H
#define VMM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * The snapshot's state file: a header, then a tree of named records
 * (docs/snapshot.md has the byte layout).
 *
 *   header   "VMMSTATE", u32 format version, u32 flags (0), u64 body
 *            length, u32 CRC-32C of the body, u32 CRC-32C of the header's
 *            first 28 bytes; all little endian
 *   record   u8 kind, u8 name length, the name ([a-z0-9_], 1 to 31
 *            bytes), u32 payload length, the payload
 *   kinds    section (records), u64, bytes, string (no NUL)
 *
 * state_open() checks the whole file before anyone reads a field: both
 * checksums, the version, every record's kind, name and length against
 * the record that holds it, the nesting depth. The getters then check
 * presence, size and range of each field they hand out, so the code that
 * restores a device sees only values of the width it asked for; what they
 * mean (an address, an index) it checks as it would the guest's.
 */

#define STATE_FORMAT_VERSION 1
#define STATE_HEADER_SIZE 32
#define STATE_NAME_MAX 31
#define STATE_MAX_DEPTH 6
/* Far above what 255 vCPUs and every device write. */
#define STATE_FILE_MAX (64 * MiB)

/*
 * The header's checksum: CRC-32C (Castagnoli, reflected, as iSCSI and
 * ext4 use it), for tools that check or make state files.
 */
uint32_t state_crc32c(const uint8_t *p, size_t len);

/* Builds a state file in memory. Out of memory is reported at the end. */
struct state_writer {
	uint8_t *buf;
	size_t len, cap;
	size_t open[STATE_MAX_DEPTH];
	unsigned int depth;
	bool failed;
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);

void state_put_u64(struct state_writer *w, const char *name, uint64_t v);
void state_put_bytes(struct state_writer *w, const char *name,
		     const void *data, size_t len);
void state_put_str(struct state_writer *w, const char *name, const char *s);
/* A section: the records put until state_end() go inside it. */
void state_begin(struct state_writer *w, const char *name);
void state_end(struct state_writer *w);

/*
 * The finished file (header and body) in @out/@len, owned by the writer.
 * Fails when memory ran out or a section was left open.
 */
int state_finish(struct state_writer *w, const uint8_t **out, size_t *len,
		 struct err *e);

/*
 * A section of a checked file. @label names it in messages ("vcpu.lapic");
 * sections found inside it get "label.name".
 */
struct state_section {
	const uint8_t *data;
	uint32_t len;
	char label[64];
};

/* Checks @buf whole (see above) and returns its top-level section. */
int state_open(const uint8_t *buf, size_t len, struct state_section *root,
	       struct err *e);

/*
 * Fields. Each fails with a message naming the section and the field when
 * the field is missing, of another kind or size, or out of range.
 */
int state_get_u64(const struct state_section *s, const char *name,
		  uint64_t *v, struct err *e);
int state_get_u32(const struct state_section *s, const char *name,
		  uint32_t *v, struct err *e);
int state_get_u16(const struct state_section *s, const char *name,
		  uint16_t *v, struct err *e);
int state_get_u8(const struct state_section *s, const char *name,
		 uint8_t *v, struct err *e);
int state_get_bool(const struct state_section *s, const char *name, bool *v,
		   struct err *e);
/* Exactly @len bytes into @buf. */
int state_get_bytes(const struct state_section *s, const char *name,
		    void *buf, size_t len, struct err *e);
/* Up to @max bytes, in place: @data points into the file. */
int state_get_blob(const struct state_section *s, const char *name,
		   const uint8_t **data, uint32_t *len, uint32_t max,
		   struct err *e);
/* A string of at most @max bytes, malloc()ed. */
int state_get_str(const struct state_section *s, const char *name,
		  char **out, size_t max, struct err *e);
int state_get_section(const struct state_section *s, const char *name,
		      struct state_section *out, struct err *e);
bool state_has(const struct state_section *s, const char *name);

/*
 * Repeated sections named @name, in file order: start with *@pos = 0;
 * returns 1 with @out set, 0 after the last.
 */
int state_next(const struct state_section *s, const char *name, size_t *pos,
	       struct state_section *out);
unsigned int state_count(const struct state_section *s, const char *name);

#endif
