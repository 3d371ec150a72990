// SPDX-License-Identifier: MIT
/*
 * ARM PrimeCell PL031 real-time clock (ARM DDI 0224). The kernel's AMBA
 * bus matches it by the peripheral ID it reads at 0xfe0; rtc-pl031 then
 * reads the count from DR at boot. The match interrupt is a host timer
 * on the event loop: a vCPU only pokes an eventfd when the guest changes
 * what the alarm depends on.
 */
#include "pl031.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/state.h"

#define PL031_INT 0x1 /* the one interrupt: the count reached MR */

/* PeriphID 0x00041031 (part 0x031, designer ARM, revision 0), PCellID. */
static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x04, 0x00,
				     0x0d, 0xf0, 0x05, 0xb1 };

struct pl031 {
	struct device dev;
	struct device_host *host;
	struct bus_device io;
	struct irq_line irq;
	pthread_mutex_t lock;

	int64_t offset; /* guest count minus host UTC seconds */
	uint32_t match;
	uint32_t imsc;
	uint32_t ris;
	bool level;

	int timer_fd; /* CLOCK_REALTIME, expires when the count reaches MR */
	int rearm_fd; /* a vCPU asks the loop to re-arm the timer */
	struct event_source timer_src;
	struct event_source rearm_src;
	bool timer_watched;
	bool rearm_watched;
	bool registered; /* on the MMIO bus */
};

static int64_t host_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static uint32_t pl031_count(const struct pl031 *rtc)
{
	return (uint32_t)(host_seconds() + rtc->offset);
}

static void pl031_update_irq(struct pl031 *rtc)
{
	bool level = rtc->ris & rtc->imsc & PL031_INT;

	if (level == rtc->level)
		return;
	rtc->level = level;
	irq_line_set(&rtc->irq, level);
}

/* On a vCPU: the loop re-arms the timer; an eventfd write never blocks. */
static void pl031_request_rearm(struct pl031 *rtc)
{
	uint64_t one = 1;

	if (write(rtc->rearm_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("pl031: eventfd: %s", strerror(errno));
}

static uint32_t pl031_reg_read(struct pl031 *rtc, uint64_t offset)
{
	switch (offset) {
	case PL031_DR:
		return pl031_count(rtc);
	case PL031_MR:
		return rtc->match;
	case PL031_LR:
		return pl031_count(rtc);
	case PL031_CR:
		return 1; /* started at reset and cannot be stopped */
	case PL031_IMSC:
		return rtc->imsc;
	case PL031_RIS:
		return rtc->ris;
	case PL031_MIS:
		return rtc->ris & rtc->imsc;
	}
	if (offset >= PL031_ID && offset < PL031_ID + 4 * sizeof(pl031_id))
		return pl031_id[(offset - PL031_ID) / 4];
	return 0;
}

static void pl031_reg_write(struct pl031 *rtc, uint64_t offset, uint32_t val)
{
	switch (offset) {
	case PL031_MR:
		rtc->match = val;
		pl031_request_rearm(rtc);
		break;
	case PL031_LR:
		rtc->offset = (int64_t)val - host_seconds();
		pl031_request_rearm(rtc);
		break;
	case PL031_IMSC:
		rtc->imsc = val & PL031_INT;
		break;
	case PL031_ICR:
		rtc->ris &= ~(val & PL031_INT);
		break;
	}
	pl031_update_irq(rtc);
}

/* Registers are 32 bits wide and word-aligned; other accesses do nothing. */
static void pl031_io_read(struct bus_device *dev, uint64_t offset, void *data,
			  uint32_t len)
{
	struct pl031 *rtc = dev->opaque;
	uint32_t val = 0;

	memset(data, 0, len);
	if (len != 4 || offset % 4)
		return;
	pthread_mutex_lock(&rtc->lock);
	val = pl031_reg_read(rtc, offset);
	pthread_mutex_unlock(&rtc->lock);
	put_le32(data, val);
}

static void pl031_io_write(struct bus_device *dev, uint64_t offset,
			   const void *data, uint32_t len)
{
	struct pl031 *rtc = dev->opaque;

	if (len != 4 || offset % 4)
		return;
	pthread_mutex_lock(&rtc->lock);
	pl031_reg_write(rtc, offset, get_le32(data));
	pthread_mutex_unlock(&rtc->lock);
}

static const struct bus_device_ops pl031_io_ops = {
	.read = pl031_io_read,
	.write = pl031_io_write,
};

/*
 * The count reaches MR at host time MR - offset, or, when that is past,
 * after the 32-bit count wraps; either way the next time it reads MR.
 */
static void pl031_rearm(void *opaque, uint32_t events)
{
	struct pl031 *rtc = opaque;
	struct itimerspec its = { 0 };
	uint64_t n;

	(void)events;
	if (read(rtc->rearm_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&rtc->lock);
	its.it_value.tv_sec = host_seconds() +
			      (uint32_t)(rtc->match - pl031_count(rtc));
	pthread_mutex_unlock(&rtc->lock);
	if (timerfd_settime(rtc->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("pl031: timerfd: %s", strerror(errno));
}

static void pl031_alarm(void *opaque, uint32_t events)
{
	struct pl031 *rtc = opaque;
	uint64_t n;

	(void)events;
	if (read(rtc->timer_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&rtc->lock);
	rtc->ris |= PL031_INT;
	pl031_update_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

static void pl031_destroy(struct device *dev)
{
	struct pl031 *rtc = (struct pl031 *)dev;

	if (rtc->registered)
		bus_unregister(rtc->host->mmio, &rtc->io);
	if (rtc->timer_watched)
		event_loop_remove(rtc->host->loop, &rtc->timer_src);
	if (rtc->rearm_watched)
		event_loop_remove(rtc->host->loop, &rtc->rearm_src);
	if (rtc->timer_fd >= 0)
		close(rtc->timer_fd);
	if (rtc->rearm_fd >= 0)
		close(rtc->rearm_fd);
	if (rtc->irq.fd >= 0)
		close(rtc->irq.fd);
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

static void pl031_reset(struct device *dev)
{
	struct pl031 *rtc = (struct pl031 *)dev;

	pthread_mutex_lock(&rtc->lock);
	rtc->match = rtc->imsc = rtc->ris = 0;
	pl031_update_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

/*
 * The count is kept as its distance from the host's UTC: a clock restored
 * later reads later, as a battery-backed clock would.
 */
static int pl031_save(struct device *dev, struct state_writer *w,
		      struct err *e)
{
	struct pl031 *rtc = (struct pl031 *)dev;

	(void)e;
	pthread_mutex_lock(&rtc->lock);
	state_put_u64(w, "offset", (uint64_t)rtc->offset);
	state_put_u64(w, "match", rtc->match);
	state_put_u64(w, "imsc", rtc->imsc);
	state_put_u64(w, "ris", rtc->ris);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static int pl031_restore(struct device *dev, const struct state_section *s,
			 struct err *e)
{
	struct pl031 *rtc = (struct pl031 *)dev;
	uint32_t match, imsc, ris;
	uint64_t offset;

	if (state_get_u64(s, "offset", &offset, e) < 0 ||
	    state_get_u32(s, "match", &match, e) < 0 ||
	    state_get_u32(s, "imsc", &imsc, e) < 0 ||
	    state_get_u32(s, "ris", &ris, e) < 0)
		return -1;
	pthread_mutex_lock(&rtc->lock);
	rtc->offset = (int64_t)offset;
	rtc->match = match;
	rtc->imsc = imsc & PL031_INT;
	rtc->ris = ris & PL031_INT;
	pl031_update_irq(rtc);
	pl031_request_rearm(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static const struct device_ops pl031_device_ops = {
	.reset = pl031_reset,
	.destroy = pl031_destroy,
	.save = pl031_save,
	.restore = pl031_restore,
};

static int pl031_watch(struct pl031 *rtc, struct event_source *src, int fd,
		       event_fn fn, bool *watched, struct err *e)
{
	*src = (struct event_source){
		.fd = fd, .events = EPOLLIN, .fn = fn, .opaque = rtc,
	};
	if (event_loop_add(rtc->host->loop, src) < 0)
		return err_errno(e, "pl031: epoll");
	*watched = true;
	return 0;
}

static int pl031_open(struct pl031 *rtc, uint32_t gsi, struct err *e)
{
	rtc->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	rtc->rearm_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rtc->timer_fd < 0 || rtc->rearm_fd < 0)
		return err_errno(e, "pl031: timerfd/eventfd");
	if (pl031_watch(rtc, &rtc->timer_src, rtc->timer_fd, pl031_alarm,
			&rtc->timer_watched, e) < 0 ||
	    pl031_watch(rtc, &rtc->rearm_src, rtc->rearm_fd, pl031_rearm,
			&rtc->rearm_watched, e) < 0)
		return -1;
	if (rtc->host->irq_line(rtc->host, gsi, &rtc->irq, e) < 0)
		return err_prefix(e, "pl031");
	return 0;
}

int pl031_create(struct device_host *host, uint64_t base, uint32_t gsi,
		 struct device **out, struct err *e)
{
	struct pl031 *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return err_set(e, "pl031: out of memory");
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->dev = (struct device){ .name = "pl031", .ops = &pl031_device_ops };
	rtc->host = host;
	rtc->timer_fd = rtc->rearm_fd = rtc->irq.fd = -1;
	rtc->io = (struct bus_device){
		.name = "pl031", .base = base, .len = 0x1000,
		.ops = &pl031_io_ops, .opaque = rtc,
	};
	if (pl031_open(rtc, gsi, e) < 0 || bus_register(host->mmio, &rtc->io, e) < 0) {
		pl031_destroy(&rtc->dev);
		return -1;
	}
	rtc->registered = true;
	*out = &rtc->dev;
	return 0;
}
