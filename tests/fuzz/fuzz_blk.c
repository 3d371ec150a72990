// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-blk's request handling, driven by the driver
 * program of fuzz_virtio.h on a 1 MiB image: headers, sectors, segment
 * layouts, DISCARD and WRITE_ZEROES ranges, hostile rings, resets with
 * I/O in flight.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "fuzz_virtio.h"

#define IMAGE_SIZE (1024 * 1024)

/* An unlinked file, reopened by each input's device through /proc. */
static char image[64];

static void blk_init(struct fuzz_virtio *f)
{
	char path[64];
	int fd;

	(void)f;
	/* On tmpfs: a FLUSH costs nothing, whatever the host's disks do. */
	snprintf(path, sizeof(path), "/dev/shm/vmm-fuzz-blk-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, IMAGE_SIZE) < 0)
		abort();
	unlink(path);
	snprintf(image, sizeof(image), "/proc/self/fd/%d", fd);
}

static int blk_create(struct fuzz_virtio *f, struct device **dev,
		      struct err *e)
{
	struct disk_config cfg = { .path = image, .serial = "fuzz" };
	struct rate_limit_control *limits;

	return virtio_blk_create(&f->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				 dev, &limits, e);
}

static const struct fuzz_device blk = {
	.name = "virtio-blk",
	.nr_queues = 1,
	.init = blk_init,
	.create = blk_create,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_virtio_run(&blk, data, size);
}
