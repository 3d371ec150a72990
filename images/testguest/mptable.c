// SPDX-License-Identifier: MIT
/* The Intel MultiProcessor Specification 1.4 tables. */
#include "io.h"
#include "mptable.h"
#include "str.h"

#define MPF_LEN 16
#define MPF_PHYSPTR 4
#define MPF_LENGTH 8
#define MPF_SPEC_REV 9
#define MPF_FEATURE1 11

#define MPC_HEADER_LEN 44
#define MPC_BASE_LENGTH 4
#define MPC_ENTRY_COUNT 34
#define MPC_EXT_LENGTH 40
#define MPC_EXT_CHECKSUM 42

#define MP_PROCESSOR 0
#define MP_PROCESSOR_LEN 20
#define MP_OTHER_LEN 8 /* bus, I/O APIC, I/O and local interrupt entries */
#define MP_LAST_TYPE 4
#define MP_CPU_EN 1
#define MP_CPU_BP 2

#define BDA_EBDA_SEGMENT 0x40e
#define BDA_BASE_MEM_KIB 0x413
#define KIB 1024
#define BASE_MEM_MAX_KIB 640
#define BIOS_AREA 0xf0000
#define BIOS_AREA_END 0x100000

static bool mpf_valid(const struct bootinfo *bi, uint64_t addr)
{
	const uint8_t *p = phys_ptr(addr);

	return bootinfo_range_ok(bi, addr, MPF_LEN) &&
	       !memcmp(p, "_MP_", 4) && p[MPF_LENGTH] == 1 &&
	       (p[MPF_SPEC_REV] == 1 || p[MPF_SPEC_REV] == 4) &&
	       !byte_sum(p, MPF_LEN);
}

static uint64_t mpf_search(const struct bootinfo *bi, uint64_t start,
			   uint64_t len)
{
	uint64_t a;

	for (a = start; a + MPF_LEN <= start + len; a += 16)
		if (mpf_valid(bi, a))
			return a;
	return 0;
}

/* The three places of MP spec 4: EBDA, end of base memory, BIOS ROM. */
static uint64_t mpf_find(const struct bootinfo *bi)
{
	uint64_t ebda = (uint64_t)rd16(phys_ptr(BDA_EBDA_SEGMENT)) << 4;
	uint64_t base_kib = rd16(phys_ptr(BDA_BASE_MEM_KIB));
	uint64_t mpf = 0;

	if (ebda)
		mpf = mpf_search(bi, ebda, KIB);
	if (!base_kib || base_kib > BASE_MEM_MAX_KIB)
		base_kib = BASE_MEM_MAX_KIB;
	if (!mpf)
		mpf = mpf_search(bi, (base_kib - 1) * KIB, KIB);
	if (!mpf)
		mpf = mpf_search(bi, BIOS_AREA, BIOS_AREA_END - BIOS_AREA);
	return mpf;
}

/*
 * Walks the entries by the base table's length, as kernels do, and then
 * holds the header's entry count to what was found.
 */
static bool mpc_entries(const uint8_t *t, uint32_t base_len,
			struct cpu_list *cpus, struct check *c)
{
	unsigned int count = rd16(t + MPC_ENTRY_COUNT), n = 0, bp = 0;
	uint32_t off;

	for (off = MPC_HEADER_LEN; off < base_len; n++) {
		uint8_t type = t[off];
		uint32_t len = type == MP_PROCESSOR ? MP_PROCESSOR_LEN :
						      MP_OTHER_LEN;

		if (type > MP_LAST_TYPE)
			return check_fail(c,
					  "entry %u at offset %u has unknown type %u",
					  n, off, type);
		if (len > base_len - off)
			return check_fail(c,
					  "entry %u at offset %u runs past the base table's %u bytes",
					  n, off, base_len);
		if (type == MP_PROCESSOR && (t[off + 3] & MP_CPU_EN)) {
			if (!cpu_list_add(cpus, t[off + 1], "MP table", c))
				return false;
			if (t[off + 3] & MP_CPU_BP)
				bp++;
		}
		off += len;
	}
	if (n != count)
		return check_fail(c,
				  "the table holds %u entries, its header says %u",
				  n, count);
	if (!cpus->nr)
		return check_fail(c, "MP table lists no enabled processor");
	if (bp != 1)
		return check_fail(c,
				  "%u enabled processors are marked as the boot processor, not 1",
				  bp);
	return true;
}

bool mptable_read(const struct bootinfo *bi, struct cpu_list *cpus,
		  struct check *c)
{
	uint64_t mpf = mpf_find(bi), addr;
	const uint8_t *p, *t;
	uint32_t base_len, ext_len;

	if (!mpf)
		return check_fail(c,
				  "no MP floating pointer in the EBDA, the last KiB of base memory or 0xf0000-0xfffff");
	p = phys_ptr(mpf);
	if (p[MPF_FEATURE1])
		return check_fail(c,
				  "MP floating pointer at 0x%lx names default configuration %u instead of a table",
				  mpf, p[MPF_FEATURE1]);
	addr = rd32(p + MPF_PHYSPTR);
	if (!bootinfo_range_ok(bi, addr, MPC_HEADER_LEN))
		return check_fail(c,
				  "MP configuration table pointer 0x%lx is outside memory",
				  addr);
	t = phys_ptr(addr);
	if (memcmp(t, "PCMP", 4))
		return check_fail(c,
				  "MP configuration table at 0x%lx has no PCMP signature",
				  addr);
	base_len = rd16(t + MPC_BASE_LENGTH);
	ext_len = rd16(t + MPC_EXT_LENGTH);
	if (base_len < MPC_HEADER_LEN ||
	    !bootinfo_range_ok(bi, addr, (uint64_t)base_len + ext_len))
		return check_fail(c,
				  "MP configuration table at 0x%lx has bad lengths (base %u, extended %u)",
				  addr, base_len, ext_len);
	if (byte_sum(t, base_len))
		return check_fail(c,
				  "MP configuration table at 0x%lx has a bad checksum",
				  addr);
	if ((uint8_t)(byte_sum(t + base_len, ext_len) + t[MPC_EXT_CHECKSUM]))
		return check_fail(c,
				  "MP configuration table at 0x%lx has a bad extended table checksum",
				  addr);
	return mpc_entries(t, base_len, cpus, c);
}
