/* SPDX-License-Identifier: MIT */
#ifndef AGENT_DISK_H
#define AGENT_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * The disk a bridge MappedVirtualDisk names by SCSI controller and LUN: the
 * block device under SYS/block whose serial is "scsi-C-L", the serial the
 * VMM gives each disk it creates from CreateVM's scsi_disks. @buf gets
 * DEV/NAME, or DEV/NAMEP for partition P (0 is the whole disk).
 */
int disk_find(const char *sys_dir, const char *dev_dir, uint32_t controller,
	      uint32_t lun, uint32_t partition, char *buf, size_t len,
	      struct err *e);

/*
 * Mounts @dev at @path as @fs, or as the first file system type in
 * /proc/filesystems the kernel accepts when @fs is NULL. @options are
 * mount(8)-style: flags (ro, nosuid, noexec, ...) and propagation (shared,
 * rprivate, ...) are applied as such, the rest is passed to the file system.
 */
int disk_mount(const char *dev, const char *path, const char *fs,
	       char *const *options, bool read_only, struct err *e);

#endif
