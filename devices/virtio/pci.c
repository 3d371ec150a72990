// SPDX-License-Identifier: MIT
#include "pci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/msix.h"
#include "transport.h"

#define INTX_PIN 1 /* INTA# */

struct virtio_pci {
	struct virtio_transport t;
	struct pci_func func;
	struct pci_msix msix;
	bool msix_set_up;
	struct irq_line intx;
	bool intx_set_up;
	bool intx_level;    /* what the line is driven to */
	bool intx_disabled; /* the command register's INTx Disable */
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	uint8_t cfg_cap; /* the VIRTIO_PCI_CAP_PCI_CFG capability */
};

static struct virtio_pci *to_pci(struct virtio_transport *t)
{
	return container_of(t, struct virtio_pci, t);
}

static struct virtio_pci *func_to_pci(struct pci_func *f)
{
	return f->opaque;
}

/* ---- interrupts ---- */

/* INTx follows the ISR: asserted while it holds a reason, unless disabled. */
static void intx_update(struct virtio_pci *p)
{
	bool level = p->t.isr && !p->intx_disabled &&
		     !pci_msix_enabled(&p->msix);

	pci_func_set_intx(&p->func, p->t.isr != 0);
	if (level == p->intx_level || !p->intx_set_up)
		return;
	p->intx_level = level;
	irq_line_set(&p->intx, level);
}

static void pci_interrupt(struct virtio_transport *t, struct virtq *vq)
{
	struct virtio_pci *p = to_pci(t);

	if (pci_msix_enabled(&p->msix)) {
		uint16_t vector = vq ? p->queue_vector[vq->index] :
				       p->config_vector;

		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(&p->msix, vector);
		return;
	}
	t->isr |= vq ? VIRTIO_INT_USED : VIRTIO_INT_CONFIG;
	intx_update(p);
}

static void pci_transport_reset(struct virtio_transport *t)
{
	struct virtio_pci *p = to_pci(t);

	p->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		p->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	intx_update(p);
}

/* A vector the driver names: kept when the table has it (4.1.5.1.2). */
static uint16_t vector_or_none(struct virtio_pci *p, uint32_t v)
{
	return pci_msix_vector_ok(&p->msix, (uint16_t)v) ? (uint16_t)v :
							   VIRTIO_MSI_NO_VECTOR;
}

/* ---- the common configuration structure ---- */

static void common_image(struct virtio_pci *p, uint8_t *b)
{
	struct virtio_transport *t = &p->t;
	struct virtq *vq = virtio_transport_queue(t);
	uint32_t gf_sel = t->driver_features_sel;

	memset(b, 0, VIRTIO_PCI_COMMON_SIZE);
	put_le32(b + VIRTIO_PCI_COMMON_DFSELECT, t->device_features_sel);
	put_le32(b + VIRTIO_PCI_COMMON_DF,
		 virtio_transport_device_features(t, t->device_features_sel));
	put_le32(b + VIRTIO_PCI_COMMON_GFSELECT, gf_sel);
	put_le32(b + VIRTIO_PCI_COMMON_GF,
		 gf_sel == 0 ? (uint32_t)t->driver_features :
		 gf_sel == 1 ? (uint32_t)(t->driver_features >> 32) : 0);
	put_le16(b + VIRTIO_PCI_COMMON_MSIX, p->config_vector);
	put_le16(b + VIRTIO_PCI_COMMON_NUMQ, (uint16_t)t->vdev->nr_queues);
	b[VIRTIO_PCI_COMMON_STATUS] = (uint8_t)t->status;
	b[VIRTIO_PCI_COMMON_CFGGENERATION] = (uint8_t)t->config_generation;
	put_le16(b + VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)t->queue_sel);
	put_le16(b + VIRTIO_PCI_COMMON_Q_MSIX,
		 vq ? p->queue_vector[vq->index] : VIRTIO_MSI_NO_VECTOR);
	if (!vq)
		return; /* a queue size of 0: no such queue */
	put_le16(b + VIRTIO_PCI_COMMON_Q_SIZE, vq->size);
	put_le16(b + VIRTIO_PCI_COMMON_Q_ENABLE, vq->ready);
	put_le16(b + VIRTIO_PCI_COMMON_Q_NOFF, vq->index);
	put_le64(b + VIRTIO_PCI_COMMON_Q_DESCLO, vq->desc_gpa);
	put_le64(b + VIRTIO_PCI_COMMON_Q_AVAILLO, vq->avail_gpa);
	put_le64(b + VIRTIO_PCI_COMMON_Q_USEDLO, vq->used_gpa);
}

/* The queue's ring halves, by offset: desc, driver (avail), device (used). */
static bool ring_field(uint64_t off, enum virtio_queue_field *field)
{
	static const enum virtio_queue_field fields[] = {
		VIRTIO_QUEUE_DESC_LOW, VIRTIO_QUEUE_DESC_HIGH,
		VIRTIO_QUEUE_DRIVER_LOW, VIRTIO_QUEUE_DRIVER_HIGH,
		VIRTIO_QUEUE_DEVICE_LOW, VIRTIO_QUEUE_DEVICE_HIGH,
	};

	if (off < VIRTIO_PCI_COMMON_Q_DESCLO || off >= VIRTIO_PCI_COMMON_SIZE)
		return false;
	*field = fields[(off - VIRTIO_PCI_COMMON_Q_DESCLO) / 4];
	return true;
}

static void common_write16(struct virtio_pci *p, uint64_t off, uint16_t v)
{
	struct virtio_transport *t = &p->t;
	struct virtq *vq = virtio_transport_queue(t);

	switch (off) {
	case VIRTIO_PCI_COMMON_MSIX:
		p->config_vector = vector_or_none(p, v);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		t->queue_sel = v;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		virtio_transport_queue_write(t, VIRTIO_QUEUE_SIZE, v);
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (vq)
			p->queue_vector[vq->index] = vector_or_none(p, v);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* Only 1 is defined: a driver cannot take a queue back. */
		if (v == 1)
			virtio_transport_queue_ready(t, true);
		else
			log_guest_once("%s: queue_enable written with %u",
				       t->name, v);
		break;
	default:
		log_guest_once("%s: 16-bit write to read-only or unknown common register %#llx",
			       t->name, (unsigned long long)off);
	}
}

static void common_write32(struct virtio_pci *p, uint64_t off, uint32_t v)
{
	struct virtio_transport *t = &p->t;
	enum virtio_queue_field field;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		t->device_features_sel = v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		t->driver_features_sel = v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio_transport_driver_features(t, t->driver_features_sel, v);
		break;
	default:
		if (ring_field(off, &field))
			virtio_transport_queue_write(t, field, v);
		else
			log_guest_once("%s: 32-bit write to read-only or unknown common register %#llx",
				       t->name, (unsigned long long)off);
	}
}

/*
 * Each field takes its own width at its own offset, and the 64-bit ring
 * addresses also two 32-bit halves (4.1.3.1); anything else is dropped.
 */
static void common_write(struct virtio_pci *p, uint64_t off, const void *data,
			 uint32_t len)
{
	enum virtio_queue_field field;

	if (len == 1 && off == VIRTIO_PCI_COMMON_STATUS)
		virtio_transport_set_status(&p->t, *(const uint8_t *)data);
	else if (len == 2 && off % 2 == 0)
		common_write16(p, off, get_le16(data));
	else if (len == 4 && off % 4 == 0)
		common_write32(p, off, get_le32(data));
	else if (len == 8 && off % 8 == 0 && ring_field(off, &field)) {
		common_write32(p, off, get_le32(data));
		common_write32(p, off + 4, get_le32((const uint8_t *)data + 4));
	} else
		log_guest_once("%s: %u-byte write of common register %#llx",
			       p->t.name, len, (unsigned long long)off);
}

/* ---- BAR accesses ---- */

static void virtio_bar_read(struct virtio_pci *p, uint64_t off, void *data,
			    uint32_t len)
{
	uint64_t in = off % VIRTIO_PCI_REGION_SIZE;
	uint8_t b[VIRTIO_PCI_COMMON_SIZE];

	switch (off - in) {
	case VIRTIO_PCI_COMMON_OFF:
		if (in < VIRTIO_PCI_COMMON_SIZE) {
			common_image(p, b);
			memcpy(data, b + in, MIN(len, VIRTIO_PCI_COMMON_SIZE - in));
		}
		break;
	case VIRTIO_PCI_ISR_OFF:
		/* Reading the ISR acknowledges it (4.1.4.5). */
		if (in == 0) {
			*(uint8_t *)data = (uint8_t)p->t.isr;
			p->t.isr = 0;
			intx_update(p);
		}
		break;
	case VIRTIO_PCI_DEVICE_OFF:
		virtio_transport_config_read(&p->t, in, data, len);
		break;
	}
}

static void virtio_bar_write(struct virtio_pci *p, uint64_t off,
			     const void *data, uint32_t len)
{
	uint64_t in = off % VIRTIO_PCI_REGION_SIZE;

	if (p->t.resetting) {
		log_guest_once("%s: register %#llx written before the reset completed (the status still reads non-zero); ignored",
			       p->t.name, (unsigned long long)off);
		return;
	}
	switch (off - in) {
	case VIRTIO_PCI_COMMON_OFF:
		common_write(p, in, data, len);
		break;
	case VIRTIO_PCI_DEVICE_OFF:
		virtio_transport_config_write(&p->t, in, data, len);
		break;
	case VIRTIO_PCI_NOTIFY_OFF:
		/* A doorbell the host's ioeventfd did not take. */
		virtio_transport_kick(&p->t, (uint32_t)(in / VIRTIO_PCI_NOTIFY_MULT));
		break;
	default:
		log_guest_once("%s: write to read-only BAR offset %#llx",
			       p->t.name, (unsigned long long)off);
	}
}

static void msix_bar_read(struct virtio_pci *p, uint64_t off, void *data,
			  uint32_t len)
{
	if (off >= VIRTIO_PCI_MSIX_PBA)
		pci_msix_pba_read(&p->msix, off - VIRTIO_PCI_MSIX_PBA, data, len);
	else
		pci_msix_table_read(&p->msix, off - VIRTIO_PCI_MSIX_TABLE, data,
				    len);
}

static void func_bar_read(struct pci_func *f, unsigned int bar, uint64_t off,
			  void *data, uint32_t len)
{
	struct virtio_pci *p = func_to_pci(f);

	memset(data, 0, len);
	pthread_mutex_lock(&p->t.lock);
	if (bar == VIRTIO_PCI_BAR)
		virtio_bar_read(p, off, data, len);
	else if (bar == VIRTIO_PCI_MSIX_BAR)
		msix_bar_read(p, off, data, len);
	pthread_mutex_unlock(&p->t.lock);
}

static void func_bar_write(struct pci_func *f, unsigned int bar, uint64_t off,
			   const void *data, uint32_t len)
{
	struct virtio_pci *p = func_to_pci(f);

	pthread_mutex_lock(&p->t.lock);
	if (bar == VIRTIO_PCI_BAR)
		virtio_bar_write(p, off, data, len);
	else if (bar == VIRTIO_PCI_MSIX_BAR && off < VIRTIO_PCI_MSIX_PBA)
		pci_msix_table_write(&p->msix, off - VIRTIO_PCI_MSIX_TABLE,
				     data, len);
	pthread_mutex_unlock(&p->t.lock);
}

/* The doorbells follow the BAR: ioeventfds where it decodes now. */
static void func_bar_map(struct pci_func *f, unsigned int bar, uint64_t addr)
{
	struct virtio_pci *p = func_to_pci(f);

	if (bar != VIRTIO_PCI_BAR)
		return;
	pthread_mutex_lock(&p->t.lock);
	for (unsigned int i = 0; i < p->t.vdev->nr_queues; i++)
		virtio_transport_bind_notify(&p->t, i,
					     addr ? addr + VIRTIO_PCI_NOTIFY_OFF +
							    i * VIRTIO_PCI_NOTIFY_MULT :
						    0,
					     2);
	pthread_mutex_unlock(&p->t.lock);
}

/* ---- configuration space ---- */

/*
 * VIRTIO_PCI_CAP_PCI_CFG: an access to pci_cfg_data reaches the BAR the
 * capability names, at its offset, with its width (4.1.4.9).
 */
static bool cfg_window(struct virtio_pci *p, uint8_t *bar, uint32_t *off,
		       uint32_t *len, bool complain)
{
	const struct pci_func *f = &p->func;
	uint8_t c = p->cfg_cap;

	*bar = f->config[c + VIRTIO_PCI_CAP_BAR];
	*off = pci_config_get(f, c + VIRTIO_PCI_CAP_OFFSET, 4);
	*len = pci_config_get(f, c + VIRTIO_PCI_CAP_LENGTH, 4);
	if ((*len != 1 && *len != 2 && *len != 4) || *off % *len ||
	    *bar >= PCI_NR_BARS || !f->bars[*bar].size ||
	    !range_ok(*off, *len, f->bars[*bar].size)) {
		if (complain)
			log_guest_once("%s: PCI configuration access window BAR %u offset %#x length %u is unusable",
				       f->name, *bar, *off, *len);
		return false;
	}
	return true;
}

static bool touches_cfg_data(struct virtio_pci *p, uint32_t off, uint32_t len)
{
	uint32_t data = p->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA;

	return off < data + 4 && off + len > data;
}

static void func_config_read(struct pci_func *f, uint32_t off, uint32_t len,
			     uint8_t *data)
{
	struct virtio_pci *p = func_to_pci(f);
	uint32_t dpos = p->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA, woff, wlen;
	uint8_t bar, val[4] = { 0 };

	if (!touches_cfg_data(p, off, len))
		return;
	/* Reads of the whole space (lspci) must not complain about the window. */
	if (cfg_window(p, &bar, &woff, &wlen, false))
		func_bar_read(f, bar, woff, val, wlen);
	for (uint32_t i = 0; i < len; i++)
		if (off + i >= dpos && off + i < dpos + 4)
			data[i] = val[off + i - dpos];
}

static void func_config_write(struct pci_func *f, uint32_t off, uint32_t len)
{
	struct virtio_pci *p = func_to_pci(f);
	uint32_t woff, wlen;
	uint8_t bar;

	if (off < PCI_CONFIG_SIZE && touches_cfg_data(p, off, len) &&
	    len < PCI_CONFIG_SIZE && cfg_window(p, &bar, &woff, &wlen, true))
		func_bar_write(f, bar, woff,
			       f->config + p->cfg_cap + VIRTIO_PCI_CFG_CAP_DATA,
			       wlen);
	pthread_mutex_lock(&p->t.lock);
	pci_msix_config_write(&p->msix, off, len);
	p->intx_disabled = pci_config_get(f, PCI_COMMAND, 2) &
			   PCI_COMMAND_INTX_DISABLE;
	intx_update(p);
	pthread_mutex_unlock(&p->t.lock);
}

static const struct pci_func_ops func_ops = {
	.bar_read = func_bar_read,
	.bar_write = func_bar_write,
	.bar_map = func_bar_map,
	.config_read = func_config_read,
	.config_write = func_config_write,
};

/* A struct virtio_pci_cap pointing at @len bytes at @off of the BAR. */
static int add_vendor_cap(struct pci_func *f, uint8_t type, uint8_t cap_len,
			  uint32_t off, uint32_t len, uint8_t *at)
{
	uint8_t c = pci_func_add_cap(f, PCI_CAP_ID_VNDR, cap_len);

	if (!c)
		return -1;
	f->config[c + 2] = cap_len;
	f->config[c + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	f->config[c + VIRTIO_PCI_CAP_BAR] = VIRTIO_PCI_BAR;
	pci_config_set(f, c + VIRTIO_PCI_CAP_OFFSET, 4, off);
	pci_config_set(f, c + VIRTIO_PCI_CAP_LENGTH, 4, len);
	if (at)
		*at = c;
	return 0;
}

static int add_caps(struct virtio_pci *p, struct err *e)
{
	struct pci_func *f = &p->func;
	uint32_t device_len = MAX(p->t.vdev->config_len, 4U);
	uint8_t notify, cfg;

	if (add_vendor_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_SIZE,
			   VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, NULL) < 0 ||
	    add_vendor_cap(f, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_SIZE,
			   VIRTIO_PCI_ISR_OFF, 1, NULL) < 0 ||
	    add_vendor_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_SIZE,
			   VIRTIO_PCI_DEVICE_OFF, device_len, NULL) < 0 ||
	    add_vendor_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_EXT_CAP_SIZE,
			   VIRTIO_PCI_NOTIFY_OFF,
			   p->t.vdev->nr_queues * VIRTIO_PCI_NOTIFY_MULT,
			   &notify) < 0 ||
	    add_vendor_cap(f, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_EXT_CAP_SIZE,
			   0, 0, &cfg) < 0)
		return err_set(e, "%s: no room for the virtio capabilities",
			       p->t.name);
	pci_config_set(f, notify + VIRTIO_PCI_NOTIFY_CAP_MULT, 4,
		       VIRTIO_PCI_NOTIFY_MULT);
	/* The access window: the driver picks BAR, offset and width. */
	p->cfg_cap = cfg;
	f->config[cfg + VIRTIO_PCI_CAP_BAR] = 0;
	f->wmask[cfg + VIRTIO_PCI_CAP_BAR] = 0xff;
	memset(f->wmask + cfg + VIRTIO_PCI_CAP_OFFSET, 0xff, 4);
	memset(f->wmask + cfg + VIRTIO_PCI_CAP_LENGTH, 0xff, 4);
	memset(f->wmask + cfg + VIRTIO_PCI_CFG_CAP_DATA, 0xff, 4);
	return 0;
}

/* PCI class codes (base class, subclass, interface) by virtio device ID. */
static uint32_t class_code(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* Ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* other mass storage */
	case VIRTIO_ID_CONSOLE:
	case VIRTIO_ID_VSOCK:
		return 0x078000; /* other communication */
	default:
		return 0x00ff00; /* unclassified */
	}
}

/* ---- lifecycle ---- */

static void pci_machine_reset(struct virtio_transport *t)
{
	struct virtio_pci *p = to_pci(t);

	pci_func_reset(&p->func);
	pthread_mutex_lock(&t->lock);
	pci_msix_reset(&p->msix);
	intx_update(p);
	pthread_mutex_unlock(&t->lock);
}

static void pci_unplug(struct virtio_transport *t)
{
	struct virtio_pci *p = to_pci(t);

	if (p->func.bus)
		pci_bus_remove(p->func.bus, &p->func);
	if (p->msix_set_up)
		pci_msix_free(&p->msix);
	p->msix_set_up = false;
	if (p->intx_set_up) {
		if (p->intx_level)
			irq_line_set(&p->intx, 0);
		t->host->irq_line_free(t->host, &p->intx);
	}
	p->intx_set_up = false;
}

static void pci_free(struct virtio_transport *t)
{
	free(to_pci(t));
}

static const struct virtio_transport_ops pci_transport_ops = {
	.interrupt = pci_interrupt,
	.reset = pci_transport_reset,
	.machine_reset = pci_machine_reset,
	.unplug = pci_unplug,
	.free = pci_free,
};

static int build_func(struct virtio_pci *p, struct device_host *host,
		      uint32_t intx_gsi, struct err *e)
{
	struct virtio_device *vdev = p->t.vdev;
	struct pci_func *f = &p->func;
	uint16_t id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vdev->device_id);

	pci_func_init(f, p->t.name, VIRTIO_PCI_VENDOR, id,
		      class_code(vdev->device_id), VIRTIO_PCI_REVISION,
		      &func_ops, p);
	/*
	 * A subsystem ID below 0x40 marks a transitional device, whose
	 * subsystem ID is its virtio device ID (virtio 1.2, 4.1.2.1). OVMF's
	 * Virtio10Dxe drives only devices with 0x40 or above; Linux reads
	 * the ID from the device ID instead.
	 */
	pci_func_set_subsystem(f, VIRTIO_PCI_VENDOR, id);
	pci_func_set_intx_pin(f, INTX_PIN);
	if (pci_func_add_bar(f, VIRTIO_PCI_MSIX_BAR, PCI_BAR_MEM32,
			     VIRTIO_PCI_MSIX_BAR_SIZE, false) < 0 ||
	    pci_func_add_bar(f, VIRTIO_PCI_BAR, PCI_BAR_MEM64,
			     VIRTIO_PCI_BAR_SIZE, true) < 0)
		return err_set(e, "%s: BARs cannot be described", p->t.name);
	if (add_caps(p, e) < 0)
		return -1;
	if (pci_msix_init(&p->msix, f, host, vdev->nr_queues + 1,
			  VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_TABLE,
			  VIRTIO_PCI_MSIX_PBA, e) < 0)
		return -1;
	p->msix_set_up = true;
	if (host->irq_line(host, intx_gsi, &p->intx, e) < 0)
		return err_prefix(e, "%s", p->t.name);
	p->intx_set_up = true;
	pci_transport_reset(&p->t);
	return 0;
}

int virtio_pci_create(struct device_host *host, struct pci_bus *bus,
		      unsigned int slot, uint32_t intx_gsi,
		      struct virtio_device *vdev, struct device **out,
		      struct err *e)
{
	struct virtio_pci *p = calloc(1, sizeof(*p));
	char name[64], addr[16];

	if (!p)
		return err_set(e, "%s: out of memory", vdev->name);
	pci_slot_name(slot, addr, sizeof(addr));
	snprintf(name, sizeof(name), "%s@%s", vdev->name, addr);
	if (virtio_transport_init(&p->t, host, vdev, name, &pci_transport_ops,
				  e) < 0) {
		free(p);
		return -1;
	}
	if (build_func(p, host, intx_gsi, e) < 0 ||
	    pci_bus_add(bus, slot, &p->func, e) < 0)
		goto fail;
	p->t.dev.transport = "pci";
	snprintf(p->t.dev.address, sizeof(p->t.dev.address), "%s", addr);
	*out = &p->t.dev;
	return 0;
fail:
	err_prefix(e, "%s", name);
	pci_unplug(&p->t);
	virtio_transport_teardown(&p->t);
	pthread_mutex_destroy(&p->t.lock);
	vdev->transport = NULL;
	free(p);
	return -1;
}
