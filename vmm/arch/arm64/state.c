// SPDX-License-Identifier: MIT
/*
 * arm64 snapshots: each vCPU's registers (every one KVM_GET_REG_LIST
 * names: core, FP/SIMD, system registers, the timers, the firmware's
 * pseudo-registers), its MP state and pending SError, and the vGICv3: the
 * distributor, each vCPU's redistributor and CPU interface, and the SPIs'
 * line levels.
 *
 * Only values come from the file. Which registers are written, and in
 * what order, is this code's: the vGIC lists below, and for the vCPU the
 * registers this host's KVM lists (a saved register it does not know is
 * refused). KVM checks each value as it checks a guest's write; an
 * invariant register (MIDR_EL1 and the like) that differs here is how a
 * different CPU shows.
 *
 * The vGIC is restored as the guest would program it, enables last:
 * groups, priorities, trigger modes and routing before pending and active
 * state, so a pending level interrupt is seen as one. The enable, pending
 * and active registers are written through their clear and set twins, so
 * the vGIC ends as saved, not as the saved bits added to a new vGIC's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arch.h"
#include "vmm/arch/arm64/arm64.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define REG_MAX_BYTES 256
#define REG_LIST_MAX 4096

const char arch_name[] = "aarch64";

/* ---- the vGICv3's registers ---- */

/* Per-interrupt registers: the offset of the first and bits per INTID. */
struct gic_field {
	uint32_t base;
	unsigned int bits;
};

/* Distributor (SPIs), in restore order; GICD_CTLR comes last. */
static const struct gic_field dist_fields[] = {
	{ 0x0080, 1 },  /* GICD_IGROUPR */
	{ 0x0d00, 1 },  /* GICD_IGRPMODR */
	{ 0x0400, 8 },  /* GICD_IPRIORITYR */
	{ 0x0c00, 2 },  /* GICD_ICFGR */
	{ 0x6000, 64 }, /* GICD_IROUTER, as two 32-bit halves */
	{ 0x0200, 1 },  /* GICD_ISPENDR */
	{ 0x0300, 1 },  /* GICD_ISACTIVER */
	{ 0x0100, 1 },  /* GICD_ISENABLER */
};
#define GICD_CTLR 0x0000
/* The pending latches follow the line levels: fields from here on. */
#define DIST_AFTER_LEVELS 5

/* Redistributor: SGIs and PPIs, in the SGI frame (64 KiB in). */
static const struct gic_field redist_fields[] = {
	{ 0x10080, 1 }, /* GICR_IGROUPR0 */
	{ 0x10d00, 1 }, /* GICR_IGRPMODR0 */
	{ 0x10400, 8 }, /* GICR_IPRIORITYR */
	{ 0x10c00, 2 }, /* GICR_ICFGR0, ICFGR1 */
	{ 0x10200, 1 }, /* GICR_ISPENDR0 */
	{ 0x10300, 1 }, /* GICR_ISACTIVER0 */
	{ 0x10100, 1 }, /* GICR_ISENABLER0 */
};

#define ICC(crn, crm, op2) ((3 << 14) | (0 << 11) | ((crn) << 7) | ((crm) << 3) | (op2))
/* The CPU interface: ICC_SRE_EL1 first, the group enables last. */
static const uint16_t icc_regs[] = {
	ICC(12, 12, 5), /* ICC_SRE_EL1 */
	ICC(12, 12, 4), /* ICC_CTLR_EL1 */
	ICC(4, 6, 0),   /* ICC_PMR_EL1 */
	ICC(12, 8, 3),  /* ICC_BPR0_EL1 */
	ICC(12, 12, 3), /* ICC_BPR1_EL1 */
	ICC(12, 8, 4), ICC(12, 8, 5), ICC(12, 8, 6), ICC(12, 8, 7), /* AP0Rn */
	ICC(12, 9, 0), ICC(12, 9, 1), ICC(12, 9, 2), ICC(12, 9, 3), /* AP1Rn */
	ICC(12, 12, 6), /* ICC_IGRPEN0_EL1 */
	ICC(12, 12, 7), /* ICC_IGRPEN1_EL1 */
};

/* The GIC's INTIDs: 32 private, then the SPIs in whole groups of 32. */
static uint32_t gic_nr_irqs(void)
{
	return ALIGN_UP(LAYOUT_GIC_NR_PRIVATE + LAYOUT_NR_GSI, 32);
}

/* A group's 32-bit registers for INTIDs [first, end), appended to @attrs. */
static unsigned int field_attrs(const struct gic_field *f, uint32_t first,
				uint32_t end, uint64_t high, uint64_t *attrs)
{
	unsigned int n = 0;

	for (uint32_t id = first; id < end; id += 32 / MIN(f->bits, 32U)) {
		uint32_t off = f->base + id * f->bits / 8;

		attrs[n++] = high | off;
		if (f->bits == 64)
			attrs[n++] = high | (off + 4);
	}
	return n;
}

/* The vCPU's affinity as the vGIC's attributes name it. */
static uint64_t vcpu_mpidr_attr(const struct vcpu *vcpu)
{
	uint64_t aff = ((uint64_t)(vcpu->id / 16) << 8) | (vcpu->id % 16);

	return aff << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT;
}

/* The distributor's registers, GICD_CTLR last; returns their number. */
static unsigned int dist_attrs(uint64_t *attrs)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dist_fields); i++)
		n += field_attrs(&dist_fields[i], LAYOUT_GIC_NR_PRIVATE,
				 gic_nr_irqs(), 0, attrs + n);
	attrs[n++] = GICD_CTLR;
	return n;
}

static unsigned int redist_attrs(const struct vcpu *vcpu, uint64_t *attrs)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(redist_fields); i++)
		n += field_attrs(&redist_fields[i], 0, LAYOUT_GIC_NR_PRIVATE,
				 vcpu_mpidr_attr(vcpu), attrs + n);
	return n;
}

/* The SPIs' line levels, 32 INTIDs an attribute. */
static unsigned int level_attrs(uint64_t *attrs)
{
	unsigned int n = 0;

	for (uint32_t id = LAYOUT_GIC_NR_PRIVATE; id < gic_nr_irqs(); id += 32)
		attrs[n++] = ((uint64_t)VGIC_LEVEL_INFO_LINE_LEVEL
			      << KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT) | id;
	return n;
}

#define GIC_ATTRS_MAX 512

static int gic_access(struct vm *vm, uint32_t group, uint64_t attr, void *val,
		      bool set)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)val,
	};

	return ioctl(vm->arch->gic_fd, set ? KVM_SET_DEVICE_ATTR :
					     KVM_GET_DEVICE_ATTR, &a);
}

/* Saves the 32-bit registers @attrs of @group as one bytes field. */
static int gic_save32(struct vm *vm, struct state_writer *w, const char *name,
		      uint32_t group, const uint64_t *attrs, unsigned int n,
		      struct err *e)
{
	uint32_t vals[GIC_ATTRS_MAX];
	uint8_t out[GIC_ATTRS_MAX * 4];

	for (unsigned int i = 0; i < n; i++) {
		if (gic_access(vm, group, attrs[i], &vals[i], false) < 0)
			return err_errno(e, "reading vGIC register %#llx (group %u)",
					 (unsigned long long)attrs[i], group);
		put_le32(out + 4 * i, vals[i]);
	}
	state_put_bytes(w, name, out, 4 * (size_t)n);
	return 0;
}

/*
 * GICD_ISENABLER, ISPENDR and ISACTIVER (and the redistributor's, in its
 * SGI frame) only set bits; their clear twins sit 0x80 above them.
 */
static bool is_set_register(uint32_t group, uint64_t attr)
{
	uint32_t off = (uint32_t)(attr & KVM_DEV_ARM_VGIC_OFFSET_MASK) & 0xffff;

	if (group == KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO)
		return false;
	return (off >= 0x100 && off < 0x180) || (off >= 0x200 && off < 0x280) ||
	       (off >= 0x300 && off < 0x380);
}

#define GIC_CLEAR_TWIN 0x80

/*
 * Writes one saved register. A set-only register is cleared first where
 * the snapshot has zeroes: a new vGIC is not all zeroes (KVM enables
 * every SGI), and the guest's disabled ones must stay disabled.
 */
static int gic_restore_one(struct vm *vm, uint32_t group, uint64_t attr,
			   uint32_t val, struct err *e)
{
	uint32_t clear = ~val;

	if ((is_set_register(group, attr) &&
	     gic_access(vm, group, attr + GIC_CLEAR_TWIN, &clear, true) < 0) ||
	    gic_access(vm, group, attr, &val, true) < 0)
		return err_errno(e, "KVM refused the snapshot's vGIC register %#llx (group %u)",
				 (unsigned long long)attr, group);
	return 0;
}

/* Writes the saved registers [first, end) of the @total in field @name. */
static int gic_restore32(struct vm *vm, const struct state_section *s,
			 const char *name, uint32_t group,
			 const uint64_t *attrs, unsigned int total,
			 unsigned int first, unsigned int end, struct err *e)
{
	uint8_t in[GIC_ATTRS_MAX * 4];

	if (state_get_bytes(s, name, in, 4 * (size_t)total, e) < 0)
		return -1;
	for (unsigned int i = first; i < end; i++)
		if (gic_restore_one(vm, group, attrs[i], get_le32(in + 4 * i),
				    e) < 0)
			return -1;
	return 0;
}

/* ICC_AP0Rn_EL1 and ICC_AP1Rn_EL1: CRn 12, CRm 8 (op2 4-7) or 9. */
static bool is_active_priority(uint16_t reg)
{
	return reg >= ICC(12, 8, 4) && reg <= ICC(12, 9, 3);
}

/*
 * The CPU interface: each register's value, and which ones this GIC has
 * (fewer active-priority registers with fewer priority bits).
 */
static int icc_save(struct vcpu *vcpu, struct state_writer *w, struct err *e)
{
	uint8_t out[ARRAY_SIZE(icc_regs) * 8];
	uint64_t present = 0;

	for (size_t i = 0; i < ARRAY_SIZE(icc_regs); i++) {
		uint64_t v = 0;

		if (gic_access(vcpu->vm, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
			       vcpu_mpidr_attr(vcpu) | icc_regs[i], &v,
			       false) == 0)
			present |= 1ULL << i;
		else if (!is_active_priority(icc_regs[i]))
			return err_errno(e, "vcpu %u: reading ICC register %#x",
					 vcpu->id, icc_regs[i]);
		put_le64(out + 8 * i, v);
	}
	state_put_bytes(w, "gic_icc", out, sizeof(out));
	state_put_u64(w, "gic_icc_present", present);
	return 0;
}

static int icc_restore(struct vcpu *vcpu, const struct state_section *s,
		       struct err *e)
{
	uint8_t in[ARRAY_SIZE(icc_regs) * 8];
	uint64_t present;

	if (state_get_bytes(s, "gic_icc", in, sizeof(in), e) < 0 ||
	    state_get_u64(s, "gic_icc_present", &present, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(icc_regs); i++) {
		uint64_t v = get_le64(in + 8 * i);

		if (!(present & (1ULL << i)))
			continue;
		if (gic_access(vcpu->vm, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
			       vcpu_mpidr_attr(vcpu) | icc_regs[i], &v, true) < 0)
			return err_errno(e, "vcpu %u: KVM refused the snapshot's ICC register %#x",
					 vcpu->id, icc_regs[i]);
	}
	return 0;
}

static int need_gicv3(struct vm *vm, struct err *e)
{
	if (vm->arch->gic_version != 3)
		return err_set(e, "snapshots need a GICv3; this host's KVM gave the VM a GICv%u",
			       vm->arch->gic_version);
	return 0;
}

/* ---- the vCPU's registers ---- */

static size_t reg_bytes(uint64_t id)
{
	return (size_t)1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

/* What this host's KVM lists for @vcpu; malloc()ed. */
static struct kvm_reg_list *reg_list(struct vcpu *vcpu, struct err *e)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;

	if (ioctl(vcpu->fd, KVM_GET_REG_LIST, &probe) == 0 || errno != E2BIG ||
	    probe.n > REG_LIST_MAX) {
		err_errno(e, "vcpu %u: KVM_GET_REG_LIST", vcpu->id);
		return NULL;
	}
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	if (!list) {
		err_set(e, "out of memory");
		return NULL;
	}
	list->n = probe.n;
	if (ioctl(vcpu->fd, KVM_GET_REG_LIST, list) < 0) {
		err_errno(e, "vcpu %u: KVM_GET_REG_LIST", vcpu->id);
		free(list);
		return NULL;
	}
	return list;
}

static int one_reg(struct vcpu *vcpu, uint64_t id, void *val, bool set)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)val };

	return ioctl(vcpu->fd, set ? KVM_SET_ONE_REG : KVM_GET_ONE_REG, &r);
}

/* Every listed register as (u64 id, value) pairs, one bytes field. */
static int regs_save(struct vcpu *vcpu, struct state_writer *w, struct err *e)
{
	struct kvm_reg_list *list = reg_list(vcpu, e);
	uint8_t *buf;
	size_t len = 0;
	int ret = -1;

	if (!list)
		return -1;
	buf = malloc(list->n * (8 + REG_MAX_BYTES));
	if (!buf) {
		free(list);
		return err_set(e, "out of memory");
	}
	for (uint64_t i = 0; i < list->n; i++) {
		uint64_t id = list->reg[i];

		if (reg_bytes(id) > REG_MAX_BYTES)
			continue;
		put_le64(buf + len, id);
		if (one_reg(vcpu, id, buf + len + 8, false) < 0) {
			err_errno(e, "vcpu %u: reading register %#llx", vcpu->id,
				  (unsigned long long)id);
			goto out;
		}
		len += 8 + reg_bytes(id);
	}
	state_put_bytes(w, "regs", buf, len);
	ret = 0;
out:
	free(buf);
	free(list);
	return ret;
}

static bool listed(const struct kvm_reg_list *list, uint64_t id)
{
	for (uint64_t i = 0; i < list->n; i++)
		if (list->reg[i] == id)
			return true;
	return false;
}

static int regs_restore(struct vcpu *vcpu, const struct state_section *s,
			struct err *e)
{
	struct kvm_reg_list *list;
	const uint8_t *p;
	uint32_t len, at = 0;
	int ret = -1;

	if (state_get_blob(s, "regs", &p, &len, REG_LIST_MAX * (8 + REG_MAX_BYTES),
			   e) < 0 || !(list = reg_list(vcpu, e)))
		return -1;
	while (at < len) {
		uint8_t val[REG_MAX_BYTES];
		uint64_t id;

		if (len - at < 8) {
			err_set(e, "%s: 'regs' ends inside an entry", s->label);
			goto out;
		}
		id = get_le64(p + at);
		if (!listed(list, id) || reg_bytes(id) > REG_MAX_BYTES) {
			err_set(e, "the CPU differs: the snapshot has register %#llx, which this host's KVM does not",
				(unsigned long long)id);
			goto out;
		}
		if (len - at - 8 < reg_bytes(id)) {
			err_set(e, "%s: 'regs' ends inside register %#llx",
				s->label, (unsigned long long)id);
			goto out;
		}
		memcpy(val, p + at + 8, reg_bytes(id));
		if (one_reg(vcpu, id, val, true) < 0) {
			err_errno(e, "vcpu %u: KVM refused register %#llx from the snapshot (a CPU that differs refuses its ID registers)",
				  vcpu->id, (unsigned long long)id);
			goto out;
		}
		at += 8 + (uint32_t)reg_bytes(id);
	}
	ret = 0;
out:
	free(list);
	return ret;
}

static bool has_events(struct vcpu *vcpu)
{
	return ioctl(vcpu->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0;
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_writer *w, struct err *e)
{
	uint64_t attrs[GIC_ATTRS_MAX];
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;

	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		return err_errno(e, "vcpu %u: KVM_GET_MP_STATE", vcpu->id);
	state_put_u64(w, "mp_state", mp.mp_state);
	if (has_events(vcpu)) {
		if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return err_errno(e, "vcpu %u: KVM_GET_VCPU_EVENTS",
					 vcpu->id);
		state_put_bytes(w, "events", &ev, sizeof(ev));
	}
	if (regs_save(vcpu, w, e) < 0 ||
	    gic_save32(vcpu->vm, w, "gic_redist", KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
		       attrs, redist_attrs(vcpu, attrs), e) < 0 ||
	    icc_save(vcpu, w, e) < 0)
		return err_prefix(e, "vcpu %u", vcpu->id);
	return 0;
}

int arch_vcpu_restore(struct vcpu *vcpu, const struct state_section *s,
		      struct err *e)
{
	uint64_t attrs[GIC_ATTRS_MAX];
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	unsigned int n = redist_attrs(vcpu, attrs);

	if (need_gicv3(vcpu->vm, e) < 0 ||
	    state_get_u32(s, "mp_state", &mp.mp_state, e) < 0 ||
	    regs_restore(vcpu, s, e) < 0)
		return -1;
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return err_errno(e, "vcpu %u: KVM refused MP state %u", vcpu->id,
				 mp.mp_state);
	if (state_has(s, "events") &&
	    (state_get_bytes(s, "events", &ev, sizeof(ev), e) < 0 ||
	     ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0))
		return err_errno(e, "vcpu %u: the snapshot's pending SError",
				 vcpu->id);
	if (gic_restore32(vcpu->vm, s, "gic_redist",
			  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, attrs, n, 0, n, e) < 0 ||
	    icc_restore(vcpu, s, e) < 0)
		return err_prefix(e, "vcpu %u", vcpu->id);
	return 0;
}

/* ---- the VM: the distributor and the SPIs' levels ---- */

int arch_vm_save(struct vm *vm, struct state_writer *w, struct err *e)
{
	uint64_t attrs[GIC_ATTRS_MAX];

	if (need_gicv3(vm, e) < 0 ||
	    gic_save32(vm, w, "gic_dist", KVM_DEV_ARM_VGIC_GRP_DIST_REGS, attrs,
		       dist_attrs(attrs), e) < 0 ||
	    gic_save32(vm, w, "gic_levels", KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
		       attrs, level_attrs(attrs), e) < 0)
		return -1;
	return 0;
}

/* Configuration and routing, then the line levels, then the rest. */
int arch_vm_restore(struct vm *vm, const struct state_section *s,
		    struct err *e)
{
	uint64_t dist[GIC_ATTRS_MAX], levels[GIC_ATTRS_MAX];
	unsigned int nd = dist_attrs(dist), nl = level_attrs(levels), split = 0;

	if (need_gicv3(vm, e) < 0)
		return -1;
	/* How many distributor registers precede the pending latches. */
	for (size_t i = 0; i < DIST_AFTER_LEVELS; i++)
		split += (gic_nr_irqs() - LAYOUT_GIC_NR_PRIVATE) *
			 dist_fields[i].bits / 32;
	if (gic_restore32(vm, s, "gic_dist", KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
			  dist, nd, 0, split, e) < 0 ||
	    gic_restore32(vm, s, "gic_levels", KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
			  levels, nl, 0, nl, e) < 0 ||
	    gic_restore32(vm, s, "gic_dist", KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
			  dist, nd, split, nd, e) < 0)
		return -1;
	return 0;
}
