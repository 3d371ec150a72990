/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_BALLOON_H
#define DEVICES_VIRTIO_BALLOON_H

#include <stdint.h>

#include "vmm/config.h"
#include "vmm/control.h"
#include "devices/virtio/virtio.h"
#include "vmm/device.h"
#include "lib/util.h"

/*
 * virtio-balloon (virtio 1.x, 5.5): inflated and reported pages go back
 * to the host for real, statistics on request or on a timer. See
 * docs/virtio-balloon.md.
 */


/* Feature bits (5.5.3). */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5

/* Configuration space (5.5.4): le32 num_pages, le32 actual. */
#define VIRTIO_BALLOON_CFG_NUM_PAGES 0
#define VIRTIO_BALLOON_CFG_ACTUAL 4
#define VIRTIO_BALLOON_CFG_SIZE 8

/*
 * Queues (5.5.2): inflateq and deflateq, then statsq when STATS_VQ was
 * negotiated, then reporting_vq when PAGE_REPORTING was: queues that do
 * not exist take no index, as Linux numbers them. FREE_PAGE_HINT is not
 * offered, so no free_page_vq.
 */
#define VIRTIO_BALLOON_INFLATEQ 0
#define VIRTIO_BALLOON_DEFLATEQ 1
#define VIRTIO_BALLOON_NR_QUEUES 4
#define VIRTIO_BALLOON_QUEUE_SIZE 128

/* Page frame numbers count 4 KiB pages (BALLOON_PAGE_SIZE). */
#define VIRTIO_BALLOON_PFN_SHIFT 12
/* struct virtio_balloon_stat: le16 tag, le64 val, packed. */
#define VIRTIO_BALLOON_STAT_SIZE 10

/* A statistics request the guest does not answer in time fails. */
#define BALLOON_STATS_TIMEOUT_MS 5000
#define BALLOON_MAX_STATS_WAITING 64

struct balloon_counters {
	uint64_t inflated_pages; /* PFNs the guest gave */
	uint64_t deflated_pages; /* PFNs it took back */
	uint64_t discarded_bytes; /* returned to the host (inflate, reports) */
	uint64_t reported_bytes;  /* free page reports received */
	uint64_t bad_pfns;        /* outside guest RAM, ignored */
	/* inflated while in the balloon, or deflated while not: ignored */
	uint64_t repeated_pfns;
	uint64_t bad_buffers;     /* wrong direction or length */
	uint64_t discard_errors;
	uint64_t unrequested_deflates; /* below target, no DEFLATE_ON_OOM */
	uint64_t oom_deflates;         /* below target with DEFLATE_ON_OOM */
	uint64_t stats_updates;        /* statistics buffers received */
	uint64_t bad_stats;      /* entries cut short or beyond the limit */
	uint32_t balloon_pages;  /* inflated less deflated, as seen here */
	uint64_t actual_pages;   /* what the guest says its balloon holds */
};

/*
 * Creates the balloon on the transport @at names, its first target
 * and options from @cfg. @control (owned by the device) is what the
 * control API calls.
 */
int virtio_balloon_create(struct device_host *host,
			  const struct virtio_attach *at,
			  const struct balloon_config *cfg,
			  struct device **out, struct balloon_control **control,
			  struct err *e);

/* A snapshot of the counters (any thread). */
void virtio_balloon_counters(struct balloon_control *control,
			     struct balloon_counters *out);

#endif
