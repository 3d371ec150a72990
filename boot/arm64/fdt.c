// SPDX-License-Identifier: MIT
/*
 * The device tree an arm64 kernel learns its machine from, written with
 * libfdt's sequential-write functions. The nodes and properties follow the
 * kernel's bindings (Documentation/devicetree/bindings): arm,gic-v3 and
 * arm,cortex-a15-gic, arm,armv8-timer, arm,psci-0.2, ns16550a,
 * arm,pl031, virtio,mmio.
 */
#include "fdt.h"

#include <libfdt.h>
#include <stdio.h>

#include "vmm/arch/arm64/layout.h"

/* The GIC binding's interrupt specifier: type, number, flags. */
#define GIC_SPI 0
#define GIC_PPI 1
#define IRQ_EDGE_RISING 1
#define IRQ_LEVEL_HIGH 4
#define GIC_CPU_MASK_SHIFT 8

#define UART_CLOCK_HZ 1843200
#define APB_CLOCK_HZ 24000000

/* Keeps the first libfdt error, so the node writers need no checks. */
struct fdt_writer {
	void *fdt;
	int err;
};

static void begin(struct fdt_writer *w, const char *name)
{
	if (!w->err)
		w->err = fdt_begin_node(w->fdt, name);
}

static void end(struct fdt_writer *w)
{
	if (!w->err)
		w->err = fdt_end_node(w->fdt);
}

static void prop(struct fdt_writer *w, const char *name, const void *val,
		 int len)
{
	if (!w->err)
		w->err = fdt_property(w->fdt, name, val, len);
}

static void prop_u32(struct fdt_writer *w, const char *name, uint32_t val)
{
	if (!w->err)
		w->err = fdt_property_u32(w->fdt, name, val);
}

static void prop_u64(struct fdt_writer *w, const char *name, uint64_t val)
{
	if (!w->err)
		w->err = fdt_property_u64(w->fdt, name, val);
}

static void prop_str(struct fdt_writer *w, const char *name, const char *val)
{
	if (!w->err)
		w->err = fdt_property_string(w->fdt, name, val);
}

/* A property of @n big-endian cells. */
static void prop_cells(struct fdt_writer *w, const char *name,
		       const uint32_t *cells, unsigned int n)
{
	fdt32_t be[16];

	for (unsigned int i = 0; i < n && i < ARRAY_SIZE(be); i++)
		be[i] = cpu_to_fdt32(cells[i]);
	prop(w, name, be, (int)(MIN(n, ARRAY_SIZE(be)) * sizeof(be[0])));
}

/* reg = <address size> with two cells each. */
static void prop_reg(struct fdt_writer *w, uint64_t addr, uint64_t size)
{
	const uint32_t reg[] = { addr >> 32, (uint32_t)addr, size >> 32,
				 (uint32_t)size };

	prop_cells(w, "reg", reg, ARRAY_SIZE(reg));
}

static void prop_spi(struct fdt_writer *w, uint32_t spi, uint32_t flags)
{
	const uint32_t irq[] = { GIC_SPI, spi, flags };

	prop_cells(w, "interrupts", irq, ARRAY_SIZE(irq));
}

/* Begins node NAME@ADDR, the unit address in hex as the bindings want. */
static void begin_at(struct fdt_writer *w, const char *name, uint64_t addr)
{
	char node[48];

	snprintf(node, sizeof(node), "%s@%llx", name, (unsigned long long)addr);
	begin(w, node);
}

static uint64_t uart_base(unsigned int index)
{
	return LAYOUT_UART + (index - 1) * LAYOUT_UART_SIZE;
}

static void write_chosen(struct fdt_writer *w, const struct fdt_machine *m)
{
	char path[32];

	begin(w, "chosen");
	prop_str(w, "bootargs", m->cmdline ? m->cmdline : "");
	if (m->uarts & 1) {
		arm64_fdt_uart_path(1, path, sizeof(path));
		prop_str(w, "stdout-path", path);
	}
	if (m->initrd_size) {
		prop_u64(w, "linux,initrd-start", m->initrd_start);
		prop_u64(w, "linux,initrd-end", m->initrd_start + m->initrd_size);
	}
	prop(w, "rng-seed", m->seed, FDT_SEED_SIZE - 8);
	prop(w, "kaslr-seed", m->seed + FDT_SEED_SIZE - 8, 8);
	end(w);
}

static void write_memory(struct fdt_writer *w, const struct fdt_machine *m)
{
	begin_at(w, "memory", m->ram_base);
	prop_str(w, "device_type", "memory");
	prop_reg(w, m->ram_base, m->ram_size);
	end(w);
}

/* KVM gives vCPU i the MPIDR affinity Aff0 = i % 16, Aff1 = i / 16. */
static uint32_t cpu_mpidr(unsigned int i)
{
	return ((i >> 4) << 8) | (i & 0xf);
}

static void write_cpus(struct fdt_writer *w, const struct fdt_machine *m)
{
	begin(w, "cpus");
	prop_u32(w, "#address-cells", 1);
	prop_u32(w, "#size-cells", 0);
	for (unsigned int i = 0; i < m->nr_cpus; i++) {
		begin_at(w, "cpu", cpu_mpidr(i));
		prop_str(w, "device_type", "cpu");
		prop_str(w, "compatible", "arm,arm-v8");
		prop_str(w, "enable-method", "psci");
		prop_u32(w, "reg", cpu_mpidr(i));
		end(w);
	}
	end(w);
}

/* PSCI 0.2 and later through HVC: KVM implements it in the kernel. */
static void write_psci(struct fdt_writer *w)
{
	begin(w, "psci");
	prop_str(w, "compatible", "arm,psci-0.2");
	prop_str(w, "method", "hvc");
	end(w);
}

static void write_gic(struct fdt_writer *w, const struct fdt_machine *m)
{
	uint64_t second = m->gic_version == 3 ? LAYOUT_GICR : LAYOUT_GICC;
	uint64_t second_size = m->gic_version == 3 ?
		m->nr_cpus * LAYOUT_GICR_SIZE_PER_CPU : LAYOUT_GICC_SIZE;
	const uint32_t reg[] = {
		LAYOUT_GICD >> 32, (uint32_t)LAYOUT_GICD,
		LAYOUT_GICD_SIZE >> 32, (uint32_t)LAYOUT_GICD_SIZE,
		second >> 32, (uint32_t)second,
		second_size >> 32, (uint32_t)second_size,
	};
	begin_at(w, "intc", LAYOUT_GICD);
	prop_str(w, "compatible", m->gic_version == 3 ? "arm,gic-v3" :
							"arm,cortex-a15-gic");
	prop(w, "interrupt-controller", NULL, 0);
	prop_u32(w, "#interrupt-cells", 3);
	prop_cells(w, "reg", reg, ARRAY_SIZE(reg));
	prop_u32(w, "phandle", FDT_PHANDLE_GIC);
	end(w);
}

static void write_timer(struct fdt_writer *w, const struct fdt_machine *m)
{
	uint32_t flags = IRQ_LEVEL_HIGH;
	uint32_t irqs[] = {
		GIC_PPI, LAYOUT_PPI_TIMER_SEC, 0,
		GIC_PPI, LAYOUT_PPI_TIMER_PHYS, 0,
		GIC_PPI, LAYOUT_PPI_TIMER_VIRT, 0,
		GIC_PPI, LAYOUT_PPI_TIMER_HYP, 0,
	};

	/* A GICv2 routes a PPI to the CPUs in its mask. */
	if (m->gic_version == 2)
		flags |= ((1U << m->nr_cpus) - 1) << GIC_CPU_MASK_SHIFT;
	for (unsigned int i = 2; i < ARRAY_SIZE(irqs); i += 3)
		irqs[i] = flags;
	begin(w, "timer");
	prop_str(w, "compatible", "arm,armv8-timer");
	prop_cells(w, "interrupts", irqs, ARRAY_SIZE(irqs));
	prop(w, "always-on", NULL, 0);
	end(w);
}

/* The PL031 is an AMBA device: the bus wants its APB clock. */
static void write_apb_clock(struct fdt_writer *w)
{
	begin(w, "apb-pclk");
	prop_str(w, "compatible", "fixed-clock");
	prop_u32(w, "#clock-cells", 0);
	prop_u32(w, "clock-frequency", APB_CLOCK_HZ);
	prop_str(w, "clock-output-names", "clk24mhz");
	prop_u32(w, "phandle", FDT_PHANDLE_APB_CLOCK);
	end(w);
}

static void write_uart(struct fdt_writer *w, unsigned int index)
{
	uint64_t base = uart_base(index);
	begin_at(w, "serial", base);
	prop_str(w, "compatible", "ns16550a");
	prop_reg(w, base, LAYOUT_UART_SIZE);
	prop_spi(w, LAYOUT_IRQ_COM1 + index - 1, IRQ_LEVEL_HIGH);
	prop_u32(w, "clock-frequency", UART_CLOCK_HZ);
	end(w);
}

static void write_rtc(struct fdt_writer *w)
{
	static const char compatible[] = "arm,pl031\0arm,primecell";
	begin_at(w, "rtc", LAYOUT_RTC);
	prop(w, "compatible", compatible, sizeof(compatible));
	prop_reg(w, LAYOUT_RTC, LAYOUT_RTC_SIZE);
	prop_spi(w, LAYOUT_IRQ_RTC, IRQ_LEVEL_HIGH);
	prop_u32(w, "clocks", FDT_PHANDLE_APB_CLOCK);
	prop_str(w, "clock-names", "apb_pclk");
	end(w);
}

/*
 * dma-coherent: the VMM reads the rings through the host's cacheable
 * mapping, so the guest must not map them non-cacheable.
 */
static void write_virtio(struct fdt_writer *w, const struct boot_mmio_device *d)
{
	begin_at(w, "virtio_mmio", d->base);
	prop_str(w, "compatible", "virtio,mmio");
	prop_reg(w, d->base, d->size);
	prop_spi(w, d->gsi, IRQ_EDGE_RISING);
	prop(w, "dma-coherent", NULL, 0);
	end(w);
}

static void write_root(struct fdt_writer *w, const struct fdt_machine *m)
{
	begin(w, "");
	prop_str(w, "compatible", "linux,dummy-virt");
	prop_str(w, "model", "vmm arm64 virtual machine");
	prop_u32(w, "#address-cells", 2);
	prop_u32(w, "#size-cells", 2);
	prop_u32(w, "interrupt-parent", FDT_PHANDLE_GIC);
	write_chosen(w, m);
	write_memory(w, m);
	write_cpus(w, m);
	write_psci(w);
	write_gic(w, m);
	write_timer(w, m);
	write_apb_clock(w);
	for (unsigned int i = 1; i <= FDT_MAX_UARTS; i++)
		if (m->uarts & (1U << (i - 1)))
			write_uart(w, i);
	if (m->rtc)
		write_rtc(w);
	for (unsigned int i = 0; i < m->nr_mmio; i++)
		write_virtio(w, &m->mmio[i]);
	end(w);
}

static int check_machine(const struct fdt_machine *m, struct err *e)
{
	if (m->nr_cpus == 0)
		return err_set(e, "a machine without vCPUs");
	if (m->gic_version != 2 && m->gic_version != 3)
		return err_set(e, "GIC version %u: only 2 and 3 exist",
			       m->gic_version);
	if (m->gic_version == 2 && m->nr_cpus > LAYOUT_GICV2_MAX_CPUS)
		return err_set(e, "%u vCPUs: a GICv2 addresses at most %d",
			       m->nr_cpus, LAYOUT_GICV2_MAX_CPUS);
	if (m->nr_cpus * LAYOUT_GICR_SIZE_PER_CPU > LAYOUT_UART - LAYOUT_GICR)
		return err_set(e, "%u vCPUs: more redistributors than the GIC's window holds",
			       m->nr_cpus);
	if (m->uarts >> FDT_MAX_UARTS)
		return err_set(e, "UARTs %#x: only COM1-COM%d exist", m->uarts,
			       FDT_MAX_UARTS);
	if (m->nr_mmio && !m->mmio)
		return err_set(e, "%u virtio-mmio devices announced but none described",
			       m->nr_mmio);
	return 0;
}

int arm64_fdt_build(void *buf, size_t size, const struct fdt_machine *m,
		    struct err *e)
{
	struct fdt_writer w = { .fdt = buf };

	if (check_machine(m, e) < 0)
		return -1;
	if (size > FDT_MAX_SIZE)
		size = FDT_MAX_SIZE;
	w.err = fdt_create(buf, (int)size);
	if (!w.err)
		w.err = fdt_finish_reservemap(buf);
	write_root(&w, m);
	if (!w.err)
		w.err = fdt_finish(buf);
	if (w.err == -FDT_ERR_NOSPACE)
		return err_set(e, "the device tree does not fit in %zu bytes", size);
	if (w.err)
		return err_set(e, "building the device tree: %s",
			       fdt_strerror(w.err));
	return 0;
}

void arm64_fdt_uart_path(unsigned int index, char *buf, size_t len)
{
	snprintf(buf, len, "/serial@%llx", (unsigned long long)uart_base(index));
}
