// SPDX-License-Identifier: MIT
/* The test guest's virtio-mmio transport (virtio 1.x, 4.2). */
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

#define ENTRY_KEY "virtio_mmio.device="

static uint32_t rd(const struct tg_virtio *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}

static void wr(const struct tg_virtio *d, uint32_t off, uint32_t val)
{
	mmio_write32(d->base + off, val);
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

static uint32_t mmio_status(const struct tg_virtio *d)
{
	return rd(d, MMIO_STATUS);
}

static void mmio_set_status(const struct tg_virtio *d, uint32_t status)
{
	wr(d, MMIO_STATUS, status);
}

static uint64_t mmio_device_features(const struct tg_virtio *d)
{
	uint64_t f;

	wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)rd(d, MMIO_DEVICE_FEATURES) << 32;
	wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
	return f | rd(d, MMIO_DEVICE_FEATURES);
}

static void mmio_driver_features(const struct tg_virtio *d, uint64_t f)
{
	wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static bool mmio_setup_queue(const struct tg_virtio *d, unsigned int qi,
			     const struct tg_vring *r, struct check *c)
{
	uint64_t desc = (uint64_t)(uintptr_t)r->desc;
	uint64_t avail = (uint64_t)(uintptr_t)&r->avail;
	uint64_t used = (uint64_t)(uintptr_t)&r->used;

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

static uint64_t mmio_config(const struct tg_virtio *d, uint32_t off)
{
	return d->base + MMIO_CONFIG + off;
}

static void mmio_notify(const struct tg_virtio *d, unsigned int qi)
{
	wr(d, MMIO_QUEUE_NOTIFY, qi);
}

static const struct tg_virtio_ops mmio_ops = {
	.status = mmio_status,
	.set_status = mmio_set_status,
	.device_features = mmio_device_features,
	.driver_features = mmio_driver_features,
	.setup_queue = mmio_setup_queue,
	.config = mmio_config,
	.notify = mmio_notify,
};

bool tg_virtio_mmio_find(const char *cmdline, uint32_t device_id,
			 struct tg_virtio *d, struct check *c)
{
	size_t klen = strlen(ENTRY_KEY);
	unsigned int entries = 0;
	const char *p = cmdline;

	d->ops = &mmio_ops;
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
