/* SPDX-License-Identifier: MIT */
#ifndef TESTS_AGENT_HELPERS_H
#define TESTS_AGENT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/bridge_host.h"
#include "client/exec_client.h"

/* A guest agent started for one test, listening on Unix sockets in @dir. */
struct test_agent {
	pid_t pid;
	char dir[64];
	char exec_sock[108];
	char ready_sock[108];
	char bridge_sock[108];
	bool bridge;
};

/* Starts $AGENT (default build/asan/guest-agent) with the exec service and,
 * with @bridge, a bridge endpoint the test listens on (@host). */
void agent_start(struct test_agent *t, bool bridge, struct bridge_host *host);
/* Terminates it and returns its wait status. */
int agent_stop(struct test_agent *t);
/*
 * Terminates it and fails the test unless it exited with status 0: a
 * sanitizer report (leak, overflow) makes the agent exit non-zero.
 */
void agent_stop_expect_clean(struct test_agent *t);
/* Waits up to @ms for the agent to exit by itself; its wait status or -1. */
int agent_wait_exit(struct test_agent *t, int ms);

int agent_connect(const struct test_agent *t);
/* Runs @command_line with Exec; returns the exit code, stdout in @out. */
int agent_exec_sh(const struct test_agent *t, const char *command_line,
		  char *out, size_t out_len);
/* Asserts the agent still serves: runs "echo alive". */
void assert_agent_alive(const struct test_agent *t);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
uint16_t free_tcp_port(void);

/* VmHWM and VmRSS of a process, in KiB. */
long proc_status_kib(pid_t pid, const char *field);

/* Sends raw bytes on a fresh connection, then reads until the agent closes.
 * Returns the frames' bytes in @buf (up to @len) and their length. */
size_t raw_exchange(const struct test_agent *t, const void *data, size_t n,
		    bool shut_write, uint8_t *buf, size_t len);
/* Finds the first frame of @type in a byte stream; its payload or NULL. */
const uint8_t *find_frame(const uint8_t *buf, size_t len, uint8_t type,
			  uint32_t *plen);

#endif
