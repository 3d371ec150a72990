/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_EXCEPTION_H
#define IMAGES_TESTGUEST_EXCEPTION_H

#include <stdint.h>

/* What the stubs in entry.S leave on the stack, lowest address first. */
struct exception_frame {
	uint64_t vector;
	uint64_t error; /* 0 for vectors without an error code */
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

/*
 * Loads an IDT for the 32 CPU exceptions, so that a fault (a table pointing
 * at unmapped memory, a bad MSR) ends the run with a FAIL line and exit
 * status 1 instead of a triple fault.
 */
void exception_init(void);
/* Names the check a fault is reported under. */
void exception_set_check(const char *name);
/* Called by the stubs; prints the FAIL line and exits. */
void exception_report(const struct exception_frame *f)
	__attribute__((noreturn));

#endif
