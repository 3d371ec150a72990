// SPDX-License-Identifier: MIT
/*
 * Boots Debian's stock cloud kernel (vmlinux extracted from the packaged
 * vmlinuz, entered through PVH) and reads its early serial log: the banner,
 * the command line exactly as passed, and the e820 map exactly as the VMM
 * built it. Then stops the VM: the rest of the boot is not needed here, and
 * on hosts where guests run in KVM's instruction emulator it would take
 * far too long.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/e820.h"
#include "vmm/arch.h"
#include "harness.h"
#include "lib/util.h"

#define LINUX_MEM_MIB 256
#define LINUX_TIMEOUT_S 240
#define LINUX_CMDLINE "console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 " \
		      "vmm.e2e=stock-kernel quiet=0"

/* The line Linux prints for one map entry, e.g. "BIOS-e820: [mem 0x...-0x...] usable". */
static void e820_line(const struct e820_entry *ent, char *buf, size_t len)
{
	snprintf(buf, len, "BIOS-e820: [mem 0x%016llx-0x%016llx] %s",
		 (unsigned long long)ent->addr,
		 (unsigned long long)(ent->addr + ent->size - 1),
		 ent->type == E820_RAM ? "usable" : "reserved");
}

Test(stock_kernel, debian_cloud_early_boot, .timeout = LINUX_TIMEOUT_S + 30)
{
	const char *argv[] = {
		"--kernel", image_path("linux/vmlinux"), "--memory", "256",
		"--cpus", "2", "--cmdline", LINUX_CMDLINE, NULL,
	};
	struct e820_entry map[E820_MAP_MAX];
	struct guest_mem mem;
	struct vmm_proc p;
	unsigned int n;
	char line[128];
	char *out;

	guest_mem_init_buffer(&mem, &arch_ram_map, NULL, LINUX_MEM_MIB * MiB);
	n = e820_build(&mem, NULL, map);
	cr_assert_gt(n, 0);
	e820_line(&map[n - 1], line, sizeof(line));

	vmm_spawn(&p, argv);
	cr_expect(vmm_wait_output(&p, line, LINUX_TIMEOUT_S),
		  "the kernel never printed its last e820 entry '%s'", line);
	vmm_signal(&p, SIGTERM);
	vmm_wait(&p, 30);
	out = vmm_stdout(&p);
	cr_expect(strstr(out, "Linux version "), "no banner; log:\n%.4000s", out);
	cr_expect(strstr(out, "Command line: " LINUX_CMDLINE "\r\n") ||
		  strstr(out, "Command line: " LINUX_CMDLINE "\n"),
		  "command line differs; log:\n%.4000s", out);
	for (unsigned int i = 0; i < n; i++) {
		e820_line(&map[i], line, sizeof(line));
		cr_expect(strstr(out, line), "missing '%s'; log:\n%.4000s", line, out);
	}
	free(out);
	vmm_cleanup(&p);
}
