// SPDX-License-Identifier: MIT
/* The test guest's virtio-mmio transport and split-ring driver. */
#include "virtio.h"

#include "cmdline.h"
#include "io.h"
#include "str.h"

#define MMIO_MAGIC_VALUE 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC_LOW 0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MMIO_CONFIG 0x100

#define MAGIC 0x74726976
#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1

#define ENTRY_KEY "virtio_mmio.device="
/* About ten seconds of TSC at a few GHz; no device answer takes that long. */
#define WAIT_TICKS (1ULL << 35)

static uint32_t rd(const struct tg_virtio *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}

static void wr(const struct tg_virtio *d, uint32_t off, uint32_t val)
{
	mmio_write32(d->base + off, val);
}

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

/* "0x" hex, or decimal with an optional K/M/G suffix, as memparse() takes. */
static bool parse_num(const char *s, size_t len, uint64_t *out)
{
	uint32_t v;
	unsigned int shift = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!parse_hex32(s + 2, len - 2, &v))
			return false;
		*out = v;
		return true;
	}
	if (len && (s[len - 1] == 'K' || s[len - 1] == 'k'))
		shift = 10;
	else if (len && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		shift = 20;
	else if (len && (s[len - 1] == 'G' || s[len - 1] == 'g'))
		shift = 30;
	if (!parse_dec32(s, len - (shift ? 1 : 0), &v))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* SIZE@BASE:IRQ[:ID] */
static bool parse_entry(const char *s, size_t len, uint64_t *base,
			uint32_t *irq)
{
	size_t at = 0, colon, end;
	uint64_t size;

	while (at < len && s[at] != '@')
		at++;
	colon = at;
	while (colon < len && s[colon] != ':')
		colon++;
	end = colon + 1;
	while (end < len && s[end] != ':')
		end++;
	if (at == len || colon == len || !parse_num(s, at, &size) ||
	    !parse_num(s + at + 1, colon - at - 1, base) ||
	    !parse_dec32(s + colon + 1, end - colon - 1, irq))
		return false;
	/* The window must hold the registers and sit below 4 GiB. */
	return size >= 0x200 && *base < (1ULL << 32) - size;
}

bool tg_virtio_find(const char *cmdline, uint32_t device_id,
		    struct tg_virtio *d, struct check *c)
{
	size_t klen = strlen(ENTRY_KEY);
	unsigned int entries = 0;
	const char *p = cmdline;

	while (*p) {
		size_t wlen = 0;

		while (*p == ' ')
			p++;
		while (p[wlen] && p[wlen] != ' ')
			wlen++;
		if (wlen > klen && !memcmp(p, ENTRY_KEY, klen)) {
			entries++;
			if (!parse_entry(p + klen, wlen - klen, &d->base, &d->irq))
				return check_fail(c, "malformed entry %.*s",
						  (int)wlen, p);
			if (rd(d, MMIO_MAGIC_VALUE) == MAGIC &&
			    rd(d, MMIO_VERSION) == 2 &&
			    rd(d, MMIO_DEVICE_ID) == device_id)
				return true;
		}
		p += wlen;
	}
	return check_fail(c, "no virtio-mmio device with ID %u among %u virtio_mmio.device= entries",
			  device_id, entries);
}

static bool setup_queue(struct tg_virtio *d, unsigned int qi,
			struct tg_vring *r, struct check *c)
{
	uint64_t desc = (uint64_t)(uintptr_t)r->desc;
	uint64_t avail = (uint64_t)(uintptr_t)&r->avail;
	uint64_t used = (uint64_t)(uintptr_t)&r->used;

	memset(r, 0, sizeof(*r));
	r->avail.flags = AVAIL_F_NO_INTERRUPT;
	d->vq[qi] = (struct tg_vq){ .r = r };
	wr(d, MMIO_QUEUE_SEL, qi);
	if (rd(d, MMIO_QUEUE_READY))
		return check_fail(c, "queue %u is ready right after reset", qi);
	if (rd(d, MMIO_QUEUE_NUM_MAX) < TG_VQ_SIZE)
		return check_fail(c, "queue %u holds only %u entries", qi,
				  rd(d, MMIO_QUEUE_NUM_MAX));
	wr(d, MMIO_QUEUE_NUM, TG_VQ_SIZE);
	wr(d, MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(d, MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(d, MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(d, MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(d, MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(d, MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(d, MMIO_QUEUE_READY, 1);
	if (rd(d, MMIO_QUEUE_READY) != 1)
		return check_fail(c, "queue %u did not become ready", qi);
	return true;
}

bool tg_virtio_start(struct tg_virtio *d, uint64_t features,
		     struct tg_vring *rings, unsigned int nr_queues,
		     struct check *c)
{
	uint64_t offered, want = features | 1ULL << TG_VIRTIO_F_VERSION_1;
	unsigned int i;

	wr(d, MMIO_STATUS, 0);
	if (rd(d, MMIO_STATUS) != 0)
		return check_fail(c, "status is 0x%x after reset",
				  rd(d, MMIO_STATUS));
	wr(d, MMIO_STATUS, STATUS_ACK);
	wr(d, MMIO_STATUS, STATUS_ACK | STATUS_DRIVER);
	wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)rd(d, MMIO_DEVICE_FEATURES) << 32;
	wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= rd(d, MMIO_DEVICE_FEATURES);
	if ((offered & want) != want)
		return check_fail(c, "device offers features 0x%lx, the driver needs 0x%lx",
				  offered, want);
	wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, MMIO_DRIVER_FEATURES, (uint32_t)want);
	wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	wr(d, MMIO_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(rd(d, MMIO_STATUS) & STATUS_FEATURES_OK))
		return check_fail(c, "device refused features 0x%lx", want);
	for (i = 0; i < nr_queues; i++)
		if (!setup_queue(d, i, &rings[i], c))
			return false;
	wr(d, MMIO_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK |
				   STATUS_DRIVER_OK);
	if (rd(d, MMIO_STATUS) & STATUS_NEEDS_RESET)
		return check_fail(c, "device needs a reset right after DRIVER_OK");
	return true;
}

uint32_t tg_virtio_config32(const struct tg_virtio *d, uint32_t off)
{
	return rd(d, MMIO_CONFIG + off);
}

uint8_t tg_virtio_config8(const struct tg_virtio *d, uint32_t off)
{
	return *(volatile uint8_t *)(uintptr_t)(d->base + MMIO_CONFIG + off);
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
	wr(d, MMIO_QUEUE_NOTIFY, qi);
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
					  qi, rd(d, MMIO_STATUS));
		cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*len = *(volatile uint32_t *)&q->r->used.ring[q->last_used % TG_VQ_SIZE].len;
	q->last_used++;
	return true;
}
