/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_PCI_MSIX_H
#define DEVICES_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2): the capability, the vector table and
 * the pending bit array, which live in one of the function's BARs. Each
 * vector is a message-signalled route of the host's (KVM GSI routing and
 * an irqfd), programmed when the guest unmasks the vector, so a vector
 * fires from the thread that raises it without a trip through a vCPU. A
 * vector raised while masked, by its own mask bit or the function mask,
 * is kept in the PBA and sent when unmasked.
 *
 * The owner serializes every call with its device lock.
 */

#define PCI_MSIX_CAP_SIZE 12
#define PCI_MSIX_FLAGS 2
#define PCI_MSIX_FLAGS_QSIZE 0x07ff
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE 4
#define PCI_MSIX_PBA 8
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_ENTRY_DATA 8
#define PCI_MSIX_ENTRY_CTRL 12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1
#define PCI_MSIX_MAX_VECTORS 32
/* "No vector" as virtio and others write it. */
#define PCI_MSIX_NO_VECTOR 0xffff

struct pci_msix_vector {
	uint32_t addr_lo, addr_hi, data, ctrl;
	struct irq_line line;
	bool routed; /* the line carries the message above */
};

struct pci_msix {
	struct device_host *host;
	struct pci_func *func;
	const char *name;
	unsigned int nr;
	uint8_t cap;
	unsigned int nr_lines; /* connected so far */
	struct pci_msix_vector vec[PCI_MSIX_MAX_VECTORS];
	uint32_t pending; /* the PBA */
	bool enabled;
	bool masked; /* the function mask */
};

/*
 * Adds the capability to @f for @nr vectors (1 to PCI_MSIX_MAX_VECTORS)
 * with the table at @table_off and the PBA at @pba_off of BAR @bar, and
 * connects one message-signalled line per vector. Every vector starts
 * masked and the capability disabled.
 */
int pci_msix_init(struct pci_msix *m, struct pci_func *f,
		  struct device_host *host, unsigned int nr, unsigned int bar,
		  uint32_t table_off, uint32_t pba_off, struct err *e);
void pci_msix_free(struct pci_msix *m);
/* Table and PBA back to reset values (masked, no message, none pending). */
void pci_msix_reset(struct pci_msix *m);

/* The function's config_write hook saw [off, off + len) change. */
void pci_msix_config_write(struct pci_msix *m, uint32_t off, uint32_t len);
/* Guest accesses inside the table and PBA, offsets from their starts. */
void pci_msix_table_read(struct pci_msix *m, uint64_t off, void *data,
			 uint32_t len);
void pci_msix_table_write(struct pci_msix *m, uint64_t off, const void *data,
			  uint32_t len);
void pci_msix_pba_read(struct pci_msix *m, uint64_t off, void *data,
		       uint32_t len);

/* True when the guest enabled MSI-X (INTx is then off). */
bool pci_msix_enabled(const struct pci_msix *m);
/* True when @vector names a table entry. */
bool pci_msix_vector_ok(const struct pci_msix *m, uint16_t vector);
/* Raises @vector: sent now, or pending while masked. */
void pci_msix_notify(struct pci_msix *m, uint16_t vector);

#endif
