/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_SERIAL_H
#define IMAGES_TESTGUEST_SERIAL_H

#include <stddef.h>

/* COM1 (16550 at 0x3f8), polled: the guest never enables interrupts. */
void serial_init(void);
void serial_write(const char *s, size_t len);
void serial_puts(const char *s);
/* Writes @s with control bytes as \xHH, so that it cannot break a line. */
void serial_puts_escaped(const char *s);
/* Formats with format() into a line-sized buffer and writes it. */
void serial_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
