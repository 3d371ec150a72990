// SPDX-License-Identifier: MIT
#include "confine.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A whole decimal id, or -1. */
static long parse_id(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > 0x7fffffffL)
		return -1;
	return v;
}

static int parse_group(const char *s, gid_t *gid, struct err *e)
{
	long v = parse_id(s);
	struct group *g;

	if (v >= 0) {
		*gid = (gid_t)v;
		return 0;
	}
	g = getgrnam(s);
	if (!g)
		return err_set(e, "--user: no group '%s'", s);
	*gid = g->gr_gid;
	return 0;
}

int confine_parse_user(const char *arg, struct confine_opts *o,
		       struct err *e)
{
	const char *colon = strchr(arg, ':');
	char user[256];
	struct passwd *pw;
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	long v;

	if (n == 0 || n >= sizeof(user))
		return err_set(e, "--user '%s': expected UID[:GID]", arg);
	memcpy(user, arg, n);
	user[n] = '\0';
	v = parse_id(user);
	pw = v >= 0 ? getpwuid((uid_t)v) : getpwnam(user);
	if (v < 0 && !pw)
		return err_set(e, "--user: no user '%s'", user);
	o->uid = v >= 0 ? (uid_t)v : pw->pw_uid;
	if (colon) {
		if (parse_group(colon + 1, &o->gid, e) < 0)
			return -1;
	} else if (pw) {
		o->gid = pw->pw_gid;
	} else {
		return err_set(e, "--user %s: no such user to take a group from; give UID:GID",
			       user);
	}
	o->drop = true;
	return 0;
}

static int enter_chroot(const char *dir, struct err *e)
{
	if (chdir(dir) < 0)
		return err_errno(e, "--chroot %s", dir);
	if (chroot(".") < 0)
		return err_errno(e, "--chroot %s", dir);
	/* Paths used from now on resolve inside DIR, relative ones too. */
	if (chdir("/") < 0)
		return err_errno(e, "--chroot %s: chdir", dir);
	return 0;
}

static int drop_user(uid_t uid, gid_t gid, struct err *e)
{
	if (setgroups(1, &gid) < 0)
		return err_errno(e, "--user: setgroups (dropping privileges needs root)");
	if (setresgid(gid, gid, gid) < 0)
		return err_errno(e, "--user: setresgid %u", (unsigned int)gid);
	if (setresuid(uid, uid, uid) < 0)
		return err_errno(e, "--user: setresuid %u", (unsigned int)uid);
	/* Make sure there is no way back. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return err_set(e, "--user: the process could become root again");
	return 0;
}

int confine_process(const struct confine_opts *o, struct err *e)
{
	if (o->chroot && enter_chroot(o->chroot, e) < 0)
		return -1;
	if (o->drop && drop_user(o->uid, o->gid, e) < 0)
		return -1;
	return 0;
}

void confine_opts_free(struct confine_opts *o)
{
	free(o->chroot);
	o->chroot = NULL;
}
