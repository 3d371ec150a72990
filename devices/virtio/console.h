/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_CONSOLE_H
#define DEVICES_VIRTIO_CONSOLE_H

#include <stdint.h>

#include "vmm/config.h"
#include "devices/virtio/virtio.h"
#include "vmm/device.h"
#include "lib/util.h"

/* Feature bits (virtio 1.x, 5.3.3). */
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Configuration space (5.3.4): cols, rows, max_nr_ports, emerg_wr. */
#define VIRTIO_CONSOLE_CFG_EMERG_WR 8
#define VIRTIO_CONSOLE_CFG_SIZE 12

#define VIRTIO_CONSOLE_RXQ 0
#define VIRTIO_CONSOLE_TXQ 1
#define VIRTIO_CONSOLE_QUEUE_SIZE 128

/*
 * A virtio-console with one port (no MULTIPORT), on the transport @at
 * names, relayed to the host end @cfg describes (stdio, a file or
 * a Unix socket; see devices/chardev.h).
 */
int virtio_console_create(struct device_host *host,
			  const struct virtio_attach *at,
			  const struct chardev_config *cfg,
			  struct device **out, struct err *e);

#endif
