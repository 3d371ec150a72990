// SPDX-License-Identifier: MIT
/*
 * virtio-balloon driven by the simulated driver: inflated and reported
 * pages leave the memory file (its allocated size drops), page frames
 * outside RAM are refused, deflating below the target is told apart with
 * and without DEFLATE_ON_OOM, the target and actual sizes travel through
 * the configuration space, and statistics come back on request, on the
 * timer, or fail when the guest stays silent. Then what a hostile guest
 * sends.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/balloon.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "vmm/config_devices.h"
#include "virtio_driver.h"

#define MEM_SIZE (16 * MiB)
#define HEAP (1 * MiB)
#define HEAP_SIZE (3 * MiB)
#define REGION (8 * MiB) /* guest pages the tests balloon */
#define TARGET 100
#define QSIZE 16
#define WAIT_MS 2000
#define PAGE BALLOON_PAGE_SIZE

#define F_STATS VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ)
#define F_REPORTING VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING)
#define F_OOM VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM)

static struct vtest_host th;
static struct device *dev;
static struct balloon_control *ctl;
static struct vdrv drv;
static uint64_t list_gpa; /* PFN lists are built here */

static void create_on(bool oom, uint32_t stats_s, bool pci)
{
	struct balloon_config cfg = {
		.enabled = true, .pages = TARGET, .deflate_on_oom = oom,
		.stats_interval_s = stats_s,
	};
	struct virtio_attach at;
	struct err e;

	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
	at = vtest_at(&th, pci);
	cr_assert_eq(virtio_balloon_create(&th.host, &at, &cfg, &dev, &ctl, &e),
		     0, "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(vdrv_init_at(&drv, &th, pci, HEAP, HEAP_SIZE), 0);
	list_gpa = vdrv_alloc(&drv, 64 * 1024, 8);
}

static void create(bool oom, uint32_t stats_s)
{
	create_on(oom, stats_s, false);
}

static void setup_pci(void)
{
	create_on(false, 0, true);
}

static void setup(void)
{
	create(false, 0);
}

static void teardown(void)
{
	vtest_teardown(&th, &dev, &drv);
}

TestSuite(balloon, .init = setup, .fini = teardown, .timeout = 30);

/* Version 1 plus @features; the queues those features call for. */
static void start(uint64_t features)
{
	unsigned int nq = 2;

	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
						  features), 0);
	if (features & F_STATS)
		nq++;
	if (features & F_REPORTING)
		nq++;
	for (unsigned int i = 0; i < nq; i++)
		cr_assert_eq(vdrv_setup_queue(&drv, i, QSIZE), 0);
	vdrv_driver_ok(&drv);
	cr_assert(vdrv_status(&drv) & VIRTIO_STATUS_DRIVER_OK);
}

static struct balloon_counters counters(void)
{
	struct balloon_counters c;

	virtio_balloon_counters(ctl, &c);
	return c;
}

/* Bytes the memory file really holds. */
static uint64_t mem_allocated(void)
{
	struct stat st;

	cr_assert_eq(fstat(th.mem.fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static void touch(uint64_t gpa, uint64_t len)
{
	memset(vdrv_ptr(&drv, gpa, len), 0x5a, len);
}

static bool all_zero(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = vdrv_ptr(&drv, gpa, len);

	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Sends @n PFNs on queue @q in one buffer of @bytes (default: 4 * n). */
static void send_pfns(unsigned int q, const uint32_t *pfns, unsigned int n,
		      uint32_t bytes)
{
	uint8_t *p = vdrv_ptr(&drv, list_gpa, 4ULL * n);
	struct vdrv_buf b = { list_gpa, bytes ? bytes : 4 * n, false };
	uint32_t id, len;
	int head;

	for (unsigned int i = 0; i < n; i++)
		put_le32(p + 4 * i, pfns[i]);
	head = vdrv_add(&drv, q, &b, 1, false);
	cr_assert_geq(head, 0);
	vdrv_kick(&drv, q);
	cr_assert(vdrv_wait_used(&drv, q, &id, &len, WAIT_MS), "not used");
	cr_assert_eq(id, (uint32_t)head);
}

/* PFNs of @n pages from guest address @gpa on. */
static void page_list(uint32_t *pfns, uint64_t gpa, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		pfns[i] = (uint32_t)(gpa / PAGE) + i;
}

/* ---- running control calls on the event loop, as the API does ---- */

struct job {
	void (*fn)(struct job *j);
	int ret;
	uint32_t a, b;
	struct err e;
	int done;
};

static void job_run(void *opaque)
{
	struct job *j = opaque;

	j->fn(j);
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
}

/* Runs @j on the loop thread and waits for it; a job may run again. */
static void on_loop(struct job *j)
{
	__atomic_store_n(&j->done, 0, __ATOMIC_SEQ_CST);
	cr_assert_eq(event_loop_call(&th.loop, job_run, j), 0);
	for (int i = 0; i < 200 && !__atomic_load_n(&j->done, __ATOMIC_SEQ_CST);
	     i++)
		usleep(10000);
	cr_assert(j->done);
}

static void do_get_pages(struct job *j)
{
	j->ret = ctl->get_num_pages(ctl->opaque, &j->a, &j->b, &j->e);
}

static void do_request(struct job *j)
{
	j->ret = ctl->request_num_pages(ctl->opaque, j->a, &j->e);
}

struct stats_result {
	struct balloon_stats stats;
	char msg[sizeof(struct err)];
	int calls;
	bool ok;
};

static struct stats_result sres;

static void stats_done(void *ctx, const struct balloon_stats *stats,
		       const struct err *e)
{
	struct stats_result *r = ctx;

	r->ok = stats != NULL;
	if (stats)
		r->stats = *stats;
	snprintf(r->msg, sizeof(r->msg), "%s", e ? e->msg : "");
	__atomic_add_fetch(&r->calls, 1, __ATOMIC_SEQ_CST);
}

static void do_get_stats(struct job *j)
{
	j->ret = ctl->get_mem_stats(ctl->opaque, stats_done, &sres, &j->e);
}

static bool wait_stats(int calls, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (__atomic_load_n(&sres.calls, __ATOMIC_SEQ_CST) >= calls)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Waits until the device took @n statistics buffers in all: a control call
 * made right after a kick could otherwise run on the loop before the kick.
 */
static void wait_updates(uint64_t n)
{
	for (int i = 0; i < WAIT_MS / 10 && counters().stats_updates < n; i++)
		usleep(10000);
	cr_assert_eq(counters().stats_updates, n);
}

/* The guest's statistics buffer: @n entries, tag i holding @base + i. */
static int post_stats(uint64_t gpa, unsigned int n, uint64_t base)
{
	uint8_t *p = vdrv_ptr(&drv, gpa, 10ULL * n);
	struct vdrv_buf b = { gpa, 10 * n, false };
	int head;

	for (unsigned int i = 0; i < n; i++) {
		put_le16(p + 10 * i, (uint16_t)i);
		put_le64(p + 10 * i + 2, base + i);
	}
	head = vdrv_add(&drv, 2, &b, 1, false);
	vdrv_kick(&drv, 2);
	return head;
}

/* ---- tests ---- */

Test(balloon, offers_its_features_and_the_first_target)
{
	uint64_t f = vdrv_device_features(&drv);
	uint8_t cfg[8];

	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	cr_assert(f & F_STATS);
	cr_assert(f & F_REPORTING);
	cr_assert_not(f & F_OOM, "DEFLATE_ON_OOM offered without the option");
	cr_assert_not(f & VIRTIO_BIT(VIRTIO_BALLOON_F_MUST_TELL_HOST));
	cr_assert_not(f & VIRTIO_BIT(VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	vdrv_config_read(&drv, 0, cfg, 8);
	cr_assert_eq(get_le32(cfg), TARGET);
	cr_assert_eq(get_le32(cfg + 4), 0);
}

Test(balloon, deflate_on_oom_is_offered_when_asked)
{
	teardown();
	create(true, 0);
	cr_assert(vdrv_device_features(&drv) & F_OOM);
}

Test(balloon, inflated_pages_leave_the_host)
{
	enum { N = 1024 }; /* 4 MiB */
	static uint32_t pfns[N];
	uint64_t before, touched, after;
	struct balloon_counters n;

	start(0);
	before = mem_allocated();
	touch(REGION, (uint64_t)N * PAGE);
	touched = mem_allocated();
	cr_assert_geq(touched, before + (uint64_t)N * PAGE);
	page_list(pfns, REGION, N);
	for (unsigned int i = 0; i < N; i += 256)
		send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns + i, 256, 0);
	after = mem_allocated();
	cr_assert_leq(after + (uint64_t)N * PAGE, touched,
		      "the memory file kept %llu of %llu bytes",
		      (unsigned long long)(after - before),
		      (unsigned long long)(touched - before));
	cr_assert(all_zero(REGION, (uint64_t)N * PAGE));
	n = counters();
	cr_assert_eq(n.inflated_pages, N);
	cr_assert_eq(n.balloon_pages, N);
	cr_assert_eq(n.discarded_bytes, (uint64_t)N * PAGE);
	cr_assert_eq(n.bad_pfns, 0);
}

Test(balloon, page_frames_outside_ram_are_refused)
{
	uint32_t pfns[] = {
		REGION / PAGE, 0xffffffff, MEM_SIZE / PAGE, REGION / PAGE + 1,
		MEM_SIZE / PAGE - 1,
	};
	struct balloon_counters n;

	start(0);
	touch(REGION, 2 * PAGE);
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, ARRAY_SIZE(pfns), 0);
	n = counters();
	cr_assert_eq(n.bad_pfns, 2);
	cr_assert_eq(n.inflated_pages, 3);
	cr_assert(all_zero(REGION, 2 * PAGE));
	cr_assert_not(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET);
	send_pfns(VIRTIO_BALLOON_DEFLATEQ, pfns, ARRAY_SIZE(pfns), 0);
	cr_assert_eq(counters().bad_pfns, 4);
	cr_assert_eq(counters().deflated_pages, 3);
}

Test(balloon, guest_reports_actual_host_sets_target)
{
	struct job j = { .fn = do_get_pages };
	uint32_t gen, isr;
	uint8_t v[4];

	start(0);
	put_le32(v, 42);
	bus_write(&th.mmio, VTEST_BASE + VIRTIO_MMIO_CONFIG + 4, v, 4);
	on_loop(&j);
	cr_assert_eq(j.ret, 0);
	cr_assert_eq(j.a, 42, "actual");
	cr_assert_eq(j.b, TARGET, "target");
	/* The guest cannot move the target itself. */
	put_le32(v, 7);
	bus_write(&th.mmio, VTEST_BASE + VIRTIO_MMIO_CONFIG, v, 4);
	vdrv_config_read(&drv, 0, v, 4);
	cr_assert_eq(get_le32(v), TARGET);

	gen = vdrv_read(&drv, VIRTIO_MMIO_CONFIG_GENERATION);
	j = (struct job){ .fn = do_request, .a = 300 };
	on_loop(&j);
	cr_assert_eq(j.ret, 0, "%s", j.e.msg);
	vdrv_config_read(&drv, 0, v, 4);
	cr_assert_eq(get_le32(v), 300);
	cr_assert_neq(vdrv_read(&drv, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	isr = vdrv_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS);
	cr_assert(isr & VIRTIO_INT_CONFIG, "no configuration interrupt");

	j = (struct job){ .fn = do_request, .a = MEM_SIZE / PAGE + 1 };
	on_loop(&j);
	cr_assert_eq(j.ret, -1);
	cr_assert(strstr(j.e.msg, "more than the guest's"), "%s", j.e.msg);
}

Test(balloon, deflating_below_the_target_needs_deflate_on_oom)
{
	uint32_t pfns[10];
	struct job j = { .fn = do_request, .a = 5 };

	start(0);
	page_list(pfns, REGION, 10);
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, 10, 0);
	/* Target 100, 10 in the balloon: nothing may be taken back. */
	send_pfns(VIRTIO_BALLOON_DEFLATEQ, pfns, 2, 0);
	cr_assert_eq(counters().unrequested_deflates, 2);
	/* Target 5, 8 in the balloon: 3 may go, the next 1 may not. */
	on_loop(&j);
	send_pfns(VIRTIO_BALLOON_DEFLATEQ, pfns + 2, 4, 0);
	cr_assert_eq(counters().unrequested_deflates, 3);
	cr_assert_eq(counters().oom_deflates, 0);
	cr_assert_eq(counters().balloon_pages, 4);
}

Test(balloon, deflate_on_oom_deflates_are_counted_apart)
{
	uint32_t pfns[4];

	teardown();
	create(true, 0);
	start(F_OOM);
	page_list(pfns, REGION, 4);
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, 4, 0);
	send_pfns(VIRTIO_BALLOON_DEFLATEQ, pfns, 4, 0);
	cr_assert_eq(counters().oom_deflates, 4);
	cr_assert_eq(counters().unrequested_deflates, 0);
}

Test(balloon, statistics_on_request)
{
	uint64_t buf = vdrv_alloc(&drv, 10 * 16, 8);
	struct job j = { .fn = do_get_stats };
	uint32_t id, len;
	int head;

	memset(&sres, 0, sizeof(sres));
	start(F_STATS);
	head = post_stats(buf, 10, 1000);
	wait_updates(1);
	/* The device holds the buffer until it wants fresh numbers. */
	cr_assert_not(vdrv_wait_used(&drv, 2, &id, &len, 100));
	on_loop(&j);
	cr_assert_eq(j.ret, 0, "%s", j.e.msg);
	cr_assert(vdrv_wait_used(&drv, 2, &id, &len, WAIT_MS),
		  "the buffer did not come back");
	cr_assert_eq(id, (uint32_t)head);
	cr_assert_eq(sres.calls, 0, "answered before the guest refilled");
	post_stats(buf, 10, 2000);
	cr_assert(wait_stats(1, WAIT_MS));
	cr_assert(sres.ok, "%s", sres.msg);
	cr_assert_eq(sres.stats.nr, 10);
	for (unsigned int i = 0; i < 10; i++) {
		cr_assert_eq(sres.stats.stats[i].tag, i);
		cr_assert_eq(sres.stats.stats[i].val, 2000 + i);
	}
	cr_assert_eq(counters().stats_updates, 2);
}

Test(balloon, statistics_time_out_when_the_guest_is_silent, .timeout = 30)
{
	uint64_t buf = vdrv_alloc(&drv, 10 * 16, 8);
	struct job j = { .fn = do_get_stats };

	memset(&sres, 0, sizeof(sres));
	start(F_STATS);
	post_stats(buf, 10, 1);
	wait_updates(1);
	on_loop(&j);
	cr_assert_eq(j.ret, 0, "%s", j.e.msg);
	cr_assert(wait_stats(1, BALLOON_STATS_TIMEOUT_MS + 2000));
	cr_assert_not(sres.ok);
	cr_assert(strstr(sres.msg, "did not send statistics"), "%s", sres.msg);
}

Test(balloon, statistics_on_a_timer, .timeout = 30)
{
	uint64_t buf;
	uint32_t id, len;

	teardown();
	create(false, 1);
	buf = vdrv_alloc(&drv, 10 * 16, 8);
	start(F_STATS);
	post_stats(buf, 10, 1);
	cr_assert(vdrv_wait_used(&drv, 2, &id, &len, 2500),
		  "stats=1 did not ask for statistics");
	post_stats(buf, 10, 2);
	cr_assert(vdrv_wait_used(&drv, 2, &id, &len, 2500),
		  "no second request");
}

Test(balloon, statistics_need_the_driver_and_the_feature)
{
	struct job j = { .fn = do_get_stats };

	memset(&sres, 0, sizeof(sres));
	on_loop(&j);
	cr_assert_eq(j.ret, -1);
	cr_assert(strstr(j.e.msg, "not running"), "%s", j.e.msg);
	start(0);
	j = (struct job){ .fn = do_get_stats };
	on_loop(&j);
	cr_assert_eq(j.ret, -1);
	cr_assert(strstr(j.e.msg, "STATS_VQ"), "%s", j.e.msg);
	usleep(50000);
	cr_assert_eq(sres.calls, 0);
}

Test(balloon, reset_fails_waiting_statistics)
{
	struct job j = { .fn = do_get_stats };

	memset(&sres, 0, sizeof(sres));
	start(F_STATS);
	on_loop(&j);
	cr_assert_eq(j.ret, 0, "%s", j.e.msg);
	vdrv_write(&drv, VIRTIO_MMIO_STATUS, 0);
	cr_assert(wait_stats(1, WAIT_MS));
	cr_assert_not(sres.ok);
	cr_assert(strstr(sres.msg, "reset"), "%s", sres.msg);
}

/* Reports @len bytes at @gpa on @q (a device-writable buffer, as Linux). */
static void report(unsigned int q, uint64_t gpa, uint64_t len)
{
	struct vdrv_buf b[2] = {
		{ gpa, (uint32_t)(len / 2), true },
		{ gpa + len / 2, (uint32_t)(len / 2), true },
	};
	uint32_t id, used;

	cr_assert_geq(vdrv_add(&drv, q, b, 2, false), 0);
	vdrv_kick(&drv, q);
	cr_assert(vdrv_wait_used(&drv, q, &id, &used, WAIT_MS));
}

Test(balloon, free_page_reports_leave_the_host)
{
	uint64_t touched;

	start(F_STATS | F_REPORTING);
	touch(REGION, 2 * MiB);
	touched = mem_allocated();
	report(3, REGION, 2 * MiB);
	cr_assert_leq(mem_allocated() + 2 * MiB, touched);
	cr_assert(all_zero(REGION, 2 * MiB));
	cr_assert_eq(counters().reported_bytes, 2 * MiB);
	cr_assert_eq(counters().discarded_bytes, 2 * MiB);
}

Test(balloon, reporting_queue_follows_the_queues_that_exist)
{
	start(F_REPORTING);
	touch(REGION, 1 * MiB);
	report(2, REGION, 1 * MiB);
	cr_assert(all_zero(REGION, 1 * MiB));
	cr_assert_eq(counters().reported_bytes, 1 * MiB);
}

Test(balloon, hostile_buffers)
{
	uint64_t sbuf = vdrv_alloc(&drv, 10 * 40, 8);
	uint32_t pfns[3];
	struct vdrv_buf wbuf;
	uint32_t id, len;
	struct job j = { .fn = do_get_stats };

	memset(&sres, 0, sizeof(sres));
	start(F_STATS);
	page_list(pfns, REGION, 3);
	/* A list that is not whole PFNs: the whole ones count. */
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, 3, 10);
	cr_assert_eq(counters().bad_buffers, 1);
	cr_assert_eq(counters().inflated_pages, 2);
	/* A device-writable page list. */
	wbuf = (struct vdrv_buf){ list_gpa, 8, true };
	cr_assert_geq(vdrv_add(&drv, VIRTIO_BALLOON_INFLATEQ, &wbuf, 1, false),
		      0);
	vdrv_kick(&drv, VIRTIO_BALLOON_INFLATEQ);
	cr_assert(vdrv_wait_used(&drv, VIRTIO_BALLOON_INFLATEQ, &id, &len,
				 WAIT_MS));
	cr_assert_eq(counters().bad_buffers, 2);
	/* Statistics that are too many: the first 32 are kept. */
	post_stats(sbuf, 40, 5);
	wait_updates(1);
	on_loop(&j);
	cr_assert(vdrv_wait_used(&drv, 2, &id, &len, WAIT_MS));
	/* And a torn entry. */
	{
		struct vdrv_buf b = { sbuf, 15, false };

		put_le16(vdrv_ptr(&drv, sbuf, 2), 4);
		put_le64(vdrv_ptr(&drv, sbuf + 2, 8), 77);
		cr_assert_geq(vdrv_add(&drv, 2, &b, 1, false), 0);
		vdrv_kick(&drv, 2);
	}
	cr_assert(wait_stats(1, WAIT_MS));
	cr_assert(sres.ok);
	cr_assert_eq(sres.stats.nr, 1);
	cr_assert_eq(sres.stats.stats[0].tag, 4);
	cr_assert_eq(sres.stats.stats[0].val, 77);
	cr_assert_eq(counters().bad_stats, 2);
	cr_assert_not(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * Sixteen descriptors over the same zeroed MiB: four million entries, all
 * page frame 0. The page leaves the host once, entries past the pages of
 * RAM are not read, and the device stays free for a control call.
 */
Test(balloon, a_page_listed_millions_of_times_costs_one_discard)
{
	struct vdrv_buf bufs[QSIZE];
	uint64_t zeros = vdrv_alloc(&drv, 1 * MiB, PAGE);
	struct job j = { .fn = do_get_pages };
	struct balloon_counters n;
	uint32_t id, len;
	int head;

	start(0);
	for (unsigned int i = 0; i < QSIZE; i++)
		bufs[i] = (struct vdrv_buf){ zeros, 1 * MiB, false };
	for (unsigned int q = VIRTIO_BALLOON_INFLATEQ;
	     q <= VIRTIO_BALLOON_DEFLATEQ; q++) {
		head = vdrv_add(&drv, q, bufs, QSIZE, false);
		cr_assert_geq(head, 0);
		vdrv_kick(&drv, q);
		cr_assert(vdrv_wait_used(&drv, q, &id, &len, WAIT_MS),
			  "queue %u: the list was not used", q);
		cr_assert_eq(id, (uint32_t)head);
		on_loop(&j);
		cr_assert_eq(j.ret, 0);
	}
	n = counters();
	cr_assert_eq(n.inflated_pages, 1);
	cr_assert_eq(n.deflated_pages, 1);
	cr_assert_eq(n.discarded_bytes, PAGE);
	cr_assert_eq(n.balloon_pages, 0);
	cr_assert_eq(n.repeated_pfns, 2 * (MEM_SIZE / PAGE - 1));
	cr_assert_eq(n.bad_buffers, 2);
}

Test(balloon, pages_move_in_and_out_once)
{
	uint32_t pfns[4];

	start(0);
	page_list(pfns, REGION, 2);
	pfns[2] = pfns[0];
	pfns[3] = pfns[1];
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, 4, 0);
	cr_assert_eq(counters().inflated_pages, 2);
	cr_assert_eq(counters().balloon_pages, 2);
	cr_assert_eq(counters().repeated_pfns, 2);
	send_pfns(VIRTIO_BALLOON_DEFLATEQ, pfns, 4, 0);
	cr_assert_eq(counters().deflated_pages, 2);
	cr_assert_eq(counters().balloon_pages, 0);
	cr_assert_eq(counters().repeated_pfns, 4);
	/* Out again, it may go in again. */
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, 1, 0);
	cr_assert_eq(counters().inflated_pages, 3);
}

Test(balloon, a_looping_page_list_needs_reset)
{
	start(0);
	vdrv_desc_write(&drv, 0, 0, list_gpa, 8, VIRTQ_DESC_F_NEXT, 1);
	vdrv_desc_write(&drv, 0, 1, list_gpa, 8, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&drv, 0, 0);
	vdrv_kick(&drv, 0);
	cr_assert(vdrv_wait_status(&drv, VIRTIO_STATUS_NEEDS_RESET, WAIT_MS));
}

Test(balloon, a_queue_without_a_role_is_ignored)
{
	uint32_t id, len;
	struct vdrv_buf b;

	/* Four queues set up, neither statistics nor reporting negotiated. */
	cr_assert_eq(vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	for (unsigned int i = 0; i < 4; i++)
		cr_assert_eq(vdrv_setup_queue(&drv, i, QSIZE), 0);
	vdrv_driver_ok(&drv);
	touch(REGION, PAGE);
	b = (struct vdrv_buf){ REGION, PAGE, true };
	cr_assert_geq(vdrv_add(&drv, 3, &b, 1, false), 0);
	vdrv_kick(&drv, 3);
	cr_assert_not(vdrv_wait_used(&drv, 3, &id, &len, 200));
	cr_assert_not(all_zero(REGION, PAGE), "discarded without reporting");
	cr_assert_eq(counters().reported_bytes, 0);
}

/* ---- the --balloon flag ---- */

static struct vm_config fcfg;
static struct err fe;

static void flags_setup(void)
{
	vm_config_init(&fcfg);
	memset(&fe, 0, sizeof(fe));
}

static void flags_teardown(void)
{
	vm_config_free(&fcfg);
}

TestSuite(balloon_flags, .init = flags_setup, .fini = flags_teardown);

Test(balloon_flags, accepted_forms)
{
	cr_assert_eq(config_set_balloon(&fcfg, "0", &fe), 0, "%s", fe.msg);
	cr_assert(fcfg.balloon.enabled);
	cr_assert_eq(fcfg.balloon.pages, 0);
	cr_assert_eq(config_set_balloon(&fcfg, "2048,deflate-on-oom,stats=5",
					&fe), 0, "%s", fe.msg);
	cr_assert_eq(fcfg.balloon.pages, 2048);
	cr_assert(fcfg.balloon.deflate_on_oom);
	cr_assert_eq(fcfg.balloon.stats_interval_s, 5);
	cr_assert_eq(config_set_balloon(&fcfg, "10,stats=0", &fe), 0);
	cr_assert_not(fcfg.balloon.deflate_on_oom);
	cr_assert_eq(fcfg.balloon.stats_interval_s, 0);
}

static void balloon_error(const char *arg, const char *part)
{
	struct balloon_config before = fcfg.balloon;

	cr_assert_eq(config_set_balloon(&fcfg, arg, &fe), -1, "'%s' accepted",
		     arg);
	cr_assert(strstr(fe.msg, "--balloon"), "%s", fe.msg);
	cr_assert(strstr(fe.msg, part), "'%s' not in: %s", part, fe.msg);
	cr_assert_eq(memcmp(&before, &fcfg.balloon, sizeof(before)), 0);
}

Test(balloon_flags, errors_name_the_bad_part)
{
	balloon_error("", "'' is not a number");
	balloon_error("-1", "'-1' is not a number");
	balloon_error("4294967296", "is not a number");
	balloon_error("10,oom", "unknown option 'oom'");
	balloon_error("10,stats=", "stats interval ''");
	balloon_error("10,stats=86401", "from 0 to 86400");
	balloon_error("10,stats=1,stats=2", "stats given twice");
	balloon_error("deflate-on-oom", "'deflate-on-oom' is not a number");
}

TestSuite(balloon_pci, .init = setup_pci, .fini = teardown, .timeout = 30);

Test(balloon_pci, inflate_and_a_new_target_over_pci)
{
	uint32_t pfns[16];
	struct job j = { .fn = do_request, .a = 300 };
	uint8_t v[4];

	start(0);
	vdrv_config_read(&drv, 0, v, 4);
	cr_assert_eq(get_le32(v), TARGET);
	page_list(pfns, REGION, 16);
	send_pfns(VIRTIO_BALLOON_INFLATEQ, pfns, 16, 0);
	cr_assert_eq(counters().inflated_pages, 16);
	on_loop(&j);
	cr_assert_eq(j.ret, 0, "%s", j.e.msg);
	vdrv_config_read(&drv, 0, v, 4);
	cr_assert_eq(get_le32(v), 300);
	cr_assert_eq(vdrv_irq_count(&drv, -1), 1,
		     "a configuration change on its MSI-X vector");
}
