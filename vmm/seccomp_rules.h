/* SPDX-License-Identifier: MIT */
#ifndef VMM_SECCOMP_RULES_H
#define VMM_SECCOMP_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "seccomp.h"

/*
 * The allow-lists behind vmm/seccomp.c. A thread's filter is the union of
 * its tables; a system call absent from all of them is forbidden.
 */

struct seccomp_rule {
	int nr;        /* SCMP_SYS(name) */
	int arg;       /* the argument checked, or -1 for any arguments */
	uint64_t mask; /* the bits of it compared */
	uint64_t val;  /* their value */
	bool own_pid;  /* the value is this process's id, known at start */
	int err;       /* 0: allowed; else it fails with this errno */
};

struct seccomp_table {
	const char *name;
	const struct seccomp_rule *rules;
	unsigned int len;
};

/* The tables of thread kind @t: *@out, returning how many. */
unsigned int seccomp_rules_for(enum seccomp_thread t,
			       const struct seccomp_table **out);

#endif
