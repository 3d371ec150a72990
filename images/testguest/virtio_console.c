// SPDX-License-Identifier: MIT
/* virtio_console check: write a line; optionally echo a line back. */
#include "virtio.h"

#include "cmdline.h"
#include "str.h"

#define VIRTIO_ID_CONSOLE 3
#define RXQ 0
#define TXQ 1
#define LINE_MAX 64
#define ECHO_PREFIX "echo: "

static struct {
	struct tg_vring rings[2];
	char out[sizeof(ECHO_PREFIX) + LINE_MAX];
	char in[LINE_MAX];
} con __attribute__((aligned(4096)));

/* The device once the check set it up, for the ticks that follow. */
static struct tg_virtio con_dev = { .name = "virtio-console" };
static bool con_ready;

static bool con_write(struct tg_virtio *d, const char *s, size_t len,
		      struct check *c)
{
	struct tg_buf b = { con.out, (uint32_t)len, false };
	uint32_t used;

	if (len > sizeof(con.out))
		return check_fail(c, "%zu bytes do not fit the output buffer", len);
	memcpy(con.out, s, len);
	return tg_virtio_submit(d, TXQ, &b, 1, c) &&
	       tg_virtio_wait(d, TXQ, &used, c);
}

/* Reads until a newline; the line lands at con.in[0..*len). */
static bool con_read_line(struct tg_virtio *d, size_t *len, struct check *c)
{
	*len = 0;
	while (*len < LINE_MAX) {
		struct tg_buf b = { con.in + *len, (uint32_t)(LINE_MAX - *len), true };
		uint32_t got;

		if (!tg_virtio_submit(d, RXQ, &b, 1, c) ||
		    !tg_virtio_wait(d, RXQ, &got, c))
			return false;
		if (got > LINE_MAX - *len)
			return check_fail(c, "device wrote %u bytes into a %zu-byte buffer",
					  got, LINE_MAX - *len);
		*len += got;
		if (*len && con.in[*len - 1] == '\n')
			return true;
	}
	return check_fail(c, "no newline within %u bytes of input", LINE_MAX);
}

bool tg_virtio_console_write(const char *s, size_t len)
{
	struct check c = { .name = "virtio_console" };

	return con_ready && con_write(&con_dev, s, len, &c);
}

void tg_virtio_console_test(const char *cmdline, struct check *c)
{
	struct tg_virtio *d = &con_dev;
	size_t prefix = strlen(ECHO_PREFIX), len;
	const char *val;

	if (!tg_virtio_find(cmdline, VIRTIO_ID_CONSOLE, d, c) ||
	    !tg_virtio_start(d, 0, con.rings, 2, c) ||
	    !con_write(d, TG_CONSOLE_LINE, strlen(TG_CONSOLE_LINE), c))
		return;
	con_ready = true;
	if (cmdline_param(cmdline, "testguest.console_echo", &val, &len) < 0)
		return;
	if (!con_read_line(d, &len, c))
		return;
	{
		char line[sizeof(ECHO_PREFIX) + LINE_MAX];

		memcpy(line, ECHO_PREFIX, prefix);
		memcpy(line + prefix, con.in, len);
		con_write(d, line, prefix + len, c);
	}
}

void tg_virtio_console_flood(const char *cmdline, struct check *c)
{
	struct tg_virtio d = { .name = "virtio-console" };

	if (!tg_virtio_find(cmdline, VIRTIO_ID_CONSOLE, &d, c) ||
	    !tg_virtio_start(&d, 0, con.rings, 2, c))
		return;
	while (con_write(&d, TG_CONSOLE_FLOOD, strlen(TG_CONSOLE_FLOOD), c))
		;
}
