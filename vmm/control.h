/* SPDX-License-Identifier: MIT */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H

#include <stdint.h>

#include "lib/util.h"
#include "vmm/config.h"

/*
 * What a device offers to whoever controls the VM (the control socket),
 * without either side knowing the other's internals. A device that has
 * such controls fills one of these structures and the VM keeps a pointer
 * to it (NULL when the device is absent).
 *
 * Every function is called on the event loop thread. Calls that need the
 * guest's answer are asynchronous: they return 0 when the request was
 * accepted and later call @done exactly once, on the loop thread, with the
 * result or an error; at the latest when the device is destroyed (with an
 * error saying so). When they return -1, @done is never called.
 */

/* Memory statistics tags, as in the virtio balloon's stats queue. */
enum balloon_stat_tag {
	BALLOON_STAT_SWAP_IN = 0,
	BALLOON_STAT_SWAP_OUT = 1,
	BALLOON_STAT_MAJFLT = 2,
	BALLOON_STAT_MINFLT = 3,
	BALLOON_STAT_MEMFREE = 4,
	BALLOON_STAT_MEMTOT = 5,
	BALLOON_STAT_AVAIL = 6,
	BALLOON_STAT_CACHES = 7,
	BALLOON_STAT_HTLB_PGALLOC = 8,
	BALLOON_STAT_HTLB_PGFAIL = 9,
};

#define BALLOON_MAX_STATS 32
/* The balloon counts in 4 KiB pages whatever the guest's page size. */
#define BALLOON_PAGE_SIZE 4096

struct balloon_stat {
	uint16_t tag;
	uint64_t val;
};

struct balloon_stats {
	unsigned int nr;
	struct balloon_stat stats[BALLOON_MAX_STATS];
};

typedef void (*balloon_stats_done_fn)(void *ctx,
				      const struct balloon_stats *stats,
				      const struct err *e);

struct balloon_control {
	/* Pages the guest has given to the balloon, and the current target. */
	int (*get_num_pages)(void *opaque, uint32_t *actual, uint32_t *target,
			     struct err *e);
	/* Sets the target; the guest inflates or deflates towards it. */
	int (*request_num_pages)(void *opaque, uint32_t pages, struct err *e);
	/* Asks the guest for fresh statistics. */
	int (*get_mem_stats)(void *opaque, balloon_stats_done_fn done,
			     void *ctx, struct err *e);
	void *opaque;
};

/*
 * @fd: the host end of a connected stream to the guest port, now owned by
 * the callee; -1 with @e set when the guest refused or did not answer.
 */
typedef void (*vsock_connect_done_fn)(void *ctx, int fd, const struct err *e);

struct vsock_control {
	/*
	 * Guest connections to host @port are relayed to the Unix socket
	 * listening at @path (connected once per guest connection).
	 */
	int (*add_listener)(void *opaque, uint32_t port, const char *path,
			    struct err *e);
	int (*remove_listener)(void *opaque, uint32_t port, struct err *e);
	/* Opens a stream to guest @port. */
	int (*connect)(void *opaque, uint32_t port, vsock_connect_done_fn done,
		       void *ctx, struct err *e);
	void *opaque;
};

/*
 * A disk's or a network device's I/O limits (docs/rate-limits.md),
 * replaced while it runs. Synchronous.
 */
struct rate_limit_control {
	int (*set)(void *opaque, const struct rate_limit_config *cfg,
		   struct err *e);
	void *opaque;
};

/*
 * The machine's power button: the guest is asked to shut down, as when a
 * person presses it; what it does then is up to the guest. Any thread.
 */
struct power_control {
	int (*press)(void *opaque, struct err *e);
	void *opaque;
};

#endif
