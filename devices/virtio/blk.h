/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include <stdint.h>

#include "vmm/config.h"
#include "devices/virtio/virtio.h"
#include "vmm/control.h"
#include "vmm/device.h"
#include "lib/util.h"

/* Request types and status values (virtio 1.x, 5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Configuration space layout (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_NUM_QUEUES 34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN 44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG 52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56
#define VIRTIO_BLK_CFG_SIZE 60

#define VIRTIO_BLK_WZ_UNMAP 1
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512

/* What this device reports and accepts. */
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX 128
#define VIRTIO_BLK_MAX_IO (64 * MiB)
#define VIRTIO_BLK_MAX_RANGE_SEG 32
#define VIRTIO_BLK_MAX_RANGE_SECTORS 0x3fffffU

/*
 * A virtio-blk device on a raw image file or block device, on the
 * transport @at names, limited as @cfg->rate_limit says; @limits changes
 * that while it runs. Fails with a message naming the disk when the image
 * cannot be opened, locked or sized, or Linux AIO cannot be set up.
 */
int virtio_blk_create(struct device_host *host,
		      const struct virtio_attach *at,
		      const struct disk_config *cfg, struct device **out,
		      struct rate_limit_control **limits, struct err *e);

#endif
