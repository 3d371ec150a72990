/* SPDX-License-Identifier: MIT */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The process's log: lines on stderr, as text ("vmm: warning: ...") or as
 * one JSON object per line ({"time", "level", "component", "message"}),
 * from the most severe level down to the one configured.
 *
 * The level, the format and the program name are the logger's only state,
 * set once by main() before any thread starts (log_setup()) and read by
 * every thread afterwards. That is the one global the project keeps, on
 * purpose: messages come from code that has no context to pass a logger
 * through (vCPU threads, devices, library code), and where they go is one
 * decision for the whole process. Without log_setup() the defaults hold:
 * text, level info, program "vmm".
 *
 * A file names its component by defining LOG_COMPONENT before including
 * this header (as the kernel's pr_fmt); otherwise it is the source file's
 * name without its directory and extension.
 */

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

void log_setup(const char *program, enum log_level level,
	       enum log_format format);
/* "error", "warn", "info", "debug"; -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);
/* "text", "json"; -1 for anything else. */
int log_format_parse(const char *name, enum log_format *out);
bool log_enabled(enum log_level level);

void log_write(enum log_level level, const char *component, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));

#ifndef LOG_COMPONENT
#define LOG_COMPONENT __FILE__
#endif

#define log_error(...) log_write(LOG_ERROR, LOG_COMPONENT, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, LOG_COMPONENT, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, LOG_COMPONENT, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, LOG_COMPONENT, __VA_ARGS__)

/*
 * Messages a guest can cause. They are warnings marked as the guest's
 * doing ("vmm: guest: ...", "guest": true), and limited per call site so
 * that a guest repeating the cause cannot flood the host's log:
 *
 * log_guest_once() says it once for the life of the process: for a guest
 * breaking a device's protocol, where the first time tells all.
 *
 * log_guest() says it at most LOG_GUEST_BURST times per
 * LOG_GUEST_INTERVAL_S seconds; the first message after a quiet spell
 * says how many were left out. For events worth seeing each time they
 * start again (a device broken again after a reset).
 */
#define LOG_GUEST_BURST 5
#define LOG_GUEST_INTERVAL_S 10

struct log_ratelimit {
	uint64_t window_start_ns;
	unsigned int printed;
	unsigned int suppressed;
	bool once;
};

void log_guest_write(struct log_ratelimit *rl, const char *component,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_guest(...)                                                         \
	do {                                                                   \
		static struct log_ratelimit log_rl_;                           \
		log_guest_write(&log_rl_, LOG_COMPONENT, __VA_ARGS__);         \
	} while (0)

#define log_guest_once(...)                                                    \
	do {                                                                   \
		static struct log_ratelimit log_rl_ = { .once = true };        \
		log_guest_write(&log_rl_, LOG_COMPONENT, __VA_ARGS__);         \
	} while (0)

#endif
