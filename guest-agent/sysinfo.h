/* SPDX-License-Identifier: MIT */
#ifndef AGENT_SYSINFO_H
#define AGENT_SYSINFO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/proto/bytebuf.h"
#include "lib/util.h"

/*
 * The guest's statistics in the layout hcsshim expects for LCOWMetrics
 * (containerd's cgroups v1 Metrics: cpu.usage, memory.usage, pids).
 */
struct json_object *guest_metrics(void);

/* Reads at most @len - 1 bytes of a small file, NUL-terminated; "" on error. */
size_t read_small(const char *path, char *buf, size_t len);
int mkdir_p(const char *path, struct err *e);
/* Appends what /proc says process @pid is doing (for DumpStacks). */
void process_stack(pid_t pid, struct bytebuf *out);

#endif
