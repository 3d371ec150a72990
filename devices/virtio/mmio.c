// SPDX-License-Identifier: MIT
#include "mmio.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Feature bits every device gets from the transport and the rings. */
#define TRANSPORT_FEATURES                                                     \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |  \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

#define DRIVER_STATUS_BITS                                                     \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |                    \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK |                 \
	 VIRTIO_STATUS_FAILED)

/* A queue's notification eventfd as an event loop source. */
struct mmio_kick {
	struct event_source src;
	struct virtio_mmio *t;
	struct virtq *vq;
	bool watched; /* on the event loop */
	bool bound;   /* signalled by the host's ioeventfd */
};

struct virtio_mmio {
	struct device dev;
	struct bus_device bus;
	char name[64];
	struct device_host *host;
	struct virtio_device *vdev;
	pthread_mutex_t lock;
	struct irq_line irq;

	uint32_t status;
	uint32_t isr;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint64_t driver_features;
	uint32_t config_generation;
	bool reset_logged;
	bool resetting; /* the device completes a reset (virtio_reset_defer) */

	struct mmio_kick kicks[VIRTIO_MAX_QUEUES];
};

static uint64_t offered_features(const struct virtio_mmio *t)
{
	return t->vdev->features | TRANSPORT_FEATURES;
}

void virtio_lock(struct virtio_device *vdev)
{
	pthread_mutex_lock(&vdev->transport->lock);
}

void virtio_unlock(struct virtio_device *vdev)
{
	pthread_mutex_unlock(&vdev->transport->lock);
}

bool virtio_active(const struct virtio_device *vdev)
{
	uint32_t s = vdev->transport->status;

	return (s & VIRTIO_STATUS_DRIVER_OK) && !vdev->transport->resetting &&
	       !(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_reset_defer(struct virtio_device *vdev)
{
	vdev->transport->resetting = true;
}

void virtio_reset_done(struct virtio_device *vdev)
{
	struct virtio_mmio *t = vdev->transport;

	t->resetting = false;
	t->status = 0;
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t why)
{
	t->isr |= why;
	irq_line_pulse(&t->irq);
}

void virtio_notify_used(struct virtio_device *vdev, struct virtq *vq)
{
	if (vq->ready && virtq_should_notify(vq))
		raise_interrupt(vdev->transport, VIRTIO_INT_USED);
}

void virtio_config_changed(struct virtio_device *vdev)
{
	struct virtio_mmio *t = vdev->transport;

	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_interrupt(t, VIRTIO_INT_CONFIG);
}

void virtio_needs_reset(struct virtio_device *vdev, const char *why)
{
	struct virtio_mmio *t = vdev->transport;

	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	/* Once per device: a guest that keeps breaking it cannot flood the log. */
	if (!t->reset_logged) {
		t->reset_logged = true;
		log_guest("%s: %s; device needs reset", t->name, why);
	}
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_interrupt(t, VIRTIO_INT_CONFIG);
}

int virtio_pop(struct virtio_device *vdev, struct virtq *vq,
	       struct virtq_chain *chain)
{
	struct err e;

	for (;;) {
		int ret = virtq_pop(vq, chain, &e);

		if (ret < 0) {
			virtio_needs_reset(vdev, e.msg);
			return -1;
		}
		if (ret > 0) {
			/* Busy: further buffers are picked up without kicks. */
			if (vq->notify_enabled)
				virtq_disable_notify(vq);
			return 1;
		}
		if (vq->notify_enabled || !virtq_enable_notify(vq))
			return 0;
	}
}

static void kick(struct mmio_kick *k)
{
	uint64_t one = 1;

	if (write(k->src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: queue %u notification: %s", k->t->name,
			 k->vq->index, strerror(errno));
}

/* Event loop: the driver notified a queue. */
static void kick_event(void *opaque, uint32_t events)
{
	struct mmio_kick *k = opaque;
	struct virtio_device *vdev = k->t->vdev;
	uint64_t v;

	(void)events;
	if (read(k->src.fd, &v, sizeof(v)) < 0)
		return;
	virtio_lock(vdev);
	if (virtio_active(vdev) && k->vq->ready)
		vdev->ops->queue_notify(vdev, k->vq);
	virtio_unlock(vdev);
}

void virtio_queue_kick(struct virtio_device *vdev, struct virtq *vq)
{
	kick(&vdev->transport->kicks[vq->index]);
}

static void transport_reset(struct virtio_mmio *t)
{
	struct virtio_device *vdev = t->vdev;

	/*
	 * The device stops touching guest memory, now or once its I/O is in
	 * (virtio_reset_defer); until then the status keeps its value.
	 */
	t->resetting = false;
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq_reset(&vdev->vqs[i]);
	if (!t->resetting)
		t->status = 0;
	t->isr = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	vdev->negotiated = 0;
}

static bool features_acceptable(struct virtio_mmio *t)
{
	struct virtio_device *vdev = t->vdev;
	uint64_t f = t->driver_features;

	if (f & ~offered_features(t)) {
		log_guest_once("%s: driver accepted features %#llx that were not offered",
			       t->name,
			       (unsigned long long)(f & ~offered_features(t)));
		return false;
	}
	if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		log_guest_once("%s: legacy driver (VIRTIO_F_VERSION_1 not accepted); only virtio 1.x is supported",
			       t->name);
		return false;
	}
	if (vdev->ops->features_ok && !vdev->ops->features_ok(vdev, f))
		return false;
	vdev->negotiated = f;
	return true;
}

static void driver_ok(struct virtio_mmio *t)
{
	struct virtio_device *vdev = t->vdev;

	if (vdev->ops->activate && vdev->ops->activate(vdev) < 0) {
		virtio_needs_reset(vdev, "back end cannot run with the negotiated features");
		return;
	}
	/* Buffers made available before DRIVER_OK are processed now. */
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		if (vdev->vqs[i].ready)
			kick(&t->kicks[i]);
}

/*
 * The driver only ever adds bits (3.1.1) until it writes 0 to reset;
 * FEATURES_OK sticks only when the features are acceptable, DRIVER_OK only
 * after FEATURES_OK.
 */
static void status_write(struct virtio_mmio *t, uint32_t val)
{
	uint32_t old = t->status & DRIVER_STATUS_BITS, new;

	if (val == 0) {
		transport_reset(t);
		return;
	}
	new = val & DRIVER_STATUS_BITS;
	if (old & ~new) {
		log_guest_once("%s: driver cleared status bits %#x without a reset",
			       t->name, old & ~new);
		return;
	}
	if ((new & ~old & VIRTIO_STATUS_FEATURES_OK) &&
	    (!(new & VIRTIO_STATUS_DRIVER) || !features_acceptable(t)))
		new &= ~VIRTIO_STATUS_FEATURES_OK;
	if (!(new & VIRTIO_STATUS_FEATURES_OK))
		new &= ~VIRTIO_STATUS_DRIVER_OK;
	t->status = new | (t->status & VIRTIO_STATUS_NEEDS_RESET);
	if ((new & ~old & VIRTIO_STATUS_DRIVER_OK) &&
	    !(t->status & VIRTIO_STATUS_NEEDS_RESET))
		driver_ok(t);
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->vdev->nr_queues)
		return NULL;
	return &t->vdev->vqs[t->queue_sel];
}

static void queue_ready_write(struct virtio_mmio *t, struct virtq *vq,
			      uint32_t val)
{
	struct virtio_device *vdev = t->vdev;
	struct err e;

	if (!val) {
		vq->ready = false;
		vq->epoch++;
		return;
	}
	if (vq->ready)
		return;
	if (virtq_enable(vq, t->host->mem,
			 virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX),
			 virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC),
			 &e) < 0) {
		virtio_needs_reset(vdev, e.msg);
		return;
	}
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		kick(&t->kicks[vq->index]);
}

static void set_low(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
}

/* Queue registers take effect only while the queue is not ready (4.2.3.2). */
static void queue_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtq *vq = selected_queue(t);

	if (!vq)
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		queue_ready_write(t, vq, val);
		return;
	}
	if (vq->ready) {
		log_guest_once("%s: queue %u reprogrammed while ready", t->name,
			       vq->index);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		/* Out of range: rejected when the queue is enabled. */
		vq->size = val > 0xffff ? 0 : (uint16_t)val;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_low(&vq->desc_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_high(&vq->desc_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		set_low(&vq->avail_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_high(&vq->avail_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		set_low(&vq->used_gpa, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_high(&vq->used_gpa, val);
		break;
	}
}

static void driver_features_write(struct virtio_mmio *t, uint32_t val)
{
	if (!(t->status & VIRTIO_STATUS_DRIVER) ||
	    (t->status & VIRTIO_STATUS_FEATURES_OK)) {
		log_guest_once("%s: driver features written outside negotiation",
			       t->name);
		return;
	}
	if (t->driver_features_sel == 0)
		set_low(&t->driver_features, val);
	else if (t->driver_features_sel == 1)
		set_high(&t->driver_features, val);
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		driver_features_write(t, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		queue_reg_write(t, off, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < t->vdev->nr_queues)
			kick(&t->kicks[val]);
		else
			log_guest_once("%s: notify of missing queue %u",
				       t->name, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		status_write(t, val);
		break;
	default:
		log_guest_once("%s: write to read-only or unknown register %#llx",
			       t->name, (unsigned long long)off);
	}
}

static uint32_t features_word(uint64_t features, uint32_t sel)
{
	if (sel == 0)
		return (uint32_t)features;
	if (sel == 1)
		return (uint32_t)(features >> 32);
	return 0;
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *vq = selected_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->vdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return 0;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return features_word(offered_features(t),
				     t->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions */
	default:
		return 0;
	}
}

/*
 * Registers take aligned 32-bit accesses only (4.2.2.2); the configuration
 * space takes any access inside it and reads as zero past its end.
 */
static void mmio_read(struct bus_device *bd, uint64_t off, void *data,
		      uint32_t len)
{
	struct virtio_mmio *t = bd->opaque;
	struct virtio_device *vdev = t->vdev;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c < vdev->config_len)
			memcpy(data, vdev->config + c,
			       MIN(len, vdev->config_len - c));
	} else if (len == 4 && off % 4 == 0) {
		put_le32(data, reg_read(t, off));
	} else {
		log_guest_once("%s: %u-byte read of register %#llx",
			       t->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

static void mmio_write(struct bus_device *bd, uint64_t off, const void *data,
		       uint32_t len)
{
	struct virtio_mmio *t = bd->opaque;
	struct virtio_device *vdev = t->vdev;

	pthread_mutex_lock(&t->lock);
	if (t->resetting) {
		log_guest_once("%s: register %#llx written before the reset completed (the status still reads non-zero); ignored",
			       t->name, (unsigned long long)off);
	} else if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (vdev->ops->config_write && range_ok(c, len, vdev->config_len))
			vdev->ops->config_write(vdev, (uint32_t)c, data, len);
	} else if (len == 4 && off % 4 == 0) {
		reg_write(t, off, get_le32(data));
	} else {
		log_guest_once("%s: %u-byte write of register %#llx",
			       t->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_device_ops mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

static struct virtio_mmio *dev_to_mmio(struct device *dev)
{
	return container_of(dev, struct virtio_mmio, dev);
}

static void mmio_dev_reset(struct device *dev)
{
	struct virtio_mmio *t = dev_to_mmio(dev);

	pthread_mutex_lock(&t->lock);
	transport_reset(t);
	pthread_mutex_unlock(&t->lock);
}

/* Undoes whatever virtio_mmio_create() set up; tolerates a partial setup. */
static void mmio_teardown(struct virtio_mmio *t)
{
	struct virtio_device *vdev = t->vdev;

	if (t->bus.ops)
		bus_unregister(t->host->mmio, &t->bus);
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		struct mmio_kick *k = &t->kicks[i];

		if (k->bound)
			t->host->ioeventfd(t->host,
					   t->bus.base + VIRTIO_MMIO_QUEUE_NOTIFY,
					   4, i, k->src.fd, false);
		if (k->watched)
			event_loop_remove(t->host->loop, &k->src);
		if (k->src.fd >= 0)
			close(k->src.fd);
		virtq_free(&vdev->vqs[i]);
	}
	if (t->irq.fd >= 0)
		close(t->irq.fd);
}

static void mmio_free(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void mmio_dev_destroy(struct device *dev)
{
	struct virtio_mmio *t = dev_to_mmio(dev);
	struct virtio_device *vdev = t->vdev;

	pthread_mutex_lock(&t->lock);
	transport_reset(t);
	pthread_mutex_unlock(&t->lock);
	mmio_teardown(t);
	/* A back end may still take the lock while it shuts down. */
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	mmio_free(t);
}

static const struct device_ops mmio_dev_ops = {
	.reset = mmio_dev_reset,
	.destroy = mmio_dev_destroy,
};

static int setup_queue(struct virtio_mmio *t, unsigned int i, struct err *e)
{
	struct virtio_device *vdev = t->vdev;
	struct mmio_kick *k = &t->kicks[i];
	uint64_t notify = t->bus.base + VIRTIO_MMIO_QUEUE_NOTIFY;

	if (virtq_init(&vdev->vqs[i], (uint16_t)i, vdev->queue_max[i]) < 0)
		return err_set(e, "%s: out of memory for queue %u", t->name, i);
	k->t = t;
	k->vq = &vdev->vqs[i];
	k->src.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->src.fd < 0)
		return err_errno(e, "%s: eventfd for queue %u", t->name, i);
	k->src.events = EPOLLIN;
	k->src.fn = kick_event;
	k->src.opaque = k;
	if (event_loop_add(t->host->loop, &k->src) < 0)
		return err_errno(e, "%s: watching queue %u", t->name, i);
	k->watched = true;
	k->bound = t->host->ioeventfd &&
		   t->host->ioeventfd(t->host, notify, 4, i, k->src.fd,
				      true) == 0;
	return 0;
}

int virtio_mmio_create(struct device_host *host, uint64_t base, uint32_t gsi,
		       struct virtio_device *vdev, struct device **out,
		       struct err *e)
{
	struct virtio_mmio *t;

	if (vdev->nr_queues == 0 || vdev->nr_queues > VIRTIO_MAX_QUEUES)
		return err_set(e, "%s: %u queues (1 to %d)", vdev->name,
			       vdev->nr_queues, VIRTIO_MAX_QUEUES);
	t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(e, "%s: out of memory", vdev->name);
	snprintf(t->name, sizeof(t->name), "%s@%#llx", vdev->name,
		 (unsigned long long)base);
	t->host = host;
	t->vdev = vdev;
	t->irq.fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->dev = (struct device){ .name = t->name, .ops = &mmio_dev_ops };
	t->bus = (struct bus_device){
		.name = t->name, .base = base, .len = VIRTIO_MMIO_WINDOW,
		.opaque = t,
	};
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		t->kicks[i].src.fd = -1;
	vdev->host = host;
	vdev->transport = t;
	vdev->negotiated = 0;
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		if (setup_queue(t, i, e) < 0)
			goto fail;
	if (host->irq_line(host, gsi, &t->irq, e) < 0) {
		err_prefix(e, "%s", t->name);
		goto fail;
	}
	t->bus.ops = &mmio_ops;
	if (bus_register(host->mmio, &t->bus, e) < 0) {
		t->bus.ops = NULL;
		goto fail;
	}
	*out = &t->dev;
	return 0;
fail:
	mmio_teardown(t);
	vdev->transport = NULL;
	mmio_free(t);
	return -1;
}
