/* SPDX-License-Identifier: MIT */
#ifndef VMM_FD_BUDGET_H
#define VMM_FD_BUDGET_H

#include <stdint.h>

/*
 * The process's file descriptors. Every guest vsock stream and every
 * control-socket client holds one, and the VM itself needs a few hundred
 * (vCPUs, eventfds, disks, TAPs). The soft RLIMIT_NOFILE, often 1024, is
 * raised to the hard limit at start, and the caps on connections come
 * from the limit in force, so that descriptors run out for a refused
 * connection rather than for the VM. Accept loops that still meet EMFILE
 * pause and retry (lib/listener.h).
 */

/* Descriptors kept for the VM itself: never handed to connections. */
#define FD_RESERVE 512
/* Below this many descriptors the caps are the bare minimum. */
#define FD_MIN_CONNS 16

/* Shares of the descriptors past the reserve; each user caps its own. */
struct fd_budget {
	uint64_t limit;            /* the soft RLIMIT_NOFILE in force */
	unsigned int guest_conns;  /* host ends of guest connections */
	unsigned int clients;      /* control-socket clients */
};

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit. Returns the limit in
 * force afterwards.
 */
uint64_t fd_limit_raise(void);

/* The shares of @limit: three quarters to guest connections, a quarter to clients. */
void fd_budget_for(uint64_t limit, struct fd_budget *b);
/* The same for the limit in force. */
void fd_budget_get(struct fd_budget *b);

#endif
