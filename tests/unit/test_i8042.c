// SPDX-License-Identifier: MIT
/*
 * The i8042 and its keyboard, driven through the ports as OVMF's
 * Ps2KeyboardDxe and Linux's i8042 and atkbd drivers drive them.
 */
#include <criterion/criterion.h>

#include "devices/x86/legacy.h"
#include "virtio_driver.h"

#define DATA 0x60
#define STATUS 0x64
#define OBF 0x01
#define IBF 0x02
#define KBD_IRQ 1

static struct vtest_host th;
static struct device *kbc;

static void setup(void)
{
	struct err e;

	cr_assert_eq(vtest_host_init(&th, 1 * MiB, false), 0);
	cr_assert_eq(i8042_create(&th.host, &kbc, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
	kbc->ops->destroy(kbc);
	vtest_host_destroy(&th);
}

static uint8_t in(uint16_t port)
{
	uint8_t v;

	cr_assert(bus_read(&th.pio, port, &v, 1));
	return v;
}

static void out(uint16_t port, uint8_t v)
{
	cr_assert(bus_write(&th.pio, port, &v, 1));
}

/* A byte for the guest, read as a driver does: status first. */
static uint8_t read_data(void)
{
	cr_assert(in(STATUS) & OBF, "nothing in the output buffer");
	return in(DATA);
}

static void expect_reply(const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(read_data(), bytes[i], "byte %zu of the reply", i);
	cr_assert_eq(in(STATUS) & OBF, 0, "more than the reply");
}

TestSuite(i8042, .init = setup, .fini = teardown);

/* OVMF's reset with extended verification, step by step. */
Test(i8042, keyboard_answers_the_firmwares_checks)
{
	cr_assert_eq(in(STATUS) & (OBF | IBF), 0);
	out(STATUS, 0x60); /* write the configuration byte: */
	out(DATA, 0x67);   /* translation, system flag, both interrupts */
	out(DATA, 0xf4);   /* enable: is a keyboard there? */
	expect_reply((const uint8_t[]){ 0xfa }, 1);
	out(STATUS, 0xab); /* keyboard interface test */
	expect_reply((const uint8_t[]){ 0x00 }, 1);
	out(DATA, 0xff); /* reset: acknowledged, then the self-test passes */
	expect_reply((const uint8_t[]){ 0xfa, 0xaa }, 2);
	out(DATA, 0xf0); /* scan code set 2 */
	expect_reply((const uint8_t[]){ 0xfa }, 1);
	out(DATA, 0x02);
	expect_reply((const uint8_t[]){ 0xfa }, 1);
	out(DATA, 0xed); /* the LEDs */
	expect_reply((const uint8_t[]){ 0xfa }, 1);
	out(DATA, 0x00);
	expect_reply((const uint8_t[]){ 0xfa }, 1);
}

Test(i8042, keyboard_identifies_and_reports_its_scan_code_set)
{
	out(DATA, 0xf2);
	expect_reply((const uint8_t[]){ 0xfa, 0xab, 0x83 }, 3);
	out(DATA, 0xf0);
	out(DATA, 0x00);
	expect_reply((const uint8_t[]){ 0xfa, 0xfa, 0x02 }, 3);
	out(DATA, 0xee);
	expect_reply((const uint8_t[]){ 0xee }, 1);
	out(DATA, 0xfe); /* resend the last byte */
	expect_reply((const uint8_t[]){ 0xee }, 1);
	out(DATA, 0x42); /* no such command */
	expect_reply((const uint8_t[]){ 0xfe }, 1);
}

Test(i8042, controller_commands)
{
	out(STATUS, 0xaa);
	expect_reply((const uint8_t[]){ 0x55 }, 1);
	out(STATUS, 0xad); /* disable the keyboard, then read the byte */
	out(STATUS, 0x20);
	expect_reply((const uint8_t[]){ 0x10 }, 1);
	out(STATUS, 0xae);
	out(STATUS, 0xa7);
	out(STATUS, 0x20);
	expect_reply((const uint8_t[]){ 0x20 }, 1);
}

/* With its interrupt on, every byte the keyboard sends is an edge. */
Test(i8042, each_byte_raises_irq1_while_enabled)
{
	unsigned int before;

	out(DATA, 0xff);
	cr_assert_eq(vtest_irq_count(&th, KBD_IRQ), 0, "interrupt while off");
	expect_reply((const uint8_t[]){ 0xfa, 0xaa }, 2);
	out(STATUS, 0x60);
	out(DATA, 0x01);
	before = vtest_irq_count(&th, KBD_IRQ);
	out(DATA, 0xff);
	cr_assert_eq(vtest_irq_count(&th, KBD_IRQ), before + 1);
	cr_assert_eq(read_data(), 0xfa);
	cr_assert_eq(vtest_irq_count(&th, KBD_IRQ), before + 2,
		     "no edge for the byte behind the first");
	cr_assert_eq(read_data(), 0xaa);
	cr_assert_eq(vtest_irq_count(&th, KBD_IRQ), before + 2);
}

/* A guest that sends without reading fills a bounded queue. */
Test(i8042, unread_replies_are_bounded)
{
	for (int i = 0; i < 1000; i++)
		out(DATA, 0xff);
	for (int i = 0; i < 8; i++)
		read_data();
	cr_assert_eq(in(STATUS) & OBF, 0);
}
