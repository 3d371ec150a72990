// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-balloon's page frame lists (inflate, deflate),
 * free page reports and statistics buffers, with the control API asking
 * for a new target and for statistics in between. The balloon may never
 * hold more pages than guest RAM has.
 *
 * HOST op: u8 action; 0 a new target (u32 pages), 1 ask for statistics.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/virtio/balloon.h"
#include "fuzz_virtio.h"

static struct balloon_control *control;

static int balloon_create(struct fuzz_virtio *f, struct device **dev,
			  struct err *e)
{
	struct balloon_config cfg = {
		.enabled = true, .pages = 64, .deflate_on_oom = true,
	};

	return virtio_balloon_create(&f->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				     dev, &control, e);
}

static void stats_done(void *ctx, const struct balloon_stats *stats,
		       const struct err *e)
{
	(void)ctx, (void)e;
	if (stats && stats->nr > BALLOON_MAX_STATS)
		abort();
}

static void balloon_host(struct fuzz_virtio *f, struct fuzz_input *in)
{
	struct balloon_counters c;
	struct err e;

	if (fuzz_u8(in) % 2 == 0)
		control->request_num_pages(control->opaque, fuzz_u32(in) % 2048,
					   &e);
	else
		control->get_mem_stats(control->opaque, stats_done, NULL, &e);
	fuzz_virtio_drain(f);
	virtio_balloon_counters(control, &c);
	if (c.balloon_pages > f->th.mem.size / BALLOON_PAGE_SIZE) {
		fprintf(stderr, "fuzz: virtio-balloon holds %u pages of %llu\n",
			c.balloon_pages,
			(unsigned long long)(f->th.mem.size / BALLOON_PAGE_SIZE));
		abort();
	}
}

static const struct fuzz_device balloon = {
	.name = "virtio-balloon",
	.nr_queues = VIRTIO_BALLOON_NR_QUEUES,
	.create = balloon_create,
	.host = balloon_host,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_virtio_run(&balloon, data, size);
}
