// SPDX-License-Identifier: MIT
/*
 * virtio_balloon check: inflate, statistics, deflate on a lower target,
 * free page reporting (see virtio_balloon.h for what the host does).
 */
#include "virtio_balloon.h"

#include "cmdline.h"
#include "io.h"
#include "serial.h"
#include "str.h"
#include "virtio.h"

#define VIRTIO_ID_BALLOON 5
#define F_STATS_VQ 1
#define F_PAGE_REPORTING 5
#define INFLATEQ 0
#define DEFLATEQ 1
#define STATSQ 2
#define REPORTQ 3 /* follows statsq: no free page hinting queue */
#define NR_QUEUES 4
#define CFG_NUM_PAGES 0
#define CFG_ACTUAL 4
#define PAGE 4096ULL
#define PFNS 256
#define STAT_SIZE 10
#define MiB (1ULL << 20)
/* Tens of seconds at a few GHz: the host answers within a second. */
#define TARGET_WAIT_TICKS (1ULL << 37)

static struct {
	struct tg_vring rings[NR_QUEUES];
	uint8_t stats[TG_BALLOON_NR_STATS * STAT_SIZE];
	uint8_t pfns[PFNS * 4];
} bl __attribute__((aligned(4096)));

static void wr_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool post_stats(struct tg_virtio *d, unsigned int round,
		       struct check *c)
{
	struct tg_buf b = { bl.stats, sizeof(bl.stats), false };

	for (unsigned int t = 0; t < TG_BALLOON_NR_STATS; t++) {
		wr_le(bl.stats + t * STAT_SIZE, t, 2);
		wr_le(bl.stats + t * STAT_SIZE + 2, tg_balloon_stat(t, round), 8);
	}
	return tg_virtio_submit(d, STATSQ, &b, 1, c);
}

static volatile uint64_t *page(uint32_t i)
{
	return (volatile uint64_t *)(uintptr_t)(TG_BALLOON_REGION + i * PAGE);
}

/* Sends the PFNs of pages [first, first + n) of the region on @q. */
static bool send_pages(struct tg_virtio *d, unsigned int q, uint32_t first,
		       uint32_t n, struct check *c)
{
	uint32_t base = (uint32_t)(TG_BALLOON_REGION / PAGE);

	while (n) {
		uint32_t k = n < PFNS ? n : PFNS, used;
		struct tg_buf b = { bl.pfns, k * 4, false };

		for (uint32_t i = 0; i < k; i++)
			wr_le(bl.pfns + 4 * i, base + first + i, 4);
		if (!tg_virtio_submit(d, q, &b, 1, c) ||
		    !tg_virtio_wait(d, q, &used, c))
			return false;
		first += k;
		n -= k;
	}
	return true;
}

static void set_actual(struct tg_virtio *d, uint32_t pages)
{
	tg_virtio_config_write32(d, CFG_ACTUAL, pages);
}

/* The region and the report range must be RAM the guest does not use. */
static bool check_layout(const char *cmdline, uint32_t target,
			 struct check *c)
{
	extern const char __image_end[];
	const char *val;
	uint32_t want, mem;
	size_t len;

	if (cmdline_param(cmdline, "testguest.balloon_pages", &val, &len) >= 0 &&
	    (!parse_dec32(val, len, &want) || want != target))
		return check_fail(c, "the device's target is %u pages, testguest.balloon_pages=%.*s",
				  target, (int)len, val);
	if ((uint64_t)(uintptr_t)__image_end > TG_BALLOON_REGION ||
	    TG_BALLOON_REGION + target * PAGE > TG_BALLOON_REPORT)
		return check_fail(c, "a target of %u pages does not fit between the image and the report range",
				  target);
	if (cmdline_param(cmdline, "testguest.mem", &val, &len) < 0 ||
	    !parse_dec32(val, len, &mem) ||
	    mem * MiB < TG_BALLOON_REPORT + TG_BALLOON_REPORT_LEN)
		return check_fail(c, "needs testguest.mem of at least %llu MiB",
				  (TG_BALLOON_REPORT + TG_BALLOON_REPORT_LEN) /
					  MiB);
	return true;
}

/* Steps 1-3: touch, answer the statistics request, inflate. */
static bool inflate(struct tg_virtio *d, uint32_t target, struct check *c)
{
	uint32_t used;

	for (uint32_t i = 0; i < target; i++)
		*page(i) = 0x5a5a0000ULL + i;
	serial_puts(TG_BALLOON_TOUCHED "\n");
	if (!tg_virtio_wait(d, STATSQ, &used, c) || !post_stats(d, 1, c) ||
	    !send_pages(d, INFLATEQ, 0, target, c))
		return false;
	set_actual(d, target);
	serial_puts(TG_BALLOON_INFLATED "\n");
	return true;
}

/*
 * Steps 4 and 5: the host lowers the target below *@size; the pages
 * handed back read as zeroes. *@size becomes the new size.
 */
static bool deflate(struct tg_virtio *d, uint32_t *size, struct check *c)
{
	uint32_t target = *size, now;
	uint64_t start = rdtsc();

	while ((now = tg_virtio_config32(d, CFG_NUM_PAGES)) >= target) {
		if (rdtsc() - start > TARGET_WAIT_TICKS)
			return check_fail(c, "the target stayed at %u pages", now);
		cpu_relax();
	}
	if (!send_pages(d, DEFLATEQ, now, target - now, c))
		return false;
	for (uint32_t i = now; i < target; i++)
		if (*page(i))
			return check_fail(c, "deflated page %u still holds its old contents",
					  i);
	set_actual(d, now);
	serial_printf(TG_BALLOON_DEFLATED " %u\n", now);
	*size = now;
	return true;
}

/* Step 5: a free page report of a range the guest wrote to. */
static bool report(struct tg_virtio *d, struct check *c)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)TG_BALLOON_REPORT;
	struct tg_buf b = { (const void *)(uintptr_t)TG_BALLOON_REPORT,
			    (uint32_t)TG_BALLOON_REPORT_LEN, true };
	uint64_t words = TG_BALLOON_REPORT_LEN / 8, step = PAGE / 8;
	uint32_t used;

	for (uint64_t i = 0; i < words; i += step)
		p[i] = 0xa5a5a5a5ULL;
	if (!tg_virtio_submit(d, REPORTQ, &b, 1, c) ||
	    !tg_virtio_wait(d, REPORTQ, &used, c))
		return false;
	for (uint64_t i = 0; i < words; i += step)
		if (p[i])
			return check_fail(c, "reported page at 0x%llx kept its contents",
					  TG_BALLOON_REPORT + i * 8);
	return true;
}

void tg_virtio_balloon_test(const char *cmdline, struct check *c)
{
	struct tg_virtio d = { .name = "virtio-balloon" };
	uint32_t target;

	if (TG_VIRTIO_MAX_QUEUES < NR_QUEUES) {
		check_fail(c, "the guest's virtio driver handles %d queues, the balloon needs %d",
			   TG_VIRTIO_MAX_QUEUES, NR_QUEUES);
		return;
	}
	if (!tg_virtio_find(cmdline, VIRTIO_ID_BALLOON, &d, c) ||
	    !tg_virtio_start(&d, 1ULL << F_STATS_VQ | 1ULL << F_PAGE_REPORTING,
			     bl.rings, NR_QUEUES, c))
		return;
	target = tg_virtio_config32(&d, CFG_NUM_PAGES);
	if (!check_layout(cmdline, target, c) || !post_stats(&d, 0, c))
		return;
	if (!inflate(&d, target, c) || !deflate(&d, &target, c))
		return;
	if (target && !deflate(&d, &target, c))
		return;
	report(&d, c);
}
