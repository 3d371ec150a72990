/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_VIRTIO_VSOCK_H
#define IMAGES_TESTGUEST_VIRTIO_VSOCK_H

#include <stdint.h>

#include "check.h"

/*
 * virtio_vsock check (testguest.virtio=vsock; testguest.vsock_cid=N makes
 * it compare the device's CID). The guest, with a receive window of
 * TG_VSOCK_BUF_ALLOC bytes:
 *   1. prints TG_VSOCK_READY and accepts one connection to port
 *      TG_VSOCK_LISTEN_PORT from the host;
 *   2. reads TG_VSOCK_HOST_BYTES bytes of tg_vsock_pattern(i, 1) (more
 *      than one window: the device must wait for its credit updates, which
 *      the guest checks) up to the host's half-close (SHUTDOWN, SEND);
 *   3. then sends TG_VSOCK_GUEST_BYTES bytes of tg_vsock_pattern(i, 2)
 *      and closes (SHUTDOWN of both directions), expecting the RST;
 *   4. connects to host port TG_VSOCK_HOST_PORT, sends TG_VSOCK_HELLO,
 *      reads TG_VSOCK_REPLY, sees the host close;
 *   5. connects to host port TG_VSOCK_REFUSED_PORT and expects an RST.
 */
#define TG_VSOCK_READY "VSOCK LISTENING"
#define TG_VSOCK_LISTEN_PORT 1234
#define TG_VSOCK_HOST_PORT 5678
#define TG_VSOCK_REFUSED_PORT 5679
#define TG_VSOCK_BUF_ALLOC 4096
#define TG_VSOCK_HOST_BYTES 10000
#define TG_VSOCK_GUEST_BYTES 10000
#define TG_VSOCK_HELLO "hello from the guest\n"
#define TG_VSOCK_REPLY "hello from the host\n"

static inline uint8_t tg_vsock_pattern(uint32_t i, uint32_t seed)
{
	return (uint8_t)(i * 7 + seed * 59 + (i >> 8));
}

void tg_virtio_vsock_test(const char *cmdline, struct check *c);

/*
 * Load (testguest.load=N): opens N connections from guest ports
 * TG_LOAD_GUEST_PORT on to host port TG_LOAD_HOST_PORT, one after the
 * other, and leaves them open.
 */
#define TG_LOAD_HOST_PORT 4000
#define TG_LOAD_GUEST_PORT 10000
bool tg_virtio_vsock_open_many(const char *cmdline, uint32_t n,
			       struct check *c);

#endif
