/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VSOCK_PACKET_H
#define DEVICES_VIRTIO_VSOCK_PACKET_H

#include <stdint.h>

/*
 * virtio-vsock packets on the wire (virtio 1.x, 5.10.6): the header every
 * packet starts with, its operations and flags, and the event the device
 * sends on the event queue.
 */

/* struct virtio_vsock_hdr, little endian, packed. */
#define VSOCK_HDR_SIZE 44
#define VSOCK_HDR_SRC_CID 0
#define VSOCK_HDR_DST_CID 8
#define VSOCK_HDR_SRC_PORT 16
#define VSOCK_HDR_DST_PORT 20
#define VSOCK_HDR_LEN 24
#define VSOCK_HDR_TYPE 28
#define VSOCK_HDR_OP 30
#define VSOCK_HDR_FLAGS 32
#define VSOCK_HDR_BUF_ALLOC 36
#define VSOCK_HDR_FWD_CNT 40

#define VSOCK_TYPE_STREAM 1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive / send no more. */
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2

/* struct virtio_vsock_event: le32 id. */
#define VSOCK_EVENT_SIZE 4
#define VSOCK_EVENT_TRANSPORT_RESET 0

#define VSOCK_HOST_CID 2
/* VMADDR_PORT_ANY: not a port a stream can use. */
#define VSOCK_PORT_ANY 0xffffffffU

/* A decoded packet header. */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE]);

#endif
