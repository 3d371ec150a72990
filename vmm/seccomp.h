/* SPDX-License-Identifier: MIT */
#ifndef VMM_SECCOMP_H
#define VMM_SECCOMP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * Seccomp filters, one per kind of thread, each an allow-list of the
 * system calls (and for some, the arguments) that thread makes once the
 * VM is set up. A thread installs its own filter after its set-up, with
 * PR_SET_NO_NEW_PRIVS; threads it starts later inherit it.
 *
 * In kill mode a forbidden call raises SIGSYS: the handler logs the
 * thread and the call by name and ends the process with status 159
 * (128 + SIGSYS). In log mode the call goes through and the kernel logs
 * it (the audit log, or dmesg). The tables are in seccomp_rules.c; see
 * docs/security.md for what each thread may call and how to add a call.
 */

enum seccomp_mode {
	SECCOMP_MODE_OFF,
	SECCOMP_MODE_LOG,
	SECCOMP_MODE_KILL,
};

enum seccomp_thread {
	SECCOMP_THREAD_VCPU,
	/* The event loop (main thread) of a VM built from the command line. */
	SECCOMP_THREAD_LOOP,
	/*
	 * The event loop with a control socket: CreateVM may build a VM
	 * later, so it may also open files, create VMs and start vCPU
	 * threads (which inherit this filter under their own).
	 */
	SECCOMP_THREAD_LOOP_API,
	SECCOMP_NR_THREADS,
};

/* Exit status of a process stopped by a forbidden call: 128 + SIGSYS. */
#define SECCOMP_EXIT_STATUS 159

/* A compiled filter, ready to install. */
struct seccomp_prog {
	void *insns; /* struct sock_filter[] */
	unsigned short len;
};

struct seccomp_filters {
	enum seccomp_mode mode;
	struct seccomp_prog prog[SECCOMP_NR_THREADS];
};

/* "off", "log" or "kill". */
int seccomp_mode_parse(const char *s, enum seccomp_mode *mode, struct err *e);
const char *seccomp_mode_name(enum seccomp_mode mode);

/*
 * Compiles the filter of every kind of thread for @mode (none when off)
 * and installs the SIGSYS handler. Call before any thread is confined.
 */
int seccomp_filters_build(struct seccomp_filters *f, enum seccomp_mode mode,
			  struct err *e);
void seccomp_filters_free(struct seccomp_filters *f);

/* Confines the calling thread with the filter for @t; no-op when off. */
int seccomp_filters_apply(const struct seccomp_filters *f,
			  enum seccomp_thread t, struct err *e);

/* The name of system call @nr on this architecture, or "unknown". */
const char *seccomp_syscall_name(long nr);

#endif
