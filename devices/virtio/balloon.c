// SPDX-License-Identifier: MIT
/*
 * virtio-balloon. The guest lists 4 KiB page frames on the inflate queue;
 * each is checked against guest RAM and the runs of them are punched out
 * of the memory file, so the host's RSS really drops. Deflated pages need
 * nothing: they fault back in as zeroes. Free page reports (ranges the
 * guest's allocator has free) are discarded the same way and handed back.
 *
 * Statistics follow 5.5.6.3: the device holds the buffer the guest last
 * filled and gives it back when it wants fresh numbers (a control API
 * request, or the stats=SECONDS timer); the guest refills and returns it.
 *
 * Guest-facing work runs under the device lock on the event loop thread;
 * control API callbacks run after the lock is dropped.
 */
#include "balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio.h"
#include "vmm/state.h"

/* Chains handled per wake-up before other event sources get their turn. */
#define BALLOON_BUDGET 64
/* Page list entries handled per wake-up (a chain is never cut short). */
#define PFN_BUDGET (64 * 1024)
/* PFNs read from guest memory at a time. */
#define PFN_BATCH 256
#define HUGE_PAGE_SIZE (2 * MiB)

enum balloon_queue_role {
	ROLE_NONE,
	ROLE_INFLATE,
	ROLE_DEFLATE,
	ROLE_STATS,
	ROLE_REPORTING,
};

struct balloon_waiter {
	balloon_stats_done_fn done;
	void *ctx;
	int64_t deadline_ms;
	bool failed;
	struct err e;
	struct balloon_waiter *next;
};

struct balloon {
	struct virtio_device vdev;
	uint8_t config[VIRTIO_BALLOON_CFG_SIZE];
	struct balloon_control control;
	uint64_t ram_pages;
	uint64_t page_size; /* of the host memory behind guest RAM */
	/*
	 * One bit per 4 KiB page frame below the end of RAM: set while the
	 * page is in the balloon. A page is given back once however often a
	 * guest lists it, so the work of a list is bounded by guest memory.
	 */
	uint64_t *inflated;
	uint64_t nr_pfns;
	uint32_t stats_interval_s;

	/* The statistics buffer the device holds, if any. */
	bool stats_held;
	uint16_t stats_head;
	uint32_t stats_epoch;
	struct balloon_stats stats;
	bool have_stats;

	struct balloon_waiter *waiting; /* for the next statistics */
	unsigned int nr_waiting;
	struct balloon_waiter *done;    /* callbacks to run without the lock */

	int poll_fd;    /* stats=SECONDS */
	int timeout_fd; /* the oldest waiting request's deadline */
	int work_fd;    /* deferred work: reset cleanup, callbacks */
	struct event_source poll_src, timeout_src, work_src;
	bool poll_watched, timeout_watched, work_watched;
	bool reset_pending;

	struct balloon_counters counters;
	struct metrics_group metrics;
};

/*
 * What GetMetrics and --metrics report (docs/metrics.md). The queues'
 * counters change on the event loop thread only, where they are read.
 */
#define BALLOON_METRIC(field, kind, help)                                      \
	{ #field, NULL, kind, offsetof(struct balloon_counters, field), help }

static const struct metric_desc balloon_metric_descs[] = {
	BALLOON_METRIC(actual_pages, METRIC_GAUGE,
		       "4 KiB pages the guest says its balloon holds"),
	BALLOON_METRIC(inflated_pages, METRIC_COUNTER,
		       "Pages the guest put in the balloon"),
	BALLOON_METRIC(deflated_pages, METRIC_COUNTER,
		       "Pages the guest took back from the balloon"),
	BALLOON_METRIC(discarded_bytes, METRIC_COUNTER,
		       "Guest memory returned to the host"),
	BALLOON_METRIC(reported_bytes, METRIC_COUNTER,
		       "Free memory the guest reported"),
	BALLOON_METRIC(stats_updates, METRIC_COUNTER,
		       "Memory statistics the guest sent"),
};

/* A run of contiguous guest pages on its way back to the host. */
struct page_run {
	uint64_t gpa;
	uint64_t len;
};

static struct balloon *to_balloon(struct virtio_device *vdev)
{
	return container_of(vdev, struct balloon, vdev);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void balloon_wake(struct balloon *b)
{
	uint64_t one = 1;

	if (write(b->work_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("virtio-balloon: waking the event loop: %s",
			  strerror(errno));
}

/* ---- giving pages back ---- */

/*
 * Discards the whole host pages inside @run: 4 KiB normally, 2 MiB when
 * guest RAM sits on huge pages (a partial huge page stays).
 */
static void run_flush(struct balloon *b, struct page_run *run)
{
	uint64_t start = ALIGN_UP(run->gpa, b->page_size);
	uint64_t end = ALIGN_DOWN(run->gpa + run->len, b->page_size);

	if (run->len && end > start) {
		struct guest_mem *mem = b->vdev.host->mem;

		if (guest_mem_discard(mem, start, end - start) < 0) {
			b->counters.discard_errors++;
			log_warn("virtio-balloon: discarding guest memory %#llx+%#llx: %s",
				 (unsigned long long)start,
				 (unsigned long long)(end - start),
				 strerror(errno));
		} else {
			b->counters.discarded_bytes += end - start;
		}
	}
	run->len = 0;
}

static void run_add(struct balloon *b, struct page_run *run, uint64_t gpa,
		    uint64_t len)
{
	if (run->len && run->gpa + run->len == gpa) {
		run->len += len;
		return;
	}
	run_flush(b, run);
	run->gpa = gpa;
	run->len = len;
}

static bool pfn_ok(struct balloon *b, uint32_t pfn)
{
	uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT;

	if (pfn < b->nr_pfns &&
	    guest_mem_ptr(b->vdev.host->mem, gpa, BALLOON_PAGE_SIZE))
		return true;
	b->counters.bad_pfns++;
	log_guest_once("virtio-balloon: page frame %#x is not guest RAM; ignored",
		       pfn);
	return false;
}

/* Moves @pfn in (@inflate) or out of the balloon; false when it already was. */
static bool pfn_move(struct balloon *b, uint32_t pfn, bool inflate)
{
	uint64_t *word = &b->inflated[pfn / 64], bit = 1ULL << (pfn % 64);

	if (!(*word & bit) != inflate) {
		b->counters.repeated_pfns++;
		log_guest_once("virtio-balloon: page frame %#x %s; ignored", pfn,
			       inflate ? "is in the balloon already" :
					 "is not in the balloon");
		return false;
	}
	*word ^= bit;
	return true;
}

static void deflate_page(struct balloon *b)
{
	struct balloon_counters *n = &b->counters;
	uint32_t target = get_le32(b->config + VIRTIO_BALLOON_CFG_NUM_PAGES);

	/* Taking pages back while the balloon is not above its target. */
	if (n->balloon_pages <= target) {
		if (virtio_has_feature(&b->vdev,
				       VIRTIO_BALLOON_F_DEFLATE_ON_OOM)) {
			n->oom_deflates++;
		} else {
			n->unrequested_deflates++;
			log_guest_once("virtio-balloon: guest deflates below the target of %u pages without DEFLATE_ON_OOM",
				       target);
		}
	}
	n->balloon_pages--;
	n->deflated_pages++;
}

/*
 * The PFN list of one inflate or deflate chain. Its descriptors may all
 * name the same guest memory, so the chain's length says nothing: entries
 * past the number of pages in RAM can only repeat and are not read, and a
 * page already where the list wants it costs a bit test.
 */
static uint64_t pfn_chain(struct balloon *b, const struct virtq_chain *ch,
			  bool inflate)
{
	uint64_t nr = ch->out_len / sizeof(uint32_t);
	struct page_run run = { 0 };
	uint8_t buf[PFN_BATCH * sizeof(uint32_t)];

	if (ch->nr_in || ch->out_len % sizeof(uint32_t)) {
		b->counters.bad_buffers++;
		log_guest_once("virtio-balloon: page list of %llu bytes with %u device-writable buffers; whole entries used",
			       (unsigned long long)ch->out_len, ch->nr_in);
	}
	if (nr > b->ram_pages) {
		b->counters.bad_buffers++;
		log_guest_once("virtio-balloon: page list of %llu entries, more than the %llu pages of guest RAM; the rest ignored",
			       (unsigned long long)nr,
			       (unsigned long long)b->ram_pages);
		nr = b->ram_pages;
	}
	for (uint64_t i = 0; i < nr; i += PFN_BATCH) {
		uint64_t n = MIN(nr - i, (uint64_t)PFN_BATCH);

		iov_to_buf(ch->iov, ch->nr_out, i * sizeof(uint32_t), buf,
			   n * sizeof(uint32_t));
		for (uint64_t j = 0; j < n; j++) {
			uint32_t pfn = get_le32(buf + j * sizeof(uint32_t));

			if (!pfn_ok(b, pfn) || !pfn_move(b, pfn, inflate))
				continue;
			if (!inflate) {
				deflate_page(b);
				continue;
			}
			run_add(b, &run,
				(uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT,
				BALLOON_PAGE_SIZE);
			b->counters.inflated_pages++;
			b->counters.balloon_pages++;
		}
	}
	run_flush(b, &run);
	return nr;
}

/* Guest address of a buffer the ring already mapped into guest RAM. */
static bool hva_to_gpa(const struct guest_mem *mem, const void *p,
		       uint64_t len, uint64_t *gpa)
{
	const uint8_t *hva = p;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (hva >= r->hva && range_ok((uint64_t)(hva - r->hva), len,
					      r->size)) {
			*gpa = r->gpa + (uint64_t)(hva - r->hva);
			return true;
		}
	}
	return false;
}

/* A free page report: every buffer of the chain is a free guest range. */
static void report_chain(struct balloon *b, const struct virtq_chain *ch)
{
	struct page_run run = { 0 };

	for (unsigned int i = 0; i < ch->nr_out + ch->nr_in; i++) {
		uint64_t gpa;

		if (!hva_to_gpa(b->vdev.host->mem, ch->iov[i].iov_base,
				ch->iov[i].iov_len, &gpa))
			continue;
		b->counters.reported_bytes += ch->iov[i].iov_len;
		run_add(b, &run, gpa, ch->iov[i].iov_len);
	}
	run_flush(b, &run);
}

static void page_queue(struct balloon *b, struct virtq *vq,
		       enum balloon_queue_role role)
{
	uint64_t entries = 0;
	bool pushed = false;
	unsigned int budget;

	for (budget = BALLOON_BUDGET; budget && entries < PFN_BUDGET;
	     budget--) {
		struct virtq_chain ch;

		if (virtio_pop(&b->vdev, vq, &ch) <= 0)
			break;
		if (role == ROLE_REPORTING)
			report_chain(b, &ch);
		else
			entries += pfn_chain(b, &ch, role == ROLE_INFLATE);
		virtq_push(vq, ch.head, 0);
		pushed = true;
	}
	if (!budget || entries >= PFN_BUDGET)
		virtio_queue_kick(&b->vdev, vq);
	if (pushed)
		virtio_notify_used(&b->vdev, vq);
}

/* ---- statistics ---- */

static struct virtq *stats_vq(struct balloon *b)
{
	return &b->vdev.vqs[2];
}

static void stats_parse(struct balloon *b, const struct virtq_chain *ch)
{
	uint64_t nr = ch->out_len / VIRTIO_BALLOON_STAT_SIZE;
	struct balloon_stats *s = &b->stats;

	if (ch->nr_in || ch->out_len % VIRTIO_BALLOON_STAT_SIZE ||
	    nr > BALLOON_MAX_STATS) {
		b->counters.bad_stats++;
		log_guest_once("virtio-balloon: statistics buffer of %llu bytes (%u device-writable buffers); at most %d whole entries used",
			       (unsigned long long)ch->out_len, ch->nr_in,
			       BALLOON_MAX_STATS);
	}
	s->nr = (unsigned int)MIN(nr, (uint64_t)BALLOON_MAX_STATS);
	for (unsigned int i = 0; i < s->nr; i++) {
		uint8_t raw[VIRTIO_BALLOON_STAT_SIZE];

		iov_to_buf(ch->iov, ch->nr_out,
			   (size_t)i * VIRTIO_BALLOON_STAT_SIZE, raw,
			   sizeof(raw));
		s->stats[i].tag = get_le16(raw);
		s->stats[i].val = get_le64(raw + 2);
	}
	b->have_stats = true;
	b->counters.stats_updates++;
}

/* Fresh statistics answer everyone waiting. */
static void stats_answer_waiters(struct balloon *b)
{
	while (b->waiting) {
		struct balloon_waiter *w = b->waiting;

		b->waiting = w->next;
		w->next = b->done;
		b->done = w;
	}
	b->nr_waiting = 0;
	balloon_wake(b);
}

static void stats_fail_waiters(struct balloon *b, const char *why)
{
	for (struct balloon_waiter *w = b->waiting; w; w = w->next) {
		w->failed = true;
		err_set(&w->e, "%s", why);
	}
	if (b->waiting)
		stats_answer_waiters(b);
}

static void stats_queue(struct balloon *b, struct virtq *vq)
{
	struct virtq_chain ch;

	for (unsigned int budget = BALLOON_BUDGET; budget; budget--) {
		if (virtio_pop(&b->vdev, vq, &ch) <= 0)
			return;
		/* One buffer is the protocol; an older one goes back unused. */
		if (b->stats_held && b->stats_epoch == vq->epoch) {
			virtq_push(vq, b->stats_head, 0);
			virtio_notify_used(&b->vdev, vq);
		}
		stats_parse(b, &ch);
		b->stats_held = true;
		b->stats_head = ch.head;
		b->stats_epoch = vq->epoch;
		if (b->waiting)
			stats_answer_waiters(b);
	}
	virtio_queue_kick(&b->vdev, vq);
}

static bool stats_enabled(struct balloon *b)
{
	return virtio_active(&b->vdev) &&
	       virtio_has_feature(&b->vdev, VIRTIO_BALLOON_F_STATS_VQ) &&
	       stats_vq(b)->ready;
}

/* Gives the held buffer back: the guest refills it with fresh numbers. */
static void stats_request(struct balloon *b)
{
	struct virtq *vq = stats_vq(b);

	if (!b->stats_held || b->stats_epoch != vq->epoch || !vq->ready)
		return;
	b->stats_held = false;
	virtq_push(vq, b->stats_head, 0);
	virtio_notify_used(&b->vdev, vq);
}

static void timeout_arm(struct balloon *b)
{
	struct itimerspec its = { 0 };
	int64_t first = 0;

	for (struct balloon_waiter *w = b->waiting; w; w = w->next)
		if (!first || w->deadline_ms < first)
			first = w->deadline_ms;
	if (first) {
		int64_t left = MAX(first - now_ms(), (int64_t)1);

		its.it_value.tv_sec = left / 1000;
		its.it_value.tv_nsec = (left % 1000) * 1000000L;
	}
	if (timerfd_settime(b->timeout_fd, 0, &its, NULL) < 0)
		log_error("virtio-balloon: timerfd: %s", strerror(errno));
}

/* ---- lifecycle and deferred work ---- */

static bool balloon_sync(struct balloon *b)
{
	if (!b->reset_pending)
		return false;
	b->reset_pending = false;
	stats_fail_waiters(b, "the guest reset its balloon driver");
	timeout_arm(b);
	return true;
}

static void balloon_run_done(struct balloon_waiter *done,
			     const struct balloon_stats *stats)
{
	struct balloon_waiter *rev = NULL;

	while (done) {
		struct balloon_waiter *next = done->next;

		done->next = rev;
		rev = done;
		done = next;
	}
	while (rev) {
		struct balloon_waiter *next = rev->next;

		if (rev->failed)
			rev->done(rev->ctx, NULL, &rev->e);
		else
			rev->done(rev->ctx, stats, NULL);
		free(rev);
		rev = next;
	}
}

static void balloon_work_event(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	struct balloon_waiter *done;
	struct balloon_stats stats;
	uint64_t v;

	(void)events;
	if (read(b->work_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	virtio_lock(&b->vdev);
	balloon_sync(b);
	done = b->done;
	b->done = NULL;
	stats = b->stats;
	if (done)
		timeout_arm(b);
	virtio_unlock(&b->vdev);
	balloon_run_done(done, &stats);
}

static void balloon_poll_event(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t ticks;

	(void)events;
	if (read(b->poll_fd, &ticks, sizeof(ticks)) < 0)
		return;
	virtio_lock(&b->vdev);
	balloon_sync(b);
	if (stats_enabled(b))
		stats_request(b);
	virtio_unlock(&b->vdev);
}

static void balloon_timeout_event(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	struct balloon_waiter **p;
	int64_t now = now_ms();
	uint64_t ticks;

	(void)events;
	if (read(b->timeout_fd, &ticks, sizeof(ticks)) < 0)
		return;
	virtio_lock(&b->vdev);
	balloon_sync(b);
	for (p = &b->waiting; *p;) {
		struct balloon_waiter *w = *p;

		if (w->deadline_ms > now) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		b->nr_waiting--;
		w->failed = true;
		err_set(&w->e, "the guest did not send statistics within %d ms",
			BALLOON_STATS_TIMEOUT_MS);
		w->next = b->done;
		b->done = w;
		balloon_wake(b);
	}
	timeout_arm(b);
	virtio_unlock(&b->vdev);
}

static enum balloon_queue_role queue_role(struct balloon *b, unsigned int i)
{
	unsigned int stats = virtio_has_feature(&b->vdev,
						VIRTIO_BALLOON_F_STATS_VQ);

	if (i == VIRTIO_BALLOON_INFLATEQ)
		return ROLE_INFLATE;
	if (i == VIRTIO_BALLOON_DEFLATEQ)
		return ROLE_DEFLATE;
	if (i == 2 && stats)
		return ROLE_STATS;
	if (i == 2 + stats &&
	    virtio_has_feature(&b->vdev, VIRTIO_BALLOON_F_PAGE_REPORTING))
		return ROLE_REPORTING;
	return ROLE_NONE;
}

static void balloon_queue_notify(struct virtio_device *vdev, struct virtq *vq)
{
	struct balloon *b = to_balloon(vdev);
	enum balloon_queue_role role = queue_role(b, vq->index);

	balloon_sync(b);
	switch (role) {
	case ROLE_INFLATE:
	case ROLE_DEFLATE:
	case ROLE_REPORTING:
		page_queue(b, vq, role);
		break;
	case ROLE_STATS:
		stats_queue(b, vq);
		break;
	case ROLE_NONE:
		log_guest_once("virtio-balloon: queue %u has no role with the negotiated features; ignored",
			       vq->index);
		break;
	}
}

/* The guest reports how many pages its balloon holds. */
static void balloon_config_write(struct virtio_device *vdev, uint32_t off,
				 const void *data, uint32_t len)
{
	struct balloon *b = to_balloon(vdev);

	if (off < VIRTIO_BALLOON_CFG_ACTUAL) {
		log_guest_once("virtio-balloon: write to the read-only num_pages ignored");
		return;
	}
	memcpy(b->config + off, data, len);
	metric_set(&b->counters.actual_pages,
		   get_le32(b->config + VIRTIO_BALLOON_CFG_ACTUAL));
}

static void balloon_reset(struct virtio_device *vdev)
{
	struct balloon *b = to_balloon(vdev);

	/* The rings are going away: the held buffer with them. */
	b->stats_held = false;
	b->have_stats = false;
	b->counters.balloon_pages = 0;
	/* A new driver starts with an empty balloon: its pages are the guest's. */
	memset(b->inflated, 0, ALIGN_UP(b->nr_pfns, 64) / 8);
	put_le32(b->config + VIRTIO_BALLOON_CFG_ACTUAL, 0);
	metric_set(&b->counters.actual_pages, 0);
	b->reset_pending = true;
	balloon_wake(b);
}

static void balloon_free(struct balloon *b)
{
	struct event_loop *loop = b->vdev.host->loop;
	struct balloon_waiter *done;

	stats_fail_waiters(b, "the balloon device was removed");
	done = b->done;
	b->done = NULL;
	if (b->poll_watched)
		event_loop_remove(loop, &b->poll_src);
	if (b->timeout_watched)
		event_loop_remove(loop, &b->timeout_src);
	if (b->work_watched)
		event_loop_remove(loop, &b->work_src);
	if (b->poll_fd >= 0)
		close(b->poll_fd);
	if (b->timeout_fd >= 0)
		close(b->timeout_fd);
	if (b->work_fd >= 0)
		close(b->work_fd);
	balloon_run_done(done, NULL);
	free(b->inflated);
	free(b);
}

static void balloon_destroy(struct virtio_device *vdev)
{
	balloon_free(to_balloon(vdev));
}

/* The statistics buffer the device holds is the guest's to get back. */
static void balloon_save(struct virtio_device *vdev, struct state_writer *w)
{
	struct balloon *b = to_balloon(vdev);
	bool held = b->stats_held && b->stats_epoch == stats_vq(b)->epoch;

	state_put_u64(w, "stats_held", held);
	state_put_u64(w, "stats_head", held ? b->stats_head : 0);
	state_put_u64(w, "balloon_pages", b->counters.balloon_pages);
}

/* The target and the guest's count come back with the configuration. */
static int balloon_restore(struct virtio_device *vdev,
			   const struct state_section *s, struct err *e)
{
	struct balloon *b = to_balloon(vdev);
	struct virtq *vq;
	uint16_t head;
	bool held;

	if (state_get_bool(s, "stats_held", &held, e) < 0 ||
	    state_get_u16(s, "stats_head", &head, e) < 0 ||
	    state_get_u32(s, "balloon_pages", &b->counters.balloon_pages, e) < 0 ||
	    virtio_saved_config(vdev, s, b->config, e) < 0)
		return -1;
	vq = stats_vq(b);
	if (held && (!virtio_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ) ||
		     !vq->ready || head >= vq->size))
		return err_set(e, "%s: a statistics buffer %u held on a queue that cannot have it",
			       s->label, head);
	b->stats_held = held;
	b->stats_head = head;
	b->stats_epoch = vq->epoch;
	return 0;
}

static const struct virtio_device_ops balloon_ops = {
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
	.destroy = balloon_destroy,
	.save = balloon_save,
	.restore = balloon_restore,
};

/* ---- the control API's side (event loop thread) ---- */

static int ctl_get_num_pages(void *opaque, uint32_t *actual, uint32_t *target,
			     struct err *e)
{
	struct balloon *b = opaque;

	(void)e;
	virtio_lock(&b->vdev);
	*actual = get_le32(b->config + VIRTIO_BALLOON_CFG_ACTUAL);
	*target = get_le32(b->config + VIRTIO_BALLOON_CFG_NUM_PAGES);
	virtio_unlock(&b->vdev);
	return 0;
}

static int ctl_request_num_pages(void *opaque, uint32_t pages, struct err *e)
{
	struct balloon *b = opaque;

	if (pages > b->ram_pages)
		return err_set(e, "balloon: %u pages is more than the guest's %llu pages of RAM",
			       pages, (unsigned long long)b->ram_pages);
	virtio_lock(&b->vdev);
	put_le32(b->config + VIRTIO_BALLOON_CFG_NUM_PAGES, pages);
	virtio_config_changed(&b->vdev);
	virtio_unlock(&b->vdev);
	return 0;
}

static int ctl_get_mem_stats(void *opaque, balloon_stats_done_fn done,
			     void *ctx, struct err *e)
{
	struct balloon *b = opaque;
	struct balloon_waiter *w = NULL;
	int ret = 0;

	virtio_lock(&b->vdev);
	balloon_sync(b);
	if (!virtio_active(&b->vdev))
		ret = err_set(e, "balloon: the guest's balloon driver is not running");
	else if (!stats_enabled(b))
		ret = err_set(e, "balloon: the guest's driver did not enable statistics (VIRTIO_BALLOON_F_STATS_VQ)");
	else if (b->nr_waiting == BALLOON_MAX_STATS_WAITING)
		ret = err_set(e, "balloon: %d statistics requests are already waiting",
			      BALLOON_MAX_STATS_WAITING);
	else if (!(w = calloc(1, sizeof(*w))))
		ret = err_set(e, "balloon: out of memory");
	if (ret == 0) {
		w->done = done;
		w->ctx = ctx;
		w->deadline_ms = now_ms() + BALLOON_STATS_TIMEOUT_MS;
		w->next = b->waiting;
		b->waiting = w;
		b->nr_waiting++;
		stats_request(b);
		timeout_arm(b);
	}
	virtio_unlock(&b->vdev);
	return ret;
}

void virtio_balloon_counters(struct balloon_control *control,
			     struct balloon_counters *out)
{
	struct balloon *b = control->opaque;

	virtio_lock(&b->vdev);
	*out = b->counters;
	virtio_unlock(&b->vdev);
}

/* ---- creation ---- */

static int add_timerfd(struct balloon *b, int *fd, struct event_source *src,
		       bool *watched, event_fn fn, struct err *e)
{
	*fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (*fd < 0)
		return err_errno(e, "virtio-balloon: timerfd");
	*src = (struct event_source){
		.fd = *fd, .events = EPOLLIN, .fn = fn, .opaque = b,
	};
	if (event_loop_add(b->vdev.host->loop, src) < 0)
		return err_errno(e, "virtio-balloon: epoll");
	*watched = true;
	return 0;
}

static int balloon_loop_setup(struct balloon *b, struct err *e)
{
	struct itimerspec its = {
		.it_interval = { b->stats_interval_s, 0 },
		.it_value = { b->stats_interval_s, 0 },
	};

	b->work_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->work_fd < 0)
		return err_errno(e, "virtio-balloon: eventfd");
	b->work_src = (struct event_source){
		.fd = b->work_fd, .events = EPOLLIN,
		.fn = balloon_work_event, .opaque = b,
	};
	if (event_loop_add(b->vdev.host->loop, &b->work_src) < 0)
		return err_errno(e, "virtio-balloon: epoll");
	b->work_watched = true;
	if (add_timerfd(b, &b->timeout_fd, &b->timeout_src,
			&b->timeout_watched, balloon_timeout_event, e) < 0 ||
	    add_timerfd(b, &b->poll_fd, &b->poll_src, &b->poll_watched,
			balloon_poll_event, e) < 0)
		return -1;
	if (b->stats_interval_s &&
	    timerfd_settime(b->poll_fd, 0, &its, NULL) < 0)
		return err_errno(e, "virtio-balloon: timerfd");
	return 0;
}

static struct balloon *balloon_alloc(struct device_host *host,
				     const struct balloon_config *cfg)
{
	struct balloon *b = calloc(1, sizeof(*b));
	uint64_t features = VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) |
			    VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING);

	if (!b)
		return NULL;
	if (cfg->deflate_on_oom)
		features |= VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	b->poll_fd = b->timeout_fd = b->work_fd = -1;
	b->ram_pages = host->mem->size / BALLOON_PAGE_SIZE;
	for (unsigned int i = 0; i < host->mem->nr_regions; i++) {
		const struct guest_region *r = &host->mem->regions[i];

		b->nr_pfns = MAX(b->nr_pfns,
				 (r->gpa + r->size) / BALLOON_PAGE_SIZE);
	}
	b->inflated = calloc(ALIGN_UP(b->nr_pfns, 64) / 64, sizeof(uint64_t));
	if (!b->inflated) {
		free(b);
		return NULL;
	}
	b->page_size = host->mem->hugepages ? HUGE_PAGE_SIZE : BALLOON_PAGE_SIZE;
	b->stats_interval_s = cfg->stats_interval_s;
	put_le32(b->config + VIRTIO_BALLOON_CFG_NUM_PAGES, cfg->pages);
	b->control = (struct balloon_control){
		.get_num_pages = ctl_get_num_pages,
		.request_num_pages = ctl_request_num_pages,
		.get_mem_stats = ctl_get_mem_stats,
		.opaque = b,
	};
	b->vdev = (struct virtio_device){
		.name = "virtio-balloon",
		.device_id = VIRTIO_ID_BALLOON,
		.features = features,
		.nr_queues = VIRTIO_BALLOON_NR_QUEUES,
		.queue_max = { VIRTIO_BALLOON_QUEUE_SIZE,
			       VIRTIO_BALLOON_QUEUE_SIZE,
			       VIRTIO_BALLOON_QUEUE_SIZE,
			       VIRTIO_BALLOON_QUEUE_SIZE },
		.config = b->config,
		.config_len = sizeof(b->config),
		.ops = &balloon_ops,
		.host = host,
	};
	return b;
}

int virtio_balloon_create(struct device_host *host,
			  const struct virtio_attach *at, const struct balloon_config *cfg,
			  struct device **out, struct balloon_control **control,
			  struct err *e)
{
	struct balloon *b;

	if (cfg->pages > host->mem->size / BALLOON_PAGE_SIZE)
		return err_set(e, "--balloon: a target of %u pages is more than the guest's %llu pages of RAM",
			       cfg->pages,
			       (unsigned long long)(host->mem->size /
						    BALLOON_PAGE_SIZE));
	b = balloon_alloc(host, cfg);
	if (!b)
		return err_set(e, "virtio-balloon: out of memory");
	if (balloon_loop_setup(b, e) < 0 ||
	    virtio_attach(host, at, &b->vdev, out, e) < 0) {
		balloon_free(b);
		return -1;
	}
	if (host->mem->hugepages)
		log_info("virtio-balloon: guest RAM is on 2 MiB pages: only whole huge pages the guest gives back are freed");
	b->metrics = (struct metrics_group){
		.subsystem = "balloon", .descs = balloon_metric_descs,
		.nr_descs = ARRAY_SIZE(balloon_metric_descs),
		.block = &b->counters,
	};
	(*out)->metrics = &b->metrics;
	*control = &b->control;
	return 0;
}
