// SPDX-License-Identifier: MIT
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

static void layout_regions(struct guest_mem *mem,
			   const struct guest_ram_map *map)
{
	static const struct guest_ram_map flat = { .low_max = UINT64_MAX };
	uint64_t low;

	if (!map)
		map = &flat;
	low = MIN(mem->size, map->low_max);
	mem->nr_regions = 1;
	mem->regions[0] = (struct guest_region){
		.gpa = map->base, .size = low, .offset = 0, .hva = mem->base,
	};
	if (mem->size > low) {
		mem->nr_regions = 2;
		mem->regions[1] = (struct guest_region){
			.gpa = map->high_base,
			.size = mem->size - low,
			.offset = low,
			.hva = mem->base + low,
		};
	}
}

int guest_mem_init(struct guest_mem *mem, const struct guest_ram_map *map,
		   uint64_t size, bool hugepages, struct err *e)
{
	unsigned int flags = MFD_CLOEXEC;
	uint64_t align = hugepages ? 2 * MiB : 4 * KiB;

	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (size == 0 || size % align)
		return err_set(e, "guest memory size %llu is not a multiple of %llu KiB",
			       (unsigned long long)size,
			       (unsigned long long)(align / KiB));
	if (hugepages)
		flags |= MFD_HUGETLB;
	mem->fd = memfd_create("guest-ram", flags);
	if (mem->fd < 0)
		return err_errno(e, "memfd_create for %llu MiB of guest RAM%s",
				 (unsigned long long)(size / MiB),
				 hugepages ? " (hugepages)" : "");
	if (ftruncate(mem->fd, (off_t)size) < 0) {
		err_errno(e, "sizing guest RAM to %llu MiB",
			  (unsigned long long)(size / MiB));
		goto fail;
	}
	/*
	 * Huge pages are reserved when mapped: without the reservation, a
	 * host short of huge pages would kill the VMM with SIGBUS on the
	 * guest's first touch instead of failing here.
	 */
	mem->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | (hugepages ? 0 : MAP_NORESERVE), mem->fd, 0);
	if (mem->base == MAP_FAILED) {
		mem->base = NULL;
		if (hugepages)
			err_errno(e, "reserving %llu MiB of guest RAM in 2 MiB huge pages "
				  "(the host has too few free; see /proc/sys/vm/nr_hugepages)",
				  (unsigned long long)(size / MiB));
		else
			err_errno(e, "mapping %llu MiB of guest RAM",
				  (unsigned long long)(size / MiB));
		goto fail;
	}
	/* Guest RAM has no place in a core dump of the VMM. */
	madvise(mem->base, size, MADV_DONTDUMP);
	mem->size = size;
	mem->hugepages = hugepages;
	layout_regions(mem, map);
	return 0;
fail:
	close(mem->fd);
	mem->fd = -1;
	return -1;
}

void guest_mem_init_buffer(struct guest_mem *mem,
			   const struct guest_ram_map *map, uint8_t *buf,
			   uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	mem->base = buf;
	mem->size = size;
	layout_regions(mem, map);
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->fd >= 0) {
		munmap(mem->base, mem->size);
		close(mem->fd);
	}
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && range_ok(gpa - r->gpa, len, r->size))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf,
		   uint64_t len)
{
	const void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf,
		    uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -1;
	memcpy(p, buf, len);
	return 0;
}

int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -1;
	if (mem->fd < 0) {
		memset(p, 0, len);
		return 0;
	}
	/*
	 * Punching the hole frees the memfd pages; MADV_DONTNEED alone would
	 * leave them in the shared file and the RSS would not drop.
	 */
	if (fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(p - mem->base), (off_t)len) < 0)
		return -1;
	return madvise(p, len, MADV_DONTNEED);
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->regions[0].gpa + mem->regions[0].size;
}
