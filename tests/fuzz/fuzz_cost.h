/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_FUZZ_COST_H
#define TESTS_FUZZ_FUZZ_COST_H

/*
 * Cost checks for the fuzz targets: an input may not make the code under
 * test spin. Each input gets a budget of chain pops that grows with what
 * the guest does (every virtqueue pop is counted, through the linker's
 * --wrap=virtq_pop) and of wall-clock time; past either, the target aborts
 * and libFuzzer keeps the input as a crash. A device that pops the same chain for ever (progress without
 * consuming input) trips the first; any other spin the second.
 */

#include <stdint.h>

/*
 * Pops an input may cause: a base, and more for every guest action (a
 * kick may legitimately make a device walk its whole ring, even twice),
 * far above what bounded loops need, far below what a spin does.
 */
#define FUZZ_POP_BUDGET 65536
#define FUZZ_POPS_PER_ACTION 4096
/*
 * Wall-clock milliseconds one input may take: far above what a loaded CI
 * machine needs for any input, so only a spin gets there (libFuzzer's
 * -timeout backs it).
 */
#define FUZZ_TIME_BUDGET_MS 10000

/* Starts the budgets for a new input. */
void fuzz_cost_begin(void);
/* The guest acted: it may cause FUZZ_POPS_PER_ACTION more pops. */
void fuzz_cost_action(void);
/* Aborts, naming @what, when the input went over a budget. */
void fuzz_cost_check(const char *what);

#endif
