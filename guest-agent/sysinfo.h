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

/* The virtio-blk disk for @lun: DIR/vda for 0, vdb for 1, ... vdaa for 26. */
int disk_device_path(const char *dev_dir, uint32_t lun, char *buf, size_t len,
		     struct err *e);
int mkdir_p(const char *path, struct err *e);
/* Mounts @dev at @path with the first file system type the kernel accepts. */
int mount_block_device(const char *dev, const char *path, bool read_only,
		       struct err *e);
/* Appends what /proc says process @pid is doing (for DumpStacks). */
void process_stack(pid_t pid, struct bytebuf *out);

#endif
