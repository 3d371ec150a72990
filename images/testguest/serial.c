// SPDX-License-Identifier: MIT
/* The guest's console: COM1, written by polling the line status register. */
#include <stdarg.h>
#include <stdint.h>

#include "format.h"
#include "io.h"
#include "serial.h"
#include "str.h"

#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS 0x03
#define LSR_THRE 0x20

/*
 * A UART that never reports room (or is missing and reads 0x00) must not
 * hang the guest: after this many polls the byte is written anyway.
 */
#define THRE_POLLS 100000

static void uart_out(unsigned reg, uint8_t val)
{
	outb((uint16_t)(LAYOUT_PORT_COM1 + reg), val);
}

void serial_init(void)
{
	uart_out(UART_IER, 0);
	uart_out(UART_LCR, LCR_DLAB);
	uart_out(UART_DLL, 1); /* 115200 baud */
	uart_out(UART_DLM, 0);
	uart_out(UART_LCR, LCR_8N1);
	uart_out(UART_FCR, FCR_ENABLE_CLEAR);
	uart_out(UART_MCR, MCR_DTR_RTS);
}

static void serial_putc(char c)
{
	unsigned i;

	for (i = 0; i < THRE_POLLS; i++)
		if (inb(LAYOUT_PORT_COM1 + UART_LSR) & LSR_THRE)
			break;
	uart_out(UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	while (len--)
		serial_putc(*s++);
}

void serial_puts(const char *s)
{
	serial_write(s, strlen(s));
}

void serial_puts_escaped(const char *s)
{
	for (; *s; s++) {
		uint8_t ch = (uint8_t)*s;

		if (ch < 0x20 || ch == 0x7f)
			serial_printf("\\x%02x", ch);
		else
			serial_putc(*s);
	}
}

void serial_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	serial_write(buf, n);
}
