// SPDX-License-Identifier: MIT
/*
 * The PC platform: COM1-COM4, the i8042, debug-exit and ACPI PM ports, the
 * ACPI power button, with the PCI transport or UEFI firmware a q35 PCI
 * Express bus (with ACPI hotplug for the transport), and for the firmware
 * the ICH9 LPC bridge, the CMOS/RTC and fw_cfg.
 */
#include "vmm/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/cmdline.h"
#include "devices/pci/pci.h"
#include "devices/x86/cmos.h"
#include "devices/x86/fw_cfg.h"
#include "devices/x86/ich9_lpc.h"
#include "devices/x86/legacy.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/hotplug.h"
#include "vmm/vm_devices.h"

static const struct serial_place platform_com[CONFIG_NR_SERIAL] = {
	{ .base = LAYOUT_PORT_COM1, .gsi = LAYOUT_IRQ_COM1 },
	{ .base = LAYOUT_PORT_COM2, .gsi = LAYOUT_IRQ_COM2 },
	{ .base = LAYOUT_PORT_COM3, .gsi = LAYOUT_IRQ_COM3 },
	{ .base = LAYOUT_PORT_COM4, .gsi = LAYOUT_IRQ_COM4 },
};

/*
 * The guest's physical address width, as CPUID leaf 0x80000008 tells it
 * (the host's, which KVM passes on), or 36 bits where the leaf is missing.
 */
static unsigned int guest_phys_bits(const struct kvm_cpuid2 *cpuid)
{
	for (unsigned int i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0x80000008)
			return MIN(cpuid->entries[i].eax & 0xff, 52U);
	return 36;
}

void x86_pci_layout(const struct guest_mem *mem, unsigned int phys_bits,
		    struct pci_layout *l)
{
	const struct guest_region *top = &mem->regions[mem->nr_regions - 1];
	uint64_t ram_end = MAX(top->gpa + top->size, LAYOUT_RAM_ABOVE_4G);
	uint64_t mmio64 = ALIGN_UP(ram_end, LAYOUT_PCI_MMIO64_SIZE);

	*l = (struct pci_layout){
		.ecam_base = LAYOUT_PCI_ECAM,
		.ecam_size = LAYOUT_PCI_ECAM_SIZE,
		.mmio32_base = LAYOUT_PCI_MMIO32,
		.mmio32_end = LAYOUT_PCI_MMIO32_END,
		.mmio64_base = mmio64,
		.mmio64_end = mmio64 + LAYOUT_PCI_MMIO64_SIZE,
		.mmio64_decode_end = 1ULL << phys_bits,
		.io_base = LAYOUT_PCI_IO,
		.io_end = LAYOUT_PCI_IO_END,
	};
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++)
		l->intx_gsi[s] = LAYOUT_PCI_INTX_GSI(s, 0);
}

/*
 * Bus 0 with the host bridge and its configuration ports; with
 * --transport pci the hotplug controller. Direct boot finds ECAM on, as
 * firmware would leave it; UEFI firmware turns it on itself.
 */
static int platform_create_pci(struct vm *vm, struct err *e)
{
	struct pci_layout layout;
	struct device *ports;

	if (vm->cfg->transport != VIRTIO_TRANSPORT_PCI && !vm->cfg->firmware)
		return 0;
	x86_pci_layout(&vm->mem, guest_phys_bits(vm->arch->cpuid), &layout);
	if (pci_bus_create(&vm->host, &layout, !vm->cfg->firmware, &vm->pci,
			   e) < 0)
		return -1;
	vm_add_device(vm, &vm->pci->dev);
	vm->slots[0].kind = VM_SLOT_FIXED;
	if (pci_ports_create(&vm->host, vm->pci, &ports, e) < 0)
		return -1;
	vm_add_device(vm, ports);
	if (vm->cfg->transport != VIRTIO_TRANSPORT_PCI)
		return 0;
	return vm_hotplug_create(vm, LAYOUT_PORT_PCI_HOTPLUG, e);
}

/*
 * What UEFI firmware built for q35 finds there besides the host bridge
 * (docs/uefi.md): the LPC bridge with the PM timer, the RTC with its CMOS
 * memory, and fw_cfg, which uefi_setup() fills at boot.
 */
static int platform_create_firmware_devices(struct vm *vm, struct err *e)
{
	const struct guest_mem *mem = &vm->mem;
	struct cmos_memory cm = {
		.low_end = guest_mem_low_end(mem),
		.high_size = mem->nr_regions > 1 ? mem->regions[1].size : 0,
		.nr_cpus = vm->nr_vcpus,
	};
	struct device *dev;

	if (!vm->cfg->firmware)
		return 0;
	if (ich9_lpc_create(&vm->host, vm->pci, LAYOUT_PORT_ICH9_PMBASE, &dev,
			    e) < 0)
		return -1;
	vm_add_device(vm, dev);
	vm->slots[ICH9_LPC_SLOT].kind = VM_SLOT_FIXED;
	if (cmos_create(&vm->host, &cm, &dev, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	if (fw_cfg_create(&vm->host, &vm->arch->fw_cfg, e) < 0)
		return -1;
	vm_add_device(vm, fw_cfg_device(vm->arch->fw_cfg));
	return 0;
}

/* The ACPI power button, on an interrupt line of its own. */
static int add_power_button(struct vm *vm, struct err *e)
{
	uint32_t gsi = vm->host.irq_alloc(&vm->host);
	struct device *dev;

	if (!gsi)
		return err_set(e, "no interrupt line left for the ACPI power button");
	if (power_button_create(&vm->host, gsi, &dev, &vm->power, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	vm->arch->power_button_gsi = gsi;
	return 0;
}

int arch_create_devices(struct vm *vm, struct err *e)
{
	int (*const legacy[])(struct device_host *, struct device **,
			      struct err *) = {
		i8042_create, debug_exit_create,
	};
	struct device *dev;

	if (vm_create_serial_ports(vm, platform_com, e) < 0 ||
	    platform_create_pci(vm, e) < 0 ||
	    platform_create_firmware_devices(vm, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(legacy); i++) {
		if (legacy[i](&vm->host, &dev, e) < 0)
			return -1;
		vm_add_device(vm, dev);
	}
	/* With PCI, the reset register lies in the configuration ports. */
	if (acpi_pm_create(&vm->host, !vm->pci, &dev, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	/* After the virtio devices, which keep their GSIs from 5 on. */
	if (vm_create_virtio_devices(vm, e) < 0)
		return -1;
	return add_power_button(vm, e);
}

/*
 * One announcement per virtio device, the one the kernel reads. The DSDT
 * always carries them, and a kernel with ACPI finds them there. Under
 * hardware-reduced ACPI Linux allocates no legacy IRQs 0-15, so the IRQ of
 * a virtio_mmio.device= entry names no interrupt and the entry fails to
 * probe (-EINVAL); entries also race the DSDT's driver for the same
 * window. The command line carries them only for a kernel that ignores
 * ACPI (acpi=off: the MP table's legacy IRQs make the numbers valid) or
 * when the user asks.
 */
static bool announce_on_cmdline(const struct vm_config *cfg, const char *line)
{
	return cfg->mmio_cmdline || cmdline_acpi_off(line);
}

char *arch_cmdline(const struct vm *vm, struct err *e)
{
	const char *base = vm->cfg->cmdline ? vm->cfg->cmdline :
					      arch_default_cmdline;
	char virtio[LAYOUT_VIRTIO_MMIO_MAX * 48] = "";
	char *line;

	if (announce_on_cmdline(vm->cfg, base) &&
	    vm_virtio_cmdline(vm, virtio, sizeof(virtio), e) < 0)
		return NULL;
	if (asprintf(&line, "%s%s%s", base, *virtio ? " " : "", virtio) < 0) {
		err_set(e, "out of memory");
		return NULL;
	}
	return line;
}
