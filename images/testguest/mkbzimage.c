// SPDX-License-Identifier: MIT
/*
 * mkbzimage: writes testguest.bzImage, a bzImage as the Linux x86 boot
 * protocol 2.15 defines it (Documentation/arch/x86/boot.rst): a setup area
 * (boot sector and setup header, with the real-mode stub) followed by the
 * protected-mode payload, taken from the PT_LOAD segments of an ELF linked
 * at TG_BZIMAGE_LOAD.
 *
 * Usage: mkbzimage SETUP16.bin PAYLOAD.elf OUTPUT
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/testguest/image.h"
#include "lib/util.h"

#define SECTOR 512
#define MAX_INPUT (16u << 20)

/* Setup header fields, by offset in the file (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_START_SYS_SEG 0x20c
#define HDR_KERNEL_VERSION 0x20e
#define HDR_LOADFLAGS 0x211
#define HDR_SETUP_MOVE_SIZE 0x212
#define HDR_CODE32_START 0x214
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE_KERNEL 0x234
#define HDR_MIN_ALIGNMENT 0x235
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_KERNEL_INFO_OFFSET 0x268
/* End of a 2.15 header: where the jump at 0x200 must land. */
#define HDR_END 0x26c

#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC "HdrS"
#define PROTOCOL_VERSION 0x020f
#define JMP_SHORT 0xeb
#define VID_MODE_NORMAL 0xffff
#define START_SYS_SEG 0x1000
#define LOADED_HIGH 0x01
#define SETUP_MOVE_SIZE 0x8000
#define INITRD_ADDR_MAX 0x7fffffff
#define KERNEL_ALIGN_LOG2 20 /* 1 MiB: TG_BZIMAGE_LOAD is aligned to it */
#define XLF_KERNEL_64 0x0001
#define PAGE 4096

static const char kernel_version[] = "testguest (Linux boot protocol 2.15)";

struct buf {
	uint8_t *data;
	size_t len;
};

struct payload {
	struct buf image;      /* bytes from TG_BZIMAGE_LOAD on */
	uint64_t mem_size;     /* including .bss */
	uint64_t kernel_info;  /* offset into the payload */
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("mkbzimage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static struct buf slurp(const char *path)
{
	struct buf b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		die("%s: cannot find its size", path);
	if ((unsigned long)size > MAX_INPUT)
		die("%s: %ld bytes, more than %u", path, size, MAX_INPUT);
	b.len = (size_t)size;
	b.data = malloc(b.len ? b.len : 1);
	if (!b.data)
		die("out of memory");
	if (fread(b.data, 1, b.len, f) != b.len)
		die("%s: short read", path);
	fclose(f);
	return b;
}

static const Elf64_Ehdr *elf_header(const struct buf *elf, const char *path)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf->data;

	if (elf->len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC)
		die("%s: not an x86-64 ELF executable", path);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff % 8 ||
	    !range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
		      elf->len))
		die("%s: program headers lie outside the file", path);
	if (eh->e_shnum && (eh->e_shentsize != sizeof(Elf64_Shdr) ||
			    eh->e_shoff % 8 ||
			    !range_ok(eh->e_shoff,
				      (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr),
				      elf->len)))
		die("%s: section headers lie outside the file", path);
	return eh;
}

/* Lays the PT_LOAD segments out from TG_BZIMAGE_LOAD, as a loader will. */
static void load_segments(const struct buf *elf, const char *path,
			  struct payload *p)
{
	const Elf64_Ehdr *eh = elf_header(elf, path);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf->data + eh->e_phoff);
	uint64_t lowest = UINT64_MAX, file_end = 0;
	unsigned int i;

	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (ph[i].p_paddr < TG_BZIMAGE_LOAD ||
		    ph[i].p_memsz > MAX_INPUT ||
		    ph[i].p_paddr - TG_BZIMAGE_LOAD > MAX_INPUT ||
		    ph[i].p_filesz > ph[i].p_memsz ||
		    !range_ok(ph[i].p_offset, ph[i].p_filesz, elf->len))
			die("%s: segment %u (paddr 0x%llx) is not a payload segment at 0x%x",
			    path, i, (unsigned long long)ph[i].p_paddr,
			    TG_BZIMAGE_LOAD);
		if (ph[i].p_paddr < lowest)
			lowest = ph[i].p_paddr;
		file_end = MAX(file_end, ph[i].p_paddr + ph[i].p_filesz -
						 TG_BZIMAGE_LOAD);
		p->mem_size = MAX(p->mem_size, ph[i].p_paddr + ph[i].p_memsz -
						       TG_BZIMAGE_LOAD);
	}
	if (lowest != TG_BZIMAGE_LOAD)
		die("%s: the payload must start at 0x%x", path, TG_BZIMAGE_LOAD);
	if (eh->e_entry != TG_BZIMAGE_LOAD + TG_ENTRY64_OFFSET)
		die("%s: entry 0x%llx is not the 64-bit entry at 0x%x", path,
		    (unsigned long long)eh->e_entry,
		    TG_BZIMAGE_LOAD + TG_ENTRY64_OFFSET);

	p->image.len = ALIGN_UP(file_end, 16);
	p->image.data = calloc(1, p->image.len);
	if (!p->image.data)
		die("out of memory");
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_filesz)
			memcpy(p->image.data + ph[i].p_paddr - TG_BZIMAGE_LOAD,
			       elf->data + ph[i].p_offset, ph[i].p_filesz);
}

/* The link address of @name in the ELF's symbol table. */
static uint64_t find_symbol(const struct buf *elf, const char *path,
			    const char *name)
{
	const Elf64_Ehdr *eh = elf_header(elf, path);
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf->data + eh->e_shoff);
	unsigned int i, j;

	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strtab;
		const Elf64_Sym *sym;

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		if (sh[i].sh_link >= eh->e_shnum ||
		    sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    sh[i].sh_offset % 8 ||
		    !range_ok(sh[i].sh_offset, sh[i].sh_size, elf->len))
			die("%s: malformed symbol table", path);
		strtab = &sh[sh[i].sh_link];
		if (!range_ok(strtab->sh_offset, strtab->sh_size, elf->len))
			die("%s: malformed string table", path);
		sym = (const Elf64_Sym *)(elf->data + sh[i].sh_offset);
		for (j = 0; j < sh[i].sh_size / sizeof(*sym); j++) {
			const char *s = (const char *)elf->data +
					strtab->sh_offset + sym[j].st_name;

			if (sym[j].st_name < strtab->sh_size &&
			    strnlen(s, strtab->sh_size - sym[j].st_name) ==
				    strlen(name) &&
			    !memcmp(s, name, strlen(name)))
				return sym[j].st_value;
		}
	}
	die("%s: no symbol %s", path, name);
}

/*
 * The setup area: boot sector and header in the first sector, then the
 * real-mode stub right after the header and the version string after it.
 */
static struct buf build_setup(const struct buf *stub, const struct payload *p)
{
	size_t stub_end = HDR_END + stub->len;
	size_t used = stub_end + sizeof(kernel_version);
	size_t sects = (used + SECTOR - 1) / SECTOR - 1;
	struct buf s;
	uint8_t *h;

	if (stub->len > HDR_START)
		die("real-mode stub of %zu bytes does not fit the boot sector",
		    stub->len);
	if (sects > 0xff)
		die("setup area too large");
	s.len = (sects + 1) * SECTOR;
	s.data = calloc(1, s.len);
	if (!s.data)
		die("out of memory");
	h = s.data;
	memcpy(h, stub->data, stub->len);
	memcpy(h + HDR_END, stub->data, stub->len);
	memcpy(h + stub_end, kernel_version, sizeof(kernel_version));

	/* Fields not set here are 0: they belong to the boot loader. */
	h[HDR_SETUP_SECTS] = (uint8_t)sects;
	put_le32(h + HDR_SYSSIZE, (uint32_t)(p->image.len / 16));
	put_le16(h + HDR_VID_MODE, VID_MODE_NORMAL);
	put_le16(h + HDR_BOOT_FLAG, BOOT_FLAG);
	h[HDR_JUMP] = JMP_SHORT;
	h[HDR_JUMP + 1] = HDR_END - (HDR_JUMP + 2);
	memcpy(h + HDR_MAGIC, HDRS_MAGIC, 4);
	put_le16(h + HDR_VERSION, PROTOCOL_VERSION);
	put_le16(h + HDR_START_SYS_SEG, START_SYS_SEG);
	put_le16(h + HDR_KERNEL_VERSION, (uint16_t)(stub_end - 0x200));
	h[HDR_LOADFLAGS] = LOADED_HIGH;
	put_le16(h + HDR_SETUP_MOVE_SIZE, SETUP_MOVE_SIZE);
	put_le32(h + HDR_CODE32_START, TG_BZIMAGE_LOAD);
	put_le32(h + HDR_INITRD_ADDR_MAX, INITRD_ADDR_MAX);
	put_le32(h + HDR_KERNEL_ALIGNMENT, 1u << KERNEL_ALIGN_LOG2);
	h[HDR_RELOCATABLE_KERNEL] = 0;
	h[HDR_MIN_ALIGNMENT] = KERNEL_ALIGN_LOG2;
	put_le16(h + HDR_XLOADFLAGS, XLF_KERNEL_64);
	put_le32(h + HDR_CMDLINE_SIZE, TG_CMDLINE_MAX);
	put_le64(h + HDR_PREF_ADDRESS, TG_BZIMAGE_LOAD);
	put_le32(h + HDR_INIT_SIZE, (uint32_t)ALIGN_UP(p->mem_size, PAGE));
	put_le32(h + HDR_KERNEL_INFO_OFFSET, (uint32_t)p->kernel_info);
	return s;
}

int main(int argc, char **argv)
{
	struct buf stub, elf, setup;
	struct payload p = { { NULL, 0 }, 0, 0 };
	uint64_t ki;
	FILE *out;

	if (argc != 4)
		die("usage: mkbzimage SETUP16.bin PAYLOAD.elf OUTPUT");
	stub = slurp(argv[1]);
	elf = slurp(argv[2]);
	load_segments(&elf, argv[2], &p);

	ki = find_symbol(&elf, argv[2], "kernel_info");
	if (ki < TG_BZIMAGE_LOAD || !range_ok(ki - TG_BZIMAGE_LOAD, 16,
					      p.image.len) ||
	    memcmp(p.image.data + ki - TG_BZIMAGE_LOAD, "LToP", 4))
		die("%s: kernel_info at 0x%llx is not in the payload", argv[2],
		    (unsigned long long)ki);
	p.kernel_info = ki - TG_BZIMAGE_LOAD;

	setup = build_setup(&stub, &p);
	out = fopen(argv[3], "wb");
	if (!out)
		die("%s: %s", argv[3], strerror(errno));
	if (fwrite(setup.data, 1, setup.len, out) != setup.len ||
	    fwrite(p.image.data, 1, p.image.len, out) != p.image.len ||
	    fclose(out)) {
		unlink(argv[3]);
		die("%s: write failed", argv[3]);
	}
	free(stub.data);
	free(elf.data);
	free(setup.data);
	free(p.image.data);
	return 0;
}
