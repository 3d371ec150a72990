/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_VIRTIO_BALLOON_H
#define IMAGES_TESTGUEST_VIRTIO_BALLOON_H

#include <stdint.h>

#include "check.h"

/*
 * virtio_balloon check (testguest.virtio=balloon; testguest.balloon_pages=N
 * makes it compare the device's first target). With the statistics and
 * free page reporting queues, the guest:
 *   1. posts its statistics (every tag 0..TG_BALLOON_NR_STATS-1, values
 *      tg_balloon_stat(tag, 0)), writes to the target's worth of pages
 *      from TG_BALLOON_REGION on and prints TG_BALLOON_TOUCHED;
 *   2. waits for the device to ask for statistics (the host's GetMemStats)
 *      and answers with tg_balloon_stat(tag, 1);
 *   3. inflates those pages, sets actual, prints TG_BALLOON_INFLATED;
 *   4. waits for a lower target (the host's RequestNumPages), deflates
 *      down to it, checks the deflated pages came back as zeroes (the
 *      host discarded them), sets actual, prints TG_BALLOON_DEFLATED;
 *   5. the same once more when the host sets the target to 0, so the host
 *      can look at step 4's balloon before the guest goes on;
 *   6. writes TG_BALLOON_REPORT_LEN bytes at TG_BALLOON_REPORT, reports
 *      them free and checks they read back as zeroes.
 */
#define TG_BALLOON_REGION (16ULL << 20)
#define TG_BALLOON_REPORT (48ULL << 20)
#define TG_BALLOON_REPORT_LEN (2ULL << 20)
#define TG_BALLOON_NR_STATS 10
#define TG_BALLOON_TOUCHED "BALLOON TOUCHED"
#define TG_BALLOON_INFLATED "BALLOON INFLATED"
#define TG_BALLOON_DEFLATED "BALLOON DEFLATED"

static inline uint64_t tg_balloon_stat(unsigned int tag, unsigned int round)
{
	return (uint64_t)(round + 1) * 1000000 + tag;
}

void tg_virtio_balloon_test(const char *cmdline, struct check *c);

#endif
