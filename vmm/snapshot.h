/* SPDX-License-Identifier: MIT */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "state.h"
#include "lib/util.h"

/*
 * Snapshots (docs/snapshot.md): a directory holding the state file (the
 * VMM's version, the config, every vCPU, the in-kernel chips, every
 * device) and the guest's memory, a sparse file of its RAM.
 */

#define SNAPSHOT_STATE "state"
#define SNAPSHOT_MEMORY "memory"

struct vm;
struct event_loop;

struct snapshot_stats {
	uint64_t state_bytes;
	uint64_t memory_bytes; /* of data; the rest of RAM stayed a hole */
	uint64_t ns;
};

/*
 * Fails, saying why, when @vm cannot be snapshotted at all; checked before
 * the VM is paused.
 */
int vm_snapshot_check(const struct vm *vm, struct err *e);
/*
 * Writes @vm's snapshot into @dir, which is created when missing and must
 * not hold a snapshot yet. The caller has paused the VM (every vCPU is
 * parked); devices finish their I/O in flight first. Event loop thread.
 * On failure nothing in @dir passes for a snapshot.
 */
int vm_snapshot(struct vm *vm, const char *dir, struct snapshot_stats *st,
		struct err *e);

/* A snapshot read back and checked, before a VM is made of it. */
struct snapshot {
	char *dir;
	uint8_t *buf;
	size_t len;
	struct state_section root;
	struct vm_config cfg; /* the snapshot's, overrides applied */
};

/*
 * Reads @dir's state file and checks it whole: format, checksums, this
 * VMM's version and architecture, the config. Each refusal names what
 * differs.
 */
int snapshot_open(struct snapshot *snap, const char *dir, struct err *e);
void snapshot_close(struct snapshot *snap);

/*
 * Host resources a restore may give the VM instead of the snapshot's (a
 * clone's own disk copy, TAP, sockets), as the flags or RestoreVM name
 * them: the Nth of @cfg's disks and NICs replace the snapshot's Nth; a
 * vsock device replaces its CID and socket, listeners replace them all;
 * the serial ports and console marked given replace theirs.
 */
struct snapshot_overrides {
	struct vm_config cfg;
	bool serial[CONFIG_NR_SERIAL];
	bool console;
};

void snapshot_overrides_init(struct snapshot_overrides *ov);
void snapshot_overrides_free(struct snapshot_overrides *ov);
/*
 * Applies @ov to the snapshot's config. What the guest sees (a disk's
 * serial or mode, a MAC) cannot change; a device the snapshot lacks
 * cannot be added.
 */
int snapshot_override(struct snapshot *snap,
		      const struct snapshot_overrides *ov, struct err *e);

/*
 * Restoring, in two steps around vm_create() and the devices' creation
 * from the snapshot's config (vmm/api/machine.c):
 *
 * The snapshot's memory file, opened for vm_create() to map copy-on-write
 * (no page is read before the guest touches it). Fails when @cfg, the
 * config the VM is created from, lacks a host end the file cannot give.
 */
int snapshot_memory_fd(const struct snapshot *snap,
		       const struct vm_config *cfg, struct err *e);
/*
 * The vCPUs, the in-kernel chips and the devices of a VM just created take
 * on the snapshot's state; nothing has run yet.
 */
int vm_restore_state(struct vm *vm, const struct snapshot *snap,
		     struct err *e);

/* The config as the state file holds it (snapshot_config.c). */
void snapshot_config_save(struct state_writer *w, const struct vm_config *cfg);
int snapshot_config_load(const struct state_section *s, struct vm_config *cfg,
			 struct err *e);

#endif
