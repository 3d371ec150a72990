/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VIRTIO_H
#define DEVICES_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/config.h"
#include "vmm/device.h"
#include "lib/util.h"

#include "virtqueue.h"

/*
 * The interface between a virtio transport (virtio-mmio or virtio-pci) and
 * a device type (block, network, console, vsock, balloon). The transport
 * owns the registers, the status state machine, feature negotiation, the
 * queues and the interrupts; a device type says what it offers and handles
 * what the driver hands it, whichever transport carries it.
 *
 * Locking: every device callback runs with the device lock held. Device
 * back-end handlers (a TAP becoming readable, an AIO completion) take it with
 * virtio_lock() before they touch queues or device state.
 */

/* Status bits (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Reserved feature bits the transport offers or understands (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Device IDs (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK 19

/* InterruptStatus bits. */
#define VIRTIO_INT_USED 0x1
#define VIRTIO_INT_CONFIG 0x2

#define VIRTIO_BIT(b) (1ULL << (b))

#define VIRTIO_MAX_QUEUES 4

struct virtio_device;
struct state_writer;
struct state_section;
struct virtio_transport;
struct pci_bus;

/* Where a device goes: a transport and its address on it. */
struct virtio_attach {
	enum virtio_transport_kind kind;
	/* virtio-mmio: the 4 KiB register window and its interrupt */
	uint64_t base;
	uint32_t gsi;
	/* virtio-pci: the bus and the slot (device number) on it */
	struct pci_bus *pci;
	unsigned int slot;
};

struct virtio_device_ops {
	/*
	 * Checks dependencies between the features the driver accepted;
	 * returns false to refuse FEATURES_OK. Optional.
	 */
	bool (*features_ok)(struct virtio_device *vdev, uint64_t features);
	/* The driver wrote into the configuration space. Optional. */
	void (*config_write)(struct virtio_device *vdev, uint32_t offset,
			     const void *data, uint32_t len);
	/*
	 * DRIVER_OK: the negotiated features are final and the ready queues
	 * are set up. Returns -1 when the back end cannot work with them (the
	 * device then needs a reset). Optional.
	 */
	int (*activate)(struct virtio_device *vdev);
	/* The driver made buffers available on @vq (queue is ready). */
	void (*queue_notify)(struct virtio_device *vdev, struct virtq *vq);
	/*
	 * Device reset, on the vCPU that wrote the status register: drop
	 * per-session state, keep the back end open. A device that cannot
	 * stop using guest memory at once (I/O in flight) calls
	 * virtio_reset_defer() and finishes on the event loop; it never
	 * waits here.
	 */
	void (*reset)(struct virtio_device *vdev);
	/* Frees the device; the transport is already gone. */
	void (*destroy)(struct virtio_device *vdev);
	/*
	 * Snapshot, on the event loop with every vCPU parked: finish the I/O
	 * in flight, so that its completions are in the used rings (and a
	 * deferred reset is done). Optional.
	 */
	int (*quiesce)(struct virtio_device *vdev, struct err *e);
	/* Snapshot: what the device keeps beyond queues and config. Optional. */
	void (*save)(struct virtio_device *vdev, struct state_writer *w);
	/*
	 * Restore, once the transport's registers and queues are back and
	 * before the device is activated: takes what save() wrote and the
	 * configuration space the driver saw (virtio_saved_config()).
	 * Without this op the configuration space must be what the device
	 * has now.
	 */
	int (*restore)(struct virtio_device *vdev,
		       const struct state_section *s, struct err *e);
};

/*
 * A device type embeds this and fills the fields above the line before
 * virtio_attach(); the transport fills the rest.
 */
struct virtio_device {
	const char *name;
	uint32_t device_id;
	uint64_t features; /* device-specific bits the device offers */
	unsigned int nr_queues;
	uint16_t queue_max[VIRTIO_MAX_QUEUES];
	uint8_t *config;
	uint32_t config_len;
	const struct virtio_device_ops *ops;

	struct device_host *host;
	struct virtio_transport *transport;
	uint64_t negotiated; /* final once FEATURES_OK is set */
	struct virtq vqs[VIRTIO_MAX_QUEUES];
};

/*
 * Puts @vdev on the transport @at names. On success the transport owns
 * @vdev and returns the lifecycle handle for the VM's device list in @out:
 * its reset is a device reset, its destroy tears down transport and
 * device (on the event loop thread, or once the loop has stopped).
 * Notifications arrive on one eventfd per queue, bound to the guest's
 * doorbell writes with the host's ioeventfd where it has one, and are
 * served on the event loop.
 */
int virtio_attach(struct device_host *host, const struct virtio_attach *at,
		  struct virtio_device *vdev, struct device **out,
		  struct err *e);

static inline bool virtio_has_feature(const struct virtio_device *vdev,
				      unsigned int bit)
{
	return vdev->negotiated & VIRTIO_BIT(bit);
}

/* Device lock; see above. */
void virtio_lock(struct virtio_device *vdev);
void virtio_unlock(struct virtio_device *vdev);

/* True after DRIVER_OK and before a reset or a fatal error (lock held). */
bool virtio_active(const struct virtio_device *vdev);

/*
 * From the reset op: the reset is not complete until virtio_reset_done().
 * Meanwhile the status register keeps reading non-zero and the driver's
 * register writes are ignored, as virtio 1.2, 2.4 lets a device do: the
 * driver considers a reset complete once the status reads 0. The device
 * is inactive the whole time.
 */
void virtio_reset_defer(struct virtio_device *vdev);
/* The deferred reset is complete: the device no longer touches memory. */
void virtio_reset_done(struct virtio_device *vdev);

/*
 * Sends a used-buffer notification for @vq unless the driver suppressed it
 * (EVENT_IDX or VIRTQ_AVAIL_F_NO_INTERRUPT). Call after a batch of pushes.
 */
void virtio_notify_used(struct virtio_device *vdev, struct virtq *vq);

/*
 * Has @vq processed again from the event loop, for a device that stopped
 * early to let other work run.
 */
void virtio_queue_kick(struct virtio_device *vdev, struct virtq *vq);

/* Bumps the configuration generation and interrupts the driver. */
void virtio_config_changed(struct virtio_device *vdev);

/*
 * The driver broke the protocol (a looping chain, a buffer outside RAM):
 * the device stops processing until reset and tells the driver through
 * DEVICE_NEEDS_RESET. @why is logged once.
 */
void virtio_needs_reset(struct virtio_device *vdev, const char *why);

/*
 * Restore: the configuration space the driver saw when the snapshot was
 * taken, config_len bytes into @buf.
 */
int virtio_saved_config(struct virtio_device *vdev,
			const struct state_section *s, uint8_t *buf,
			struct err *e);
/* Fails, naming the first byte, unless the device's config is the saved one. */
int virtio_check_config(struct virtio_device *vdev,
			const struct state_section *s, struct err *e);

/*
 * Pops the next chain of @vq. Returns 1 with @chain filled, 0 when the ring
 * is empty, -1 when it is broken (the device is marked as needing reset).
 * While chains keep coming the driver is told not to notify; before "empty"
 * is reported notifications are re-armed and the ring checked once more, so
 * a buffer added meanwhile is never missed.
 */
int virtio_pop(struct virtio_device *vdev, struct virtq *vq,
	       struct virtq_chain *chain);

#endif
