/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_FUZZ_HOST_H
#define TESTS_FUZZ_FUZZ_HOST_H

/*
 * The host programs at the other end of a device's Unix sockets, for the
 * fuzz targets' HOST op: non-blocking clients that connect, write what the
 * input says, read and drop what comes back, and close.
 */

#include <stddef.h>

#include "fuzz_virtio.h"

#define FUZZ_MAX_CLIENTS 8

struct fuzz_clients {
	int fd[FUZZ_MAX_CLIENTS];
};

void fuzz_clients_init(struct fuzz_clients *c);
/* A non-blocking connection to @path in slot @i (closing what was there). */
int fuzz_client_connect(struct fuzz_clients *c, unsigned int i,
			const char *path);
/* Up to 512 bytes of the input, written to slot @i without blocking. */
void fuzz_client_write(struct fuzz_clients *c, unsigned int i,
		       struct fuzz_input *in);
/* Reads and drops what slot @i has waiting. */
void fuzz_client_drain(struct fuzz_clients *c, unsigned int i);
void fuzz_client_close(struct fuzz_clients *c, unsigned int i);
void fuzz_clients_close(struct fuzz_clients *c);

/* A private directory for sockets: "/tmp/vmm-fuzz-NAME-PID". */
void fuzz_socket_dir(char *buf, size_t len, const char *name);

#endif
