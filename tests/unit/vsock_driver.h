/* SPDX-License-Identifier: MIT */
#ifndef TESTS_UNIT_VSOCK_DRIVER_H
#define TESTS_UNIT_VSOCK_DRIVER_H

/*
 * The guest's half of virtio-vsock on top of the simulated virtio driver:
 * receive buffers kept posted, packets built and parsed by hand, so tests
 * can play a well-behaved guest or any kind of broken one. Used by the
 * vsock unit tests and the vsock benchmark; no test framework in here.
 */

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/vsock/vsock.h"
#include "devices/virtio/vsock/packet.h"
#include "virtio_driver.h"

#define VG_MAX_RX 256
#define VG_ASYNC 32

struct vguest {
	struct vdrv *d;
	uint32_t cid;
	uint32_t rx_size;              /* bytes per receive buffer */
	uint64_t rx_gpa[VG_MAX_RX];    /* by descriptor head */
	uint64_t tx_gpa;               /* one packet at a time */
	uint32_t tx_cap;
	uint16_t rx_unkicked;
	bool rx_split;                 /* header over two descriptors */
	uint64_t async_gpa;            /* VG_ASYNC header-only packets */
	unsigned int async_next;
	unsigned int async_inflight;
};

/*
 * Queues are set up (vdrv_start) by the caller. Posts @nr_rx receive
 * buffers of @rx_size bytes each (header included).
 */
void vg_init(struct vguest *g, struct vdrv *d, uint32_t cid,
	     unsigned int nr_rx, uint32_t rx_size);

/*
 * The same with every receive buffer split in three descriptors (20 and 24
 * bytes of header, then the payload), contiguous in guest memory.
 */
void vg_init_split(struct vguest *g, struct vdrv *d, uint32_t cid,
		   unsigned int nr_rx, uint32_t rx_size);

/* A stream header from the guest's @src_port to host port @dst_port. */
struct vsock_hdr vg_hdr(const struct vguest *g, uint16_t op,
			uint32_t src_port, uint32_t dst_port);

/*
 * Sends one packet: @h (its len set to @len) and @len payload bytes, in one
 * buffer. Waits until the device used it; false when it did not.
 */
bool vg_send(struct vguest *g, struct vsock_hdr h, const void *payload,
	     uint32_t len);
/*
 * Sends a header-only packet without waiting for the device, as Linux's
 * transmit path does; completions are collected on later sends.
 */
bool vg_send_hdr_async(struct vguest *g, struct vsock_hdr h);
/* Sends @len raw bytes as a packet, whatever they hold. */
bool vg_send_raw(struct vguest *g, const void *buf, uint32_t len);

/*
 * Takes the next packet the device delivered within @ms: its header and
 * up to @cap payload bytes (@len gets the payload length). The buffer goes
 * back to the device at once.
 */
bool vg_recv(struct vguest *g, struct vsock_hdr *h, void *payload,
	     uint32_t cap, uint32_t *len, int ms);
/* Like vg_recv(), without waiting; re-posted buffers are kicked in bulk. */
bool vg_poll(struct vguest *g, struct vsock_hdr *h, void *payload,
	     uint32_t cap, uint32_t *len);
/* Kicks the receive queue if buffers were re-posted since the last kick. */
void vg_flush_rx(struct vguest *g);

#endif
