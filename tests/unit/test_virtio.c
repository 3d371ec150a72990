// SPDX-License-Identifier: MIT
/*
 * The virtio-mmio transport and the split virtqueue, driven by the
 * simulated driver against a small echo device (copies what it reads into
 * what it writes), through negotiation, every ring feature and rings a
 * hostile guest builds.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "echo_device.h"
#include "virtio_driver.h"

#define MEM_SIZE (16 * MiB)
#define HEAP (1 * MiB)
#define WAIT_MS 2000

static struct vtest_host th;
static struct echo echo;
static struct device *dev;
static struct vdrv drv;

static void create(bool kvm_ioeventfd)
{
	struct err e;

	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, kvm_ioeventfd), 0);
	echo_init(&echo);
	cr_assert_eq(virtio_mmio_create(&th.host, VTEST_BASE, VTEST_GSI,
					&echo.vdev, &dev, &e), 0, "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	vdrv_init(&drv, &th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
}

static void setup(void)
{
	create(false);
}

static void setup_kvm(void)
{
	create(true);
}

static void teardown(void)
{
	vtest_teardown(&th, &dev, &drv);
}

#define ALL_RING_FEATURES                                                      \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |  \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

static void start(uint64_t features)
{
	cr_assert_eq(vdrv_start(&drv, features, 2, ECHO_QSIZE), 0);
}

/* Sends @len bytes of @msg through the echo device; returns the reply length. */
static uint32_t echo_roundtrip(const char *msg, size_t len, bool indirect,
			       char *reply)
{
	int got = echo_send(&drv, 0, msg, len, indirect, reply, WAIT_MS);

	cr_assert_geq(got, 0, "no reply");
	return (uint32_t)got;
}

/* The device flagged the ring as broken and returned nothing. */
static void assert_needs_reset(void)
{
	cr_assert(vdrv_wait_status(&drv, VIRTIO_STATUS_NEEDS_RESET, WAIT_MS),
		  "device did not ask for a reset");
	cr_assert_eq(vdrv_used_idx(&drv, 0), 0, "a broken chain was used");
	cr_assert(vdrv_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG,
		  "configuration-change interrupt announces NEEDS_RESET");
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown, .timeout = 30);

Test(virtio_mmio, identification_registers)
{
	uint8_t b[2];

	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_DEVICE_ID), ECHO_ID);
	cr_assert_eq(vdrv_device_features(&drv),
		     ALL_RING_FEATURES | VIRTIO_BIT(ECHO_F_TEST));
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), ECHO_QSIZE);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0,
		     "missing queue has no size");
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff,
		     "no shared memory regions");
	/* Registers take 32-bit aligned accesses only. */
	bus_read(&th.mmio, VTEST_BASE + VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	cr_assert_eq(get_le16(b), 0);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_MAGIC_VALUE + 1), 0);
}

Test(virtio_mmio, feature_negotiation_rules)
{
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40)), -1,
		     "a feature the device did not offer");
	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(ECHO_F_TEST)), -1,
		     "legacy drivers are refused");
	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					   VIRTIO_BIT(ECHO_F_TEST)), 0);
	cr_assert_eq(echo.vdev.negotiated,
		     VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(ECHO_F_TEST));
	/* Features are frozen once FEATURES_OK is set. */
	vdrv_write(&drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdrv_write(&drv, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, s);
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(vdrv_status(&drv), s, "DRIVER_OK needs FEATURES_OK first");
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(vdrv_status(&drv), s, "bits are only cleared by a reset");
	cr_assert_eq(echo.activations, 0);
}

Test(virtio_mmio, echo_through_direct_and_indirect_chains)
{
	char reply[64];

	start(ALL_RING_FEATURES);
	cr_assert_eq(echo.activations, 1);
	cr_assert_eq(echo_roundtrip("hello", 5, false, reply), 5);
	cr_assert_eq(memcmp(reply, "hello", 5), 0);
	cr_assert_eq(echo_roundtrip("indirect!", 9, true, reply), 9);
	cr_assert_eq(memcmp(reply, "indirect!", 9), 0);
	cr_assert_geq(vtest_irq_count(&th, VTEST_GSI), 1);
	cr_assert(vdrv_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_USED);
	vdrv_write(&drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(virtio_mmio_kvm, ioeventfd_binding, .init = setup_kvm,
     .fini = teardown, .timeout = 30)
{
	char reply[64];

	cr_assert_eq(th.nr_ioev, 2, "one ioeventfd per queue");
	cr_assert_eq(th.ioev[1].addr, VTEST_BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
	cr_assert_eq(th.ioev[1].datamatch, 1);
	start(ALL_RING_FEATURES);
	cr_assert_eq(echo_roundtrip("via eventfd", 11, false, reply), 11);
	vtest_host_stop(&th);
	dev->ops->destroy(dev);
	dev = NULL;
	cr_assert_eq(th.nr_ioev, 0, "bindings removed at teardown");
}

Test(virtio_mmio, buffers_made_available_before_driver_ok)
{
	uint64_t out = vdrv_alloc(&drv, 4, 8), in = vdrv_alloc(&drv, 4, 8);
	struct vdrv_buf bufs[] = { { out, 4, false }, { in, 4, true } };
	uint32_t id, len;

	cr_assert_eq(vdrv_negotiate(&drv, ALL_RING_FEATURES), 0);
	cr_assert_eq(vdrv_setup_queue(&drv, 0, ECHO_QSIZE), 0);
	memcpy(vdrv_ptr(&drv, out, 4), "early", 4);
	vdrv_add(&drv, 0, bufs, 2, false);
	vdrv_kick(&drv, 0);
	cr_assert_not(vdrv_wait_used(&drv, 0, &id, &len, 100),
		      "nothing is consumed before DRIVER_OK");
	vdrv_driver_ok(&drv);
	cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS),
		  "DRIVER_OK picks up what was queued");
	cr_assert_eq(len, 4);
}

Test(virtio_mmio, event_idx_suppresses_interrupts_until_used_event)
{
	char reply[64];
	unsigned int before;
	uint32_t id, len;

	start(ALL_RING_FEATURES);
	cr_assert_eq(echo_roundtrip("a", 1, false, reply), 1);
	/* Ask for an interrupt only when the used index passes 3. */
	vdrv_set_used_event(&drv, 0, 3);
	while (vtest_irq_wait(&th, VTEST_GSI, 50))
		;
	before = vtest_irq_count(&th, VTEST_GSI);
	for (int i = 0; i < 2; i++) {
		uint64_t in = vdrv_alloc(&drv, 8, 8);
		struct vdrv_buf b = { in, 8, true };

		vdrv_add(&drv, 0, &b, 1, false);
		vdrv_kick(&drv, 0);
		cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
	}
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), before,
		     "used index 1 and 2 are below used_event");
	{
		uint64_t in = vdrv_alloc(&drv, 8, 8);
		struct vdrv_buf b = { in, 8, true };

		vdrv_add(&drv, 0, &b, 1, false);
		vdrv_kick(&drv, 0);
		cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
	}
	/* The device publishes the used index before it signals. */
	cr_assert(vtest_irq_wait_pulses(&th, VTEST_GSI, before + 1, WAIT_MS),
		  "used index 4 passes used_event 3");
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), before + 1,
		     "one interrupt for used index 4");
	/* The device re-armed notifications at the next index it expects. */
	cr_assert_eq(vdrv_avail_event(&drv, 0), 4);
}

Test(virtio_mmio, no_interrupt_flag_without_event_idx)
{
	uint16_t *flags;
	char reply[64];
	unsigned int before;

	start(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cr_assert_eq(echo_roundtrip("x", 1, false, reply), 1);
	flags = vdrv_ptr(&drv, drv.q[0].avail, 2);
	*flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	while (vtest_irq_wait(&th, VTEST_GSI, 50))
		;
	before = vtest_irq_count(&th, VTEST_GSI);
	cr_assert_eq(echo_roundtrip("y", 1, false, reply), 1);
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), before);
	cr_assert_eq(vdrv_used_flags(&drv, 0), 0,
		     "device wants kicks again once the ring is empty");
}

Test(virtio_mmio, config_space_and_generation)
{
	uint8_t b[8];
	uint32_t gen;

	vdrv_config_read(&drv, 0, b, 8);
	cr_assert_eq(memcmp(b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8), 0);
	vdrv_config_read(&drv, 6, b, 4);
	cr_assert_eq(memcmp(b, "\x77\x88\x00\x00", 4), 0,
		     "reads past the end of the config space give zeroes");
	bus_write(&th.mmio, VTEST_BASE + VIRTIO_MMIO_CONFIG + 6, "\xaa\xbb\xcc", 3);
	cr_assert_eq(echo.config_writes, 0, "writes past the end are ignored");
	bus_write(&th.mmio, VTEST_BASE + VIRTIO_MMIO_CONFIG + 2, "\xaa", 1);
	cr_assert_eq(echo.config[2], 0xaa);
	start(ALL_RING_FEATURES);
	gen = vdrv_read(&drv, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_lock(&echo.vdev);
	virtio_config_changed(&echo.vdev);
	virtio_unlock(&echo.vdev);
	cr_assert_neq(vdrv_read(&drv, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	cr_assert(vtest_irq_wait(&th, VTEST_GSI, WAIT_MS));
	cr_assert(vdrv_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
}

Test(virtio_mmio, reset_clears_everything_and_device_works_again)
{
	char reply[64];
	int resets;

	start(ALL_RING_FEATURES);
	cr_assert_eq(echo_roundtrip("one", 3, false, reply), 3);
	resets = echo.resets;
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(vdrv_status(&drv), 0);
	cr_assert_eq(echo.resets, resets + 1);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(echo.vdev.negotiated, 0);
	start(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cr_assert_eq(echo_roundtrip("two", 3, false, reply), 3);
	cr_assert_eq(memcmp(reply, "two", 3), 0);
	/* The VM's reset hook resets the device the same way. */
	dev->ops->reset(dev);
	cr_assert_eq(vdrv_status(&drv), 0);
	cr_assert_gt(echo.resets, resets + 1);
}

Test(virtio_mmio, a_reset_completes_when_the_device_says_so)
{
	char reply[64];
	uint32_t before;

	start(ALL_RING_FEATURES);
	before = vdrv_status(&drv);
	echo.reset_later = true;
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(vdrv_status(&drv), before,
		     "the status reads 0 only once the reset is complete");
	/* A driver that does not wait is ignored, and the device is idle. */
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(vdrv_status(&drv), before);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_READY), 0);
	virtio_lock(&echo.vdev);
	cr_assert_not(virtio_active(&echo.vdev));
	echo.reset_later = false;
	virtio_reset_done(&echo.vdev);
	virtio_unlock(&echo.vdev);
	cr_assert_eq(vdrv_status(&drv), 0);
	start(ALL_RING_FEATURES);
	cr_assert_eq(echo_roundtrip("back", 4, false, reply), 4);
}

Test(virtio_mmio, queue_setup_is_validated)
{
	cr_assert_eq(vdrv_negotiate(&drv, ALL_RING_FEATURES), 0);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_NUM, 12);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_READY), 0,
		     "size must be a power of two");
	cr_assert(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET);

	cr_assert_eq(vdrv_negotiate(&drv, ALL_RING_FEATURES), 0);
	cr_assert_eq(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET, 0,
		     "reset clears NEEDS_RESET");
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_NUM, 2 * ECHO_QSIZE);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_READY), 0,
		     "size above QueueNumMax");

	cr_assert_eq(vdrv_negotiate(&drv, ALL_RING_FEATURES), 0);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_NUM, ECHO_QSIZE);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(MEM_SIZE - 64));
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x1000);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x2000);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_READY), 0,
		     "descriptor table runs past the end of RAM");

	cr_assert_eq(vdrv_negotiate(&drv, ALL_RING_FEATURES), 0);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1008);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_QUEUE_READY), 0,
		     "descriptor table must be 16-byte aligned");

	cr_assert_eq(vdrv_negotiate(&drv, ALL_RING_FEATURES), 0);
	cr_assert_eq(vdrv_setup_queue(&drv, 0, 4), 0);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_NUM, 8);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	cr_assert_eq(echo.vdev.vqs[0].size, 4,
		     "a ready queue ignores reprogramming");
	cr_assert_eq(echo.vdev.vqs[0].desc_gpa, drv.q[0].desc);
}

Test(virtio_mmio, zero_length_buffers_are_skipped)
{
	uint64_t out = vdrv_alloc(&drv, 4, 8), in = vdrv_alloc(&drv, 8, 8);
	struct vdrv_buf bufs[] = {
		{ out, 2, false },
		{ 0xfffffffffffff000ULL, 0, false },
		{ out + 2, 2, false },
		{ in, 0, true },
		{ in, 8, true },
	};
	uint32_t id, len;

	start(ALL_RING_FEATURES);
	memcpy(vdrv_ptr(&drv, out, 4), "abcd", 4);
	vdrv_add(&drv, 0, bufs, 5, false);
	vdrv_kick(&drv, 0);
	cr_assert(vdrv_wait_used(&drv, 0, &id, &len, WAIT_MS));
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, in, 4), "abcd", 4), 0);
	cr_assert_eq(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(virtio_mmio, kick_of_missing_queue_is_ignored)
{
	char reply[64];

	start(ALL_RING_FEATURES);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	vdrv_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(echo_roundtrip("still fine", 10, false, reply), 10);
}

/* ---- hostile rings ---- */

TestSuite(virtqueue_hostile, .init = setup, .fini = teardown, .timeout = 30);

static uint64_t scratch(void)
{
	return vdrv_alloc(&drv, 4096, 4096);
}

Test(virtqueue_hostile, two_descriptor_loop)
{
	uint64_t buf = scratch();

	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, buf, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_desc_write(&drv, 0, 1, buf, 16, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, self_loop_of_writable_descriptor)
{
	uint64_t buf = scratch();

	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 5, buf, 16,
			VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	vdrv_publish(&drv, 0, 5);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, next_index_past_the_table)
{
	uint64_t buf = scratch();

	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, buf, 16, VIRTQ_DESC_F_NEXT, ECHO_QSIZE);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, head_index_past_the_ring)
{
	start(ALL_RING_FEATURES);
	vdrv_publish(&drv, 0, 0xffff);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, avail_index_jumps_past_queue_size)
{
	uint64_t buf = scratch();

	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, buf, 16, VIRTQ_DESC_F_WRITE, 0);
	vdrv_set_avail_idx(&drv, 0, ECHO_QSIZE + 1);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, buffer_outside_ram)
{
	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, MEM_SIZE - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, address_plus_length_wraps)
{
	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, 0xfffffffffffffff0ULL, 0x20, 0, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, huge_length)
{
	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, HEAP, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, readable_after_writable)
{
	uint64_t buf = scratch();

	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, buf, 16,
			VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vdrv_desc_write(&drv, 0, 1, buf + 16, 16, 0, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, indirect_without_the_feature)
{
	uint64_t table = scratch();

	start(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	vdrv_desc_write(&drv, 0, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

static void indirect_case(uint64_t table, uint32_t len, uint16_t flags)
{
	start(ALL_RING_FEATURES);
	vdrv_desc_write(&drv, 0, 0, table, len, flags, 1);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
}

Test(virtqueue_hostile, indirect_table_not_whole_descriptors)
{
	indirect_case(scratch(), 24, VIRTQ_DESC_F_INDIRECT);
}

Test(virtqueue_hostile, indirect_table_empty)
{
	indirect_case(scratch(), 0, VIRTQ_DESC_F_INDIRECT);
}

Test(virtqueue_hostile, indirect_table_too_large)
{
	indirect_case(scratch(), 16 * (ECHO_QSIZE + 1), VIRTQ_DESC_F_INDIRECT);
}

Test(virtqueue_hostile, indirect_table_outside_ram)
{
	indirect_case(MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT);
}

Test(virtqueue_hostile, indirect_with_next)
{
	indirect_case(scratch(), 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT);
}

Test(virtqueue_hostile, nested_indirect_and_indirect_loop)
{
	uint64_t table = scratch();
	uint8_t *t = vdrv_ptr(&drv, table, 32);

	/* Entry 0 points back at the table itself as another indirect. */
	put_le64(t, table);
	put_le32(t + 8, 32);
	put_le16(t + 12, VIRTQ_DESC_F_INDIRECT);
	indirect_case(table, 32, VIRTQ_DESC_F_INDIRECT);
}

Test(virtqueue_hostile, loop_inside_indirect_table)
{
	uint64_t table = scratch(), buf = scratch();
	uint8_t *t = vdrv_ptr(&drv, table, 32);

	for (int i = 0; i < 2; i++) {
		put_le64(t + 16 * i, buf);
		put_le32(t + 16 * i + 8, 8);
		put_le16(t + 16 * i + 12, VIRTQ_DESC_F_NEXT);
		put_le16(t + 16 * i + 14, (uint16_t)(1 - i));
	}
	indirect_case(table, 32, VIRTQ_DESC_F_INDIRECT);
}

Test(virtqueue_hostile, broken_device_ignores_kicks_until_reset)
{
	uint64_t out = scratch(), in = scratch();
	struct vdrv_buf bufs[] = { { out, 4, false }, { in, 4, true } };
	char reply[64];
	uint32_t id, len;

	start(ALL_RING_FEATURES);
	vdrv_publish(&drv, 0, ECHO_QSIZE);
	vdrv_kick(&drv, 0);
	assert_needs_reset();
	vdrv_add(&drv, 1, bufs, 2, false);
	vdrv_kick(&drv, 1);
	cr_assert_not(vdrv_wait_used(&drv, 1, &id, &len, 100),
		      "a device that needs a reset processes nothing");
	start(ALL_RING_FEATURES);
	cr_assert_eq(echo_roundtrip("alive", 5, false, reply), 5);
}

Test(virtqueue_hostile, ring_rewritten_while_in_use)
{
	uint64_t buf = scratch();
	char reply[64];

	/* Stale used entries and garbage heads after a good request. */
	start(ALL_RING_FEATURES);
	cr_assert_eq(echo_roundtrip("ok", 2, false, reply), 2);
	vdrv_desc_write(&drv, 0, 3, buf, 0xffff0000, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&drv, 0, 3);
	vdrv_kick(&drv, 0);
	cr_assert(vdrv_wait_status(&drv, VIRTIO_STATUS_NEEDS_RESET, WAIT_MS));
	cr_assert_eq(vdrv_used_idx(&drv, 0), 1, "only the good request was used");
}
