// SPDX-License-Identifier: MIT
#include "boot_helpers.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/x86/elf.h"
#include "boot/x86/zeropage.h"
#include "vmm/arch.h"

void tg_init(struct test_guest *g, uint64_t size)
{
	g->buf = calloc(1, size);
	cr_assert_not_null(g->buf, "allocating %llu bytes of test guest RAM",
			   (unsigned long long)size);
	g->size = size;
	guest_mem_init_buffer(&g->mem, &arch_ram_map, g->buf, size);
}

void tg_fini(struct test_guest *g)
{
	free(g->buf);
	g->buf = NULL;
}

uint8_t *tg_ptr(struct test_guest *g, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_ptr(&g->mem, gpa, len);

	cr_assert_not_null(p, "gpa 0x%llx+0x%llx is not guest RAM",
			   (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

void bz_default(struct bz_params *p)
{
	*p = (struct bz_params){
		.version = 0x020f,
		.setup_sects = 4,
		.real_sects = 4,
		.jump_len = 0x6a, /* header ends at 0x26c, like Linux 5.x+ */
		.loadflags = LOADFLAG_LOADED_HIGH,
		.xloadflags = XLF_KERNEL_64,
		.kernel_size = 64 * 1024,
		.relocatable = 1,
		.alignment = 2 * 1024 * 1024,
		.pref_address = 16 * 1024 * 1024,
		.init_size = 4 * 1024 * 1024,
		.cmdline_size = 2047,
		.initrd_addr_max = 0x7fffffff,
	};
}

uint8_t *bz_build(const struct bz_params *p, size_t *len)
{
	size_t setup = (size_t)(p->real_sects + 1) * 512;
	size_t n = setup + p->kernel_size;
	uint8_t *img = calloc(1, MAX(n, (size_t)0x300));

	cr_assert_not_null(img);
	for (size_t i = setup; i < n; i++)
		img[i] = test_pattern(i);
	img[HDR_SETUP_SECTS] = p->setup_sects;
	put_le32(img + HDR_SYSSIZE,
		 p->syssize ? p->syssize : (p->kernel_size + 15) / 16);
	put_le16(img + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
	img[HDR_JUMP] = 0xeb;
	img[HDR_JUMP + 1] = p->jump_len;
	memcpy(img + HDR_MAGIC, "HdrS", 4);
	put_le16(img + HDR_VERSION, p->version);
	img[HDR_LOADFLAGS] = p->loadflags;
	put_le32(img + HDR_INITRD_ADDR_MAX, p->initrd_addr_max);
	put_le32(img + HDR_KERNEL_ALIGNMENT, p->alignment);
	img[HDR_RELOCATABLE] = p->relocatable;
	put_le16(img + HDR_XLOADFLAGS, p->xloadflags);
	put_le32(img + HDR_CMDLINE_SIZE, p->cmdline_size);
	put_le64(img + HDR_PREF_ADDRESS, p->pref_address);
	put_le32(img + HDR_INIT_SIZE, p->init_size);
	*len = n;
	return img;
}

void elf_default(struct elf_params *p)
{
	*p = (struct elf_params){
		.nr_segs = 1,
		.seg = { { .paddr = 16 * 1024 * 1024, .filesz = 64 * 1024,
			   .memsz = 128 * 1024 } },
		.entry = 16 * 1024 * 1024,
		.pvh_descsz = 4,
	};
}

#define NOTE_OFF 0x800
#define SEG_BASE 0x1000
#define SEG_STRIDE 0x20000

uint64_t elf_seg_offset(unsigned int i)
{
	return SEG_BASE + (uint64_t)i * SEG_STRIDE;
}

static size_t put_note(uint8_t *p, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t off = 12;

	put_le32(p, namesz);
	put_le32(p + 4, descsz);
	put_le32(p + 8, type);
	memcpy(p + off, name, namesz);
	off += ALIGN_UP(namesz, 4);
	memcpy(p + off, desc, descsz);
	return off + ALIGN_UP(descsz, 4);
}

static size_t build_notes(const struct elf_params *p, uint8_t *notes)
{
	uint8_t desc[8] = { 0 };
	uint8_t build_id[20];
	size_t n = 0;

	if (p->pvh_after_other_note) {
		memset(build_id, 0xab, sizeof(build_id));
		n += put_note(notes + n, "GNU", NT_GNU_BUILD_ID, build_id,
			      sizeof(build_id));
	}
	put_le32(desc, p->pvh_entry);
	n += put_note(notes + n, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, desc,
		      p->pvh_descsz);
	return n - (size_t)p->note_trim;
}

uint8_t *elf_build(const struct elf_params *p, size_t *len)
{
	size_t n = elf_seg_offset(p->nr_segs);
	uint8_t *img = calloc(1, n);
	Elf64_Ehdr eh = { 0 };
	size_t notes_len = 0;
	unsigned int phnum = p->nr_segs + (p->pvh == 1);

	cr_assert_not_null(img);
	cr_assert(p->nr_segs * sizeof(Elf64_Phdr) + sizeof(eh) + 56 <= NOTE_OFF);
	if (p->pvh)
		notes_len = build_notes(p, img + NOTE_OFF);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = p->entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)phnum;

	for (unsigned int i = 0; i < p->nr_segs; i++) {
		Elf64_Phdr ph = {
			.p_type = p->seg[i].type ? p->seg[i].type : PT_LOAD,
			.p_flags = PF_R | PF_X,
			.p_offset = elf_seg_offset(i),
			.p_vaddr = 0xffffffff80000000ULL + p->seg[i].paddr,
			.p_paddr = p->seg[i].paddr,
			.p_filesz = p->seg[i].filesz,
			.p_memsz = p->seg[i].memsz,
			.p_align = 0x1000,
		};
		uint64_t fill = MIN(p->seg[i].filesz, (uint64_t)SEG_STRIDE);

		for (uint64_t j = 0; j < fill; j++)
			img[ph.p_offset + j] = test_pattern(ph.p_offset + j);
		memcpy(img + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph));
	}
	if (p->pvh == 1) {
		Elf64_Phdr ph = {
			.p_type = PT_NOTE, .p_offset = NOTE_OFF,
			.p_filesz = notes_len, .p_align = 4,
		};

		memcpy(img + eh.e_phoff + p->nr_segs * sizeof(ph), &ph, sizeof(ph));
	} else if (p->pvh == 2) {
		/* Section table: a null section and the note section. */
		Elf64_Shdr sh[2] = { { 0 } };
		size_t shoff = NOTE_OFF + 0x400;

		sh[1].sh_type = SHT_NOTE;
		sh[1].sh_offset = NOTE_OFF;
		sh[1].sh_size = notes_len;
		sh[1].sh_addralign = 4;
		memcpy(img + shoff, sh, sizeof(sh));
		eh.e_shoff = shoff;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 2;
	}
	memcpy(img, &eh, sizeof(eh));
	*len = n;
	return img;
}

char *write_temp(const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path;
	int fd;

	cr_assert(asprintf(&path, "%s/vmm-boot-test-XXXXXX", dir) > 0);
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp %s", path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

void remove_temp(char *path)
{
	unlink(path);
	free(path);
}
