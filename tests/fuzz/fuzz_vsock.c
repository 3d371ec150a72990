// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-vsock's packets and connection states. The
 * guest's packets are whatever the driver program puts on the transmit
 * queue, its receive buffers any shape; the host side connects through
 * the Unix socket, listens at PATH_PORT for the guest, writes, reads,
 * closes, and calls the control API. The device's counters must stay
 * within its limits.
 *
 * HOST op: u8 action, u8 slot; 0 connect and send "CONNECT <u16>\n",
 * 1 write (u16 length, bytes), 2 read, 3 close, 4 listen at PATH_<port>
 * and take the guest's connections, 5 transport reset, 6 the control
 * API's connect to a u16 port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/vsock/vsock.h"
#include "fuzz_host.h"

#define CID 3
#define NR_PORTS 4
#define PORT_BASE 1000

static char dir[64], uds[96];
static struct fuzz_clients clients;
static int listeners[NR_PORTS];
static struct vsock_control *control;

static void vsock_init(struct fuzz_virtio *f)
{
	(void)f;
	fuzz_socket_dir(dir, sizeof(dir), "vsock");
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	fuzz_clients_init(&clients);
	for (unsigned int i = 0; i < NR_PORTS; i++)
		listeners[i] = -1;
}

static int vsock_create(struct fuzz_virtio *f, struct device **dev,
			struct err *e)
{
	struct vsock_config cfg = { .enabled = true, .cid = CID };

	memcpy(cfg.uds_path, uds, strlen(uds) + 1);
	return virtio_vsock_create(&f->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				   dev, &control, e);
}

/* Where the guest's connections to host port PORT_BASE + @i go. */
static void listen_port(unsigned int i)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	i %= NR_PORTS;
	if (listeners[i] >= 0)
		return;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", uds, PORT_BASE + i);
	unlink(a.sun_path);
	listeners[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					       SOCK_CLOEXEC, 0);
	if (listeners[i] < 0 ||
	    bind(listeners[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(listeners[i], 16) < 0)
		abort();
}

/* The guest's connections that came in, into client slots. */
static void take_guest_connections(void)
{
	for (unsigned int i = 0; i < NR_PORTS; i++) {
		int fd;

		while (listeners[i] >= 0 &&
		       (fd = accept4(listeners[i], NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			fuzz_client_close(&clients, FUZZ_MAX_CLIENTS - 1 - i);
			clients.fd[FUZZ_MAX_CLIENTS - 1 - i] = fd;
		}
	}
}

static void api_done(void *ctx, int fd, const struct err *e)
{
	(void)ctx, (void)e;
	if (fd >= 0)
		close(fd);
}

static void check_limits(void)
{
	struct vsock_counters c;

	virtio_vsock_counters(control, &c);
	if (c.conns > VSOCK_MAX_CONNS || c.buffered > c.buffer_capacity ||
	    c.buffer_capacity > (uint64_t)c.conns * VSOCK_BUF_ALLOC) {
		fprintf(stderr, "fuzz: virtio-vsock: %u connections buffer %llu of %llu bytes\n",
			c.conns, (unsigned long long)c.buffered,
			(unsigned long long)c.buffer_capacity);
		abort();
	}
}

static void vsock_host(struct fuzz_virtio *f, struct fuzz_input *in)
{
	uint8_t action = fuzz_u8(in);
	unsigned int i = fuzz_u8(in);
	char line[32];
	struct err e;
	int n;

	switch (action % 7) {
	case 0:
		n = snprintf(line, sizeof(line), "CONNECT %u\n", fuzz_u16(in));
		if (fuzz_client_connect(&clients, i, uds) == 0)
			send(clients.fd[i % FUZZ_MAX_CLIENTS], line, (size_t)n,
			     MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 1:
		fuzz_client_write(&clients, i, in);
		break;
	case 2:
		fuzz_client_drain(&clients, i);
		break;
	case 3:
		fuzz_client_close(&clients, i);
		break;
	case 4:
		listen_port(i);
		break;
	case 5:
		virtio_vsock_transport_reset(control, &e);
		break;
	case 6:
		control->connect(control->opaque, fuzz_u16(in), api_done, NULL,
				 &e);
		break;
	}
	fuzz_virtio_drain(f);
	take_guest_connections();
	check_limits();
}

static void vsock_cleanup(struct fuzz_virtio *f)
{
	(void)f;
	fuzz_clients_close(&clients);
	for (unsigned int i = 0; i < NR_PORTS; i++) {
		if (listeners[i] >= 0)
			close(listeners[i]);
		listeners[i] = -1;
	}
}

static const struct fuzz_device vsock = {
	.name = "virtio-vsock",
	.nr_queues = 3,
	.init = vsock_init,
	.create = vsock_create,
	.host = vsock_host,
	.cleanup = vsock_cleanup,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_virtio_run(&vsock, data, size);
}
