// SPDX-License-Identifier: MIT
/*
 * The arm64 device tree, built with libfdt and read back with it: every
 * node and property Linux's arm64 boot needs, checked by fdt_check_full()
 * first. Plain C, so these run on any host.
 */
#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/arm64/fdt.h"
#include "vmm/arch/arm64/layout.h"

#define TREE_SIZE (64 * 1024)

static uint8_t tree[TREE_SIZE];

static const struct boot_mmio_device mmio[] = {
	{ LAYOUT_VIRTIO_MMIO, LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_IRQ_VIRTIO_FIRST },
	{ LAYOUT_VIRTIO_MMIO + LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_VIRTIO_MMIO_SIZE,
	  LAYOUT_IRQ_VIRTIO_FIRST + 1 },
	{ LAYOUT_VIRTIO_MMIO + 2 * LAYOUT_VIRTIO_MMIO_SIZE,
	  LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_IRQ_VIRTIO_FIRST + 2 },
};

static struct fdt_machine machine(unsigned int cpus, unsigned int gic)
{
	struct fdt_machine m = {
		.nr_cpus = cpus,
		.ram_base = LAYOUT_RAM,
		.ram_size = 256 * MiB,
		.gic_version = gic,
		.uarts = 1,
		.rtc = true,
		.nr_mmio = ARRAY_SIZE(mmio),
		.mmio = mmio,
		.cmdline = "console=ttyS0 root=/dev/vda",
		.initrd_start = LAYOUT_RAM + 200 * MiB,
		.initrd_size = 12345,
	};

	for (unsigned int i = 0; i < FDT_SEED_SIZE; i++)
		m.seed[i] = (uint8_t)(i + 1);
	return m;
}

static void build(const struct fdt_machine *m)
{
	struct err e;

	memset(tree, 0xa5, sizeof(tree));
	cr_assert_eq(arm64_fdt_build(tree, sizeof(tree), m, &e), 0, "%s", e.msg);
	cr_assert_eq(fdt_check_full(tree, sizeof(tree)), 0);
}

static int node(const char *path)
{
	int off = fdt_path_offset(tree, path);

	cr_assert_geq(off, 0, "%s: %s", path, fdt_strerror(off));
	return off;
}

static const void *get(const char *path, const char *name, int *len)
{
	const void *p = fdt_getprop(tree, node(path), name, len);

	cr_assert_not_null(p, "%s lacks %s", path, name);
	return p;
}

static void expect_str(const char *path, const char *name, const char *want)
{
	int len;
	const char *s = get(path, name, &len);

	cr_assert_eq(len, (int)strlen(want) + 1, "%s %s", path, name);
	cr_assert_str_eq(s, want, "%s %s", path, name);
}

static void expect_cells(const char *path, const char *name,
			 const uint32_t *want, int n)
{
	int len;
	const fdt32_t *c = get(path, name, &len);

	cr_assert_eq(len, n * 4, "%s %s: %d bytes", path, name, len);
	for (int i = 0; i < n; i++)
		cr_assert_eq(fdt32_to_cpu(c[i]), want[i], "%s %s cell %d", path,
			     name, i);
}

static void expect_u32(const char *path, const char *name, uint32_t want)
{
	expect_cells(path, name, &want, 1);
}

static uint64_t get_u64(const char *path, const char *name)
{
	int len;
	const void *p = get(path, name, &len);
	fdt64_t v;

	cr_assert_eq(len, 8, "%s %s", path, name);
	memcpy(&v, p, sizeof(v)); /* properties are 4-byte aligned only */
	return fdt64_to_cpu(v);
}

static void expect_reg(const char *path, uint64_t addr, uint64_t size)
{
	const uint32_t reg[] = { addr >> 32, (uint32_t)addr, size >> 32,
				 (uint32_t)size };

	expect_cells(path, "reg", reg, 4);
}

static bool has(const char *path, const char *name)
{
	return fdt_getprop(tree, node(path), name, NULL) != NULL;
}

Test(arm64_fdt, root_names_the_gic_as_interrupt_parent)
{
	struct fdt_machine m = machine(2, 3);

	build(&m);
	expect_str("/", "compatible", "linux,dummy-virt");
	expect_u32("/", "#address-cells", 2);
	expect_u32("/", "#size-cells", 2);
	expect_u32("/", "interrupt-parent", FDT_PHANDLE_GIC);
	cr_assert_eq(fdt_node_offset_by_phandle(tree, FDT_PHANDLE_GIC),
		     node("/intc@8000000"));
}

Test(arm64_fdt, chosen_carries_bootargs_initrd_console_and_seeds)
{
	struct fdt_machine m = machine(1, 3);
	const char *stdout_path;
	const uint8_t *seed;
	int len;

	build(&m);
	expect_str("/chosen", "bootargs", "console=ttyS0 root=/dev/vda");
	cr_assert_eq(get_u64("/chosen", "linux,initrd-start"), m.initrd_start);
	cr_assert_eq(get_u64("/chosen", "linux,initrd-end"),
		     m.initrd_start + m.initrd_size);
	stdout_path = get("/chosen", "stdout-path", &len);
	cr_assert_str_eq(stdout_path, "/serial@b000000");
	expect_str(stdout_path, "compatible", "ns16550a");
	seed = get("/chosen", "rng-seed", &len);
	cr_assert_eq(len, FDT_SEED_SIZE - 8);
	cr_assert_eq(memcmp(seed, m.seed, (size_t)len), 0);
	seed = get("/chosen", "kaslr-seed", &len);
	cr_assert_eq(len, 8);
	cr_assert_eq(memcmp(seed, m.seed + FDT_SEED_SIZE - 8, 8), 0);
}

Test(arm64_fdt, without_initrd_or_uart_chosen_says_nothing_of_them)
{
	struct fdt_machine m = machine(1, 3);

	m.initrd_size = 0;
	m.uarts = 0;
	build(&m);
	cr_assert_not(has("/chosen", "linux,initrd-start"));
	cr_assert_not(has("/chosen", "linux,initrd-end"));
	cr_assert_not(has("/chosen", "stdout-path"));
	cr_assert_lt(fdt_path_offset(tree, "/serial@b000000"), 0);
}

Test(arm64_fdt, memory_node_covers_guest_ram)
{
	struct fdt_machine m = machine(1, 3);

	build(&m);
	expect_str("/memory@80000000", "device_type", "memory");
	expect_reg("/memory@80000000", LAYOUT_RAM, 256 * MiB);
}

Test(arm64_fdt, every_vcpu_has_a_psci_cpu_node_with_its_mpidr)
{
	struct fdt_machine m = machine(18, 3);
	char path[32];

	build(&m);
	expect_u32("/cpus", "#address-cells", 1);
	expect_u32("/cpus", "#size-cells", 0);
	for (unsigned int i = 0; i < 18; i++) {
		/* KVM's MPIDR: Aff0 = i % 16, Aff1 = i / 16. */
		uint32_t mpidr = ((i / 16) << 8) | (i % 16);

		snprintf(path, sizeof(path), "/cpus/cpu@%x", mpidr);
		expect_str(path, "device_type", "cpu");
		expect_str(path, "enable-method", "psci");
		expect_u32(path, "reg", mpidr);
	}
	cr_assert_lt(fdt_path_offset(tree, "/cpus/cpu@102"), 0);
	expect_str("/psci", "compatible", "arm,psci-0.2");
	expect_str("/psci", "method", "hvc");
}

Test(arm64_fdt, gicv3_has_distributor_and_a_redistributor_per_vcpu)
{
	struct fdt_machine m = machine(4, 3);
	const uint32_t reg[] = {
		0, LAYOUT_GICD, 0, LAYOUT_GICD_SIZE,
		0, LAYOUT_GICR, 0, 4 * LAYOUT_GICR_SIZE_PER_CPU,
	};

	build(&m);
	expect_str("/intc@8000000", "compatible", "arm,gic-v3");
	cr_assert(has("/intc@8000000", "interrupt-controller"));
	expect_u32("/intc@8000000", "#interrupt-cells", 3);
	expect_cells("/intc@8000000", "reg", reg, 8);
	expect_u32("/intc@8000000", "phandle", FDT_PHANDLE_GIC);
}

Test(arm64_fdt, gicv2_has_cpu_interface_and_masks_timer_ppis)
{
	struct fdt_machine m = machine(2, 2);
	const uint32_t reg[] = {
		0, LAYOUT_GICD, 0, LAYOUT_GICD_SIZE,
		0, LAYOUT_GICC, 0, LAYOUT_GICC_SIZE,
	};
	/* PPIs to CPUs 0 and 1 (mask 0x3 << 8), level high. */
	const uint32_t timer[] = { 1, 13, 0x304, 1, 14, 0x304,
				   1, 11, 0x304, 1, 10, 0x304 };

	build(&m);
	expect_str("/intc@8000000", "compatible", "arm,cortex-a15-gic");
	expect_cells("/intc@8000000", "reg", reg, 8);
	expect_cells("/timer", "interrupts", timer, 12);
}

Test(arm64_fdt, timer_uses_the_architected_ppis)
{
	struct fdt_machine m = machine(2, 3);
	const uint32_t timer[] = { 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4 };

	build(&m);
	expect_str("/timer", "compatible", "arm,armv8-timer");
	expect_cells("/timer", "interrupts", timer, 12);
	cr_assert(has("/timer", "always-on"));
}

Test(arm64_fdt, uarts_are_16550a_on_mmio_with_level_spis)
{
	struct fdt_machine m = machine(1, 3);
	const uint32_t com1[] = { 0, LAYOUT_IRQ_COM1, 4 };
	const uint32_t com3[] = { 0, LAYOUT_IRQ_COM1 + 2, 4 };

	m.uarts = 1 | 4;
	build(&m);
	expect_reg("/serial@b000000", LAYOUT_UART, LAYOUT_UART_SIZE);
	expect_cells("/serial@b000000", "interrupts", com1, 3);
	expect_u32("/serial@b000000", "clock-frequency", 1843200);
	cr_assert_lt(fdt_path_offset(tree, "/serial@b001000"), 0);
	expect_str("/serial@b002000", "compatible", "ns16550a");
	expect_reg("/serial@b002000", LAYOUT_UART + 2 * LAYOUT_UART_SIZE,
		   LAYOUT_UART_SIZE);
	expect_cells("/serial@b002000", "interrupts", com3, 3);
}

Test(arm64_fdt, rtc_is_a_primecell_pl031_with_its_apb_clock)
{
	struct fdt_machine m = machine(1, 3);
	const uint32_t irq[] = { 0, LAYOUT_IRQ_RTC, 4 };
	const char *compat;
	int len, clock;

	build(&m);
	compat = get("/rtc@b004000", "compatible", &len);
	cr_assert_eq(len, (int)sizeof("arm,pl031\0arm,primecell"));
	cr_assert_eq(fdt_node_check_compatible(tree, node("/rtc@b004000"),
					       "arm,primecell"), 0);
	cr_assert_str_eq(compat, "arm,pl031");
	expect_reg("/rtc@b004000", LAYOUT_RTC, LAYOUT_RTC_SIZE);
	expect_cells("/rtc@b004000", "interrupts", irq, 3);
	expect_str("/rtc@b004000", "clock-names", "apb_pclk");
	expect_u32("/rtc@b004000", "clocks", FDT_PHANDLE_APB_CLOCK);
	clock = fdt_node_offset_by_phandle(tree, FDT_PHANDLE_APB_CLOCK);
	cr_assert_eq(fdt_node_check_compatible(tree, clock, "fixed-clock"), 0);
	cr_assert_not_null(fdt_getprop(tree, clock, "clock-frequency", NULL));
}

Test(arm64_fdt, every_virtio_device_has_window_edge_spi_and_coherent_dma)
{
	struct fdt_machine m = machine(1, 3);
	char path[48];

	build(&m);
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio); i++) {
		const uint32_t irq[] = { 0, mmio[i].gsi, 1 };

		snprintf(path, sizeof(path), "/virtio_mmio@%llx",
			 (unsigned long long)mmio[i].base);
		expect_str(path, "compatible", "virtio,mmio");
		expect_reg(path, mmio[i].base, mmio[i].size);
		expect_cells(path, "interrupts", irq, 3);
		cr_assert(has(path, "dma-coherent"), "%s", path);
	}
	cr_assert_eq(fdt_node_offset_by_compatible(tree, -1, "virtio,mmio") >= 0, 1);
}

Test(arm64_fdt, no_rtc_no_rtc_node)
{
	struct fdt_machine m = machine(1, 3);

	m.rtc = false;
	build(&m);
	cr_assert_lt(fdt_path_offset(tree, "/rtc@b004000"), 0);
}

static void expect_refused(const struct fdt_machine *m, size_t size,
			   const char *why)
{
	struct err e;

	cr_assert_eq(arm64_fdt_build(tree, size, m, &e), -1);
	cr_assert(strstr(e.msg, why), "%s", e.msg);
}

Test(arm64_fdt, machines_it_cannot_describe_are_refused)
{
	struct fdt_machine m = machine(9, 2);

	expect_refused(&m, sizeof(tree), "a GICv2 addresses at most 8");
	m = machine(0, 3);
	expect_refused(&m, sizeof(tree), "without vCPUs");
	m = machine(1, 4);
	expect_refused(&m, sizeof(tree), "only 2 and 3");
	m = machine(1, 3);
	m.uarts = 1U << 4;
	expect_refused(&m, sizeof(tree), "only COM1-COM4");
	m = machine(1, 3);
	m.mmio = NULL;
	expect_refused(&m, sizeof(tree), "none described");
	m = machine(1000, 3);
	expect_refused(&m, sizeof(tree), "redistributors");
}

Test(arm64_fdt, a_tree_that_does_not_fit_is_an_error_not_an_overrun)
{
	struct fdt_machine m = machine(2, 3);
	char cmdline[4096];

	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	m.cmdline = cmdline;
	memset(tree, 0x5a, sizeof(tree));
	expect_refused(&m, 2048, "does not fit in 2048 bytes");
	for (size_t i = 2048; i < sizeof(tree); i++)
		cr_assert_eq(tree[i], 0x5a, "byte %zu written", i);
}
