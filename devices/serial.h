/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_SERIAL_H
#define DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/chardev.h"
#include "vmm/device.h"

#define SERIAL_FIFO_SIZE 16

/*
 * A 16550A UART: the registers, FIFOs, interrupt identification and modem
 * status lines that Linux's 8250 driver probes and uses.
 */
struct serial {
	struct device dev;
	struct bus_device io;
	struct chardev chr;
	struct irq_line *irq;
	struct irq_line irq_storage;
	char name[8];
	pthread_mutex_t lock;

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thri_pending; /* THR-empty interrupt armed, not yet acknowledged */
	bool irq_level;

	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_len;
};

/*
 * Where the platform puts a UART: on @host's port I/O bus (a PC's COM
 * ports) or its MMIO bus (one register per byte), at @base, raising
 * interrupt line @gsi.
 */
struct serial_place {
	bool mmio;
	uint64_t base;
	uint32_t gsi;
};

/*
 * Creates COM@index (1-4) at @at, with its host end given by @cfg. The
 * device registers itself on @host's bus.
 */
int serial_create(struct device_host *host, unsigned int index,
		  const struct serial_place *at,
		  const struct chardev_config *cfg,
		  const struct chardev_quit *quit, struct serial **out,
		  struct err *e);

/*
 * The register model without a host end, for tests: @irq receives the
 * interrupt line level, output goes to @chr when set up by the caller.
 * serial_init_regs() resets the registers; the lock is the caller's to
 * initialise, once.
 */
void serial_init_regs(struct serial *s, struct irq_line *irq);
void serial_reg_read(struct serial *s, uint64_t offset, uint8_t *val);
void serial_reg_write(struct serial *s, uint64_t offset, uint8_t val);
/* Feeds host input; returns how many bytes fit in the receive FIFO. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

#endif
