// SPDX-License-Identifier: MIT
#include "echo_device.h"

#include <string.h>

static void echo_queue_notify(struct virtio_device *vdev, struct virtq *vq)
{
	struct virtq_chain c;
	bool pushed = false;

	while (virtio_pop(vdev, vq, &c) > 0) {
		uint8_t buf[4096];
		size_t n = iov_to_buf(c.iov, c.nr_out, 0, buf,
				      MIN(sizeof(buf), c.in_len));

		iov_from_buf(c.iov + c.nr_out, c.nr_in, 0, buf, n);
		virtq_push(vq, c.head, (uint32_t)n);
		pushed = true;
	}
	if (pushed)
		virtio_notify_used(vdev, vq);
}

static int echo_activate(struct virtio_device *vdev)
{
	((struct echo *)vdev)->activations++;
	return 0;
}

static void echo_reset(struct virtio_device *vdev)
{
	struct echo *echo = (struct echo *)vdev;

	echo->resets++;
	if (echo->reset_later)
		virtio_reset_defer(vdev);
}

static void echo_config_write(struct virtio_device *vdev, uint32_t off,
			      const void *data, uint32_t len)
{
	struct echo *echo = (struct echo *)vdev;

	memcpy(echo->config + off, data, len);
	echo->config_writes++;
}

static const struct virtio_device_ops echo_ops = {
	.config_write = echo_config_write,
	.activate = echo_activate,
	.queue_notify = echo_queue_notify,
	.reset = echo_reset,
};

void echo_init(struct echo *echo)
{
	memset(echo, 0, sizeof(*echo));
	echo->vdev = (struct virtio_device){
		.name = "echo",
		.device_id = ECHO_ID,
		.features = VIRTIO_BIT(ECHO_F_TEST),
		.nr_queues = 2,
		.queue_max = { ECHO_QSIZE, ECHO_QSIZE },
		.config = echo->config,
		.config_len = sizeof(echo->config),
		.ops = &echo_ops,
	};
	memcpy(echo->config, ECHO_CONFIG, sizeof(echo->config));
}

int echo_send(struct vdrv *d, unsigned int qi, const void *msg, size_t len,
	      bool indirect, void *reply, int ms)
{
	uint64_t out = vdrv_alloc(d, len, 8), in = vdrv_alloc(d, 64, 8);
	struct vdrv_buf bufs[] = { { out, (uint32_t)len, false },
				   { in, 64, true } };
	uint32_t id, got;
	int head;

	memcpy(vdrv_ptr(d, out, len), msg, len);
	head = vdrv_add(d, qi, bufs, 2, indirect);
	if (head < 0)
		return -1;
	vdrv_kick(d, qi);
	if (!vdrv_wait_used(d, qi, &id, &got, ms) || id != (uint32_t)head)
		return -1;
	memcpy(reply, vdrv_ptr(d, in, 64), 64);
	return (int)got;
}
