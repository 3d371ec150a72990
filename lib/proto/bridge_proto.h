/* SPDX-License-Identifier: MIT */
#ifndef LIB_PROTO_BRIDGE_PROTO_H
#define LIB_PROTO_BRIDGE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * The HCS<->GCS bridge (hcsshim's internal/guest/prot package, protocol.go):
 * a 16-byte little-endian header (Type u32, Size u32 counting header and
 * body, ID u64), then a JSON body.
 */
#define BRIDGE_HDR_SIZE 16
/* Largest whole message (header and body) the agent accepts. */
#define BRIDGE_MAX_MESSAGE (16u * 1024 * 1024)
/*
 * Largest whole message the agent sends: hcsshim's MaxMsgSize, beyond
 * which its host drops the bridge.
 */
#define BRIDGE_MAX_SEND 0x10000u
/* hcsshim's LinuxGcsVsockPort: the host port the guest dials. */
#define BRIDGE_PORT_DEFAULT 0x40000000u

#define BRIDGE_MT_MASK 0xF0000000u
#define BRIDGE_MT_REQUEST 0x10000000u
#define BRIDGE_MT_RESPONSE 0x20000000u
#define BRIDGE_MT_NOTIFICATION 0x30000000u
#define BRIDGE_MC_COMPUTE_SYSTEM 0x00100000u

enum bridge_msg_type {
	BRIDGE_CREATE = 0x10100101,
	BRIDGE_START = 0x10100201,
	BRIDGE_SHUTDOWN_GRACEFUL = 0x10100301,
	BRIDGE_SHUTDOWN_FORCED = 0x10100401,
	BRIDGE_EXECUTE_PROCESS = 0x10100501,
	BRIDGE_WAIT_FOR_PROCESS = 0x10100601,
	BRIDGE_SIGNAL_PROCESS = 0x10100701,
	BRIDGE_RESIZE_CONSOLE = 0x10100801,
	BRIDGE_GET_PROPERTIES = 0x10100901,
	BRIDGE_MODIFY_SETTINGS = 0x10100a01,
	BRIDGE_NEGOTIATE_PROTOCOL = 0x10100b01,
	BRIDGE_DUMP_STACKS = 0x10100c01,
	BRIDGE_DELETE_CONTAINER_STATE = 0x10100d01,

	BRIDGE_RESPONSE_CREATE = 0x20100101,
	BRIDGE_RESPONSE_START = 0x20100201,
	BRIDGE_RESPONSE_SHUTDOWN_GRACEFUL = 0x20100301,
	BRIDGE_RESPONSE_SHUTDOWN_FORCED = 0x20100401,
	BRIDGE_RESPONSE_EXECUTE_PROCESS = 0x20100501,
	BRIDGE_RESPONSE_WAIT_FOR_PROCESS = 0x20100601,
	BRIDGE_RESPONSE_SIGNAL_PROCESS = 0x20100701,
	BRIDGE_RESPONSE_RESIZE_CONSOLE = 0x20100801,
	BRIDGE_RESPONSE_GET_PROPERTIES = 0x20100901,
	BRIDGE_RESPONSE_MODIFY_SETTINGS = 0x20100a01,
	BRIDGE_RESPONSE_NEGOTIATE_PROTOCOL = 0x20100b01,
	BRIDGE_RESPONSE_DUMP_STACKS = 0x20100c01,

	BRIDGE_NOTIFICATION = 0x30100101,
};

#define BRIDGE_PROTOCOL_VERSION 4u
#define BRIDGE_INFINITE_WAIT 0xffffffffu

/* HRESULTs the Linux GCS reports (hcsshim's gcserr). */
#define HR_NOT_IMPL ((int32_t)0x80004001)
#define HR_FAIL ((int32_t)0x80004005)
#define HR_NOT_FOUND ((int32_t)0x80070490)
#define HR_INVALID_ARG ((int32_t)0x80070057)
#define HR_TIMEOUT ((int32_t)0xC0370109)
#define HR_INVALID_JSON ((int32_t)0xC037010D)
#define HR_SYSTEM_NOT_FOUND ((int32_t)0xC037010E)
#define HR_UNSUPPORTED_PROTOCOL ((int32_t)0xC037010C)
#define HR_UNKNOWN_MESSAGE ((int32_t)0xC037010B)
#define HR_INVALID_STATE ((int32_t)0x80370105)

struct bridge_hdr {
	uint32_t type;
	uint32_t size;
	uint64_t id;
};

void bridge_hdr_encode(uint8_t *p, const struct bridge_hdr *h);
void bridge_hdr_decode(const uint8_t *p, struct bridge_hdr *h);
/* hcsshim's GetResponseIdentifier: the request bits become response bits. */
uint32_t bridge_response_type(uint32_t request_type);
const char *bridge_msg_name(uint32_t type);

/* Incremental message decoder: a header, then a body of at most @max bytes. */
struct bridge_reader {
	uint32_t max;
	uint8_t hdr[BRIDGE_HDR_SIZE];
	size_t hdr_len;
	struct bridge_hdr h;
	char *body;		/* NUL-terminated once complete */
	size_t body_len;
	size_t got;
};

void bridge_reader_init(struct bridge_reader *r, uint32_t max);
void bridge_reader_free(struct bridge_reader *r);
/*
 * Consumes input; returns bytes consumed and sets *@done when a whole
 * message is in r->h / r->body / r->body_len (valid until the next feed).
 * Returns -1 with @e set for a header whose size is impossible or over the
 * limit; r->h then still holds that header.
 */
long bridge_reader_feed(struct bridge_reader *r, const uint8_t *in, size_t len,
			bool *done, struct err *e);
bool bridge_reader_partial(const struct bridge_reader *r);

#endif
