/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_CHARDEV_H
#define DEVICES_CHARDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"
#include "lib/event.h"
#include "lib/listener.h"
#include "lib/ring.h"
#include "vmm/metrics.h"

/*
 * The host end of a character device (UART, virtio-console): stdio, a file,
 * or a Unix socket that any number of clients attach to. Devices write from
 * vCPU threads into a bounded buffer; the event loop moves bytes to the host.
 * Input flows only while the device has room, so a guest that never reads
 * stops the host reader instead of growing a buffer.
 */

#define CHARDEV_OUT_BUF (64 * 1024)
/* This much recent output is replayed to a newly attached client. */
#define CHARDEV_HISTORY (64 * 1024)
#define CHARDEV_MAX_CLIENTS 16

struct chardev;

/* What runs when the user types the stdio escape, Ctrl-A x. */
struct chardev_quit {
	void (*fn)(void *opaque);
	void *opaque;
};

/* How the chardev reaches the device that owns it; called on the loop thread. */
struct chardev_sink {
	size_t (*rx_space)(void *opaque);
	void (*rx)(void *opaque, const uint8_t *buf, size_t len);
	/* Optional: the output buffer, found full, has room again. */
	void (*tx_ready)(void *opaque);
	void *opaque;
	struct chardev_quit quit;
};

struct chardev_client {
	struct chardev *chr;
	int fd;
	struct event_source src;
	struct ring pending;
	bool parked; /* hung up with input left; out of the loop, see below */
	bool output_gone; /* reads no more output; its input still counts */
	struct chardev_client *next;
};

/* What GetMetrics and --metrics report of a port (docs/metrics.md). */
struct chardev_counters {
	uint64_t out_bytes;     /* guest output taken */
	uint64_t dropped_bytes; /* guest output lost: the buffer was full */
};

struct chardev {
	const char *name;
	struct event_loop *loop;
	enum chardev_kind kind;
	char *path;
	int out_fd;
	int in_fd;
	int listen_fd;
	int wake_fd;
	bool out_pollable;
	bool in_active;
	bool in_parked;
	bool out_waiting;
	bool out_failed;
	bool out_full; /* a writer found no room; tx_ready() when there is */
	bool wake_pending;
	bool escape;
	bool tty;
	struct event_source wake_src;
	struct event_source in_src;
	struct event_source out_src;
	struct listener listener;
	pthread_mutex_t lock;
	struct ring out;
	struct ring history;
	struct chardev_client *clients;
	unsigned int nr_clients;
	struct chardev_sink sink;
	struct chardev_counters counters;
	/* "serial", id: the name in lower case ("com1", "virtio-console"). */
	struct metrics_group metrics;
};

/* Opens the back end; @name ("COM1") prefixes every message. */
int chardev_open(struct chardev *chr, const char *name,
		 const struct chardev_config *cfg, struct event_loop *loop,
		 const struct chardev_sink *sink, struct err *e);
/* Flushes pending output (blocking, bounded by the buffer) and closes. */
void chardev_close(struct chardev *chr);

/*
 * Adds @fd, a connected stream socket, as one more client of any back end
 * (loop thread): it first receives the last CHARDEV_HISTORY bytes of
 * output, then everything the device writes, and what it sends reaches the
 * device as input. On success the chardev owns @fd; a client that stops
 * reading while its pending output fills is dropped.
 */
int chardev_attach(struct chardev *chr, int fd, struct err *e);

/* Queues output; any thread. Returns the bytes accepted. */
size_t chardev_write(struct chardev *chr, const void *buf, size_t len);
size_t chardev_write_space(struct chardev *chr);
/* The device has room for input again; any thread. */
void chardev_rx_ready(struct chardev *chr);

#endif
