// SPDX-License-Identifier: MIT
/*
 * What kind of KVM this host has: on VT-x or AMD-V the CPU runs the guest,
 * elsewhere (PVM's kvm_pvm, nested set-ups without hardware
 * virtualization) KVM runs guest code through its instruction emulator,
 * which is much slower and lacks some instructions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/arch/x86/x86.h"

bool x86_cpuinfo_has_hw_virt(FILE *cpuinfo)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	while (!found && getline(&line, &cap, cpuinfo) >= 0) {
		char *word, *save;

		if (strncmp(line, "flags", 5) || !strchr(line, ':'))
			continue;
		for (word = strtok_r(strchr(line, ':') + 1, " \t\n", &save);
		     word; word = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(word, "vmx") || !strcmp(word, "svm"))
				found = true;
		break;
	}
	free(line);
	return found;
}

const char *arch_host_emulation(void)
{
	FILE *f;
	bool hw;

	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "the kvm_pvm module is loaded";
	if (access("/dev/kvm", F_OK) < 0)
		return NULL;
	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return NULL;
	hw = x86_cpuinfo_has_hw_virt(f);
	fclose(f);
	return hw ? NULL : "the CPU has neither VT-x nor AMD-V";
}
