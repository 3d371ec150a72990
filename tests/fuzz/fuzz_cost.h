/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_FUZZ_COST_H
#define TESTS_FUZZ_FUZZ_COST_H

/*
 * Cost checks for the fuzz targets: an input may not make the code under
 * test spin. Each input gets a budget of chain pops (every virtqueue pop
 * is counted, through the linker's --wrap=virtq_pop) and of wall-clock
 * time; past either, the target aborts and libFuzzer keeps the input as a
 * crash. A device that pops the same chain for ever (progress without
 * consuming input) trips the first; any other spin the second.
 */

#include <stdint.h>

/* Pops one input may cause: far above any bounded loop's, far below a spin's. */
#define FUZZ_POP_BUDGET 200000
/* Wall-clock milliseconds one input may take (libFuzzer's -timeout backs it). */
#define FUZZ_TIME_BUDGET_MS 2000

/* Starts the budgets for a new input. */
void fuzz_cost_begin(void);
/* Aborts, naming @what, when the input went over a budget. */
void fuzz_cost_check(const char *what);
/* Pops counted since fuzz_cost_begin(). */
uint64_t fuzz_cost_pops(void);

#endif
