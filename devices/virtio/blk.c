// SPDX-License-Identifier: MIT
/*
 * virtio-blk on Linux native AIO. Requests are parsed on the event loop and
 * submitted in batches; completions come back through an eventfd. Reads and
 * writes use O_DIRECT when the request is aligned as the file system wants,
 * the page cache otherwise. FLUSH is an asynchronous fdatasync.
 */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/rate_limiter.h"
#include "virtio.h"
#include "vmm/state.h"

#define BLK_HDR_SIZE 16
#define BLK_RANGE_SIZE 16
#define BLK_REAP_BATCH 64
/* How long a snapshot waits for a request the disk does not complete. */
#define BLK_DRAIN_TIMEOUT_S 30
/* Alignment assumed for O_DIRECT when the file system does not say. */
#define BLK_DIO_FALLBACK_ALIGN 4096

/* One request from the moment it is taken from the ring until it is done. */
struct blk_req {
	struct iocb iocb;
	uint16_t head;
	uint32_t epoch;
	uint32_t type;
	uint8_t *status;
	uint32_t used_len;
	uint64_t expect;   /* bytes the AIO must transfer */
	uint64_t start_ns; /* when the request was taken */
	struct iovec iov[VIRTIO_BLK_SEG_MAX];
};

/* What GetMetrics and --metrics report of a disk (docs/metrics.md). */
struct blk_counters {
	uint64_t reads;
	uint64_t writes;
	uint64_t flushes;
	uint64_t discards;
	uint64_t read_bytes;
	uint64_t write_bytes;
	uint64_t errors;
	uint64_t throttled;
	struct metric_histogram latency;
};

#define BLK_METRIC(field, kind, help)                                          \
	{ #field, NULL, kind, offsetof(struct blk_counters, field), help }

static const struct metric_desc blk_metric_descs[] = {
	BLK_METRIC(reads, METRIC_COUNTER, "Read requests completed"),
	BLK_METRIC(writes, METRIC_COUNTER, "Write requests completed"),
	BLK_METRIC(flushes, METRIC_COUNTER, "Flush requests completed"),
	BLK_METRIC(discards, METRIC_COUNTER,
		   "Discard and write-zeroes requests completed"),
	BLK_METRIC(read_bytes, METRIC_COUNTER, "Bytes read by the guest"),
	BLK_METRIC(write_bytes, METRIC_COUNTER, "Bytes written by the guest"),
	BLK_METRIC(errors, METRIC_COUNTER,
		   "Requests completed with an error or as unsupported"),
	BLK_METRIC(throttled, METRIC_COUNTER,
		   "Times a request waited for the disk's rate limit"),
	BLK_METRIC(latency, METRIC_HISTOGRAM,
		   "Time from taking a request to completing it"),
};

struct virtio_blk {
	struct virtio_device vdev;
	uint8_t config[VIRTIO_BLK_CFG_SIZE];
	char *path;
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];
	uint64_t capacity; /* in sectors */

	struct blk_counters counters;
	struct metrics_group metrics;
	struct rate_limiter limiter;
	bool limiter_ready;
	struct rate_limit_control limit_control;

	int fd;        /* through the page cache */
	int direct_fd; /* O_DIRECT, or -1 */
	uint32_t dio_mem_align;
	uint32_t dio_off_align;

	io_context_t aio;
	bool aio_ready;
	bool aio_fdsync; /* IOCB_CMD_FDSYNC works on this file */
	struct event_source aio_src;
	bool aio_watched;

	/* Request slots, enough for the largest queue. */
	struct blk_req *reqs;
	uint16_t free[VIRTIO_BLK_QUEUE_SIZE];
	unsigned int nr_free;
	struct iocb *batch[VIRTIO_BLK_QUEUE_SIZE];
	unsigned int nr_batch;
	bool stalled;     /* stopped popping for want of a free slot */
	bool need_notify; /* pushed since the last interrupt decision */
	bool resetting;   /* a reset waits for requests in flight */
};

static struct virtio_blk *to_blk(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_blk, vdev);
}

static unsigned int blk_inflight(const struct virtio_blk *blk)
{
	return VIRTIO_BLK_QUEUE_SIZE - blk->nr_free;
}

static uint64_t blk_now(struct virtio_blk *blk)
{
	return blk->vdev.host->now_ns(blk->vdev.host);
}

/* A free slot exists: blk_process() never takes more than the queue holds. */
static struct blk_req *req_get(struct virtio_blk *blk, struct virtq *vq,
			       uint16_t head, uint32_t type, uint8_t *status)
{
	struct blk_req *req = &blk->reqs[blk->free[--blk->nr_free]];

	req->head = head;
	req->epoch = vq->epoch;
	req->type = type;
	req->status = status;
	req->expect = 0;
	req->start_ns = blk_now(blk);
	return req;
}

static void req_put(struct virtio_blk *blk, struct blk_req *req)
{
	blk->free[blk->nr_free++] = (uint16_t)(req - blk->reqs);
}

static void blk_account(struct virtio_blk *blk, const struct blk_req *req,
			uint8_t val)
{
	struct blk_counters *c = &blk->counters;
	bool ok = val == VIRTIO_BLK_S_OK;

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		metric_add(&c->reads, 1);
		metric_add(&c->read_bytes, ok ? req->expect : 0);
		break;
	case VIRTIO_BLK_T_OUT:
		metric_add(&c->writes, 1);
		metric_add(&c->write_bytes, ok ? req->expect : 0);
		break;
	case VIRTIO_BLK_T_FLUSH:
		metric_add(&c->flushes, 1);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		metric_add(&c->discards, 1);
		break;
	}
	if (!ok)
		metric_add(&c->errors, 1);
	metric_observe_ns(&c->latency, blk_now(blk) - req->start_ns);
}

/*
 * Writes the status byte, hands the chain back and frees the slot. A
 * queue reset or re-enabled meanwhile no longer owns the chain: only the
 * slot is freed then.
 */
static void blk_finish(struct virtio_blk *blk, struct blk_req *req,
		       uint8_t val, uint32_t used_len)
{
	struct virtq *vq = &blk->vdev.vqs[0];

	if (virtio_active(&blk->vdev) && vq->ready && req->epoch == vq->epoch) {
		*req->status = val;
		virtq_push(vq, req->head, val == VIRTIO_BLK_S_OK ? used_len : 1);
		blk->need_notify = true;
		blk_account(blk, req, val);
	}
	req_put(blk, req);
}

static void blk_complete(struct virtio_blk *blk, struct blk_req *req,
			 long res)
{
	blk_finish(blk, req,
		   res >= 0 && (uint64_t)res == req->expect ?
			   VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR,
		   req->used_len);
}

/*
 * Collects finished AIO without waiting. Requests of a queue that was
 * reset meanwhile only free their slot.
 */
static void blk_reap(struct virtio_blk *blk)
{
	struct io_event ev[BLK_REAP_BATCH];
	struct timespec zero = { 0, 0 };

	while (blk_inflight(blk)) {
		int n = io_getevents(blk->aio, 0, BLK_REAP_BATCH, ev, &zero);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			blk_complete(blk, ev[i].data, (long)ev[i].res);
		if (n < BLK_REAP_BATCH)
			break;
	}
}

/* O_DIRECT only for requests aligned as the file system requires. */
static int blk_pick_fd(const struct virtio_blk *blk, const struct iovec *iov,
		       int n, uint64_t off)
{
	if (blk->direct_fd < 0 || off % blk->dio_off_align)
		return blk->fd;
	for (int i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % blk->dio_mem_align ||
		    iov[i].iov_len % blk->dio_off_align)
			return blk->fd;
	return blk->direct_fd;
}

static void blk_queue_iocb(struct virtio_blk *blk, struct blk_req *req)
{
	io_set_eventfd(&req->iocb, blk->aio_src.fd);
	req->iocb.data = req;
	blk->batch[blk->nr_batch++] = &req->iocb;
}

/* The data bytes of a read or write request. */
static uint64_t blk_data_len(const struct virtq_chain *c, bool write)
{
	return write ? c->out_len - BLK_HDR_SIZE : c->in_len - 1;
}

static void blk_rw(struct virtio_blk *blk, struct blk_req *req,
		   const struct virtq_chain *c, uint64_t sector)
{
	bool write = req->type == VIRTIO_BLK_T_OUT;
	const struct iovec *src = write ? c->iov : c->iov + c->nr_out;
	unsigned int nr_src = write ? c->nr_out : c->nr_in;
	uint64_t len = blk_data_len(c, write);
	uint64_t off = sector * VIRTIO_BLK_SECTOR;
	int n;

	if ((write && blk->read_only) || len % VIRTIO_BLK_SECTOR ||
	    len > VIRTIO_BLK_MAX_IO ||
	    !range_ok(sector, len / VIRTIO_BLK_SECTOR, blk->capacity)) {
		blk_finish(blk, req, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	if (len == 0) {
		blk_finish(blk, req, VIRTIO_BLK_S_OK, 1);
		return;
	}
	n = iov_slice(src, nr_src, write ? BLK_HDR_SIZE : 0, len, req->iov,
		      VIRTIO_BLK_SEG_MAX);
	if (n < 0) {
		/* More segments than the seg_max the driver was given. */
		blk_finish(blk, req, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	if (write) {
		io_prep_pwritev(&req->iocb, blk_pick_fd(blk, req->iov, n, off),
				req->iov, n, (long long)off);
		/* Without FLUSH the driver expects a write-through disk. */
		if (!virtio_has_feature(&blk->vdev, VIRTIO_BLK_F_FLUSH))
			req->iocb.aio_rw_flags = RWF_DSYNC;
	} else {
		io_prep_preadv(&req->iocb, blk_pick_fd(blk, req->iov, n, off),
			       req->iov, n, (long long)off);
	}
	req->expect = len;
	req->used_len = write ? 1 : (uint32_t)len + 1;
	blk_queue_iocb(blk, req);
}

static void blk_flush(struct virtio_blk *blk, struct blk_req *req)
{
	if (!blk->aio_fdsync) {
		blk_finish(blk, req,
			   fdatasync(blk->fd) == 0 ? VIRTIO_BLK_S_OK :
						     VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	io_prep_fdsync(&req->iocb, blk->fd);
	req->used_len = 1;
	blk_queue_iocb(blk, req);
}

static void blk_get_id(struct virtio_blk *blk, struct blk_req *req,
		       const struct virtq_chain *c)
{
	size_t n = MIN(sizeof(blk->serial), c->in_len - 1);

	iov_from_buf(c->iov + c->nr_out, c->nr_in, 0, blk->serial, n);
	blk_finish(blk, req, VIRTIO_BLK_S_OK, (uint32_t)n + 1);
}

/* One DISCARD or WRITE_ZEROES range; returns a VIRTIO_BLK_S_* value. */
static uint8_t blk_range(struct virtio_blk *blk, const uint8_t *range,
			 bool discard)
{
	uint64_t sector = get_le64(range);
	uint32_t num = get_le32(range + 8), flags = get_le32(range + 12);
	int mode;

	if (flags & ~(uint32_t)VIRTIO_BLK_WZ_UNMAP ||
	    (discard && flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (num > VIRTIO_BLK_MAX_RANGE_SECTORS ||
	    !range_ok(sector, num, blk->capacity))
		return VIRTIO_BLK_S_IOERR;
	/* A punched hole reads back as zeroes, so it serves both. */
	mode = discard || (flags & VIRTIO_BLK_WZ_UNMAP) ?
		       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
		       FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (fallocate(blk->fd, mode, (off_t)(sector * VIRTIO_BLK_SECTOR),
		      (off_t)num * VIRTIO_BLK_SECTOR) == 0)
		return VIRTIO_BLK_S_OK;
	if (errno == EOPNOTSUPP && mode & FALLOC_FL_ZERO_RANGE &&
	    fallocate(blk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(sector * VIRTIO_BLK_SECTOR),
		      (off_t)num * VIRTIO_BLK_SECTOR) == 0)
		return VIRTIO_BLK_S_OK;
	return errno == EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/*
 * DISCARD or WRITE_ZEROES: every range, then, on a write-through disk (no
 * FLUSH negotiated), the sync that makes them durable before the guest
 * hears they are done. Returns the ranges handled, the request's cost.
 */
static unsigned int blk_ranges(struct virtio_blk *blk, struct blk_req *req,
			       const struct virtq_chain *c)
{
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	unsigned int feature = discard ? VIRTIO_BLK_F_DISCARD :
					 VIRTIO_BLK_F_WRITE_ZEROES;
	uint64_t len = c->out_len - BLK_HDR_SIZE;
	uint8_t val = VIRTIO_BLK_S_OK;
	unsigned int n = 0;

	if (!virtio_has_feature(&blk->vdev, feature))
		val = VIRTIO_BLK_S_UNSUPP;
	else if (blk->read_only || len == 0 || len % BLK_RANGE_SIZE ||
		 len / BLK_RANGE_SIZE > VIRTIO_BLK_MAX_RANGE_SEG)
		val = VIRTIO_BLK_S_IOERR;
	for (uint64_t off = 0; val == VIRTIO_BLK_S_OK && off < len;
	     off += BLK_RANGE_SIZE, n++) {
		uint8_t range[BLK_RANGE_SIZE];

		iov_to_buf(c->iov, c->nr_out, BLK_HDR_SIZE + off, range,
			   sizeof(range));
		val = blk_range(blk, range, discard);
	}
	if (val == VIRTIO_BLK_S_OK &&
	    !virtio_has_feature(&blk->vdev, VIRTIO_BLK_F_FLUSH))
		blk_flush(blk, req);
	else
		blk_finish(blk, req, val, 1);
	return MAX(n, 1U);
}

/* What a request costs against the disk's limits: one operation, and its data. */
static uint64_t blk_cost(const struct virtq_chain *c, uint32_t type)
{
	if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT)
		return blk_data_len(c, type == VIRTIO_BLK_T_OUT);
	return 0;
}

/*
 * Parses one request (the header may be split over any descriptors) and
 * starts it. Returns its cost in budget: one, or one per range of a
 * DISCARD or WRITE_ZEROES, each a call into the file system; 0 when the
 * disk's limits make it wait: it is left untouched for the caller to
 * give back to the ring.
 */
static unsigned int blk_request(struct virtio_blk *blk, struct virtq *vq,
				const struct virtq_chain *c)
{
	uint8_t hdr[BLK_HDR_SIZE];
	const struct iovec *last;
	struct blk_req *req;
	uint32_t type;

	if (c->out_len < BLK_HDR_SIZE || c->in_len < 1) {
		log_guest_once("virtio-blk: request %u without header or status byte",
			       c->head);
		virtq_push(vq, c->head, 0);
		blk->need_notify = true;
		return 1;
	}
	iov_to_buf(c->iov, c->nr_out, 0, hdr, sizeof(hdr));
	type = get_le32(hdr);
	if (!rate_limiter_admit(&blk->limiter, blk_cost(c, type)))
		return 0;
	last = &c->iov[c->nr_out + c->nr_in - 1];
	req = req_get(blk, vq, c->head, type,
		      (uint8_t *)last->iov_base + last->iov_len - 1);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		blk_rw(blk, req, c, get_le64(hdr + 8));
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk_flush(blk, req);
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_get_id(blk, req, c);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_ranges(blk, req, c);
	default:
		blk_finish(blk, req, VIRTIO_BLK_S_UNSUPP, 1);
	}
	return 1;
}

/* A request io_submit() refused: FDSYNC falls back to fdatasync(). */
static void blk_submit_failed(struct virtio_blk *blk, struct blk_req *req,
			      int err)
{
	long res = err;

	if (req->iocb.aio_lio_opcode == IO_CMD_FDSYNC && err == -EINVAL) {
		blk->aio_fdsync = false;
		res = fdatasync(blk->fd) == 0 ? 0 : -errno;
	}
	blk_complete(blk, req, res);
}

static void blk_submit(struct virtio_blk *blk)
{
	unsigned int done = 0;

	while (done < blk->nr_batch) {
		int n = io_submit(blk->aio, blk->nr_batch - done,
				  blk->batch + done);

		if (n > 0) {
			done += (unsigned int)n;
			continue;
		}
		if (n == -EINTR)
			continue;
		blk_submit_failed(blk, blk->batch[done]->data, n ? n : -EIO);
		done++;
	}
	blk->nr_batch = 0;
}

/* One interrupt decision per batch of finished requests. */
static void blk_notify(struct virtio_blk *blk, struct virtq *vq)
{
	if (blk->need_notify) {
		blk->need_notify = false;
		virtio_notify_used(&blk->vdev, vq);
	}
}

static void blk_process(struct virtio_blk *blk, struct virtq *vq)
{
	unsigned int budget = vq->size, cost;
	struct virtq_chain c;

	blk->stalled = false;
	for (;;) {
		/* No more in flight than the queue holds, whatever the guest does. */
		if (blk_inflight(blk) >= vq->size) {
			blk->stalled = true;
			break;
		}
		/* Requests that finish at once could keep the loop here. */
		if (budget == 0) {
			virtio_queue_kick(&blk->vdev, vq);
			break;
		}
		/* A disk waiting for its limits resumes from a timer. */
		if (rate_limiter_waiting(&blk->limiter) ||
		    virtio_pop(&blk->vdev, vq, &c) <= 0)
			break;
		cost = blk_request(blk, vq, &c);
		if (!cost) {
			virtq_unpop(vq, 1);
			break;
		}
		budget -= MIN(cost, budget);
	}
	blk_submit(blk);
	blk_notify(blk, vq);
}

static void blk_queue_notify(struct virtio_device *vdev, struct virtq *vq)
{
	blk_process(to_blk(vdev), vq);
}

/* Event loop: the rate limiter has the tokens the next request waited for. */
static void blk_resume(void *opaque)
{
	struct virtio_blk *blk = opaque;
	struct virtq *vq = &blk->vdev.vqs[0];

	virtio_lock(&blk->vdev);
	if (virtio_active(&blk->vdev) && vq->ready)
		blk_process(blk, vq);
	virtio_unlock(&blk->vdev);
}

static int blk_set_limits(void *opaque, const struct rate_limit_config *cfg,
			  struct err *e)
{
	struct virtio_blk *blk = opaque;

	(void)e;
	virtio_lock(&blk->vdev);
	rate_limiter_set(&blk->limiter, cfg);
	virtio_unlock(&blk->vdev);
	return 0;
}

/* Event loop: AIO completions. */
static void blk_aio_event(void *opaque, uint32_t events)
{
	struct virtio_blk *blk = opaque;
	struct virtq *vq = &blk->vdev.vqs[0];
	uint64_t count;

	(void)events;
	if (read(blk->aio_src.fd, &count, sizeof(count)) < 0)
		return;
	virtio_lock(&blk->vdev);
	blk_reap(blk);
	if (blk->resetting && !blk_inflight(blk)) {
		/* The last read into the old buffers is in: the reset is done. */
		blk->resetting = false;
		virtio_reset_done(&blk->vdev);
	}
	if (blk->stalled && virtio_active(&blk->vdev) && vq->ready)
		blk_process(blk, vq);
	blk_notify(blk, vq);
	virtio_unlock(&blk->vdev);
}

/*
 * On the vCPU that wrote the reset, which never waits for the disk: with
 * requests in flight, a read could still land in buffers the driver takes
 * back, so the reset completes on the event loop once the last of them is
 * in. Their results are dropped (the queue's epoch changed).
 */
static void blk_reset(struct virtio_device *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	blk->stalled = false;
	blk->need_notify = false;
	blk->resetting = blk_inflight(blk) > 0;
	if (blk->resetting)
		virtio_reset_defer(vdev);
}

static void blk_free(struct virtio_blk *blk)
{
	if (blk->limiter_ready)
		rate_limiter_destroy(&blk->limiter);
	if (blk->aio_watched)
		event_loop_remove(blk->vdev.host->loop, &blk->aio_src);
	if (blk->aio_src.fd >= 0)
		close(blk->aio_src.fd);
	/* io_destroy() returns once every request in flight is in. */
	if (blk->aio_ready)
		io_destroy(blk->aio);
	if (blk->direct_fd >= 0)
		close(blk->direct_fd);
	if (blk->fd >= 0)
		close(blk->fd);
	free(blk->reqs);
	free(blk->path);
	free(blk);
}

static void blk_destroy(struct virtio_device *vdev)
{
	blk_free(to_blk(vdev));
}

/*
 * Snapshot: every request in flight completes into the guest's memory
 * (a deferred reset with it), and what the guest wrote reaches the disk,
 * so the image matches the memory saved beside it.
 */
static int blk_quiesce(struct virtio_device *vdev, struct err *e)
{
	struct virtio_blk *blk = to_blk(vdev);
	struct timespec limit = { BLK_DRAIN_TIMEOUT_S, 0 };
	struct io_event ev[BLK_REAP_BATCH];

	blk_submit(blk);
	while (blk_inflight(blk)) {
		int n = io_getevents(blk->aio, 1, BLK_REAP_BATCH, ev, &limit);

		if (n == -EINTR)
			continue;
		if (n < 0) {
			errno = -n;
			return err_errno(e, "disk %s: waiting for requests",
					 blk->path);
		}
		if (n == 0)
			return err_set(e, "disk %s: %u requests still in flight after %d s",
				       blk->path, blk_inflight(blk),
				       BLK_DRAIN_TIMEOUT_S);
		for (int i = 0; i < n; i++)
			blk_complete(blk, ev[i].data, (long)ev[i].res);
	}
	if (blk->resetting) {
		blk->resetting = false;
		virtio_reset_done(vdev);
	}
	blk_notify(blk, &vdev->vqs[0]);
	if (!blk->read_only && fdatasync(blk->fd) < 0)
		return err_errno(e, "disk %s: fdatasync", blk->path);
	return 0;
}

/* The image must be the size the guest knows; the rest is fixed. */
static int blk_restore(struct virtio_device *vdev,
		       const struct state_section *s, struct err *e)
{
	struct virtio_blk *blk = to_blk(vdev);
	uint8_t saved[VIRTIO_BLK_CFG_SIZE];
	uint64_t sectors;

	if (virtio_saved_config(vdev, s, saved, e) < 0)
		return -1;
	sectors = get_le64(saved + VIRTIO_BLK_CFG_CAPACITY);
	if (sectors != blk->capacity)
		return err_set(e, "disk %s has %llu sectors, the snapshot's disk had %llu: not the same image",
			       blk->path, (unsigned long long)blk->capacity,
			       (unsigned long long)sectors);
	return virtio_check_config(vdev, s, e);
}

static const struct virtio_device_ops blk_ops = {
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.quiesce = blk_quiesce,
	.restore = blk_restore,
};

static int blk_size(struct virtio_blk *blk, struct err *e)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(blk->fd, &st) < 0)
		return err_errno(e, "disk %s", blk->path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(blk->fd, BLKGETSIZE64, &bytes) < 0)
			return err_errno(e, "disk %s: reading the device size",
					 blk->path);
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		return err_set(e, "disk %s: not a regular file or block device",
			       blk->path);
	}
	blk->capacity = bytes / VIRTIO_BLK_SECTOR;
	if (bytes % VIRTIO_BLK_SECTOR)
		log_warn("disk %s: the last %llu bytes are not a whole sector and are not visible to the guest",
			 blk->path,
			 (unsigned long long)(bytes % VIRTIO_BLK_SECTOR));
	return 0;
}

/*
 * A second descriptor with O_DIRECT, when the file system takes it, and
 * the alignment it needs (statx() knows on Linux 6.1+; 4 KiB otherwise).
 */
static void blk_open_direct(struct virtio_blk *blk)
{
	struct statx stx;
	int flags = (blk->read_only ? O_RDONLY : O_RDWR) | O_DIRECT |
		    O_CLOEXEC;

	blk->dio_mem_align = blk->dio_off_align = BLK_DIO_FALLBACK_ALIGN;
	if (statx(blk->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align)
			return;
		blk->dio_mem_align = MAX(stx.stx_dio_mem_align, 1U);
		blk->dio_off_align = stx.stx_dio_offset_align;
	}
	blk->direct_fd = open(blk->path, flags);
}

static int blk_open(struct virtio_blk *blk, const struct disk_config *cfg,
		    struct err *e)
{
	int flags = (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	blk->path = strdup(cfg->path);
	if (!blk->path)
		return err_set(e, "disk %s: out of memory", cfg->path);
	blk->read_only = cfg->read_only;
	if (cfg->serial) {
		size_t n = strlen(cfg->serial);

		if (n > sizeof(blk->serial))
			return err_set(e, "disk %s: serial \"%s\" is longer than %d bytes",
				       cfg->path, cfg->serial,
				       VIRTIO_BLK_ID_BYTES);
		memcpy(blk->serial, cfg->serial, n);
	}
	blk->fd = open(cfg->path, flags);
	if (blk->fd < 0)
		return err_errno(e, "disk %s", cfg->path);
	/* Two writers on one image corrupt it; readers may share. */
	if (flock(blk->fd, (cfg->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ?
			       err_set(e, "disk %s: in use by another process (locked)",
				       cfg->path) :
			       err_errno(e, "disk %s: locking", cfg->path);
	if (blk_size(blk, e) < 0)
		return -1;
	blk_open_direct(blk);
	return 0;
}

static int blk_setup_aio(struct virtio_blk *blk, struct err *e)
{
	int ret = io_setup(VIRTIO_BLK_QUEUE_SIZE, &blk->aio);

	if (ret < 0) {
		errno = -ret;
		return err_errno(e, "disk %s: io_setup (see /proc/sys/fs/aio-max-nr)",
				 blk->path);
	}
	blk->aio_ready = true;
	blk->aio_fdsync = true;
	blk->aio_src.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (blk->aio_src.fd < 0)
		return err_errno(e, "disk %s: eventfd", blk->path);
	blk->aio_src.events = EPOLLIN;
	blk->aio_src.fn = blk_aio_event;
	blk->aio_src.opaque = blk;
	if (event_loop_add(blk->vdev.host->loop, &blk->aio_src) < 0)
		return err_errno(e, "disk %s: watching AIO completions",
				 blk->path);
	blk->aio_watched = true;
	blk->reqs = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(*blk->reqs));
	if (!blk->reqs)
		return err_set(e, "disk %s: out of memory", blk->path);
	for (unsigned int i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++)
		blk->free[i] = (uint16_t)i;
	blk->nr_free = VIRTIO_BLK_QUEUE_SIZE;
	return 0;
}

static void blk_fill_config(struct virtio_blk *blk)
{
	uint8_t *c = blk->config;

	put_le64(c + VIRTIO_BLK_CFG_CAPACITY, blk->capacity);
	put_le32(c + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
	put_le32(c + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
	put_le16(c + VIRTIO_BLK_CFG_NUM_QUEUES, 1);
	put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS,
		 VIRTIO_BLK_MAX_RANGE_SECTORS);
	put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_RANGE_SEG);
	put_le32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN,
		 BLK_DIO_FALLBACK_ALIGN / VIRTIO_BLK_SECTOR);
	put_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS,
		 VIRTIO_BLK_MAX_RANGE_SECTORS);
	put_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, VIRTIO_BLK_MAX_RANGE_SEG);
	c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;

	blk->vdev.features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (blk->read_only)
		blk->vdev.features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		blk->vdev.features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
				      VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
}

/* Counters and limits; the core names the group ("disk0") when it adds it. */
static int blk_setup_limits(struct virtio_blk *blk,
			    const struct rate_limit_config *cfg, struct err *e)
{
	blk->metrics = (struct metrics_group){
		.subsystem = "blk", .id_label = "device",
		.descs = blk_metric_descs,
		.nr_descs = ARRAY_SIZE(blk_metric_descs),
		.block = &blk->counters,
	};
	blk->limit_control = (struct rate_limit_control){
		.set = blk_set_limits, .opaque = blk,
	};
	if (rate_limiter_init(&blk->limiter, blk->vdev.host, cfg, blk_resume,
			      blk, &blk->counters.throttled, e) < 0)
		return err_prefix(e, "disk %s: rate limiter", blk->path);
	blk->limiter_ready = true;
	return 0;
}

int virtio_blk_create(struct device_host *host,
		      const struct virtio_attach *at,
		      const struct disk_config *cfg, struct device **out,
		      struct rate_limit_control **limits, struct err *e)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));

	if (!blk)
		return err_set(e, "disk %s: out of memory", cfg->path);
	blk->fd = blk->direct_fd = blk->aio_src.fd = -1;
	blk->vdev = (struct virtio_device){
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.nr_queues = 1,
		.queue_max = { VIRTIO_BLK_QUEUE_SIZE },
		.config = blk->config,
		.config_len = sizeof(blk->config),
		.ops = &blk_ops,
		.host = host,
	};
	if (blk_open(blk, cfg, e) < 0 || blk_setup_aio(blk, e) < 0 ||
	    blk_setup_limits(blk, &cfg->rate_limit, e) < 0)
		goto fail;
	blk_fill_config(blk);
	if (virtio_attach(host, at, &blk->vdev, out, e) < 0) {
		err_prefix(e, "disk %s", cfg->path);
		goto fail;
	}
	(*out)->metrics = &blk->metrics;
	*limits = &blk->limit_control;
	return 0;
fail:
	blk_free(blk);
	return -1;
}
