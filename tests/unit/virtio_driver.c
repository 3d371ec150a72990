// SPDX-License-Identifier: MIT
#include "virtio_driver.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/pci/msix.h"
#include "devices/x86/legacy.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/virtio.h"

/* ---- the fake host ---- */

static struct vtest_host *to_th(struct device_host *host)
{
	return host->opaque;
}

static void vtest_irq_set(struct irq_line *line, int level)
{
	if (level)
		line->ops->pulse(line);
}

static void vtest_irq_pulse(struct irq_line *line)
{
	struct vtest_irq *irq = line->opaque;
	uint64_t one = 1;

	__atomic_add_fetch(&irq->pulses, 1, __ATOMIC_SEQ_CST);
	if (write(line->fd, &one, sizeof(one)) < 0)
		abort();
}

static const struct irq_line_ops vtest_irq_ops = {
	.set = vtest_irq_set,
	.pulse = vtest_irq_pulse,
};

static int vtest_irq_line(struct device_host *host, uint32_t gsi,
			  struct irq_line *line, struct err *e)
{
	struct vtest_host *th = to_th(host);

	if (gsi >= VTEST_MAX_GSI)
		return err_set(e, "interrupt %u out of range", gsi);
	line->ops = &vtest_irq_ops;
	line->gsi = gsi;
	line->opaque = &th->irqs[gsi];
	/* The device owns (and closes) line->fd; the test waits on a dup. */
	line->fd = dup(th->irqs[gsi].line.fd);
	if (line->fd < 0)
		return err_errno(e, "dup");
	return 0;
}

static int vtest_ioeventfd(struct device_host *host, uint64_t addr,
			   uint32_t len, uint64_t datamatch, int fd,
			   bool assign)
{
	struct vtest_host *th = to_th(host);

	(void)len;
	if (!th->kvm_ioeventfd)
		return -1;
	if (assign) {
		if (th->nr_ioev == VTEST_MAX_IOEVENTFD)
			return -1;
		th->ioev[th->nr_ioev++] = (struct vtest_ioeventfd){
			addr, datamatch, fd,
		};
		return 0;
	}
	for (unsigned int i = 0; i < th->nr_ioev; i++) {
		if (th->ioev[i].addr == addr &&
		    th->ioev[i].datamatch == datamatch) {
			th->ioev[i] = th->ioev[--th->nr_ioev];
			return 0;
		}
	}
	return -1;
}

static int vtest_msi_line(struct device_host *host, struct irq_line *line,
			  struct err *e)
{
	struct vtest_host *th = to_th(host);
	struct vtest_irq *irq = NULL;

	pthread_mutex_lock(&th->msi_lock);
	for (unsigned int i = 0; i < VTEST_MAX_MSI && !irq; i++) {
		if (th->msi[i].used)
			continue;
		irq = &th->msi[i];
		irq->used = true;
		irq->routed = false;
		irq->pulses = 0;
	}
	pthread_mutex_unlock(&th->msi_lock);
	if (!irq)
		return err_set(e, "no MSI route left");
	line->ops = &vtest_irq_ops;
	line->gsi = VTEST_MAX_GSI + (uint32_t)(irq - th->msi);
	line->opaque = irq;
	line->fd = dup(irq->line.fd);
	if (line->fd < 0) {
		irq->used = false;
		return err_errno(e, "dup");
	}
	return 0;
}

static int vtest_msi_route(struct device_host *host, struct irq_line *line,
			   uint64_t addr, uint32_t data, struct err *e)
{
	struct vtest_host *th = to_th(host);
	struct vtest_irq *irq = line->opaque;

	(void)e;
	pthread_mutex_lock(&th->msi_lock);
	irq->addr = addr;
	irq->data = data;
	irq->routed = true;
	pthread_mutex_unlock(&th->msi_lock);
	return 0;
}

static void vtest_irq_line_free(struct device_host *host,
				struct irq_line *line)
{
	struct vtest_host *th = to_th(host);

	if (line->gsi >= VTEST_MAX_GSI) {
		pthread_mutex_lock(&th->msi_lock);
		((struct vtest_irq *)line->opaque)->used = false;
		pthread_mutex_unlock(&th->msi_lock);
	}
	close(line->fd);
	line->fd = -1;
}

static uint32_t vtest_irq_alloc(struct device_host *host)
{
	(void)host;
	return 0;
}

static void vtest_power(struct device_host *host, enum device_power_event ev,
			int status)
{
	struct vtest_host *th = to_th(host);

	(void)status;
	__atomic_add_fetch(&th->power_events[ev], 1, __ATOMIC_SEQ_CST);
}

static uint64_t vtest_now_ns(struct device_host *host)
{
	struct vtest_host *th = to_th(host);
	struct timespec ts;

	if (__atomic_load_n(&th->fake_clock, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&th->fake_now_ns, __ATOMIC_ACQUIRE);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vtest_clock_fake(struct vtest_host *th, uint64_t now_ns)
{
	__atomic_store_n(&th->fake_now_ns, now_ns, __ATOMIC_RELEASE);
	__atomic_store_n(&th->fake_clock, true, __ATOMIC_RELEASE);
}

void vtest_clock_advance(struct vtest_host *th, uint64_t ns)
{
	__atomic_add_fetch(&th->fake_now_ns, ns, __ATOMIC_ACQ_REL);
}

static int vtest_rom_window(struct device_host *host, uint64_t gpa, void *hva,
			    uint64_t size, bool present, struct err *e)
{
	struct vtest_host *th = host->opaque;

	(void)e;
	th->rom.present = present;
	th->rom.gpa = gpa;
	th->rom.size = size;
	th->rom.hva = hva;
	return 0;
}

int vtest_host_init(struct vtest_host *th, uint64_t mem_size,
		    bool kvm_ioeventfd)
{
	struct err e;

	memset(th, 0, sizeof(*th));
	if (guest_mem_init(&th->mem, NULL, mem_size, false, &e) < 0)
		return -1;
	if (event_loop_init(&th->loop, &e) < 0)
		return -1;
	bus_init(&th->mmio, "MMIO");
	bus_init(&th->pio, "port I/O");
	for (unsigned int i = 0; i < VTEST_MAX_GSI; i++) {
		th->irqs[i].line.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (th->irqs[i].line.fd < 0)
			return -1;
	}
	for (unsigned int i = 0; i < VTEST_MAX_MSI; i++) {
		th->msi[i].line.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (th->msi[i].line.fd < 0)
			return -1;
	}
	pthread_mutex_init(&th->msi_lock, NULL);
	th->kvm_ioeventfd = kvm_ioeventfd;
	th->host = (struct device_host){
		.mem = &th->mem,
		.loop = &th->loop,
		.pio = &th->pio,
		.mmio = &th->mmio,
		.ioeventfd = vtest_ioeventfd,
		.rom_window = vtest_rom_window,
		.irq_line = vtest_irq_line,
		.msi_line = vtest_msi_line,
		.msi_route = vtest_msi_route,
		.irq_line_free = vtest_irq_line_free,
		.irq_alloc = vtest_irq_alloc,
		.power = vtest_power,
		.now_ns = vtest_now_ns,
		.opaque = th,
	};
	return 0;
}

int vtest_host_start(struct vtest_host *th)
{
	struct err e;

	if (event_loop_start_thread(&th->loop, &e) < 0)
		return -1;
	th->running = true;
	return 0;
}

void vtest_host_stop(struct vtest_host *th)
{
	if (!th->running)
		return;
	event_loop_stop(&th->loop);
	event_loop_join(&th->loop);
	th->running = false;
}

void vtest_host_destroy(struct vtest_host *th)
{
	vtest_host_stop(th);
	if (th->pci_ports)
		th->pci_ports->ops->destroy(th->pci_ports);
	if (th->pci_dev)
		th->pci_dev->ops->destroy(th->pci_dev);
	th->pci = NULL;
	th->pci_dev = th->pci_ports = NULL;
	for (unsigned int i = 0; i < VTEST_MAX_GSI; i++)
		close(th->irqs[i].line.fd);
	for (unsigned int i = 0; i < VTEST_MAX_MSI; i++)
		close(th->msi[i].line.fd);
	pthread_mutex_destroy(&th->msi_lock);
	bus_destroy(&th->mmio);
	bus_destroy(&th->pio);
	event_loop_destroy(&th->loop);
	guest_mem_destroy(&th->mem);
}

void vtest_teardown(struct vtest_host *th, struct device **dev,
		    struct vdrv *drv)
{
	vtest_host_stop(th);
	if (*dev)
		(*dev)->ops->destroy(*dev);
	*dev = NULL;
	vdrv_free(drv);
	vtest_host_destroy(th);
}

unsigned int vtest_irq_count(struct vtest_host *th, uint32_t gsi)
{
	return __atomic_load_n(&th->irqs[gsi].pulses, __ATOMIC_SEQ_CST);
}

struct pci_bus *vtest_host_pci(struct vtest_host *th)
{
	struct pci_layout l = {
		.ecam_base = VTEST_PCI_ECAM, .ecam_size = 256ULL << 20,
		.mmio32_base = VTEST_PCI_MMIO32,
		.mmio32_end = VTEST_PCI_MMIO32_END,
		.mmio64_base = VTEST_PCI_MMIO64,
		.mmio64_end = VTEST_PCI_MMIO64_END,
		.mmio64_decode_end = VTEST_PCI_MMIO64_DECODE_END,
		.io_base = 0x6000, .io_end = 0x10000,
	};
	struct err e;

	if (th->pci)
		return th->pci;
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++)
		l.intx_gsi[s] = VTEST_GSI;
	if (pci_bus_create(&th->host, &l, true, &th->pci, &e) < 0 ||
	    pci_ports_create(&th->host, th->pci, &th->pci_ports, &e) < 0)
		abort();
	th->pci_dev = &th->pci->dev;
	return th->pci;
}

struct virtio_attach vtest_pci_at(struct vtest_host *th, unsigned int slot)
{
	return (struct virtio_attach){
		.kind = VIRTIO_TRANSPORT_PCI, .pci = vtest_host_pci(th),
		.slot = slot, .gsi = VTEST_GSI,
	};
}

struct virtio_attach vtest_at(struct vtest_host *th, bool pci)
{
	return pci ? vtest_pci_at(th, VTEST_PCI_SLOT) :
		     VTEST_MMIO(VTEST_BASE, VTEST_GSI);
}

struct vtest_irq *vtest_msi_find(struct vtest_host *th, uint32_t data)
{
	struct vtest_irq *found = NULL;

	pthread_mutex_lock(&th->msi_lock);
	for (unsigned int i = 0; i < VTEST_MAX_MSI && !found; i++)
		if (th->msi[i].used && th->msi[i].routed &&
		    th->msi[i].data == data)
			found = &th->msi[i];
	pthread_mutex_unlock(&th->msi_lock);
	return found;
}

unsigned int vtest_msi_count(struct vtest_host *th, uint32_t data)
{
	struct vtest_irq *irq = vtest_msi_find(th, data);

	return irq ? __atomic_load_n(&irq->pulses, __ATOMIC_SEQ_CST) : 0;
}

bool vtest_msi_wait(struct vtest_host *th, uint32_t data, int ms)
{
	struct vtest_irq *irq = vtest_msi_find(th, data);
	struct pollfd p;
	uint64_t v;

	if (!irq) {
		usleep((useconds_t)ms * 1000);
		return false;
	}
	p = (struct pollfd){ .fd = irq->line.fd, .events = POLLIN };
	if (poll(&p, 1, ms) <= 0)
		return false;
	return read(p.fd, &v, sizeof(v)) == sizeof(v);
}

bool vtest_irq_wait(struct vtest_host *th, uint32_t gsi, int ms)
{
	struct pollfd p = { .fd = th->irqs[gsi].line.fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) <= 0)
		return false;
	return read(p.fd, &v, sizeof(v)) == sizeof(v);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool vtest_irq_wait_pulses(struct vtest_host *th, uint32_t gsi,
			   unsigned int pulses, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (vtest_irq_count(th, gsi) < pulses) {
		if (now_ms() >= deadline)
			return false;
		vtest_irq_wait(th, gsi, 10);
	}
	return true;
}

uint64_t vtest_loop_cpu_ns(struct vtest_host *th)
{
	struct timespec ts;
	clockid_t clk;

	if (pthread_getcpuclockid(th->loop.thread, &clk) != 0 ||
	    clock_gettime(clk, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool vtest_loop_watches(struct vtest_host *th, int fd)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", th->loop.epfd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		int tfd;

		found = sscanf(line, "tfd: %d ", &tfd) == 1 && tfd == fd;
	}
	fclose(f);
	return found;
}

/* ---- guest accesses ---- */

/* Every register access a guest makes, which in a VM is an exit. */
static void guest_read(struct vtest_host *th, struct bus *bus, uint64_t addr,
		       void *data, uint32_t len)
{
	__atomic_add_fetch(&th->exits, 1, __ATOMIC_RELAXED);
	bus_read(bus, addr, data, len);
}

static void guest_write(struct vtest_host *th, struct bus *bus, uint64_t addr,
			const void *data, uint32_t len)
{
	__atomic_add_fetch(&th->exits, 1, __ATOMIC_RELAXED);
	bus_write(bus, addr, data, len);
}

uint64_t vdrv_mem_read(struct vtest_host *th, uint64_t addr, uint32_t len)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	guest_read(th, &th->mmio, addr, b, len);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void vdrv_mem_write(struct vtest_host *th, uint64_t addr, uint32_t len,
		    uint64_t val)
{
	uint8_t b[8];

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	guest_write(th, &th->mmio, addr, b, len);
}

static void cfg_address(struct vtest_host *th, unsigned int slot, uint32_t reg)
{
	uint8_t b[4];

	put_le32(b, PCI_CONFIG_ENABLE | slot << 11 | (reg & 0xfc));
	guest_write(th, &th->pio, 0xcf8, b, 4);
}

uint32_t vdrv_cfg_read(struct vtest_host *th, unsigned int slot, uint32_t reg,
		       uint32_t len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	cfg_address(th, slot, reg);
	guest_read(th, &th->pio, 0xcfc + (reg & 3), b, len);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

void vdrv_cfg_write(struct vtest_host *th, unsigned int slot, uint32_t reg,
		    uint32_t len, uint32_t val)
{
	uint8_t b[4];

	cfg_address(th, slot, reg);
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	guest_write(th, &th->pio, 0xcfc + (reg & 3), b, len);
}

/* ---- the driver ---- */

void vdrv_init(struct vdrv *d, struct vtest_host *th, uint64_t base,
	       uint32_t gsi, uint64_t heap, uint64_t heap_size)
{
	memset(d, 0, sizeof(*d));
	d->th = th;
	d->base = base;
	d->gsi = gsi;
	d->heap = heap;
	d->heap_end = heap + heap_size;
}

int vdrv_init_at(struct vdrv *d, struct vtest_host *th, bool pci,
		 uint64_t heap, uint64_t heap_size)
{
	if (pci)
		return vdrv_init_pci(d, th, VTEST_PCI_SLOT, true, heap,
				     heap_size);
	vdrv_init(d, th, VTEST_BASE, VTEST_GSI, heap, heap_size);
	return 0;
}

void vdrv_free(struct vdrv *d)
{
	for (unsigned int i = 0; i < VDRV_MAX_QUEUES; i++) {
		free(d->q[i].free);
		free(d->q[i].chain_len);
		free(d->q[i].chain);
	}
	memset(d->q, 0, sizeof(d->q));
}

uint32_t vdrv_read(struct vdrv *d, uint64_t off)
{
	uint8_t b[4];

	guest_read(d->th, &d->th->mmio, d->base + off, b, 4);
	return get_le32(b);
}

void vdrv_write(struct vdrv *d, uint64_t off, uint32_t val)
{
	uint8_t b[4];

	put_le32(b, val);
	guest_write(d->th, &d->th->mmio, d->base + off, b, 4);
}

/* virtio-pci common configuration accesses. */
static uint64_t common_rd(struct vdrv *d, uint32_t off, uint32_t len)
{
	return vdrv_mem_read(d->th, d->pci.common + off, len);
}

static void common_wr(struct vdrv *d, uint32_t off, uint32_t len, uint64_t v)
{
	vdrv_mem_write(d->th, d->pci.common + off, len, v);
}

/* Places BAR @bar at @addr (64-bit BARs take both halves). */
static void place_bar(struct vdrv *d, unsigned int bar, uint64_t addr)
{
	struct vtest_host *th = d->th;
	unsigned int slot = d->pci.slot;
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t orig = vdrv_cfg_read(th, slot, reg, 4);

	vdrv_cfg_write(th, slot, reg, 4, (uint32_t)addr);
	if (orig & PCI_BAR_MEM_TYPE_64)
		vdrv_cfg_write(th, slot, reg + 4, 4, (uint32_t)(addr >> 32));
	d->pci.bar[bar] = addr;
}

/* A BAR's size as a guest learns it: all ones written, the mask read back. */
static uint64_t size_bar(struct vdrv *d, unsigned int bar)
{
	struct vtest_host *th = d->th;
	unsigned int slot = d->pci.slot;
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t lo = vdrv_cfg_read(th, slot, reg, 4), hi, mlo, mhi;
	uint64_t mask;

	vdrv_cfg_write(th, slot, reg, 4, ~0U);
	mlo = vdrv_cfg_read(th, slot, reg, 4);
	vdrv_cfg_write(th, slot, reg, 4, lo);
	if (!(lo & PCI_BAR_MEM_TYPE_64))
		return (mlo & ~0xfU) ? (uint32_t)(~(mlo & ~0xfU) + 1) : 0;
	hi = vdrv_cfg_read(th, slot, reg + 4, 4);
	vdrv_cfg_write(th, slot, reg + 4, 4, ~0U);
	mhi = vdrv_cfg_read(th, slot, reg + 4, 4);
	vdrv_cfg_write(th, slot, reg + 4, 4, hi);
	mask = (uint64_t)mhi << 32 | (mlo & ~0xfU);
	return mask ? ~mask + 1 : 0;
}

static void find_caps(struct vdrv *d)
{
	struct vtest_host *th = d->th;
	unsigned int slot = d->pci.slot;
	uint8_t c = (uint8_t)vdrv_cfg_read(th, slot, PCI_CAPABILITY_LIST, 1);

	for (unsigned int n = 0; c && n < 48; n++) {
		uint8_t id = (uint8_t)vdrv_cfg_read(th, slot, c, 1);

		if (id == PCI_CAP_ID_MSIX) {
			uint32_t table = vdrv_cfg_read(th, slot, c + PCI_MSIX_TABLE, 4);
			uint32_t pba = vdrv_cfg_read(th, slot, c + PCI_MSIX_PBA, 4);

			d->pci.msix_cap = c;
			d->pci.msix_size = (uint16_t)((vdrv_cfg_read(th, slot,
				c + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1);
			d->pci.msix_table = d->pci.bar[table & 7] + (table & ~7U);
			d->pci.msix_pba = d->pci.bar[pba & 7] + (pba & ~7U);
		} else if (id == PCI_CAP_ID_VNDR) {
			uint8_t type = (uint8_t)vdrv_cfg_read(th, slot,
				c + VIRTIO_PCI_CAP_CFG_TYPE, 1);
			uint8_t bar = (uint8_t)vdrv_cfg_read(th, slot,
				c + VIRTIO_PCI_CAP_BAR, 1);
			uint64_t at = (bar < PCI_NR_BARS ? d->pci.bar[bar] : 0) +
				      vdrv_cfg_read(th, slot, c + VIRTIO_PCI_CAP_OFFSET, 4);

			if (type == VIRTIO_PCI_CAP_COMMON_CFG)
				d->pci.common = at;
			else if (type == VIRTIO_PCI_CAP_ISR_CFG)
				d->pci.isr = at;
			else if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
				d->pci.device = at;
			else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				d->pci.notify = at;
				d->pci.notify_mult = vdrv_cfg_read(th, slot,
					c + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
			}
		}
		c = (uint8_t)vdrv_cfg_read(th, slot, c + 1, 1);
	}
}

static void enable_msix(struct vdrv *d)
{
	struct vtest_host *th = d->th;
	uint32_t flags = d->pci.msix_cap + PCI_MSIX_FLAGS;

	vdrv_cfg_write(th, d->pci.slot, flags, 2,
		       PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	for (uint16_t v = 0; v < d->pci.msix_size; v++) {
		uint64_t e = d->pci.msix_table + (uint64_t)v * PCI_MSIX_ENTRY_SIZE;

		vdrv_mem_write(th, e, 4, (uint32_t)VDRV_MSI_ADDR);
		vdrv_mem_write(th, e + 4, 4, VDRV_MSI_ADDR >> 32);
		vdrv_mem_write(th, e + PCI_MSIX_ENTRY_DATA, 4,
			       VDRV_MSI_DATA(d->pci.slot, v));
		vdrv_mem_write(th, e + PCI_MSIX_ENTRY_CTRL, 4, 0);
	}
	vdrv_cfg_write(th, d->pci.slot, flags, 2, PCI_MSIX_FLAGS_ENABLE);
	d->pci.msix = true;
}

int vdrv_init_pci(struct vdrv *d, struct vtest_host *th, unsigned int slot,
		  bool msix, uint64_t heap, uint64_t heap_size)
{
	uint64_t mmio32 = VTEST_PCI_MMIO32 + (uint64_t)slot * 0x100000;
	uint64_t mmio64 = VTEST_PCI_MMIO64 + (uint64_t)slot * 0x100000;

	vdrv_init(d, th, 0, VTEST_GSI, heap, heap_size);
	d->is_pci = true;
	d->pci.slot = slot;
	if (vdrv_cfg_read(th, slot, PCI_VENDOR_ID, 2) != VIRTIO_PCI_VENDOR ||
	    vdrv_cfg_read(th, slot, PCI_DEVICE_ID, 2) < VIRTIO_PCI_DEVICE_BASE)
		return -1;
	/* Decoding off while BARs move, as Linux does. */
	vdrv_cfg_write(th, slot, PCI_COMMAND, 2, 0);
	for (unsigned int bar = 0; bar < PCI_NR_BARS; bar++) {
		uint32_t type = vdrv_cfg_read(th, slot,
					      PCI_BASE_ADDRESS_0 + 4 * bar, 4);
		uint64_t size = size_bar(d, bar);

		if (!size)
			continue;
		if (type & PCI_BAR_MEM_TYPE_64) {
			place_bar(d, bar, mmio64);
			mmio64 += ALIGN_UP(size, 0x1000);
			bar++;
		} else {
			place_bar(d, bar, mmio32);
			mmio32 += ALIGN_UP(size, 0x1000);
		}
	}
	vdrv_cfg_write(th, slot, PCI_COMMAND, 2,
		       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	find_caps(d);
	if (!d->pci.common || !d->pci.isr || !d->pci.device || !d->pci.notify)
		return -1;
	if (msix) {
		if (!d->pci.msix_cap)
			return -1;
		enable_msix(d);
	}
	return 0;
}

uint64_t vdrv_device_features(struct vdrv *d)
{
	uint64_t f;

	if (d->is_pci) {
		common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
		f = common_rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
		common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
		return f | common_rd(d, VIRTIO_PCI_COMMON_DF, 4);
	}
	vdrv_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)vdrv_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vdrv_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | vdrv_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

uint32_t vdrv_status(struct vdrv *d)
{
	if (d->is_pci)
		return (uint32_t)common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
	return vdrv_read(d, VIRTIO_MMIO_STATUS);
}

static void set_status(struct vdrv *d, uint32_t s)
{
	if (d->is_pci)
		common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, s);
	else
		vdrv_write(d, VIRTIO_MMIO_STATUS, s);
}

void vdrv_config_read(struct vdrv *d, uint32_t off, void *buf, uint32_t len)
{
	uint64_t at = d->is_pci ? d->pci.device + off :
				  d->base + VIRTIO_MMIO_CONFIG + off;

	guest_read(d->th, &d->th->mmio, at, buf, len);
}

uint64_t vdrv_alloc(struct vdrv *d, uint64_t size, uint64_t align)
{
	uint64_t gpa = ALIGN_UP(d->heap, align);

	if (gpa + size > d->heap_end)
		abort();
	d->heap = gpa + size;
	memset(vdrv_ptr(d, gpa, size), 0, size);
	return gpa;
}

void *vdrv_ptr(struct vdrv *d, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&d->th->mem, gpa, len);

	if (!p)
		abort();
	return p;
}

/* Long enough for requests in flight on a loaded host's disk. */
#define VDRV_RESET_MS 10000

static void set_driver_features(struct vdrv *d, uint64_t want)
{
	if (d->is_pci) {
		common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
		common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)want);
		common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
		common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(want >> 32));
		return;
	}
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
}

int vdrv_negotiate(struct vdrv *d, uint64_t want)
{
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	if (!vdrv_reset(d, VDRV_RESET_MS))
		return -1;
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(d, s);
	d->features = want;
	set_driver_features(d, want);
	set_status(d, s | VIRTIO_STATUS_FEATURES_OK);
	return vdrv_status(d) & VIRTIO_STATUS_FEATURES_OK ? 0 : -1;
}

/* Selects queue @qi; fails when it cannot take @size entries. */
static int select_queue(struct vdrv *d, unsigned int qi, uint16_t size)
{
	if (d->is_pci) {
		common_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, qi);
		if (common_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2) < size)
			return -1;
		return 0;
	}
	vdrv_write(d, VIRTIO_MMIO_QUEUE_SEL, qi);
	return vdrv_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX) < size ? -1 : 0;
}

static int enable_queue(struct vdrv *d, unsigned int qi)
{
	struct vdrv_queue *q = &d->q[qi];

	if (d->is_pci) {
		common_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, q->size);
		common_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, q->desc);
		common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)q->avail);
		common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, q->avail >> 32);
		common_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)q->used);
		common_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, q->used >> 32);
		if (d->pci.msix)
			common_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, qi);
		common_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		return common_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 1 ? 0 : -1;
	}
	vdrv_write(d, VIRTIO_MMIO_QUEUE_NUM, q->size);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail >> 32));
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used >> 32));
	vdrv_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return vdrv_read(d, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -1;
}

int vdrv_setup_queue(struct vdrv *d, unsigned int qi, uint16_t size)
{
	struct vdrv_queue *q = &d->q[qi];

	if (select_queue(d, qi, size) < 0)
		return -1;
	q->size = size;
	q->desc = vdrv_alloc(d, 16ULL * size, 16);
	q->avail = vdrv_alloc(d, 6 + 2ULL * size, 2);
	q->used = vdrv_alloc(d, 6 + 8ULL * size, 4);
	q->avail_idx = q->last_used = 0;
	q->event_idx = d->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	q->hold_used_event = false;
	free(q->free);
	free(q->chain_len);
	free(q->chain);
	q->free = calloc(size, sizeof(*q->free));
	q->chain_len = calloc(size, sizeof(*q->chain_len));
	q->chain = calloc(size, sizeof(*q->chain));
	if (!q->free || !q->chain_len || !q->chain)
		abort();
	for (uint16_t i = 0; i < size; i++)
		q->free[i] = (uint16_t)(size - 1 - i);
	q->nr_free = size;
	return enable_queue(d, qi);
}

void vdrv_driver_ok(struct vdrv *d)
{
	if (d->is_pci && d->pci.msix)
		common_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, VDRV_CONFIG_VECTOR(d));
	set_status(d, vdrv_status(d) | VIRTIO_STATUS_DRIVER_OK);
}

int vdrv_start(struct vdrv *d, uint64_t want, unsigned int nr_queues,
	       uint16_t size)
{
	if (vdrv_negotiate(d, want) < 0)
		return -1;
	for (unsigned int i = 0; i < nr_queues; i++)
		if (vdrv_setup_queue(d, i, size) < 0)
			return -1;
	vdrv_driver_ok(d);
	return vdrv_status(d) & VIRTIO_STATUS_DRIVER_OK ? 0 : -1;
}

void vdrv_desc_write(struct vdrv *d, unsigned int qi, uint16_t i,
		     uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *p = vdrv_ptr(d, d->q[qi].desc + 16ULL * i, 16);

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

void vdrv_set_avail_idx(struct vdrv *d, unsigned int qi, uint16_t idx)
{
	uint16_t *p = vdrv_ptr(d, d->q[qi].avail + 2, 2);

	d->q[qi].avail_idx = idx;
	__atomic_store_n(p, idx, __ATOMIC_RELEASE);
}

void vdrv_publish(struct vdrv *d, unsigned int qi, uint16_t head)
{
	struct vdrv_queue *q = &d->q[qi];
	uint8_t *slot = vdrv_ptr(d, q->avail + 4 + 2ULL * (q->avail_idx % q->size), 2);

	put_le16(slot, head);
	vdrv_set_avail_idx(d, qi, (uint16_t)(q->avail_idx + 1));
}

static void write_table(uint8_t *table, uint16_t i, const struct vdrv_buf *b,
			bool more)
{
	uint8_t *p = table + 16 * i;

	put_le64(p, b->gpa);
	put_le32(p + 8, b->len);
	put_le16(p + 12, (uint16_t)((more ? VIRTQ_DESC_F_NEXT : 0) |
				    (b->write ? VIRTQ_DESC_F_WRITE : 0)));
	put_le16(p + 14, (uint16_t)(i + 1));
}

int vdrv_add(struct vdrv *d, unsigned int qi, const struct vdrv_buf *bufs,
	     unsigned int n, bool indirect)
{
	struct vdrv_queue *q = &d->q[qi];
	unsigned int need = indirect ? 1 : n;
	uint16_t head = 0, prev = 0;

	if (n == 0 || n > VDRV_MAX_CHAIN || q->nr_free < need)
		return -1;
	if (indirect) {
		uint64_t t = vdrv_alloc(d, 16ULL * n, 16);
		uint8_t *table = vdrv_ptr(d, t, 16ULL * n);

		for (unsigned int i = 0; i < n; i++)
			write_table(table, (uint16_t)i, &bufs[i], i + 1 < n);
		head = q->free[--q->nr_free];
		vdrv_desc_write(d, qi, head, t, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
		q->chain[head][0] = head;
		q->chain_len[head] = 1;
	} else {
		for (unsigned int i = 0; i < n; i++) {
			uint16_t idx = q->free[--q->nr_free];

			if (i == 0)
				head = idx;
			else
				vdrv_desc_write(d, qi, prev, bufs[i - 1].gpa,
						bufs[i - 1].len,
						(uint16_t)(VIRTQ_DESC_F_NEXT |
							   (bufs[i - 1].write ? VIRTQ_DESC_F_WRITE : 0)),
						idx);
			q->chain[head][i] = idx;
			prev = idx;
		}
		vdrv_desc_write(d, qi, prev, bufs[n - 1].gpa, bufs[n - 1].len,
				bufs[n - 1].write ? VIRTQ_DESC_F_WRITE : 0, 0);
		q->chain_len[head] = (uint16_t)n;
	}
	vdrv_publish(d, qi, head);
	return head;
}

void vdrv_kick(struct vdrv *d, unsigned int qi)
{
	struct vtest_host *th = d->th;
	uint64_t notify, one = 1;

	if (d->is_pci)
		notify = d->pci.notify + (uint64_t)qi * d->pci.notify_mult;
	else
		notify = d->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	for (unsigned int i = 0; i < th->nr_ioev; i++) {
		if (th->ioev[i].addr == notify && th->ioev[i].datamatch == qi) {
			if (write(th->ioev[i].fd, &one, sizeof(one)) < 0)
				abort();
			return;
		}
	}
	if (d->is_pci)
		vdrv_mem_write(th, notify, 2, qi);
	else
		vdrv_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
}

uint16_t vdrv_used_flags(struct vdrv *d, unsigned int qi)
{
	return __atomic_load_n((uint16_t *)vdrv_ptr(d, d->q[qi].used, 2),
			       __ATOMIC_ACQUIRE);
}

uint16_t vdrv_avail_event(struct vdrv *d, unsigned int qi)
{
	struct vdrv_queue *q = &d->q[qi];

	return __atomic_load_n((uint16_t *)vdrv_ptr(d, q->used + 4 + 8ULL * q->size, 2),
			       __ATOMIC_ACQUIRE);
}

bool vdrv_kick_if_needed(struct vdrv *d, unsigned int qi, uint16_t old_idx)
{
	struct vdrv_queue *q = &d->q[qi];
	bool need;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		uint16_t event = vdrv_avail_event(d, qi);

		need = (uint16_t)(q->avail_idx - event - 1) <
		       (uint16_t)(q->avail_idx - old_idx);
	} else {
		need = !(vdrv_used_flags(d, qi) & VIRTQ_USED_F_NO_NOTIFY);
	}
	if (need)
		vdrv_kick(d, qi);
	return need;
}

uint16_t vdrv_used_idx(struct vdrv *d, unsigned int qi)
{
	return __atomic_load_n((uint16_t *)vdrv_ptr(d, d->q[qi].used + 2, 2),
			       __ATOMIC_ACQUIRE);
}

static void store_used_event(struct vdrv *d, unsigned int qi, uint16_t idx)
{
	struct vdrv_queue *q = &d->q[qi];
	uint16_t *p = vdrv_ptr(d, q->avail + 4 + 2ULL * q->size, 2);

	__atomic_store_n(p, idx, __ATOMIC_SEQ_CST);
}

bool vdrv_get_used(struct vdrv *d, unsigned int qi, uint32_t *id,
		   uint32_t *len)
{
	struct vdrv_queue *q = &d->q[qi];
	uint8_t *elem;
	uint32_t head;

	if (vdrv_used_idx(d, qi) == q->last_used)
		return false;
	elem = vdrv_ptr(d, q->used + 4 + 8ULL * (q->last_used % q->size), 8);
	head = get_le32(elem);
	*id = head;
	*len = get_le32(elem + 4);
	q->last_used++;
	if (q->event_idx && !q->hold_used_event)
		store_used_event(d, qi, q->last_used);
	/* Descriptors come back to the free list as the driver recorded them. */
	if (head < q->size) {
		for (uint16_t i = 0; i < q->chain_len[head]; i++)
			q->free[q->nr_free++] = q->chain[head][i];
		q->chain_len[head] = 0;
	}
	return true;
}

void vdrv_set_used_event(struct vdrv *d, unsigned int qi, uint16_t idx)
{
	d->q[qi].hold_used_event = true;
	store_used_event(d, qi, idx);
}

bool vdrv_wait_used(struct vdrv *d, unsigned int qi, uint32_t *id,
		    uint32_t *len, int ms)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		int64_t left;

		if (vdrv_get_used(d, qi, id, len))
			return true;
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		/* Short naps too: a suppressed interrupt must not stall a test. */
		vdrv_irq_wait(d, (int)qi, (int)MIN(left, 20));
	}
}

bool vdrv_irq_wait(struct vdrv *d, int qi, int ms)
{
	uint16_t vector = qi < 0 ? VDRV_CONFIG_VECTOR(d) : (uint16_t)qi;

	if (d->is_pci && d->pci.msix)
		return vtest_msi_wait(d->th, VDRV_MSI_DATA(d->pci.slot, vector),
				      ms);
	return vtest_irq_wait(d->th, d->gsi, ms);
}

unsigned int vdrv_irq_count(struct vdrv *d, int qi)
{
	uint16_t vector = qi < 0 ? VDRV_CONFIG_VECTOR(d) : (uint16_t)qi;

	if (d->is_pci && d->pci.msix)
		return vtest_msi_count(d->th,
				       VDRV_MSI_DATA(d->pci.slot, vector));
	return vtest_irq_count(d->th, d->gsi);
}

bool vdrv_reset(struct vdrv *d, int ms)
{
	int64_t deadline = now_ms() + ms;

	set_status(d, 0);
	while (vdrv_status(d)) {
		if (now_ms() >= deadline)
			return false;
		usleep(1000);
	}
	return true;
}

bool vdrv_wait_status(struct vdrv *d, uint32_t bit, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (!(vdrv_status(d) & bit)) {
		if (now_ms() >= deadline)
			return false;
		vdrv_irq_wait(d, -1, 10);
	}
	return true;
}
