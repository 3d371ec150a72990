/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_FORMAT_H
#define IMAGES_TESTGUEST_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A small snprintf: %% %c %s %.*s %d %u %x with the l, ll and z length
 * modifiers, a '0' flag and a field width. Always NUL-terminates (when
 * @size > 0) and returns the length written, truncation included.
 */
size_t vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
