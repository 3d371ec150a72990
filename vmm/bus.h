/* SPDX-License-Identifier: MIT */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * The thin interface between the VMM core and a device model. A device puts
 * one bus_device per register window on the port-I/O or MMIO bus; a vCPU
 * thread that exits on an access in that window calls read() or write()
 * with the offset into the window. Handlers run on vCPU threads, possibly
 * several at once, so a device with state shared with the event loop locks
 * it itself.
 */
struct bus_device;

struct bus_device_ops {
	void (*read)(struct bus_device *dev, uint64_t offset, void *data,
		     uint32_t len);
	void (*write)(struct bus_device *dev, uint64_t offset,
		      const void *data, uint32_t len);
};

struct bus_device {
	const char *name;
	uint64_t base;
	uint64_t len;
	const struct bus_device_ops *ops;
	void *opaque;
};

/* A sorted, non-overlapping set of windows; lookups take a read lock. */
struct bus {
	const char *name;
	pthread_rwlock_t lock;
	unsigned int nr_devs;
	unsigned int cap;
	struct bus_device **devs;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* Fails when the window overlaps one already registered. */
int bus_register(struct bus *bus, struct bus_device *dev, struct err *e);
void bus_unregister(struct bus *bus, struct bus_device *dev);

/*
 * Dispatches one access. Returns false when no device claims @addr; reads of
 * unclaimed addresses then fill @data with 0xff, as an open bus does.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
