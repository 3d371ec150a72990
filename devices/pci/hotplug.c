// SPDX-License-Identifier: MIT
/*
 * The guest's answers arrive on vCPUs (register writes from _EJ0 and
 * _OST); what the VMM does about them (freeing a device, answering the
 * control socket) happens on the event loop. The vCPU records them under
 * the controller's lock and wakes the loop through an eventfd; only the
 * function's removal from the bus happens on the vCPU itself, so the
 * guest never sees an ejected device again.
 */
#include "hotplug.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Slot 0 is the host bridge's: never plugged, never ejected. */
#define SLOT_BITS (~1U)

struct eject_request {
	struct pci_hotplug *hp;
	unsigned int slot;
	pci_hotplug_done_fn done; /* NULL: no request */
	void *ctx;
	struct event_source timer;
	bool timer_watched;
};

struct pci_hotplug {
	struct device dev;
	struct device_host *host;
	struct pci_bus *bus;
	const struct pci_hotplug_ops *ops;
	void *opaque;
	struct bus_device regs;
	struct irq_line irq;
	bool irq_set_up;

	uint32_t pinned; /* slots whose device cannot be ejected */

	pthread_mutex_t lock; /* the fields below, between vCPUs and the loop */
	uint32_t up;          /* PCIU */
	uint32_t down;        /* PCID */
	uint32_t ejected;     /* B0EJ writes the loop has yet to act on */
	uint32_t refused;     /* failed _OST eject answers, likewise */
	uint16_t refused_status[PCI_NR_SLOTS];

	struct event_source wake; /* eventfd: the loop has something to do */
	bool wake_watched;
	struct eject_request req[PCI_NR_SLOTS];
};

static void wake_loop(struct pci_hotplug *hp)
{
	uint64_t one = 1;

	if (write(hp->wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("PCI hotplug: waking the event loop: %s",
			 strerror(errno));
}

/* ---- the registers (vCPU threads) ---- */

static uint32_t take(struct pci_hotplug *hp, uint32_t *bits)
{
	uint32_t v;

	pthread_mutex_lock(&hp->lock);
	v = *bits;
	*bits = 0;
	pthread_mutex_unlock(&hp->lock);
	return v;
}

static void regs_read(struct bus_device *bd, uint64_t off, void *data,
		      uint32_t len)
{
	struct pci_hotplug *hp = bd->opaque;
	uint32_t v = 0;

	memset(data, 0, len);
	if (len != 4 || off % 4) {
		log_guest_once("PCI hotplug: %u-byte read at register %#llx",
			       len, (unsigned long long)off);
		return;
	}
	if (off == PCI_HOTPLUG_PCIU)
		v = take(hp, &hp->up);
	else if (off == PCI_HOTPLUG_PCID)
		v = take(hp, &hp->down);
	put_le32(data, v);
}

static void eject_write(struct pci_hotplug *hp, uint32_t slots)
{
	uint32_t gone = 0;

	slots &= SLOT_BITS & ~hp->pinned;
	for (unsigned int s = 1; s < PCI_NR_SLOTS; s++)
		if ((slots & (1U << s)) && pci_bus_unplug_slot(hp->bus, s))
			gone |= 1U << s;
	if (!gone)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->ejected |= gone;
	hp->down &= ~gone;
	pthread_mutex_unlock(&hp->lock);
	wake_loop(hp);
}

static void ost_write(struct pci_hotplug *hp, uint32_t v)
{
	unsigned int slot = v & 0xff, event = (v >> 8) & 0xff;
	uint16_t status = (uint16_t)(v >> 16);

	if (slot == 0 || slot >= PCI_NR_SLOTS ||
	    status == PCI_HOTPLUG_OST_SUCCESS)
		return;
	if (event != PCI_HOTPLUG_EVENT_EJECT) {
		log_guest_once("PCI hotplug: the guest could not handle event %u on slot %u (_OST status %#x)",
			       event, slot, status);
		return;
	}
	pthread_mutex_lock(&hp->lock);
	hp->refused |= 1U << slot;
	hp->refused_status[slot] = status;
	pthread_mutex_unlock(&hp->lock);
	wake_loop(hp);
}

static void regs_write(struct bus_device *bd, uint64_t off, const void *data,
		       uint32_t len)
{
	struct pci_hotplug *hp = bd->opaque;

	if (len != 4 || off % 4) {
		log_guest_once("PCI hotplug: %u-byte write at register %#llx",
			       len, (unsigned long long)off);
		return;
	}
	if (off == PCI_HOTPLUG_B0EJ)
		eject_write(hp, get_le32(data));
	else if (off == PCI_HOTPLUG_OSTR)
		ost_write(hp, get_le32(data));
}

static const struct bus_device_ops regs_ops = {
	.read = regs_read,
	.write = regs_write,
};

/* ---- requests (event loop) ---- */

static void signal_guest(struct pci_hotplug *hp, uint32_t *bits,
			 unsigned int slot)
{
	pthread_mutex_lock(&hp->lock);
	*bits |= 1U << slot;
	pthread_mutex_unlock(&hp->lock);
	irq_line_pulse(&hp->irq);
}

static void finish(struct eject_request *r, const struct err *e)
{
	pci_hotplug_done_fn done = r->done;
	void *ctx = r->ctx;

	if (!done)
		return;
	r->done = NULL;
	if (r->timer_watched)
		event_loop_remove(r->hp->host->loop, &r->timer);
	r->timer_watched = false;
	if (r->timer.fd >= 0)
		close(r->timer.fd);
	r->timer.fd = -1;
	done(ctx, e);
}

/* The guest had its chance: the request ends, the slot keeps its device. */
static void request_timeout(void *opaque, uint32_t events)
{
	struct eject_request *r = opaque;
	struct pci_hotplug *hp = r->hp;
	struct err e;

	(void)events;
	pthread_mutex_lock(&hp->lock);
	hp->down &= ~(1U << r->slot);
	pthread_mutex_unlock(&hp->lock);
	err_set(&e, "the guest did not eject slot %u in time (no ACPI PCI hotplug support, or it ignored the request); the device stays",
		r->slot);
	finish(r, &e);
}

static const char *ost_reason(uint16_t status)
{
	switch (status) {
	case 0x80:
		return "ejection not supported";
	case 0x81:
		return "device in use";
	case 0x82:
		return "device busy";
	case 0x83:
		return "a dependent device is busy";
	case 0x84:
		return "ejection already in progress";
	default:
		return "failure";
	}
}

static void wake_event(void *opaque, uint32_t events)
{
	struct pci_hotplug *hp = opaque;
	uint32_t ejected, refused;
	uint16_t status[PCI_NR_SLOTS];
	uint64_t v;
	struct err e;

	(void)events;
	if (read(hp->wake.fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&hp->lock);
	ejected = hp->ejected;
	refused = hp->refused & ~ejected;
	memcpy(status, hp->refused_status, sizeof(status));
	hp->ejected = hp->refused = 0;
	pthread_mutex_unlock(&hp->lock);
	for (unsigned int s = 1; s < PCI_NR_SLOTS; s++) {
		if (ejected & (1U << s)) {
			hp->ops->ejected(hp->opaque, s);
			finish(&hp->req[s], NULL);
		} else if (refused & (1U << s)) {
			err_set(&e, "the guest refused to eject slot %u (_OST status %#x: %s)",
				s, status[s], ost_reason(status[s]));
			finish(&hp->req[s], &e);
		}
	}
}

void pci_hotplug_pin(struct pci_hotplug *hp, unsigned int slot)
{
	if (slot < PCI_NR_SLOTS)
		hp->pinned |= 1U << slot;
}

void pci_hotplug_added(struct pci_hotplug *hp, unsigned int slot)
{
	if (slot == 0 || slot >= PCI_NR_SLOTS)
		return;
	signal_guest(hp, &hp->up, slot);
}

int pci_hotplug_eject(struct pci_hotplug *hp, unsigned int slot,
		      unsigned int timeout_ms, pci_hotplug_done_fn done,
		      void *ctx, struct err *e)
{
	struct eject_request *r;
	struct itimerspec its = {
		.it_value = { .tv_sec = timeout_ms / 1000,
			      .tv_nsec = (long)(timeout_ms % 1000) * 1000000 },
	};

	if (slot == 0 || slot >= PCI_NR_SLOTS || !pci_bus_slot_used(hp->bus, slot))
		return err_set(e, "PCI slot %u holds no device", slot);
	if (hp->pinned & (1U << slot))
		return err_set(e, "PCI slot %u holds a device that cannot be removed",
			       slot);
	r = &hp->req[slot];
	if (r->done)
		return err_set(e, "slot %u: an eject request is already pending",
			       slot);
	r->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer.fd < 0)
		return err_errno(e, "slot %u: timerfd", slot);
	r->timer.events = EPOLLIN;
	r->timer.fn = request_timeout;
	r->timer.opaque = r;
	if (timerfd_settime(r->timer.fd, 0, &its, NULL) < 0 ||
	    event_loop_add(hp->host->loop, &r->timer) < 0) {
		err_errno(e, "slot %u: arming the eject timeout", slot);
		close(r->timer.fd);
		r->timer.fd = -1;
		return -1;
	}
	r->timer_watched = true;
	r->done = done;
	r->ctx = ctx;
	signal_guest(hp, &hp->down, slot);
	return 0;
}

/* ---- lifecycle ---- */

static void hotplug_free(struct pci_hotplug *hp)
{
	struct err e;

	err_set(&e, "the VM is going away");
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++)
		finish(&hp->req[s], &e);
	if (hp->wake_watched)
		event_loop_remove(hp->host->loop, &hp->wake);
	if (hp->wake.fd >= 0)
		close(hp->wake.fd);
	if (hp->regs.ops)
		bus_unregister(hp->host->pio, &hp->regs);
	if (hp->irq_set_up)
		hp->host->irq_line_free(hp->host, &hp->irq);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

static void hotplug_dev_destroy(struct device *dev)
{
	hotplug_free(container_of(dev, struct pci_hotplug, dev));
}

static const struct device_ops hotplug_dev_ops = {
	.destroy = hotplug_dev_destroy,
};

int pci_hotplug_create(struct device_host *host, struct pci_bus *bus,
		       uint16_t port, uint32_t gsi,
		       const struct pci_hotplug_ops *ops, void *opaque,
		       struct pci_hotplug **out, struct device **dev,
		       struct err *e)
{
	struct pci_hotplug *hp = calloc(1, sizeof(*hp));

	if (!hp)
		return err_set(e, "PCI hotplug: out of memory");
	hp->host = host;
	hp->bus = bus;
	hp->ops = ops;
	hp->opaque = opaque;
	pthread_mutex_init(&hp->lock, NULL);
	hp->dev = (struct device){ .name = "pci-hotplug", .ops = &hotplug_dev_ops };
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++)
		hp->req[s] = (struct eject_request){
			.hp = hp, .slot = s, .timer.fd = -1,
		};
	hp->wake = (struct event_source){
		.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		.events = EPOLLIN, .fn = wake_event, .opaque = hp,
	};
	if (hp->wake.fd < 0) {
		err_errno(e, "PCI hotplug: eventfd");
		goto fail;
	}
	if (event_loop_add(host->loop, &hp->wake) < 0) {
		err_errno(e, "PCI hotplug: watching its eventfd");
		goto fail;
	}
	hp->wake_watched = true;
	if (host->irq_line(host, gsi, &hp->irq, e) < 0) {
		err_prefix(e, "PCI hotplug");
		goto fail;
	}
	hp->irq_set_up = true;
	hp->regs = (struct bus_device){
		.name = "PCI hotplug registers", .base = port,
		.len = PCI_HOTPLUG_REGS, .ops = &regs_ops, .opaque = hp,
	};
	if (bus_register(host->pio, &hp->regs, e) < 0) {
		hp->regs.ops = NULL;
		goto fail;
	}
	*out = hp;
	*dev = &hp->dev;
	return 0;
fail:
	hotplug_free(hp);
	return -1;
}
