// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the virtqueue walker over guest memory the input
 * writes, rings and descriptors and indirect tables alike, with the ring
 * addresses and size the input picks. Every chain popped must lie inside
 * guest memory with consistent lengths, whatever the rings overlap.
 *
 * Input: u8 size exponent, u8 flags (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC),
 * u32 descriptor table, avail ring and used ring addresses, then the
 * guest memory image.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "fuzz_cost.h"

#define MEM_SIZE (64 * 1024)
#define MAX_QUEUE 256
#define HDR_LEN 14

static uint8_t ram[MEM_SIZE];

static void check_chain(const struct virtq *vq, const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	if (c->head >= vq->size || c->nr_out + c->nr_in > vq->max_size)
		abort();
	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;

		if (!len || p < ram || len > MEM_SIZE ||
		    (size_t)(p - ram) > MEM_SIZE - len)
			abort();
		if (i < c->nr_out)
			out += len;
		else
			in += len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

/* What devices do with a chain: read it, write it, slice it. */
static void use_chain(const struct virtq_chain *c)
{
	uint8_t buf[512];
	struct iovec slice[8];

	iov_to_buf(c->iov, c->nr_out, c->out_len / 2, buf, sizeof(buf));
	iov_from_buf(c->iov + c->nr_out, c->nr_in, 1, buf, sizeof(buf));
	iov_slice(c->iov, c->nr_out + c->nr_in, 3, c->out_len + c->in_len / 2,
		  slice, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem;
	struct virtq vq;
	struct err e;
	unsigned int pops = 0;

	if (size < HDR_LEN)
		return 0;
	fuzz_cost_begin();
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + HDR_LEN, MIN(size - HDR_LEN, sizeof(ram)));
	guest_mem_init_buffer(&mem, NULL, ram, sizeof(ram));
	if (virtq_init(&vq, 0, MAX_QUEUE) < 0)
		abort();
	vq.size = (uint16_t)(1u << (data[0] % 10));
	vq.desc_gpa = get_le32(data + 2);
	vq.avail_gpa = get_le32(data + 6);
	vq.used_gpa = get_le32(data + 10);
	if (virtq_enable(&vq, &mem, data[1] & 1, data[1] & 2, &e) == 0) {
		struct virtq_chain c;
		int r;

		/*
		 * A device's budget: the rings may overlap the buffers, so
		 * what the walk writes can make more chains appear.
		 */
		while (pops++ < 2u * vq.size &&
		       (r = virtq_pop(&vq, &c, &e)) > 0) {
			check_chain(&vq, &c);
			use_chain(&c);
			if (pops % 3 == 0) {
				virtq_unpop(&vq, 1);
				if (virtq_pop(&vq, &c, &e) <= 0)
					break;
				check_chain(&vq, &c);
			}
			virtq_push(&vq, c.head, (uint32_t)c.in_len);
		}
		virtq_should_notify(&vq);
		virtq_enable_notify(&vq);
		virtq_disable_notify(&vq);
	}
	virtq_free(&vq);
	fuzz_cost_check("the virtqueue walk");
	return 0;
}
