/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_MPTABLE_H
#define IMAGES_TESTGUEST_MPTABLE_H

#include <stdbool.h>

#include "bootinfo.h"
#include "check.h"
#include "cpus.h"

/*
 * Finds the MP floating pointer where the MP specification (1.4, 4) says to
 * look, checks it and the configuration table it points to (signature,
 * lengths, base and extended checksums, every entry's type and size) and
 * lists the enabled processors. Fails @c with the reason otherwise.
 */
bool mptable_read(const struct bootinfo *bi, struct cpu_list *cpus,
		  struct check *c);

#endif
