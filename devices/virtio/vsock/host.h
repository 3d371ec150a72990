/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VSOCK_HOST_H
#define DEVICES_VIRTIO_VSOCK_HOST_H

/*
 * The host's ends of vsock streams, as Firecracker lays them out:
 *   - a host program connects to the Unix socket PATH and writes
 *     "CONNECT <port>\n"; once the guest accepts, it reads
 *     "OK <host-port>\n" and the stream is open;
 *   - a guest connection to host port P is relayed to the Unix socket
 *     listening at the path registered for P (--vsock-listen, the control
 *     API), else at "PATH_P".
 * This side knows Unix sockets and nothing of the device: it hands each
 * accepted client to its owner. Event loop thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include "lib/event.h"
#include "lib/listener.h"
#include "vmm/config.h"

#include "vsock.h"

struct vsock_listener {
	uint32_t port;
	char path[CONFIG_VSOCK_PATH_MAX];
};

struct vsock_host {
	char uds_path[CONFIG_VSOCK_PATH_MAX];
	struct vsock_listener listeners[VSOCK_MAX_LISTENERS];
	unsigned int nr_listeners;

	int listen_fd;
	/* Hands each client (non-blocking) to the owner's accept function. */
	struct listener listener;
	bool bad_connect_logged;
	bool dial_failing; /* socket() failed for a guest connection */
};

/*
 * Listens on @cfg's Unix socket with @cfg's listeners registered; accepted
 * clients go to @accept.
 */
int vsock_host_open(struct vsock_host *h, const struct vsock_config *cfg,
		    struct event_loop *loop, void (*accept)(void *owner, int fd),
		    void *owner, struct err *e);
/* Stops listening and removes the socket; tolerates a partial open. */
void vsock_host_close(struct vsock_host *h);

/* Guest connections to host @port go to the Unix socket at @path. */
int vsock_host_add_listener(struct vsock_host *h, uint32_t port,
			    const char *path, struct err *e);
int vsock_host_remove_listener(struct vsock_host *h, uint32_t port,
			       struct err *e);

/*
 * A connected, non-blocking stream to where a guest connection to host
 * @port goes. -1: nothing listens there (refused); -2: the host failed.
 */
int vsock_host_dial(struct vsock_host *h, uint32_t port);

/*
 * Reads a client's "CONNECT <port>\n" from @fd without taking a byte past
 * its newline (what follows is already data for the guest). 1: *@port is
 * set; 0: the line is not complete yet; -1: the client went away; -2: it
 * is not a CONNECT line (logged once).
 */
int vsock_host_read_connect(struct vsock_host *h, int fd, uint32_t *port);

/* Tells a client its stream is open: "OK <host_port>\n". */
int vsock_host_send_ok(int fd, uint32_t host_port);

#endif
