// SPDX-License-Identifier: MIT
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

static int check_size(uint64_t size, uint64_t align, struct err *e)
{
	if (size == 0 || size % align)
		return err_set(e, "guest memory size %llu is not a multiple of %llu KiB",
			       (unsigned long long)size,
			       (unsigned long long)(align / KiB));
	return 0;
}

/*
 * Maps @size bytes of @fd as guest RAM with @flags and lays out its
 * regions; -1 with errno when the mapping fails, @mem untouched then.
 */
static int map_ram(struct guest_mem *mem, const struct guest_ram_map *map,
		   int fd, uint64_t size, int flags)
{
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (base == MAP_FAILED)
		return -1;
	/* Guest RAM has no place in a core dump of the VMM. */
	madvise(base, size, MADV_DONTDUMP);
	mem->base = base;
	mem->fd = fd;
	mem->size = size;
	layout_regions(mem, map);
	return 0;
}

int guest_mem_init(struct guest_mem *mem, const struct guest_ram_map *map,
		   uint64_t size, bool hugepages, struct err *e)
{
	unsigned int flags = MFD_CLOEXEC;
	uint64_t align = hugepages ? 2 * MiB : 4 * KiB;

	int fd;

	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (check_size(size, align, e) < 0)
		return -1;
	if (hugepages)
		flags |= MFD_HUGETLB;
	fd = memfd_create("guest-ram", flags);
	if (fd < 0)
		return err_errno(e, "memfd_create for %llu MiB of guest RAM%s",
				 (unsigned long long)(size / MiB),
				 hugepages ? " (hugepages)" : "");
	if (ftruncate(fd, (off_t)size) < 0) {
		err_errno(e, "sizing guest RAM to %llu MiB",
			  (unsigned long long)(size / MiB));
		goto fail;
	}
	/*
	 * Huge pages are reserved when mapped: without the reservation, a
	 * host short of huge pages would kill the VMM with SIGBUS on the
	 * guest's first touch instead of failing here.
	 */
	if (map_ram(mem, map, fd, size,
		    MAP_SHARED | (hugepages ? 0 : MAP_NORESERVE)) < 0) {
		if (hugepages)
			err_errno(e, "reserving %llu MiB of guest RAM in 2 MiB huge pages "
				  "(the host has too few free; see /proc/sys/vm/nr_hugepages)",
				  (unsigned long long)(size / MiB));
		else
			err_errno(e, "mapping %llu MiB of guest RAM",
				  (unsigned long long)(size / MiB));
		goto fail;
	}
	mem->hugepages = hugepages;
	return 0;
fail:
	close(fd);
	return -1;
}

int guest_mem_check_file(int fd, uint64_t size, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_errno(e, "memory file");
	if (!S_ISREG(st.st_mode))
		return err_set(e, "the memory file is not a regular file");
	if ((uint64_t)st.st_size != size)
		return err_set(e, "the memory file has %llu bytes, the guest %llu MiB of RAM: %s",
			       (unsigned long long)st.st_size,
			       (unsigned long long)(size / MiB),
			       (uint64_t)st.st_size < size ? "truncated" :
							     "not this snapshot's");
	return 0;
}

int guest_mem_init_file(struct guest_mem *mem, const struct guest_ram_map *map,
			uint64_t size, int fd, struct err *e)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (guest_mem_check_file(fd, size, e) < 0 ||
	    check_size(size, 4 * KiB, e) < 0)
		goto fail;
	if (map_ram(mem, map, fd, size, MAP_PRIVATE | MAP_NORESERVE) < 0) {
		err_errno(e, "mapping the %llu MiB memory file",
			  (unsigned long long)(size / MiB));
		goto fail;
	}
	mem->private_file = true;
	return 0;
fail:
	close(fd);
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
	 * A snapshot's file is shared by every VM restored from it: only this
	 * mapping's copies go. The pages read back as the file has them,
	 * which a balloon allows (their content is undefined).
	 */
	if (mem->private_file)
		return madvise(p, len, MADV_DONTNEED);
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

/* ---- saving ---- */

#define SAVE_PAGE (4 * KiB)
/* Page map entries read at once (the pages of 2 MiB). */
#define PAGEMAP_BATCH 512
#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_SWAPPED (1ULL << 62)
#define PAGEMAP_FILE (1ULL << 61)

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < SAVE_PAGE / sizeof(*q); i++)
		if (q[i])
			return false;
	return true;
}

static int write_at(int fd, const uint8_t *buf, uint64_t len, uint64_t off,
		    struct err *e)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, MIN(len, 1ULL << 30), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_errno(e, "writing guest memory at %#llx",
					 (unsigned long long)off);
		buf += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * Runs of pages to write: the pages offered in order, the zero ones left
 * out, neighbours written with one call.
 */
struct page_runs {
	const struct guest_mem *mem;
	int out;
	uint64_t start, end; /* the run being gathered */
	uint64_t written;
};

static int runs_flush(struct page_runs *r, struct err *e)
{
	if (r->end > r->start &&
	    write_at(r->out, r->mem->base + r->start, r->end - r->start,
		     r->start, e) < 0)
		return -1;
	r->written += r->end - r->start;
	r->start = r->end = 0;
	return 0;
}

static int runs_add(struct page_runs *r, uint64_t off, struct err *e)
{
	if (page_is_zero(r->mem->base + off))
		return 0;
	if (r->end != off && runs_flush(r, e) < 0)
		return -1;
	if (r->end == r->start)
		r->start = off;
	r->end = off + SAVE_PAGE;
	return 0;
}

/* The next extent of data in a file at or after @from: [*data, *hole). */
static int next_data(int fd, uint64_t size, uint64_t from, uint64_t *data,
		     uint64_t *hole, struct err *e)
{
	off_t d = lseek(fd, (off_t)from, SEEK_DATA), h;

	if (d < 0 && errno == ENXIO) {
		*data = *hole = size;
		return 0;
	}
	if (d < 0 || (h = lseek(fd, d, SEEK_HOLE)) < 0)
		return err_errno(e, "finding the data in guest memory");
	*data = ALIGN_DOWN((uint64_t)d, SAVE_PAGE);
	*hole = MIN(ALIGN_UP((uint64_t)h, SAVE_PAGE), size);
	return 0;
}

/*
 * Pages the guest changed in a private mapping are anonymous: present or
 * swapped, and not the file's.
 */
static int changed_pages(const struct guest_mem *mem, int pagemap,
			 uint64_t off, uint64_t entries[PAGEMAP_BATCH],
			 struct err *e)
{
	uint64_t n = MIN(PAGEMAP_BATCH, (mem->size - off) / SAVE_PAGE);
	uint64_t at = (uintptr_t)(mem->base + off) / SAVE_PAGE * 8;
	ssize_t got = pread(pagemap, entries, n * 8, (off_t)at);

	if (got != (ssize_t)(n * 8))
		return err_errno(e, "reading /proc/self/pagemap");
	for (uint64_t i = 0; i < n; i++)
		entries[i] = (entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)) &&
			     !(entries[i] & PAGEMAP_FILE);
	return 0;
}

/*
 * The pages worth writing: a memfd's data (SEEK_DATA skips what was never
 * touched or was punched out); in a private mapping of a snapshot's file,
 * that file's data and every page the guest changed since.
 */
static int save_pages(const struct guest_mem *mem, struct page_runs *r,
		      struct err *e)
{
	uint64_t entries[PAGEMAP_BATCH], data = 0, hole = 0, batch = UINT64_MAX;
	int pagemap = -1, ret = -1;

	if (mem->private_file) {
		pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pagemap < 0)
			return err_errno(e, "/proc/self/pagemap");
	}
	for (uint64_t off = 0; off < mem->size; off += SAVE_PAGE) {
		bool take;

		if (off >= hole &&
		    next_data(mem->fd, mem->size, off, &data, &hole, e) < 0)
			goto out;
		if (off < data && !mem->private_file) {
			off = data - SAVE_PAGE;
			continue;
		}
		take = off >= data;
		if (!take && off / SAVE_PAGE / PAGEMAP_BATCH != batch) {
			batch = off / SAVE_PAGE / PAGEMAP_BATCH;
			if (changed_pages(mem, pagemap, batch * PAGEMAP_BATCH * SAVE_PAGE,
					  entries, e) < 0)
				goto out;
		}
		if (!take)
			take = entries[off / SAVE_PAGE % PAGEMAP_BATCH];
		if (take && runs_add(r, off, e) < 0)
			goto out;
	}
	ret = 0;
out:
	if (pagemap >= 0)
		close(pagemap);
	return ret;
}

/*
 * Huge pages: SEEK_DATA sees all of a hugetlbfs file as data, and reading
 * a page never touched would allocate it; the mapping knows which exist
 * (they are never swapped).
 */
static int save_huge_pages(const struct guest_mem *mem, struct page_runs *r,
			   struct err *e)
{
	const uint64_t huge = 2 * MiB;
	unsigned char present[2 * MiB / SAVE_PAGE];

	for (uint64_t off = 0; off < mem->size; off += huge) {
		if (mincore(mem->base + off, huge, present) < 0)
			return err_errno(e, "finding the huge pages in guest memory");
		if (!(present[0] & 1))
			continue;
		for (uint64_t p = off; p < off + huge; p += SAVE_PAGE)
			if (runs_add(r, p, e) < 0)
				return -1;
	}
	return 0;
}

int guest_mem_save(const struct guest_mem *mem, int out, uint64_t *written,
		   struct err *e)
{
	struct page_runs r = { .mem = mem, .out = out };

	if (ftruncate(out, (off_t)mem->size) < 0)
		return err_errno(e, "sizing the memory file to %llu MiB",
				 (unsigned long long)(mem->size / MiB));
	if (mem->fd < 0) {
		for (uint64_t off = 0; off < mem->size; off += SAVE_PAGE)
			if (runs_add(&r, off, e) < 0)
				return -1;
	} else if (mem->hugepages ? save_huge_pages(mem, &r, e) < 0 :
				    save_pages(mem, &r, e) < 0) {
		return -1;
	}
	if (runs_flush(&r, e) < 0)
		return -1;
	*written = r.written;
	return 0;
}
