// SPDX-License-Identifier: MIT
#include "fd_budget.h"

#include <limits.h>
#include <sys/resource.h>

#include "lib/util.h"

uint64_t fd_limit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

static unsigned int share(uint64_t n)
{
	return (unsigned int)MIN(MAX(n, (uint64_t)FD_MIN_CONNS),
				 (uint64_t)UINT_MAX);
}

void fd_budget_for(uint64_t limit, struct fd_budget *b)
{
	uint64_t spare = limit > FD_RESERVE ? limit - FD_RESERVE : 0;

	b->limit = limit;
	b->guest_conns = share(spare / 4 * 3);
	b->clients = share(spare / 4);
}

void fd_budget_get(struct fd_budget *b)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = UINT64_MAX;
	fd_budget_for(rl.rlim_cur, b);
}
