// SPDX-License-Identifier: MIT
/* String formatting for the guest's report lines. */
#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "str.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

static void put_padded(struct out *o, const char *s, size_t n, unsigned width,
		       char pad)
{
	while (width > n) {
		put(o, pad);
		width--;
	}
	while (n--)
		put(o, *s++);
}

static void put_number(struct out *o, uint64_t v, bool neg, unsigned base,
		       unsigned width, char pad)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg) {
		if (pad == '0') {
			put(o, '-');
			width = width ? width - 1 : 0;
		} else {
			tmp[sizeof(tmp) - 1 - n++] = '-';
		}
	}
	put_padded(o, tmp + sizeof(tmp) - n, n, width, pad);
}

/* Reads one integer argument of the given length modifier. */
static uint64_t arg_int(va_list *ap, int lng, bool is_signed, bool *neg)
{
	int64_t s;

	*neg = false;
	if (!is_signed) {
		if (lng >= 1)
			return va_arg(*ap, unsigned long);
		return va_arg(*ap, unsigned int);
	}
	s = lng >= 1 ? va_arg(*ap, long) : va_arg(*ap, int);
	if (s < 0) {
		*neg = true;
		return (uint64_t)0 - (uint64_t)s;
	}
	return (uint64_t)s;
}

size_t vformat(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { buf, size, 0 };
	va_list ap;

	va_copy(ap, ap_in);
	for (; *fmt; fmt++) {
		char pad = ' ';
		unsigned width = 0;
		int lng = 0, prec = -1;
		bool neg;
		uint64_t v;
		const char *s;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		if (fmt[0] == '.' && fmt[1] == '*') {
			prec = va_arg(ap, int);
			fmt += 2;
		}
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_padded(&o, s,
				   prec >= 0 ? strnlen(s, (size_t)prec)
					     : strlen(s),
				   width, ' ');
			break;
		case 'd':
			v = arg_int(&ap, lng, true, &neg);
			put_number(&o, v, neg, 10, width, pad);
			break;
		case 'u':
		case 'x':
			v = arg_int(&ap, lng, false, &neg);
			put_number(&o, v, false, *fmt == 'u' ? 10 : 16, width,
				   pad);
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	va_end(ap);
	if (size)
		buf[o.len] = '\0';
	return o.len;
}

size_t format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
