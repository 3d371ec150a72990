// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the bridge message decoder (16-byte header, JSON body)
 * and the request parsers the agent runs on each complete message.
 */
#include <stdlib.h>
#include <string.h>

#include "guest-agent/bridge_msg.h"
#include "lib/proto/bridge_proto.h"
#include "lib/json.h"

static void check_message(const struct bridge_hdr *h, const char *body,
			  size_t len)
{
	struct json_object *obj;
	struct bridge_exec x;
	struct bridge_query q;
	struct bridge_disk d;
	struct err e;
	uint32_t u = 0;
	char *s = NULL;
	int hr;

	if (bridge_response_type(h->type) >> 28 != 2)
		abort();
	if (json_parse_object(body, len, &obj, &e) < 0)
		return;
	json_get_str(obj, NULL, "ActivityId", &s, &e);
	free(s);
	json_get_u32(obj, NULL, "ProcessId", &u, &e);
	if (bridge_exec_parse(obj, &x, &e) == 0)
		bridge_exec_free(&x);
	bridge_query_parse(obj, &q, &e);
	if (bridge_disk_parse(obj, &d, &hr, &e) == 0)
		bridge_disk_free(&d);
	json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bridge_reader r;
	size_t off = 0;

	bridge_reader_init(&r, 8192);
	while (off < size) {
		struct err e;
		bool done;
		long n = bridge_reader_feed(&r, data + off, size - off, &done, &e);

		if (n < 0)
			break;
		if (n == 0 && !done)
			abort();
		off += (size_t)n;
		if (done) {
			if (r.h.size != BRIDGE_HDR_SIZE + r.body_len ||
			    strlen(r.body) > r.body_len)
				abort();
			check_message(&r.h, r.body, r.body_len);
		}
	}
	bridge_reader_free(&r);
	return 0;
}
