// SPDX-License-Identifier: MIT
/*
 * x86 snapshots: each vCPU's registers and what KVM keeps for it (FPU and
 * XSAVE, XCRs, the MSRs KVM lists as to be saved plus the MTRRs, the local
 * APIC, pending events, MP state, debug registers, CPUID, the TSC rate),
 * and the VM's IOAPIC, PICs, PIT and kvmclock. KVM's own structures are
 * stored as KVM hands them out; KVM checks them again when they are set,
 * as it checks what a guest writes. The restore order follows what KVM
 * needs: CPUID before anything that depends on it, MSRs before the local
 * APIC, the TSC deadline after it, the clock last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arch.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MSR_MTRR_VAR_FIRST 0x200
#define MSR_MTRR_VAR_LAST 0x20f
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_MAX 1024
#define CPUID_MAX_ENTRIES 4096

const char arch_name[] = "x86_64";

/* The fixed-range MTRRs and the default type; KVM does not list them. */
static const uint32_t mtrr_msrs[] = {
	0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b,
	0x26c, 0x26d, 0x26e, 0x26f, 0x2ff,
};

/* ---- KVM structures as byte fields ---- */

static int save_blob(struct vcpu *vcpu, struct state_writer *w,
		     const char *name, unsigned long req, void *buf,
		     size_t len, struct err *e)
{
	if (ioctl(vcpu->fd, req, buf) < 0)
		return err_errno(e, "vcpu %u: reading its %s", vcpu->id, name);
	state_put_bytes(w, name, buf, len);
	return 0;
}

static int restore_blob(struct vcpu *vcpu, const struct state_section *s,
			const char *name, unsigned long req, void *buf,
			size_t len, struct err *e)
{
	if (state_get_bytes(s, name, buf, len, e) < 0)
		return -1;
	if (ioctl(vcpu->fd, req, buf) < 0)
		return err_errno(e, "vcpu %u: KVM refused the snapshot's %s",
				 vcpu->id, name);
	return 0;
}

/* ---- MSRs ---- */

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entries[MSR_MAX];
};

static bool msr_listed(const struct msr_buf *m, uint32_t index)
{
	for (unsigned int i = 0; i < m->hdr.nmsrs; i++)
		if (m->entries[i].index == index)
			return true;
	return false;
}

static void msr_add(struct msr_buf *m, uint32_t index)
{
	if (m->hdr.nmsrs < MSR_MAX && !msr_listed(m, index))
		m->entries[m->hdr.nmsrs++].index = index;
}

/* KVM's list of MSRs to save, the MTRRs added. */
static int msr_list(struct vm *vm, struct msr_buf *m, struct err *e)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t indices[MSR_MAX];
	} list = { .hdr.nmsrs = MSR_MAX };

	if (ioctl(vm->kvm.fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
		return err_errno(e, "KVM_GET_MSR_INDEX_LIST");
	memset(m, 0, sizeof(*m));
	for (unsigned int i = 0; i < list.hdr.nmsrs && i < MSR_MAX; i++)
		msr_add(m, list.indices[i]);
	for (size_t i = 0; i < ARRAY_SIZE(mtrr_msrs); i++)
		msr_add(m, mtrr_msrs[i]);
	for (uint32_t i = MSR_MTRR_VAR_FIRST; i <= MSR_MTRR_VAR_LAST; i++)
		msr_add(m, i);
	return 0;
}

/*
 * Reads every listed MSR. KVM lists some the vCPU does not have (the
 * CPUID lacks the feature, fewer variable MTRRs): KVM_GET_MSRS stops at
 * the first of those, which is dropped before reading on.
 */
static int msr_read(struct vcpu *vcpu, struct msr_buf *m, struct err *e)
{
	for (;;) {
		int n = ioctl(vcpu->fd, KVM_GET_MSRS, m);

		if (n < 0)
			return err_errno(e, "vcpu %u: KVM_GET_MSRS", vcpu->id);
		if ((unsigned int)n >= m->hdr.nmsrs)
			return 0;
		memmove(&m->entries[n], &m->entries[n + 1],
			(m->hdr.nmsrs - (unsigned int)n - 1) *
				sizeof(m->entries[0]));
		m->hdr.nmsrs--;
	}
}

static int msr_write(struct vcpu *vcpu, struct msr_buf *m, struct err *e)
{
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, m);

	if (n < 0)
		return err_errno(e, "vcpu %u: KVM_SET_MSRS", vcpu->id);
	if ((unsigned int)n < m->hdr.nmsrs)
		return err_set(e, "vcpu %u: this host's KVM refused MSR %#x = %#llx from the snapshot",
			       vcpu->id, m->entries[n].index,
			       (unsigned long long)m->entries[n].data);
	return 0;
}

static int msrs_save(struct vcpu *vcpu, struct state_writer *w,
		     struct err *e)
{
	struct msr_buf *m = malloc(sizeof(*m));
	int ret = -1;

	if (!m)
		return err_set(e, "out of memory");
	if (msr_list(vcpu->vm, m, e) == 0 && msr_read(vcpu, m, e) == 0) {
		state_put_bytes(w, "msrs", m->entries,
				m->hdr.nmsrs * sizeof(m->entries[0]));
		ret = 0;
	}
	free(m);
	return ret;
}

static int msrs_load(const struct state_section *s, struct msr_buf *m,
		     struct err *e)
{
	const uint8_t *data;
	uint32_t len;

	if (state_get_blob(s, "msrs", &data, &len, sizeof(m->entries), e) < 0)
		return -1;
	if (len % sizeof(m->entries[0]))
		return err_set(e, "%s: 'msrs' has %u bytes, not whole entries",
			       s->label, len);
	memset(m, 0, sizeof(*m));
	m->hdr.nmsrs = len / sizeof(m->entries[0]);
	memcpy(m->entries, data, len);
	return 0;
}

/* Only the TSC deadline, once the local APIC is back in its mode. */
static int msr_restore_deadline(struct vcpu *vcpu, const struct msr_buf *all,
				struct err *e)
{
	struct msr_buf one = { .hdr.nmsrs = 1 };

	for (unsigned int i = 0; i < all->hdr.nmsrs; i++) {
		if (all->entries[i].index != MSR_IA32_TSC_DEADLINE)
			continue;
		one.entries[0] = all->entries[i];
		return msr_write(vcpu, &one, e);
	}
	return 0;
}

/* ---- CPUID ---- */

static struct kvm_cpuid2 *cpuid_alloc(unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	if (c)
		c->nent = n;
	return c;
}

static void cpuid_save(struct vcpu *vcpu, struct state_writer *w)
{
	const struct kvm_cpuid2 *c = vcpu->vm->arch->vcpu_cpuid[vcpu->id];

	state_put_bytes(w, "cpuid", c->entries, c->nent * sizeof(c->entries[0]));
}

/* The CPUID registers that list features a guest may rely on. */
static const struct {
	uint32_t function, index;
	int reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
} feature_regs[] = {
	{ 1, 0, 2 }, { 1, 0, 3 }, { 7, 0, 1 }, { 7, 0, 2 }, { 7, 0, 3 },
	{ 7, 1, 0 }, { 0xd, 0, 0 }, { 0xd, 1, 0 }, { 0x80000001, 0, 2 },
	{ 0x80000001, 0, 3 }, { 0x80000008, 0, 1 },
};

static uint32_t cpuid_reg(const struct kvm_cpuid2 *c, uint32_t function,
			  uint32_t index, int reg)
{
	for (unsigned int i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *x = &c->entries[i];

		if (x->function != function ||
		    ((x->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		     x->index != index))
			continue;
		return reg == 0 ? x->eax : reg == 1 ? x->ebx :
		       reg == 2 ? x->ecx : x->edx;
	}
	return 0;
}

/*
 * The snapshot's guest must not see features this host cannot give it:
 * its CPUID is compared with what this host would give the same vCPU.
 */
static int cpuid_check(struct vcpu *vcpu, const struct kvm_cpuid2 *saved,
		       struct err *e)
{
	static const char regs[4][4] = { "EAX", "EBX", "ECX", "EDX" };
	const struct kvm_cpuid2 *host = vcpu->vm->arch->cpuid;
	size_t size = sizeof(*host) + host->nent * sizeof(host->entries[0]);
	struct kvm_cpuid2 *here = malloc(size);

	if (!here)
		return err_set(e, "out of memory");
	memcpy(here, host, size);
	vcpu_adjust_cpuid(here, vcpu->id, vcpu->vm->nr_vcpus);
	for (size_t i = 0; i < ARRAY_SIZE(feature_regs); i++) {
		uint32_t f = feature_regs[i].function, x = feature_regs[i].index;
		int r = feature_regs[i].reg;
		uint32_t had = cpuid_reg(saved, f, x, r);
		uint32_t has = cpuid_reg(here, f, x, r);

		if (had & ~has) {
			free(here);
			return err_set(e, "the CPU differs: the snapshot's guest has CPUID.(EAX=%#x,ECX=%u):%s bit %d, which this host's KVM does not offer (%s %#x, here %#x); restore on a host with the same CPU features",
				       f, x, regs[r], __builtin_ctz(had & ~has),
				       regs[r], had, has);
		}
	}
	free(here);
	return 0;
}

static int cpuid_restore(struct vcpu *vcpu, const struct state_section *s,
			 struct err *e)
{
	struct kvm_cpuid2 *c;
	const uint8_t *data;
	uint32_t len;

	if (state_get_blob(s, "cpuid", &data, &len,
			   CPUID_MAX_ENTRIES * sizeof(c->entries[0]), e) < 0)
		return -1;
	if (len % sizeof(c->entries[0]))
		return err_set(e, "%s: 'cpuid' has %u bytes, not whole entries",
			       s->label, len);
	c = cpuid_alloc(len / sizeof(c->entries[0]));
	if (!c)
		return err_set(e, "out of memory");
	memcpy(c->entries, data, len);
	if (cpuid_check(vcpu, c, e) < 0) {
		free(c);
		return -1;
	}
	return x86_vcpu_set_cpuid(vcpu, c, e);
}

/* ---- XSAVE ---- */

/* What KVM_GET_XSAVE2 writes and KVM_SET_XSAVE reads on this host. */
static size_t xsave_size(struct vcpu *vcpu)
{
	int n = ioctl(vcpu->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? (size_t)n :
						    sizeof(struct kvm_xsave);
}

static int xsave_save(struct vcpu *vcpu, struct state_writer *w,
		      struct err *e)
{
	size_t size = xsave_size(vcpu);
	void *buf = calloc(1, size);
	int ret;

	if (!buf)
		return err_set(e, "out of memory");
	ret = save_blob(vcpu, w, "xsave",
			size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 :
							  KVM_GET_XSAVE,
			buf, size, e);
	free(buf);
	return ret;
}

static int xsave_restore(struct vcpu *vcpu, const struct state_section *s,
			 struct err *e)
{
	size_t size = xsave_size(vcpu);
	const uint8_t *data;
	uint8_t *buf;
	uint32_t len;
	int ret = 0;

	if (state_get_blob(s, "xsave", &data, &len, UINT32_MAX, e) < 0)
		return -1;
	if (len < sizeof(struct kvm_xsave))
		return err_set(e, "%s: 'xsave' has %u bytes, less than %zu",
			       s->label, len, sizeof(struct kvm_xsave));
	if (len > size)
		return err_set(e, "the CPU differs: vcpu %u's XSAVE state has %u bytes, this host's KVM takes %zu; restore on a host with the same CPU features",
			       vcpu->id, len, size);
	buf = calloc(1, size);
	if (!buf)
		return err_set(e, "out of memory");
	memcpy(buf, data, len);
	if (ioctl(vcpu->fd, KVM_SET_XSAVE, buf) < 0)
		ret = err_errno(e, "vcpu %u: KVM refused the snapshot's XSAVE state (features this host lacks?)",
				vcpu->id);
	free(buf);
	return ret;
}

/* ---- the TSC rate ---- */

static int tsc_restore(struct vcpu *vcpu, const struct state_section *s,
		       struct err *e)
{
	uint32_t khz;
	int here;

	if (state_get_u32(s, "tsc_khz", &khz, e) < 0)
		return -1;
	here = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (here < 0)
		return err_errno(e, "vcpu %u: KVM_GET_TSC_KHZ", vcpu->id);
	if ((uint32_t)here == khz)
		return 0;
	if (ioctl(vcpu->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		return err_set(e, "the CPU differs: the snapshot's guest TSC runs at %u kHz, this host's at %d kHz, and its KVM cannot scale it",
			       khz, here);
	return 0;
}

/* ---- one vCPU ---- */

int arch_vcpu_save(struct vcpu *vcpu, struct state_writer *w, struct err *e)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	if (khz <= 0)
		return err_errno(e, "vcpu %u: KVM_GET_TSC_KHZ", vcpu->id);
	state_put_u64(w, "tsc_khz", (uint64_t)khz);
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		return err_errno(e, "vcpu %u: KVM_GET_MP_STATE", vcpu->id);
	state_put_u64(w, "mp_state", mp.mp_state);
	cpuid_save(vcpu, w);
	if (save_blob(vcpu, w, "regs", KVM_GET_REGS, &regs, sizeof(regs), e) < 0 ||
	    save_blob(vcpu, w, "sregs", KVM_GET_SREGS, &sregs, sizeof(sregs), e) < 0 ||
	    xsave_save(vcpu, w, e) < 0 ||
	    save_blob(vcpu, w, "xcrs", KVM_GET_XCRS, &xcrs, sizeof(xcrs), e) < 0 ||
	    msrs_save(vcpu, w, e) < 0 ||
	    save_blob(vcpu, w, "lapic", KVM_GET_LAPIC, &lapic, sizeof(lapic), e) < 0 ||
	    save_blob(vcpu, w, "events", KVM_GET_VCPU_EVENTS, &events,
		      sizeof(events), e) < 0 ||
	    save_blob(vcpu, w, "debugregs", KVM_GET_DEBUGREGS, &dregs,
		      sizeof(dregs), e) < 0)
		return -1;
	return 0;
}

static int events_restore(struct vcpu *vcpu, const struct state_section *s,
			  struct err *e)
{
	struct kvm_vcpu_events ev;

	if (state_get_bytes(s, "events", &ev, sizeof(ev), e) < 0)
		return -1;
	/* What KVM_GET_VCPU_EVENTS reported valid, and the NMI and SIPI. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
		    KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return err_errno(e, "vcpu %u: KVM refused the snapshot's pending events",
				 vcpu->id);
	return 0;
}

int arch_vcpu_restore(struct vcpu *vcpu, const struct state_section *s,
		      struct err *e)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	struct msr_buf *msrs;
	int ret = -1;

	if (state_get_u32(s, "mp_state", &mp.mp_state, e) < 0)
		return -1;
	msrs = malloc(sizeof(*msrs));
	if (!msrs)
		return err_set(e, "out of memory");
	if (msrs_load(s, msrs, e) < 0 || cpuid_restore(vcpu, s, e) < 0 ||
	    tsc_restore(vcpu, s, e) < 0 ||
	    restore_blob(vcpu, s, "sregs", KVM_SET_SREGS, &sregs, sizeof(sregs), e) < 0 ||
	    restore_blob(vcpu, s, "regs", KVM_SET_REGS, &regs, sizeof(regs), e) < 0 ||
	    xsave_restore(vcpu, s, e) < 0 ||
	    restore_blob(vcpu, s, "xcrs", KVM_SET_XCRS, &xcrs, sizeof(xcrs), e) < 0 ||
	    msr_write(vcpu, msrs, e) < 0)
		goto out;
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0) {
		err_errno(e, "vcpu %u: KVM refused MP state %u", vcpu->id,
			  mp.mp_state);
		goto out;
	}
	if (restore_blob(vcpu, s, "lapic", KVM_SET_LAPIC, &lapic, sizeof(lapic), e) < 0 ||
	    msr_restore_deadline(vcpu, msrs, e) < 0 ||
	    events_restore(vcpu, s, e) < 0 ||
	    restore_blob(vcpu, s, "debugregs", KVM_SET_DEBUGREGS, &dregs,
			 sizeof(dregs), e) < 0)
		goto out;
	ret = 0;
out:
	free(msrs);
	return ret;
}

/* ---- the VM: IOAPIC, PICs, PIT, kvmclock ---- */

static const struct {
	const char *name;
	uint32_t chip_id;
	size_t size;
} irqchips[] = {
	{ "pic_master", KVM_IRQCHIP_PIC_MASTER, sizeof(struct kvm_pic_state) },
	{ "pic_slave", KVM_IRQCHIP_PIC_SLAVE, sizeof(struct kvm_pic_state) },
	{ "ioapic", KVM_IRQCHIP_IOAPIC, sizeof(struct kvm_ioapic_state) },
};

int arch_vm_save(struct vm *vm, struct state_writer *w, struct err *e)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(irqchips); i++) {
		struct kvm_irqchip chip = { .chip_id = irqchips[i].chip_id };

		if (ioctl(vm->fd, KVM_GET_IRQCHIP, &chip) < 0)
			return err_errno(e, "KVM_GET_IRQCHIP %s", irqchips[i].name);
		state_put_bytes(w, irqchips[i].name, &chip.chip, irqchips[i].size);
	}
	if (ioctl(vm->fd, KVM_GET_PIT2, &pit) < 0)
		return err_errno(e, "KVM_GET_PIT2");
	state_put_bytes(w, "pit", &pit, sizeof(pit));
	if (ioctl(vm->fd, KVM_GET_CLOCK, &clock) < 0)
		return err_errno(e, "KVM_GET_CLOCK");
	state_put_u64(w, "kvmclock_ns", clock.clock);
	return 0;
}

int arch_vm_restore(struct vm *vm, const struct state_section *s,
		    struct err *e)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };
	uint64_t ns;

	for (size_t i = 0; i < ARRAY_SIZE(irqchips); i++) {
		struct kvm_irqchip chip = { .chip_id = irqchips[i].chip_id };

		if (state_get_bytes(s, irqchips[i].name, &chip.chip,
				    irqchips[i].size, e) < 0)
			return -1;
		if (ioctl(vm->fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_errno(e, "KVM refused the snapshot's %s state",
					 irqchips[i].name);
	}
	if (state_get_bytes(s, "pit", &pit, sizeof(pit), e) < 0)
		return -1;
	if (ioctl(vm->fd, KVM_SET_PIT2, &pit) < 0)
		return err_errno(e, "KVM refused the snapshot's PIT state");
	/* Last: kvmclock goes on from where the snapshot stopped it. */
	if (state_get_u64(s, "kvmclock_ns", &ns, e) < 0)
		return -1;
	clock.clock = ns;
	if (ioctl(vm->fd, KVM_SET_CLOCK, &clock) < 0)
		return err_errno(e, "KVM_SET_CLOCK");
	return 0;
}
