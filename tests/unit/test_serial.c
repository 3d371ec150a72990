// SPDX-License-Identifier: MIT
/* The 16550A register model as Linux's 8250 driver exercises it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>

#include "devices/serial.h"
#include "virtio_driver.h"

struct irq_probe {
	struct irq_line line;
	int level;
	int changes;
};

static void probe_set(struct irq_line *line, int level)
{
	struct irq_probe *p = (struct irq_probe *)line;

	p->level = level;
	p->changes++;
}

static void probe_pulse(struct irq_line *line)
{
	(void)line;
}

static const struct irq_line_ops probe_ops = { probe_set, probe_pulse };

static struct serial uart;
static struct irq_probe irq;

static void setup(void)
{
	memset(&uart, 0, sizeof(uart));
	memset(&irq, 0, sizeof(irq));
	irq.line.ops = &probe_ops;
	pthread_mutex_init(&uart.lock, NULL);
	serial_init_regs(&uart, &irq.line);
}

static uint8_t rd(unsigned int reg)
{
	uint8_t v;

	serial_reg_read(&uart, reg, &v);
	return v;
}

static void wr(unsigned int reg, uint8_t v)
{
	serial_reg_write(&uart, reg, v);
}

TestSuite(serial, .init = setup);

Test(serial, reset_state_reports_idle_transmitter)
{
	cr_assert_eq(rd(5) & 0x60, 0x60, "THRE and TEMT set at reset");
	cr_assert_eq(rd(2) & 0x0f, 0x01, "no interrupt pending");
	cr_assert_eq(rd(6) & 0xb0, 0xb0, "CTS, DSR and DCD asserted");
}

Test(serial, scratch_register_holds_value)
{
	wr(7, 0x5a);
	cr_assert_eq(rd(7), 0x5a);
	wr(7, 0xa5);
	cr_assert_eq(rd(7), 0xa5);
}

Test(serial, divisor_latch_is_separate_from_data_registers)
{
	wr(3, 0x80);
	wr(0, 0x01);
	wr(1, 0x02);
	cr_assert_eq(rd(0), 0x01);
	cr_assert_eq(rd(1), 0x02);
	wr(3, 0x03);
	cr_assert_eq(rd(1), 0x00, "IER untouched by the divisor write");
}

Test(serial, loopback_mirrors_modem_lines_like_8250_autoconfig)
{
	/* 8250 autoconfig: MCR = LOOP | OUT2 | RTS, expects MSR & 0xf0 == 0x90. */
	wr(4, 0x10 | 0x08 | 0x02);
	cr_assert_eq(rd(6) & 0xf0, 0x90);
	wr(4, 0x10 | 0x01 | 0x04);
	cr_assert_eq(rd(6) & 0xf0, 0x60);
}

Test(serial, loopback_returns_transmitted_bytes)
{
	wr(4, 0x10);
	wr(0, 'a');
	cr_assert(rd(5) & 0x01, "data ready");
	cr_assert_eq(rd(0), 'a');
	cr_assert_eq(rd(5) & 0x01, 0);
}

Test(serial, fifo_enabled_reports_in_iir)
{
	wr(2, 0x01);
	cr_assert_eq(rd(2) & 0xc0, 0xc0);
	wr(2, 0x00);
	cr_assert_eq(rd(2) & 0xc0, 0x00);
}

Test(serial, rx_interrupt_follows_data_and_out2)
{
	const uint8_t in[] = "hi";

	wr(1, 0x01); /* RDI */
	cr_assert_eq(serial_receive(&uart, in, 2), 1, "no FIFO: one byte fits");
	cr_assert_eq(irq.level, 0, "OUT2 clear gates the interrupt");
	wr(4, 0x08);
	cr_assert_eq(irq.level, 1);
	cr_assert_eq(rd(2) & 0x0f, 0x04);
	cr_assert_eq(rd(0), 'h');
	cr_assert_eq(irq.level, 0);
}

Test(serial, fifo_holds_sixteen_bytes_and_trigger_level_selects_iir)
{
	uint8_t in[20];

	memset(in, 'x', sizeof(in));
	wr(2, 0x01 | 0x80); /* FIFO, trigger at 8 */
	wr(4, 0x08);
	wr(1, 0x01);
	cr_assert_eq(serial_receive(&uart, in, 4), 4);
	cr_assert_eq(rd(2) & 0x0f, 0x0c, "below trigger: timeout interrupt");
	cr_assert_eq(serial_receive(&uart, in, 20), 12, "FIFO holds 16");
	cr_assert_eq(rd(2) & 0x0f, 0x04, "at trigger: data available");
	wr(2, 0x01 | 0x02);
	cr_assert_eq(rd(5) & 0x01, 0, "FIFO cleared");
	cr_assert_eq(irq.level, 0);
}

Test(serial, thre_interrupt_fires_on_enable_and_clears_on_iir_read)
{
	wr(4, 0x08);
	wr(1, 0x02);
	cr_assert_eq(irq.level, 1, "enabling THRI with an empty THR fires");
	cr_assert_eq(rd(2) & 0x0f, 0x02);
	cr_assert_eq(irq.level, 0, "reading IIR acknowledged it");
	cr_assert_eq(rd(2) & 0x0f, 0x01);
	wr(0, 'z');
	cr_assert_eq(irq.level, 1, "the byte left: THR empty again");
}

Test(serial, line_status_interrupt_has_priority)
{
	uint8_t b = 'q';

	wr(4, 0x10 | 0x08);
	wr(2, 0x00);
	wr(1, 0x05);
	wr(0, b);
	wr(0, b); /* no FIFO: overrun */
	cr_assert_eq(rd(2) & 0x0f, 0x06);
	cr_assert(rd(5) & 0x02, "overrun reported");
	cr_assert_eq(rd(5) & 0x02, 0, "and cleared by the read");
}

/* Descriptors open in this process. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A port created and destroyed (a VM torn down) keeps no descriptor. */
Test(serial, destroying_a_port_closes_its_descriptors)
{
	struct chardev_config none = { .kind = CHARDEV_NONE };
	struct serial_place com1 = { .base = 0x3f8, .gsi = 4 };
	struct vtest_host th;
	struct serial *s;
	struct err e;
	int before;

	cr_assert_eq(vtest_host_init(&th, 1 * MiB, false), 0);
	before = open_fds();
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(serial_create(&th.host, 1, &com1, &none, NULL, &s, &e), 0,
			     "%s", e.msg);
		s->dev.ops->destroy(&s->dev);
		bus_destroy(&th.pio);
		bus_init(&th.pio, "port I/O");
	}
	cr_assert_eq(open_fds(), before);
	vtest_host_destroy(&th);
}

/*
 * A host end that falls behind fills the output buffer, and the transmitter
 * reads busy, so Linux's 8250 sends nothing more. Once the host end takes
 * output again, a THR-empty interrupt tells the driver to go on, as a real
 * UART's does when its holding register empties.
 */
Test(serial, transmitter_interrupts_when_the_host_end_catches_up)
{
	struct chardev_config none = { .kind = CHARDEV_NONE };
	struct serial_place com1 = { .base = 0x3f8, .gsi = 4 };
	struct vtest_host th;
	unsigned int sent = 0, raised;
	struct serial *s;
	struct err e;
	uint8_t v;

	cr_assert_eq(vtest_host_init(&th, 1 * MiB, false), 0);
	cr_assert_eq(serial_create(&th.host, 1, &com1, &none, NULL, &s, &e), 0,
		     "%s", e.msg);
	serial_reg_write(s, 4, 0x08); /* OUT2 */
	serial_reg_write(s, 1, 0x02); /* THRI */
	/* The event loop does not run: the host end is behind. */
	for (serial_reg_read(s, 5, &v); v & 0x20; serial_reg_read(s, 5, &v)) {
		serial_reg_write(s, 0, 'x');
		cr_assert_lt(++sent, 1u << 20, "the transmitter never reads busy");
	}
	cr_assert_eq(sent, CHARDEV_OUT_BUF);
	serial_reg_read(s, 2, &v);
	cr_assert_eq(v & 0x0f, 0x02, "the last byte's THR-empty interrupt");
	serial_reg_read(s, 2, &v);
	cr_assert_eq(v & 0x0f, 0x01, "nothing pending while the host end is behind");
	raised = vtest_irq_count(&th, 4);
	while (event_loop_poll(&th.loop, 0) > 0)
		;
	cr_assert_eq(vtest_irq_count(&th, 4), raised + 1,
		     "no interrupt once the host end took the output");
	serial_reg_read(s, 2, &v);
	cr_assert_eq(v & 0x0f, 0x02);
	serial_reg_read(s, 5, &v);
	cr_assert(v & 0x20, "the transmitter reads ready");
	s->dev.ops->destroy(&s->dev);
	vtest_host_destroy(&th);
}
