// SPDX-License-Identifier: MIT
#include "lib/proto/bridge_proto.h"

#include <stdlib.h>
#include <string.h>

void bridge_hdr_encode(uint8_t *p, const struct bridge_hdr *h)
{
	put_le32(p, h->type);
	put_le32(p + 4, h->size);
	put_le64(p + 8, h->id);
}

void bridge_hdr_decode(const uint8_t *p, struct bridge_hdr *h)
{
	h->type = get_le32(p);
	h->size = get_le32(p + 4);
	h->id = get_le64(p + 8);
}

uint32_t bridge_response_type(uint32_t request_type)
{
	return (request_type & ~BRIDGE_MT_MASK) | BRIDGE_MT_RESPONSE;
}

static const struct {
	uint32_t type;
	const char *name;
} bridge_names[] = {
	{ BRIDGE_CREATE, "Create" },
	{ BRIDGE_START, "Start" },
	{ BRIDGE_SHUTDOWN_GRACEFUL, "ShutdownGraceful" },
	{ BRIDGE_SHUTDOWN_FORCED, "ShutdownForced" },
	{ BRIDGE_EXECUTE_PROCESS, "ExecuteProcess" },
	{ BRIDGE_WAIT_FOR_PROCESS, "WaitForProcess" },
	{ BRIDGE_SIGNAL_PROCESS, "SignalProcess" },
	{ BRIDGE_RESIZE_CONSOLE, "ResizeConsole" },
	{ BRIDGE_GET_PROPERTIES, "GetProperties" },
	{ BRIDGE_MODIFY_SETTINGS, "ModifySettings" },
	{ BRIDGE_NEGOTIATE_PROTOCOL, "NegotiateProtocol" },
	{ BRIDGE_DUMP_STACKS, "DumpStacks" },
	{ BRIDGE_DELETE_CONTAINER_STATE, "DeleteContainerState" },
	{ BRIDGE_NOTIFICATION, "Notification" },
};

const char *bridge_msg_name(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(bridge_names); i++)
		if (bridge_names[i].type == type)
			return bridge_names[i].name;
	return NULL;
}

void bridge_reader_init(struct bridge_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void bridge_reader_free(struct bridge_reader *r)
{
	free(r->body);
	r->body = NULL;
}

long bridge_reader_feed(struct bridge_reader *r, const uint8_t *in, size_t len,
			bool *done, struct err *e)
{
	size_t n;

	*done = false;
	if (r->hdr_len < BRIDGE_HDR_SIZE) {
		n = MIN(len, BRIDGE_HDR_SIZE - r->hdr_len);
		memcpy(r->hdr + r->hdr_len, in, n);
		r->hdr_len += n;
		if (r->hdr_len < BRIDGE_HDR_SIZE)
			return (long)n;
		bridge_hdr_decode(r->hdr, &r->h);
		if (r->h.size < BRIDGE_HDR_SIZE)
			return err_set(e, "message size %u is smaller than the "
				       "%d-byte header", r->h.size,
				       BRIDGE_HDR_SIZE);
		if (r->h.size > r->max)
			return err_set(e, "message of %u bytes is over the limit "
				       "of %u bytes", r->h.size, r->max);
		r->body_len = r->h.size - BRIDGE_HDR_SIZE;
		r->got = 0;
		free(r->body);
		r->body = malloc(r->body_len + 1);
		if (!r->body)
			return err_set(e, "out of memory for a %u-byte message",
				       r->h.size);
	} else {
		n = 0;
	}
	if (r->got < r->body_len) {
		size_t m = MIN(len - n, r->body_len - r->got);

		memcpy(r->body + r->got, in + n, m);
		r->got += m;
		n += m;
	}
	if (r->got == r->body_len) {
		r->body[r->body_len] = 0;
		r->hdr_len = 0;
		*done = true;
	}
	return (long)n;
}

bool bridge_reader_partial(const struct bridge_reader *r)
{
	return r->hdr_len > 0;
}
