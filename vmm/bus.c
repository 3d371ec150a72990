// SPDX-License-Identifier: MIT
#include "bus.h"

#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->devs);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first device whose window ends after @addr. */
static unsigned int bus_search(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr_devs;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_device *d = bus->devs[mid];

		if (d->base + d->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, struct bus_device *dev, struct err *e)
{
	unsigned int i;
	int ret = 0;

	if (dev->len == 0 || dev->base + dev->len < dev->base)
		return err_set(e, "%s: invalid %s window %#llx+%#llx",
			       dev->name, bus->name,
			       (unsigned long long)dev->base,
			       (unsigned long long)dev->len);
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_search(bus, dev->base);
	if (i < bus->nr_devs && bus->devs[i]->base < dev->base + dev->len) {
		ret = err_set(e, "%s: %s window %#llx+%#llx overlaps %s",
			      dev->name, bus->name,
			      (unsigned long long)dev->base,
			      (unsigned long long)dev->len,
			      bus->devs[i]->name);
		goto out;
	}
	if (bus->nr_devs == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_device **devs =
			realloc(bus->devs, cap * sizeof(*devs));

		if (!devs) {
			ret = err_set(e, "%s: out of memory", dev->name);
			goto out;
		}
		bus->devs = devs;
		bus->cap = cap;
	}
	memmove(&bus->devs[i + 1], &bus->devs[i],
		(bus->nr_devs - i) * sizeof(*bus->devs));
	bus->devs[i] = dev;
	bus->nr_devs++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

void bus_unregister(struct bus *bus, struct bus_device *dev)
{
	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned int i = 0; i < bus->nr_devs; i++) {
		if (bus->devs[i] != dev)
			continue;
		memmove(&bus->devs[i], &bus->devs[i + 1],
			(bus->nr_devs - i - 1) * sizeof(*bus->devs));
		bus->nr_devs--;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
}

static struct bus_device *bus_find(struct bus *bus, uint64_t addr,
				   uint32_t len)
{
	unsigned int i = bus_search(bus, addr);
	struct bus_device *d;

	if (i == bus->nr_devs)
		return NULL;
	d = bus->devs[i];
	/* The whole access must fall inside one window. */
	if (addr < d->base || !range_ok(addr - d->base, len, d->len))
		return NULL;
	return d;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len)
{
	struct bus_device *d;

	pthread_rwlock_rdlock(&bus->lock);
	d = bus_find(bus, addr, len);
	if (d && d->ops->read)
		d->ops->read(d, addr - d->base, data, len);
	else
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&bus->lock);
	return d != NULL;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	struct bus_device *d;

	pthread_rwlock_rdlock(&bus->lock);
	d = bus_find(bus, addr, len);
	if (d && d->ops->write)
		d->ops->write(d, addr - d->base, data, len);
	pthread_rwlock_unlock(&bus->lock);
	return d != NULL;
}
