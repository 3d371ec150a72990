/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_PCI_H
#define DEVICES_VIRTIO_PCI_H

#include <stdint.h>

#include "devices/pci/pci.h"
#include "vmm/device.h"
#include "lib/util.h"

#include "virtio.h"

/*
 * The virtio-pci transport, modern (virtio 1.x, 4.1) and nothing else: a
 * PCI function 1af4:(1040 + device ID), revision 1, whose vendor-specific
 * capabilities point into BAR 4 (64-bit, prefetchable) for the common
 * configuration, ISR, device configuration and notification structures,
 * with an MSI-X table and PBA in BAR 1 (one vector per queue and one for
 * configuration changes) and INTA# for drivers that leave MSI-X off.
 */

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_REVISION 1

/* virtio_pci_cap.cfg_type (4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5
/* struct virtio_pci_cap: vndr, next, len, cfg_type, bar, id, pad[2], offset, length */
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_OFFSET 8
#define VIRTIO_PCI_CAP_LENGTH 12
#define VIRTIO_PCI_CAP_SIZE 16
#define VIRTIO_PCI_NOTIFY_CAP_MULT 16 /* notify_off_multiplier */
#define VIRTIO_PCI_CFG_CAP_DATA 16    /* pci_cfg_data[4] */
#define VIRTIO_PCI_EXT_CAP_SIZE 20

/* struct virtio_pci_common_cfg (4.1.4.3) */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF 0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF 0x0c
#define VIRTIO_PCI_COMMON_MSIX 0x10
#define VIRTIO_PCI_COMMON_NUMQ 0x12
#define VIRTIO_PCI_COMMON_STATUS 0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO 0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI 0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO 0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI 0x34
#define VIRTIO_PCI_COMMON_SIZE 0x38

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Where the structures live. */
#define VIRTIO_PCI_MSIX_BAR 1
#define VIRTIO_PCI_MSIX_BAR_SIZE 0x1000
#define VIRTIO_PCI_MSIX_TABLE 0x000
#define VIRTIO_PCI_MSIX_PBA 0x800
#define VIRTIO_PCI_BAR 4
#define VIRTIO_PCI_BAR_SIZE 0x4000
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_ISR_OFF 0x1000
#define VIRTIO_PCI_DEVICE_OFF 0x2000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_REGION_SIZE 0x1000
#define VIRTIO_PCI_NOTIFY_MULT 4 /* queue N's doorbell at NOTIFY_OFF + 4N */

/*
 * Puts @vdev in slot @slot of @bus, with INTA# on interrupt @intx_gsi. See
 * virtio_attach() for what the caller gets back.
 */
int virtio_pci_create(struct device_host *host, struct pci_bus *bus,
		      unsigned int slot, uint32_t intx_gsi,
		      struct virtio_device *vdev, struct device **out,
		      struct err *e);

#endif
