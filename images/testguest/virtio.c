// SPDX-License-Identifier: MIT
/*
 * The test guest's split-ring driver and the status and feature handshake,
 * the same over both transports.
 */
#include "virtio.h"

#include "cmdline.h"
#include "io.h"
#include "str.h"

#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1

/* About ten seconds of TSC at a few GHz; no device answer takes that long. */
#define WAIT_TICKS (1ULL << 35)

bool tg_virtio_wanted(const char *cmdline, const char *name)
{
	size_t len, n = strlen(name);
	const char *val;

	if (cmdline_param(cmdline, "testguest.virtio", &val, &len) < 0)
		return false;
	while (len) {
		size_t item = 0;

		while (item < len && val[item] != ',')
			item++;
		if (item == n && !memcmp(val, name, n))
			return true;
		val += item;
		len -= item;
		if (len) {
			val++;
			len--;
		}
	}
	return false;
}

bool tg_virtio_find(const char *cmdline, uint32_t device_id,
		    struct tg_virtio *d, struct check *c)
{
	const char *val;
	size_t len;

	memset(d, 0, sizeof(*d));
	if (cmdline_param(cmdline, "testguest.pci", &val, &len) >= 0 &&
	    len == 1 && val[0] == '1')
		return tg_virtio_pci_find(device_id, d, c);
	return tg_virtio_mmio_find(cmdline, device_id, d, c);
}

bool tg_virtio_start(struct tg_virtio *d, uint64_t features,
		     struct tg_vring *rings, unsigned int nr_queues,
		     struct check *c)
{
	const struct tg_virtio_ops *ops = d->ops;
	uint64_t offered, want = features | 1ULL << TG_VIRTIO_F_VERSION_1;
	uint32_t s = STATUS_ACK | STATUS_DRIVER;

	ops->set_status(d, 0);
	if (ops->status(d) != 0)
		return check_fail(c, "status is 0x%x after reset", ops->status(d));
	ops->set_status(d, STATUS_ACK);
	ops->set_status(d, s);
	offered = ops->device_features(d);
	if ((offered & want) != want)
		return check_fail(c, "device offers features 0x%lx, the driver needs 0x%lx",
				  offered, want);
	ops->driver_features(d, want);
	ops->set_status(d, s | STATUS_FEATURES_OK);
	if (!(ops->status(d) & STATUS_FEATURES_OK))
		return check_fail(c, "device refused features 0x%lx", want);
	for (unsigned int i = 0; i < nr_queues; i++) {
		memset(&rings[i], 0, sizeof(rings[i]));
		rings[i].avail.flags = AVAIL_F_NO_INTERRUPT;
		d->vq[i] = (struct tg_vq){ .r = &rings[i] };
		if (!ops->setup_queue(d, i, &rings[i], c))
			return false;
	}
	ops->set_status(d, s | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	if (ops->status(d) & STATUS_NEEDS_RESET)
		return check_fail(c, "device needs a reset right after DRIVER_OK");
	return true;
}

uint32_t tg_virtio_config32(const struct tg_virtio *d, uint32_t off)
{
	return mmio_read32(d->ops->config(d, off));
}

uint8_t tg_virtio_config8(const struct tg_virtio *d, uint32_t off)
{
	return *(volatile uint8_t *)(uintptr_t)d->ops->config(d, off);
}

void tg_virtio_config_write32(const struct tg_virtio *d, uint32_t off,
			      uint32_t val)
{
	mmio_write32(d->ops->config(d, off), val);
}

bool tg_virtio_submit(struct tg_virtio *d, unsigned int qi,
		      const struct tg_buf *bufs, unsigned int n,
		      struct check *c)
{
	struct tg_vq *q = &d->vq[qi];
	uint16_t head = q->next_desc;
	unsigned int i;

	if (n == 0 || n > TG_VQ_SIZE)
		return check_fail(c, "a chain of %u buffers does not fit the ring", n);
	for (i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % TG_VQ_SIZE);

		q->r->desc[idx].addr = (uint64_t)(uintptr_t)bufs[i].addr;
		q->r->desc[idx].len = bufs[i].len;
		q->r->desc[idx].flags = (uint16_t)((i + 1 < n ? DESC_F_NEXT : 0) |
						   (bufs[i].write ? DESC_F_WRITE : 0));
		q->r->desc[idx].next = (uint16_t)((idx + 1) % TG_VQ_SIZE);
	}
	q->next_desc = (uint16_t)((head + n) % TG_VQ_SIZE);
	q->r->avail.ring[q->avail_idx % TG_VQ_SIZE] = head;
	/* Descriptors and ring entry before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->avail_idx++;
	*(volatile uint16_t *)&q->r->avail.idx = q->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->ops->notify(d, qi);
	return true;
}

bool tg_virtio_wait(struct tg_virtio *d, unsigned int qi, uint32_t *len,
		    struct check *c)
{
	struct tg_vq *q = &d->vq[qi];
	uint64_t start = rdtsc();

	while (*(volatile uint16_t *)&q->r->used.idx == q->last_used) {
		if (rdtsc() - start > WAIT_TICKS)
			return check_fail(c, "queue %u: no answer from the device (status 0x%x)",
					  qi, d->ops->status(d));
		cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*len = *(volatile uint32_t *)&q->r->used.ring[q->last_used % TG_VQ_SIZE].len;
	q->last_used++;
	return true;
}
