/* SPDX-License-Identifier: MIT */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

#define GUEST_MEM_MAX_REGIONS 2

/*
 * A contiguous run of guest RAM. @hva points into the one memfd mapping that
 * backs all of guest memory; @offset is where the run starts in that memfd.
 */
struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
	uint8_t *hva;
};

/*
 * Where an architecture puts guest RAM: the first @low_max bytes at @base,
 * the rest (if any) at @high_base. x86 splits RAM around its MMIO hole
 * below 4 GiB; arm64 has one run above its devices.
 */
struct guest_ram_map {
	uint64_t base;
	uint64_t low_max;
	uint64_t high_base;
};

/*
 * Guest RAM, laid out by a struct guest_ram_map. Every access the VMM makes
 * on behalf of a guest goes through guest_mem_ptr(), which checks the whole
 * range first.
 */
struct guest_mem {
	int fd;
	uint8_t *base;
	uint64_t size;
	bool hugepages;
	/*
	 * @fd is a snapshot's memory file mapped copy-on-write: it is never
	 * written, and pages the guest changed live only in the mapping.
	 */
	bool private_file;
	unsigned int nr_regions;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
};

/*
 * Creates @size bytes of guest RAM laid out by @map (NULL: one run from
 * guest address 0); @size must be a multiple of 4 KiB.
 */
int guest_mem_init(struct guest_mem *mem, const struct guest_ram_map *map,
		   uint64_t size, bool hugepages, struct err *e);
/*
 * Guest RAM of @size bytes from @fd (a snapshot's memory file, owned by
 * @mem from now on), mapped privately: pages are read from the file when
 * the guest first touches them, and what the guest writes stays in this
 * process. The file must hold exactly @size bytes.
 */
int guest_mem_init_file(struct guest_mem *mem, const struct guest_ram_map *map,
			uint64_t size, int fd, struct err *e);
/* Fails, saying how, unless @fd is a regular file of exactly @size bytes. */
int guest_mem_check_file(int fd, uint64_t size, struct err *e);
/* Lays out regions over caller-provided host memory (tests, tools). */
void guest_mem_init_buffer(struct guest_mem *mem,
			   const struct guest_ram_map *map, uint8_t *buf,
			   uint64_t size);
void guest_mem_destroy(struct guest_mem *mem);

/*
 * Host pointer for [gpa, gpa + len) or NULL when any byte of it is not RAM
 * or the range crosses from one region into another.
 */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Bounded copies; return -1 (and copy nothing) when the range is not RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf,
		   uint64_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf,
		    uint64_t len);

/* Gives the backing pages of [gpa, gpa + len) back to the host. */
int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/*
 * Writes guest RAM to @out (a new, empty file) at the same offsets, sparse:
 * what the guest never touched, gave back (balloon) or left zero stays a
 * hole. Call with nothing changing guest memory. @written gets the bytes
 * of data written.
 */
int guest_mem_save(const struct guest_mem *mem, int out, uint64_t *written,
		   struct err *e);

/* End of the first run of RAM (on x86, RAM below the MMIO hole). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
