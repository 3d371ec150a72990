/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_TRANSPORT_H
#define DEVICES_VIRTIO_TRANSPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"
#include "lib/event.h"
#include "lib/util.h"

#include "virtio.h"

/*
 * What the two transports (virtio-mmio and virtio-pci) share: the device
 * status machine, feature negotiation, queue setup, notifications from
 * eventfds served on the event loop, and the reset and teardown order. A
 * transport embeds struct virtio_transport, decodes its own register
 * layout into the calls below and says how it interrupts the driver.
 *
 * Every call here is made with the device lock (@lock) held, except
 * virtio_transport_init(), virtio_transport_teardown() and what they say.
 */

struct virtio_transport;

struct virtio_transport_ops {
	/*
	 * Interrupts the driver: for @vq's used buffers, or for a
	 * configuration change when @vq is NULL.
	 */
	void (*interrupt)(struct virtio_transport *t, struct virtq *vq);
	/* Transport registers back to their reset values. Optional. */
	void (*reset)(struct virtio_transport *t);
	/*
	 * The VM's reset, after the device's: what a power cycle resets
	 * beyond the virtio registers (PCI configuration space). Optional;
	 * lock not held.
	 */
	void (*machine_reset)(struct virtio_transport *t);
	/*
	 * Takes the transport off the guest's view (buses, interrupts); from
	 * the device's destroy, before the queues go. Lock not held.
	 */
	void (*unplug)(struct virtio_transport *t);
	/* Frees the transport's memory; @t is gone afterwards. */
	void (*free)(struct virtio_transport *t);
};

/* A queue's notification eventfd as an event loop source. */
struct virtio_kick {
	struct event_source src;
	struct virtio_transport *t;
	struct virtq *vq;
	bool watched;      /* on the event loop */
	bool bound;        /* signalled by the host's ioeventfd at @bound_addr */
	uint64_t bound_addr;
	uint32_t bound_len;
};

struct virtio_transport {
	struct device dev;
	char name[64];
	struct device_host *host;
	struct virtio_device *vdev;
	const struct virtio_transport_ops *ops;
	pthread_mutex_t lock;

	uint32_t status;
	uint32_t isr;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint64_t driver_features;
	uint32_t config_generation;
	bool reset_logged;
	bool resetting; /* the device completes a reset (virtio_reset_defer) */

	struct virtio_kick kicks[VIRTIO_MAX_QUEUES];
};

/* The queue registers a driver programs while a queue is not ready. */
enum virtio_queue_field {
	VIRTIO_QUEUE_SIZE,
	VIRTIO_QUEUE_DESC_LOW,
	VIRTIO_QUEUE_DESC_HIGH,
	VIRTIO_QUEUE_DRIVER_LOW,
	VIRTIO_QUEUE_DRIVER_HIGH,
	VIRTIO_QUEUE_DEVICE_LOW,
	VIRTIO_QUEUE_DEVICE_HIGH,
};

/*
 * Sets up @t for @vdev (named @name in logs): the lock, one notification
 * eventfd per queue watched on the event loop, the lifecycle handle in
 * @t->dev. On failure everything is undone and @vdev is left untouched.
 */
int virtio_transport_init(struct virtio_transport *t, struct device_host *host,
			  struct virtio_device *vdev, const char *name,
			  const struct virtio_transport_ops *ops, struct err *e);
/*
 * Undoes virtio_transport_init() and the notification bindings; the
 * device's own destroy is the caller's. Lock not held.
 */
void virtio_transport_teardown(struct virtio_transport *t);

/*
 * Binds queue @qi's eventfd to guest writes of its index at @addr (@len
 * bytes) through the host's ioeventfd, moving it when already bound
 * elsewhere; @addr 0 unbinds. Without an ioeventfd the transport forwards
 * such writes with virtio_transport_kick().
 */
void virtio_transport_bind_notify(struct virtio_transport *t, unsigned int qi,
				  uint64_t addr, uint32_t len);
/* The driver notified queue @qi (out of range: logged and ignored). */
void virtio_transport_kick(struct virtio_transport *t, uint32_t qi);

/* Device and driver feature words @sel (0 or 1; others read 0). */
uint32_t virtio_transport_device_features(struct virtio_transport *t,
					  uint32_t sel);
void virtio_transport_driver_features(struct virtio_transport *t, uint32_t sel,
				      uint32_t val);
/* The status register: bits only added until 0 resets the device. */
void virtio_transport_set_status(struct virtio_transport *t, uint32_t val);
/* The queue QueueSel/queue_select names, or NULL past the last one. */
struct virtq *virtio_transport_queue(struct virtio_transport *t);
/* Writes a queue register; ignored (and logged) once the queue is ready. */
void virtio_transport_queue_write(struct virtio_transport *t,
				  enum virtio_queue_field field, uint32_t val);
/*
 * Enables the selected queue, or disables it (virtio-mmio's QueueReady 0;
 * virtio-pci has no way to).
 */
void virtio_transport_queue_ready(struct virtio_transport *t, bool ready);
/* The device configuration space: reads past its end give zeros. */
void virtio_transport_config_read(struct virtio_transport *t, uint64_t off,
				  void *data, uint32_t len);
void virtio_transport_config_write(struct virtio_transport *t, uint64_t off,
				   const void *data, uint32_t len);
/* Full reset (status 0 or the VM's reset). */
void virtio_transport_reset(struct virtio_transport *t);

#endif
