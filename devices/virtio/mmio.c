// SPDX-License-Identifier: MIT
#include "mmio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct virtio_mmio {
	struct virtio_transport t;
	struct bus_device bus;
	struct irq_line irq;
	bool irq_set_up;
};

static struct virtio_mmio *to_mmio(struct virtio_transport *t)
{
	return container_of(t, struct virtio_mmio, t);
}

/* Edge-triggered: InterruptStatus says why. */
static void mmio_interrupt(struct virtio_transport *t, struct virtq *vq)
{
	t->isr |= vq ? VIRTIO_INT_USED : VIRTIO_INT_CONFIG;
	irq_line_pulse(&to_mmio(t)->irq);
}

static void queue_reg_write(struct virtio_transport *t, uint64_t off,
			    uint32_t val)
{
	static const enum virtio_queue_field fields[] = {
		[VIRTIO_MMIO_QUEUE_DESC_LOW / 4] = VIRTIO_QUEUE_DESC_LOW,
		[VIRTIO_MMIO_QUEUE_DESC_HIGH / 4] = VIRTIO_QUEUE_DESC_HIGH,
		[VIRTIO_MMIO_QUEUE_DRIVER_LOW / 4] = VIRTIO_QUEUE_DRIVER_LOW,
		[VIRTIO_MMIO_QUEUE_DRIVER_HIGH / 4] = VIRTIO_QUEUE_DRIVER_HIGH,
		[VIRTIO_MMIO_QUEUE_DEVICE_LOW / 4] = VIRTIO_QUEUE_DEVICE_LOW,
		[VIRTIO_MMIO_QUEUE_DEVICE_HIGH / 4] = VIRTIO_QUEUE_DEVICE_HIGH,
	};

	if (off == VIRTIO_MMIO_QUEUE_NUM)
		virtio_transport_queue_write(t, VIRTIO_QUEUE_SIZE, val);
	else
		virtio_transport_queue_write(t, fields[off / 4], val);
}

static void reg_write(struct virtio_transport *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_transport_driver_features(t, t->driver_features_sel, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_transport_queue_ready(t, val != 0);
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		queue_reg_write(t, off, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_transport_kick(t, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_transport_set_status(t, val);
		break;
	default:
		log_guest_once("%s: write to read-only or unknown register %#llx",
			       t->name, (unsigned long long)off);
	}
}

static uint32_t reg_read(struct virtio_transport *t, uint64_t off)
{
	struct virtq *vq = virtio_transport_queue(t);

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
		return virtio_transport_device_features(t,
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
	struct virtio_transport *t = bd->opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG)
		virtio_transport_config_read(t, off - VIRTIO_MMIO_CONFIG, data,
					     len);
	else if (len == 4 && off % 4 == 0)
		put_le32(data, reg_read(t, off));
	else
		log_guest_once("%s: %u-byte read of register %#llx",
			       t->name, len, (unsigned long long)off);
	pthread_mutex_unlock(&t->lock);
}

static void mmio_write(struct bus_device *bd, uint64_t off, const void *data,
		       uint32_t len)
{
	struct virtio_transport *t = bd->opaque;

	pthread_mutex_lock(&t->lock);
	if (t->resetting)
		log_guest_once("%s: register %#llx written before the reset completed (the status still reads non-zero); ignored",
			       t->name, (unsigned long long)off);
	else if (off >= VIRTIO_MMIO_CONFIG)
		virtio_transport_config_write(t, off - VIRTIO_MMIO_CONFIG, data,
					      len);
	else if (len == 4 && off % 4 == 0)
		reg_write(t, off, get_le32(data));
	else
		log_guest_once("%s: %u-byte write of register %#llx",
			       t->name, len, (unsigned long long)off);
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_device_ops mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

/* Takes the window and the interrupt away; tolerates a partial setup. */
static void mmio_unplug(struct virtio_transport *t)
{
	struct virtio_mmio *m = to_mmio(t);

	if (m->bus.ops)
		bus_unregister(t->host->mmio, &m->bus);
	m->bus.ops = NULL;
	if (m->irq_set_up)
		t->host->irq_line_free(t->host, &m->irq);
	m->irq_set_up = false;
}

static void mmio_free(struct virtio_transport *t)
{
	free(to_mmio(t));
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.interrupt = mmio_interrupt,
	.unplug = mmio_unplug,
	.free = mmio_free,
};

int virtio_mmio_create(struct device_host *host, uint64_t base, uint32_t gsi,
		       struct virtio_device *vdev, struct device **out,
		       struct err *e)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));
	char name[64];

	if (!m)
		return err_set(e, "%s: out of memory", vdev->name);
	snprintf(name, sizeof(name), "%s@%#llx", vdev->name,
		 (unsigned long long)base);
	if (virtio_transport_init(&m->t, host, vdev, name, &mmio_transport_ops,
				  e) < 0) {
		free(m);
		return -1;
	}
	m->bus = (struct bus_device){
		.name = m->t.name, .base = base, .len = VIRTIO_MMIO_WINDOW,
		.opaque = &m->t,
	};
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtio_transport_bind_notify(&m->t, i,
					     base + VIRTIO_MMIO_QUEUE_NOTIFY, 4);
	if (host->irq_line(host, gsi, &m->irq, e) < 0) {
		err_prefix(e, "%s", m->t.name);
		goto fail;
	}
	m->irq_set_up = true;
	m->bus.ops = &mmio_ops;
	if (bus_register(host->mmio, &m->bus, e) < 0) {
		m->bus.ops = NULL;
		goto fail;
	}
	m->t.dev.transport = "virtio-mmio";
	snprintf(m->t.dev.address, sizeof(m->t.dev.address), "%#llx",
		 (unsigned long long)base);
	*out = &m->t.dev;
	return 0;
fail:
	mmio_unplug(&m->t);
	virtio_transport_teardown(&m->t);
	pthread_mutex_destroy(&m->t.lock);
	vdev->transport = NULL;
	free(m);
	return -1;
}
