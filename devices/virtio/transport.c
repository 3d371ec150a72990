// SPDX-License-Identifier: MIT
#include "transport.h"
#include "mmio.h"
#include "pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/state.h"

/* Feature bits every device gets from the transport and the rings. */
#define TRANSPORT_FEATURES                                                     \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |  \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

#define DRIVER_STATUS_BITS                                                     \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |                    \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK |                 \
	 VIRTIO_STATUS_FAILED)

static uint64_t offered_features(const struct virtio_transport *t)
{
	return t->vdev->features | TRANSPORT_FEATURES;
}

/* ---- what the device types call (virtio.h) ---- */

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
	struct virtio_transport *t = vdev->transport;

	t->resetting = false;
	t->status = 0;
}

void virtio_notify_used(struct virtio_device *vdev, struct virtq *vq)
{
	struct virtio_transport *t = vdev->transport;

	if (vq->ready && virtq_should_notify(vq))
		t->ops->interrupt(t, vq);
}

void virtio_config_changed(struct virtio_device *vdev)
{
	struct virtio_transport *t = vdev->transport;

	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		t->ops->interrupt(t, NULL);
}

void virtio_needs_reset(struct virtio_device *vdev, const char *why)
{
	struct virtio_transport *t = vdev->transport;

	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	/* Once per device: a guest that keeps breaking it cannot flood the log. */
	if (!t->reset_logged) {
		t->reset_logged = true;
		log_guest("%s: %s; device needs reset", t->name, why);
	}
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		t->ops->interrupt(t, NULL);
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

static void kick(struct virtio_kick *k)
{
	uint64_t one = 1;

	if (write(k->src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: queue %u notification: %s", k->t->name,
			 k->vq->index, strerror(errno));
}

void virtio_queue_kick(struct virtio_device *vdev, struct virtq *vq)
{
	kick(&vdev->transport->kicks[vq->index]);
}

/* Event loop: the driver notified a queue. */
static void kick_event(void *opaque, uint32_t events)
{
	struct virtio_kick *k = opaque;
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

/* ---- the registers both transports have ---- */

void virtio_transport_kick(struct virtio_transport *t, uint32_t qi)
{
	if (qi < t->vdev->nr_queues)
		kick(&t->kicks[qi]);
	else
		log_guest_once("%s: notify of missing queue %u", t->name, qi);
}

void virtio_transport_reset(struct virtio_transport *t)
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
	if (t->ops->reset)
		t->ops->reset(t);
}

static bool features_acceptable(struct virtio_transport *t)
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

static void driver_ok(struct virtio_transport *t)
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
void virtio_transport_set_status(struct virtio_transport *t, uint32_t val)
{
	uint32_t old = t->status & DRIVER_STATUS_BITS, new;

	if (val == 0) {
		virtio_transport_reset(t);
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

uint32_t virtio_transport_device_features(struct virtio_transport *t,
					  uint32_t sel)
{
	uint64_t f = offered_features(t);

	if (sel == 0)
		return (uint32_t)f;
	if (sel == 1)
		return (uint32_t)(f >> 32);
	return 0;
}

static void set_low(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
}

void virtio_transport_driver_features(struct virtio_transport *t, uint32_t sel,
				      uint32_t val)
{
	if (!(t->status & VIRTIO_STATUS_DRIVER) ||
	    (t->status & VIRTIO_STATUS_FEATURES_OK)) {
		log_guest_once("%s: driver features written outside negotiation",
			       t->name);
		return;
	}
	if (sel == 0)
		set_low(&t->driver_features, val);
	else if (sel == 1)
		set_high(&t->driver_features, val);
}

struct virtq *virtio_transport_queue(struct virtio_transport *t)
{
	if (t->queue_sel >= t->vdev->nr_queues)
		return NULL;
	return &t->vdev->vqs[t->queue_sel];
}

/* Queue registers take effect only while the queue is not ready (4.2.3.2). */
void virtio_transport_queue_write(struct virtio_transport *t,
				  enum virtio_queue_field field, uint32_t val)
{
	struct virtq *vq = virtio_transport_queue(t);

	if (!vq)
		return;
	if (vq->ready) {
		log_guest_once("%s: queue %u reprogrammed while ready", t->name,
			       vq->index);
		return;
	}
	switch (field) {
	case VIRTIO_QUEUE_SIZE:
		/* Out of range: rejected when the queue is enabled. */
		vq->size = val > 0xffff ? 0 : (uint16_t)val;
		break;
	case VIRTIO_QUEUE_DESC_LOW:
		set_low(&vq->desc_gpa, val);
		break;
	case VIRTIO_QUEUE_DESC_HIGH:
		set_high(&vq->desc_gpa, val);
		break;
	case VIRTIO_QUEUE_DRIVER_LOW:
		set_low(&vq->avail_gpa, val);
		break;
	case VIRTIO_QUEUE_DRIVER_HIGH:
		set_high(&vq->avail_gpa, val);
		break;
	case VIRTIO_QUEUE_DEVICE_LOW:
		set_low(&vq->used_gpa, val);
		break;
	case VIRTIO_QUEUE_DEVICE_HIGH:
		set_high(&vq->used_gpa, val);
		break;
	}
}

void virtio_transport_queue_ready(struct virtio_transport *t, bool ready)
{
	struct virtio_device *vdev = t->vdev;
	struct virtq *vq = virtio_transport_queue(t);
	struct err e;

	if (!vq)
		return;
	if (!ready) {
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

void virtio_transport_config_read(struct virtio_transport *t, uint64_t off,
				  void *data, uint32_t len)
{
	struct virtio_device *vdev = t->vdev;

	memset(data, 0, len);
	if (off < vdev->config_len)
		memcpy(data, vdev->config + off, MIN(len, vdev->config_len - off));
}

void virtio_transport_config_write(struct virtio_transport *t, uint64_t off,
				   const void *data, uint32_t len)
{
	struct virtio_device *vdev = t->vdev;

	if (vdev->ops->config_write && range_ok(off, len, vdev->config_len))
		vdev->ops->config_write(vdev, (uint32_t)off, data, len);
}

/* ---- notifications ---- */

void virtio_transport_bind_notify(struct virtio_transport *t, unsigned int qi,
				  uint64_t addr, uint32_t len)
{
	struct virtio_kick *k = &t->kicks[qi];
	struct device_host *host = t->host;

	if (k->bound && k->bound_addr == addr && k->bound_len == len)
		return;
	if (k->bound)
		host->ioeventfd(host, k->bound_addr, k->bound_len, qi,
				k->src.fd, false);
	k->bound = addr && host->ioeventfd &&
		   host->ioeventfd(host, addr, len, qi, k->src.fd, true) == 0;
	k->bound_addr = k->bound ? addr : 0;
	k->bound_len = k->bound ? len : 0;
}

static int setup_queue(struct virtio_transport *t, unsigned int i,
		       struct err *e)
{
	struct virtio_device *vdev = t->vdev;
	struct virtio_kick *k = &t->kicks[i];

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
	return 0;
}

void virtio_transport_teardown(struct virtio_transport *t)
{
	struct virtio_device *vdev = t->vdev;

	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		struct virtio_kick *k = &t->kicks[i];

		if (k->bound)
			virtio_transport_bind_notify(t, i, 0, 0);
		if (k->watched)
			event_loop_remove(t->host->loop, &k->src);
		k->watched = false;
		if (k->src.fd >= 0)
			close(k->src.fd);
		k->src.fd = -1;
		virtq_free(&vdev->vqs[i]);
	}
}

/* ---- the lifecycle handle on the VM's device list ---- */

static struct virtio_transport *dev_to_transport(struct device *dev)
{
	return container_of(dev, struct virtio_transport, dev);
}

static void transport_dev_reset(struct device *dev)
{
	struct virtio_transport *t = dev_to_transport(dev);

	pthread_mutex_lock(&t->lock);
	virtio_transport_reset(t);
	pthread_mutex_unlock(&t->lock);
	if (t->ops->machine_reset)
		t->ops->machine_reset(t);
}

static void transport_dev_destroy(struct device *dev)
{
	struct virtio_transport *t = dev_to_transport(dev);
	struct virtio_device *vdev = t->vdev;

	pthread_mutex_lock(&t->lock);
	virtio_transport_reset(t);
	pthread_mutex_unlock(&t->lock);
	if (t->ops->unplug)
		t->ops->unplug(t);
	virtio_transport_teardown(t);
	/* A back end may still take the lock while it shuts down. */
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	pthread_mutex_destroy(&t->lock);
	t->ops->free(t);
}

/* ---- snapshots ---- */

static int transport_dev_save(struct device *dev, struct state_writer *w,
			      struct err *e)
{
	struct virtio_transport *t = dev_to_transport(dev);
	struct virtio_device *vdev = t->vdev;
	int ret = -1;

	pthread_mutex_lock(&t->lock);
	if (vdev->ops->quiesce && vdev->ops->quiesce(vdev, e) < 0)
		goto out;
	if (t->resetting) {
		err_set(e, "a device reset is still waiting for its I/O");
		goto out;
	}
	state_put_u64(w, "status", t->status);
	state_put_u64(w, "isr", t->isr);
	state_put_u64(w, "device_features_sel", t->device_features_sel);
	state_put_u64(w, "driver_features_sel", t->driver_features_sel);
	state_put_u64(w, "queue_sel", t->queue_sel);
	state_put_u64(w, "driver_features", t->driver_features);
	state_put_u64(w, "negotiated", vdev->negotiated);
	state_put_u64(w, "config_generation", t->config_generation);
	state_put_bytes(w, "config", vdev->config, vdev->config_len);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq_save(&vdev->vqs[i], w);
	if (vdev->ops->save)
		vdev->ops->save(vdev, w);
	ret = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int virtio_saved_config(struct virtio_device *vdev,
			const struct state_section *s, uint8_t *buf,
			struct err *e)
{
	return state_get_bytes(s, "config", buf, vdev->config_len, e);
}

int virtio_check_config(struct virtio_device *vdev,
			const struct state_section *s, struct err *e)
{
	uint8_t *saved = malloc(MAX(vdev->config_len, 1U));
	int ret = 0;

	if (!saved)
		return err_set(e, "out of memory");
	if (virtio_saved_config(vdev, s, saved, e) < 0) {
		free(saved);
		return -1;
	}
	for (uint32_t i = 0; i < vdev->config_len && ret == 0; i++)
		if (saved[i] != vdev->config[i])
			ret = err_set(e, "the device's configuration differs from the snapshot's at byte %u (%#x, now %#x)",
				      i, saved[i], vdev->config[i]);
	free(saved);
	return ret;
}

/* The status machine as virtio_transport_set_status() lets a driver leave it. */
static int check_status(struct virtio_transport *t, uint32_t status,
			uint64_t negotiated, struct err *e)
{
	uint64_t stray = negotiated & ~offered_features(t);

	if (status & ~(DRIVER_STATUS_BITS | VIRTIO_STATUS_NEEDS_RESET))
		return err_set(e, "status %#x has bits no driver sets", status);
	if ((status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(status & VIRTIO_STATUS_FEATURES_OK))
		return err_set(e, "status %#x: DRIVER_OK without FEATURES_OK", status);
	if (!(status & VIRTIO_STATUS_FEATURES_OK) && negotiated)
		return err_set(e, "features %#llx negotiated without FEATURES_OK",
			       (unsigned long long)negotiated);
	if (stray)
		return err_set(e, "the guest uses features %#llx this device no longer offers (its back end differs from the snapshot's)",
			       (unsigned long long)stray);
	if (negotiated && !(negotiated & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return err_set(e, "features %#llx lack VIRTIO_F_VERSION_1",
			       (unsigned long long)negotiated);
	return 0;
}

static int load_queues(struct virtio_transport *t,
		       const struct state_section *s, struct err *e)
{
	struct virtio_device *vdev = t->vdev;
	struct state_section q;
	unsigned int i = 0;
	size_t pos = 0;

	if (state_count(s, "queue") != vdev->nr_queues)
		return err_set(e, "%u queues saved, the device has %u",
			       state_count(s, "queue"), vdev->nr_queues);
	while (state_next(s, "queue", &pos, &q) > 0) {
		if (virtq_restore(&vdev->vqs[i], &q, t->host->mem,
				  virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX),
				  virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC),
				  e) < 0)
			return -1;
		i++;
	}
	return 0;
}

static int load_transport(struct virtio_transport *t,
			  const struct state_section *s, struct err *e)
{
	struct virtio_device *vdev = t->vdev;
	uint32_t status, isr;

	if (state_get_u32(s, "status", &status, e) < 0 ||
	    state_get_u32(s, "isr", &isr, e) < 0 ||
	    state_get_u32(s, "device_features_sel", &t->device_features_sel, e) < 0 ||
	    state_get_u32(s, "driver_features_sel", &t->driver_features_sel, e) < 0 ||
	    state_get_u32(s, "queue_sel", &t->queue_sel, e) < 0 ||
	    state_get_u64(s, "driver_features", &t->driver_features, e) < 0 ||
	    state_get_u64(s, "negotiated", &vdev->negotiated, e) < 0 ||
	    state_get_u32(s, "config_generation", &t->config_generation, e) < 0)
		return -1;
	if (check_status(t, status, vdev->negotiated, e) < 0)
		return -1;
	t->status = status;
	t->isr = isr & (VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
	if (load_queues(t, s, e) < 0)
		return -1;
	return vdev->ops->restore ? vdev->ops->restore(vdev, s, e) :
				    virtio_check_config(vdev, s, e);
}

/*
 * A restored device resumes where it stopped: a running one is activated
 * again (its back end set up for the negotiated features), every ready
 * queue is looked at once (a notification the snapshot caught in flight
 * is not lost) and an interrupt the driver had not acknowledged is raised
 * again (one still on its way into the interrupt controller was not
 * saved; a driver reads the status first and ignores a repeat).
 */
static void transport_resume(struct virtio_transport *t)
{
	if (!virtio_active(t->vdev))
		return;
	driver_ok(t);
	if (t->isr)
		t->ops->interrupt(t, (t->isr & VIRTIO_INT_USED) ?
					     &t->vdev->vqs[0] : NULL);
}

static int transport_dev_restore(struct device *dev,
				 const struct state_section *s, struct err *e)
{
	struct virtio_transport *t = dev_to_transport(dev);
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = load_transport(t, s, e);
	if (ret < 0)
		virtio_transport_reset(t);
	else
		transport_resume(t);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static const struct device_ops transport_dev_ops = {
	.reset = transport_dev_reset,
	.destroy = transport_dev_destroy,
	.save = transport_dev_save,
	.restore = transport_dev_restore,
};

int virtio_transport_init(struct virtio_transport *t, struct device_host *host,
			  struct virtio_device *vdev, const char *name,
			  const struct virtio_transport_ops *ops, struct err *e)
{
	if (vdev->nr_queues == 0 || vdev->nr_queues > VIRTIO_MAX_QUEUES)
		return err_set(e, "%s: %u queues (1 to %d)", vdev->name,
			       vdev->nr_queues, VIRTIO_MAX_QUEUES);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->host = host;
	t->vdev = vdev;
	t->ops = ops;
	t->dev = (struct device){ .name = t->name, .ops = &transport_dev_ops };
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		t->kicks[i].src.fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	vdev->host = host;
	vdev->transport = t;
	vdev->negotiated = 0;
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		if (setup_queue(t, i, e) < 0) {
			virtio_transport_teardown(t);
			pthread_mutex_destroy(&t->lock);
			vdev->transport = NULL;
			return -1;
		}
	}
	return 0;
}

int virtio_attach(struct device_host *host, const struct virtio_attach *at,
		  struct virtio_device *vdev, struct device **out,
		  struct err *e)
{
	switch (at->kind) {
	case VIRTIO_TRANSPORT_MMIO:
		return virtio_mmio_create(host, at->base, at->gsi, vdev, out, e);
	case VIRTIO_TRANSPORT_PCI:
		return virtio_pci_create(host, at->pci, at->slot, at->gsi, vdev,
					 out, e);
	}
	return err_set(e, "%s: unknown transport %d", vdev->name, at->kind);
}
