/* SPDX-License-Identifier: MIT */
#ifndef VMM_CONFINE_H
#define VMM_CONFINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/util.h"

/*
 * Giving up what the set-up needed: once /dev/kvm, TAPs, disks and
 * sockets are open, the process may move into a directory (chroot) and
 * drop to an unprivileged user. Both need root (CAP_SYS_CHROOT,
 * CAP_SETUID, CAP_SETGID), and both come before the seccomp filters,
 * which forbid them.
 */
struct confine_opts {
	bool drop;     /* --user given */
	uid_t uid;
	gid_t gid;
	char *chroot;  /* --chroot DIR, or NULL */
};

/* "UID[:GID]", numbers or names; without GID, the user's primary group. */
int confine_parse_user(const char *arg, struct confine_opts *o,
		       struct err *e);

/* Enters @o->chroot (if set), then drops to the user (if set). */
int confine_process(const struct confine_opts *o, struct err *e);

void confine_opts_free(struct confine_opts *o);

#endif
