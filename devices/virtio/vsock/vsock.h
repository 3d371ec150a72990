/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VSOCK_VSOCK_H
#define DEVICES_VIRTIO_VSOCK_VSOCK_H

#include <stdint.h>

#include "vmm/config.h"
#include "vmm/control.h"
#include "devices/virtio/virtio.h"
#include "vmm/device.h"
#include "lib/util.h"

#include "packet.h"

/*
 * virtio-vsock (virtio 1.x, 5.10) with its host end in the VMM: guest
 * streams are relayed to Unix sockets, compatible with Firecracker's
 * vsock. See docs/virtio-vsock.md.
 */


/* Feature bits (5.10.3). */
#define VIRTIO_VSOCK_F_STREAM 0

/* Queues (5.10.2). */
#define VIRTIO_VSOCK_RXQ 0
#define VIRTIO_VSOCK_TXQ 1
#define VIRTIO_VSOCK_EVQ 2
#define VIRTIO_VSOCK_QUEUE_SIZE 256
#define VIRTIO_VSOCK_EVQ_SIZE 16

/* Configuration space (5.10.4): le64 guest_cid. */
#define VIRTIO_VSOCK_CFG_SIZE 8

/*
 * Limits. Each connection buffers at most VSOCK_BUF_ALLOC bytes on their
 * way to the host (the receive window the guest is told about), allocated
 * only once the host socket pushes back; data to the guest goes straight
 * from the host socket into the guest's buffers, never more than the
 * guest's window. So the VMM holds at most VSOCK_MAX_CONNS *
 * VSOCK_BUF_ALLOC bytes for vsock, whatever the guest and the host do.
 */
#define VSOCK_BUF_ALLOC (64 * 1024)
#define VSOCK_MAX_PKT (64 * 1024)
#define VSOCK_MAX_CONNS 1024
#define VSOCK_MAX_LISTENERS 256
/* A host client's "CONNECT <port>\n", a REQUEST's answer, a close. */
#define VSOCK_HANDSHAKE_TIMEOUT_MS 5000
#define VSOCK_CONNECT_TIMEOUT_MS 5000
#define VSOCK_LINGER_TIMEOUT_MS 5000
/* Host ports of host-initiated connections start here. */
#define VSOCK_EPHEMERAL_BASE (1U << 30)

/* What the device counted; every malformed packet lands in one counter. */
struct vsock_counters {
	uint64_t connections; /* established, either way */
	uint64_t tx_packets; /* from the guest */
	uint64_t rx_packets; /* to the guest */
	uint64_t tx_bytes;   /* stream payload from the guest */
	uint64_t rx_bytes;   /* stream payload to the guest */
	uint64_t bad_header; /* under 44 bytes, or len past the buffer/limit */
	uint64_t bad_src_cid;
	uint64_t bad_dst_cid;
	uint64_t bad_type;
	uint64_t bad_op;
	uint64_t bad_state; /* an op the connection's state does not allow */
	uint64_t credit_violations;
	uint64_t bad_rx_buffers; /* receive chains the device cannot use */
	uint64_t rst_dropped;    /* connection-less RSTs lost to a full queue */
	uint64_t refused;        /* guest connections nothing listens for */
	uint64_t conn_limit;     /* connections refused at the cap */
	uint64_t host_bad_connect; /* host clients without a valid CONNECT */
	uint64_t timeouts;
	uint64_t events; /* TRANSPORT_RESET events delivered */
	unsigned int conns;       /* open now */
	uint64_t buffered;        /* bytes waiting for host sockets now */
	uint64_t buffer_capacity; /* bytes allocated for that now */
};

/*
 * Creates the device on the transport @at names for the guest CID
 * and Unix socket @cfg names, with @cfg's extra listeners; the socket is
 * listening on return. @control (owned by the device) is what the control
 * API calls.
 */
int virtio_vsock_create(struct device_host *host,
			const struct virtio_attach *at,
			const struct vsock_config *cfg, struct device **out,
			struct vsock_control **control, struct err *e);

/* A snapshot of the counters (any thread). */
void virtio_vsock_counters(struct vsock_control *control,
			   struct vsock_counters *out);

/*
 * Drops every connection (their host sockets are closed) and sends the
 * driver VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, as after a restore or a host
 * side restart. Event loop thread.
 */
int virtio_vsock_transport_reset(struct vsock_control *control,
				 struct err *e);

#endif
