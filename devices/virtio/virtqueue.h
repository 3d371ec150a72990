/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VIRTQUEUE_H
#define DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/memory.h"
#include "lib/util.h"

/*
 * Split virtqueues (virtio 1.x, 2.7), device side. The rings live in guest
 * memory that the guest may change at any moment: every index, address and
 * length is read once, checked, and only then used.
 */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VIRTQ_DESC_SIZE 16
#define VIRTQ_MAX_SIZE 32768

/*
 * One descriptor chain mapped to host memory: iov[0, nr_out) is what the
 * device reads, iov[nr_out, nr_out + nr_in) what it writes. Zero-length
 * descriptors take no iovec. The iovecs live in the queue and stay valid
 * until the next pop from the same queue.
 */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out;
	unsigned int nr_in;
	uint64_t out_len;
	uint64_t in_len;
	struct iovec *iov;
};

struct virtq {
	uint16_t index;
	uint16_t max_size;

	/* Programmed by the driver while the queue is not ready. */
	uint16_t size;
	bool ready;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;

	/* Resolved by virtq_enable(). */
	const struct guest_mem *mem;
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
	bool event_idx;
	bool indirect;

	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_valid;
	bool notify_enabled;
	/* Changes whenever the queue is (re)enabled or reset. */
	uint32_t epoch;

	struct iovec *iov; /* max_size entries */
};

int virtq_init(struct virtq *vq, uint16_t index, uint16_t max_size);
void virtq_free(struct virtq *vq);
/* Forgets the rings and the driver's settings (device reset). */
void virtq_reset(struct virtq *vq);

/*
 * Checks the size and ring addresses the driver programmed and maps the
 * rings. On failure the queue stays not ready and @e says why.
 */
int virtq_enable(struct virtq *vq, const struct guest_mem *mem,
		 bool event_idx, bool indirect, struct err *e);

/*
 * Takes the next available chain. Returns 1 with @chain filled, 0 when no
 * chain is available, -1 when the ring or the chain is malformed (loops,
 * out-of-range indices or addresses, wrong direction, bad indirect table).
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain, struct err *e);
/* Gives back the last @n chains popped, unused, in reverse order. */
void virtq_unpop(struct virtq *vq, uint16_t n);
/*
 * Writes the used element @n places past the last published one: chain
 * @head with @len bytes written into it. virtq_publish() then hands @n
 * elements to the driver at once.
 */
void virtq_fill(struct virtq *vq, uint16_t n, uint16_t head, uint32_t len);
void virtq_publish(struct virtq *vq, uint16_t n);

/* Returns chain @head to the driver with @len bytes written into it. */
static inline void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	virtq_fill(vq, 0, head, len);
	virtq_publish(vq, 1);
}
/* True when the driver wants an interrupt for what was pushed since last. */
bool virtq_should_notify(struct virtq *vq);

/*
 * Asks the driver to notify (kick) when it adds buffers. Returns true when
 * buffers are already available, so the caller must keep processing.
 */
bool virtq_enable_notify(struct virtq *vq);
/* Tells the driver that kicks are not needed while the device is busy. */
void virtq_disable_notify(struct virtq *vq);

struct state_writer;
struct state_section;

/* Snapshots: the driver's settings and the indices, as a "queue" section. */
void virtq_save(const struct virtq *vq, struct state_writer *w);
/*
 * Takes them back from @s (a "queue" section); a ready queue is enabled on
 * @mem with the checks a driver's enable gets.
 */
int virtq_restore(struct virtq *vq, const struct state_section *s,
		  const struct guest_mem *mem, bool event_idx, bool indirect,
		  struct err *e);

/* Copies up to @len bytes from offset @off of @iov into @buf. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *buf, size_t len);
/* Copies up to @len bytes of @buf into @iov at offset @off. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len);
/*
 * Describes bytes [off, off + len) of @src in @dst. Returns the number of
 * iovecs used, or -1 when more than @cap would be needed or @src is shorter.
 */
int iov_slice(const struct iovec *src, unsigned int n, size_t off, size_t len,
	      struct iovec *dst, unsigned int cap);

#endif
