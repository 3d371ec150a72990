// SPDX-License-Identifier: MIT
/*
 * The ICH9 LPC bridge at 00:1f.0 (8086:2918), as far as OVMF uses it on a
 * q35 machine. PlatformPei (edk2 OvmfPkg/Library/PlatformInitLib/
 * Platform.c, PlatformMiscInitialization) programs PMBASE (0x40) with
 * 0x600, sets ACPI_EN in ACPI_CNTL (0x44) and writes RCBA (0xf0); its timer
 * library (OvmfPkg/Library/AcpiTimerLib) then reads PMBASE back and counts
 * time with the ACPI PM timer at PMBASE + 8, for every delay the firmware
 * makes. BdsDxe finds the serial port behind this ISA bridge. Its reset
 * library (OvmfPkg/Library/ResetSystemLib) powers the machine off through
 * PM1a control at PMBASE + 4, SLP_EN with sleep type 0, which is how an OS
 * started through UEFI with hardware-reduced ACPI powers off (Linux asks
 * the firmware's ResetSystem()). Both registers answer at 0x600, where
 * OVMF puts the block: a guest that moves PMBASE elsewhere finds neither.
 * RCBA holds its value but maps nothing.
 */
#include "devices/x86/ich9_lpc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/pci/pci.h"

#define LPC_VENDOR 0x8086
#define LPC_DEVICE 0x2918
#define LPC_CLASS 0x060100 /* bridge, ISA */
#define LPC_REVISION 0x02
#define LPC_SLOT ICH9_LPC_SLOT

#define LPC_PMBASE 0x40
#define LPC_PMBASE_RTE 0x1 /* resource type: I/O, read-only */
#define LPC_PMBASE_MASK 0xff80U
#define LPC_ACPI_CNTL 0x44
#define LPC_ACPI_EN 0x80
#define LPC_SCI_IRQ_SEL 0x07
#define LPC_RCBA 0xf0
#define LPC_RCBA_MASK 0xffffc001U

#define PM1_CNT_OFFSET 4
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP (7U << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN 0x2000 /* write-only */
/* The sleep type of soft-off, as OVMF writes it and QEMU's ICH9 takes it. */
#define PM1_SLP_TYP_SOFT_OFF 0
#define PM_TIMER_OFFSET 8
#define PM_TIMER_HZ 3579545ULL
#define PM_TIMER_MASK 0xffffff /* 24 bits, as the FADT would say */

struct ich9_lpc {
	struct device dev;
	struct device_host *host;
	struct pci_bus *bus;
	struct pci_func func;
	struct bus_device pm1_cnt_io, timer_io;
	struct timespec start;
	/* PMBASE with ACPI_EN set, or 0: where the PM block decodes. */
	_Atomic uint32_t pm_base;
	_Atomic uint16_t pm1_cnt; /* the sleep type last written */
};

static void lpc_config_write(struct pci_func *f, uint32_t off, uint32_t len)
{
	struct ich9_lpc *lpc = f->opaque;
	uint32_t base = pci_config_get(f, LPC_PMBASE, 4) & LPC_PMBASE_MASK;
	bool enabled = pci_config_get(f, LPC_ACPI_CNTL, 1) & LPC_ACPI_EN;

	(void)off;
	(void)len;
	atomic_store(&lpc->pm_base, enabled ? base : 0);
}

static const struct pci_func_ops lpc_ops = {
	.config_write = lpc_config_write,
};

static uint32_t pm_timer_now(const struct ich9_lpc *lpc)
{
	struct timespec now;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)((now.tv_sec - lpc->start.tv_sec) * 1000000000LL +
			(now.tv_nsec - lpc->start.tv_nsec));
	return (uint32_t)((ns / 1000000000ULL * PM_TIMER_HZ +
			   ns % 1000000000ULL * PM_TIMER_HZ / 1000000000ULL) &
			  PM_TIMER_MASK);
}

/* Whether the PM block decodes @dev, its register at PMBASE + @reg, now. */
static bool pm_decodes(const struct bus_device *dev, uint32_t reg)
{
	const struct ich9_lpc *lpc = dev->opaque;

	return atomic_load(&lpc->pm_base) + reg == dev->base;
}

/*
 * A read of the @width-byte register at PMBASE + @reg, which @dev decodes,
 * holding @value: the bytes from @offset, or all ones while the PM block
 * is elsewhere or off.
 */
static void pm_read(const struct bus_device *dev, uint32_t reg,
		    uint32_t (*value)(const struct ich9_lpc *lpc),
		    uint32_t width, uint64_t offset, void *data, uint32_t len)
{
	uint8_t v[4];

	memset(data, 0xff, len);
	if (!pm_decodes(dev, reg))
		return;
	put_le32(v, value(dev->opaque));
	memcpy(data, v + offset, MIN(len, width - (uint32_t)offset));
}

static void pm_timer_read(struct bus_device *dev, uint64_t offset, void *data,
			  uint32_t len)
{
	pm_read(dev, PM_TIMER_OFFSET, pm_timer_now, 4, offset, data, len);
}

static const struct bus_device_ops pm_timer_ops = {
	.read = pm_timer_read,
};

/* The machine is always in ACPI mode: SCI_EN reads set. */
static uint32_t pm1_cnt_now(const struct ich9_lpc *lpc)
{
	return PM1_CNT_SCI_EN | atomic_load(&lpc->pm1_cnt);
}

static void pm1_cnt_read(struct bus_device *dev, uint64_t offset, void *data,
			 uint32_t len)
{
	pm_read(dev, PM1_CNT_OFFSET, pm1_cnt_now, 2, offset, data, len);
}

static void pm1_cnt_write(struct bus_device *dev, uint64_t offset,
			  const void *data, uint32_t len)
{
	struct ich9_lpc *lpc = dev->opaque;
	uint8_t v[2];
	unsigned int type;

	if (!pm_decodes(dev, PM1_CNT_OFFSET))
		return;
	put_le16(v, atomic_load(&lpc->pm1_cnt));
	memcpy(v + offset, data, MIN(len, 2 - (uint32_t)offset));
	atomic_store(&lpc->pm1_cnt, get_le16(v) & PM1_CNT_SLP_TYP);
	if (!(get_le16(v) & PM1_CNT_SLP_EN))
		return;
	type = (get_le16(v) & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT;
	if (type == PM1_SLP_TYP_SOFT_OFF)
		lpc->host->power(lpc->host, DEVICE_POWER_OFF, 0);
	else
		log_guest_once("ICH9 PM: sleep type %u requested; only soft-off (0) is supported",
			       type);
}

static const struct bus_device_ops pm1_cnt_ops = {
	.read = pm1_cnt_read,
	.write = pm1_cnt_write,
};

static void lpc_destroy(struct device *dev)
{
	struct ich9_lpc *lpc = container_of(dev, struct ich9_lpc, dev);

	bus_unregister(lpc->host->pio, &lpc->timer_io);
	bus_unregister(lpc->host->pio, &lpc->pm1_cnt_io);
	pci_bus_remove(lpc->bus, &lpc->func);
	free(lpc);
}

static void lpc_reset(struct device *dev)
{
	struct ich9_lpc *lpc = container_of(dev, struct ich9_lpc, dev);

	pci_func_reset(&lpc->func);
}

static const struct device_ops lpc_device_ops = {
	.reset = lpc_reset,
	.destroy = lpc_destroy,
};

static void lpc_init_config(struct ich9_lpc *lpc)
{
	struct pci_func *f = &lpc->func;

	pci_func_init(f, "ICH9 LPC bridge", LPC_VENDOR, LPC_DEVICE, LPC_CLASS,
		      LPC_REVISION, &lpc_ops, lpc);
	pci_config_set(f, LPC_PMBASE, 4, LPC_PMBASE_RTE);
	f->wmask[LPC_PMBASE] = (uint8_t)LPC_PMBASE_MASK;
	f->wmask[LPC_PMBASE + 1] = (uint8_t)(LPC_PMBASE_MASK >> 8);
	f->wmask[LPC_ACPI_CNTL] = LPC_ACPI_EN | LPC_SCI_IRQ_SEL;
	for (unsigned int i = 0; i < 4; i++)
		f->wmask[LPC_RCBA + i] = (uint8_t)(LPC_RCBA_MASK >> (8 * i));
}

int ich9_lpc_create(struct device_host *host, struct pci_bus *bus,
		    uint16_t pm_base, struct device **out, struct err *e)
{
	struct ich9_lpc *lpc = calloc(1, sizeof(*lpc));

	if (!lpc)
		return err_set(e, "LPC bridge: out of memory");
	lpc->dev = (struct device){ .name = "ich9-lpc", .ops = &lpc_device_ops,
				    .transport = "pci" };
	pci_slot_name(LPC_SLOT, lpc->dev.address, sizeof(lpc->dev.address));
	lpc->host = host;
	lpc->bus = bus;
	clock_gettime(CLOCK_MONOTONIC, &lpc->start);
	lpc_init_config(lpc);
	lpc->pm1_cnt_io = (struct bus_device){
		.name = "ACPI PM1a control", .base = pm_base + PM1_CNT_OFFSET,
		.len = 2, .ops = &pm1_cnt_ops, .opaque = lpc,
	};
	lpc->timer_io = (struct bus_device){
		.name = "ACPI PM timer", .base = pm_base + PM_TIMER_OFFSET,
		.len = 4, .ops = &pm_timer_ops, .opaque = lpc,
	};
	if (bus_register(host->pio, &lpc->pm1_cnt_io, e) < 0) {
		free(lpc);
		return -1;
	}
	if (bus_register(host->pio, &lpc->timer_io, e) < 0 ||
	    pci_bus_add(bus, LPC_SLOT, &lpc->func, e) < 0) {
		bus_unregister(host->pio, &lpc->timer_io);
		bus_unregister(host->pio, &lpc->pm1_cnt_io);
		free(lpc);
		return -1;
	}
	*out = &lpc->dev;
	return 0;
}
