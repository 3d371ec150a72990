/* SPDX-License-Identifier: MIT */
#ifndef TESTS_UNIT_VIRTIO_DRIVER_H
#define TESTS_UNIT_VIRTIO_DRIVER_H

/*
 * A virtio-mmio driver simulated on guest memory, and the fake host the
 * devices run on: guest RAM in a memfd, a real event loop on its own
 * thread, an MMIO bus, interrupt lines that count their pulses, and
 * optionally ioeventfd bindings like KVM's. The driver plays the guest:
 * it programs the registers through the bus, as a vCPU exit would, builds
 * descriptor chains in guest memory, rings the doorbell and reads the used
 * ring. Used by the unit tests and by the blk benchmark; no test framework
 * in here.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "lib/event.h"
#include "vmm/memory.h"

#define VTEST_MAX_GSI 24
#define VTEST_MAX_IOEVENTFD 16
#define VTEST_BASE 0xd0000000ULL
#define VTEST_GSI 5

struct vtest_irq {
	struct irq_line line;
	unsigned int pulses;
};

struct vtest_ioeventfd {
	uint64_t addr;
	uint64_t datamatch;
	int fd;
};

struct vtest_host {
	struct device_host host;
	struct guest_mem mem;
	struct event_loop loop;
	struct bus mmio;
	struct bus pio;
	bool running;
	bool kvm_ioeventfd; /* bind notifications like KVM does */
	struct vtest_irq irqs[VTEST_MAX_GSI];
	struct vtest_ioeventfd ioev[VTEST_MAX_IOEVENTFD];
	unsigned int nr_ioev;
	/* The devices' clock: CLOCK_MONOTONIC until a test fakes it. */
	bool fake_clock;
	uint64_t fake_now_ns;
};

/* @mem_size bytes of guest RAM; returns -1 with errno on failure. */
int vtest_host_init(struct vtest_host *th, uint64_t mem_size,
		    bool kvm_ioeventfd);
/* Runs the event loop on its own thread. */
int vtest_host_start(struct vtest_host *th);
/* Stops and joins the loop thread (devices are destroyed after this). */
void vtest_host_stop(struct vtest_host *th);
void vtest_host_destroy(struct vtest_host *th);
unsigned int vtest_irq_count(struct vtest_host *th, uint32_t gsi);
/* Waits up to @ms for a pulse on @gsi; true when one came. */
bool vtest_irq_wait(struct vtest_host *th, uint32_t gsi, int ms);
/*
 * From now on the devices' clock reads @now_ns, and moves only with
 * vtest_clock_advance(): rates and latencies become exact counts.
 */
void vtest_clock_fake(struct vtest_host *th, uint64_t now_ns);
void vtest_clock_advance(struct vtest_host *th, uint64_t ns);
/* Thread CPU time of the loop thread, in nanoseconds. */
uint64_t vtest_loop_cpu_ns(struct vtest_host *th);
/* True when @fd is registered in the loop's epoll set. */
bool vtest_loop_watches(struct vtest_host *th, int fd);

#define VDRV_MAX_QUEUES 4
#define VDRV_MAX_CHAIN 256

struct vdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

struct vdrv_queue {
	uint16_t size;
	uint64_t desc, avail, used; /* guest-physical */
	uint16_t avail_idx;         /* next index the driver publishes */
	uint16_t last_used;         /* next used index the driver reads */
	bool event_idx;
	bool hold_used_event;       /* the test placed used_event itself */
	uint16_t *free;             /* free descriptor stack */
	uint16_t nr_free;
	uint16_t *chain_len;        /* descriptors held by each head */
	uint16_t (*chain)[VDRV_MAX_CHAIN];
};

struct vdrv {
	struct vtest_host *th;
	uint64_t base;
	uint32_t gsi;
	uint64_t features;
	struct vdrv_queue q[VDRV_MAX_QUEUES];
	uint64_t heap;
	uint64_t heap_end;
};

/* A driver for the device at @base/@gsi, allocating from [heap, +size). */
void vdrv_init(struct vdrv *d, struct vtest_host *th, uint64_t base,
	       uint32_t gsi, uint64_t heap, uint64_t heap_size);
void vdrv_free(struct vdrv *d);
/*
 * Ends a test's device in the only safe order: the loop stops first, so no
 * back-end handler runs while the device (when *@dev is set) is destroyed;
 * then the driver and the host go. *@dev is left NULL.
 */
void vtest_teardown(struct vtest_host *th, struct device **dev,
		    struct vdrv *drv);

uint32_t vdrv_read(struct vdrv *d, uint64_t off);
void vdrv_write(struct vdrv *d, uint64_t off, uint32_t val);
uint64_t vdrv_device_features(struct vdrv *d);
uint32_t vdrv_status(struct vdrv *d);
void vdrv_config_read(struct vdrv *d, uint32_t off, void *buf, uint32_t len);

/* Guest memory for buffers: zeroed, never freed. */
uint64_t vdrv_alloc(struct vdrv *d, uint64_t size, uint64_t align);
void *vdrv_ptr(struct vdrv *d, uint64_t gpa, uint64_t len);

/*
 * Reset, ACKNOWLEDGE, DRIVER, features @want, FEATURES_OK. Returns 0 when
 * the device kept FEATURES_OK, -1 when it refused.
 */
int vdrv_negotiate(struct vdrv *d, uint64_t want);
/*
 * Writes 0 to the status and waits up to @ms for it to read 0, as a driver
 * must before it sets the device up again (virtio 1.2, 2.4.2).
 */
bool vdrv_reset(struct vdrv *d, int ms);
/* Allocates the rings for queue @qi with @size entries and enables it. */
int vdrv_setup_queue(struct vdrv *d, unsigned int qi, uint16_t size);
void vdrv_driver_ok(struct vdrv *d);
/* All of the above for queues 0..@nr_queues-1. */
int vdrv_start(struct vdrv *d, uint64_t want, unsigned int nr_queues,
	       uint16_t size);

/*
 * Makes a chain of @n buffers available (in an indirect table when
 * @indirect). Returns the head, or -1 when descriptors ran out.
 */
int vdrv_add(struct vdrv *d, unsigned int qi, const struct vdrv_buf *bufs,
	     unsigned int n, bool indirect);
/* Rings the doorbell: ioeventfd when bound, else a QueueNotify write. */
void vdrv_kick(struct vdrv *d, unsigned int qi);
/* Rings it only if the device asked for notifications. */
bool vdrv_kick_if_needed(struct vdrv *d, unsigned int qi, uint16_t old_idx);
/*
 * Takes one used element; returns false when none is there. With EVENT_IDX
 * it then asks for an interrupt at the next one, as Linux does.
 */
bool vdrv_get_used(struct vdrv *d, unsigned int qi, uint32_t *id,
		   uint32_t *len);
/* Waits up to @ms for a used element, sleeping on the interrupt. */
bool vdrv_wait_used(struct vdrv *d, unsigned int qi, uint32_t *id,
		    uint32_t *len, int ms);
/*
 * Tells the device which used index the driver wants an interrupt at; the
 * driver no longer moves it by itself.
 */
void vdrv_set_used_event(struct vdrv *d, unsigned int qi, uint16_t idx);
/* Waits up to @ms for status bit @bit to be set. */
bool vdrv_wait_status(struct vdrv *d, uint32_t bit, int ms);

/* Raw ring access for hostile drivers. */
void vdrv_desc_write(struct vdrv *d, unsigned int qi, uint16_t i,
		     uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next);
void vdrv_publish(struct vdrv *d, unsigned int qi, uint16_t head);
void vdrv_set_avail_idx(struct vdrv *d, unsigned int qi, uint16_t idx);
uint16_t vdrv_used_idx(struct vdrv *d, unsigned int qi);
uint16_t vdrv_used_flags(struct vdrv *d, unsigned int qi);
uint16_t vdrv_avail_event(struct vdrv *d, unsigned int qi);

#endif
