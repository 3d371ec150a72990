/* SPDX-License-Identifier: MIT */
#ifndef TESTS_UNIT_VIRTIO_DRIVER_H
#define TESTS_UNIT_VIRTIO_DRIVER_H

/*
 * A virtio driver simulated on guest memory, over virtio-mmio or
 * virtio-pci, and the fake host the devices run on: guest RAM in a memfd,
 * a real event loop on its own thread, MMIO and port buses, interrupt
 * lines and MSI routes that count their pulses, optionally a PCI bus, and
 * optionally ioeventfd bindings like KVM's. The driver plays the guest: it
 * programs the registers through the buses, as a vCPU exit would (for PCI
 * it finds the function through configuration space, places its BARs and
 * walks its capabilities first), builds descriptor chains in guest memory,
 * rings the doorbell and reads the used ring. Used by the unit tests and
 * by the benchmarks; no test framework in here.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "lib/event.h"
#include "vmm/memory.h"

#define VTEST_MAX_GSI 24
#define VTEST_MAX_MSI 64
#define VTEST_MAX_IOEVENTFD 64
#define VTEST_BASE 0xd0000000ULL
#define VTEST_GSI 5

/* The test host's PCI apertures (clear of VTEST_BASE and of guest RAM). */
#define VTEST_PCI_ECAM 0xe0000000ULL
#define VTEST_PCI_MMIO32 0xf0000000ULL
#define VTEST_PCI_MMIO32_END 0xf8000000ULL
#define VTEST_PCI_MMIO64 0x800000000ULL
#define VTEST_PCI_MMIO64_END 0x1000000000ULL
/* A 40-bit guest physical address space: BARs decode up to its top. */
#define VTEST_PCI_MMIO64_DECODE_END (1ULL << 40)
#define VTEST_PCI_SLOT 3

/* A virtio-mmio placement, for the devices' create functions. */
#define VTEST_MMIO(b, g)                                                       \
	((struct virtio_attach){ .kind = VIRTIO_TRANSPORT_MMIO, .base = (b),  \
				 .gsi = (g) })

struct vtest_irq {
	struct irq_line line;
	unsigned int pulses;
	/* MSI routes: in use, and the message the device routed. */
	bool used;
	bool routed;
	uint64_t addr;
	uint32_t data;
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
	struct vtest_irq msi[VTEST_MAX_MSI];
	pthread_mutex_t msi_lock;
	struct vtest_ioeventfd ioev[VTEST_MAX_IOEVENTFD];
	unsigned int nr_ioev;
	struct pci_bus *pci; /* from vtest_host_pci() */
	unsigned int power_events[DEVICE_POWER_EXIT_STATUS + 1];
	struct device *pci_dev, *pci_ports;
	/* Register accesses the driver made: VM exits, in a real guest. */
	unsigned long exits;
	/* The devices' clock: CLOCK_MONOTONIC until a test fakes it. */
	bool fake_clock;
	uint64_t fake_now_ns;
	/* The ROM window a device mapped, as KVM would keep it. */
	struct {
		bool present;
		uint64_t gpa, size;
		const uint8_t *hva;
	} rom;
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
/*
 * The PCI bus (created on first use, destroyed with the host) and a
 * virtio-pci placement in @slot with INTA# on VTEST_GSI.
 */
struct pci_bus *vtest_host_pci(struct vtest_host *th);
struct virtio_attach vtest_pci_at(struct vtest_host *th, unsigned int slot);
/*
 * The tests' standard placement: virtio-pci in VTEST_PCI_SLOT with @pci,
 * else the virtio-mmio window at VTEST_BASE with VTEST_GSI.
 */
struct virtio_attach vtest_at(struct vtest_host *th, bool pci);
/* The MSI route the device programmed with message @data, or NULL. */
struct vtest_irq *vtest_msi_find(struct vtest_host *th, uint32_t data);
/* Pulses on that route (0 when there is none). */
unsigned int vtest_msi_count(struct vtest_host *th, uint32_t data);
/* Waits up to @ms for a pulse on it. */
bool vtest_msi_wait(struct vtest_host *th, uint32_t data, int ms);
/* Waits up to @ms for a pulse on @gsi; true when one came. */
bool vtest_irq_wait(struct vtest_host *th, uint32_t gsi, int ms);
/*
 * Waits up to @ms for @gsi's pulse count to reach @pulses; true when it
 * did. Unlike vtest_irq_wait(), it cannot miss a pulse another wait took.
 */
bool vtest_irq_wait_pulses(struct vtest_host *th, uint32_t gsi,
			   unsigned int pulses, int ms);
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

/* What the PCI driver found and placed. */
struct vdrv_pci {
	unsigned int slot;
	uint64_t bar[PCI_NR_BARS]; /* where the driver placed each BAR */
	uint64_t common, isr, device, notify; /* the structures' addresses */
	uint32_t notify_mult;
	uint8_t msix_cap;
	uint64_t msix_table, msix_pba;
	uint16_t msix_size;
	bool msix; /* enabled: queue i on vector i, configuration on the last */
};

struct vdrv {
	struct vtest_host *th;
	uint64_t base;
	uint32_t gsi;
	bool is_pci;
	struct vdrv_pci pci;
	uint64_t features;
	struct vdrv_queue q[VDRV_MAX_QUEUES];
	uint64_t heap;
	uint64_t heap_end;
};

/* A driver for the device at @base/@gsi, allocating from [heap, +size). */
void vdrv_init(struct vdrv *d, struct vtest_host *th, uint64_t base,
	       uint32_t gsi, uint64_t heap, uint64_t heap_size);
/*
 * A driver for the virtio-pci function in @slot of the host's PCI bus: it
 * checks the IDs, sizes and places the BARs, turns on memory decoding and
 * bus mastering, finds the virtio structures through the capabilities and,
 * with @msix, enables MSI-X with one vector per queue and one for
 * configuration changes (message data VDRV_MSI_DATA(slot, vector)).
 * Returns -1 when the function does not look like a virtio-pci device.
 */
int vdrv_init_pci(struct vdrv *d, struct vtest_host *th, unsigned int slot,
		  bool msix, uint64_t heap, uint64_t heap_size);
/*
 * A driver for the device vtest_at(@th, @pci) placed: PCI with MSI-X, or
 * virtio-mmio. Returns -1 when the PCI function does not look right.
 */
int vdrv_init_at(struct vdrv *d, struct vtest_host *th, bool pci,
		 uint64_t heap, uint64_t heap_size);
#define VDRV_MSI_ADDR 0xfee00000ULL
#define VDRV_MSI_DATA(slot, vector) (0x4000U | (slot) << 6 | (vector))
/* The vector the driver gave configuration changes. */
#define VDRV_CONFIG_VECTOR(d) ((uint16_t)((d)->pci.msix_size - 1))

/* Configuration space through the 0xcf8/0xcfc ports, as a guest does it. */
uint32_t vdrv_cfg_read(struct vtest_host *th, unsigned int slot, uint32_t reg,
		       uint32_t len);
void vdrv_cfg_write(struct vtest_host *th, unsigned int slot, uint32_t reg,
		    uint32_t len, uint32_t val);
/* Guest memory-space accesses (a BAR, ECAM), little-endian. */
uint64_t vdrv_mem_read(struct vtest_host *th, uint64_t addr, uint32_t len);
void vdrv_mem_write(struct vtest_host *th, uint64_t addr, uint32_t len,
		    uint64_t val);
void vdrv_free(struct vdrv *d);
/*
 * Ends a test's device in the only safe order: the loop stops first, so no
 * back-end handler runs while the device (when *@dev is set) is destroyed;
 * then the driver and the host go. *@dev is left NULL.
 */
void vtest_teardown(struct vtest_host *th, struct device **dev,
		    struct vdrv *drv);

/* virtio-mmio registers (MMIO drivers only). */
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
/* Rings the doorbell: ioeventfd when bound, else a write to the doorbell. */
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
/* Waits up to @ms for the interrupt of queue @qi (-1: configuration). */
bool vdrv_irq_wait(struct vdrv *d, int qi, int ms);
/* Interrupts seen so far for queue @qi (-1: configuration). */
unsigned int vdrv_irq_count(struct vdrv *d, int qi);
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
