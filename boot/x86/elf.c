// SPDX-License-Identifier: MIT
#include "elf.h"

#include <elf.h>
#include <string.h>

#include "boot/x86/zeropage.h"
#include "vmm/arch/x86/layout.h"

/* A vmlinux has fewer than ten program headers. */
#define ELF_MAX_PHNUM 64

bool elf_detect(const uint8_t *img, size_t len)
{
	return len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

static int check_ident(const Elf64_Ehdr *eh, struct err *e)
{
	const unsigned char *id = eh->e_ident;

	if (id[EI_CLASS] == ELFCLASS32)
		return err_set(e, "32-bit ELF (ELFCLASS32): only 64-bit x86-64 kernels are supported");
	if (id[EI_CLASS] != ELFCLASS64)
		return err_set(e, "invalid ELF class %u", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return err_set(e, "ELF data encoding %u is not little-endian", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return err_set(e, "ELF identification version %u is not %u",
			       id[EI_VERSION], EV_CURRENT);
	if (id[EI_OSABI] != ELFOSABI_SYSV && id[EI_OSABI] != ELFOSABI_LINUX)
		return err_set(e, "ELF OS ABI %u is neither System V nor Linux",
			       id[EI_OSABI]);
	if (id[EI_ABIVERSION] != 0)
		return err_set(e, "ELF ABI version %u is not 0", id[EI_ABIVERSION]);
	return 0;
}

static int check_ehdr(const Elf64_Ehdr *eh, size_t len, struct err *e)
{
	if (check_ident(eh, e) < 0)
		return -1;
	if (eh->e_type != ET_EXEC)
		return err_set(e, "ELF type %u is not an executable (ET_EXEC)", eh->e_type);
	if (eh->e_machine != EM_X86_64)
		return err_set(e, "ELF machine %u is not x86-64 (%u)", eh->e_machine,
			       EM_X86_64);
	if (eh->e_version != EV_CURRENT)
		return err_set(e, "ELF version %u is not %u", eh->e_version, EV_CURRENT);
	if (eh->e_flags != 0)
		return err_set(e, "ELF flags 0x%x set: x86-64 defines none", eh->e_flags);
	if (eh->e_ehsize != sizeof(Elf64_Ehdr))
		return err_set(e, "ELF header size %u is not %zu", eh->e_ehsize,
			       sizeof(Elf64_Ehdr));
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return err_set(e, "program header entry size %u is not %zu",
			       eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return err_set(e, "ELF file has no program headers");
	if (eh->e_phnum > ELF_MAX_PHNUM)
		return err_set(e, "ELF file has %u program headers, more than the %u a kernel can have",
			       eh->e_phnum, ELF_MAX_PHNUM);
	if (!range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return err_set(e, "program header table (offset 0x%llx, %u entries) lies outside the file (%zu bytes)",
			       (unsigned long long)eh->e_phoff, eh->e_phnum, len);
	if (eh->e_shnum == 0)
		return 0;
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return err_set(e, "section header entry size %u is not %zu",
			       eh->e_shentsize, sizeof(Elf64_Shdr));
	if (!range_ok(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len))
		return err_set(e, "section header table (offset 0x%llx, %u entries) lies outside the file (%zu bytes)",
			       (unsigned long long)eh->e_shoff, eh->e_shnum, len);
	if (eh->e_shstrndx != SHN_UNDEF && eh->e_shstrndx >= eh->e_shnum)
		return err_set(e, "section name table index %u is not below the section count %u",
			       eh->e_shstrndx, eh->e_shnum);
	return 0;
}

static int check_load(const Elf64_Phdr *ph, unsigned int i, size_t len,
		      uint64_t ram_end, struct err *e)
{
	if (ph->p_filesz > ph->p_memsz)
		return err_set(e, "segment %u: p_filesz 0x%llx is larger than p_memsz 0x%llx",
			       i, (unsigned long long)ph->p_filesz,
			       (unsigned long long)ph->p_memsz);
	if (!range_ok(ph->p_offset, ph->p_filesz, len))
		return err_set(e, "segment %u: file data (offset 0x%llx, 0x%llx bytes) extends beyond the end of the file (%zu bytes)",
			       i, (unsigned long long)ph->p_offset,
			       (unsigned long long)ph->p_filesz, len);
	if (ph->p_paddr < LAYOUT_HIGH_RAM)
		return err_set(e, "segment %u: load address 0x%llx is below 1 MiB, where the VMM keeps the boot tables",
			       i, (unsigned long long)ph->p_paddr);
	if (!range_ok(ph->p_paddr, ph->p_memsz, ram_end))
		return err_set(e, "segment %u: 0x%llx bytes at 0x%llx do not fit in guest RAM below 0x%llx",
			       i, (unsigned long long)ph->p_memsz,
			       (unsigned long long)ph->p_paddr,
			       (unsigned long long)ram_end);
	return 0;
}

static int add_segment(struct kernel_image *k, const uint8_t *img,
		       const Elf64_Phdr *ph, struct err *e)
{
	if (k->nr_segments == KERNEL_MAX_SEGMENTS)
		return err_set(e, "more than %u PT_LOAD segments", KERNEL_MAX_SEGMENTS);
	k->seg[k->nr_segments++] = (struct kernel_segment){
		.data = img + ph->p_offset,
		.filesz = ph->p_filesz,
		.gpa = ph->p_paddr,
		.memsz = ph->p_memsz,
	};
	if (k->nr_segments == 1 || ph->p_paddr < k->start)
		k->start = ph->p_paddr;
	k->end = MAX(k->end, ph->p_paddr + ph->p_memsz);
	return 0;
}

/*
 * Walks the notes in @p[0..size) for the PVH entry. Notes are name and
 * descriptor, each padded to @align. A malformed note ends the walk (the
 * kernel does not read these notes), except a truncated PVH note itself.
 */
static int scan_notes(const uint8_t *p, uint64_t size, uint64_t align,
		      uint64_t *entry, struct err *e)
{
	uint64_t off = 0;

	while (size - off >= 12) {
		uint32_t namesz = get_le32(p + off);
		uint32_t descsz = get_le32(p + off + 4);
		uint32_t type = get_le32(p + off + 8);
		uint64_t name = off + 12;
		uint64_t desc = ALIGN_UP(name + namesz, align);
		bool pvh;

		if (name + namesz > size)
			return 0;
		pvh = type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		      memcmp(p + name, "Xen", 4) == 0;
		if (desc > size || descsz > size - desc) {
			if (pvh)
				return err_set(e, "PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) is truncated: its %u-byte descriptor runs past the end of the note data",
					       descsz);
			return 0;
		}
		if (pvh) {
			uint64_t v;

			if (descsz != 4 && descsz != 8)
				return err_set(e, "PVH entry note descriptor is %u bytes, expected 4 or 8",
					       descsz);
			v = descsz == 4 ? get_le32(p + desc) : get_le64(p + desc);
			if (v > UINT32_MAX)
				return err_set(e, "PVH entry point 0x%llx is above 4 GiB",
					       (unsigned long long)v);
			*entry = v;
			return 1;
		}
		off = ALIGN_UP(desc + descsz, align);
		if (off > size)
			return 0;
	}
	return 0;
}

static uint64_t note_align(uint64_t align)
{
	return align == 8 ? 8 : 4;
}

/* Scans one note segment or section @i of the file; same results as below. */
static int scan_note_area(const uint8_t *img, size_t len, const char *kind,
			  unsigned int i, uint64_t off, uint64_t size,
			  uint64_t align, uint64_t *entry, struct err *e)
{
	if (!range_ok(off, size, len))
		return err_set(e, "note %s %u (offset 0x%llx, 0x%llx bytes) extends beyond the end of the file (%zu bytes)",
			       kind, i, (unsigned long long)off,
			       (unsigned long long)size, len);
	return scan_notes(img + off, size, note_align(align), entry, e);
}

/* 1 with *entry set when a PVH note is found, 0 when none, -1 on error. */
static int find_pvh_entry(const uint8_t *img, size_t len, const Elf64_Ehdr *eh,
			  uint64_t *entry, struct err *e)
{
	int ret;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE)
			continue;
		ret = scan_note_area(img, len, "segment", i, ph.p_offset,
				     ph.p_filesz, ph.p_align, entry, e);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh;

		memcpy(&sh, img + eh->e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_NOTE)
			continue;
		ret = scan_note_area(img, len, "section", i, sh.sh_offset,
				     sh.sh_size, sh.sh_addralign, entry, e);
		if (ret)
			return ret;
	}
	return 0;
}

static bool loaded(const struct kernel_image *k, uint64_t addr)
{
	for (unsigned int i = 0; i < k->nr_segments; i++)
		if (addr >= k->seg[i].gpa && addr - k->seg[i].gpa < k->seg[i].memsz)
			return true;
	return false;
}

static int load_segments(const uint8_t *img, size_t len, const Elf64_Ehdr *eh,
			 uint64_t ram_end, struct kernel_image *k, struct err *e)
{
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (check_load(&ph, i, len, ram_end, e) < 0 ||
		    add_segment(k, img, &ph, e) < 0)
			return -1;
	}
	if (k->nr_segments == 0)
		return err_set(e, "ELF file has no PT_LOAD segment");
	return 0;
}

int elf_parse(const uint8_t *img, size_t len, uint64_t ram_end,
	      struct kernel_image *k, struct err *e)
{
	Elf64_Ehdr eh;
	uint64_t pvh_entry;
	int pvh;

	memset(k, 0, sizeof(*k));
	if (!elf_detect(img, len))
		return err_set(e, "no ELF header");
	if (len < sizeof(eh))
		return err_set(e, "truncated ELF file: %zu bytes, the ELF header needs %zu",
			       len, sizeof(eh));
	memcpy(&eh, img, sizeof(eh));
	if (check_ehdr(&eh, len, e) < 0 ||
	    load_segments(img, len, &eh, ram_end, k, e) < 0)
		return -1;
	pvh = find_pvh_entry(img, len, &eh, &pvh_entry, e);
	if (pvh < 0)
		return -1;

	k->format = "ELF";
	if (pvh) {
		k->mode = BOOT_MODE_PVH;
		k->entry = pvh_entry;
	} else {
		/* vmlinux's e_entry is the physical address of startup_64. */
		k->mode = BOOT_MODE_LINUX64;
		k->entry = eh.e_entry;
	}
	if (!loaded(k, k->entry))
		return err_set(e, "%s entry point 0x%llx is not inside any loaded segment",
			       pvh ? "PVH" : "ELF", (unsigned long long)k->entry);
	k->protocol = ZP_SYNTH_PROTOCOL;
	k->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	k->initrd_end_max = UINT64_MAX;
	return 0;
}
