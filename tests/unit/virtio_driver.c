// SPDX-License-Identifier: MIT
#include "virtio_driver.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"

/* ---- the fake host ---- */

static struct vtest_host *to_th(struct device_host *host)
{
	return host->opaque;
}

static void vtest_irq_set(struct irq_line *line, int level)
{
	if (level)
		line->ops->pulse(line);
}

static void vtest_irq_pulse(struct irq_line *line)
{
	struct vtest_irq *irq = line->opaque;
	uint64_t one = 1;

	__atomic_add_fetch(&irq->pulses, 1, __ATOMIC_SEQ_CST);
	if (write(line->fd, &one, sizeof(one)) < 0)
		abort();
}

static const struct irq_line_ops vtest_irq_ops = {
	.set = vtest_irq_set,
	.pulse = vtest_irq_pulse,
};

static int vtest_irq_line(struct device_host *host, uint32_t gsi,
			  struct irq_line *line, struct err *e)
{
	struct vtest_host *th = to_th(host);

	if (gsi >= VTEST_MAX_GSI)
		return err_set(e, "interrupt %u out of range", gsi);
	line->ops = &vtest_irq_ops;
	line->gsi = gsi;
	line->opaque = &th->irqs[gsi];
	/* The device owns (and closes) line->fd; the test waits on a dup. */
	line->fd = dup(th->irqs[gsi].line.fd);
	if (line->fd < 0)
		return err_errno(e, "dup");
	return 0;
}

static int vtest_ioeventfd(struct device_host *host, uint64_t addr,
			   uint32_t len, uint64_t datamatch, int fd,
			   bool assign)
{
	struct vtest_host *th = to_th(host);

	(void)len;
	if (!th->kvm_ioeventfd)
		return -1;
	if (assign) {
		if (th->nr_ioev == VTEST_MAX_IOEVENTFD)
			return -1;
		th->ioev[th->nr_ioev++] = (struct vtest_ioeventfd){
			addr, datamatch, fd,
		};
		return 0;
	}
	for (unsigned int i = 0; i < th->nr_ioev; i++) {
		if (th->ioev[i].addr == addr &&
		    th->ioev[i].datamatch == datamatch) {
			th->ioev[i] = th->ioev[--th->nr_ioev];
			return 0;
		}
	}
	return -1;
}

static uint32_t vtest_irq_alloc(struct device_host *host)
{
	(void)host;
	return 0;
}

static void vtest_power(struct device_host *host, enum device_power_event ev,
			int status)
{
	(void)host;
	(void)ev;
	(void)status;
}

static uint64_t vtest_now_ns(struct device_host *host)
{
	struct vtest_host *th = to_th(host);
	struct timespec ts;

	if (__atomic_load_n(&th->fake_clock, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&th->fake_now_ns, __ATOMIC_ACQUIRE);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vtest_clock_fake(struct vtest_host *th, uint64_t now_ns)
{
	__atomic_store_n(&th->fake_now_ns, now_ns, __ATOMIC_RELEASE);
	__atomic_store_n(&th->fake_clock, true, __ATOMIC_RELEASE);
}

void vtest_clock_advance(struct vtest_host *th, uint64_t ns)
{
	__atomic_add_fetch(&th->fake_now_ns, ns, __ATOMIC_ACQ_REL);
}

int vtest_host_init(struct vtest_host *th, uint64_t mem_size,
		    bool kvm_ioeventfd)
{
	struct err e;

	memset(th, 0, sizeof(*th));
	if (guest_mem_init(&th->mem, NULL, mem_size, false, &e) < 0)
		return -1;
	if (event_loop_init(&th->loop, &e) < 0)
		return -1;
	bus_init(&th->mmio, "MMIO");
	bus_init(&th->pio, "port I/O");
	for (unsigned int i = 0; i < VTEST_MAX_GSI; i++) {
		th->irqs[i].line.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (th->irqs[i].line.fd < 0)
			return -1;
	}
	th->kvm_ioeventfd = kvm_ioeventfd;
	th->host = (struct device_host){
		.mem = &th->mem,
		.loop = &th->loop,
		.pio = &th->pio,
		.mmio = &th->mmio,
		.ioeventfd = vtest_ioeventfd,
		.irq_line = vtest_irq_line,
		.irq_alloc = vtest_irq_alloc,
		.power = vtest_power,
		.now_ns = vtest_now_ns,
		.opaque = th,
	};
	return 0;
}

int vtest_host_start(struct vtest_host *th)
{
	struct err e;

	if (event_loop_start_thread(&th->loop, &e) < 0)
		return -1;
	th->running = true;
	return 0;
}

void vtest_host_stop(struct vtest_host *th)
{
	if (!th->running)
		return;
	event_loop_stop(&th->loop);
	event_loop_join(&th->loop);
	th->running = false;
}

void vtest_host_destroy(struct vtest_host *th)
{
	vtest_host_stop(th);
	for (unsigned int i = 0; i < VTEST_MAX_GSI; i++)
		close(th->irqs[i].line.fd);
	bus_destroy(&th->mmio);
	bus_destroy(&th->pio);
	event_loop_destroy(&th->loop);
	guest_mem_destroy(&th->mem);
}

void vtest_teardown(struct vtest_host *th, struct device **dev,
		    struct vdrv *drv)
{
	vtest_host_stop(th);
	if (*dev)
		(*dev)->ops->destroy(*dev);
	*dev = NULL;
	vdrv_free(drv);
	vtest_host_destroy(th);
}

unsigned int vtest_irq_count(struct vtest_host *th, uint32_t gsi)
{
	return __atomic_load_n(&th->irqs[gsi].pulses, __ATOMIC_SEQ_CST);
}

bool vtest_irq_wait(struct vtest_host *th, uint32_t gsi, int ms)
{
	struct pollfd p = { .fd = th->irqs[gsi].line.fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) <= 0)
		return false;
	return read(p.fd, &v, sizeof(v)) == sizeof(v);
}

uint64_t vtest_loop_cpu_ns(struct vtest_host *th)
{
	struct timespec ts;
	clockid_t clk;

	if (pthread_getcpuclockid(th->loop.thread, &clk) != 0 ||
	    clock_gettime(clk, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool vtest_loop_watches(struct vtest_host *th, int fd)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", th->loop.epfd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		int tfd;

		found = sscanf(line, "tfd: %d ", &tfd) == 1 && tfd == fd;
	}
	fclose(f);
	return found;
}

/* ---- the driver ---- */

void vdrv_init(struct vdrv *d, struct vtest_host *th, uint64_t base,
	       uint32_t gsi, uint64_t heap, uint64_t heap_size)
{
	memset(d, 0, sizeof(*d));
	d->th = th;
	d->base = base;
	d->gsi = gsi;
	d->heap = heap;
	d->heap_end = heap + heap_size;
}

void vdrv_free(struct vdrv *d)
{
	for (unsigned int i = 0; i < VDRV_MAX_QUEUES; i++) {
		free(d->q[i].free);
		free(d->q[i].chain_len);
		free(d->q[i].chain);
	}
	memset(d->q, 0, sizeof(d->q));
}

uint32_t vdrv_read(struct vdrv *d, uint64_t off)
{
	uint8_t b[4];

	bus_read(&d->th->mmio, d->base + off, b, 4);
	return get_le32(b);
}

void vdrv_write(struct vdrv *d, uint64_t off, uint32_t val)
{
	uint8_t b[4];

	put_le32(b, val);
	bus_write(&d->th->mmio, d->base + off, b, 4);
}

uint64_t vdrv_device_features(struct vdrv *d)
{
	uint64_t f;

	vdrv_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)vdrv_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vdrv_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | vdrv_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

uint32_t vdrv_status(struct vdrv *d)
{
	return vdrv_read(d, VIRTIO_MMIO_STATUS);
}

void vdrv_config_read(struct vdrv *d, uint32_t off, void *buf, uint32_t len)
{
	bus_read(&d->th->mmio, d->base + VIRTIO_MMIO_CONFIG + off, buf, len);
}

uint64_t vdrv_alloc(struct vdrv *d, uint64_t size, uint64_t align)
{
	uint64_t gpa = ALIGN_UP(d->heap, align);

	if (gpa + size > d->heap_end)
		abort();
	d->heap = gpa + size;
	memset(vdrv_ptr(d, gpa, size), 0, size);
	return gpa;
}

void *vdrv_ptr(struct vdrv *d, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&d->th->mem, gpa, len);

	if (!p)
		abort();
	return p;
}

/* Long enough for requests in flight on a loaded host's disk. */
#define VDRV_RESET_MS 10000

int vdrv_negotiate(struct vdrv *d, uint64_t want)
{
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	if (!vdrv_reset(d, VDRV_RESET_MS))
		return -1;
	vdrv_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vdrv_write(d, VIRTIO_MMIO_STATUS, s);
	d->features = want;
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdrv_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	vdrv_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	return vdrv_status(d) & VIRTIO_STATUS_FEATURES_OK ? 0 : -1;
}

int vdrv_setup_queue(struct vdrv *d, unsigned int qi, uint16_t size)
{
	struct vdrv_queue *q = &d->q[qi];

	vdrv_write(d, VIRTIO_MMIO_QUEUE_SEL, qi);
	if (vdrv_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX) < size)
		return -1;
	q->size = size;
	q->desc = vdrv_alloc(d, 16ULL * size, 16);
	q->avail = vdrv_alloc(d, 6 + 2ULL * size, 2);
	q->used = vdrv_alloc(d, 6 + 8ULL * size, 4);
	q->avail_idx = q->last_used = 0;
	q->event_idx = d->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	q->hold_used_event = false;
	free(q->free);
	free(q->chain_len);
	free(q->chain);
	q->free = calloc(size, sizeof(*q->free));
	q->chain_len = calloc(size, sizeof(*q->chain_len));
	q->chain = calloc(size, sizeof(*q->chain));
	if (!q->free || !q->chain_len || !q->chain)
		abort();
	for (uint16_t i = 0; i < size; i++)
		q->free[i] = (uint16_t)(size - 1 - i);
	q->nr_free = size;
	vdrv_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail >> 32));
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
	vdrv_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used >> 32));
	vdrv_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return vdrv_read(d, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -1;
}

void vdrv_driver_ok(struct vdrv *d)
{
	vdrv_write(d, VIRTIO_MMIO_STATUS,
		   vdrv_status(d) | VIRTIO_STATUS_DRIVER_OK);
}

int vdrv_start(struct vdrv *d, uint64_t want, unsigned int nr_queues,
	       uint16_t size)
{
	if (vdrv_negotiate(d, want) < 0)
		return -1;
	for (unsigned int i = 0; i < nr_queues; i++)
		if (vdrv_setup_queue(d, i, size) < 0)
			return -1;
	vdrv_driver_ok(d);
	return vdrv_status(d) & VIRTIO_STATUS_DRIVER_OK ? 0 : -1;
}

void vdrv_desc_write(struct vdrv *d, unsigned int qi, uint16_t i,
		     uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *p = vdrv_ptr(d, d->q[qi].desc + 16ULL * i, 16);

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

void vdrv_set_avail_idx(struct vdrv *d, unsigned int qi, uint16_t idx)
{
	uint16_t *p = vdrv_ptr(d, d->q[qi].avail + 2, 2);

	d->q[qi].avail_idx = idx;
	__atomic_store_n(p, idx, __ATOMIC_RELEASE);
}

void vdrv_publish(struct vdrv *d, unsigned int qi, uint16_t head)
{
	struct vdrv_queue *q = &d->q[qi];
	uint8_t *slot = vdrv_ptr(d, q->avail + 4 + 2ULL * (q->avail_idx % q->size), 2);

	put_le16(slot, head);
	vdrv_set_avail_idx(d, qi, (uint16_t)(q->avail_idx + 1));
}

static void write_table(uint8_t *table, uint16_t i, const struct vdrv_buf *b,
			bool more)
{
	uint8_t *p = table + 16 * i;

	put_le64(p, b->gpa);
	put_le32(p + 8, b->len);
	put_le16(p + 12, (uint16_t)((more ? VIRTQ_DESC_F_NEXT : 0) |
				    (b->write ? VIRTQ_DESC_F_WRITE : 0)));
	put_le16(p + 14, (uint16_t)(i + 1));
}

int vdrv_add(struct vdrv *d, unsigned int qi, const struct vdrv_buf *bufs,
	     unsigned int n, bool indirect)
{
	struct vdrv_queue *q = &d->q[qi];
	unsigned int need = indirect ? 1 : n;
	uint16_t head = 0, prev = 0;

	if (n == 0 || n > VDRV_MAX_CHAIN || q->nr_free < need)
		return -1;
	if (indirect) {
		uint64_t t = vdrv_alloc(d, 16ULL * n, 16);
		uint8_t *table = vdrv_ptr(d, t, 16ULL * n);

		for (unsigned int i = 0; i < n; i++)
			write_table(table, (uint16_t)i, &bufs[i], i + 1 < n);
		head = q->free[--q->nr_free];
		vdrv_desc_write(d, qi, head, t, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
		q->chain[head][0] = head;
		q->chain_len[head] = 1;
	} else {
		for (unsigned int i = 0; i < n; i++) {
			uint16_t idx = q->free[--q->nr_free];

			if (i == 0)
				head = idx;
			else
				vdrv_desc_write(d, qi, prev, bufs[i - 1].gpa,
						bufs[i - 1].len,
						(uint16_t)(VIRTQ_DESC_F_NEXT |
							   (bufs[i - 1].write ? VIRTQ_DESC_F_WRITE : 0)),
						idx);
			q->chain[head][i] = idx;
			prev = idx;
		}
		vdrv_desc_write(d, qi, prev, bufs[n - 1].gpa, bufs[n - 1].len,
				bufs[n - 1].write ? VIRTQ_DESC_F_WRITE : 0, 0);
		q->chain_len[head] = (uint16_t)n;
	}
	vdrv_publish(d, qi, head);
	return head;
}

void vdrv_kick(struct vdrv *d, unsigned int qi)
{
	struct vtest_host *th = d->th;
	uint64_t notify = d->base + VIRTIO_MMIO_QUEUE_NOTIFY, one = 1;

	for (unsigned int i = 0; i < th->nr_ioev; i++) {
		if (th->ioev[i].addr == notify && th->ioev[i].datamatch == qi) {
			if (write(th->ioev[i].fd, &one, sizeof(one)) < 0)
				abort();
			return;
		}
	}
	vdrv_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
}

uint16_t vdrv_used_flags(struct vdrv *d, unsigned int qi)
{
	return __atomic_load_n((uint16_t *)vdrv_ptr(d, d->q[qi].used, 2),
			       __ATOMIC_ACQUIRE);
}

uint16_t vdrv_avail_event(struct vdrv *d, unsigned int qi)
{
	struct vdrv_queue *q = &d->q[qi];

	return __atomic_load_n((uint16_t *)vdrv_ptr(d, q->used + 4 + 8ULL * q->size, 2),
			       __ATOMIC_ACQUIRE);
}

bool vdrv_kick_if_needed(struct vdrv *d, unsigned int qi, uint16_t old_idx)
{
	struct vdrv_queue *q = &d->q[qi];
	bool need;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		uint16_t event = vdrv_avail_event(d, qi);

		need = (uint16_t)(q->avail_idx - event - 1) <
		       (uint16_t)(q->avail_idx - old_idx);
	} else {
		need = !(vdrv_used_flags(d, qi) & VIRTQ_USED_F_NO_NOTIFY);
	}
	if (need)
		vdrv_kick(d, qi);
	return need;
}

uint16_t vdrv_used_idx(struct vdrv *d, unsigned int qi)
{
	return __atomic_load_n((uint16_t *)vdrv_ptr(d, d->q[qi].used + 2, 2),
			       __ATOMIC_ACQUIRE);
}

static void store_used_event(struct vdrv *d, unsigned int qi, uint16_t idx)
{
	struct vdrv_queue *q = &d->q[qi];
	uint16_t *p = vdrv_ptr(d, q->avail + 4 + 2ULL * q->size, 2);

	__atomic_store_n(p, idx, __ATOMIC_SEQ_CST);
}

bool vdrv_get_used(struct vdrv *d, unsigned int qi, uint32_t *id,
		   uint32_t *len)
{
	struct vdrv_queue *q = &d->q[qi];
	uint8_t *elem;
	uint32_t head;

	if (vdrv_used_idx(d, qi) == q->last_used)
		return false;
	elem = vdrv_ptr(d, q->used + 4 + 8ULL * (q->last_used % q->size), 8);
	head = get_le32(elem);
	*id = head;
	*len = get_le32(elem + 4);
	q->last_used++;
	if (q->event_idx && !q->hold_used_event)
		store_used_event(d, qi, q->last_used);
	/* Descriptors come back to the free list as the driver recorded them. */
	if (head < q->size) {
		for (uint16_t i = 0; i < q->chain_len[head]; i++)
			q->free[q->nr_free++] = q->chain[head][i];
		q->chain_len[head] = 0;
	}
	return true;
}

void vdrv_set_used_event(struct vdrv *d, unsigned int qi, uint16_t idx)
{
	d->q[qi].hold_used_event = true;
	store_used_event(d, qi, idx);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool vdrv_wait_used(struct vdrv *d, unsigned int qi, uint32_t *id,
		    uint32_t *len, int ms)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		int64_t left;

		if (vdrv_get_used(d, qi, id, len))
			return true;
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		/* Short naps too: a suppressed interrupt must not stall a test. */
		vtest_irq_wait(d->th, d->gsi, (int)MIN(left, 20));
	}
}

bool vdrv_reset(struct vdrv *d, int ms)
{
	int64_t deadline = now_ms() + ms;

	vdrv_write(d, VIRTIO_MMIO_STATUS, 0);
	while (vdrv_status(d)) {
		if (now_ms() >= deadline)
			return false;
		usleep(1000);
	}
	return true;
}

bool vdrv_wait_status(struct vdrv *d, uint32_t bit, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (!(vdrv_status(d) & bit)) {
		if (now_ms() >= deadline)
			return false;
		vtest_irq_wait(d->th, d->gsi, 10);
	}
	return true;
}
