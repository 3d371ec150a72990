// SPDX-License-Identifier: MIT
/*
 * The PL031 real-time clock as rtc-pl031 and the AMBA bus use it: the
 * peripheral ID, the count, loading it, the match interrupt, snapshots.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "devices/arm64/pl031.h"
#include "virtio_driver.h"
#include "vmm/state.h"

#define RTC_BASE 0x0b004000ULL
#define RTC_GSI 7

static struct vtest_host th;
static struct device *dev;

static void setup(void)
{
	struct err e;

	cr_assert_eq(vtest_host_init(&th, 1 * MiB, false), 0);
	cr_assert_eq(pl031_create(&th.host, RTC_BASE, RTC_GSI, &dev, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
}

static void teardown(void)
{
	vtest_host_stop(&th);
	dev->ops->destroy(dev);
	vtest_host_destroy(&th);
}

static uint32_t rd(uint64_t reg)
{
	uint8_t v[4];

	cr_assert(bus_read(&th.mmio, RTC_BASE + reg, v, 4));
	return get_le32(v);
}

static void wr(uint64_t reg, uint32_t val)
{
	uint8_t v[4];

	put_le32(v, val);
	cr_assert(bus_write(&th.mmio, RTC_BASE + reg, v, 4));
}

TestSuite(pl031, .init = setup, .fini = teardown, .timeout = 30);

Test(pl031, amba_bus_finds_a_pl031_by_its_ids)
{
	static const uint32_t id[8] = { 0x31, 0x10, 0x04, 0x00,
					0x0d, 0xf0, 0x05, 0xb1 };

	for (unsigned int i = 0; i < 8; i++)
		cr_assert_eq(rd(PL031_ID + 4 * i), id[i], "ID register %u", i);
	cr_assert_eq(rd(PL031_CR), 1, "the counter runs");
}

Test(pl031, count_is_the_host_utc_time_and_load_moves_it)
{
	uint32_t now = (uint32_t)time(NULL);
	uint32_t count = rd(PL031_DR);

	cr_assert(count >= now && count <= now + 2, "count %u, host %u", count, now);
	wr(PL031_LR, 1000);
	count = rd(PL031_DR);
	cr_assert(count >= 1000 && count <= 1002, "count %u after loading 1000", count);
}

Test(pl031, narrow_or_unaligned_accesses_read_zero_and_change_nothing)
{
	uint8_t b = 0xff;

	cr_assert(bus_read(&th.mmio, RTC_BASE + PL031_ID, &b, 1));
	cr_assert_eq(b, 0);
	wr(PL031_MR, 77);
	cr_assert(bus_write(&th.mmio, RTC_BASE + PL031_MR + 1, &b, 1));
	cr_assert_eq(rd(PL031_MR), 77);
}

Test(pl031, match_raises_the_interrupt_until_cleared)
{
	wr(PL031_LR, 5000);
	wr(PL031_IMSC, 1);
	wr(PL031_MR, 5001);
	/* The count reaches 5001 at the next second boundary. */
	cr_assert(vtest_irq_wait(&th, RTC_GSI, 5000), "no match interrupt");
	cr_assert_eq(rd(PL031_RIS), 1);
	cr_assert_eq(rd(PL031_MIS), 1);
	wr(PL031_ICR, 1);
	cr_assert_eq(rd(PL031_RIS), 0);
	cr_assert_eq(rd(PL031_MIS), 0);
}

Test(pl031, masked_match_is_raw_status_only)
{
	wr(PL031_LR, 5000);
	wr(PL031_MR, 5001);
	while (rd(PL031_RIS) == 0) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };

		cr_assert_leq(rd(PL031_DR), 5003, "no match by 5003");
		nanosleep(&tick, NULL);
	}
	cr_assert_eq(rd(PL031_MIS), 0);
	cr_assert_eq(vtest_irq_count(&th, RTC_GSI), 0);
}

/* A snapshot carries the loaded count, the alarm and its interrupt state. */
Test(pl031, snapshot_carries_count_alarm_and_interrupt)
{
	struct device *copy;
	struct state_section root, d;
	struct state_writer w;
	const uint8_t *buf;
	size_t len;
	struct err e;

	wr(PL031_LR, 5000);
	wr(PL031_MR, 4000); /* passed: fires once the count wraps */
	wr(PL031_IMSC, 1);
	state_writer_init(&w);
	state_begin(&w, "device");
	cr_assert_eq(dev->ops->save(dev, &w, &e), 0, "%s", e.msg);
	state_end(&w);
	cr_assert_eq(state_finish(&w, &buf, &len, &e), 0);
	cr_assert_eq(state_open(buf, len, &root, &e), 0, "%s", e.msg);
	cr_assert_eq(state_get_section(&root, "device", &d, &e), 0);
	/* The copy sits where the first was, once that one is gone. */
	vtest_host_stop(&th);
	dev->ops->destroy(dev);
	cr_assert_eq(pl031_create(&th.host, RTC_BASE, RTC_GSI, &copy, &e), 0,
		     "%s", e.msg);
	dev = copy;
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(dev->ops->restore(dev, &d, &e), 0, "%s", e.msg);
	state_writer_free(&w);
	cr_assert(rd(PL031_DR) >= 5000 && rd(PL031_DR) <= 5002, "count %u",
		  rd(PL031_DR));
	cr_assert_eq(rd(PL031_MR), 4000);
	cr_assert_eq(rd(PL031_IMSC), 1);
	cr_assert_eq(rd(PL031_RIS), 0, "no interrupt raised by the restore");
}
