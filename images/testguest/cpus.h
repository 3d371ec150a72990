/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_CPUS_H
#define IMAGES_TESTGUEST_CPUS_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

/* More processors than any table the guest reads may announce. */
#define TG_MAX_CPUS 256

/* The enabled processors a firmware table announces, by APIC ID. */
struct cpu_list {
	unsigned int nr;
	uint32_t apic_id[TG_MAX_CPUS];
};

/* Adds @apic_id, failing @c (as @table) on a duplicate or a full list. */
static inline bool cpu_list_add(struct cpu_list *l, uint32_t apic_id,
				const char *table, struct check *c)
{
	unsigned int i;

	for (i = 0; i < l->nr; i++)
		if (l->apic_id[i] == apic_id)
			return check_fail(c, "%s lists APIC ID %u twice",
					  table, apic_id);
	if (l->nr == TG_MAX_CPUS)
		return check_fail(c, "%s lists more than %u processors",
				  table, TG_MAX_CPUS);
	l->apic_id[l->nr++] = apic_id;
	return true;
}

#endif
