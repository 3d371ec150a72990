// SPDX-License-Identifier: MIT
/* virtio_blk check: read the signature, write, flush, read back, GET_ID. */
#include "virtio.h"

#include "cmdline.h"
#include "str.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define SECTOR 512
#define ID_BYTES 20

struct blk_req {
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} hdr;
	uint8_t status;
};

static struct {
	struct tg_vring ring;
	struct blk_req req;
	uint8_t data[TG_BLK_LEN] __attribute__((aligned(SECTOR)));
	uint8_t back[TG_BLK_LEN] __attribute__((aligned(SECTOR)));
} blk __attribute__((aligned(4096)));

/* One request: header, optional data, status byte. */
static bool blk_do(struct tg_virtio *d, uint32_t type, uint64_t sector,
		   void *data, uint32_t len, bool device_writes,
		   struct check *c)
{
	struct tg_buf bufs[3];
	unsigned int n = 0;
	uint32_t used;

	blk.req.hdr.type = type;
	blk.req.hdr.reserved = 0;
	blk.req.hdr.sector = sector;
	blk.req.status = 0xff;
	bufs[n++] = (struct tg_buf){ &blk.req.hdr, sizeof(blk.req.hdr), false };
	if (len)
		bufs[n++] = (struct tg_buf){ data, len, device_writes };
	bufs[n++] = (struct tg_buf){ &blk.req.status, 1, true };
	if (!tg_virtio_submit(d, 0, bufs, n, c) || !tg_virtio_wait(d, 0, &used, c))
		return false;
	if (blk.req.status != VIRTIO_BLK_S_OK)
		return check_fail(c, "request type %u at sector %lu: status %u",
				  type, sector, blk.req.status);
	return true;
}

static bool blk_check_serial(struct tg_virtio *d, const char *cmdline,
			     struct check *c)
{
	uint8_t id[ID_BYTES];
	const char *want;
	size_t len;

	if (cmdline_param(cmdline, "testguest.blk_serial", &want, &len) < 0)
		return true;
	memset(id, 0, sizeof(id));
	if (!blk_do(d, VIRTIO_BLK_T_GET_ID, 0, id, ID_BYTES, true, c))
		return false;
	if (len > ID_BYTES || memcmp(id, want, len) ||
	    (len < ID_BYTES && id[len]))
		return check_fail(c, "serial is '%.20s', expected '%.*s'",
				  (const char *)id, (int)len, want);
	return true;
}

void tg_virtio_blk_test(const char *cmdline, struct check *c)
{
	size_t sig = strlen(TG_BLK_SIGNATURE);
	struct tg_virtio d = { .name = "virtio-blk" };
	uint64_t capacity;
	unsigned int i;

	if (!tg_virtio_find(cmdline, VIRTIO_ID_BLOCK, &d, c) ||
	    !tg_virtio_start(&d, 1ULL << VIRTIO_BLK_F_FLUSH, &blk.ring, 1, c))
		return;
	capacity = tg_virtio_config32(&d, 0) |
		   (uint64_t)tg_virtio_config32(&d, 4) << 32;
	if (capacity < TG_BLK_SECTOR + TG_BLK_LEN / SECTOR) {
		check_fail(c, "capacity of %lu sectors is too small", capacity);
		return;
	}
	if (!blk_do(&d, VIRTIO_BLK_T_IN, 0, blk.back, SECTOR, true, c))
		return;
	if (memcmp(blk.back, TG_BLK_SIGNATURE, sig)) {
		check_fail(c, "sector 0 does not start with " TG_BLK_SIGNATURE);
		return;
	}
	for (i = 0; i < TG_BLK_LEN; i++)
		blk.data[i] = tg_blk_pattern(i);
	memset(blk.back, 0, sizeof(blk.back));
	if (!blk_do(&d, VIRTIO_BLK_T_OUT, TG_BLK_SECTOR, blk.data, TG_BLK_LEN,
		    false, c) ||
	    !blk_do(&d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, c) ||
	    !blk_do(&d, VIRTIO_BLK_T_IN, TG_BLK_SECTOR, blk.back, TG_BLK_LEN,
		    true, c))
		return;
	if (memcmp(blk.back, blk.data, TG_BLK_LEN)) {
		check_fail(c, "data read back differs from what was written");
		return;
	}
	blk_check_serial(&d, cmdline, c);
}
