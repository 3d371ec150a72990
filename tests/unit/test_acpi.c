// SPDX-License-Identifier: MIT
/*
 * ACPI tables: the RSDP -> XSDT -> FADT -> DSDT chain, the MADT, and the
 * DSDT's AML, decoded by a small AML walker independent of the encoder.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/acpi.h"
#include "boot/x86/aml.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table's header checked, its body returned. */
static uint8_t *table(struct test_guest *g, uint64_t gpa, const char *sig)
{
	uint8_t *t = tg_ptr(g, gpa, 36);
	uint32_t len = get_le32(t + 4);

	cr_assert_eq(memcmp(t, sig, 4), 0, "expected %s at 0x%llx, found %.4s",
		     sig, (unsigned long long)gpa, (char *)t);
	cr_assert(len >= 36 && gpa + len <= LAYOUT_ACPI_END,
		  "%s length %u", sig, len);
	t = tg_ptr(g, gpa, len);
	cr_assert_eq(sum(t, len), 0, "%s checksum", sig);
	cr_assert_eq(memcmp(t + 10, "VMMVMM", 6), 0, "%s OEM ID", sig);
	cr_assert_neq(get_le32(t + 28), 0, "%s creator ID", sig);
	return t;
}

/* ---- a minimal AML reader ---- */

struct aml_device {
	char name[8];
	char hid[16];
	int64_t uid;
	const uint8_t *crs;
	size_t crs_len;
	/* The one method a device may have: _EVT's argument count and body. */
	char method[8];
	unsigned int method_args;
	const uint8_t *body;
	size_t body_len;
};

struct aml_doc {
	struct aml_device dev[ACPI_SERIAL_MAX + LAYOUT_VIRTIO_MMIO_MAX + 2];
	unsigned int nr_dev;
	int64_t s5[4];
	unsigned int nr_s5;
	bool in_sb;
};

/* PkgLength at @p: returns its byte count, *len the encoded total. */
static size_t rd_pkg_length(const uint8_t *p, const uint8_t *end, size_t *len)
{
	unsigned int follow;

	cr_assert(p < end);
	follow = p[0] >> 6;
	if (follow == 0) {
		*len = p[0] & 0x3f;
		return 1;
	}
	cr_assert_eq(p[0] & 0x30, 0, "PkgLength lead byte bits 4-5 must be 0");
	cr_assert(p + 1 + follow <= end);
	*len = p[0] & 0x0f;
	for (unsigned int i = 0; i < follow; i++)
		*len |= (size_t)p[1 + i] << (4 + 8 * i);
	/* The shortest form must have been used. */
	cr_assert(*len > 63, "PkgLength %zu encoded in %u bytes", *len, follow + 1);
	return 1 + follow;
}

static size_t rd_name(const uint8_t *p, const uint8_t *end, char *out, size_t cap)
{
	const uint8_t *s = p;
	unsigned int segs = 1;
	size_t o = 0;

	if (*p == '\\')
		out[o++] = *p++;
	if (*p == 0x2e) {
		segs = 2;
		p++;
	} else if (*p == 0x2f) {
		segs = p[1];
		p += 2;
	}
	cr_assert(p + 4 * segs <= end);
	for (unsigned int i = 0; i < segs; i++) {
		if (i)
			out[o++] = '.';
		cr_assert(o + 4 < cap);
		for (int j = 0; j < 4; j++) {
			char c = (char)p[j];

			cr_assert((c >= 'A' && c <= 'Z') || c == '_' ||
				  (j > 0 && c >= '0' && c <= '9'),
				  "bad NameSeg character 0x%02x", p[j]);
			out[o++] = c;
		}
		p += 4;
	}
	out[o] = 0;
	return (size_t)(p - s);
}

static size_t rd_integer(const uint8_t *p, const uint8_t *end, int64_t *v)
{
	static const unsigned int sizes[] = { [0x0a] = 1, [0x0b] = 2,
					      [0x0c] = 4, [0x0e] = 8 };
	unsigned int n;

	if (*p == 0x00 || *p == 0x01) {
		*v = *p;
		return 1;
	}
	cr_assert(*p < ARRAY_SIZE(sizes) && sizes[*p], "not an integer: 0x%02x", *p);
	n = sizes[*p];
	cr_assert(p + 1 + n <= end);
	*v = 0;
	for (unsigned int i = 0; i < n; i++)
		*v |= (int64_t)p[1 + i] << (8 * i);
	return 1 + n;
}

static void rd_term_list(struct aml_doc *d, struct aml_device *dev,
			 const uint8_t *p, const uint8_t *end);

/* A compressed EISA ID, as the DWord's bytes lie in memory, to "PNP0C0C". */
static void rd_eisaid(uint32_t v, char out[16])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	out[0] = (char)('@' + (b[0] >> 2));
	out[1] = (char)('@' + ((b[0] & 3) << 3 | b[1] >> 5));
	out[2] = (char)('@' + (b[1] & 0x1f));
	out[3] = hex[b[2] >> 4];
	out[4] = hex[b[2] & 0xf];
	out[5] = hex[b[3] >> 4];
	out[6] = hex[b[3] & 0xf];
	out[7] = '\0';
}

static size_t rd_named_object(struct aml_doc *d, struct aml_device *dev,
			      const char *name, const uint8_t *p,
			      const uint8_t *end)
{
	const uint8_t *s = p;
	size_t len, n;
	int64_t v;

	switch (*p) {
	case 0x0d: /* String */
		n = strnlen((const char *)p + 1, (size_t)(end - p - 1));
		cr_assert(p + 1 + n < end, "unterminated string");
		cr_assert(dev && strcmp(name, "_HID") == 0, "string for %s", name);
		cr_assert(n < sizeof(dev->hid));
		memcpy(dev->hid, p + 1, n + 1);
		return n + 2;
	case 0x11: /* Buffer */
		p++;
		n = rd_pkg_length(p, end, &len);
		cr_assert(p + len <= end, "buffer past its parent");
		end = p + len;
		p += n;
		p += rd_integer(p, end, &v);
		cr_assert_eq((int64_t)(end - p), v, "buffer size vs PkgLength");
		cr_assert(dev && strcmp(name, "_CRS") == 0, "buffer for %s", name);
		dev->crs = p;
		dev->crs_len = (size_t)v;
		return (size_t)(end - s);
	case 0x12: /* Package of integers */
		p++;
		n = rd_pkg_length(p, end, &len);
		cr_assert(p + len <= end);
		end = p + len;
		p += n;
		cr_assert_str_eq(name, "\\_S5_");
		d->nr_s5 = *p++;
		cr_assert(d->nr_s5 <= 4);
		for (unsigned int i = 0; i < d->nr_s5; i++)
			p += rd_integer(p, end, &d->s5[i]);
		cr_assert_eq(p, end, "package contents vs PkgLength");
		return (size_t)(end - s);
	default:
		n = rd_integer(p, end, &v);
		cr_assert(dev, "integer for %s outside a device", name);
		if (!strcmp(name, "_HID")) {
			rd_eisaid((uint32_t)v, dev->hid);
			return n;
		}
		cr_assert(strcmp(name, "_UID") == 0, "integer for %s", name);
		dev->uid = v;
		return n;
	}
}

static void rd_term_list(struct aml_doc *d, struct aml_device *dev,
			 const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		char name[64];
		size_t len, n;

		if (*p == 0x08) { /* Name */
			p++;
			p += rd_name(p, end, name, sizeof(name));
			p += rd_named_object(d, dev, name, p, end);
		} else if (*p == 0x10) { /* Scope */
			const uint8_t *body;

			p++;
			n = rd_pkg_length(p, end, &len);
			cr_assert(p + len <= end, "scope past its parent");
			body = p + n;
			body += rd_name(body, p + len, name, sizeof(name));
			cr_assert_str_eq(name, "\\_SB_");
			d->in_sb = true;
			rd_term_list(d, NULL, body, p + len);
			d->in_sb = false;
			p += len;
		} else if (p[0] == 0x5b && p + 1 < end && p[1] == 0x82) {
			struct aml_device *nd;
			const uint8_t *body;

			p += 2;
			n = rd_pkg_length(p, end, &len);
			cr_assert(p + len <= end, "device past its parent");
			cr_assert(d->in_sb && !dev, "device outside \\_SB");
			cr_assert(d->nr_dev < ARRAY_SIZE(d->dev));
			nd = &d->dev[d->nr_dev++];
			memset(nd, 0, sizeof(*nd));
			nd->uid = -1;
			body = p + n;
			body += rd_name(body, p + len, nd->name, sizeof(nd->name));
			rd_term_list(d, nd, body, p + len);
			p += len;
		} else if (*p == 0x14) { /* Method */
			const uint8_t *body;

			p++;
			n = rd_pkg_length(p, end, &len);
			cr_assert(p + len <= end, "method past its parent");
			cr_assert(dev && !dev->body, "method outside a device");
			body = p + n;
			body += rd_name(body, p + len, dev->method,
					sizeof(dev->method));
			cr_assert(body < p + len, "method without flags");
			dev->method_args = *body & 7;
			dev->body = body + 1;
			dev->body_len = (size_t)(p + len - dev->body);
			p += len;
		} else {
			cr_assert_fail("unexpected AML opcode 0x%02x", *p);
		}
	}
	cr_assert_eq(p, end, "term list overran its package");
}

struct crs {
	uint32_t base, size, gsi;
	uint8_t mem_info, irq_flags;
	uint16_t io_min, io_max, isa_irq_mask;
	uint8_t io_info, io_align, io_len, isa_irq_flags;
	bool mem, irq, io, isa_irq, end_tag;
};

static void rd_crs(const uint8_t *r, size_t len, struct crs *c)
{
	const uint8_t *p = r, *end = r + len;

	memset(c, 0, sizeof(*c));
	cr_assert_eq(sum(r, len), 0, "resource template checksum");
	while (p < end) {
		cr_assert(!c->end_tag, "data after the end tag");
		if (*p & 0x80) {
			size_t n = get_le16(p + 1);
			const uint8_t *b = p + 3;

			cr_assert(b + n <= end);
			if (*p == 0x86) {
				cr_assert_eq(n, 9);
				c->mem = true;
				c->mem_info = b[0];
				c->base = get_le32(b + 1);
				c->size = get_le32(b + 5);
			} else if (*p == 0x89) {
				cr_assert_eq(b[1], 1, "interrupt count");
				cr_assert_eq(n, 2 + 4 * b[1]);
				c->irq = true;
				c->irq_flags = b[0];
				c->gsi = get_le32(b + 2);
			} else {
				cr_assert_fail("unexpected large resource 0x%02x", *p);
			}
			p = b + n;
		} else if (*p == 0x47) { /* I/O port, 7 bytes */
			cr_assert(p + 8 <= end);
			c->io = true;
			c->io_info = p[1];
			c->io_min = get_le16(p + 2);
			c->io_max = get_le16(p + 4);
			c->io_align = p[6];
			c->io_len = p[7];
			p += 8;
		} else if (*p == 0x23) { /* IRQ with information byte */
			cr_assert(p + 4 <= end);
			c->isa_irq = true;
			c->isa_irq_mask = get_le16(p + 1);
			c->isa_irq_flags = p[3];
			p += 4;
		} else {
			cr_assert_eq(*p, 0x79, "unexpected small resource 0x%02x", *p);
			cr_assert(p + 2 == end, "end tag is not last");
			c->end_tag = true;
			p += 2;
		}
	}
	cr_assert(c->end_tag);
}

/* ---- the tables ---- */

static struct boot_mmio_device *make_mmio(unsigned int n)
{
	struct boot_mmio_device *m = calloc(n ? n : 1, sizeof(*m));

	for (unsigned int i = 0; i < n; i++)
		m[i] = (struct boot_mmio_device){
			.base = LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE,
			.size = LAYOUT_VIRTIO_MMIO_SIZE,
			.gsi = LAYOUT_IRQ_VIRTIO_FIRST + i % 19,
		};
	return m;
}

static void check_madt(const uint8_t *t, unsigned int nr_cpus)
{
	uint32_t len = get_le32(t + 4);
	const uint8_t *p = t + 44, *end = t + len;
	unsigned int cpus = 0, ioapics = 0, isos = 0;

	cr_assert_eq(get_le32(t + 36), LAYOUT_LAPIC);
	cr_assert_eq(get_le32(t + 40) & 1, 1, "PCAT_COMPAT");
	while (p < end) {
		cr_assert(p[1] >= 2 && p + p[1] <= end, "MADT entry length");
		switch (p[0]) {
		case 0:
			cr_assert_eq(p[1], 8);
			cr_assert_eq(p[3], cpus, "APIC ID of CPU %u", cpus);
			cr_assert_eq(get_le32(p + 4) & 1, 1, "CPU %u enabled", cpus);
			cpus++;
			break;
		case 1:
			cr_assert_eq(p[1], 12);
			cr_assert_eq(get_le32(p + 4), LAYOUT_IOAPIC);
			cr_assert_eq(get_le32(p + 8), 0, "GSI base");
			ioapics++;
			break;
		case 2:
			cr_assert_eq(p[1], 10);
			cr_assert_eq(p[2], 0);
			cr_assert_eq(p[3], 0, "source IRQ 0");
			cr_assert_eq(get_le32(p + 4), 2, "to GSI 2");
			isos++;
			break;
		case 4:
			cr_assert_eq(p[1], 6);
			cr_assert_eq(p[5], 1, "NMI on LINT1");
			break;
		default:
			cr_assert_fail("unexpected MADT entry %u", p[0]);
		}
		p += p[1];
	}
	cr_assert_eq(p, end);
	cr_assert_eq(cpus, nr_cpus);
	cr_assert_eq(ioapics, 1);
	cr_assert_eq(isos, 1);
}

static void check_gas_io(const uint8_t *g, uint16_t port)
{
	cr_assert_eq(g[0], 1, "system I/O space");
	cr_assert_eq(g[1], 8, "8-bit register");
	cr_assert_eq(g[2], 0);
	cr_assert_eq(get_le64(g + 4), port);
}

static int build(struct test_guest *g, unsigned int nr_cpus,
		 const struct boot_serial_port *serial, unsigned int nr_serial,
		 const struct boot_mmio_device *mmio, unsigned int nr_mmio,
		 uint32_t power_button_gsi, uint64_t *rsdp, struct err *e)
{
	struct boot_config cfg = {
		.nr_cpus = nr_cpus, .serial = serial, .nr_serial = nr_serial,
		.mmio = mmio, .nr_mmio = nr_mmio,
		.power_button_gsi = power_button_gsi,
	};

	return acpi_build(&g->mem, &cfg, rsdp, e);
}

/*
 * The power button: a PNP0C0C device, and a generic event device whose
 * edge-triggered interrupt is @gsi and whose _EVT notifies the button.
 */
static void check_power_button(const struct aml_device *button,
			       const struct aml_device *ged, uint32_t gsi)
{
	static const uint8_t notify[] = {
		0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B',
		0x0a, 0x80,
	};
	struct crs c;

	cr_assert_str_eq(button->name, "PWRB");
	cr_assert_str_eq(button->hid, "PNP0C0C");
	cr_assert_str_eq(ged->hid, "ACPI0013");
	cr_assert_not_null(ged->crs);
	rd_crs(ged->crs, ged->crs_len, &c);
	cr_assert(c.irq && !c.mem);
	cr_assert_eq(c.gsi, gsi);
	cr_assert_eq(c.irq_flags & 0x0f, 0x03, "consumer, edge, active high");
	cr_assert_str_eq(ged->method, "_EVT");
	cr_assert_eq(ged->method_args, 1);
	cr_assert_eq(ged->body_len, sizeof(notify));
	cr_assert_eq(memcmp(ged->body, notify, sizeof(notify)), 0,
		     "_EVT is Notify (\\_SB.PWRB, 0x80)");
}

/* COM1 to COM@n at their PC ports and IRQs. */
static const struct boot_serial_port com_ports[ACPI_SERIAL_MAX] = {
	{ 1, LAYOUT_PORT_COM1, LAYOUT_IRQ_COM1 },
	{ 2, LAYOUT_PORT_COM2, LAYOUT_IRQ_COM2 },
	{ 3, LAYOUT_PORT_COM3, LAYOUT_IRQ_COM3 },
	{ 4, LAYOUT_PORT_COM4, LAYOUT_IRQ_COM4 },
};

static void check_serial_device(const struct aml_device *d,
				const struct boot_serial_port *want)
{
	struct crs c;

	cr_assert_str_eq(d->hid, "PNP0501");
	cr_assert_eq(d->uid, want->index);
	cr_assert_not_null(d->crs, "device %s has no _CRS", d->name);
	rd_crs(d->crs, d->crs_len, &c);
	cr_assert(c.io && c.isa_irq && !c.mem && !c.irq);
	cr_assert_eq(c.io_info & 1, 1, "16-bit decode");
	cr_assert_eq(c.io_min, want->base);
	cr_assert_eq(c.io_max, want->base);
	cr_assert_eq(c.io_len, 8);
	cr_assert_eq(c.isa_irq_mask, 1U << want->gsi);
	/* edge, active high, shared */
	cr_assert_eq(c.isa_irq_flags, 0x11);
}

static void check_tables(unsigned int nr_cpus, unsigned int nr_serial,
			 unsigned int nr_mmio, uint32_t power_button_gsi)
{
	struct boot_mmio_device *mmio = make_mmio(nr_mmio);
	struct aml_doc *doc = calloc(1, sizeof(*doc));
	struct test_guest g;
	struct err e = { "" };
	uint64_t rsdp_gpa = 0, madt = 0, dsdt;
	uint8_t *rsdp, *xsdt, *fadt, *t;

	tg_init(&g, 16 * MiB);
	cr_assert_eq(build(&g, nr_cpus, com_ports, nr_serial, mmio, nr_mmio,
			   power_button_gsi, &rsdp_gpa, &e), 0, "%s", e.msg);
	cr_assert_eq(rsdp_gpa, LAYOUT_ACPI);

	rsdp = tg_ptr(&g, rsdp_gpa, 36);
	cr_assert_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
	cr_assert_eq(sum(rsdp, 20), 0, "RSDP checksum");
	cr_assert_eq(sum(rsdp, 36), 0, "RSDP extended checksum");
	cr_assert_eq(rsdp[15], 2, "RSDP revision");
	cr_assert_eq(get_le32(rsdp + 20), 36);

	xsdt = table(&g, get_le64(rsdp + 24), "XSDT");
	cr_assert_eq(get_le32(xsdt + 4), 36 + 16);
	fadt = table(&g, get_le64(xsdt + 36), "FACP");
	t = tg_ptr(&g, get_le64(xsdt + 44), 4);
	if (memcmp(t, "APIC", 4) == 0)
		madt = get_le64(xsdt + 44);
	cr_assert_neq(madt, 0, "XSDT lists the MADT");

	cr_assert_eq(get_le32(fadt + 4), 276);
	cr_assert_eq(fadt[8], 6, "FADT revision");
	cr_assert_eq(get_le32(fadt + 112) & (1U << 20), 1U << 20, "HW_REDUCED_ACPI");
	cr_assert_eq(get_le32(fadt + 112) & (1U << 10), 1U << 10, "RESET_REG_SUP");
	check_gas_io(fadt + 116, LAYOUT_PORT_ACPI_RESET);
	cr_assert_eq(fadt[128], LAYOUT_ACPI_RESET_VALUE);
	check_gas_io(fadt + 244, LAYOUT_PORT_ACPI_SLEEP_CTL);
	check_gas_io(fadt + 256, LAYOUT_PORT_ACPI_SLEEP_STS);
	dsdt = get_le64(fadt + 140);
	cr_assert_eq(get_le32(fadt + 40), dsdt, "DSDT and X_DSDT agree");

	check_madt(table(&g, madt, "APIC"), nr_cpus);

	t = table(&g, dsdt, "DSDT");
	cr_assert_eq(t[8], 2, "DSDT revision (64-bit integers)");
	rd_term_list(doc, NULL, t + 36, t + get_le32(t + 4));
	cr_assert_eq(doc->nr_s5, 4);
	cr_assert_eq(doc->s5[0], LAYOUT_ACPI_S5_TYPE);
	cr_assert_eq(doc->nr_dev, nr_serial + nr_mmio + (power_button_gsi ? 2 : 0));
	for (unsigned int i = 0; i < nr_serial; i++)
		check_serial_device(&doc->dev[i], &com_ports[i]);
	if (power_button_gsi)
		check_power_button(&doc->dev[nr_serial + nr_mmio],
				   &doc->dev[nr_serial + nr_mmio + 1],
				   power_button_gsi);
	for (unsigned int i = 0; i < nr_mmio; i++) {
		struct aml_device *d = &doc->dev[nr_serial + i];
		struct crs c;

		cr_assert_str_eq(d->hid, "LNRO0005");
		cr_assert_eq(d->uid, i);
		cr_assert_not_null(d->crs, "device %s has no _CRS", d->name);
		for (unsigned int j = 0; j < nr_serial + i; j++)
			cr_assert_str_neq(d->name, doc->dev[j].name);
		rd_crs(d->crs, d->crs_len, &c);
		cr_assert(c.mem && c.irq);
		cr_assert_eq(c.base, mmio[i].base);
		cr_assert_eq(c.size, mmio[i].size);
		cr_assert_eq(c.mem_info & 1, 1, "read-write");
		cr_assert_eq(c.gsi, mmio[i].gsi);
		/* consumer, edge, active high, exclusive */
		cr_assert_eq(c.irq_flags & 0x0f, 0x03);
	}
	free(doc);
	free(mmio);
	tg_fini(&g);
}

Test(acpi, small_guest)
{
	check_tables(1, 1, 0, 0);
}

Test(acpi, four_cpus_three_devices)
{
	check_tables(4, 1, 3, 0);
}

Test(acpi, power_button)
{
	check_tables(2, 1, 2, 7);
}

/*
 * Every UART is announced with its ports and IRQ: under hardware-reduced
 * ACPI that is the only way Linux maps an ISA IRQ, and an 8250 port
 * without one cannot be opened (ttyS0 writes fail with EIO).
 */
Test(acpi, serial_ports)
{
	check_tables(2, ACPI_SERIAL_MAX, 2, 0);
}

/* 64 devices push \_SB's PkgLength into the two-byte form. */
Test(acpi, largest_configuration_fits)
{
	check_tables(255, ACPI_SERIAL_MAX, LAYOUT_VIRTIO_MMIO_MAX, 23);
}

Test(acpi, refuses_what_it_cannot_describe)
{
	struct boot_mmio_device *mmio = make_mmio(LAYOUT_VIRTIO_MMIO_MAX + 1);
	struct test_guest g;
	struct err e = { "" };
	uint64_t rsdp;

	tg_init(&g, 16 * MiB);
	cr_assert_eq(build(&g, 2, NULL, 0, mmio, LAYOUT_VIRTIO_MMIO_MAX + 1,
			   0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "65 virtio-mmio devices"), "%s", e.msg);
	mmio[1].gsi = 24;
	cr_assert_eq(build(&g, 2, NULL, 0, mmio, 2, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "device 1: GSI 24"), "%s", e.msg);
	mmio[1].gsi = 6;
	mmio[1].base = 0xfffff800;
	cr_assert_eq(build(&g, 2, NULL, 0, mmio, 2, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "not below 4 GiB"), "%s", e.msg);
	mmio[1].base = LAYOUT_VIRTIO_MMIO;
	mmio[1].size = 0;
	cr_assert_eq(build(&g, 2, NULL, 0, mmio, 2, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "empty"), "%s", e.msg);
	cr_assert_eq(build(&g, 0, NULL, 0, mmio, 0, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "0 vCPUs"), "%s", e.msg);
	cr_assert_eq(build(&g, 2, com_ports, 5, mmio, 0, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "5 serial ports"), "%s", e.msg);
	{
		struct boot_serial_port bad = { 1, LAYOUT_PORT_COM1, 16 };

		cr_assert_eq(build(&g, 2, &bad, 1, mmio, 0, 0, &rsdp, &e), -1);
		cr_assert(strstr(e.msg, "COM1 at port 0x3f8 on ISA IRQ 16"), "%s", e.msg);
		bad = (struct boot_serial_port){ 5, LAYOUT_PORT_COM1, 4 };
		cr_assert_eq(build(&g, 2, &bad, 1, mmio, 0, 0, &rsdp, &e), -1);
		cr_assert(strstr(e.msg, "COM5"), "%s", e.msg);
	}
	cr_assert_eq(build(&g, 256, NULL, 0, mmio, 0, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "256 vCPUs"), "%s", e.msg);
	cr_assert_eq(build(&g, 2, NULL, 0, mmio, 0, 24, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "power button: GSI 24"), "%s", e.msg);
	/* Nothing was written by the failed attempts. */
	cr_assert_eq(memcmp(tg_ptr(&g, LAYOUT_ACPI, 8), "\0\0\0\0\0\0\0\0", 8), 0);
	free(mmio);
	tg_fini(&g);
}

Test(acpi, guest_without_acpi_area)
{
	struct test_guest g;
	struct err e = { "" };
	uint64_t rsdp;

	tg_init(&g, 512 * KiB);
	cr_assert_eq(build(&g, 1, NULL, 0, NULL, 0, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "outside guest RAM"), "%s", e.msg);
	tg_fini(&g);
}

/* ---- the AML encoder itself ---- */

static void pkg_bytes(size_t content, const uint8_t *want, size_t n)
{
	uint8_t *buf = calloc(1, content + 8);
	struct aml a;
	size_t mark;

	aml_init(&a, buf, content + 8);
	mark = a.len;
	for (size_t i = 0; i < content; i++)
		aml_byte(&a, 0xcc);
	aml_end(&a, mark);
	cr_assert(!a.overflow);
	cr_assert_eq(a.len, content + n);
	cr_assert_eq(memcmp(buf, want, n), 0, "PkgLength for %zu content bytes",
		     content);
	cr_assert_eq(buf[n], 0xcc);
	free(buf);
}

Test(aml, pkg_length_forms)
{
	/* total 63: one byte */
	pkg_bytes(62, (const uint8_t[]){ 63 }, 1);
	/* total 65 = 0x41: 0x40 | 1, then 0x41 >> 4 */
	pkg_bytes(63, (const uint8_t[]){ 0x41, 0x04 }, 2);
	/* total 4095 = 0xfff: still two bytes */
	pkg_bytes(4093, (const uint8_t[]){ 0x4f, 0xff }, 2);
	/* total 4097 = 0x1001: three bytes */
	pkg_bytes(4094, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3);
	cr_assert_eq(aml_pkg_length_size(0xfffff - 3), 3);
	cr_assert_eq(aml_pkg_length_size(0xfffff - 2), 4);
	cr_assert_eq(aml_pkg_length_size(1U << 28), 0);
}

Test(aml, integers)
{
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ULL);
	cr_assert_eq(a.len, 1 + 1 + 2 + 3 + 5 + 9);
	cr_assert_eq(memcmp(buf, (const uint8_t[]){ 0x00, 0x01, 0x0a, 0x02,
						   0x0b, 0x00, 0x01,
						   0x0c, 0x00, 0x00, 0x01, 0x00,
						   0x0e, 0, 0, 0, 0, 1, 0, 0, 0 },
			    a.len), 0);
}

Test(aml, name_strings)
{
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	cr_assert_eq(aml_name_string(&a, "\\_SB_.V01"), 0);
	cr_assert_eq(a.len, 10);
	cr_assert_eq(memcmp(buf, "\\\x2e_SB_V01_", 10), 0);
	cr_assert_eq(aml_name_string(&a, "A.B.C"), 0);
	cr_assert_eq(memcmp(buf + 10, "\x2f\x03" "A___B___C___", 14), 0);
	cr_assert_eq(aml_name_string(&a, "1ABC"), -1);
	cr_assert(a.overflow);

	aml_init(&a, buf, sizeof(buf));
	cr_assert_eq(aml_name_string(&a, "TOOLONG"), -1);
	cr_assert_eq(aml_name_string(&a, "a___"), -1);
	cr_assert_eq(aml_name_string(&a, ""), -1);
	cr_assert_eq(a.len, 0);
}

Test(aml, never_writes_past_the_buffer)
{
	/*
	 * Exact-size heap buffers: ASan reports any write past them. The whole
	 * thing takes 29 bytes: 10 00 + \_SB_ + 5b 82 00 + V000 + 15 of _HID.
	 */
	for (size_t cap = 0; cap < 40; cap++) {
		uint8_t *buf = malloc(cap ? cap : 1);
		struct aml a;
		size_t scope, dev;

		aml_init(&a, buf, cap);
		scope = aml_scope_begin(&a, "\\_SB_");
		dev = aml_device_begin(&a, "V000");
		aml_name(&a, "_HID");
		aml_string(&a, "LNRO0005");
		aml_end(&a, dev);
		aml_end(&a, scope);
		cr_assert(a.len <= cap);
		cr_assert_eq(a.overflow, cap < 29, "cap %zu: len %zu", cap, a.len);
		free(buf);
	}
}
