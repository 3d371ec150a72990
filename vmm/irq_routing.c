// SPDX-License-Identifier: MIT
#include "irq_routing.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

void irq_routing_init(struct irq_routing *r, int vm_fd,
		      const struct irq_routing_pin *pins, unsigned int nr_pins,
		      uint32_t first_msi_gsi)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->first_msi_gsi = first_msi_gsi;
	r->nr_pins = MIN(nr_pins, IRQ_ROUTING_MAX_PINS);
	memcpy(r->pins, pins, r->nr_pins * sizeof(*pins));
	pthread_mutex_init(&r->lock, NULL);
}

void irq_routing_destroy(struct irq_routing *r)
{
	pthread_mutex_destroy(&r->lock);
}

static void irqchip_entry(struct kvm_irq_routing_entry *e, uint32_t gsi,
			  uint32_t chip, uint32_t pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Lock held. */
static int commit(struct irq_routing *r, struct err *e)
{
	size_t size = sizeof(struct kvm_irq_routing) +
		      (IRQ_ROUTING_MAX_PINS + IRQ_ROUTING_MAX_MSI) *
			      sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *table = calloc(1, size);
	struct kvm_irq_routing_entry *ent;
	uint32_t n = 0;
	int ret = 0;

	if (!table)
		return err_set(e, "out of memory for the interrupt routing table");
	ent = table->entries;
	for (unsigned int i = 0; i < r->nr_pins; i++)
		irqchip_entry(&ent[n++], r->pins[i].gsi, r->pins[i].chip,
			      r->pins[i].pin);
	for (uint32_t i = 0; i < IRQ_ROUTING_MAX_MSI; i++) {
		const struct irq_routing_msi *m = &r->msi[i];

		if (!m->used || !m->routed)
			continue;
		memset(&ent[n], 0, sizeof(ent[n]));
		ent[n].gsi = r->first_msi_gsi + i;
		ent[n].type = KVM_IRQ_ROUTING_MSI;
		ent[n].u.msi.address_lo = (uint32_t)m->addr;
		ent[n].u.msi.address_hi = (uint32_t)(m->addr >> 32);
		ent[n].u.msi.data = m->data;
		n++;
	}
	table->nr = n;
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
		ret = err_errno(e, "KVM_SET_GSI_ROUTING with %u routes", n);
	free(table);
	return ret;
}

int irq_routing_apply(struct irq_routing *r, struct err *e)
{
	int ret;

	pthread_mutex_lock(&r->lock);
	ret = commit(r, e);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_routing_alloc(struct irq_routing *r, uint32_t *gsi, struct err *e)
{
	bool found = false;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < IRQ_ROUTING_MAX_MSI && !found; i++) {
		if (r->msi[i].used)
			continue;
		r->msi[i] = (struct irq_routing_msi){ .used = true };
		*gsi = r->first_msi_gsi + i;
		found = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (!found)
		return err_set(e, "all %d message-signalled interrupt routes are taken",
			       IRQ_ROUTING_MAX_MSI);
	return 0;
}

static struct irq_routing_msi *msi_of(struct irq_routing *r, uint32_t gsi)
{
	if (gsi < r->first_msi_gsi ||
	    gsi - r->first_msi_gsi >= IRQ_ROUTING_MAX_MSI)
		return NULL;
	return &r->msi[gsi - r->first_msi_gsi];
}

int irq_routing_set(struct irq_routing *r, uint32_t gsi, uint64_t addr,
		    uint32_t data, struct err *e)
{
	struct irq_routing_msi *m = msi_of(r, gsi), old;
	int ret;

	if (!m)
		return err_set(e, "GSI %u is not a message-signalled route", gsi);
	pthread_mutex_lock(&r->lock);
	if (!m->used) {
		pthread_mutex_unlock(&r->lock);
		return err_set(e, "GSI %u is not allocated", gsi);
	}
	old = *m;
	m->routed = true;
	m->addr = addr;
	m->data = data;
	ret = commit(r, e);
	if (ret < 0)
		*m = old;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void irq_routing_free(struct irq_routing *r, uint32_t gsi)
{
	struct irq_routing_msi *m = msi_of(r, gsi);
	struct err e;

	if (!m)
		return;
	pthread_mutex_lock(&r->lock);
	if (m->used && m->routed) {
		m->routed = false;
		if (commit(r, &e) < 0)
			log_warn("dropping the route of GSI %u: %s", gsi, e.msg);
	}
	m->used = false;
	pthread_mutex_unlock(&r->lock);
}
