// SPDX-License-Identifier: MIT
/*
 * Writes the fuzz targets' seed corpora: valid inputs in each target's
 * format, so fuzzing starts from requests a real driver sends rather than
 * from nothing. make fuzz-corpus runs it into tests/fuzz/corpus/.
 *
 *   corpus_gen DIR
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/vsock/packet.h"
#include "devices/virtio/vsock/vsock.h"
#include "lib/proto/bridge_proto.h"
#include "lib/proto/exec_msg.h"
#include "lib/proto/frame.h"
#include "lib/util.h"

#define MAX_SEED (64 * 1024)

struct seed {
	uint8_t b[MAX_SEED];
	size_t len;
};

static const char *out_dir;

static void u8(struct seed *s, uint8_t v)
{
	if (s->len == MAX_SEED)
		abort();
	s->b[s->len++] = v;
}

static void u16(struct seed *s, uint16_t v)
{
	u8(s, (uint8_t)v);
	u8(s, (uint8_t)(v >> 8));
}

static void u32(struct seed *s, uint32_t v)
{
	u16(s, (uint16_t)v);
	u16(s, (uint16_t)(v >> 16));
}

static void bytes(struct seed *s, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		u8(s, ((const uint8_t *)p)[i]);
}

static void save(const char *target, const char *name, const struct seed *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- the driver programs of tests/fuzz/fuzz_virtio.h ---- */

enum { OP_CHAIN, OP_KICK, OP_RUN, OP_RECLAIM, OP_POKE, OP_RESET, OP_HOST,
       OP_CONFIG };

#define RD 0
#define WR 1

static void start(struct seed *s, uint32_t features, uint8_t qsize_exp)
{
	s->len = 0;
	u32(s, features);
	u8(s, qsize_exp);
}

/* A chain of @n buffers: (flags, length, data for readable ones). */
static void chain(struct seed *s, uint8_t q, unsigned int n, ...)
{
	va_list ap;

	u8(s, OP_CHAIN);
	u8(s, q);
	u8(s, (uint8_t)(n - 1));
	va_start(ap, n);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int flags = va_arg(ap, unsigned int);
		unsigned int len = va_arg(ap, unsigned int);
		const void *data = va_arg(ap, const void *);

		u8(s, (uint8_t)flags);
		u16(s, (uint16_t)len);
		if (!(flags & WR))
			bytes(s, data, len);
	}
	va_end(ap);
}

static void kick_run(struct seed *s, uint8_t q)
{
	u8(s, OP_KICK);
	u8(s, q);
	u8(s, OP_RUN);
	u8(s, OP_RECLAIM);
}

/* HOST ops: the action, then (console, vsock) the client slot. */
static void host(struct seed *s, uint8_t action, uint8_t slot)
{
	u8(s, OP_HOST);
	u8(s, action);
	u8(s, slot);
}

static void host_action(struct seed *s, uint8_t action)
{
	u8(s, OP_HOST);
	u8(s, action);
}

static void blk_request(struct seed *s, uint32_t type, uint64_t sector,
			unsigned int len, const void *data)
{
	uint8_t hdr[16] = { 0 };

	put_le32(hdr, type);
	put_le64(hdr + 8, sector);
	if (type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	    type == VIRTIO_BLK_T_WRITE_ZEROES)
		chain(s, 0, 3, RD, 16u, hdr, RD, len, data, WR, 1u, NULL);
	else if (len)
		chain(s, 0, 3, RD, 16u, hdr, WR, len, NULL, WR, 1u, NULL);
	else
		chain(s, 0, 2, RD, 16u, hdr, WR, 1u, NULL);
	kick_run(s, 0);
}

static void gen_blk(void)
{
	static uint8_t data[4096];
	uint8_t range[16] = { 0 };
	struct seed s;

	memset(data, 0x5a, sizeof(data));
	put_le64(range, 8);
	put_le32(range + 8, 8);
	start(&s, ~0u, 4);
	blk_request(&s, VIRTIO_BLK_T_OUT, 0, 4096, data);
	blk_request(&s, VIRTIO_BLK_T_IN, 0, 4096, NULL);
	blk_request(&s, VIRTIO_BLK_T_FLUSH, 0, 0, NULL);
	blk_request(&s, VIRTIO_BLK_T_GET_ID, 0, 20, NULL);
	save("blk", "read_write_flush_id", &s);
	start(&s, ~0u, 3);
	blk_request(&s, VIRTIO_BLK_T_DISCARD, 0, 16, range);
	blk_request(&s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, range);
	save("blk", "discard_write_zeroes", &s);
	/* Without FLUSH: write-through, ranges synced. */
	start(&s, ~(1u << VIRTIO_BLK_F_FLUSH), 3);
	blk_request(&s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, range);
	blk_request(&s, VIRTIO_BLK_T_OUT, 2, 512, data);
	save("blk", "write_through", &s);
}

static void gen_console(void)
{
	struct seed s;

	start(&s, ~0u, 3);
	chain(&s, 1, 2, RD, 6u, "hello ", RD, 6u, "world\n");
	kick_run(&s, 1);
	host(&s, 0, 0);
	chain(&s, 0, 1, WR, 64u, NULL);
	kick_run(&s, 0);
	host(&s, 1, 0);
	u16(&s, 4);
	bytes(&s, "ls\r\n", 4);
	u8(&s, OP_RUN);
	host(&s, 2, 0);
	u8(&s, OP_CONFIG);
	u8(&s, 8 | (2 << 6));
	u32(&s, '!');
	save("console", "output_input_emergency", &s);
}

static void vsock_packet(struct seed *s, uint16_t op, uint32_t src_port,
			 uint32_t dst_port, const void *payload, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = 3, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
		.dst_port = dst_port, .len = len, .type = VSOCK_TYPE_STREAM,
		.op = op, .buf_alloc = 65536,
	};
	uint8_t raw[VSOCK_HDR_SIZE + 64];

	vsock_hdr_encode(&h, raw);
	memcpy(raw + VSOCK_HDR_SIZE, payload, len);
	chain(s, VIRTIO_VSOCK_TXQ, 1, RD, VSOCK_HDR_SIZE + len, raw);
	kick_run(s, VIRTIO_VSOCK_TXQ);
}

static void vsock_rx_buffers(struct seed *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		chain(s, VIRTIO_VSOCK_RXQ, 1, WR, VSOCK_HDR_SIZE + 4096, NULL);
	kick_run(s, VIRTIO_VSOCK_RXQ);
}

static void gen_vsock(void)
{
	struct seed s;

	/* The guest connects to a host listener and talks. */
	start(&s, ~0u, 5);
	vsock_rx_buffers(&s, 8);
	host(&s, 4, 0);
	vsock_packet(&s, VSOCK_OP_REQUEST, 5000, 1000, NULL, 0);
	vsock_packet(&s, VSOCK_OP_RW, 5000, 1000, "ping", 4);
	host(&s, 1, 7);
	u16(&s, 4);
	bytes(&s, "pong", 4);
	vsock_rx_buffers(&s, 4);
	vsock_packet(&s, VSOCK_OP_SHUTDOWN, 5000, 1000, NULL, 0);
	vsock_packet(&s, VSOCK_OP_RST, 5000, 1000, NULL, 0);
	save("vsock", "guest_connects", &s);
	/* The host connects through the Unix socket; the guest accepts. */
	start(&s, ~0u, 5);
	vsock_rx_buffers(&s, 8);
	host(&s, 0, 0);
	u16(&s, 52);
	vsock_packet(&s, VSOCK_OP_RESPONSE, 52, 1U << 30, NULL, 0);
	host(&s, 1, 0);
	u16(&s, 5);
	bytes(&s, "hello", 5);
	vsock_rx_buffers(&s, 4);
	vsock_packet(&s, VSOCK_OP_CREDIT_REQUEST, 52, 1U << 30, NULL, 0);
	host(&s, 3, 0);
	vsock_rx_buffers(&s, 4);
	host(&s, 5, 0);
	save("vsock", "host_connects", &s);
	/* Header-only receive buffers while data waits. */
	start(&s, ~0u, 4);
	for (int i = 0; i < 4; i++)
		chain(&s, VIRTIO_VSOCK_RXQ, 1, WR, VSOCK_HDR_SIZE, NULL);
	kick_run(&s, VIRTIO_VSOCK_RXQ);
	host(&s, 0, 0);
	u16(&s, 52);
	vsock_packet(&s, VSOCK_OP_RESPONSE, 52, 1U << 30, NULL, 0);
	host(&s, 1, 0);
	u16(&s, 3);
	bytes(&s, "abc", 3);
	u8(&s, OP_RUN);
	save("vsock", "header_only_buffers", &s);
}

static void gen_balloon(void)
{
	uint8_t pfns[16], stats[20] = { 0 };
	struct seed s;

	for (int i = 0; i < 4; i++)
		put_le32(pfns + 4 * i, 0x100 + (uint32_t)i);
	put_le16(stats, 4);
	put_le64(stats + 2, 1 << 20);
	put_le16(stats + 10, 5);
	put_le64(stats + 12, 1 << 22);
	start(&s, ~0u, 4);
	host_action(&s, 0);
	u32(&s, 512);
	chain(&s, 0, 1, RD, 16u, pfns);
	kick_run(&s, 0);
	chain(&s, 1, 1, RD, 16u, pfns);
	kick_run(&s, 1);
	chain(&s, 2, 1, RD, 20u, stats);
	kick_run(&s, 2);
	host_action(&s, 1);
	chain(&s, 2, 1, RD, 20u, stats);
	kick_run(&s, 2);
	chain(&s, 3, 2, WR, 4096u, NULL, WR, 8192u, NULL);
	kick_run(&s, 3);
	save("balloon", "inflate_deflate_stats_report", &s);
}

static void gen_net(void)
{
	uint8_t frame[12 + 60] = { 0 };
	struct seed s;

	memset(frame + 12, 0xff, 6);
	memcpy(frame + 18, "\x52\x54\x00\x12\x34\x56", 6);
	frame[30] = 0x88;
	frame[31] = 0xb5;
	start(&s, ~0u, 4);
	chain(&s, 1, 2, RD, 12u, frame, RD, 60u, frame + 12);
	kick_run(&s, 1);
	host_action(&s, 1);
	for (int i = 0; i < 4; i++)
		chain(&s, 0, 1, WR, 1526u, NULL);
	kick_run(&s, 0);
	host_action(&s, 0);
	u16(&s, 60);
	bytes(&s, frame + 12, 60);
	u8(&s, OP_RUN);
	u8(&s, OP_RECLAIM);
	save("net", "transmit_receive", &s);
}

/* ---- the virtqueue walker: header, then guest memory ---- */

static void desc(uint8_t *mem, uint64_t table, unsigned int i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = mem + table + 16 * i;

	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

static void gen_virtqueue(void)
{
	static uint8_t mem[0x6000];
	struct seed s = { .len = 0 };

	memset(mem, 0, sizeof(mem));
	/* Queue of 8 at 0x1000/0x2000/0x3000; three chains, one indirect. */
	desc(mem, 0x1000, 0, 0x4000, 16, 1, 1);
	desc(mem, 0x1000, 1, 0x4100, 512, 2 | 1, 2);
	desc(mem, 0x1000, 2, 0x4400, 1, 2, 0);
	desc(mem, 0x1000, 3, 0x5000, 48, 4, 0);
	desc(mem, 0x5000, 0, 0x4500, 64, 1, 1);
	desc(mem, 0x5000, 1, 0x4600, 64, 2 | 1, 2);
	desc(mem, 0x5000, 2, 0x4700, 64, 2, 0);
	desc(mem, 0x1000, 4, 0x4800, 128, 0, 0);
	put_le16(mem + 0x2002, 3);
	put_le16(mem + 0x2004, 0);
	put_le16(mem + 0x2006, 3);
	put_le16(mem + 0x2008, 4);
	u8(&s, 3);
	u8(&s, 3);
	u32(&s, 0x1000);
	u32(&s, 0x2000);
	u32(&s, 0x3000);
	bytes(&s, mem, sizeof(mem));
	save("virtqueue", "three_chains", &s);
}

/* ---- virtio-mmio register sequences and port I/O ---- */

static void reg(struct seed *s, uint8_t kind, uint16_t off, uint32_t v)
{
	u8(s, kind);
	u16(s, off);
	u32(s, v);
}

static void gen_mmio(void)
{
	struct seed s = { .len = 0 };

	reg(&s, 0x82, 0x000, 0);
	reg(&s, 2, 0x070, 1);
	reg(&s, 2, 0x070, 3);
	reg(&s, 2, 0x014, 1);
	reg(&s, 0x82, 0x010, 0);
	reg(&s, 2, 0x024, 1);
	reg(&s, 2, 0x020, 1);
	reg(&s, 2, 0x070, 11);
	for (uint32_t q = 0; q < 2; q++) {
		reg(&s, 2, 0x030, q);
		reg(&s, 2, 0x038, 8);
		reg(&s, 2, 0x080, 0x10000 + q * 0x1000);
		reg(&s, 2, 0x090, 0x10400 + q * 0x1000);
		reg(&s, 2, 0x0a0, 0x10800 + q * 0x1000);
		reg(&s, 2, 0x044, 1);
	}
	reg(&s, 2, 0x070, 15);
	reg(&s, 2, 0x050, 1);
	reg(&s, 0x7f, 0, 0);
	reg(&s, 0x82, 0x060, 0);
	reg(&s, 2, 0x064, 1);
	reg(&s, 2, 0x070, 0);
	save("mmio", "console_set_up_and_reset", &s);
}

static void port(struct seed *s, uint8_t kind, uint8_t sel, uint32_t v)
{
	u8(s, kind);
	u8(s, sel);
	u32(s, v);
}

static void gen_ports(void)
{
	struct seed s = { .len = 0 };

	/* The UART as Linux's 8250 driver probes and sets it up. */
	port(&s, 0, 0 + 8 * 3, 0x80);
	port(&s, 0, 0, 0x01);
	port(&s, 0, 0 + 8 * 1, 0x00);
	port(&s, 0, 0 + 8 * 3, 0x03);
	port(&s, 0, 0 + 8 * 2, 0xc7);
	port(&s, 0, 0 + 8 * 4, 0x0b);
	port(&s, 0, 0 + 8 * 1, 0x0f);
	port(&s, 0, 0, 'A');
	port(&s, 0x80, 0 + 8 * 5, 0);
	port(&s, 0x80, 0 + 8 * 2, 0);
	u8(&s, 0x7e);
	u8(&s, 0);
	u32(&s, 3);
	bytes(&s, "hi\n", 3);
	port(&s, 0x80, 0, 0);
	/* i8042: read the configuration byte; ACPI: read the sleep status. */
	port(&s, 0, 2, 0x20);
	port(&s, 0x80, 1, 0);
	port(&s, 0x80, 4, 0);
	port(&s, 0x7f, 0, 0);
	save("ports", "uart_i8042_acpi", &s);
}

/* ---- firmware: as ports, plus guest memory (0x3f) and flash (0x40) ---- */

static void gen_firmware(void)
{
	/* fw_cfg selector, data, DMA high and low; CMOS; PCI; PM timer. */
	enum { SEL, DATA, DMA_HI, DMA_LO, CMOS_IDX, CMOS_DATA, CF8, CFC, PMTMR };
	const uint32_t lpc = 0x80000000u | 31u << 11;
	struct seed s = { .len = 0 };
	uint8_t acc[16];

	/* The signature, then the file directory's count, byte by byte. */
	port(&s, 1, SEL, 0x0000);
	for (int i = 0; i < 4; i++)
		port(&s, 0x80, DATA, 0);
	port(&s, 1, SEL, 0x0019);
	for (int i = 0; i < 4; i++)
		port(&s, 0x80, DATA, 0);
	/* A DMA read of the first file, as QemuFwCfgLib makes it. */
	put_le32(acc, __builtin_bswap32(0x00200000u | 0x08 | 0x02));
	put_le32(acc + 4, __builtin_bswap32(64));
	put_le64(acc + 8, __builtin_bswap64(0x2000));
	port(&s, 0x3f, 0, 0x1000);
	bytes(&s, acc, sizeof(acc));
	port(&s, 2, DMA_HI, 0);
	port(&s, 2, DMA_LO, __builtin_bswap32(0x1000));
	/* The RTC: register B, then the year set and read back. */
	port(&s, 0, CMOS_IDX, 0x0b);
	port(&s, 0x80, CMOS_DATA, 0);
	port(&s, 0, CMOS_IDX, 0x09);
	port(&s, 0, CMOS_DATA, 0x42);
	port(&s, 0x80, CMOS_DATA, 0);
	/* PMBASE and ACPI_EN as PlatformPei sets them, then the timer. */
	port(&s, 2, CF8, lpc | 0x40);
	port(&s, 2, CFC, 0x601);
	port(&s, 2, CF8, lpc | 0x44);
	port(&s, 0, CFC, 0x80);
	port(&s, 0x82, PMTMR, 0);
	/* Flash: detect, program a byte, read it, erase its block. */
	port(&s, 0x40, 0x50, 0);
	port(&s, 0x40, 0x70, 0);
	port(&s, 0xc0, 0, 0);
	port(&s, 0x40, 0x10, 0x10);
	port(&s, 0x40, 0xab, 0x10);
	port(&s, 0x40, 0xff, 0);
	port(&s, 0xc0, 0, 0x10);
	port(&s, 0x40, 0x20, 0x1000);
	port(&s, 0x40, 0xd0, 0x1000);
	port(&s, 0xc0, 0, 0x1000);
	save("firmware", "fw_cfg_rtc_lpc_flash", &s);
}

/* ---- kernels for the loaders: u8 flags, u32 kernel length, kernel ---- */

static void boot_seed(const char *name, uint8_t flags, const uint8_t *k,
		      size_t klen, const void *initrd, size_t ilen)
{
	struct seed s = { .len = 0 };

	u8(&s, flags);
	u32(&s, (uint32_t)klen);
	bytes(&s, k, klen);
	bytes(&s, initrd, ilen);
	save("boot", name, &s);
}

static void gen_bzimage(void)
{
	static uint8_t img[2 * 512 + 1024];

	memset(img, 0x90, sizeof(img));
	memset(img, 0, 0x300);
	img[0x1f1] = 1;                       /* setup_sects */
	put_le32(img + 0x1f4, 1024 / 16);     /* syssize */
	put_le16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;                    /* jmp over the header */
	img[0x201] = 0x6a;
	memcpy(img + 0x202, "HdrS", 4);
	put_le16(img + 0x206, 0x020f);        /* protocol 2.15 */
	img[0x211] = 0x01;                    /* LOADED_HIGH */
	put_le32(img + 0x22c, 0x7fffffff);    /* initrd_addr_max */
	put_le32(img + 0x230, 0x200000);      /* kernel_alignment */
	img[0x234] = 1;                       /* relocatable */
	put_le16(img + 0x236, 0x0001);        /* XLF_KERNEL_64 */
	put_le32(img + 0x238, 255);           /* cmdline_size */
	put_le64(img + 0x258, 0x1000000);     /* pref_address */
	put_le32(img + 0x260, 0x10000);       /* init_size */
	boot_seed("bzimage", 0, img, sizeof(img), NULL, 0);
	boot_seed("bzimage_initrd_large", 1 | 2 | 8, img, sizeof(img),
		  "initrd!", 7);
}

static void gen_elf(void)
{
	static uint8_t img[0x1000];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + 0x200);

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x200000;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x400,
			      .p_vaddr = 0x200000, .p_paddr = 0x200000,
			      .p_filesz = 0x400, .p_memsz = 0x2000,
			      .p_flags = PF_R | PF_X, .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x200,
			      .p_filesz = sizeof(*nh) + 4 + 4 };
	/* XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry. */
	nh->n_namesz = 4;
	nh->n_descsz = 4;
	nh->n_type = 18;
	memcpy(img + 0x200 + sizeof(*nh), "Xen", 4);
	put_le32(img + 0x200 + sizeof(*nh) + 4, 0x200010);
	boot_seed("elf_pvh", 0, img, sizeof(img), NULL, 0);
	boot_seed("elf_pvh_initrd", 2 | 4, img, sizeof(img), "initrd", 6);
}

/* ---- the guest agent's protocols ---- */

/* One exec-protocol frame. */
static void frame(struct seed *s, uint8_t type, const void *p, size_t len)
{
	uint8_t hdr[FRAME_HDR_SIZE];

	frame_put_hdr(hdr, type, (uint32_t)len);
	bytes(s, hdr, sizeof(hdr));
	bytes(s, p, len);
}

/*
 * A frame whose payload is @json, malloc()ed JSON of *@len bytes (read
 * here, after the encoder that sets it ran), freed here.
 */
static void json_frame(struct seed *s, uint8_t type, char *json,
		       const size_t *len)
{
	if (!json)
		abort();
	frame(s, type, json, *len);
	free(json);
}

/*
 * fuzz_exec_frame: the first byte sets the size of the pieces the frames
 * are fed in, then frames as vmmctl and the agent send them.
 */
static void gen_exec_frame(void)
{
	char *args[] = { "sh", "-c", "cat; echo done", NULL };
	char *env[] = { "TERM=xterm", "LANG=C.UTF-8", NULL };
	struct exec_request req = {
		.command = "/bin/sh", .args = args, .nargs = 3,
		.working_dir = "/tmp", .env = env, .nenv = 2,
		.user = "root", .rows = 24, .cols = 80,
	};
	struct exec_result res = { .exit_code = 0, .out = (uint8_t *)"done\n",
				   .out_len = 5 };
	struct file_request wr = { .path = "/tmp/f", .content = (uint8_t *)"hi",
				   .content_len = 2, .mode = 0600,
				   .has_mode = true };
	struct port_forward_request fwd = { .host = "", .port = 8080 };
	struct seed s = { .len = 0 };
	uint8_t resize[4] = { 0, 50, 0, 132 };
	size_t len;

	u8(&s, 6);
	json_frame(&s, FRAME_EXEC_STREAM,
		   exec_request_encode(&req, false, &len), &len);
	frame(&s, FRAME_STDIN, "input\n", 6);
	frame(&s, FRAME_STDIN, NULL, 0);
	frame(&s, FRAME_STDOUT, "done\n", 5);
	frame(&s, FRAME_EXIT, "\0\0\0\0", 4);
	save("exec_frame", "exec_stream", &s);

	s.len = 0;
	u8(&s, 63);
	json_frame(&s, FRAME_EXEC_TTY, exec_request_encode(&req, true, &len),
		   &len);
	frame(&s, FRAME_RESIZE, resize, sizeof(resize));
	frame(&s, FRAME_SIGNAL, "\x02", 1);
	save("exec_frame", "exec_tty_resize_signal", &s);

	s.len = 0;
	u8(&s, 0);
	req.stdin_data = (uint8_t *)"buffered stdin";
	req.stdin_len = 14;
	json_frame(&s, FRAME_EXEC, exec_request_encode(&req, false, &len),
		   &len);
	json_frame(&s, FRAME_EXEC_RESULT, exec_result_encode(&res, &len), &len);
	save("exec_frame", "exec_buffered", &s);

	s.len = 0;
	u8(&s, 31);
	json_frame(&s, FRAME_WRITE_FILE,
		   file_request_encode(&wr, FRAME_WRITE_FILE, &len), &len);
	json_frame(&s, FRAME_READ_FILE,
		   file_request_encode(&wr, FRAME_READ_FILE, &len), &len);
	json_frame(&s, FRAME_PORT_FORWARD, port_forward_encode(&fwd, &len),
		   &len);
	save("exec_frame", "files_and_port_forward", &s);
}

static void bridge_msg(struct seed *s, uint32_t type, uint64_t id,
		       const char *body)
{
	uint8_t hdr[BRIDGE_HDR_SIZE];
	struct bridge_hdr h = {
		.type = type,
		.size = (uint32_t)(BRIDGE_HDR_SIZE + strlen(body)),
		.id = id,
	};

	bridge_hdr_encode(hdr, &h);
	bytes(s, hdr, sizeof(hdr));
	bytes(s, body, strlen(body));
}

/* fuzz_bridge: a GCS session as hcsshim's host opens it. */
static void gen_bridge(void)
{
	struct seed s = { .len = 0 };

	bridge_msg(&s, BRIDGE_NEGOTIATE_PROTOCOL, 1,
		   "{\"MinimumVersion\":4,\"MaximumVersion\":4}");
	bridge_msg(&s, BRIDGE_CREATE, 2,
		   "{\"ContainerId\":\"uvm\",\"ActivityId\":\"a-1\","
		   "\"ContainerConfig\":\"{}\"}");
	bridge_msg(&s, BRIDGE_EXECUTE_PROCESS, 3,
		   "{\"ContainerId\":\"uvm\",\"ActivityId\":\"a-1\","
		   "\"Settings\":{\"ProcessParameters\":"
		   "\"{\\\"CommandArgs\\\":[\\\"/bin/echo\\\",\\\"hi\\\"],"
		   "\\\"WorkingDirectory\\\":\\\"/\\\","
		   "\\\"Environment\\\":{\\\"PATH\\\":\\\"/bin\\\"},"
		   "\\\"CreateStdOutPipe\\\":true,\\\"CreateStdErrPipe\\\":true}\","
		   "\"VsockStdioRelaySettings\":{\"StdOut\":1025,\"StdErr\":1026}}}");
	bridge_msg(&s, BRIDGE_WAIT_FOR_PROCESS, 4,
		   "{\"ContainerId\":\"uvm\",\"ProcessId\":1,"
		   "\"TimeoutInMs\":4294967295}");
	bridge_msg(&s, BRIDGE_GET_PROPERTIES, 5,
		   "{\"ContainerId\":\"uvm\",\"Query\":"
		   "\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\",\\\"Statistics\\\"]}\"}");
	bridge_msg(&s, BRIDGE_MODIFY_SETTINGS, 6,
		   "{\"ContainerId\":\"uvm\",\"Request\":{\"RequestType\":\"Add\","
		   "\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"
		   "{\"MountPath\":\"/run/mounts/m0\",\"Lun\":1,\"ReadOnly\":true}}}");
	bridge_msg(&s, BRIDGE_SHUTDOWN_GRACEFUL, 7, "{\"ContainerId\":\"uvm\"}");
	save("bridge", "session", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: corpus_gen DIR\n");
		return 64;
	}
	out_dir = argv[1];
	gen_blk();
	gen_console();
	gen_vsock();
	gen_balloon();
	gen_net();
	gen_virtqueue();
	gen_mmio();
	gen_ports();
	gen_firmware();
	gen_bzimage();
	gen_elf();
	gen_exec_frame();
	gen_bridge();
	return 0;
}
