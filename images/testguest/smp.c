// SPDX-License-Identifier: MIT
/* Starting the application processors (Intel SDM vol. 3, 8.4 and 10.6). */
#include "io.h"
#include "smp.h"
#include "str.h"

/*
 * Where the trampoline is copied: a page-aligned address below 1 MiB
 * (the SIPI vector is its page number) that the VMM's layout leaves free
 * (vmm/arch/x86/layout.h puts nothing between the page tables and the command line).
 */
#define TRAMPOLINE_ADDR 0x10000ULL
#define TRAMPOLINE_PAGE 4096

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ULL

#define APIC_ID 0x20
#define APIC_SVR 0xf0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define SVR_ENABLE 0x100
#define SVR_SPURIOUS_VECTOR 0xff
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_ASSERT 0x4000
#define ICR_LEVEL 0x8000
#define ICR_BUSY 0x1000
#define XAPIC_MAX_ID 0xff

/* ICR reads until a send counts as stuck. */
#define ICR_POLLS 100000
/*
 * How long to wait for one AP: about a second of TSC ticks on any host
 * (2^32 ticks is 1.4 s at 3 GHz), and a poll cap so that a TSC that does
 * not advance cannot make the wait endless.
 */
#define AP_WAIT_TICKS (1ULL << 32)
#define AP_WAIT_POLLS (1ULL << 26)

/* The real-mode trampoline and its data (trampoline.S). */
extern const uint8_t ap_trampoline[], ap_trampoline_end[];
extern const uint8_t ap_tramp_slot[], ap_tramp_done[], ap_tramp_ids[];
#define AP_TRAMP_MAX_IDS 256

struct apic {
	uint64_t base;
	struct check *c;
};

static volatile uint32_t *tramp_u32(const uint8_t *sym)
{
	return (volatile uint32_t *)(uintptr_t)(TRAMPOLINE_ADDR +
						(uint64_t)(sym - ap_trampoline));
}

static bool icr_idle(struct apic *a)
{
	unsigned int i;

	for (i = 0; i < ICR_POLLS; i++)
		if (!(mmio_read32(a->base + APIC_ICR_LO) & ICR_BUSY))
			return true;
	return check_fail(a->c, "the local APIC's ICR stays busy");
}

static bool apic_send(struct apic *a, uint32_t apic_id, uint32_t icr)
{
	if (!icr_idle(a))
		return false;
	mmio_write32(a->base + APIC_ICR_HI, apic_id << 24);
	mmio_write32(a->base + APIC_ICR_LO, icr);
	return icr_idle(a);
}

static bool wait_done(volatile uint32_t *done, uint32_t target)
{
	uint64_t start = rdtsc(), i;

	for (i = 0; i < AP_WAIT_POLLS; i++) {
		if (*done >= target)
			return true;
		if (rdtsc() - start > AP_WAIT_TICKS)
			break;
		cpu_relax();
	}
	return *done >= target;
}

/* INIT, then SIPI twice, as the SDM's MP initialization protocol does. */
static bool start_ap(struct apic *a, uint32_t apic_id, uint32_t nr_started)
{
	uint32_t vector = (uint32_t)(TRAMPOLINE_ADDR >> 12);
	volatile uint32_t *done = tramp_u32(ap_tramp_done);
	const volatile uint8_t *ids =
		(const volatile uint8_t *)tramp_u32(ap_tramp_ids);

	if (apic_id > XAPIC_MAX_ID)
		return check_fail(a->c,
				  "APIC ID %u cannot be reached through the xAPIC",
				  apic_id);
	if (!apic_send(a, apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT) ||
	    !apic_send(a, apic_id, ICR_INIT | ICR_LEVEL) ||
	    !apic_send(a, apic_id, ICR_STARTUP | vector) ||
	    !apic_send(a, apic_id, ICR_STARTUP | vector))
		return false;
	if (!wait_done(done, nr_started + 1))
		return check_fail(a->c,
				  "the AP with APIC ID %u did not start within about a second",
				  apic_id);
	if (ids[nr_started] != apic_id)
		return check_fail(a->c,
				  "started APIC ID %u, but the AP that ran reports APIC ID %u",
				  apic_id, ids[nr_started]);
	return true;
}

static bool apic_setup(struct apic *a, const struct madt_info *madt,
		       uint32_t *bsp_id)
{
	uint64_t msr = rdmsr(MSR_APIC_BASE);

	if (!(msr & APIC_BASE_ENABLE))
		return check_fail(a->c,
				  "the local APIC is disabled in IA32_APIC_BASE (0x%lx)",
				  msr);
	if (msr & APIC_BASE_X2APIC)
		return check_fail(a->c,
				  "the local APIC is in x2APIC mode, the guest expects xAPIC");
	a->base = msr & APIC_BASE_ADDR_MASK;
	if (a->base != madt->lapic_addr)
		return check_fail(a->c,
				  "the MADT puts the local APIC at 0x%lx, IA32_APIC_BASE at 0x%lx",
				  madt->lapic_addr, a->base);
	if (a->base >= 0x100000000ULL)
		return check_fail(a->c, "the local APIC at 0x%lx is above 4 GiB",
				  a->base);
	*bsp_id = mmio_read32(a->base + APIC_ID) >> 24;
	mmio_write32(a->base + APIC_SVR, SVR_ENABLE | SVR_SPURIOUS_VECTOR);
	return true;
}

bool smp_start_aps(const struct bootinfo *bi, const struct madt_info *madt,
		   unsigned int expected, struct check *c)
{
	struct apic a = { 0, c };
	uint32_t bsp_id = 0, started = 0;
	unsigned int i;
	bool bsp_listed = false;

	if (!madt)
		return check_fail(c, "the MADT could not be read (see madt)");
	if (!bootinfo_is_ram(bi, TRAMPOLINE_ADDR, TRAMPOLINE_PAGE))
		return check_fail(c,
				  "the trampoline page 0x%llx is not RAM in the e820 map",
				  TRAMPOLINE_ADDR);
	if (!apic_setup(&a, madt, &bsp_id))
		return false;

	memcpy((void *)(uintptr_t)TRAMPOLINE_ADDR, ap_trampoline,
	       (size_t)(ap_trampoline_end - ap_trampoline));
	*tramp_u32(ap_tramp_slot) = 0;
	*tramp_u32(ap_tramp_done) = 0;

	for (i = 0; i < madt->cpus.nr; i++) {
		uint32_t id = madt->cpus.apic_id[i];

		if (id == bsp_id) {
			bsp_listed = true;
			continue;
		}
		if (started == AP_TRAMP_MAX_IDS - 1)
			return check_fail(c, "more APs than the guest can track");
		if (!start_ap(&a, id, started))
			return false;
		started++;
	}
	if (!bsp_listed)
		return check_fail(c,
				  "the MADT has no entry for the boot processor (APIC ID %u)",
				  bsp_id);
	if (*tramp_u32(ap_tramp_done) != started)
		return check_fail(c, "%u APs ran the trampoline, %u were started",
				  *tramp_u32(ap_tramp_done), started);
	if (started + 1 != expected)
		return check_fail(c, "%u processors running, expected %u",
				  started + 1, expected);
	return true;
}
