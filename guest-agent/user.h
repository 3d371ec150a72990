/* SPDX-License-Identifier: MIT */
#ifndef AGENT_USER_H
#define AGENT_USER_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/util.h"

#define USER_MAX_GROUPS 64

/*
 * The identity a process runs as. The agent is static and has no NSS, so it
 * reads the passwd and group files itself.
 */
struct user_ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[USER_MAX_GROUPS];
	int ngroups;
	bool known;		/* found in the passwd file */
	char name[64];
	char home[256];
};

/*
 * Resolves "uid", "uid:gid", "name" or "name:group" (either half numeric or
 * a name). A numeric uid missing from @passwd runs with gid 0 unless given.
 */
int user_resolve(const char *spec, const char *passwd, const char *group,
		 struct user_ids *u, struct err *e);

#endif
