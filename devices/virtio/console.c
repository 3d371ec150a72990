// SPDX-License-Identifier: MIT
/*
 * virtio-console with a single port, relayed through a chardev. Output is
 * handed to the chardev's bounded buffer as soon as the guest queues it:
 * Linux waits for every console buffer to come back, so output is never
 * held hostage to a slow host reader (what does not fit is dropped and
 * counted). Input is read from the host only while the guest has receive
 * buffers posted.
 */
#include "console.h"

#include <stdlib.h>
#include <string.h>

#include "devices/chardev.h"
#include "virtio.h"

/* Chains handled per event before other event sources get their turn. */
#define CONSOLE_BUDGET 256

struct virtio_console {
	struct virtio_device vdev;
	uint8_t config[VIRTIO_CONSOLE_CFG_SIZE];
	struct chardev chr;
	uint64_t dropped;
};

static struct virtio_console *to_console(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_console, vdev);
}

static void console_emit(struct virtio_console *con, const void *buf,
			 size_t len)
{
	size_t n = chardev_write(&con->chr, buf, len);

	if (n < len) {
		con->dropped += len - n;
		log_guest_once("virtio-console: host side is not reading; output dropped");
	}
}

/* The next receive chain the device can write into; bad ones are failed. */
static int console_rx_next(struct virtio_console *con, struct virtq *vq,
			   struct virtq_chain *c)
{
	unsigned int budget = vq->size;
	int ret;

	while ((ret = virtio_pop(&con->vdev, vq, c)) > 0) {
		if (!c->nr_out && c->in_len)
			return 1;
		log_guest_once("virtio-console: receive chain %u is not device-writable",
			       c->head);
		virtq_push(vq, c->head, 0);
		virtio_notify_used(&con->vdev, vq);
		if (--budget == 0)
			return 0;
	}
	return ret;
}

/* chardev: how much input fits the next receive buffer. */
static size_t console_rx_space(void *opaque)
{
	struct virtio_console *con = opaque;
	struct virtq *vq = &con->vdev.vqs[VIRTIO_CONSOLE_RXQ];
	struct virtq_chain c;
	size_t room = 0;

	virtio_lock(&con->vdev);
	if (virtio_active(&con->vdev) && vq->ready &&
	    console_rx_next(con, vq, &c) > 0) {
		room = (size_t)c.in_len;
		virtq_unpop(vq, 1);
	}
	virtio_unlock(&con->vdev);
	return room;
}

/* chardev: host input, at most what console_rx_space() offered. */
static void console_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *con = opaque;
	struct virtq *vq = &con->vdev.vqs[VIRTIO_CONSOLE_RXQ];
	bool pushed = false;
	struct virtq_chain c;

	virtio_lock(&con->vdev);
	while (len && virtio_active(&con->vdev) && vq->ready &&
	       console_rx_next(con, vq, &c) > 0) {
		size_t n = MIN(len, c.in_len);

		iov_from_buf(c.iov + c.nr_out, c.nr_in, 0, buf, n);
		virtq_push(vq, c.head, (uint32_t)n);
		pushed = true;
		buf += n;
		len -= n;
	}
	if (len) {
		con->dropped += len;
		log_guest_once("virtio-console: input dropped, guest stopped receiving");
	}
	if (pushed)
		virtio_notify_used(&con->vdev, vq);
	virtio_unlock(&con->vdev);
}

static void console_tx(struct virtio_console *con, struct virtq *vq)
{
	bool pushed = false;
	struct virtq_chain c;
	unsigned int budget;

	for (budget = CONSOLE_BUDGET; budget; budget--) {
		if (virtio_pop(&con->vdev, vq, &c) <= 0)
			break;
		if (c.nr_in)
			log_guest_once("virtio-console: transmit chain %u has device-writable buffers",
				       c.head);
		else
			for (unsigned int i = 0; i < c.nr_out; i++)
				console_emit(con, c.iov[i].iov_base,
					     c.iov[i].iov_len);
		virtq_push(vq, c.head, 0);
		pushed = true;
	}
	if (!budget)
		virtio_queue_kick(&con->vdev, vq);
	if (pushed)
		virtio_notify_used(&con->vdev, vq);
}

static void console_queue_notify(struct virtio_device *vdev, struct virtq *vq)
{
	struct virtio_console *con = to_console(vdev);

	if (vq->index == VIRTIO_CONSOLE_TXQ)
		console_tx(con, vq);
	else
		chardev_rx_ready(&con->chr);
}

/* Emergency write: one character, usable before the queues are set up. */
static void console_config_write(struct virtio_device *vdev, uint32_t off,
				 const void *data, uint32_t len)
{
	(void)len;
	if (off == VIRTIO_CONSOLE_CFG_EMERG_WR)
		console_emit(to_console(vdev), data, 1);
}

static int console_activate(struct virtio_device *vdev)
{
	chardev_rx_ready(&to_console(vdev)->chr);
	return 0;
}

static void console_reset(struct virtio_device *vdev)
{
	chardev_rx_ready(&to_console(vdev)->chr);
}

static void console_destroy(struct virtio_device *vdev)
{
	struct virtio_console *con = to_console(vdev);

	chardev_close(&con->chr);
	free(con);
}

static const struct virtio_device_ops console_ops = {
	.config_write = console_config_write,
	.activate = console_activate,
	.queue_notify = console_queue_notify,
	.reset = console_reset,
	.destroy = console_destroy,
};

int virtio_console_create(struct device_host *host,
			  const struct virtio_attach *at, const struct chardev_config *cfg,
			  struct device **out, struct err *e)
{
	struct virtio_console *con = calloc(1, sizeof(*con));
	struct chardev_sink sink = {
		.rx_space = console_rx_space,
		.rx = console_rx,
		.opaque = con,
	};
	struct device *dev;

	if (!con)
		return err_set(e, "virtio-console: out of memory");
	con->vdev = (struct virtio_device){
		.name = "virtio-console",
		.device_id = VIRTIO_ID_CONSOLE,
		.features = VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE),
		.nr_queues = 2,
		.queue_max = { VIRTIO_CONSOLE_QUEUE_SIZE,
			       VIRTIO_CONSOLE_QUEUE_SIZE },
		.config = con->config,
		.config_len = sizeof(con->config),
		.ops = &console_ops,
		.host = host,
	};
	if (virtio_attach(host, at, &con->vdev, &dev, e) < 0) {
		free(con);
		return -1;
	}
	/* The chardev asks the device for room at once: transport first. */
	if (chardev_open(&con->chr, "virtio-console", cfg, host->loop, &sink,
			 e) < 0) {
		dev->ops->destroy(dev);
		return -1;
	}
	dev->metrics = &con->chr.metrics;
	*out = dev;
	return 0;
}
