// SPDX-License-Identifier: MIT
/*
 * The ACPI PCI hotplug controller as the DSDT's AML drives it: PCIU and
 * PCID read once and cleared, the generic event device's interrupt for
 * every new request, _EJ0's write taking the function off the bus at once,
 * _OST's refusals, requests that time out, fixed slots, and a guest that
 * writes whatever it likes.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci/hotplug.h"
#include "virtio_driver.h"

#define PORT 0xcc4
#define GED_GSI 7
#define SLOT 4
#define WAIT_MS 2000

static struct vtest_host th;
static struct pci_bus *bus;
static struct pci_hotplug *hp;
static struct device *hp_dev;
static struct pci_func func;

static unsigned int ejected_slots[32], nr_ejected;
static int done_calls;
static char done_error[sizeof(((struct err *)0)->msg)];
static int done_fd = -1;

static void ejected(void *opaque, unsigned int slot)
{
	(void)opaque;
	ejected_slots[nr_ejected++] = slot;
}

static const struct pci_hotplug_ops ops = { .ejected = ejected };

static void done(void *ctx, const struct err *e)
{
	uint64_t one = 1;

	(void)ctx;
	done_calls++;
	snprintf(done_error, sizeof(done_error), "%s", e ? e->msg : "");
	if (write(done_fd, &one, sizeof(one)) < 0)
		abort();
}

static const struct pci_func_ops func_ops = { 0 };

static void setup(void)
{
	struct err e;

	cr_assert_eq(vtest_host_init(&th, 16 * MiB, false), 0);
	bus = vtest_host_pci(&th);
	cr_assert_eq(pci_hotplug_create(&th.host, bus, PORT, GED_GSI, &ops, NULL,
					&hp, &hp_dev, &e), 0, "%s", e.msg);
	pci_func_init(&func, "hot", 0x1af4, 0x1042, 0x018000, 1, &func_ops,
		      NULL);
	cr_assert_eq(pci_bus_add(bus, SLOT, &func, &e), 0);
	memset(ejected_slots, 0, sizeof(ejected_slots));
	nr_ejected = 0;
	done_calls = 0;
	done_error[0] = 0;
	done_fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(done_fd, 0);
	cr_assert_eq(vtest_host_start(&th), 0);
}

static void teardown(void)
{
	vtest_host_stop(&th);
	hp_dev->ops->destroy(hp_dev);
	vtest_host_destroy(&th);
	close(done_fd);
}

TestSuite(pci_hotplug, .init = setup, .fini = teardown, .timeout = 30);

static uint32_t reg_read(uint32_t off)
{
	uint8_t b[4];

	bus_read(&th.pio, PORT + off, b, 4);
	return get_le32(b);
}

static void reg_write(uint32_t off, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	bus_write(&th.pio, PORT + off, b, 4);
}

/* Runs @fn on the event loop, where the controller's API lives. */
struct job {
	void (*fn)(struct job *);
	unsigned int slot, timeout_ms;
	int ret;
	struct err e;
	int fd;
};

static void job_run(void *opaque)
{
	struct job *j = opaque;
	uint64_t one = 1;

	j->fn(j);
	if (write(j->fd, &one, sizeof(one)) < 0)
		abort();
}

static void on_loop(struct job *j)
{
	struct pollfd p;
	uint64_t v;

	j->fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(j->fd, 0);
	cr_assert_eq(event_loop_call(&th.loop, job_run, j), 0);
	p = (struct pollfd){ .fd = j->fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, WAIT_MS), 1);
	cr_assert_eq(read(j->fd, &v, sizeof(v)), sizeof(v));
	close(j->fd);
}

static void do_added(struct job *j)
{
	pci_hotplug_added(hp, j->slot);
}

static void do_eject(struct job *j)
{
	j->ret = pci_hotplug_eject(hp, j->slot, j->timeout_ms, done, NULL,
				   &j->e);
}

static void do_pin(struct job *j)
{
	pci_hotplug_pin(hp, j->slot);
}

static bool wait_done(int ms)
{
	struct pollfd p = { .fd = done_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(done_fd, &v, sizeof(v)) == sizeof(v);
}

static int eject(unsigned int slot, unsigned int timeout_ms, struct err *e)
{
	struct job j = { .fn = do_eject, .slot = slot, .timeout_ms = timeout_ms };

	on_loop(&j);
	*e = j.e;
	return j.ret;
}

Test(pci_hotplug, an_added_device_is_announced_once)
{
	struct job j = { .fn = do_added, .slot = 9 };

	on_loop(&j);
	cr_assert(vtest_irq_wait(&th, GED_GSI, WAIT_MS), "the GED interrupt");
	cr_assert_eq(reg_read(PCI_HOTPLUG_PCIU), 1U << 9);
	cr_assert_eq(reg_read(PCI_HOTPLUG_PCIU), 0, "the read cleared it");
	cr_assert_eq(reg_read(PCI_HOTPLUG_PCID), 0);
	/* Slot 0 and slots past 31 are never announced. */
	j.slot = 0;
	on_loop(&j);
	j.slot = 40;
	on_loop(&j);
	cr_assert_eq(reg_read(PCI_HOTPLUG_PCIU), 0);
}

Test(pci_hotplug, an_eject_the_guest_performs)
{
	struct err e;

	cr_assert_eq(eject(SLOT, 10000, &e), 0, "%s", e.msg);
	cr_assert(vtest_irq_wait(&th, GED_GSI, WAIT_MS));
	cr_assert_eq(reg_read(PCI_HOTPLUG_PCID), 1U << SLOT);
	/* _EJ0: the function leaves the bus on the spot. */
	reg_write(PCI_HOTPLUG_B0EJ, 1U << SLOT);
	cr_assert_eq(vdrv_cfg_read(&th, SLOT, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert(wait_done(WAIT_MS));
	cr_assert_eq(done_calls, 1);
	cr_assert_str_empty(done_error);
	cr_assert_eq(nr_ejected, 1);
	cr_assert_eq(ejected_slots[0], SLOT);
	/* _OST's success afterwards changes nothing. */
	reg_write(PCI_HOTPLUG_OSTR, SLOT | PCI_HOTPLUG_EVENT_EJECT << 8);
	cr_assert(!wait_done(100));
	cr_assert_eq(done_calls, 1);
}

Test(pci_hotplug, a_refusal_through_ost)
{
	struct err e;

	cr_assert_eq(eject(SLOT, 10000, &e), 0, "%s", e.msg);
	reg_write(PCI_HOTPLUG_OSTR,
		  SLOT | PCI_HOTPLUG_EVENT_EJECT << 8 | 0x82 << 16);
	cr_assert(wait_done(WAIT_MS));
	cr_assert(strstr(done_error, "refused to eject slot 4"), "%s",
		  done_error);
	cr_assert(strstr(done_error, "device busy"), "%s", done_error);
	cr_assert_eq(nr_ejected, 0);
	cr_assert_eq(vdrv_cfg_read(&th, SLOT, PCI_VENDOR_ID, 2), 0x1af4,
		     "the device stays");
	/* The slot can be asked again. */
	cr_assert_eq(eject(SLOT, 10000, &e), 0, "%s", e.msg);
	reg_write(PCI_HOTPLUG_B0EJ, 1U << SLOT);
	cr_assert(wait_done(WAIT_MS));
	cr_assert_str_empty(done_error);
}

Test(pci_hotplug, a_guest_that_never_answers)
{
	struct err e;

	cr_assert_eq(eject(SLOT, 100, &e), 0, "%s", e.msg);
	cr_assert(wait_done(WAIT_MS));
	cr_assert(strstr(done_error, "did not eject slot 4 in time"), "%s",
		  done_error);
	cr_assert_eq(reg_read(PCI_HOTPLUG_PCID), 0, "the request is withdrawn");
	cr_assert_eq(vdrv_cfg_read(&th, SLOT, PCI_VENDOR_ID, 2), 0x1af4);
}

Test(pci_hotplug, requests_that_cannot_be_made)
{
	struct job pin = { .fn = do_pin, .slot = SLOT };
	struct err e;

	cr_assert_eq(eject(SLOT + 1, 1000, &e), -1);
	cr_assert(strstr(e.msg, "holds no device"), "%s", e.msg);
	cr_assert_eq(eject(0, 1000, &e), -1);
	cr_assert_eq(eject(32, 1000, &e), -1);
	cr_assert_eq(eject(SLOT, 10000, &e), 0, "%s", e.msg);
	cr_assert_eq(eject(SLOT, 10000, &e), -1);
	cr_assert(strstr(e.msg, "already pending"), "%s", e.msg);
	reg_write(PCI_HOTPLUG_B0EJ, 1U << SLOT);
	cr_assert(wait_done(WAIT_MS));
	/* A fixed device is neither ejectable by request nor by the guest. */
	pci_func_init(&func, "fixed", 1, 2, 0, 0, &func_ops, NULL);
	cr_assert_eq(pci_bus_add(bus, SLOT, &func, &e), 0);
	on_loop(&pin);
	cr_assert_eq(eject(SLOT, 1000, &e), -1);
	cr_assert(strstr(e.msg, "cannot be removed"), "%s", e.msg);
	reg_write(PCI_HOTPLUG_B0EJ, 1U << SLOT);
	cr_assert_eq(vdrv_cfg_read(&th, SLOT, PCI_VENDOR_ID, 2), 1);
}

Test(pci_hotplug, the_guest_ejects_on_its_own)
{
	/* echo 0 > /sys/bus/pci/slots/4/power: no request, still an eject. */
	reg_write(PCI_HOTPLUG_B0EJ, 1U << SLOT | 1U << 0 | 1U << 20);
	cr_assert_eq(vdrv_cfg_read(&th, 0, PCI_VENDOR_ID, 2), 0x8086,
		     "the host bridge cannot be ejected");
	cr_assert_eq(vdrv_cfg_read(&th, SLOT, PCI_VENDOR_ID, 2), 0xffff);
	for (int i = 0; i < 100 && !nr_ejected; i++)
		usleep(10000);
	cr_assert_eq(nr_ejected, 1, "an empty slot ejects nothing");
	cr_assert_eq(ejected_slots[0], SLOT);
}

Test(pci_hotplug, hostile_register_accesses)
{
	uint8_t b[8];

	/* Wrong widths and places: nothing happens. */
	put_le32(b, 1U << SLOT);
	bus_write(&th.pio, PORT + PCI_HOTPLUG_B0EJ, b, 2);
	bus_write(&th.pio, PORT + PCI_HOTPLUG_B0EJ + 1, b, 1);
	bus_write(&th.pio, PORT + PCI_HOTPLUG_PCIU, b, 4);
	cr_assert_eq(vdrv_cfg_read(&th, SLOT, PCI_VENDOR_ID, 2), 0x1af4);
	bus_read(&th.pio, PORT + 2, b, 2);
	cr_assert_eq(get_le16(b), 0);
	/* _OST answers for slots that do not exist, or no request. */
	reg_write(PCI_HOTPLUG_OSTR, 0xffffffff);
	reg_write(PCI_HOTPLUG_OSTR, 0 | PCI_HOTPLUG_EVENT_EJECT << 8 | 1 << 16);
	reg_write(PCI_HOTPLUG_OSTR, SLOT | PCI_HOTPLUG_EVENT_EJECT << 8 | 1 << 16);
	reg_write(PCI_HOTPLUG_OSTR, SLOT | PCI_HOTPLUG_EVENT_CHECK << 8 | 1 << 16);
	cr_assert(!wait_done(100));
	cr_assert_eq(nr_ejected, 0);
}
