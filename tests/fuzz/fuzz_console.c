// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-console with its host end on a Unix socket:
 * what the guest transmits, receive buffers of every shape, emergency
 * writes, and host clients that attach, type, read and leave.
 *
 * HOST op: u8 action, u8 client; 0 attach, 1 type (u16 length, bytes),
 * 2 read what came, 3 leave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/virtio/console.h"
#include "fuzz_host.h"

static char dir[64], path[96];
static struct fuzz_clients clients;

static void console_init(struct fuzz_virtio *f)
{
	(void)f;
	fuzz_socket_dir(dir, sizeof(dir), "console");
	snprintf(path, sizeof(path), "%s/con.sock", dir);
	fuzz_clients_init(&clients);
}

static int console_create(struct fuzz_virtio *f, struct device **dev,
			  struct err *e)
{
	struct chardev_config cfg = { .kind = CHARDEV_SOCKET, .path = path };

	return virtio_console_create(&f->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				     dev, e);
}

static void console_host(struct fuzz_virtio *f, struct fuzz_input *in)
{
	uint8_t action = fuzz_u8(in);
	unsigned int i = fuzz_u8(in);

	switch (action % 4) {
	case 0:
		fuzz_client_connect(&clients, i, path);
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
	}
	fuzz_virtio_drain(f);
}

static void console_cleanup(struct fuzz_virtio *f)
{
	(void)f;
	fuzz_clients_close(&clients);
}

static const struct fuzz_device console = {
	.name = "virtio-console",
	.nr_queues = 2,
	.init = console_init,
	.create = console_create,
	.host = console_host,
	.cleanup = console_cleanup,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_virtio_run(&console, data, size);
}
