// SPDX-License-Identifier: MIT
/*
 * The snapshot state format (vmm/state.h): what is written reads back;
 * every corrupted, truncated or hostile file is refused with a message
 * before any field is handed out; the getters check presence, kind, size
 * and range.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/state.h"

/* A copy of @body behind a header with valid checksums. */
static uint8_t *wrap(const uint8_t *body, size_t len, uint32_t version,
		     size_t *out_len)
{
	uint8_t *f = calloc(1, STATE_HEADER_SIZE + len + 1);

	memcpy(f, "VMMSTATE", 8);
	put_le32(f + 8, version);
	put_le64(f + 16, len);
	memcpy(f + STATE_HEADER_SIZE, body, len);
	put_le32(f + 24, state_crc32c(f + STATE_HEADER_SIZE, len));
	put_le32(f + 28, state_crc32c(f, 28));
	*out_len = STATE_HEADER_SIZE + len;
	return f;
}

/* Fixes both checksums after a test changed the body. */
static void reseal(uint8_t *f, size_t len)
{
	put_le32(f + 24, state_crc32c(f + STATE_HEADER_SIZE, len - STATE_HEADER_SIZE));
	put_le32(f + 28, state_crc32c(f, 28));
}

static void sample(struct state_writer *w)
{
	static const uint8_t blob[5] = { 1, 2, 3, 4, 5 };

	state_writer_init(w);
	state_put_str(w, "vmm_version", "1.2.3");
	state_put_u64(w, "big", 0x1122334455667788ULL);
	state_put_u64(w, "small", 200);
	state_put_bytes(w, "blob", blob, sizeof(blob));
	state_put_bytes(w, "empty", NULL, 0);
	state_begin(w, "machine");
	state_put_u64(w, "flag", 1);
	state_begin(w, "inner");
	state_put_str(w, "text", "");
	state_end(w);
	state_end(w);
	for (int i = 0; i < 3; i++) {
		state_begin(w, "vcpu");
		state_put_u64(w, "id", (uint64_t)i);
		state_end(w);
	}
}

static uint8_t *sample_file(size_t *len)
{
	struct state_writer w;
	const uint8_t *buf;
	uint8_t *copy;
	struct err e;

	sample(&w);
	cr_assert_eq(state_finish(&w, &buf, len, &e), 0, "%s", e.msg);
	copy = malloc(*len);
	memcpy(copy, buf, *len);
	state_writer_free(&w);
	return copy;
}

Test(state, round_trip)
{
	struct state_section root, machine, inner, vcpu;
	uint8_t blob[5], *f;
	const uint8_t *data;
	uint32_t blen;
	uint64_t big;
	uint8_t small;
	bool flag;
	char *s;
	size_t len, pos = 0;
	struct err e;
	int i = 0;

	f = sample_file(&len);
	cr_assert_eq(state_open(f, len, &root, &e), 0, "%s", e.msg);
	cr_assert_eq(state_get_str(&root, "vmm_version", &s, 64, &e), 0);
	cr_assert_str_eq(s, "1.2.3");
	free(s);
	cr_assert_eq(state_get_u64(&root, "big", &big, &e), 0);
	cr_assert_eq(big, 0x1122334455667788ULL);
	cr_assert_eq(state_get_u8(&root, "small", &small, &e), 0);
	cr_assert_eq(small, 200);
	cr_assert_eq(state_get_bytes(&root, "blob", blob, sizeof(blob), &e), 0);
	cr_assert_eq(blob[4], 5);
	cr_assert_eq(state_get_blob(&root, "empty", &data, &blen, 10, &e), 0);
	cr_assert_eq(blen, 0);
	cr_assert_eq(state_get_section(&root, "machine", &machine, &e), 0);
	cr_assert_str_eq(machine.label, "state.machine");
	cr_assert_eq(state_get_bool(&machine, "flag", &flag, &e), 0);
	cr_assert(flag);
	cr_assert_eq(state_get_section(&machine, "inner", &inner, &e), 0);
	cr_assert_eq(state_get_str(&inner, "text", &s, 0, &e), 0);
	cr_assert_str_eq(s, "");
	free(s);
	cr_assert_eq(state_count(&root, "vcpu"), 3);
	while (state_next(&root, "vcpu", &pos, &vcpu) > 0) {
		uint32_t id;

		cr_assert_eq(state_get_u32(&vcpu, "id", &id, &e), 0);
		cr_assert_eq(id, (uint32_t)i++);
	}
	cr_assert_eq(i, 3);
	cr_assert_not(state_has(&root, "nothing"));
	free(f);
}

Test(state, every_flipped_bit_is_refused)
{
	struct state_section root;
	size_t len;
	uint8_t *f = sample_file(&len);
	struct err e;

	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			f[i] ^= (uint8_t)(1 << bit);
			cr_assert_eq(state_open(f, len, &root, &e), -1,
				     "byte %zu bit %d flipped and accepted", i, bit);
			f[i] ^= (uint8_t)(1 << bit);
		}
	}
	cr_assert_eq(state_open(f, len, &root, &e), 0, "%s", e.msg);
	free(f);
}

Test(state, every_truncation_is_refused)
{
	struct state_section root;
	size_t len;
	uint8_t *f = sample_file(&len);
	struct err e;

	for (size_t n = 0; n < len; n++) {
		cr_assert_eq(state_open(f, n, &root, &e), -1, "%zu bytes accepted", n);
		cr_assert(strstr(e.msg, "truncated"), "%zu bytes: %s", n, e.msg);
	}
	free(f);
}

Test(state, corruption_and_skew_have_their_own_messages)
{
	struct state_section root;
	size_t len, wlen;
	uint8_t *f = sample_file(&len), *w;
	struct err e;

	f[STATE_HEADER_SIZE + 3] ^= 1;
	cr_assert_eq(state_open(f, len, &root, &e), -1);
	cr_assert(strstr(e.msg, "checksum of the state does not match"), "%s", e.msg);
	f[STATE_HEADER_SIZE + 3] ^= 1;
	f[1] = 'X';
	cr_assert_eq(state_open(f, len, &root, &e), -1);
	cr_assert(strstr(e.msg, "not a state file"), "%s", e.msg);
	f[1] = 'M';
	f[20] ^= 1;
	cr_assert_eq(state_open(f, len, &root, &e), -1);
	cr_assert(strstr(e.msg, "header's checksum"), "%s", e.msg);
	f[20] ^= 1;

	w = wrap(f + STATE_HEADER_SIZE, len - STATE_HEADER_SIZE,
		 STATE_FORMAT_VERSION + 1, &wlen);
	cr_assert_eq(state_open(w, wlen, &root, &e), -1);
	cr_assert(strstr(e.msg, "state format version 2; this VMM reads version 1"),
		  "%s", e.msg);
	free(w);

	/* Longer than the header says: trailing bytes are not ignored. */
	w = wrap(f + STATE_HEADER_SIZE, len - STATE_HEADER_SIZE,
		 STATE_FORMAT_VERSION, &wlen);
	cr_assert_eq(state_open(w, wlen + 1, &root, &e), -1);
	cr_assert(strstr(e.msg, "the file has"), "%s", e.msg);
	free(w);
	free(f);
}

/* One record: kind, name, a length field that may lie, the payload. */
static size_t record(uint8_t *p, uint8_t kind, const char *name, uint32_t len,
		     const void *payload, size_t real)
{
	size_t n = strlen(name);

	p[0] = kind;
	p[1] = (uint8_t)n;
	memcpy(p + 2, name, n);
	put_le32(p + 2 + n, len);
	if (real)
		memcpy(p + 6 + n, payload, real);
	return 6 + n + real;
}

static void expect_refused(const uint8_t *body, size_t len, const char *msg)
{
	struct state_section root;
	size_t flen;
	uint8_t *f = wrap(body, len, STATE_FORMAT_VERSION, &flen);
	struct err e;

	cr_assert_eq(state_open(f, flen, &root, &e), -1, "accepted (%s)", msg);
	cr_assert(strstr(e.msg, msg), "expected \"%s\", got \"%s\"", msg, e.msg);
	free(f);
}

Test(state, hostile_records_are_refused)
{
	uint8_t b[256], eight[8] = { 0 };
	size_t n;

	n = record(b, 2, "x", 9, eight, 8);
	expect_refused(b, n, "runs past the end");
	n = record(b, 2, "x", 0xffffffffU, eight, 8);
	expect_refused(b, n, "runs past the end");
	n = record(b, 2, "x", 7, eight, 7);
	expect_refused(b, n, "has 7 bytes, not 8");
	n = record(b, 9, "x", 8, eight, 8);
	expect_refused(b, n, "unknown kind 9");
	n = record(b, 2, "Bad", 8, eight, 8);
	expect_refused(b, n, "malformed name");
	n = record(b, 2, "", 8, eight, 8);
	expect_refused(b, n, "malformed name");
	n = record(b, 2, "a_name_of_thirty_two_characters_", 8, eight, 8);
	expect_refused(b, n, "malformed name");
	n = record(b, 4, "s", 3, "a\0b", 3);
	expect_refused(b, n, "holds a NUL byte");
	/* A header cut inside the name or the length. */
	b[0] = 2;
	b[1] = 10;
	expect_refused(b, 5, "runs past the end");
	expect_refused(b, 1, "runs past the end");
	/* A section whose child runs past the section, not the file. */
	n = record(b, 1, "sec", 8, NULL, 0);
	n += record(b + n, 2, "x", 8, eight, 8);
	expect_refused(b, n, "runs past the end");
}

Test(state, nesting_is_bounded)
{
	uint8_t b[256];
	size_t n = 0;

	/* Sections inside sections, each length covering the rest. */
	for (int depth = 0; depth <= STATE_MAX_DEPTH + 1; depth++) {
		size_t rest = (size_t)(STATE_MAX_DEPTH + 1 - depth) * 7;

		n += record(b + n, 1, "s", (uint32_t)rest, NULL, 0);
	}
	expect_refused(b, n, "nest deeper");
}

/*
 * Every length field of a valid file, set to every value near a bound:
 * each file that still checks out structurally hands out only fields of
 * the right size; none reads outside the buffer (the sanitizers watch).
 */
Test(state, every_hostile_length_is_contained)
{
	static const int64_t deltas[] = { -9, -8, -1, 1, 8, 0x10000, -0x10000 };
	size_t len;
	uint8_t *f = sample_file(&len);
	uint8_t *copy = malloc(len);

	for (size_t at = STATE_HEADER_SIZE; at + 4 <= len; at++) {
		for (size_t k = 0; k < ARRAY_SIZE(deltas); k++) {
			struct state_section root, m, v;
			uint64_t x;
			uint8_t blob[5];
			size_t pos = 0;
			struct err e;

			memcpy(copy, f, len);
			put_le32(copy + at, (uint32_t)(get_le32(copy + at) + deltas[k]));
			reseal(copy, len);
			if (state_open(copy, len, &root, &e) < 0)
				continue;
			/* Accepted: reading everything stays in bounds. */
			state_get_u64(&root, "big", &x, &e);
			state_get_bytes(&root, "blob", blob, sizeof(blob), &e);
			if (state_get_section(&root, "machine", &m, &e) == 0)
				state_get_u64(&m, "flag", &x, &e);
			while (state_next(&root, "vcpu", &pos, &v) > 0)
				state_get_u64(&v, "id", &x, &e);
		}
	}
	free(copy);
	free(f);
}

Test(state, getters_name_the_field_and_the_problem)
{
	struct state_section root, m;
	uint8_t buf[4], *f;
	const uint8_t *data;
	uint32_t blen;
	uint64_t v;
	uint8_t small;
	bool flag;
	char *s;
	size_t len;
	struct err e;

	f = sample_file(&len);
	cr_assert_eq(state_open(f, len, &root, &e), 0);
	cr_assert_eq(state_get_u64(&root, "missing", &v, &e), -1);
	cr_assert_str_eq(e.msg, "state: 'missing' is missing");
	cr_assert_eq(state_get_u64(&root, "blob", &v, &e), -1);
	cr_assert_str_eq(e.msg, "state: 'blob' is bytes, not a number");
	cr_assert_eq(state_get_u8(&root, "big", &small, &e), -1);
	cr_assert(strstr(e.msg, "'big' is 1234605616436508552, more than 255"), "%s", e.msg);
	cr_assert_eq(state_get_bytes(&root, "blob", buf, sizeof(buf), &e), -1);
	cr_assert_str_eq(e.msg, "state: 'blob' has 5 bytes, expected 4");
	cr_assert_eq(state_get_blob(&root, "blob", &data, &blen, 4, &e), -1);
	cr_assert_str_eq(e.msg, "state: 'blob' has 5 bytes, more than 4");
	cr_assert_eq(state_get_str(&root, "vmm_version", &s, 4, &e), -1);
	cr_assert_str_eq(e.msg, "state: 'vmm_version' has 5 characters, more than 4");
	cr_assert_eq(state_get_section(&root, "machine", &m, &e), 0);
	cr_assert_eq(state_get_bool(&m, "inner", &flag, &e), -1);
	cr_assert_str_eq(e.msg, "state.machine: 'inner' is a section, not a number");
	cr_assert_eq(state_get_bool(&root, "small", &flag, &e), -1);
	free(f);
}

Test(state, the_writer_refuses_what_it_cannot_write)
{
	struct state_writer w;
	const uint8_t *buf;
	size_t len;
	struct err e;

	state_writer_init(&w);
	state_put_u64(&w, "Not_a_name", 1);
	cr_assert_eq(state_finish(&w, &buf, &len, &e), -1);
	state_writer_free(&w);

	state_writer_init(&w);
	state_begin(&w, "open");
	cr_assert_eq(state_finish(&w, &buf, &len, &e), -1);
	cr_assert(strstr(e.msg, "left open"), "%s", e.msg);
	state_writer_free(&w);

	state_writer_init(&w);
	state_end(&w);
	cr_assert_eq(state_finish(&w, &buf, &len, &e), -1);
	state_writer_free(&w);

	state_writer_init(&w);
	for (int i = 0; i <= STATE_MAX_DEPTH; i++)
		state_begin(&w, "deep");
	for (int i = 0; i <= STATE_MAX_DEPTH; i++)
		state_end(&w);
	cr_assert_eq(state_finish(&w, &buf, &len, &e), -1);
	state_writer_free(&w);
}
