/* SPDX-License-Identifier: MIT */
#ifndef LIB_PROTO_FRAME_H
#define LIB_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * The framed exec protocol: a 1-byte type, a 4-byte big-endian payload
 * length, then the payload. Types 1-12 are matchlock's exec protocol
 * (pkg/vsock); 13-17 its port forwarding and file transfer (see
 * docs/guest-agent.md).
 */
enum frame_type {
	FRAME_EXEC = 1,
	FRAME_EXEC_RESULT = 2,
	FRAME_STDOUT = 3,
	FRAME_STDERR = 4,
	FRAME_SIGNAL = 5,
	FRAME_READY = 6,
	FRAME_STDIN = 7,
	FRAME_RESIZE = 8,
	FRAME_EXEC_TTY = 9,
	FRAME_EXIT = 10,
	FRAME_EXEC_STREAM = 11,
	FRAME_EXEC_PIPE = 12,
	FRAME_PORT_FORWARD = 13,
	FRAME_WRITE_FILE = 14,
	FRAME_READ_FILE = 15,
	FRAME_LIST_FILES = 16,
	FRAME_FILE_RESULT = 17,
};

#define FRAME_HDR_SIZE 5
/*
 * Largest payload either side accepts; longer frames end the connection.
 * It holds a 16 MiB file in base64 (WriteFile, FileResult).
 */
#define FRAME_MAX_PAYLOAD (24u * 1024 * 1024)

#define EXEC_PORT_DEFAULT 5000
#define READY_PORT_DEFAULT 5002

const char *frame_type_name(uint8_t type);
/* True for the types whose payload is raw bytes that may be relayed piecewise. */
bool frame_type_is_data(uint8_t type);

static inline void frame_put_hdr(uint8_t *p, uint8_t type, uint32_t len)
{
	p[0] = type;
	p[1] = (uint8_t)(len >> 24);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Incremental frame decoder. Data frames (Stdin, Stdout, Stderr) are handed
 * out piecewise as their bytes arrive, so a 16 MiB chunk never needs a 16 MiB
 * buffer; every other frame is collected whole, up to @max bytes.
 */
struct frame_reader {
	uint32_t max;
	uint8_t hdr[FRAME_HDR_SIZE];
	size_t hdr_len;
	bool in_payload;
	uint8_t type;
	uint32_t len;
	uint32_t got;
	uint8_t *payload;
};

enum frame_event_kind {
	FRAME_EV_NONE,	/* all input consumed, frame not complete yet */
	FRAME_EV_FRAME,	/* a whole non-data frame: data/len valid until next feed */
	FRAME_EV_CHUNK,	/* part of a data frame: data/len point into the input */
};

struct frame_event {
	enum frame_event_kind kind;
	uint8_t type;
	const uint8_t *data;
	uint32_t len;
	uint32_t frame_len;	/* the whole payload length of this frame */
	bool first;		/* CHUNK: first piece of its frame */
	bool last;		/* CHUNK: last piece of its frame */
};

void frame_reader_init(struct frame_reader *r, uint32_t max);
void frame_reader_free(struct frame_reader *r);
/*
 * Consumes input up to the next event. Returns the number of bytes consumed
 * (at most @len) and fills @ev, or -1 with @e set when the stream is invalid
 * (a frame over the limit); the connection cannot be resynchronised then.
 * A zero-length data frame is reported as one CHUNK with len 0.
 */
long frame_reader_feed(struct frame_reader *r, const uint8_t *in, size_t len,
		       struct frame_event *ev, struct err *e);
/* True when input ended inside a frame. */
bool frame_reader_partial(const struct frame_reader *r);
/* Describes where a truncated stream stopped, for the error message. */
void frame_reader_truncation(const struct frame_reader *r, struct err *e);

#endif
