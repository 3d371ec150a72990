/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_CHECK_H
#define IMAGES_TESTGUEST_CHECK_H

#include <stdbool.h>

/* One line of the report: "PASS <name>" or "FAIL <name>: <reason>". */
struct check {
	const char *name;
	bool failed;
	char reason[400];
};

/*
 * Marks @c as failed and adds a reason (several are joined with "; ", as
 * many as fit). Returns false so that "return check_fail(c, ...)" ends a
 * bool function.
 */
bool check_fail(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
