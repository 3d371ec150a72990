// SPDX-License-Identifier: MIT
#include "virtqueue.h"

#include <stdlib.h>
#include <string.h>

#include "vmm/state.h"

/*
 * Ring layout (2.7): the avail ring is flags, idx, ring[size], used_event;
 * the used ring is flags, idx, {id, len}[size], avail_event. All fields are
 * little endian, as is every host this VMM runs on (x86-64), so aligned
 * 16-bit fields are read and written with single atomic accesses.
 */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM_SIZE 8

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static inline uint16_t ring_load(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static inline void ring_store(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

int virtq_init(struct virtq *vq, uint16_t index, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->max_size = max_size;
	vq->iov = calloc(max_size, sizeof(*vq->iov));
	if (!vq->iov)
		return -1;
	virtq_reset(vq);
	return 0;
}

void virtq_free(struct virtq *vq)
{
	free(vq->iov);
	vq->iov = NULL;
}

void virtq_reset(struct virtq *vq)
{
	vq->ready = false;
	vq->size = vq->max_size;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->mem = NULL;
	vq->desc = vq->avail = vq->used = NULL;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_enabled = true;
	vq->epoch++;
}

int virtq_enable(struct virtq *vq, const struct guest_mem *mem,
		 bool event_idx, bool indirect, struct err *e)
{
	uint64_t size = vq->size;

	if (size == 0 || size > vq->max_size || (size & (size - 1)))
		return err_set(e, "queue %u: size %llu is not a power of two up to %u",
			       vq->index, (unsigned long long)size, vq->max_size);
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return err_set(e, "queue %u: misaligned rings (descriptors %#llx, driver area %#llx, device area %#llx)",
			       vq->index, (unsigned long long)vq->desc_gpa,
			       (unsigned long long)vq->avail_gpa,
			       (unsigned long long)vq->used_gpa);
	vq->desc = guest_mem_ptr(mem, vq->desc_gpa, size * VIRTQ_DESC_SIZE);
	vq->avail = guest_mem_ptr(mem, vq->avail_gpa, AVAIL_RING + size * 2 + 2);
	vq->used = guest_mem_ptr(mem, vq->used_gpa,
				 USED_RING + size * USED_ELEM_SIZE + 2);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = vq->avail = vq->used = NULL;
		return err_set(e, "queue %u: rings outside guest RAM (descriptors %#llx, driver area %#llx, device area %#llx, size %llu)",
			       vq->index, (unsigned long long)vq->desc_gpa,
			       (unsigned long long)vq->avail_gpa,
			       (unsigned long long)vq->used_gpa,
			       (unsigned long long)size);
	}
	vq->mem = mem;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_enabled = true;
	vq->epoch++;
	vq->ready = true;
	return 0;
}

/* One descriptor, copied out of guest memory so it cannot change under us. */
static void desc_read(const uint8_t *table, uint16_t i, struct virtq_desc *d)
{
	uint8_t raw[VIRTQ_DESC_SIZE];

	memcpy(raw, table + (size_t)i * VIRTQ_DESC_SIZE, sizeof(raw));
	d->addr = get_le64(raw);
	d->len = get_le32(raw + 8);
	d->flags = get_le16(raw + 12);
	d->next = get_le16(raw + 14);
}

/* Switches the walk to the indirect table @d points to. */
static int walk_indirect(struct virtq *vq, const struct virtq_desc *d,
			 const uint8_t **table, uint32_t *table_len,
			 struct err *e)
{
	uint32_t n = d->len / VIRTQ_DESC_SIZE;

	if (!vq->indirect)
		return err_set(e, "queue %u: indirect descriptor without VIRTIO_F_INDIRECT_DESC",
			       vq->index);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return err_set(e, "queue %u: indirect descriptor with NEXT set",
			       vq->index);
	if (d->len == 0 || d->len % VIRTQ_DESC_SIZE || n > vq->max_size)
		return err_set(e, "queue %u: indirect table of %u bytes (a multiple of %u up to %u entries)",
			       vq->index, d->len, VIRTQ_DESC_SIZE,
			       vq->max_size);
	*table = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!*table)
		return err_set(e, "queue %u: indirect table %#llx+%u outside guest RAM",
			       vq->index, (unsigned long long)d->addr, d->len);
	*table_len = n;
	return 0;
}

/* Adds one buffer to the chain's iovecs, checking direction and range. */
static int walk_buffer(struct virtq *vq, const struct virtq_desc *d,
		       struct virtq_chain *c, struct err *e)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	unsigned int n = c->nr_out + c->nr_in;
	void *p;

	if (!writable && c->nr_in)
		return err_set(e, "queue %u: chain %u has a device-readable buffer after a device-writable one",
			       vq->index, c->head);
	if (d->len == 0)
		return 0;
	p = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return err_set(e, "queue %u: chain %u buffer %#llx+%u outside guest RAM",
			       vq->index, c->head, (unsigned long long)d->addr,
			       d->len);
	if (n == vq->max_size)
		return err_set(e, "queue %u: chain %u has more than %u buffers",
			       vq->index, c->head, vq->max_size);
	c->iov[n] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	if (writable) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

/*
 * Follows the chain from @c->head. A table of n descriptors can be walked
 * at most n steps without revisiting one, so more steps mean a loop.
 */
static int walk_chain(struct virtq *vq, struct virtq_chain *c, struct err *e)
{
	const uint8_t *table = vq->desc;
	uint32_t table_len = vq->size, budget = vq->size;
	bool indirect = false;
	uint16_t i = c->head;

	for (;;) {
		struct virtq_desc d;

		if (budget-- == 0)
			return err_set(e, "queue %u: chain %u loops or is longer than its table",
				       vq->index, c->head);
		desc_read(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return err_set(e, "queue %u: chain %u nests indirect tables",
					       vq->index, c->head);
			if (walk_indirect(vq, &d, &table, &table_len, e) < 0)
				return -1;
			indirect = true;
			budget = table_len;
			i = 0;
			continue;
		}
		if (walk_buffer(vq, &d, c, e) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		if (d.next >= table_len)
			return err_set(e, "queue %u: chain %u links to descriptor %u of %u",
				       vq->index, c->head, d.next, table_len);
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c, struct err *e)
{
	uint16_t avail_idx, pending, head;

	if (!vq->ready)
		return 0;
	avail_idx = __atomic_load_n((uint16_t *)(vq->avail + AVAIL_IDX),
				    __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return err_set(e, "queue %u: available index moved from %u to %u, more than the queue size %u",
			       vq->index, vq->last_avail, avail_idx, vq->size);
	head = ring_load(vq->avail + AVAIL_RING +
			 (vq->last_avail % vq->size) * 2);
	if (head >= vq->size)
		return err_set(e, "queue %u: available chain head %u beyond the queue size %u",
			       vq->index, head, vq->size);
	vq->last_avail++;
	*c = (struct virtq_chain){ .head = head, .iov = vq->iov };
	return walk_chain(vq, c, e);
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
	vq->last_avail -= n;
}

void virtq_fill(struct virtq *vq, uint16_t n, uint16_t head, uint32_t len)
{
	uint16_t idx = (uint16_t)(vq->used_idx + n);
	uint8_t *elem = vq->used + USED_RING +
			(size_t)(idx % vq->size) * USED_ELEM_SIZE;

	put_le32(elem, head);
	put_le32(elem + 4, len);
}

void virtq_publish(struct virtq *vq, uint16_t n)
{
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* The elements must be visible before the index that publishes them. */
	__atomic_store_n((uint16_t *)(vq->used + USED_IDX), vq->used_idx,
			 __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx, event;
	bool valid = vq->signalled_valid;

	/* Order the used index store before reading the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(ring_load(vq->avail + AVAIL_FLAGS) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = ring_load(vq->avail + AVAIL_RING + vq->size * 2);
	/* vring_need_event(): did new pass event since the last signal? */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtq *vq)
{
	uint16_t avail_idx;

	if (!vq->ready)
		return false;
	if (vq->event_idx)
		ring_store(vq->used + USED_RING + vq->size * USED_ELEM_SIZE,
			   vq->last_avail);
	else
		ring_store(vq->used + USED_FLAGS, 0);
	vq->notify_enabled = true;
	/* Publish the request before checking what the driver added since. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail_idx = ring_load(vq->avail + AVAIL_IDX);
	return avail_idx != vq->last_avail;
}

void virtq_disable_notify(struct virtq *vq)
{
	if (vq->ready && !vq->event_idx)
		ring_store(vq->used + USED_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
	vq->notify_enabled = false;
}

/* Copies between @buf and the iovec bytes from @off on; @to_buf says which way. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off,
		       uint8_t *buf, size_t len, bool to_buf)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(len - done, iov[i].iov_len - off);
		if (to_buf)
			memcpy(buf + done, base + off, chunk);
		else
			memcpy(base + off, buf + done, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len)
{
	/* Read-only here: the copy goes from @buf into the iovec. */
	return iov_copy(iov, n, off, (uint8_t *)buf, len, false);
}

int iov_slice(const struct iovec *src, unsigned int n, size_t off, size_t len,
	      struct iovec *dst, unsigned int cap)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t chunk;

		if (off >= src[i].iov_len) {
			off -= src[i].iov_len;
			continue;
		}
		if (out == cap)
			return -1;
		chunk = MIN(len, src[i].iov_len - off);
		dst[out++] = (struct iovec){
			.iov_base = (uint8_t *)src[i].iov_base + off,
			.iov_len = chunk,
		};
		len -= chunk;
		off = 0;
	}
	return len ? -1 : (int)out;
}

void virtq_save(const struct virtq *vq, struct state_writer *w)
{
	state_begin(w, "queue");
	state_put_u64(w, "size", vq->size);
	state_put_u64(w, "ready", vq->ready);
	state_put_u64(w, "desc", vq->desc_gpa);
	state_put_u64(w, "avail", vq->avail_gpa);
	state_put_u64(w, "used", vq->used_gpa);
	state_put_u64(w, "last_avail", vq->last_avail);
	state_put_u64(w, "used_idx", vq->used_idx);
	state_put_u64(w, "signalled_used", vq->signalled_used);
	state_put_u64(w, "signalled_valid", vq->signalled_valid);
	state_put_u64(w, "notify_enabled", vq->notify_enabled);
	state_end(w);
}

/*
 * The rings go through virtq_enable(), which checks them as when the
 * driver enables the queue; the indices are free-running, and every pop
 * checks them against what the driver publishes.
 */
int virtq_restore(struct virtq *vq, const struct state_section *s,
		  const struct guest_mem *mem, bool event_idx, bool indirect,
		  struct err *e)
{
	uint16_t last_avail, used_idx, signalled_used;
	bool ready, signalled_valid, notify_enabled;

	virtq_reset(vq);
	if (state_get_u16(s, "size", &vq->size, e) < 0 ||
	    state_get_bool(s, "ready", &ready, e) < 0 ||
	    state_get_u64(s, "desc", &vq->desc_gpa, e) < 0 ||
	    state_get_u64(s, "avail", &vq->avail_gpa, e) < 0 ||
	    state_get_u64(s, "used", &vq->used_gpa, e) < 0 ||
	    state_get_u16(s, "last_avail", &last_avail, e) < 0 ||
	    state_get_u16(s, "used_idx", &used_idx, e) < 0 ||
	    state_get_u16(s, "signalled_used", &signalled_used, e) < 0 ||
	    state_get_bool(s, "signalled_valid", &signalled_valid, e) < 0 ||
	    state_get_bool(s, "notify_enabled", &notify_enabled, e) < 0)
		return -1;
	if (!ready)
		return 0;
	if (virtq_enable(vq, mem, event_idx, indirect, e) < 0)
		return -1;
	vq->last_avail = last_avail;
	vq->used_idx = used_idx;
	vq->signalled_used = signalled_used;
	vq->signalled_valid = signalled_valid;
	vq->notify_enabled = notify_enabled;
	return 0;
}
