/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_NET_H
#define DEVICES_VIRTIO_NET_H

#include <stdint.h>

#include "vmm/config.h"
#include "devices/virtio/virtio.h"
#include "vmm/control.h"
#include "vmm/device.h"
#include "lib/util.h"

/* Feature bits (virtio 1.x, 5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* Configuration space (5.1.4): mac[6], status. */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_SIZE 8
#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 (5.1.6): flags, gso_type, ..., num_buffers. */
#define VIRTIO_NET_HDR_SIZE 12
#define VIRTIO_NET_HDR_FLAGS 0
#define VIRTIO_NET_HDR_NUM_BUFFERS 10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
#define VIRTIO_NET_QUEUE_SIZE 256
/* Largest frame: a 64 KiB IP packet with Ethernet and VLAN headers. */
#define VIRTIO_NET_MAX_FRAME (65535 + 14 + 4)

/*
 * A virtio-net device on a TAP back end, opened by interface name or
 * passed in as an open descriptor, on the transport @at names. The
 * TAP carries virtio_net_hdr_v1 headers (IFF_VNET_HDR), so checksum and
 * TSO offloads pass straight between guest and host. Each direction is
 * limited as @cfg->rate_limit says; @limits changes that while it runs.
 */
int virtio_net_create(struct device_host *host,
		      const struct virtio_attach *at,
		      const struct net_config *cfg, struct device **out,
		      struct rate_limit_control **limits, struct err *e);

#endif
