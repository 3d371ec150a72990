// SPDX-License-Identifier: MIT
#include "msix.h"

#include <string.h>

#define PBA_SIZE 8 /* one qword holds every vector's bit */

static bool vector_masked(const struct pci_msix *m, unsigned int i)
{
	return m->masked || (m->vec[i].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/*
 * Whenever a vector may deliver: route its current message, then send
 * what was held back while it was masked.
 */
static void vector_update(struct pci_msix *m, unsigned int i)
{
	struct pci_msix_vector *v = &m->vec[i];
	struct err e;

	if (!m->enabled || vector_masked(m, i))
		return;
	if (!v->routed) {
		uint64_t addr = (uint64_t)v->addr_hi << 32 | v->addr_lo;

		if (m->host->msi_route(m->host, &v->line, addr, v->data, &e) < 0) {
			log_guest_once("%s: MSI-X vector %u: %s", m->name, i,
				       e.msg);
			return;
		}
		v->routed = true;
	}
	if (m->pending & (1U << i)) {
		m->pending &= ~(1U << i);
		irq_line_pulse(&v->line);
	}
}

static void update_all(struct pci_msix *m)
{
	for (unsigned int i = 0; i < m->nr; i++)
		vector_update(m, i);
}

void pci_msix_reset(struct pci_msix *m)
{
	for (unsigned int i = 0; i < m->nr; i++) {
		struct pci_msix_vector *v = &m->vec[i];

		v->addr_lo = v->addr_hi = v->data = 0;
		v->ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		v->routed = false;
	}
	m->pending = 0;
	m->enabled = false;
	m->masked = false;
}

int pci_msix_init(struct pci_msix *m, struct pci_func *f,
		  struct device_host *host, unsigned int nr, unsigned int bar,
		  uint32_t table_off, uint32_t pba_off, struct err *e)
{
	uint8_t cap;

	memset(m, 0, sizeof(*m));
	m->host = host;
	m->func = f;
	m->name = f->name;
	if (nr == 0 || nr > PCI_MSIX_MAX_VECTORS || bar >= PCI_NR_BARS ||
	    (table_off | pba_off) & 7)
		return err_set(e, "%s: MSI-X with %u vectors in BAR %u cannot be described",
			       f->name, nr, bar);
	cap = pci_func_add_cap(f, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_SIZE);
	if (!cap)
		return err_set(e, "%s: no room for the MSI-X capability", f->name);
	m->cap = cap;
	m->nr = nr;
	pci_config_set(f, cap + PCI_MSIX_FLAGS, 2, nr - 1);
	pci_config_set(f, cap + PCI_MSIX_TABLE, 4, table_off | bar);
	pci_config_set(f, cap + PCI_MSIX_PBA, 4, pba_off | bar);
	/* Only enable and function mask are the guest's to change. */
	f->wmask[cap + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	for (; m->nr_lines < nr; m->nr_lines++) {
		if (host->msi_line(host, &m->vec[m->nr_lines].line, e) < 0) {
			err_prefix(e, "%s: MSI-X vector %u", f->name,
				   m->nr_lines);
			pci_msix_free(m);
			return -1;
		}
	}
	pci_msix_reset(m);
	return 0;
}

void pci_msix_free(struct pci_msix *m)
{
	for (unsigned int i = 0; i < m->nr_lines; i++)
		m->host->irq_line_free(m->host, &m->vec[i].line);
	m->nr_lines = 0;
}

void pci_msix_config_write(struct pci_msix *m, uint32_t off, uint32_t len)
{
	uint16_t flags;
	bool was_enabled = m->enabled;

	if (!m->cap || off >= (uint32_t)m->cap + PCI_MSIX_CAP_SIZE ||
	    off + len <= m->cap)
		return;
	flags = (uint16_t)pci_config_get(m->func, m->cap + PCI_MSIX_FLAGS, 2);
	m->enabled = flags & PCI_MSIX_FLAGS_ENABLE;
	m->masked = flags & PCI_MSIX_FLAGS_MASKALL;
	/* Turning MSI-X off drops what was pending, as the PBA is undefined then. */
	if (was_enabled && !m->enabled)
		m->pending = 0;
	update_all(m);
}

/* Dword or aligned qword accesses only (6.8.2.9); anything else is dropped. */
static bool access_ok(uint64_t off, uint32_t len, uint64_t size)
{
	return (len == 4 || len == 8) && off % len == 0 && range_ok(off, len, size);
}

static uint32_t entry_dword(const struct pci_msix_vector *v, unsigned int reg)
{
	switch (reg) {
	case 0:
		return v->addr_lo;
	case 4:
		return v->addr_hi;
	case PCI_MSIX_ENTRY_DATA:
		return v->data;
	default:
		return v->ctrl;
	}
}

void pci_msix_table_read(struct pci_msix *m, uint64_t off, void *data,
			 uint32_t len)
{
	memset(data, 0, len);
	if (!access_ok(off, len, (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE)) {
		log_guest_once("%s: %u-byte MSI-X table read at %#llx", m->name,
			       len, (unsigned long long)off);
		return;
	}
	for (uint32_t i = 0; i < len; i += 4) {
		const struct pci_msix_vector *v =
			&m->vec[(off + i) / PCI_MSIX_ENTRY_SIZE];

		put_le32((uint8_t *)data + i,
			 entry_dword(v, (unsigned int)((off + i) % PCI_MSIX_ENTRY_SIZE)));
	}
}

static void entry_write(struct pci_msix *m, unsigned int idx, unsigned int reg,
			uint32_t val)
{
	struct pci_msix_vector *v = &m->vec[idx];
	uint32_t *field = reg == 0 ? &v->addr_lo :
			  reg == 4 ? &v->addr_hi :
			  reg == PCI_MSIX_ENTRY_DATA ? &v->data : NULL;

	if (field) {
		if (*field != val)
			v->routed = false;
		*field = val;
	} else {
		/* Only the mask bit of vector control is defined. */
		v->ctrl = val & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	vector_update(m, idx);
}

void pci_msix_table_write(struct pci_msix *m, uint64_t off, const void *data,
			  uint32_t len)
{
	if (!access_ok(off, len, (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE)) {
		log_guest_once("%s: %u-byte MSI-X table write at %#llx",
			       m->name, len, (unsigned long long)off);
		return;
	}
	for (uint32_t i = 0; i < len; i += 4)
		entry_write(m, (unsigned int)((off + i) / PCI_MSIX_ENTRY_SIZE),
			    (unsigned int)((off + i) % PCI_MSIX_ENTRY_SIZE),
			    get_le32((const uint8_t *)data + i));
}

void pci_msix_pba_read(struct pci_msix *m, uint64_t off, void *data,
		       uint32_t len)
{
	uint8_t pba[PBA_SIZE] = { 0 };

	memset(data, 0, len);
	if (!access_ok(off, len, PBA_SIZE))
		return;
	put_le32(pba, m->pending);
	memcpy(data, pba + off, len);
}

bool pci_msix_enabled(const struct pci_msix *m)
{
	return m->enabled;
}

bool pci_msix_vector_ok(const struct pci_msix *m, uint16_t vector)
{
	return vector < m->nr;
}

void pci_msix_notify(struct pci_msix *m, uint16_t vector)
{
	if (!m->enabled || vector >= m->nr)
		return;
	m->pending |= 1U << vector;
	vector_update(m, vector);
}
