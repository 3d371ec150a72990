// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the exec frame decoder, fed in pieces whose sizes come
 * from the input, and the JSON decoders of every frame it completes. A
 * decoded request must survive an encode/decode round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/proto/exec_msg.h"
#include "lib/proto/frame.h"

static void check_request(const struct frame_event *ev)
{
	bool tty = ev->type == FRAME_EXEC_TTY;
	struct exec_request req, again;
	struct err e;
	size_t len;
	char *json;

	if (exec_request_decode((const char *)ev->data, ev->len, tty, &req, &e) < 0)
		return;
	json = exec_request_encode(&req, tty, &len);
	if (!json || exec_request_decode(json, len, tty, &again, &e) < 0 ||
	    strcmp(req.command, again.command) || req.nargs != again.nargs ||
	    req.stdin_len != again.stdin_len ||
	    (req.stdin_len && memcmp(req.stdin_data, again.stdin_data,
				     req.stdin_len)))
		abort();
	free(json);
	exec_request_free(&again);
	exec_request_free(&req);
}

static void check_frame(const struct frame_event *ev)
{
	struct exec_result res;
	struct file_request freq;
	struct file_result fres;
	struct port_forward_request fwd;
	struct err e;

	switch (ev->type) {
	case FRAME_EXEC:
	case FRAME_EXEC_STREAM:
	case FRAME_EXEC_PIPE:
	case FRAME_EXEC_TTY:
		check_request(ev);
		break;
	case FRAME_EXEC_RESULT:
		if (exec_result_decode((const char *)ev->data, ev->len, &res, &e) == 0)
			exec_result_free(&res);
		break;
	case FRAME_WRITE_FILE:
	case FRAME_READ_FILE:
	case FRAME_LIST_FILES:
		if (file_request_decode((const char *)ev->data, ev->len, ev->type,
					&freq, &e) == 0)
			file_request_free(&freq);
		break;
	case FRAME_FILE_RESULT:
		if (file_result_decode((const char *)ev->data, ev->len, &fres, &e) == 0)
			file_result_free(&fres);
		break;
	case FRAME_PORT_FORWARD:
		if (port_forward_decode((const char *)ev->data, ev->len, &fwd,
					&e) == 0)
			port_forward_free(&fwd);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader r;
	size_t off = 1, piece;
	uint64_t chunk_bytes = 0;

	if (!size)
		return 0;
	piece = (size_t)data[0] % 64 + 1;
	/* A small limit so that "over the limit" is reachable. */
	frame_reader_init(&r, 4096);
	while (off < size) {
		size_t n = MIN(piece, size - off);
		size_t used = 0;

		while (used < n) {
			struct frame_event ev;
			struct err e;
			long k = frame_reader_feed(&r, data + off + used, n - used,
						   &ev, &e);

			if (k < 0)
				goto out;
			if (k == 0 && ev.kind == FRAME_EV_NONE)
				abort();	/* no progress would loop forever */
			used += (size_t)k;
			if (ev.kind == FRAME_EV_FRAME)
				check_frame(&ev);
			if (ev.kind == FRAME_EV_CHUNK) {
				if (ev.len > ev.frame_len || !frame_type_is_data(ev.type))
					abort();
				chunk_bytes += ev.len;
			}
		}
		off += n;
	}
out:
	frame_reader_free(&r);
	return 0;
}
