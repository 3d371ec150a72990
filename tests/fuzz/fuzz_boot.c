// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the kernel and initrd loaders (bzImage, ELF vmlinux,
 * PVH notes) and everything boot_linux() writes around them, from files
 * the input makes, into a small guest or one with RAM above 4 GiB. A
 * kernel that loads must lie inside guest RAM, entry point included.
 *
 * Input: u8 flags (bit 0 the large guest, bit 1 an initrd, bits 2-3
 * virtio-mmio windows to announce), u32 kernel length, the kernel, then
 * the initrd.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/x86/boot.h"
#include "vmm/arch.h"
#include "fuzz_cost.h"

#define SMALL_MEM (64 * MiB)
/* Past the 3 GiB hole start: RAM continues above 4 GiB. */
#define LARGE_MEM (3584 * MiB)

/*
 * Guest RAM kept resident across inputs: an ELF segment may zero most of
 * the large guest, and pages once touched stay until given back.
 */
#define RESIDENT_MAX (1024 * MiB)

static struct guest_mem small, large;
static int kernel_fd = -1, initrd_fd = -1, statm_fd = -1;

/* @fd now holds exactly @len bytes of @data; its path for the loaders. */
static void file_set(int fd, const uint8_t *data, size_t len, char *path,
		     size_t path_len)
{
	if (ftruncate(fd, 0) < 0 || (len && pwrite(fd, data, len, 0) !=
					 (ssize_t)len))
		abort();
	snprintf(path, path_len, "/proc/self/fd/%d", fd);
}

static void init_once(void)
{
	struct err e;

	if (guest_mem_init(&small, &arch_ram_map, SMALL_MEM, false, &e) < 0 ||
	    guest_mem_init(&large, &arch_ram_map, LARGE_MEM, false, &e) < 0) {
		fprintf(stderr, "fuzz_boot: %s\n", e.msg);
		abort();
	}
	kernel_fd = memfd_create("kernel", MFD_CLOEXEC);
	initrd_fd = memfd_create("initrd", MFD_CLOEXEC);
	statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (kernel_fd < 0 || initrd_fd < 0 || statm_fd < 0)
		abort();
}

/* The process's resident bytes. */
static uint64_t resident(void)
{
	unsigned long long pages, res;
	char buf[128];
	ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		abort();
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &pages, &res) != 2)
		abort();
	return res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * Gives back the guest RAM of both guests once too much of it is
 * resident, so a run does not hold the large guest's 3.5 GiB for good
 * (one input may still fill it: FUZZ_RSS_MB_boot in fuzz.mk allows that).
 */
static void guest_ram_trim(void)
{
	struct guest_mem *mems[] = { &small, &large };

	if (resident() < RESIDENT_MAX)
		return;
	for (unsigned int m = 0; m < ARRAY_SIZE(mems); m++)
		for (unsigned int i = 0; i < mems[m]->nr_regions; i++)
			if (guest_mem_discard(mems[m], mems[m]->regions[i].gpa,
					      mems[m]->regions[i].size) < 0)
				abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct boot_mmio_device mmio[3] = {
		{ 0xd0000000, 0x1000, 5 },
		{ 0xd0001000, 0x1000, 6 },
		{ 0xd0002000, 0x1000, 7 },
	};
	char kpath[64], ipath[64];
	struct boot_config cfg = { .cmdline = "console=ttyS0", .nr_cpus = 2 };
	struct boot_entry entry;
	struct guest_mem *mem;
	size_t klen;
	struct err e;

	if (size < 5)
		return 0;
	if (kernel_fd < 0)
		init_once();
	fuzz_cost_begin();
	mem = data[0] & 1 ? &large : &small;
	klen = MIN((size_t)get_le32(data + 1), size - 5);
	file_set(kernel_fd, data + 5, klen, kpath, sizeof(kpath));
	cfg.kernel_path = kpath;
	if (data[0] & 2) {
		file_set(initrd_fd, data + 5 + klen, size - 5 - klen, ipath,
			 sizeof(ipath));
		cfg.initrd_path = ipath;
	}
	cfg.nr_mmio = (data[0] >> 2) % 4;
	cfg.mmio = mmio;
	if (boot_linux(mem, &cfg, &entry, &e) == 0 &&
	    (!guest_mem_ptr(mem, entry.kernel_start,
			    entry.kernel_end - entry.kernel_start) ||
	     entry.kernel_end < entry.kernel_start)) {
		fprintf(stderr, "fuzz_boot: kernel at %#llx-%#llx outside RAM\n",
			(unsigned long long)entry.kernel_start,
			(unsigned long long)entry.kernel_end);
		abort();
	}
	fuzz_cost_check("loading the kernel");
	guest_ram_trim();
	return 0;
}
