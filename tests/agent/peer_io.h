/* SPDX-License-Identifier: MIT */
#ifndef TESTS_AGENT_PEER_IO_H
#define TESTS_AGENT_PEER_IO_H

#include <stddef.h>

#include "lib/util.h"

/* How long a re-enacted peer waits for the agent before it fails. */
#define PEER_TIMEOUT_MS 60000

/*
 * Reads exactly @n bytes (Go's io.ReadFull), failing after PEER_TIMEOUT_MS
 * of silence; @e says "EOF" when the stream ended first.
 */
int peer_read_full(int fd, void *buf, size_t n, struct err *e);
/* Writes all @n bytes, as Go's conn.Write does. */
int peer_write_full(int fd, const void *buf, size_t n, struct err *e);

#endif
