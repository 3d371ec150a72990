// SPDX-License-Identifier: MIT
#include "guest-agent/user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits a colon-separated line in place into at most @max fields. */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == ':') {
			*p = 0;
			f[n++] = p + 1;
		}
	}
	return n;
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= 0xffffffffUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Finds the passwd entry whose name is @name, or whose uid is @uid. */
static int passwd_find(const char *path, const char *name, uid_t uid,
		       struct user_ids *u)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		char *fld[7];
		unsigned id, gid;

		if (split_fields(line, fld, 7) < 7 ||
		    parse_id(fld[2], &id) < 0 || parse_id(fld[3], &gid) < 0)
			continue;
		if (name ? strcmp(fld[0], name) != 0 : id != uid)
			continue;
		u->uid = id;
		u->gid = gid;
		snprintf(u->name, sizeof(u->name), "%s", fld[0]);
		snprintf(u->home, sizeof(u->home), "%s", fld[5]);
		u->known = true;
		found = 1;
	}
	fclose(f);
	return found;
}

static bool member_of(char *list, const char *name)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
		if (!strcmp(tok, name))
			return true;
	return false;
}

/*
 * Looks up group @name (when non-NULL) and collects the supplementary
 * groups of user @member (when non-NULL).
 */
static int group_scan(const char *path, const char *name, gid_t *gid,
		      const char *member, struct user_ids *u)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *fld[4];
		unsigned id;

		if (split_fields(line, fld, 4) < 4 || parse_id(fld[2], &id) < 0)
			continue;
		if (name && !found && !strcmp(fld[0], name)) {
			*gid = id;
			found = 1;
		}
		if (member && u->ngroups < USER_MAX_GROUPS &&
		    id != u->gid && member_of(fld[3], member))
			u->groups[u->ngroups++] = id;
	}
	fclose(f);
	return found;
}

int user_resolve(const char *spec, const char *passwd, const char *group,
		 struct user_ids *u, struct err *e)
{
	char user[256], *grp;
	unsigned id;
	bool explicit_gid = false;

	memset(u, 0, sizeof(*u));
	if (strlen(spec) >= sizeof(user) || !spec[0])
		return err_set(e, "user \"%.64s\": invalid user", spec);
	strcpy(user, spec);
	grp = strchr(user, ':');
	if (grp)
		*grp++ = 0;
	if (!user[0])
		return err_set(e, "user \"%s\": missing user name or uid", spec);

	if (parse_id(user, &id) == 0) {
		u->uid = id;
		u->gid = 0;
		passwd_find(passwd, NULL, id, u);
		u->uid = id;
	} else {
		int r = passwd_find(passwd, user, 0, u);

		if (r < 0)
			return err_errno(e, "user \"%s\": %s", spec, passwd);
		if (!r)
			return err_set(e, "user \"%s\": no such user in %s",
				       user, passwd);
	}

	if (grp) {
		gid_t gid;

		if (!grp[0])
			return err_set(e, "user \"%s\": empty group", spec);
		if (parse_id(grp, &id) == 0) {
			gid = id;
		} else {
			int r = group_scan(group, grp, &gid, NULL, u);

			if (r < 0)
				return err_errno(e, "user \"%s\": %s", spec,
						 group);
			if (!r)
				return err_set(e, "user \"%s\": no such group "
					       "\"%s\" in %s", spec, grp, group);
		}
		u->gid = gid;
		explicit_gid = true;
	}
	u->groups[0] = u->gid;
	u->ngroups = 1;
	/* An explicit group replaces the user's groups, as with docker -u. */
	if (!explicit_gid && u->known)
		group_scan(group, NULL, NULL, u->name, u);
	return 0;
}
