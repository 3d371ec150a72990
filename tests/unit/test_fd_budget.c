// SPDX-License-Identifier: MIT
/*
 * The descriptor budget: the soft limit goes up to the hard one, and the
 * connection caps follow the limit in force.
 */
#include <criterion/criterion.h>
#include <sys/resource.h>

#include "vmm/fd_budget.h"

Test(fd_budget, soft_limit_rises_to_the_hard_limit)
{
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 256)
		cr_skip_test("hard limit of %llu descriptors",
			     (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 128;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(fd_limit_raise(), rl.rlim_max);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(rl.rlim_cur, rl.rlim_max);
}

Test(fd_budget, shares_follow_the_limit)
{
	struct fd_budget b;

	fd_budget_for(1024, &b);
	cr_assert_eq(b.limit, 1024);
	cr_assert_eq(b.guest_conns, 384);
	cr_assert_eq(b.clients, 128);
	fd_budget_for(1 << 20, &b);
	cr_assert_eq(b.guest_conns, ((1 << 20) - FD_RESERVE) / 4 * 3);
	/* Too few to share: each gets the minimum. */
	fd_budget_for(64, &b);
	cr_assert_eq(b.guest_conns, FD_MIN_CONNS);
	cr_assert_eq(b.clients, FD_MIN_CONNS);
}
