/* SPDX-License-Identifier: MIT */
#ifndef VMM_IRQ_ROUTING_H
#define VMM_IRQ_ROUTING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * KVM's GSI routing table, which KVM_SET_GSI_ROUTING replaces as a whole:
 * the interrupt controller pins (the architecture lists them), plus one
 * route per message-signalled interrupt line (an MSI-X vector), each on a
 * GSI past the pins with an irqfd of its own. Any thread; the lock is a
 * leaf.
 */

#define IRQ_ROUTING_MAX_MSI 256
#define IRQ_ROUTING_MAX_PINS 64

struct irq_routing_msi {
	bool used;
	bool routed; /* has a message; without one the GSI has no route */
	uint64_t addr;
	uint32_t data;
};

/* A GSI routed to pin @pin of in-kernel interrupt controller @chip. */
struct irq_routing_pin {
	uint32_t gsi, chip, pin;
};

struct irq_routing {
	int vm_fd;
	uint32_t first_msi_gsi;
	unsigned int nr_pins;
	struct irq_routing_pin pins[IRQ_ROUTING_MAX_PINS];
	pthread_mutex_t lock;
	struct irq_routing_msi msi[IRQ_ROUTING_MAX_MSI];
};

/*
 * The @nr_pins routes of the interrupt controller pins (at most
 * IRQ_ROUTING_MAX_PINS), kept in every table; MSI GSIs from @first_msi_gsi.
 * KVM keeps its own default pin routes until irq_routing_apply() or the
 * first MSI route.
 */
void irq_routing_init(struct irq_routing *r, int vm_fd,
		      const struct irq_routing_pin *pins, unsigned int nr_pins,
		      uint32_t first_msi_gsi);
/* Hands KVM the table as it stands. */
int irq_routing_apply(struct irq_routing *r, struct err *e);
void irq_routing_destroy(struct irq_routing *r);
/* Reserves a GSI for a new MSI line; it has no route yet. */
int irq_routing_alloc(struct irq_routing *r, uint32_t *gsi, struct err *e);
/* Routes @gsi to the message @addr/@data; on failure the old route stays. */
int irq_routing_set(struct irq_routing *r, uint32_t gsi, uint64_t addr,
		    uint32_t data, struct err *e);
/* Drops @gsi's route and makes the GSI free again. */
void irq_routing_free(struct irq_routing *r, uint32_t gsi);

#endif
