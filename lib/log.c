// SPDX-License-Identifier: MIT
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOG_LINE_MAX 2048
#define NSEC_PER_SEC 1000000000ULL

/* See log.h: the process's only global, written before threads start. */
static struct {
	const char *program;
	enum log_level level;
	enum log_format format;
	pthread_mutex_t ratelimit_lock;
} logger = {
	.program = "vmm",
	.level = LOG_INFO,
	.format = LOG_FORMAT_TEXT,
	.ratelimit_lock = PTHREAD_MUTEX_INITIALIZER,
};

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

/* The words text lines have always used. */
static const char *const level_words[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_setup(const char *program, enum log_level level,
	       enum log_format format)
{
	logger.program = program;
	logger.level = level;
	logger.format = format;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_format_parse(const char *name, enum log_format *out)
{
	if (!strcmp(name, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(name, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

bool log_enabled(enum log_level level)
{
	return level <= logger.level;
}

/* "devices/virtio/blk.c" -> "blk": a file that names no component. */
static void component_name(const char *component, char *out, size_t len)
{
	const char *base = strrchr(component, '/');
	const char *dot;
	size_t n;

	base = base ? base + 1 : component;
	dot = strrchr(base, '.');
	n = dot && !strcmp(dot, ".c") ? (size_t)(dot - base) : strlen(base);
	snprintf(out, len, "%.*s", (int)MIN(n, len - 1), base);
}

/* snprintf() at @*used that never moves @*used past the buffer's end. */
static void append(char *out, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *out, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = MIN(*used + (size_t)n, len - 1);
}

/* Bytes of the UTF-8 sequence starting at @s, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 :
		   s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Appends @s as the contents of a JSON string; invalid UTF-8 becomes U+FFFD. */
static size_t json_escape(char *out, size_t len, size_t used, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p && used + 8 < len) {
		size_t n;

		if (*p == '"' || *p == '\\') {
			out[used++] = '\\';
			out[used++] = (char)*p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			append(out, len, &used, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			out[used++] = (char)*p++;
		} else if ((n = utf8_len(p))) {
			memcpy(out + used, p, n);
			used += n;
			p += n;
		} else {
			append(out, len, &used, "\\ufffd");
			p++;
		}
	}
	return used;
}

static size_t json_line(char *out, size_t len, enum log_level level,
			const char *component, bool guest, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	size_t used;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	used = strftime(out, len, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	append(out, len, &used, ".%06ldZ\",\"level\":\"%s\",\"component\":\"",
	       ts.tv_nsec / 1000, level_names[level]);
	used = json_escape(out, len, used, component);
	append(out, len, &used, "\",%s\"message\":\"",
	       guest ? "\"guest\":true," : "");
	used = json_escape(out, len, used, msg);
	/* Room for the end is kept by json_escape(): the line stays JSON. */
	append(out, len, &used, "\"}\n");
	return used;
}

static void log_emit(enum log_level level, const char *component, bool guest,
		     const char *msg)
{
	char name[64], line[LOG_LINE_MAX + 256];
	size_t n;

	component_name(component, name, sizeof(name));
	if (logger.format == LOG_FORMAT_JSON) {
		n = json_line(line, sizeof(line), level, name, guest, msg);
	} else {
		int r = snprintf(line, sizeof(line), "%s: %s: %s\n",
				 logger.program,
				 guest ? "guest" : level_words[level], msg);

		if (r <= 0)
			return;
		n = MIN((size_t)r, sizeof(line) - 1);
		line[n - 1] = '\n';
	}
	/* One write per line: lines of concurrent threads never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

static void log_vwrite(enum log_level level, const char *component,
		       bool guest, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(level, component, guest, msg);
}

void log_write(enum log_level level, const char *component, const char *fmt,
	       ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vwrite(level, component, false, fmt, ap);
	va_end(ap);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * Whether this call site may speak now; @suppressed receives how many of
 * its messages were left out since it last spoke.
 */
static bool ratelimit_pass(struct log_ratelimit *rl, unsigned int *suppressed)
{
	uint64_t now = monotonic_ns();
	bool pass;

	*suppressed = 0;
	if (rl->once)
		return !__atomic_exchange_n(&rl->printed, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&logger.ratelimit_lock);
	if (!rl->window_start_ns ||
	    now - rl->window_start_ns >= LOG_GUEST_INTERVAL_S * NSEC_PER_SEC) {
		*suppressed = rl->suppressed;
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	pass = rl->printed < LOG_GUEST_BURST;
	if (pass)
		rl->printed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&logger.ratelimit_lock);
	return pass;
}

void log_guest_write(struct log_ratelimit *rl, const char *component,
		     const char *fmt, ...)
{
	unsigned int suppressed;
	char msg[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (!log_enabled(LOG_WARN) || !ratelimit_pass(rl, &suppressed))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n,
			 " (%u more like this were not logged)", suppressed);
	log_emit(LOG_WARN, component, true, msg);
}
