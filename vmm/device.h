/* SPDX-License-Identifier: MIT */
#ifndef VMM_DEVICE_H
#define VMM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "lib/event.h"
#include "memory.h"
#include "lib/util.h"
#include "metrics.h"

/*
 * An interrupt line into the guest. Level-triggered devices (the UART, PCI
 * INTx) use irq_line_set(); edge-triggered ones (virtio-mmio) and message
 * signalled interrupts (MSI-X vectors) use irq_line_pulse(), which on KVM
 * writes the line's irqfd and never leaves the calling thread.
 */
struct irq_line;

struct irq_line_ops {
	void (*set)(struct irq_line *line, int level);
	void (*pulse)(struct irq_line *line);
};

struct irq_line {
	const struct irq_line_ops *ops;
	uint32_t gsi;
	int fd;
	void *opaque;
};

static inline void irq_line_set(struct irq_line *line, int level)
{
	line->ops->set(line, level);
}

static inline void irq_line_pulse(struct irq_line *line)
{
	line->ops->pulse(line);
}

enum device_power_event {
	DEVICE_POWER_OFF,
	DEVICE_POWER_RESET,
	DEVICE_POWER_EXIT_STATUS,
};

/*
 * What the core lends every device: guest memory, the event loop, the two
 * buses, eventfd bindings and interrupt lines. Tests build one on a plain
 * buffer without KVM.
 */
struct device_host {
	struct guest_mem *mem;
	struct event_loop *loop;
	struct bus *pio;
	struct bus *mmio;
	/*
	 * Binds @fd to guest writes of @datamatch at MMIO @addr, so they are
	 * signalled without a trip through a vCPU exit handler. NULL or -1
	 * returned: the device keeps handling the write itself.
	 */
	int (*ioeventfd)(struct device_host *host, uint64_t addr, uint32_t len,
			 uint64_t datamatch, int fd, bool assign);
	/* Connects @line to guest interrupt @gsi. */
	int (*irq_line)(struct device_host *host, uint32_t gsi,
			struct irq_line *line, struct err *e);
	/*
	 * Connects @line to a message-signalled interrupt route of its own. It
	 * sends nothing until msi_route() says which message it carries.
	 */
	int (*msi_line)(struct device_host *host, struct irq_line *line,
			struct err *e);
	/*
	 * The message @line sends from now on: the address and data the guest
	 * programmed (an MSI-X table entry). Fails when the host cannot route
	 * it; the line then keeps its old message.
	 */
	int (*msi_route)(struct device_host *host, struct irq_line *line,
			 uint64_t addr, uint32_t data, struct err *e);
	/* Releases a line from irq_line() or msi_line(). */
	void (*irq_line_free)(struct device_host *host, struct irq_line *line);
	/*
	 * Maps @size bytes at @hva read-only at guest @gpa, or takes that
	 * mapping away (@present false). While it is there, guest reads come
	 * from @hva without an exit and only writes reach the device's bus
	 * handlers: a ROM that also takes commands, as a flash chip does.
	 * One such window per VM.
	 */
	int (*rom_window)(struct device_host *host, uint64_t gpa, void *hva,
			  uint64_t size, bool present, struct err *e);
	/* Allocates the next free GSI for a device, or returns 0 when none is left. */
	uint32_t (*irq_alloc)(struct device_host *host);
	/* The guest asked to power off, reset, or exit with a status. */
	void (*power)(struct device_host *host, enum device_power_event ev,
		      int status);
	/*
	 * Host connections a device may hold for the guest, from the
	 * process's descriptor budget; 0: the device's own maximum.
	 */
	unsigned int max_conns;
	/*
	 * The time devices measure with (request latency, rate limits), in
	 * nanoseconds of CLOCK_MONOTONIC; tests drive their own.
	 */
	uint64_t (*now_ns)(struct device_host *host);
	void *opaque;
};

/*
 * Lifecycle hooks the core calls on every device: reset on guest reboot,
 * destroy at teardown, save and restore for snapshots.
 */
struct device;
struct state_writer;
struct state_section;

struct device_ops {
	void (*reset)(struct device *dev);
	void (*destroy)(struct device *dev);
	/*
	 * Snapshot, on the event loop thread while every vCPU is parked:
	 * finishes the I/O the device has in flight (its results reach the
	 * guest's memory first), then writes the device's state into the
	 * open section of @w. Optional: a device without state has none.
	 */
	int (*save)(struct device *dev, struct state_writer *w, struct err *e);
	/*
	 * Restore, on the event loop thread before any vCPU runs: the device,
	 * created from the snapshot's config, takes on the state in @s. Every
	 * value is checked as the guest's own would be (an address against
	 * guest RAM, an index against its queue).
	 */
	int (*restore)(struct device *dev, const struct state_section *s,
		       struct err *e);
};

struct device {
	const char *name;
	const struct device_ops *ops;
	/*
	 * Where the guest finds it, for InspectVM: the transport or bus
	 * ("virtio-mmio", "pci", "pio") and the address on it ("0xfe000000",
	 * "0000:00:02.0", "0x3f8"). NULL and "" for devices without one.
	 */
	const char *transport;
	char address[24];
	/*
	 * The device's counters (vmm/metrics.h), NULL when it keeps none.
	 * The device fills the group; the core gives it its id and registers
	 * it while the device is on the VM's list.
	 */
	struct metrics_group *metrics;
	struct device *next;
};

#endif
