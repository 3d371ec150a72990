/* SPDX-License-Identifier: MIT */
#ifndef AGENT_EXEC_H
#define AGENT_EXEC_H

#include <stdbool.h>

#include "lib/util.h"

struct agent;
struct exec_server;

/* Per-session limits (see docs/guest-agent.md). */
#define EXEC_MAX_SESSIONS 1024
#define EXEC_CAPTURE_MAX (4u * 1024 * 1024)	/* Exec: per stream */
#define EXEC_OUT_HIGH (256u * 1024)		/* queued output per session */
#define EXEC_STDIN_HIGH (256u * 1024)		/* queued input per session */
#define EXEC_KILL_GRACE_MS 5000
#define EXEC_LINGER_MS 2000
#define EXEC_CONNECT_MS 10000			/* PortForward's TCP connect */

/* Starts the exec service (and the ready service) on the configured endpoints. */
int exec_server_start(struct agent *a, struct exec_server **out, struct err *e);
void exec_server_stop(struct exec_server *s);
/* Signals the process group of every running session. */
void exec_server_signal_all(struct exec_server *s, int sig);
unsigned exec_server_running(const struct exec_server *s);

#endif
