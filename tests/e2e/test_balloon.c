// SPDX-License-Identifier: MIT
/*
 * virtio-balloon end to end with the test guest (images/testguest/
 * virtio_balloon.h has its script), driven through the control socket:
 * the guest fills its target's worth of pages, the host asks for
 * statistics and gets the guest's fresh numbers, the guest inflates and
 * the VMM's resident guest memory drops by about as much, the host sees
 * the balloon's size, lowers the target and sees the guest follow, then
 * empties it; the guest checks a free page report last.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "images/testguest/virtio_balloon.h"
#include "api_helpers.h"

#define TIMEOUT_S 180
#define PAGES 2048 /* 8 MiB */
#define LOWER 1024

/* Guest memory the VMM holds in RAM: its memfd pages (RssShmem), in KiB. */
static long rss_shmem_kib(pid_t pid)
{
	char path[64], *status, *line;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = slurp(path, NULL);
	cr_assert_not_null(status);
	line = strstr(status, "RssShmem:");
	if (line)
		kib = strtol(line + strlen("RssShmem:"), NULL, 10);
	free(status);
	cr_assert_geq(kib, 0, "no RssShmem in %s", path);
	return kib;
}

static void expect_pages(struct api_vmm *v, long actual, long target)
{
	struct json_object *r = api_ok(v, "GetNumPages", NULL);

	cr_assert_eq(jint(r, "num_pages"), actual, "%s",
		     json_object_to_json_string(r));
	cr_assert_eq(jint(r, "requested_num_pages"), target, "%s",
		     json_object_to_json_string(r));
	json_object_put(r);
}

static void inflate_stats_deflate_report(const char *transport)
{
	char pages[16], cmdline[200], params[64];
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--balloon", pages, "--transport", transport, "--cmdline",
		cmdline, NULL,
	};
	struct json_object *stats;
	long touched, inflated;
	struct api_vmm v;
	char *out;

	snprintf(pages, sizeof(pages), "%d", PAGES);
	snprintf(cmdline, sizeof(cmdline),
		 "console=ttyS0 testguest.virtio=balloon testguest.mem=64 "
		 "testguest.balloon_pages=%d testguest.pci=%d", PAGES,
		 !strcmp(transport, "pci"));
	api_vmm_start(&v, extra);
	cr_assert(vmm_wait_output(&v.p, TG_BALLOON_TOUCHED, TIMEOUT_S),
		  "the guest never filled its pages");
	touched = rss_shmem_kib(v.p.pid);
	cr_assert_geq(touched, PAGES * 4, "only %ld KiB resident", touched);

	/*
	 * Statistics: the guest's second round, every tag. A call that beat
	 * the guest's first buffer to the device gets that one; the next
	 * call then brings the second.
	 */
	stats = api_ok(&v, "GetMemStats", NULL);
	if (jint(stats, "mem_stats.0.val") == (long long)tg_balloon_stat(0, 0)) {
		json_object_put(stats);
		stats = api_ok(&v, "GetMemStats", NULL);
	}
	for (unsigned int i = 0; i < TG_BALLOON_NR_STATS; i++) {
		char tag[32], val[32];

		snprintf(tag, sizeof(tag), "mem_stats.%u.tag", i);
		snprintf(val, sizeof(val), "mem_stats.%u.val", i);
		cr_assert_eq(jint(stats, tag), i, "%s",
			     json_object_to_json_string(stats));
		cr_assert_eq(jint(stats, val), (long long)tg_balloon_stat(i, 1),
			     "%s", json_object_to_json_string(stats));
	}
	json_object_put(stats);

	cr_assert(vmm_wait_output(&v.p, TG_BALLOON_INFLATED, TIMEOUT_S));
	inflated = rss_shmem_kib(v.p.pid);
	cr_assert_geq(touched - inflated, PAGES * 4 * 9 / 10,
		      "resident guest memory went from %ld to %ld KiB",
		      touched, inflated);
	expect_pages(&v, PAGES, PAGES);

	snprintf(params, sizeof(params), "{\"requested_num_pages\":%d}", LOWER);
	json_object_put(api_ok(&v, "RequestNumPages", params));
	cr_assert(vmm_wait_output(&v.p, TG_BALLOON_DEFLATED, TIMEOUT_S));
	expect_pages(&v, LOWER, LOWER);
	/* The guest waits for this before it goes on and ends. */
	json_object_put(api_ok(&v, "RequestNumPages",
			       "{\"requested_num_pages\":0}"));

	cr_assert(vmm_wait_output(&v.p, "virtio_balloon", TIMEOUT_S));
	out = vmm_stdout(&v.p);
	cr_expect(strstr(out, "PASS virtio_balloon"), "serial log:\n%s", out);
	cr_expect_null(strstr(out, "FAIL"), "serial log:\n%s", out);
	free(out);
	api_vmm_quit(&v);
}

Test(balloon_e2e, inflate_stats_deflate_report, .timeout = TIMEOUT_S * 2)
{
	inflate_stats_deflate_report("mmio");
}

Test(balloon_e2e, the_same_over_virtio_pci, .timeout = TIMEOUT_S * 2)
{
	inflate_stats_deflate_report("pci");
}
