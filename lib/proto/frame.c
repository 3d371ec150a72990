// SPDX-License-Identifier: MIT
#include "lib/proto/frame.h"

#include <stdlib.h>
#include <string.h>

static const char *const frame_names[] = {
	[FRAME_EXEC] = "Exec",
	[FRAME_EXEC_RESULT] = "ExecResult",
	[FRAME_STDOUT] = "Stdout",
	[FRAME_STDERR] = "Stderr",
	[FRAME_SIGNAL] = "Signal",
	[FRAME_READY] = "Ready",
	[FRAME_STDIN] = "Stdin",
	[FRAME_RESIZE] = "Resize",
	[FRAME_EXEC_TTY] = "ExecTTY",
	[FRAME_EXIT] = "Exit",
	[FRAME_EXEC_STREAM] = "ExecStream",
	[FRAME_EXEC_PIPE] = "ExecPipe",
	[FRAME_PORT_FORWARD] = "PortForward",
	[FRAME_WRITE_FILE] = "WriteFile",
	[FRAME_READ_FILE] = "ReadFile",
	[FRAME_LIST_FILES] = "ListFiles",
	[FRAME_FILE_RESULT] = "FileResult",
};

const char *frame_type_name(uint8_t type)
{
	if (type < ARRAY_SIZE(frame_names) && frame_names[type])
		return frame_names[type];
	return NULL;
}

bool frame_type_is_data(uint8_t type)
{
	return type == FRAME_STDIN || type == FRAME_STDOUT ||
	       type == FRAME_STDERR;
}

void frame_reader_init(struct frame_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void frame_reader_free(struct frame_reader *r)
{
	free(r->payload);
	r->payload = NULL;
}

static void frame_reader_next(struct frame_reader *r)
{
	r->hdr_len = 0;
	r->in_payload = false;
	r->got = 0;
}

static long frame_take_header(struct frame_reader *r, const uint8_t *in,
			      size_t len, struct frame_event *ev,
			      struct err *e)
{
	size_t n = MIN(len, FRAME_HDR_SIZE - r->hdr_len);

	memcpy(r->hdr + r->hdr_len, in, n);
	r->hdr_len += n;
	if (r->hdr_len < FRAME_HDR_SIZE)
		return (long)n;
	r->type = r->hdr[0];
	r->len = get_be32(r->hdr + 1);
	if (r->len > r->max)
		return err_set(e, "frame of type %u has a %u-byte payload, "
			       "more than the limit of %u bytes",
			       r->type, r->len, r->max);
	r->in_payload = true;
	r->got = 0;
	if (frame_type_is_data(r->type)) {
		if (r->len == 0) {
			*ev = (struct frame_event){
				.kind = FRAME_EV_CHUNK, .type = r->type,
				.data = in + n, .first = true, .last = true,
			};
			frame_reader_next(r);
		}
		return (long)n;
	}
	free(r->payload);
	/* One extra byte so JSON payloads can be NUL-terminated in place. */
	r->payload = malloc((size_t)r->len + 1);
	if (!r->payload)
		return err_set(e, "out of memory for a %u-byte frame", r->len);
	if (r->len == 0) {
		r->payload[0] = 0;
		*ev = (struct frame_event){
			.kind = FRAME_EV_FRAME, .type = r->type,
			.data = r->payload,
		};
		frame_reader_next(r);
	}
	return (long)n;
}

long frame_reader_feed(struct frame_reader *r, const uint8_t *in, size_t len,
		       struct frame_event *ev, struct err *e)
{
	size_t n;

	ev->kind = FRAME_EV_NONE;
	if (!r->in_payload)
		return frame_take_header(r, in, len, ev, e);
	n = MIN(len, (size_t)(r->len - r->got));
	if (frame_type_is_data(r->type)) {
		if (n == 0)
			return 0;
		*ev = (struct frame_event){
			.kind = FRAME_EV_CHUNK, .type = r->type, .data = in,
			.len = (uint32_t)n, .frame_len = r->len,
			.first = r->got == 0, .last = r->got + n == r->len,
		};
		r->got += (uint32_t)n;
		if (r->got == r->len)
			frame_reader_next(r);
		return (long)n;
	}
	memcpy(r->payload + r->got, in, n);
	r->got += (uint32_t)n;
	if (r->got == r->len) {
		r->payload[r->len] = 0;
		*ev = (struct frame_event){
			.kind = FRAME_EV_FRAME, .type = r->type,
			.data = r->payload, .len = r->len, .frame_len = r->len,
		};
		frame_reader_next(r);
	}
	return (long)n;
}

bool frame_reader_partial(const struct frame_reader *r)
{
	return r->hdr_len > 0;
}

void frame_reader_truncation(const struct frame_reader *r, struct err *e)
{
	if (!r->in_payload)
		err_set(e, "truncated frame: connection closed after %zu of "
			"%d header bytes", r->hdr_len, FRAME_HDR_SIZE);
	else
		err_set(e, "truncated frame: connection closed after %u of "
			"%u payload bytes of a frame of type %u",
			r->got, r->len, r->type);
}
