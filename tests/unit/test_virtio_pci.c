// SPDX-License-Identifier: MIT
/*
 * The virtio-pci transport, driven by the simulated driver over PCI
 * configuration space and BARs: identity, capabilities and BARs as a
 * driver finds them, the common configuration structure, MSI-X (vectors,
 * masking, the PBA, routes), INTx and the ISR, doorbells on ioeventfds
 * that follow the BAR, the configuration access window, resets, and a
 * guest writing nonsense everywhere.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/pci/msix.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/virtio.h"
#include "echo_device.h"
#include "virtio_driver.h"

#define MEM_SIZE (16 * MiB)
#define HEAP (1 * MiB)
#define WAIT_MS 2000
#define SLOT VTEST_PCI_SLOT
#define NR_VECTORS 3 /* two queues and configuration changes */

#define RING_FEATURES                                                          \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |  \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

static struct vtest_host th;
static struct echo echo;
static struct device *dev;
static struct vdrv drv;

static void create(bool kvm_ioeventfd, bool msix)
{
	struct virtio_attach at;
	struct err e;

	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, kvm_ioeventfd), 0);
	echo_init(&echo);
	at = vtest_pci_at(&th, SLOT);
	cr_assert_eq(virtio_attach(&th.host, &at, &echo.vdev, &dev, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(vdrv_init_pci(&drv, &th, SLOT, msix, HEAP, MEM_SIZE - HEAP),
		     0);
}

static void setup(void)
{
	create(false, true);
}

static void setup_intx(void)
{
	create(false, false);
}

static void setup_kvm(void)
{
	create(true, true);
}

static void teardown(void)
{
	vtest_teardown(&th, &dev, &drv);
}

TestSuite(virtio_pci, .init = setup, .fini = teardown, .timeout = 30);

static uint32_t cfg(uint32_t reg, uint32_t len)
{
	return vdrv_cfg_read(&th, SLOT, reg, len);
}

static void cfg_w(uint32_t reg, uint32_t len, uint32_t v)
{
	vdrv_cfg_write(&th, SLOT, reg, len, v);
}

static uint64_t common(uint32_t off, uint32_t len)
{
	return vdrv_mem_read(&th, drv.pci.common + off, len);
}

static void common_w(uint32_t off, uint32_t len, uint64_t v)
{
	vdrv_mem_write(&th, drv.pci.common + off, len, v);
}

static uint32_t vector_data(uint16_t vector)
{
	return VDRV_MSI_DATA(SLOT, vector);
}

/* @len bytes of @msg through queue @qi; waits for it to come back. */
static void roundtrip(unsigned int qi, const char *msg)
{
	size_t len = strlen(msg);
	char reply[64];

	cr_assert_eq(echo_send(&drv, qi, msg, len, false, reply, WAIT_MS),
		     (int)len, "no echo of '%s' on queue %u", msg, qi);
	cr_assert_eq(memcmp(reply, msg, len), 0);
}

Test(virtio_pci, identity_as_a_modern_driver_expects)
{
	cr_assert_eq(cfg(PCI_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	cr_assert_eq(cfg(PCI_DEVICE_ID, 2), VIRTIO_PCI_DEVICE_BASE + ECHO_ID);
	cr_assert_eq(cfg(PCI_REVISION_ID, 1), 1, "non-transitional");
	cr_assert_eq(cfg(PCI_SUBSYSTEM_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	/* Not below 0x40, or OVMF takes it for a transitional device. */
	cr_assert_eq(cfg(PCI_SUBSYSTEM_ID, 2), VIRTIO_PCI_DEVICE_BASE + ECHO_ID);
	cr_assert_eq(cfg(PCI_INTERRUPT_PIN, 1), 1, "INTA#");
	cr_assert(cfg(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	cr_assert_eq(cfg(PCI_HEADER_TYPE, 1), 0);
	cr_assert_str_eq(dev->transport, "pci");
	cr_assert_str_eq(dev->address, "0000:00:03.0");
}

Test(virtio_pci, bars_and_capabilities)
{
	uint8_t c = (uint8_t)cfg(PCI_CAPABILITY_LIST, 1);
	unsigned int seen = 0, n = 0;

	cr_assert_eq(drv.pci.bar[VIRTIO_PCI_MSIX_BAR], VTEST_PCI_MMIO32 +
						       SLOT * 0x100000ULL);
	cr_assert(drv.pci.bar[VIRTIO_PCI_BAR] >= VTEST_PCI_MMIO64,
		  "a 64-bit BAR above 4 GiB");
	cr_assert_eq(cfg(PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4) & 0xf,
		     PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	for (; c && n < 16; n++, c = (uint8_t)cfg(c + 1, 1)) {
		uint8_t type;

		if (cfg(c, 1) != PCI_CAP_ID_VNDR)
			continue;
		type = (uint8_t)cfg(c + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		seen |= 1U << type;
		cr_assert_geq(cfg(c + 2, 1), VIRTIO_PCI_CAP_SIZE, "cap_len");
		if (type == VIRTIO_PCI_CAP_PCI_CFG)
			continue;
		cr_assert_eq(cfg(c + VIRTIO_PCI_CAP_BAR, 1), VIRTIO_PCI_BAR);
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			cr_assert_geq(cfg(c + VIRTIO_PCI_CAP_LENGTH, 4),
				      VIRTIO_PCI_COMMON_SIZE);
		if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
			cr_assert_eq(cfg(c + VIRTIO_PCI_CAP_LENGTH, 4), 8);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			cr_assert_eq(cfg(c + VIRTIO_PCI_CAP_LENGTH, 4),
				     2 * VIRTIO_PCI_NOTIFY_MULT);
	}
	cr_assert_eq(seen, 0x3e, "common, notify, ISR, device and PCI access");
	cr_assert_eq(drv.pci.notify_mult, VIRTIO_PCI_NOTIFY_MULT);
	cr_assert_eq(drv.pci.msix_size, NR_VECTORS);
	cr_assert_eq(drv.pci.msix_table, drv.pci.bar[VIRTIO_PCI_MSIX_BAR]);
	cr_assert_eq(drv.pci.msix_pba, drv.pci.bar[VIRTIO_PCI_MSIX_BAR] +
				       VIRTIO_PCI_MSIX_PBA);
}

Test(virtio_pci, common_configuration)
{
	uint64_t f = vdrv_device_features(&drv);
	uint8_t b[8];

	cr_assert_eq(f, RING_FEATURES | VIRTIO_BIT(ECHO_F_TEST));
	cr_assert_eq(common(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_SIZE, 2), ECHO_QSIZE,
		     "a queue's size starts at its maximum");
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0, "no queue 2");
	vdrv_config_read(&drv, 0, b, 8);
	cr_assert_eq(memcmp(b, ECHO_CONFIG, 8), 0);
	cr_assert_eq(vdrv_negotiate(&drv, RING_FEATURES), 0);
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_GF, 4), 1, "VERSION_1 reads back");
	cr_assert(common(VIRTIO_PCI_COMMON_STATUS, 1) &
		  VIRTIO_STATUS_FEATURES_OK);
}

Test(virtio_pci, echo_with_a_vector_per_queue)
{
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	cr_assert_eq(echo.activations, 1);
	roundtrip(0, "over virtio-pci");
	roundtrip(1, "and the other queue");
	cr_assert_eq(vtest_msi_count(&th, vector_data(0)), 1);
	cr_assert_eq(vtest_msi_count(&th, vector_data(1)), 1);
	cr_assert_eq(vtest_msi_count(&th, vector_data(2)), 0);
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), 0, "no INTx with MSI-X");
}

Test(virtio_pci, configuration_changes_on_their_vector)
{
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	virtio_lock(&echo.vdev);
	virtio_config_changed(&echo.vdev);
	virtio_unlock(&echo.vdev);
	cr_assert_eq(vtest_msi_count(&th, vector_data(NR_VECTORS - 1)), 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1);
}

Test(virtio_pci, masked_vectors_wait_in_the_pba)
{
	uint64_t entry0 = drv.pci.msix_table;

	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	vdrv_mem_write(&th, entry0 + PCI_MSIX_ENTRY_CTRL, 4, 1);
	roundtrip(0, "masked");
	cr_assert_eq(vtest_msi_count(&th, vector_data(0)), 0);
	cr_assert_eq(vdrv_mem_read(&th, drv.pci.msix_pba, 4), 1, "pending");
	vdrv_mem_write(&th, entry0 + PCI_MSIX_ENTRY_CTRL, 4, 0);
	cr_assert_eq(vtest_msi_count(&th, vector_data(0)), 1, "sent on unmask");
	cr_assert_eq(vdrv_mem_read(&th, drv.pci.msix_pba, 4), 0);
	/* The function mask holds back every vector the same way. */
	cfg_w(drv.pci.msix_cap + PCI_MSIX_FLAGS, 2,
	      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	roundtrip(1, "function masked");
	cr_assert_eq(vtest_msi_count(&th, vector_data(1)), 0);
	cr_assert_eq(vdrv_mem_read(&th, drv.pci.msix_pba, 4), 2);
	cfg_w(drv.pci.msix_cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(vtest_msi_count(&th, vector_data(1)), 1);
}

Test(virtio_pci, a_vector_follows_its_reprogrammed_message)
{
	uint64_t entry0 = drv.pci.msix_table;

	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	vdrv_mem_write(&th, entry0 + PCI_MSIX_ENTRY_CTRL, 4, 1);
	vdrv_mem_write(&th, entry0 + PCI_MSIX_ENTRY_DATA, 4, 0x77);
	vdrv_mem_write(&th, entry0 + PCI_MSIX_ENTRY_CTRL, 4, 0);
	roundtrip(0, "moved");
	cr_assert_eq(vtest_msi_count(&th, 0x77), 1);
	cr_assert_eq(vdrv_mem_read(&th, entry0 + PCI_MSIX_ENTRY_DATA, 4), 0x77);
	/* A qword write sets address low and high at once. */
	vdrv_mem_write(&th, entry0, 8, 0x00000001fee01000ULL);
	cr_assert_eq(vdrv_mem_read(&th, entry0 + 4, 4), 1);
	cr_assert_eq(vtest_msi_find(&th, 0x77)->addr, 0x1fee01000ULL);
}

Test(virtio_pci, vectors_beyond_the_table_read_no_vector)
{
	common_w(VIRTIO_PCI_COMMON_MSIX, 2, NR_VECTORS);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	common_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, 0xfffe);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	/* A queue without a vector raises nothing. */
	common_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(vdrv_negotiate(&drv, RING_FEATURES), 0);
	drv.pci.msix = false; /* keep the queue's vector as set above */
	cr_assert_eq(vdrv_setup_queue(&drv, 0, ECHO_QSIZE), 0);
	drv.pci.msix = true;
	vdrv_driver_ok(&drv);
	roundtrip(0, "silent");
	for (uint16_t v = 0; v < NR_VECTORS; v++)
		cr_assert_eq(vtest_msi_count(&th, vector_data(v)), 0);
}

Test(virtio_pci, msix_table_refuses_odd_accesses)
{
	uint64_t t = drv.pci.msix_table;

	vdrv_mem_write(&th, t + PCI_MSIX_ENTRY_DATA, 1, 0xff);
	vdrv_mem_write(&th, t + PCI_MSIX_ENTRY_DATA + 2, 4, 0xffffffff);
	vdrv_mem_write(&th, t + 4, 8, ~0ULL); /* a misaligned qword */
	vdrv_mem_write(&th, t + NR_VECTORS * PCI_MSIX_ENTRY_SIZE, 4, 1);
	cr_assert_eq(vdrv_mem_read(&th, t + PCI_MSIX_ENTRY_DATA, 4),
		     VDRV_MSI_DATA(SLOT, 0));
	cr_assert_eq(vdrv_mem_read(&th, t + 4, 4), 0);
	cr_assert_eq(vdrv_mem_read(&th, t + PCI_MSIX_ENTRY_DATA, 2), 0,
		     "word reads are refused");
	/* Reserved vector control bits read as zero. */
	vdrv_mem_write(&th, t + PCI_MSIX_ENTRY_CTRL, 4, 0xfffffffe);
	cr_assert_eq(vdrv_mem_read(&th, t + PCI_MSIX_ENTRY_CTRL, 4), 0);
	/* Only enable and function mask change in the capability. */
	cfg_w(drv.pci.msix_cap + PCI_MSIX_FLAGS, 2, 0x3fff);
	cr_assert_eq(cfg(drv.pci.msix_cap + PCI_MSIX_FLAGS, 2), NR_VECTORS - 1);
	cfg_w(drv.pci.msix_cap + PCI_MSIX_TABLE, 4, 0xffffffff);
	cr_assert_eq(cfg(drv.pci.msix_cap + PCI_MSIX_TABLE, 4),
		     VIRTIO_PCI_MSIX_BAR);
}

Test(virtio_pci_intx, intx_and_the_isr_without_msix, .init = setup_intx,
     .fini = teardown, .timeout = 30)
{
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	roundtrip(0, "over INTx");
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), 1, "asserted once");
	cr_assert(cfg(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cr_assert_eq(vdrv_mem_read(&th, drv.pci.isr, 1), VIRTIO_INT_USED);
	cr_assert_eq(vdrv_mem_read(&th, drv.pci.isr, 1), 0, "read clears");
	cr_assert_eq(cfg(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	/* INTx Disable: the status still says why, the line stays low. */
	cfg_w(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			      PCI_COMMAND_INTX_DISABLE);
	roundtrip(1, "disabled");
	cr_assert_eq(vtest_irq_count(&th, VTEST_GSI), 1);
	cr_assert(cfg(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
}

Test(virtio_pci, doorbell_writes_reach_the_queue)
{
	uint64_t out, in;
	struct vdrv_buf bufs[2];
	uint32_t id, len;
	int head;

	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	out = vdrv_alloc(&drv, 4, 8);
	in = vdrv_alloc(&drv, 4, 8);
	bufs[0] = (struct vdrv_buf){ out, 4, false };
	bufs[1] = (struct vdrv_buf){ in, 4, true };
	head = vdrv_add(&drv, 1, bufs, 2, false);
	/* A 4-byte doorbell write (the ioeventfd takes 2 bytes) still rings. */
	vdrv_mem_write(&th, drv.pci.notify + VIRTIO_PCI_NOTIFY_MULT, 4, 1);
	cr_assert(vdrv_wait_used(&drv, 1, &id, &len, WAIT_MS));
	cr_assert_eq(id, (uint32_t)head);
	/* A doorbell past the last queue rings nothing. */
	vdrv_mem_write(&th, drv.pci.notify + 2 * VIRTIO_PCI_NOTIFY_MULT, 2, 2);
}

Test(virtio_pci_kvm, ioeventfds_follow_the_bar, .init = setup_kvm,
     .fini = teardown, .timeout = 30)
{
	uint64_t bar = drv.pci.bar[VIRTIO_PCI_BAR], moved = bar + 0x100000;
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR;

	cr_assert_eq(th.nr_ioev, 2, "one per queue");
	for (unsigned int i = 0; i < th.nr_ioev; i++)
		cr_assert_eq(th.ioev[i].addr,
			     bar + VIRTIO_PCI_NOTIFY_OFF +
				     th.ioev[i].datamatch * VIRTIO_PCI_NOTIFY_MULT);
	cfg_w(PCI_COMMAND, 2, 0);
	cr_assert_eq(th.nr_ioev, 0, "decoding off: no doorbells");
	cfg_w(reg, 4, (uint32_t)moved);
	cfg_w(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cr_assert_eq(th.nr_ioev, 2);
	for (unsigned int i = 0; i < th.nr_ioev; i++)
		cr_assert_eq(th.ioev[i].addr,
			     moved + VIRTIO_PCI_NOTIFY_OFF +
				     th.ioev[i].datamatch * VIRTIO_PCI_NOTIFY_MULT);
	drv.pci.common += moved - bar;
	drv.pci.isr += moved - bar;
	drv.pci.device += moved - bar;
	drv.pci.notify += moved - bar;
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	roundtrip(0, "through the ioeventfd");
}

Test(virtio_pci, hostile_common_configuration_writes)
{
	uint64_t f;

	/* Wrong widths and offsets: dropped. */
	common_w(VIRTIO_PCI_COMMON_STATUS, 4, 0xffffffff);
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 1, 1);
	common_w(VIRTIO_PCI_COMMON_Q_DESCLO + 2, 4, 0x1234);
	common_w(VIRTIO_PCI_COMMON_SIZE, 4, 1);
	common_w(0x800, 8, ~0ULL);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	/* Read-only fields stay. */
	common_w(VIRTIO_PCI_COMMON_DF, 4, 0);
	common_w(VIRTIO_PCI_COMMON_NUMQ, 2, 9);
	common_w(VIRTIO_PCI_COMMON_Q_NOFF, 2, 9);
	f = vdrv_device_features(&drv);
	cr_assert_eq(f, RING_FEATURES | VIRTIO_BIT(ECHO_F_TEST));
	cr_assert_eq(common(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	/* A queue that does not exist takes nothing. */
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0xffff);
	common_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
	common_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	/* Features before DRIVER, or after FEATURES_OK: ignored. */
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_w(VIRTIO_PCI_COMMON_GF, 4, 0xffffffff);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_GF, 4), 0);
	/* A legacy driver (no VERSION_1) is refused FEATURES_OK. */
	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_EVENT_IDX)), -1);
	/* The device still works for a proper driver. */
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	/* queue_enable 0 cannot take a queue back. */
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	common_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	roundtrip(0, "still here");
}

Test(virtio_pci, rings_outside_ram_need_a_reset)
{
	cr_assert_eq(vdrv_negotiate(&drv, RING_FEATURES), 0);
	common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	common_w(VIRTIO_PCI_COMMON_Q_DESCLO, 8, MEM_SIZE);
	common_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	cr_assert_eq(common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	cr_assert(common(VIRTIO_PCI_COMMON_STATUS, 1) &
		  VIRTIO_STATUS_NEEDS_RESET);
	cr_assert(vdrv_reset(&drv, WAIT_MS));
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	roundtrip(0, "after the reset");
}

Test(virtio_pci, configuration_access_window)
{
	uint8_t c = 0;

	for (uint8_t p = (uint8_t)cfg(PCI_CAPABILITY_LIST, 1); p;
	     p = (uint8_t)cfg(p + 1, 1))
		if (cfg(p, 1) == PCI_CAP_ID_VNDR &&
		    cfg(p + VIRTIO_PCI_CAP_CFG_TYPE, 1) == VIRTIO_PCI_CAP_PCI_CFG)
			c = p;
	cr_assert_neq(c, 0);
	/* Status through configuration space: the BAR need not be mapped. */
	cfg_w(PCI_COMMAND, 2, 0);
	cfg_w(c + VIRTIO_PCI_CAP_BAR, 1, VIRTIO_PCI_BAR);
	cfg_w(c + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_COMMON_STATUS);
	cfg_w(c + VIRTIO_PCI_CAP_LENGTH, 4, 1);
	cfg_w(c + VIRTIO_PCI_CFG_CAP_DATA, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(cfg(c + VIRTIO_PCI_CFG_CAP_DATA, 1),
		     VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_w(c + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_DEVICE_OFF);
	cfg_w(c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cr_assert_eq(cfg(c + VIRTIO_PCI_CFG_CAP_DATA, 4), 0x44332211);
	/* Windows that make no sense read nothing and write nothing. */
	cfg_w(c + VIRTIO_PCI_CAP_LENGTH, 4, 3);
	cr_assert_eq(cfg(c + VIRTIO_PCI_CFG_CAP_DATA, 4), 0);
	cfg_w(c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cfg_w(c + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_BAR_SIZE - 2);
	cfg_w(c + VIRTIO_PCI_CFG_CAP_DATA, 4, 0xffffffff);
	cfg_w(c + VIRTIO_PCI_CAP_BAR, 1, 9);
	cr_assert_eq(cfg(c + VIRTIO_PCI_CFG_CAP_DATA, 4), 0);
	cfg_w(c + VIRTIO_PCI_CAP_BAR, 1, 0); /* a BAR the function lacks */
	cfg_w(c + VIRTIO_PCI_CAP_OFFSET, 4, 0);
	cfg_w(c + VIRTIO_PCI_CFG_CAP_DATA, 4, 0xffffffff);
	cr_assert_eq(echo.config_writes, 0);
}

Test(virtio_pci, resets)
{
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	/* A virtio reset forgets the vectors; the driver sets them again. */
	cr_assert(vdrv_reset(&drv, WAIT_MS));
	cr_assert_eq(common(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	roundtrip(1, "after a virtio reset");
	/* The machine's reset puts the whole function back as it came. */
	dev->ops->reset(dev);
	cr_assert_eq(cfg(PCI_COMMAND, 2), 0);
	cr_assert_eq(cfg(PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4),
		     PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	cr_assert_eq(cfg(drv.pci.msix_cap + PCI_MSIX_FLAGS, 2), NR_VECTORS - 1);
	cr_assert_eq(vdrv_init_pci(&drv, &th, SLOT, true, drv.heap,
				   drv.heap_end - drv.heap), 0);
	cr_assert_eq(vdrv_start(&drv, RING_FEATURES, 2, ECHO_QSIZE), 0);
	roundtrip(0, "after the machine's reset");
}

Test(virtio_pci, a_slot_that_is_taken)
{
	struct virtio_attach at = vtest_pci_at(&th, SLOT);
	struct echo other;
	struct device *d;
	struct err e;

	echo_init(&other);
	cr_assert_eq(virtio_attach(&th.host, &at, &other.vdev, &d, &e), -1);
	cr_assert(strstr(e.msg, "slot 3 is taken"), "%s", e.msg);
	cr_assert_null(other.vdev.transport, "nothing left behind");
}
