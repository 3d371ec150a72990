/* SPDX-License-Identifier: MIT */
#ifndef TESTS_UNIT_ECHO_DEVICE_H
#define TESTS_UNIT_ECHO_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "virtio_driver.h"

/*
 * A small virtio device for transport tests: two queues whose chains come
 * back with what the driver gave them copied into what it lets the device
 * write, an 8-byte configuration space the driver may write, and counters
 * of what the transport asked of it.
 */
#define ECHO_ID 0x7f
#define ECHO_F_TEST 3
#define ECHO_QSIZE 16
#define ECHO_CONFIG "\x11\x22\x33\x44\x55\x66\x77\x88"

struct echo {
	struct virtio_device vdev;
	uint8_t config[8];
	int activations;
	int resets;
	int config_writes;
	bool reset_later; /* the next reset completes when the test says */
};

void echo_init(struct echo *echo);
/*
 * Sends @len bytes of @msg through queue @qi of the echo device behind @d
 * (in an indirect table when @indirect) and waits up to @ms for them to
 * come back into the 64 bytes at @reply. Returns the reply's length, or
 * -1 when the chain could not be added or no reply of its own came.
 */
int echo_send(struct vdrv *d, unsigned int qi, const void *msg, size_t len,
	      bool indirect, void *reply, int ms);

#endif
