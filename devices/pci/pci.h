/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_PCI_PCI_H
#define DEVICES_PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"
#include "lib/util.h"

/*
 * A PCI Express root complex with one bus, bus 0 (docs/pci.md). The guest
 * reaches configuration space through the I/O ports 0xcf8/0xcfc
 * (configuration mechanism #1) and through the ECAM window that the host
 * bridge's PCIEXBAR register places; it places each function's BARs
 * itself, and the bus decodes them inside its apertures only. Slot 0 holds
 * the host bridge (host_bridge.c), slots 1-31 the devices, which may come
 * and go while the guest runs (hotplug.c).
 *
 * Locking: the bus lock (a rwlock) guards the slots, every function's
 * configuration space and where its BARs decode. vCPUs take it for reading
 * to dispatch a BAR access and for writing to write configuration space;
 * adding and removing functions take it for writing. A function's hooks
 * run under it and may take the device's own lock (bus lock -> device
 * lock), so a device must never take the bus lock with its own held.
 */

/* Configuration space header, type 0 (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS 0x06
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_ERRORS 0xf900 /* parity, aborts, SERR: write 1 to clear */
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_HEADER_END 0x40

#define PCI_BAR_SPACE_IO 0x1
#define PCI_BAR_MEM_TYPE_64 0x4
#define PCI_BAR_MEM_PREFETCH 0x8

#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

#define PCI_CONFIG_SIZE 256       /* conventional configuration space */
#define PCI_ECAM_FUNC_SIZE 0x1000 /* what ECAM gives each function */
#define PCI_NR_BARS 6
#define PCI_NR_SLOTS 32

/* Configuration mechanism #1 (0xcf8): enable, bus, device, function, register. */
#define PCI_CONFIG_ENABLE 0x80000000U

enum pci_bar_type {
	PCI_BAR_UNUSED,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* takes this BAR and the next */
	PCI_BAR_IO,
};

struct pci_bar {
	enum pci_bar_type type;
	bool prefetch;
	uint64_t size; /* a power of two */
	uint64_t addr; /* where it decodes now; 0: nowhere */
};

struct pci_func;

/* What a function implements; every hook runs with the bus lock held. */
struct pci_func_ops {
	/* A guest access to [off, off + len) of BAR @bar (if it has BARs). */
	void (*bar_read)(struct pci_func *f, unsigned int bar, uint64_t off,
			 void *data, uint32_t len);
	void (*bar_write)(struct pci_func *f, unsigned int bar, uint64_t off,
			  const void *data, uint32_t len);
	/* BAR @bar decodes at @addr from now on (0: not at all). Optional. */
	void (*bar_map)(struct pci_func *f, unsigned int bar, uint64_t addr);
	/*
	 * Fills in registers of [off, off + len) whose value is not kept in
	 * config[] (@data already holds config[]'s). Optional.
	 */
	void (*config_read)(struct pci_func *f, uint32_t off, uint32_t len,
			    uint8_t *data);
	/*
	 * The guest wrote [off, off + len) of configuration space; the write
	 * is applied. Also called for the whole space after a reset.
	 * Optional.
	 */
	void (*config_write)(struct pci_func *f, uint32_t off, uint32_t len);
};

struct pci_func {
	const char *name;
	const struct pci_func_ops *ops;
	void *opaque;

	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];   /* bits the guest may change */
	uint8_t w1cmask[PCI_CONFIG_SIZE]; /* bits the guest clears with a 1 */
	uint8_t reset_config[PCI_CONFIG_SIZE];
	struct pci_bar bars[PCI_NR_BARS];
	uint8_t next_cap; /* where the next capability goes */
	bool intx;        /* INTx asserted: the status register shows it */

	/* Set by pci_bus_add(). */
	struct pci_bus *bus;
	unsigned int slot;
};

/*
 * Where the bus decodes what the guest places, and where the slots'
 * interrupt pins go: the platform's choice (vmm/arch/x86/layout.h).
 */
struct pci_layout {
	uint64_t ecam_base, ecam_size;     /* the ECAM window's home */
	uint64_t mmio32_base, mmio32_end;  /* 32-bit memory BARs */
	uint64_t mmio64_base, mmio64_end;  /* 64-bit memory BARs */
	/*
	 * 64-bit memory BARs decode from mmio64_base up to here, the top of
	 * the guest's physical address space, as a host bridge decodes what
	 * RAM does not claim: UEFI firmware picks its own aperture (OVMF
	 * the top eighth). mmio64_end bounds the window the ACPI tables
	 * offer; 0 here: that window only.
	 */
	uint64_t mmio64_decode_end;
	uint32_t io_base, io_end;          /* I/O BARs */
	uint32_t intx_gsi[PCI_NR_SLOTS];   /* each slot's INTA# */
};

struct pci_bus {
	struct device dev;
	struct device_host *host;
	struct pci_layout layout;
	pthread_rwlock_t lock;
	struct pci_func *slots[PCI_NR_SLOTS];

	/* ECAM as the host bridge's PCIEXBAR places it. */
	uint64_t ecam_base, ecam_size;
	bool ecam_enabled;

	struct bus_device io_window;
	struct bus_device low_window; /* ECAM home and the 32-bit aperture */
	struct bus_device high_window;
	struct pci_func *host_bridge;
};

/*
 * A function with an identity and nothing else yet: header type 0, the
 * command and status bits a device has, no BARs, no capabilities, no
 * interrupt pin. @class_code is base class, subclass and programming
 * interface (0x020000: Ethernet).
 */
void pci_func_init(struct pci_func *f, const char *name, uint16_t vendor,
		   uint16_t device, uint32_t class_code, uint8_t revision,
		   const struct pci_func_ops *ops, void *opaque);
void pci_func_set_subsystem(struct pci_func *f, uint16_t vendor, uint16_t id);
/* Uses INTA# (1) to INTD# (4); the guest may write the line register. */
void pci_func_set_intx_pin(struct pci_func *f, uint8_t pin);
/*
 * Declares BAR @bar of @size bytes (a power of two, at least 16 for memory
 * and 4 for I/O; a 64-bit BAR also takes @bar + 1). Returns -1 when the
 * BAR cannot be described.
 */
int pci_func_add_bar(struct pci_func *f, unsigned int bar,
		     enum pci_bar_type type, uint64_t size, bool prefetch);
/*
 * Appends a capability of @len bytes (ID and next pointer included) to the
 * list; returns its offset, or 0 when it does not fit. The caller fills
 * the rest and marks the writable bits in wmask.
 */
uint8_t pci_func_add_cap(struct pci_func *f, uint8_t id, uint8_t len);
/*
 * The level of INTx, as the status register reports it. Any thread; the
 * interrupt itself is the device's.
 */
void pci_func_set_intx(struct pci_func *f, bool asserted);
/* Little-endian values in configuration space, for hooks and builders. */
uint32_t pci_config_get(const struct pci_func *f, uint32_t off, uint32_t len);
void pci_config_set(struct pci_func *f, uint32_t off, uint32_t len,
		    uint32_t val);

/*
 * Creates bus 0 with the q35 host bridge in slot 0 and registers its
 * windows on @host's buses: the I/O aperture and the two memory windows
 * (ECAM lies in the low one). The platform adds its configuration ports.
 * With @ecam_enabled the host bridge starts with ECAM on at its home, as
 * firmware leaves it; without, the guest's firmware turns it on.
 */
int pci_bus_create(struct device_host *host, const struct pci_layout *layout,
		   bool ecam_enabled, struct pci_bus **out, struct err *e);
/*
 * Puts @f in @slot (0-31; 0 is the host bridge's); fails when the slot is
 * taken. The function's configuration space as it is now is what a reset
 * restores.
 */
int pci_bus_add(struct pci_bus *bus, unsigned int slot, struct pci_func *f,
		struct err *e);
/*
 * Takes @f off the bus: once this returns no vCPU is inside its hooks and
 * its BARs decode nowhere. Idempotent.
 */
void pci_bus_remove(struct pci_bus *bus, struct pci_func *f);
/*
 * Takes whatever function is in @slot off the bus, as pci_bus_remove()
 * does; returns false when the slot was empty.
 */
bool pci_bus_unplug_slot(struct pci_bus *bus, unsigned int slot);
/* True when @slot holds a function. */
bool pci_bus_slot_used(struct pci_bus *bus, unsigned int slot);
/* The lowest free slot, or 0 when every slot is taken. */
unsigned int pci_bus_free_slot(struct pci_bus *bus);
/* Restores @f's configuration space to what pci_bus_add() saw. */
void pci_func_reset(struct pci_func *f);

/*
 * Configuration space accesses as the guest makes them, by bus number,
 * device, function and register; what the ports and ECAM decode to. An
 * absent function reads as all ones and ignores writes.
 */
void pci_bus_config_read(struct pci_bus *bus, unsigned int busnr,
			 unsigned int devfn, uint32_t reg, void *data,
			 uint32_t len);
void pci_bus_config_write(struct pci_bus *bus, unsigned int busnr,
			  unsigned int devfn, uint32_t reg, const void *data,
			  uint32_t len);

/* From the host bridge's PCIEXBAR (bus lock held for writing). */
void pci_bus_set_ecam(struct pci_bus *bus, uint64_t base, uint64_t size,
		      bool enabled);

/* "0000:00:02.0" for slot @slot. */
void pci_slot_name(unsigned int slot, char *buf, size_t len);

/* The q35 host bridge (host_bridge.c), slot 0. */
int pci_host_bridge_create(struct pci_bus *bus, bool ecam_enabled,
			   struct err *e);

#endif
