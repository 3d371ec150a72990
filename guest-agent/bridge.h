/* SPDX-License-Identifier: MIT */
#ifndef AGENT_BRIDGE_H
#define AGENT_BRIDGE_H

#include "lib/util.h"

struct agent;
struct bridge;

#define BRIDGE_RETRY_MS 200		/* between attempts to reach the host */
#define BRIDGE_MAX_WAITS 1024		/* pending WaitForProcess requests */
#define BRIDGE_MAX_EXITED 256		/* exited processes kept for a wait */
#define BRIDGE_MAX_PROCS 1024		/* live processes */

/* Starts dialing the host's bridge endpoint (when enabled); retries forever. */
int bridge_start(struct agent *a, struct bridge **out, struct err *e);
void bridge_stop(struct bridge *b);
/* Signals the process group of every live bridge process. */
void bridge_signal_all(struct bridge *b, int sig);
/* Writes queued messages, waiting at most @timeout_ms (used before exit). */
void bridge_flush(struct bridge *b, unsigned timeout_ms);

#endif
