// SPDX-License-Identifier: MIT
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "VMMSTATE"

enum state_kind {
	KIND_SECTION = 1,
	KIND_U64 = 2,
	KIND_BYTES = 3,
	KIND_STRING = 4,
};

static const char *const kind_names[] = {
	[KIND_SECTION] = "a section",
	[KIND_U64] = "a number",
	[KIND_BYTES] = "bytes",
	[KIND_STRING] = "a string",
};

uint32_t state_crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = ~0U;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78U & -(crc & 1));
	}
	return ~crc;
}

static bool name_ok(const uint8_t *name, size_t len)
{
	if (len == 0 || len > STATE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

/* ---- writing ---- */

void state_writer_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
	/* The header is filled in by state_finish(). */
	w->len = STATE_HEADER_SIZE;
	w->cap = 4096;
	w->buf = calloc(1, w->cap);
	w->failed = !w->buf;
}

void state_writer_free(struct state_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static uint8_t *reserve(struct state_writer *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > STATE_FILE_MAX || w->len > STATE_FILE_MAX - n) {
		w->failed = true;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap;
		uint8_t *buf;

		while (cap < w->len + n)
			cap *= 2;
		buf = realloc(w->buf, cap);
		if (!buf) {
			w->failed = true;
			return NULL;
		}
		w->buf = buf;
		w->cap = cap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

/* Writes a record header; returns the offset of its length field. */
static size_t put_header(struct state_writer *w, enum state_kind kind,
			 const char *name, size_t len)
{
	size_t n = strlen(name);
	uint8_t *p;

	if (!name_ok((const uint8_t *)name, n) || len > UINT32_MAX) {
		w->failed = true;
		return 0;
	}
	p = reserve(w, 2 + n + 4);
	if (!p)
		return 0;
	p[0] = (uint8_t)kind;
	p[1] = (uint8_t)n;
	memcpy(p + 2, name, n);
	put_le32(p + 2 + n, (uint32_t)len);
	return (size_t)(p + 2 + n - w->buf);
}

static void put_record(struct state_writer *w, enum state_kind kind,
		       const char *name, const void *data, size_t len)
{
	uint8_t *p;

	put_header(w, kind, name, len);
	p = reserve(w, len);
	if (p && len)
		memcpy(p, data, len);
}

void state_put_u64(struct state_writer *w, const char *name, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	put_record(w, KIND_U64, name, b, sizeof(b));
}

void state_put_bytes(struct state_writer *w, const char *name,
		     const void *data, size_t len)
{
	put_record(w, KIND_BYTES, name, data, len);
}

void state_put_str(struct state_writer *w, const char *name, const char *s)
{
	put_record(w, KIND_STRING, name, s, strlen(s));
}

void state_begin(struct state_writer *w, const char *name)
{
	size_t at;

	if (w->depth == STATE_MAX_DEPTH) {
		w->failed = true;
		return;
	}
	at = put_header(w, KIND_SECTION, name, 0);
	w->open[w->depth++] = at;
}

void state_end(struct state_writer *w)
{
	size_t at;

	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	at = w->open[--w->depth];
	if (!w->failed)
		put_le32(w->buf + at, (uint32_t)(w->len - at - 4));
}

int state_finish(struct state_writer *w, const uint8_t **out, size_t *len,
		 struct err *e)
{
	uint8_t *h = w->buf;

	if (w->failed)
		return err_set(e, "the state does not fit in memory or %llu MiB",
			       (unsigned long long)(STATE_FILE_MAX / MiB));
	if (w->depth)
		return err_set(e, "internal error: %u state sections left open",
			       w->depth);
	memcpy(h, STATE_MAGIC, 8);
	put_le32(h + 8, STATE_FORMAT_VERSION);
	put_le32(h + 12, 0);
	put_le64(h + 16, w->len - STATE_HEADER_SIZE);
	put_le32(h + 24, state_crc32c(h + STATE_HEADER_SIZE, w->len - STATE_HEADER_SIZE));
	put_le32(h + 28, state_crc32c(h, 28));
	*out = w->buf;
	*len = w->len;
	return 0;
}

/* ---- reading ---- */

struct record {
	enum state_kind kind;
	const uint8_t *name;
	uint8_t name_len;
	const uint8_t *data;
	uint32_t len;
};

/*
 * The record at *@pos of @data/@len. Returns 1 and advances, 0 at the end,
 * -1 when the record is malformed (only state_open() sees those).
 */
static int next_record(const uint8_t *data, uint32_t len, size_t *pos,
		       struct record *r)
{
	size_t p = *pos;

	if (p == len)
		return 0;
	if (len - p < 2)
		return -1;
	r->kind = data[p];
	r->name_len = data[p + 1];
	r->name = data + p + 2;
	p += 2;
	if (len - p < (size_t)r->name_len + 4)
		return -1;
	p += r->name_len;
	r->len = get_le32(data + p);
	p += 4;
	if (r->len > len - p)
		return -1;
	r->data = data + p;
	*pos = p + r->len;
	return 1;
}

static int check_tree(const uint8_t *data, uint32_t len, unsigned int depth,
		      const char *where, struct err *e)
{
	struct record r;
	size_t pos = 0;
	int ret;

	if (depth > STATE_MAX_DEPTH)
		return err_set(e, "sections nest deeper than %d levels at %s",
			       STATE_MAX_DEPTH, where);
	while ((ret = next_record(data, len, &pos, &r)) > 0) {
		char name[STATE_NAME_MAX + 1];

		if (!name_ok(r.name, r.name_len))
			return err_set(e, "a record in %s has a malformed name",
				       where);
		memcpy(name, r.name, r.name_len);
		name[r.name_len] = '\0';
		switch (r.kind) {
		case KIND_SECTION:
			if (check_tree(r.data, r.len, depth + 1, name, e) < 0)
				return -1;
			break;
		case KIND_U64:
			if (r.len != 8)
				return err_set(e, "number '%s' in %s has %u bytes, not 8",
					       name, where, r.len);
			break;
		case KIND_STRING:
			if (memchr(r.data, '\0', r.len))
				return err_set(e, "string '%s' in %s holds a NUL byte",
					       name, where);
			break;
		case KIND_BYTES:
			break;
		default:
			return err_set(e, "record '%s' in %s has unknown kind %u",
				       name, where, r.kind);
		}
	}
	if (ret < 0)
		return err_set(e, "a record in %s runs past the end of what holds it",
			       where);
	return 0;
}

int state_open(const uint8_t *buf, size_t len, struct state_section *root,
	       struct err *e)
{
	uint64_t body;
	uint32_t version;

	if (len < STATE_HEADER_SIZE)
		return err_set(e, "%zu bytes: shorter than the %d-byte header (truncated)",
			       len, STATE_HEADER_SIZE);
	if (memcmp(buf, STATE_MAGIC, 8))
		return err_set(e, "not a state file (no \"" STATE_MAGIC "\" magic)");
	if (get_le32(buf + 28) != state_crc32c(buf, 28))
		return err_set(e, "the header's checksum does not match: the file is corrupt");
	version = get_le32(buf + 8);
	if (version != STATE_FORMAT_VERSION)
		return err_set(e, "state format version %u; this VMM reads version %d only",
			       version, STATE_FORMAT_VERSION);
	if (get_le32(buf + 12))
		return err_set(e, "unknown header flags %#x",
			       get_le32(buf + 12));
	body = get_le64(buf + 16);
	if (body != len - STATE_HEADER_SIZE)
		return err_set(e, "the header says %llu bytes follow it, the file has %zu%s",
			       (unsigned long long)body, len - STATE_HEADER_SIZE,
			       body > len - STATE_HEADER_SIZE ? " (truncated)" : "");
	if (body > STATE_FILE_MAX)
		return err_set(e, "%llu bytes of state: more than %llu MiB",
			       (unsigned long long)body,
			       (unsigned long long)(STATE_FILE_MAX / MiB));
	if (get_le32(buf + 24) != state_crc32c(buf + STATE_HEADER_SIZE, body))
		return err_set(e, "the checksum of the state does not match: the file is corrupt");
	if (check_tree(buf + STATE_HEADER_SIZE, (uint32_t)body, 0, "the file", e) < 0)
		return -1;
	root->data = buf + STATE_HEADER_SIZE;
	root->len = (uint32_t)body;
	snprintf(root->label, sizeof(root->label), "state");
	return 0;
}

static bool name_is(const struct record *r, const char *name)
{
	return strlen(name) == r->name_len && !memcmp(r->name, name, r->name_len);
}

static bool find(const struct state_section *s, const char *name,
		 struct record *r)
{
	size_t pos = 0;

	while (next_record(s->data, s->len, &pos, r) > 0)
		if (name_is(r, name))
			return true;
	return false;
}

static int get(const struct state_section *s, const char *name,
	       enum state_kind kind, struct record *r, struct err *e)
{
	if (!find(s, name, r))
		return err_set(e, "%s: '%s' is missing", s->label, name);
	if (r->kind != kind)
		return err_set(e, "%s: '%s' is %s, not %s", s->label, name,
			       kind_names[r->kind], kind_names[kind]);
	return 0;
}

static int get_uint(const struct state_section *s, const char *name,
		    uint64_t max, uint64_t *v, struct err *e)
{
	struct record r;

	if (get(s, name, KIND_U64, &r, e) < 0)
		return -1;
	*v = get_le64(r.data);
	if (*v > max)
		return err_set(e, "%s: '%s' is %llu, more than %llu", s->label,
			       name, (unsigned long long)*v,
			       (unsigned long long)max);
	return 0;
}

int state_get_u64(const struct state_section *s, const char *name,
		  uint64_t *v, struct err *e)
{
	return get_uint(s, name, UINT64_MAX, v, e);
}

int state_get_u32(const struct state_section *s, const char *name,
		  uint32_t *v, struct err *e)
{
	uint64_t x;

	if (get_uint(s, name, UINT32_MAX, &x, e) < 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int state_get_u16(const struct state_section *s, const char *name,
		  uint16_t *v, struct err *e)
{
	uint64_t x;

	if (get_uint(s, name, UINT16_MAX, &x, e) < 0)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

int state_get_u8(const struct state_section *s, const char *name,
		 uint8_t *v, struct err *e)
{
	uint64_t x;

	if (get_uint(s, name, UINT8_MAX, &x, e) < 0)
		return -1;
	*v = (uint8_t)x;
	return 0;
}

int state_get_bool(const struct state_section *s, const char *name, bool *v,
		   struct err *e)
{
	uint64_t x;

	if (get_uint(s, name, 1, &x, e) < 0)
		return -1;
	*v = x;
	return 0;
}

int state_get_blob(const struct state_section *s, const char *name,
		   const uint8_t **data, uint32_t *len, uint32_t max,
		   struct err *e)
{
	struct record r;

	if (get(s, name, KIND_BYTES, &r, e) < 0)
		return -1;
	if (r.len > max)
		return err_set(e, "%s: '%s' has %u bytes, more than %u",
			       s->label, name, r.len, max);
	*data = r.data;
	*len = r.len;
	return 0;
}

int state_get_bytes(const struct state_section *s, const char *name,
		    void *buf, size_t len, struct err *e)
{
	struct record r;

	if (get(s, name, KIND_BYTES, &r, e) < 0)
		return -1;
	if (r.len != len)
		return err_set(e, "%s: '%s' has %u bytes, expected %zu",
			       s->label, name, r.len, len);
	memcpy(buf, r.data, len);
	return 0;
}

int state_get_str(const struct state_section *s, const char *name,
		  char **out, size_t max, struct err *e)
{
	struct record r;

	if (get(s, name, KIND_STRING, &r, e) < 0)
		return -1;
	if (r.len > max)
		return err_set(e, "%s: '%s' has %u characters, more than %zu",
			       s->label, name, r.len, max);
	*out = strndup((const char *)r.data, r.len);
	return *out ? 0 : err_set(e, "out of memory");
}

/* "parent.name", cut to fit the label. */
static void section_of(const struct state_section *s, const struct record *r,
		       struct state_section *out)
{
	size_t n = strnlen(s->label, sizeof(out->label) - 1);

	out->data = r->data;
	out->len = r->len;
	memcpy(out->label, s->label, n);
	if (n < sizeof(out->label) - 1)
		out->label[n++] = '.';
	memcpy(out->label + n, r->name,
	       MIN((size_t)r->name_len, sizeof(out->label) - 1 - n));
	out->label[n + MIN((size_t)r->name_len, sizeof(out->label) - 1 - n)] = '\0';
}

int state_get_section(const struct state_section *s, const char *name,
		      struct state_section *out, struct err *e)
{
	struct record r;

	if (get(s, name, KIND_SECTION, &r, e) < 0)
		return -1;
	section_of(s, &r, out);
	return 0;
}

bool state_has(const struct state_section *s, const char *name)
{
	struct record r;

	return find(s, name, &r);
}

int state_next(const struct state_section *s, const char *name, size_t *pos,
	       struct state_section *out)
{
	struct record r;

	while (next_record(s->data, s->len, pos, &r) > 0) {
		if (r.kind == KIND_SECTION && name_is(&r, name)) {
			section_of(s, &r, out);
			return 1;
		}
	}
	return 0;
}

unsigned int state_count(const struct state_section *s, const char *name)
{
	struct state_section sub;
	unsigned int n = 0;
	size_t pos = 0;

	while (state_next(s, name, &pos, &sub) > 0)
		n++;
	return n;
}
