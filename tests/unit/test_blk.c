// SPDX-License-Identifier: MIT
/*
 * virtio-blk through the simulated driver: every request type and feature,
 * requests laid out in every way a driver may split them, hostile requests,
 * many requests in flight, reset during I/O, and FLUSH durability across a
 * kill -9 of the process running the device.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "virtio_driver.h"

#define MEM_SIZE (32 * MiB)
#define HEAP (1 * MiB)
#define DISK_SIZE (4 * MiB)
#define WAIT_MS 5000
#define QSIZE 256
#define MSEC 1000000ULL

#define BLK_FEATURES                                                           \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |  \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |    \
	 VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |   \
	 VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |                                    \
	 VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

static struct vtest_host th;
static struct device *dev;
static struct rate_limit_control *limits;
static struct vdrv drv;
static char image[64];
static int image_fd = -1;
/* The limits the next disk is created with. */
static struct rate_limit_config limit_cfg;

/* Byte @i of the image as created: a pattern no two sectors share. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 512);
}

static void make_image(void)
{
	uint8_t *buf = malloc(DISK_SIZE);

	cr_assert(buf);
	strcpy(image, "/var/tmp/vmm-blk-XXXXXX");
	image_fd = mkstemp(image);
	cr_assert_geq(image_fd, 0);
	for (uint64_t i = 0; i < DISK_SIZE; i++)
		buf[i] = pattern(i);
	cr_assert_eq(pwrite(image_fd, buf, DISK_SIZE, 0), DISK_SIZE);
	free(buf);
}

static int create_disk_at(const struct virtio_attach *at, bool ro,
			  const char *serial, struct err *e)
{
	struct disk_config cfg = {
		.path = image, .read_only = ro, .serial = (char *)serial,
		.rate_limit = limit_cfg,
	};

	return virtio_blk_create(&th.host, at, &cfg, &dev, &limits, e);
}

static int create_disk(bool ro, const char *serial, struct err *e)
{
	return create_disk_at(&VTEST_MMIO(VTEST_BASE, VTEST_GSI), ro, serial,
			      e);
}

/* With @fake_clock, the disk's time moves only when a test moves it. */
static void setup_common(bool ro, bool fake_clock)
{
	struct err e;

	make_image();
	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
	if (fake_clock)
		vtest_clock_fake(&th, 1000 * MSEC);
	cr_assert_eq(create_disk(ro, "disk-serial-1", &e), 0, "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
}

/* The same disk as a virtio-pci function with MSI-X. */
static void setup_pci(void)
{
	struct virtio_attach at;
	struct err e;

	make_image();
	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
	at = vtest_pci_at(&th, VTEST_PCI_SLOT);
	cr_assert_eq(create_disk_at(&at, false, "disk-serial-1", &e), 0, "%s",
		     e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(vdrv_init_pci(&drv, &th, VTEST_PCI_SLOT, true, HEAP,
				   MEM_SIZE - HEAP), 0);
}

static void setup(void)
{
	setup_common(false, false);
}

static void setup_ro(void)
{
	setup_common(true, false);
}

static void setup_fake_clock(void)
{
	setup_common(false, true);
}

static void teardown(void)
{
	vtest_teardown(&th, &dev, &drv);
	close(image_fd);
	unlink(image);
}

struct blk_result {
	bool done;
	uint8_t status;
	uint32_t len;
};

/* Header, data, status as three descriptors. */
static int queue_req(uint32_t type, uint64_t sector, uint64_t data,
		     uint32_t len, bool device_writes, uint64_t *status)
{
	uint64_t hdr = vdrv_alloc(&drv, 16, 16);
	uint8_t *h = vdrv_ptr(&drv, hdr, 16);
	struct vdrv_buf bufs[3];
	unsigned int n = 0;

	*status = vdrv_alloc(&drv, 1, 1);
	*(uint8_t *)vdrv_ptr(&drv, *status, 1) = 0xee;
	put_le32(h, type);
	put_le64(h + 8, sector);
	bufs[n++] = (struct vdrv_buf){ hdr, 16, false };
	if (len)
		bufs[n++] = (struct vdrv_buf){ data, len, device_writes };
	bufs[n++] = (struct vdrv_buf){ *status, 1, true };
	return vdrv_add(&drv, 0, bufs, n, false);
}

static struct blk_result wait_req(int head, uint64_t status)
{
	struct blk_result r = { 0 };
	uint32_t id;

	r.done = vdrv_wait_used(&drv, 0, &id, &r.len, WAIT_MS);
	cr_assert(r.done, "request %d not completed", head);
	cr_assert_eq(id, (uint32_t)head, "request %d came back as %u", head, id);
	r.status = *(uint8_t *)vdrv_ptr(&drv, status, 1);
	return r;
}

static struct blk_result req(uint32_t type, uint64_t sector, uint64_t data,
			     uint32_t len, bool device_writes)
{
	uint64_t status;
	int head = queue_req(type, sector, data, len, device_writes, &status);

	cr_assert_geq(head, 0);
	vdrv_kick(&drv, 0);
	return wait_req(head, status);
}

static void start(uint64_t features)
{
	cr_assert_eq(vdrv_start(&drv, features, 1, QSIZE), 0);
}

static void assert_image(uint64_t off, const void *want, size_t len)
{
	uint8_t *got = malloc(len);

	cr_assert(got);
	cr_assert_eq(pread(image_fd, got, len, (off_t)off), (ssize_t)len);
	cr_assert_eq(memcmp(got, want, len), 0, "image differs at %#llx",
		     (unsigned long long)off);
	free(got);
}

static void assert_pattern(const uint8_t *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(p[i], pattern(off + i), "byte %#llx",
			     (unsigned long long)(off + i));
}

TestSuite(blk, .init = setup, .fini = teardown, .timeout = 60);

Test(blk, config_space_and_features)
{
	uint8_t c[VIRTIO_BLK_CFG_SIZE];
	uint64_t f = vdrv_device_features(&drv);

	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	cr_assert_eq(f & BLK_FEATURES, BLK_FEATURES);
	cr_assert_eq(f & VIRTIO_BIT(VIRTIO_BLK_F_RO), 0);
	vdrv_config_read(&drv, 0, c, sizeof(c));
	cr_assert_eq(get_le64(c + VIRTIO_BLK_CFG_CAPACITY), DISK_SIZE / 512);
	cr_assert_eq(get_le32(c + VIRTIO_BLK_CFG_SEG_MAX), VIRTIO_BLK_SEG_MAX);
	cr_assert_eq(get_le32(c + VIRTIO_BLK_CFG_BLK_SIZE), 512);
	cr_assert_eq(get_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG),
		     VIRTIO_BLK_MAX_RANGE_SEG);
	cr_assert_eq(c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP], 1);
}

Test(blk, read_through_direct_and_buffered_paths)
{
	/* Page-aligned buffers take O_DIRECT, an odd address the page cache. */
	uint64_t aligned = vdrv_alloc(&drv, 8192, 4096);
	uint64_t odd = vdrv_alloc(&drv, 8192 + 8, 4096) + 8;
	struct blk_result r;

	start(BLK_FEATURES);
	r = req(VIRTIO_BLK_T_IN, 8, aligned, 8192, true);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	cr_assert_eq(r.len, 8193, "data plus status byte written");
	assert_pattern(vdrv_ptr(&drv, aligned, 8192), 8 * 512, 8192);
	r = req(VIRTIO_BLK_T_IN, 3, odd, 1024, true);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	assert_pattern(vdrv_ptr(&drv, odd, 1024), 3 * 512, 1024);
}

Test(blk, write_reaches_the_image_and_reads_back)
{
	uint64_t buf = vdrv_alloc(&drv, 4096, 4096);
	uint64_t odd = vdrv_alloc(&drv, 512 + 1, 512) + 1;
	uint64_t back = vdrv_alloc(&drv, 4096, 4096);
	struct blk_result r;

	start(BLK_FEATURES);
	memset(vdrv_ptr(&drv, buf, 4096), 0xa5, 4096);
	r = req(VIRTIO_BLK_T_OUT, 16, buf, 4096, false);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	cr_assert_eq(r.len, 1, "only the status byte is written");
	assert_image(16 * 512, vdrv_ptr(&drv, buf, 4096), 4096);
	memset(vdrv_ptr(&drv, odd, 512), 0x3c, 512);
	cr_assert_eq(req(VIRTIO_BLK_T_OUT, 17, odd, 512, false).status,
		     VIRTIO_BLK_S_OK);
	r = req(VIRTIO_BLK_T_IN, 16, back, 4096, true);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(((uint8_t *)vdrv_ptr(&drv, back, 4096))[i],
			     i >= 512 && i < 1024 ? 0x3c : 0xa5);
}

Test(blk, flush_and_get_id)
{
	uint64_t id = vdrv_alloc(&drv, VIRTIO_BLK_ID_BYTES, 8);
	struct blk_result r;

	start(BLK_FEATURES);
	r = req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	memset(vdrv_ptr(&drv, id, 20), 0xff, 20);
	r = req(VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, true);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	cr_assert_eq(r.len, 21);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, id, 20), "disk-serial-1\0\0\0\0\0\0\0", 20), 0,
		     "serial padded with zeroes");
}

static void range_req(uint32_t type, uint64_t sector, uint32_t num,
		      uint32_t flags, uint8_t want)
{
	uint64_t seg = vdrv_alloc(&drv, 16, 8);
	uint8_t *s = vdrv_ptr(&drv, seg, 16);

	put_le64(s, sector);
	put_le32(s + 8, num);
	put_le32(s + 12, flags);
	cr_assert_eq(req(type, 0, seg, 16, false).status, want,
		     "type %u sector %llu num %u flags %u", type,
		     (unsigned long long)sector, num, flags);
}

Test(blk, discard_and_write_zeroes)
{
	static const uint8_t zero[2048];

	start(BLK_FEATURES);
	range_req(VIRTIO_BLK_T_DISCARD, 64, 8, 0, VIRTIO_BLK_S_OK);
	assert_image(64 * 512, zero, 4096 > sizeof(zero) ? sizeof(zero) : 4096);
	range_req(VIRTIO_BLK_T_WRITE_ZEROES, 100, 4, 0, VIRTIO_BLK_S_OK);
	assert_image(100 * 512, zero, 2048);
	range_req(VIRTIO_BLK_T_WRITE_ZEROES, 200, 4, VIRTIO_BLK_WZ_UNMAP,
		  VIRTIO_BLK_S_OK);
	assert_image(200 * 512, zero, 2048);
	{
		uint8_t after[16];

		cr_assert_eq(pread(image_fd, after, 16, 204 * 512), 16);
		assert_pattern(after, 204 * 512, 16);
	}
	range_req(VIRTIO_BLK_T_DISCARD, 0, 1, VIRTIO_BLK_WZ_UNMAP,
		  VIRTIO_BLK_S_UNSUPP);
	range_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0x10, VIRTIO_BLK_S_UNSUPP);
	range_req(VIRTIO_BLK_T_DISCARD, DISK_SIZE / 512 - 1, 2, 0,
		  VIRTIO_BLK_S_IOERR);
}

Test(blk, features_not_negotiated_are_refused)
{
	uint64_t seg = vdrv_alloc(&drv, 16, 8);
	uint64_t buf = vdrv_alloc(&drv, 512, 512);

	start(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	put_le32((uint8_t *)vdrv_ptr(&drv, seg, 16) + 8, 1);
	cr_assert_eq(req(VIRTIO_BLK_T_DISCARD, 0, seg, 16, false).status,
		     VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false).status,
		     VIRTIO_BLK_S_UNSUPP);
	/* Without FLUSH the disk is write-through; writes still work. */
	memset(vdrv_ptr(&drv, buf, 512), 0x77, 512);
	cr_assert_eq(req(VIRTIO_BLK_T_OUT, 1, buf, 512, false).status,
		     VIRTIO_BLK_S_OK);
	assert_image(512, vdrv_ptr(&drv, buf, 512), 512);
}

Test(blk, requests_beyond_the_end)
{
	uint64_t buf = vdrv_alloc(&drv, 1024, 512);
	uint64_t last = DISK_SIZE / 512 - 1;

	start(BLK_FEATURES);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, last, buf, 512, true).status,
		     VIRTIO_BLK_S_OK, "last sector is readable");
	cr_assert_eq(req(VIRTIO_BLK_T_IN, last, buf, 1024, true).status,
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req(VIRTIO_BLK_T_OUT, last + 1, buf, 512, false).status,
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 1ULL << 63, buf, 512, true).status,
		     VIRTIO_BLK_S_IOERR, "sector * 512 must not wrap");
	cr_assert_eq(req(VIRTIO_BLK_T_IN, ~0ULL, buf, 512, true).status,
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 0, buf, 100, true).status,
		     VIRTIO_BLK_S_IOERR, "not a whole number of sectors");
	cr_assert_eq(req(0x99, 0, buf, 512, true).status, VIRTIO_BLK_S_UNSUPP);
}

Test(blk, host_io_error_answers_ioerr)
{
	uint64_t aligned = vdrv_alloc(&drv, 4096, 4096);
	uint64_t odd = vdrv_alloc(&drv, 4096 + 8, 4096) + 8;

	start(BLK_FEATURES);
	/* The image shrinks under the device: reads past its end come up short. */
	cr_assert_eq(ftruncate(image_fd, 4096), 0);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 16, aligned, 4096, true).status,
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 16, odd, 4096, true).status,
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 0, aligned, 4096, true).status,
		     VIRTIO_BLK_S_OK, "what is left still reads");
}

Test(blk, header_split_and_oddly_segmented_requests)
{
	uint64_t hdr = vdrv_alloc(&drv, 16, 8), data = vdrv_alloc(&drv, 2048, 8);
	uint64_t tail = vdrv_alloc(&drv, 513, 8);
	uint8_t *h = vdrv_ptr(&drv, hdr, 16);
	/* Header in three pieces, a zero-length piece, data split unevenly,
	 * the last data bytes and the status byte in one descriptor. */
	struct vdrv_buf bufs[] = {
		{ hdr, 3, false }, { hdr + 3, 0, false }, { hdr + 3, 9, false },
		{ hdr + 12, 4, false }, { data, 1, true }, { data + 1, 1000, true },
		{ data + 1001, 0, true }, { data + 1001, 535, true },
		{ tail, 513, true },
	};
	uint32_t id, len;
	uint8_t *d = vdrv_ptr(&drv, data, 1536), *t = vdrv_ptr(&drv, tail, 513);

	start(BLK_FEATURES);
	put_le32(h, VIRTIO_BLK_T_IN);
	put_le64(h + 8, 5);
	for (int indirect = 0; indirect < 2; indirect++) {
		t[512] = 0xee;
		cr_assert_geq(vdrv_add(&drv, 0, bufs, ARRAY_SIZE(bufs), indirect), 0);
		vdrv_kick(&drv, 0);
		cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
		cr_assert_eq(t[512], VIRTIO_BLK_S_OK);
		cr_assert_eq(len, 2049);
		assert_pattern(d, 5 * 512, 1536);
		assert_pattern(t, 5 * 512 + 1536, 512);
	}
}

Test(blk, malformed_requests_fail_alone)
{
	uint64_t hdr = vdrv_alloc(&drv, 16, 8), buf = vdrv_alloc(&drv, 512, 512);
	struct vdrv_buf no_status[] = { { hdr, 16, false }, { buf, 512, false } };
	struct vdrv_buf short_hdr[] = { { hdr, 8, false }, { buf, 1, true } };
	struct vdrv_buf *segs = calloc(VIRTIO_BLK_SEG_MAX + 3, sizeof(*segs));
	uint32_t id, len;
	uint8_t *status = vdrv_ptr(&drv, buf + 511, 1);

	start(BLK_FEATURES);
	put_le32(vdrv_ptr(&drv, hdr, 4), VIRTIO_BLK_T_OUT);
	vdrv_add(&drv, 0, no_status, 2, false);
	vdrv_kick(&drv, 0);
	cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
	cr_assert_eq(len, 0, "no status byte: nothing written");
	vdrv_add(&drv, 0, short_hdr, 2, false);
	vdrv_kick(&drv, 0);
	cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
	cr_assert_eq(len, 0);
	/* More data segments than seg_max, through an indirect table. */
	segs[0] = (struct vdrv_buf){ hdr, 16, false };
	put_le32(vdrv_ptr(&drv, hdr, 4), VIRTIO_BLK_T_IN);
	for (int i = 1; i <= VIRTIO_BLK_SEG_MAX + 1; i++)
		segs[i] = (struct vdrv_buf){ vdrv_alloc(&drv, 512, 512), 512, true };
	segs[VIRTIO_BLK_SEG_MAX + 2] = (struct vdrv_buf){ buf + 511, 1, true };
	cr_assert_geq(vdrv_add(&drv, 0, segs, VIRTIO_BLK_SEG_MAX + 3, true), 0);
	vdrv_kick(&drv, 0);
	cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
	cr_assert_eq(*status, VIRTIO_BLK_S_IOERR);
	free(segs);
	cr_assert_eq(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 0, buf, 512, true).status,
		     VIRTIO_BLK_S_OK, "the device keeps working");
}

Test(blk, full_queue_in_flight)
{
	uint64_t bufs[QSIZE / 3], status[QSIZE / 3];
	int heads[QSIZE / 3];
	unsigned int n = ARRAY_SIZE(bufs), done = 0;
	uint16_t old;

	start(BLK_FEATURES);
	old = drv.q[0].avail_idx;
	for (unsigned int i = 0; i < n; i++) {
		bufs[i] = vdrv_alloc(&drv, 4096, 4096);
		heads[i] = queue_req(VIRTIO_BLK_T_IN, (i * 37) % (DISK_SIZE / 4096) * 8,
				     bufs[i], 4096, true, &status[i]);
		cr_assert_geq(heads[i], 0);
	}
	vdrv_kick_if_needed(&drv, 0, old);
	while (done < n) {
		uint32_t id, len;

		cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
		for (unsigned int i = 0; i < n; i++) {
			if (heads[i] != (int)id)
				continue;
			cr_assert_eq(*(uint8_t *)vdrv_ptr(&drv, status[i], 1),
				     VIRTIO_BLK_S_OK);
			assert_pattern(vdrv_ptr(&drv, bufs[i], 4096),
				       (i * 37) % (DISK_SIZE / 4096) * 4096, 4096);
		}
		done++;
	}
}

#define RESET_READS 64

Test(blk, reset_with_requests_in_flight)
{
	uint64_t status, bufs = vdrv_alloc(&drv, RESET_READS * 4096, 4096);
	uint8_t *mem = vdrv_ptr(&drv, bufs, RESET_READS * 4096);
	uint8_t *seen = malloc(RESET_READS * 4096);

	cr_assert_not_null(seen);
	start(BLK_FEATURES);
	memset(mem, 0xee, RESET_READS * 4096);
	for (int i = 0; i < RESET_READS; i++)
		queue_req(VIRTIO_BLK_T_IN, (uint64_t)i * 8, bufs + i * 4096ULL,
			  4096, true, &status);
	vdrv_kick(&drv, 0);
	/* The vCPU returns at once; the status reads 0 once the I/O is in. */
	cr_assert(vdrv_reset(&drv, WAIT_MS), "the reset never completed");
	cr_assert_eq(vdrv_status(&drv), 0);
	memcpy(seen, mem, RESET_READS * 4096);
	start(BLK_FEATURES);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 0, vdrv_alloc(&drv, 512, 512), 512,
			 true).status, VIRTIO_BLK_S_OK);
	/* Destroying the device waits for any I/O still in flight. */
	vtest_host_stop(&th);
	dev->ops->destroy(dev);
	dev = NULL;
	cr_assert_eq(memcmp(seen, mem, RESET_READS * 4096), 0,
		     "a read landed in guest memory after the reset completed");
	free(seen);
}

Test(blk, image_errors_name_the_disk)
{
	struct err e;
	struct device *second;
	struct rate_limit_control *second_limits;
	struct disk_config cfg = { .path = image };

	cr_assert_eq(virtio_blk_create(&th.host, &VTEST_MMIO(VTEST_BASE + 0x1000, 6), &cfg,
				       &second, &second_limits, &e), -1);
	cr_assert(strstr(e.msg, image) && strstr(e.msg, "in use"), "%s", e.msg);
	cfg.path = "/nonexistent/disk.img";
	cr_assert_eq(virtio_blk_create(&th.host, &VTEST_MMIO(VTEST_BASE + 0x1000, 6), &cfg,
				       &second, &second_limits, &e), -1);
	cr_assert(strstr(e.msg, "/nonexistent/disk.img") &&
		  strstr(e.msg, "No such file"), "%s", e.msg);
	cfg.path = "/var/tmp";
	cr_assert_eq(virtio_blk_create(&th.host, &VTEST_MMIO(VTEST_BASE + 0x1000, 6), &cfg,
				       &second, &second_limits, &e), -1);
	cr_assert(strstr(e.msg, "/var/tmp"), "%s", e.msg);
	cfg.path = image;
	cfg.serial = "123456789012345678901";
	cr_assert_eq(virtio_blk_create(&th.host, &VTEST_MMIO(VTEST_BASE + 0x1000, 6), &cfg,
				       &second, &second_limits, &e), -1);
	cr_assert(strstr(e.msg, "serial"), "%s", e.msg);
}

TestSuite(blk_ro, .init = setup_ro, .fini = teardown, .timeout = 60);

Test(blk_ro, writes_fail_and_image_is_unchanged)
{
	uint64_t buf = vdrv_alloc(&drv, 512, 512), seg = vdrv_alloc(&drv, 16, 8);
	uint64_t f = vdrv_device_features(&drv);
	uint8_t orig[512];

	cr_assert(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	cr_assert_eq(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD), 0);
	start(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_RO) |
	      VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	memset(vdrv_ptr(&drv, buf, 512), 0x11, 512);
	cr_assert_eq(req(VIRTIO_BLK_T_OUT, 0, buf, 512, false).status,
		     VIRTIO_BLK_S_IOERR);
	put_le32((uint8_t *)vdrv_ptr(&drv, seg, 16) + 8, 1);
	cr_assert_neq(req(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false).status,
		      VIRTIO_BLK_S_OK);
	for (int i = 0; i < 512; i++)
		orig[i] = pattern((uint64_t)i);
	assert_image(0, orig, 512);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 0, buf, 512, true).status,
		     VIRTIO_BLK_S_OK);
	assert_pattern(vdrv_ptr(&drv, buf, 512), 0, 512);
	cr_assert_eq(req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false).status,
		     VIRTIO_BLK_S_OK);
}

/* ---- durability ---- */

struct cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

#define NR_CACHESTAT 451

/* Dirty or in-writeback pages of the image; -1 when the kernel cannot say. */
static long dirty_pages(int fd)
{
	struct cachestat_range range = { 0, 0 };
	struct cachestat cs;
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0 || sfs.f_type == 0x01021994 /* tmpfs */)
		return -1;
	if (syscall(NR_CACHESTAT, fd, &range, &cs, 0) < 0)
		return -1;
	return (long)(cs.nr_dirty + cs.nr_writeback);
}

/*
 * On a write-through disk (FLUSH not negotiated) a DISCARD or WRITE_ZEROES
 * is durable once it completes: the device syncs the file first, so even
 * a page the host left dirty in the image is written back by then.
 */
static void range_is_durable(uint32_t type)
{
	uint64_t seg = vdrv_alloc(&drv, 16, 8);
	uint8_t *p = vdrv_ptr(&drv, seg, 16);
	uint8_t junk[4096];
	long dirty;

	start(BLK_FEATURES & ~VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	memset(junk, 0x3c, sizeof(junk));
	cr_assert_eq(pwrite(image_fd, junk, sizeof(junk), 2 * MiB),
		     (ssize_t)sizeof(junk));
	dirty = dirty_pages(image_fd);
	if (dirty < 0)
		cr_skip_test("the kernel cannot count the image's dirty pages");
	cr_assert_gt(dirty, 0, "the host's write sits in the page cache");
	put_le64(p, 8);
	put_le32(p + 8, 8);
	cr_assert_eq(req(type, 0, seg, 16, false).status, VIRTIO_BLK_S_OK);
	cr_assert_eq(dirty_pages(image_fd), 0,
		     "completed before the file was synced");
}

Test(blk, write_zeroes_without_flush_is_durable)
{
	range_is_durable(VIRTIO_BLK_T_WRITE_ZEROES);
}

Test(blk, discard_without_flush_is_durable)
{
	range_is_durable(VIRTIO_BLK_T_DISCARD);
}

/* The child is the VMM: its own host, event loop and device. */
static void child_write_and_flush(int to_parent, int from_parent)
{
	uint64_t buf;
	struct err e;
	char c;

	if (vtest_host_init(&th, MEM_SIZE, false) < 0 ||
	    create_disk(false, NULL, &e) < 0 || vtest_host_start(&th) < 0)
		_exit(10);
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
	buf = vdrv_alloc(&drv, 8192 + 4, 4096) + 4;
	if (vdrv_start(&drv, BLK_FEATURES, 1, QSIZE) < 0)
		_exit(10);
	/* An unaligned buffer: the write goes through the page cache. */
	memset(vdrv_ptr(&drv, buf, 8192), 0xd5, 8192);
	if (req(VIRTIO_BLK_T_OUT, 40, buf, 8192, false).status != VIRTIO_BLK_S_OK)
		_exit(11);
	if (write(to_parent, "W", 1) != 1 || read(from_parent, &c, 1) != 1)
		_exit(12);
	if (req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false).status != VIRTIO_BLK_S_OK)
		_exit(13);
	if (write(to_parent, "F", 1) != 1)
		_exit(14);
	for (;;)
		pause();
}

static void image_only(void)
{
	make_image();
}

static void image_cleanup(void)
{
	close(image_fd);
	unlink(image);
}

Test(blk_durability, flushed_write_survives_kill_9, .init = image_only,
     .fini = image_cleanup, .timeout = 60)
{
	int up[2], down[2], st;
	uint8_t want[8192];
	long dirty;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(down), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		child_write_and_flush(up[1], down[0]);
	cr_assert_eq(read(up[0], &c, 1), 1);
	cr_assert_eq(c, 'W', "child failed before writing");
	dirty = dirty_pages(image_fd);
	if (dirty >= 0)
		cr_assert_gt(dirty, 0, "the unflushed write sits in the page cache");
	cr_assert_eq(write(down[1], "g", 1), 1);
	cr_assert_eq(read(up[0], &c, 1), 1);
	cr_assert_eq(c, 'F', "child failed to flush");
	if (dirty >= 0)
		cr_assert_eq(dirty_pages(image_fd), 0,
			     "FLUSH wrote every dirty page back");
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	memset(want, 0xd5, sizeof(want));
	assert_image(40 * 512, want, sizeof(want));
}

TestSuite(blk_pci, .init = setup_pci, .fini = teardown, .timeout = 60);

Test(blk_pci, identity_and_config_space)
{
	uint8_t c[VIRTIO_BLK_CFG_SIZE];

	cr_assert_eq(vdrv_cfg_read(&th, VTEST_PCI_SLOT, PCI_DEVICE_ID, 2),
		     0x1040 + VIRTIO_ID_BLOCK);
	cr_assert_eq(vdrv_cfg_read(&th, VTEST_PCI_SLOT, PCI_REVISION_ID, 4) >> 8,
		     0x018000, "mass storage");
	cr_assert_eq(vdrv_device_features(&drv) & BLK_FEATURES, BLK_FEATURES);
	vdrv_config_read(&drv, 0, c, sizeof(c));
	cr_assert_eq(get_le64(c + VIRTIO_BLK_CFG_CAPACITY), DISK_SIZE / 512);
}

Test(blk_pci, write_read_flush_and_id_with_msix)
{
	uint64_t buf = vdrv_alloc(&drv, 4096, 4096);
	uint64_t back = vdrv_alloc(&drv, 4096, 4096);
	uint64_t id = vdrv_alloc(&drv, VIRTIO_BLK_ID_BYTES, 8);
	struct blk_result r;

	start(BLK_FEATURES);
	memset(vdrv_ptr(&drv, buf, 4096), 0x5c, 4096);
	cr_assert_eq(req(VIRTIO_BLK_T_OUT, 24, buf, 4096, false).status,
		     VIRTIO_BLK_S_OK);
	assert_image(24 * 512, vdrv_ptr(&drv, buf, 4096), 4096);
	r = req(VIRTIO_BLK_T_IN, 24, back, 4096, true);
	cr_assert_eq(r.status, VIRTIO_BLK_S_OK);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, back, 4096),
			    vdrv_ptr(&drv, buf, 4096), 4096), 0);
	cr_assert_eq(req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false).status,
		     VIRTIO_BLK_S_OK);
	r = req(VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, true);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, id, 13), "disk-serial-1", 13), 0);
	/* Completions arrive on the queue's MSI-X vector, not on INTx. */
	cr_assert_geq(vdrv_irq_count(&drv, 0), 1);
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), 0);
}

/* --- What GetMetrics reports ----------------------------------------- */

static uint64_t counter(const char *name)
{
	return metrics_group_value(dev->metrics, name, NULL);
}

Test(blk, counters_follow_completed_requests)
{
	uint64_t buf = vdrv_alloc(&drv, 8192, 4096);

	start(BLK_FEATURES);
	cr_assert_not_null(dev->metrics);
	cr_assert_str_eq(dev->metrics->subsystem, "blk");
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 0, buf, 4096, true).status,
		     VIRTIO_BLK_S_OK);
	cr_assert_eq(req(VIRTIO_BLK_T_IN, 8, buf, 8192, true).status,
		     VIRTIO_BLK_S_OK);
	cr_assert_eq(req(VIRTIO_BLK_T_OUT, 8, buf, 1024, false).status,
		     VIRTIO_BLK_S_OK);
	cr_assert_eq(req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false).status,
		     VIRTIO_BLK_S_OK);
	/* Past the end: an error, counted as a read that moved nothing. */
	cr_assert_eq(req(VIRTIO_BLK_T_IN, DISK_SIZE / 512, buf, 512, true).status,
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req(77, 0, buf, 512, true).status, VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(counter("reads"), 3);
	cr_assert_eq(counter("read_bytes"), 4096 + 8192);
	cr_assert_eq(counter("writes"), 1);
	cr_assert_eq(counter("write_bytes"), 1024);
	cr_assert_eq(counter("flushes"), 1);
	cr_assert_eq(counter("errors"), 2);
	cr_assert_eq(counter("throttled"), 0);
	cr_assert_eq(counter("latency"), 6, "every request is timed");
}

/* --- Rate limits, counted on a clock the test moves ------------------- */

TestSuite(blk_limits, .init = setup_fake_clock, .fini = teardown,
	  .timeout = 60);

struct pending {
	int head;
	uint64_t status;
};

static void set_limits(uint64_t ops, uint64_t ops_burst, uint64_t bytes,
		       uint64_t bytes_burst)
{
	struct rate_limit_config cfg = { ops, ops_burst, bytes, bytes_burst };
	struct err e;

	cr_assert_eq(limits->set(limits->opaque, &cfg, &e), 0, "%s", e.msg);
}

/* @n reads of @len bytes from consecutive places, all made available at once. */
static void queue_reads(struct pending *p, unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t buf = vdrv_alloc(&drv, len, 4096);

		p[i].head = queue_req(VIRTIO_BLK_T_IN, (uint64_t)i * (len / 512),
				      buf, len, true, &p[i].status);
		cr_assert_geq(p[i].head, 0);
	}
	vdrv_kick(&drv, 0);
}

/* Waits until @want of the @n requests completed, in any order, all well. */
static void collect(const struct pending *p, unsigned int n,
		    unsigned int *done, unsigned int want)
{
	for (; *done < want; (*done)++) {
		uint32_t id, len;
		unsigned int i;

		cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS),
			  "only %u of %u requests completed", *done, want);
		for (i = 0; i < n && p[i].head != (int)id; i++)
			;
		cr_assert_lt(i, n, "unknown chain %u completed", id);
		cr_assert_eq(*(uint8_t *)vdrv_ptr(&drv, p[i].status, 1),
			     VIRTIO_BLK_S_OK, "request %u", i);
	}
}

/*
 * The disk has run out of tokens: it refused a request since the last
 * completion, and nothing more completes while the clock stands still.
 */
static void expect_held(void)
{
	uint64_t before = counter("throttled");
	uint32_t id, len;

	for (int i = 0; i < 500 && counter("throttled") == before; i++)
		usleep(10 * 1000);
	cr_assert_gt(counter("throttled"), before, "the disk never waited");
	usleep(30 * 1000);
	cr_assert_not(vdrv_get_used(&drv, 0, &id, &len),
		      "request %u completed without tokens", id);
}

Test(blk_limits, operations_per_second_and_burst)
{
	struct pending p[40];
	unsigned int done = 0;

	start(BLK_FEATURES);
	set_limits(100, 10, 0, 0);
	queue_reads(p, 40, 512);
	/* A full bucket: the burst goes at once. */
	collect(p, ARRAY_SIZE(p), &done, 10);
	expect_held();
	/* 100 ms at 100 per second: ten more. */
	vtest_clock_advance(&th, 100 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 20);
	expect_held();
	/* Ten idle seconds fill the bucket, never past its burst. */
	vtest_clock_advance(&th, 10000 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 30);
	expect_held();
	vtest_clock_advance(&th, 100 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 40);
	cr_assert_eq(counter("reads"), 40, "queued, never dropped");
}

Test(blk_limits, bytes_per_second)
{
	struct pending p[12];
	unsigned int done = 0;

	start(BLK_FEATURES);
	set_limits(0, 0, 64 * KiB, 0);
	queue_reads(p, 12, 16 * KiB);
	collect(p, ARRAY_SIZE(p), &done, 4);
	expect_held();
	/* Half a second: 32 KiB, two requests. */
	vtest_clock_advance(&th, 500 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 6);
	expect_held();
	/* A second and a half holds 96 KiB, but the bucket only 64 KiB. */
	vtest_clock_advance(&th, 1500 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 10);
	expect_held();
	vtest_clock_advance(&th, 500 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 12);
	cr_assert_eq(counter("read_bytes"), 12 * 16 * KiB);
}

Test(blk_limits, a_request_larger_than_the_burst_passes_and_is_paid_for)
{
	struct pending p[2];
	unsigned int done = 0;

	start(BLK_FEATURES);
	set_limits(0, 0, 4 * KiB, 0);
	queue_reads(p, 2, 16 * KiB);
	/* A full bucket lets it through, 12 KiB in debt. */
	collect(p, ARRAY_SIZE(p), &done, 1);
	expect_held();
	/* The debt and the next 4 KiB take four seconds, not less. */
	vtest_clock_advance(&th, 3900 * MSEC);
	expect_held();
	vtest_clock_advance(&th, 100 * MSEC);
	collect(p, ARRAY_SIZE(p), &done, 2);
}

Test(blk_limits, lifting_the_limit_releases_waiting_requests)
{
	struct pending p[20];
	unsigned int done = 0;

	start(BLK_FEATURES);
	set_limits(10, 2, 0, 0);
	queue_reads(p, 20, 512);
	collect(p, ARRAY_SIZE(p), &done, 2);
	expect_held();
	/* The clock stands still: only the new limits can let them go. */
	set_limits(0, 0, 0, 0);
	collect(p, ARRAY_SIZE(p), &done, 20);
}
