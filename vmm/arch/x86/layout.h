/* SPDX-License-Identifier: MIT */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

/*
 * Guest-physical address map. Everything a boot loader writes below 1 MiB
 * sits here so the e820 map, the ACPI tables and the loaders agree.
 *
 *   0x00000000  real-mode IVT and BIOS data area (left zero)
 *   0x00000500  boot GDT
 *   0x00000520  boot IDT (empty)
 *   0x00006000  PVH hvm_start_info, its memory map and module list
 *   0x00007000  zero page (struct boot_params)
 *   0x00009000  identity page tables: PML4, PDPT, 4 page directories
 *   0x00020000  kernel command line (up to BOOT_CMDLINE_MAX)
 *   0x0009fc00  EBDA: MP floating pointer and MP configuration table
 *   0x000a0000  legacy VGA / option ROM hole (reserved)
 *   0x000e0000  ACPI tables (RSDP first, as the legacy search expects)
 *   0x00100000  kernel and initrd, RAM up to the MMIO hole
 *   0xb0000000  MMIO hole; first the PCI Express ECAM (MMCONFIG) window,
 *               256 buses of 1 MiB, where q35's firmware puts PCIEXBAR
 *   0xc0000000  the 32-bit PCI memory aperture, up to 0xfc000000 (OVMF's
 *               on q35: low RAM must end at or below the ECAM window)
 *   0xfe000000  virtio-mmio windows, 4 KiB each
 *   0xfec00000  IOAPIC; 0xfee00000 LAPIC
 *   0xfeffc000  KVM's identity-map page and real-mode TSS (where QEMU puts
 *               them, clear of the firmware flash below 4 GiB)
 *   4 GiB - N   UEFI firmware (--firmware), N bytes read-only up to 4 GiB
 *   0x100000000 RAM above 4 GiB when the guest has more than the hole allows
 *   above RAM   the 64-bit PCI memory aperture, aligned to its 32 GiB size
 *               (OVMF's default window on the same RAM)
 */
#define LAYOUT_GDT 0x500ULL
#define LAYOUT_IDT 0x520ULL
#define LAYOUT_PVH_START_INFO 0x6000ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* four pages: 0xb000..0xefff */
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL
#define LAYOUT_LOW_RAM_END 0x9fc00ULL /* first e820 RAM entry ends here */
#define LAYOUT_BIOS_START 0xa0000ULL
#define LAYOUT_ACPI 0xe0000ULL
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_HIGH_RAM 0x100000ULL

#define LAYOUT_MMIO_HOLE 0xb0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL
#define LAYOUT_PCI_ECAM 0xb0000000ULL
#define LAYOUT_PCI_ECAM_SIZE 0x10000000ULL /* buses 0-255 */
#define LAYOUT_PCI_MMIO32 0xc0000000ULL
#define LAYOUT_PCI_MMIO32_END 0xfc000000ULL
#define LAYOUT_VIRTIO_MMIO 0xfe000000ULL /* one 4 KiB window per device */
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_MMIO_MAX 64
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfeffc000ULL
#define LAYOUT_KVM_TSS 0xfeffd000ULL /* three pages */
#define LAYOUT_FIRMWARE_END 0x100000000ULL
/* The memory slot of the firmware, after those of RAM. */
#define LAYOUT_FIRMWARE_SLOT 2
#define LAYOUT_RAM_ABOVE_4G 0x100000000ULL
/* The 64-bit PCI aperture: the first multiple of its size above RAM. */
#define LAYOUT_PCI_MMIO64_SIZE (32ULL << 30)
/* PCI I/O ports for I/O BARs (OVMF's q35 range). */
#define LAYOUT_PCI_IO 0x6000ULL
#define LAYOUT_PCI_IO_END 0x10000ULL

/* The smallest guest: room for the tables above plus a small kernel. */
#define LAYOUT_MIN_RAM (2ULL << 20)


/* Interrupt lines (GSIs) of the legacy devices. */
#define LAYOUT_IRQ_I8042_KBD 1
#define LAYOUT_IRQ_COM1 4
#define LAYOUT_IRQ_COM2 3
#define LAYOUT_IRQ_COM3 4
#define LAYOUT_IRQ_COM4 3
#define LAYOUT_IRQ_ACPI_SCI 9
/* GSIs handed to virtio-mmio devices, in order of creation. */
#define LAYOUT_IRQ_VIRTIO_FIRST 5
/* PCI INTA#-INTD# of the slots, swizzled onto IOAPIC pins 16-23 (_PRT). */
#define LAYOUT_IRQ_PCI_FIRST 16
#define LAYOUT_IRQ_PCI_COUNT 8
/* The GSI of @slot's pin @pin (0: INTA#), as the DSDT's _PRT says. */
#define LAYOUT_PCI_INTX_GSI(slot, pin)                                         \
	(LAYOUT_IRQ_PCI_FIRST + ((slot) + (pin)) % LAYOUT_IRQ_PCI_COUNT)
#define LAYOUT_NR_GSI 24
/*
 * Lines no virtio device gets: the ISA lines of the RTC (8), the ACPI SCI
 * (9), the PS/2 mouse (12), the FPU (13) and the IDE channels (14, 15).
 */
#define LAYOUT_IRQ_RESERVED                                                \
	((1ULL << 8) | (1ULL << LAYOUT_IRQ_ACPI_SCI) | (1ULL << 12) |      \
	 (1ULL << 13) | (1ULL << 14) | (1ULL << 15))

/* I/O ports of the small devices a kernel expects. */
#define LAYOUT_PORT_COM1 0x3f8
#define LAYOUT_PORT_COM2 0x2f8
#define LAYOUT_PORT_COM3 0x3e8
#define LAYOUT_PORT_COM4 0x2e8
#define LAYOUT_PORT_I8042_DATA 0x60
#define LAYOUT_PORT_I8042_CMD 0x64
#define LAYOUT_PORT_POST 0x80
/* Writing a byte V here ends the VM with exit status V (same port as QEMU's isa-debug-exit). */
#define LAYOUT_PORT_DEBUG_EXIT 0x501
/* PCI configuration mechanism #1: CONFIG_ADDRESS, then CONFIG_DATA. */
#define LAYOUT_PORT_PCI_CONFIG 0xcf8
/* fw_cfg selector/data and DMA (QEMU's ports, which OVMF hard-codes). */
#define LAYOUT_PORT_FW_CFG 0x510
/* The ICH9 PM block where OVMF puts it (ICH9_PMBASE_VALUE). */
#define LAYOUT_PORT_ICH9_PMBASE 0x600
/* ACPI PCI hotplug registers (the DSDT's PCI0.PCST region). */
#define LAYOUT_PORT_PCI_HOTPLUG 0xcc4
/* Hardware-reduced ACPI sleep control/status and reset registers. */
#define LAYOUT_PORT_ACPI_SLEEP_CTL 0x600
#define LAYOUT_PORT_ACPI_SLEEP_STS 0x601
#define LAYOUT_PORT_ACPI_RESET 0xcf9
#define LAYOUT_ACPI_RESET_VALUE 0x06
/* SLP_TYP value the DSDT's \_S5 package announces for power-off. */
#define LAYOUT_ACPI_S5_TYPE 5

#endif
