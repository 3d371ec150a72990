// SPDX-License-Identifier: MIT
/* ACPI: RSDP, XSDT/RSDT and the MADT's processor entries (ACPI 6.5, 5.2). */
#include "acpi.h"
#include "io.h"
#include "str.h"

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define RSDP_MAX_LEN 4096
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24

#define SDT_HEADER_LEN 36
#define SDT_LENGTH 4
/* Upper bounds on what the guest will checksum: far above real tables. */
#define XSDT_MAX_LEN (SDT_HEADER_LEN + 8 * 256)
#define MADT_MAX_LEN 0x10000

#define MADT_LAPIC_ADDR 36
#define MADT_ENTRIES 44
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_LAPIC_OVERRIDE 5
#define MADT_TYPE_X2APIC 9
#define MADT_LAPIC_LEN 8
#define MADT_LAPIC_OVERRIDE_LEN 12
#define MADT_X2APIC_LEN 16
#define MADT_ENABLED 1

#define BDA_EBDA_SEGMENT 0x40e
#define EBDA_SEARCH_LEN 1024
#define BIOS_SEARCH_START 0xe0000
#define BIOS_SEARCH_END 0x100000

/* A table signature as text, safe to print whatever the bytes are. */
static const char *sig_text(const uint8_t *sig, char out[5])
{
	int i;

	for (i = 0; i < 4; i++)
		out[i] = sig[i] >= 0x20 && sig[i] < 0x7f ? (char)sig[i] : '?';
	out[4] = '\0';
	return out;
}

static bool rsdp_valid(const struct bootinfo *bi, uint64_t addr)
{
	const uint8_t *p = phys_ptr(addr);
	uint32_t len;

	if (!bootinfo_range_ok(bi, addr, RSDP_V1_LEN) ||
	    memcmp(p, "RSD PTR ", 8) || byte_sum(p, RSDP_V1_LEN))
		return false;
	if (p[15] < 2)
		return true;
	len = rd32(p + RSDP_LENGTH);
	return len >= RSDP_V2_LEN && len <= RSDP_MAX_LEN &&
	       bootinfo_range_ok(bi, addr, len) && !byte_sum(p, len);
}

static uint64_t rsdp_search(const struct bootinfo *bi, uint64_t start,
			    uint64_t end)
{
	uint64_t a;

	for (a = start; a + RSDP_V1_LEN <= end; a += 16)
		if (rsdp_valid(bi, a))
			return a;
	return 0;
}

static bool find_rsdp(const struct bootinfo *bi, uint64_t *rsdp,
		      struct check *c)
{
	uint64_t ebda;

	if (bi->rsdp_addr) {
		if (!rsdp_valid(bi, bi->rsdp_addr))
			return check_fail(c,
					  "no valid RSDP at 0x%lx, where the boot info points",
					  bi->rsdp_addr);
		*rsdp = bi->rsdp_addr;
		return true;
	}
	ebda = (uint64_t)rd16(phys_ptr(BDA_EBDA_SEGMENT)) << 4;
	*rsdp = 0;
	if (ebda)
		*rsdp = rsdp_search(bi, ebda, ebda + EBDA_SEARCH_LEN);
	if (!*rsdp)
		*rsdp = rsdp_search(bi, BIOS_SEARCH_START, BIOS_SEARCH_END);
	if (!*rsdp)
		return check_fail(c,
				  "no RSDP: none in the boot info, none in the EBDA or 0xe0000-0xfffff");
	return true;
}

/* Checks the header, length and checksum of the table at @addr. */
static const uint8_t *sdt_map(const struct bootinfo *bi, uint64_t addr,
			      const char *sig, uint32_t max_len,
			      struct check *c)
{
	const uint8_t *p = phys_ptr(addr);
	char text[5];
	uint32_t len;

	if (!bootinfo_range_ok(bi, addr, SDT_HEADER_LEN)) {
		check_fail(c, "%s at 0x%lx is outside memory", sig, addr);
		return NULL;
	}
	if (memcmp(p, sig, 4)) {
		check_fail(c, "table at 0x%lx has signature \"%s\", not %s",
			   addr, sig_text(p, text), sig);
		return NULL;
	}
	len = rd32(p + SDT_LENGTH);
	if (len < SDT_HEADER_LEN || len > max_len ||
	    !bootinfo_range_ok(bi, addr, len)) {
		check_fail(c, "%s at 0x%lx has a bad length %u", sig, addr,
			   len);
		return NULL;
	}
	if (byte_sum(p, len)) {
		check_fail(c, "%s at 0x%lx has a bad checksum", sig, addr);
		return NULL;
	}
	return p;
}

/* Walks the XSDT (8-byte entries) or RSDT (4-byte entries) for @sig. */
static bool find_table(const struct bootinfo *bi, uint64_t rsdp,
		       const char *sig, uint64_t *table, struct check *c)
{
	const uint8_t *r = phys_ptr(rsdp), *t;
	bool xsdt = r[15] >= 2 && rd64(r + RSDP_XSDT);
	const char *name = xsdt ? "XSDT" : "RSDT";
	uint64_t addr = xsdt ? rd64(r + RSDP_XSDT) : rd32(r + RSDP_RSDT);
	unsigned int width = xsdt ? 8 : 4, i, n;

	t = sdt_map(bi, addr, name, XSDT_MAX_LEN, c);
	if (!t)
		return false;
	n = (rd32(t + SDT_LENGTH) - SDT_HEADER_LEN) / width;
	for (i = 0; i < n; i++) {
		const uint8_t *e = t + SDT_HEADER_LEN + i * width;
		uint64_t entry = xsdt ? rd64(e) : rd32(e);

		if (!bootinfo_range_ok(bi, entry, SDT_HEADER_LEN))
			return check_fail(c,
					  "%s entry %u points to 0x%lx, outside memory",
					  name, i, entry);
		if (!memcmp(phys_ptr(entry), sig, 4)) {
			*table = entry;
			return true;
		}
	}
	return check_fail(c, "%s at 0x%lx lists no %s", name, addr, sig);
}

static bool madt_entry(const uint8_t *e, uint64_t off, struct madt_info *out,
		       struct check *c)
{
	uint8_t type = e[0], len = e[1];

	switch (type) {
	case MADT_TYPE_LAPIC:
		if (len != MADT_LAPIC_LEN)
			break;
		if (!(rd32(e + 4) & MADT_ENABLED))
			return true;
		return cpu_list_add(&out->cpus, e[3], "MADT", c);
	case MADT_TYPE_X2APIC:
		if (len != MADT_X2APIC_LEN)
			break;
		if (!(rd32(e + 8) & MADT_ENABLED))
			return true;
		return cpu_list_add(&out->cpus, rd32(e + 4), "MADT", c);
	case MADT_TYPE_LAPIC_OVERRIDE:
		if (len != MADT_LAPIC_OVERRIDE_LEN)
			break;
		out->lapic_addr = rd64(e + 4);
		return true;
	default:
		return true;
	}
	return check_fail(c, "MADT entry of type %u at offset %lu has length %u",
			  type, off, len);
}

bool acpi_read_madt(const struct bootinfo *bi, struct madt_info *out,
		    struct check *c)
{
	const uint8_t *m;
	uint32_t len, off;

	if (!find_rsdp(bi, &out->rsdp_addr, c) ||
	    !find_table(bi, out->rsdp_addr, "APIC", &out->madt_addr, c))
		return false;
	m = sdt_map(bi, out->madt_addr, "APIC", MADT_MAX_LEN, c);
	if (!m)
		return false;
	len = rd32(m + SDT_LENGTH);
	if (len < MADT_ENTRIES)
		return check_fail(c, "MADT length %u is shorter than its header",
				  len);
	out->lapic_addr = rd32(m + MADT_LAPIC_ADDR);
	for (off = MADT_ENTRIES; off < len; off += m[off + 1]) {
		if (len - off < 2 || m[off + 1] < 2 || m[off + 1] > len - off)
			return check_fail(c,
					  "MADT entry at offset %u runs past the table's end",
					  off);
		if (!madt_entry(m + off, off, out, c))
			return false;
	}
	if (!out->cpus.nr)
		return check_fail(c, "MADT lists no enabled processor");
	return true;
}

const uint8_t *acpi_find_table(const struct bootinfo *bi, const char *sig,
			       uint32_t max_len, struct check *c)
{
	uint64_t rsdp, addr;

	if (!find_rsdp(bi, &rsdp, c) || !find_table(bi, rsdp, sig, &addr, c))
		return NULL;
	return sdt_map(bi, addr, sig, max_len, c);
}
