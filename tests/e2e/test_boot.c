// SPDX-License-Identifier: MIT
/*
 * Boots the test guest as a bzImage and as an ELF (PVH entry) with one and
 * two vCPUs; the guest checks what it was handed and reports PASS/FAIL lines
 * over COM1 and its verdict through the debug-exit port.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "vmm/arch.h"

#define BOOT_TIMEOUT_S 180

static const char *const guest_checks[] = {
	"cmdline", "e820", "load_address", "madt", "mptable",
};

static uint32_t crc32_ieee(const char *s)
{
	uint32_t crc = 0xffffffff;

	for (; *s; s++) {
		crc ^= (uint8_t)*s;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc;
}

static void guest_cmdline(char *buf, size_t len, int cpus, int mem)
{
	char base[256];

	snprintf(base, sizeof(base),
		 "console=ttyS0 testguest.cpus=%d testguest.mem=%d", cpus, mem);
	snprintf(buf, len, "%s testguest.crc32=%08x", base, crc32_ieee(base));
}

static void boot_and_check(const char *image, int cpus)
{
	struct vmm_proc p;
	char cmdline[512], cpus_arg[8], expect[600];
	const char *argv[] = {
		"--kernel", image_path(image), "--memory", "64", "--cpus",
		cpus_arg, "--cmdline", cmdline, NULL,
	};
	char *out, *err;
	int status;

	snprintf(cpus_arg, sizeof(cpus_arg), "%d", cpus);
	guest_cmdline(cmdline, sizeof(cmdline), cpus, 64);
	status = vmm_run(&p, argv, BOOT_TIMEOUT_S);
	out = vmm_stdout(&p);
	err = vmm_stderr(&p);
	for (size_t i = 0; i < sizeof(guest_checks) / sizeof(guest_checks[0]); i++) {
		char pass[64];

		snprintf(pass, sizeof(pass), "PASS %s\r\n", guest_checks[i]);
		if (!strstr(out, pass))
			snprintf(pass, sizeof(pass), "PASS %s\n", guest_checks[i]);
		cr_expect(strstr(out, pass), "no '%s' line; serial log:\n%s",
			  guest_checks[i], out);
	}
	cr_expect_null(strstr(out, "FAIL"), "serial log:\n%s", out);
	snprintf(expect, sizeof(expect), "CMDLINE: %s", cmdline);
	cr_expect(strstr(out, expect), "command line did not arrive exactly:\n%s", out);
	cr_expect_eq(status, 0, "exit status %d; stderr:\n%s", status, err);
	free(out);
	free(err);
	vmm_cleanup(&p);
}

Test(boot, bzimage_one_vcpu, .timeout = BOOT_TIMEOUT_S + 10)
{
	boot_and_check("testguest.bzImage", 1);
}

Test(boot, bzimage_two_vcpus, .timeout = BOOT_TIMEOUT_S + 10)
{
	boot_and_check("testguest.bzImage", 2);
}

Test(boot, elf_pvh_one_vcpu, .timeout = BOOT_TIMEOUT_S + 10)
{
	boot_and_check("testguest.elf", 1);
}

Test(boot, elf_pvh_two_vcpus, .timeout = BOOT_TIMEOUT_S + 10)
{
	boot_and_check("testguest.elf", 2);
}

/* SIGTERM stops a running guest in order: exit status 128 + 15. */
Test(boot, sigterm_stops_a_running_guest, .timeout = BOOT_TIMEOUT_S + 10)
{
	struct vmm_proc p;
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--cmdline", "testguest.cpus=1 testguest.mem=64 testguest.halt=1",
		NULL,
	};
	char *err;

	vmm_spawn(&p, argv);
	cr_assert(vmm_wait_output(&p, "HALTING", BOOT_TIMEOUT_S),
		  "guest never reached its halt loop");
	vmm_signal(&p, SIGTERM);
	cr_expect_eq(vmm_wait(&p, 30), 128 + SIGTERM);
	err = vmm_stderr(&p);
	cr_expect(strstr(err, "signal 15"), "stderr:\n%s", err);
	free(err);
	vmm_cleanup(&p);
}

/* A guest that crashes makes the VMM report where, and exit with 70. */
Test(boot, triple_fault_is_reported_with_registers, .timeout = BOOT_TIMEOUT_S + 10)
{
	struct vmm_proc p;
	const char *argv[] = {
		"--kernel", image_path("testguest.elf"), "--memory", "64",
		"--cmdline", "testguest.triplefault=1", NULL,
	};
	char *err;

	cr_expect_eq(vmm_run(&p, argv, BOOT_TIMEOUT_S), 70);
	err = vmm_stderr(&p);
	/* Hardware reports a shutdown; KVM's emulator an emulation failure. */
	cr_expect(strstr(err, "vcpu 0: guest triple-faulted") ||
		  strstr(err, "vcpu 0: guest stopped on an exit the VMM cannot handle"),
		  "stderr:\n%s", err);
	cr_expect(strstr(err, "rip=0x"), "no registers in:\n%s", err);
	cr_expect(strstr(err, "cr3="), "no control registers in:\n%s", err);
	free(err);
	vmm_cleanup(&p);
}

/*
 * Where KVM emulates guest instructions, one its emulator lacks stops the
 * VM with the instruction's address and bytes and what that means, and
 * the VMM said at start what such a host implies.
 */
Test(boot, unemulated_instruction_is_explained, .timeout = BOOT_TIMEOUT_S + 10)
{
	struct vmm_proc p;
	const char *argv[] = {
		"--kernel", image_path("testguest.elf"), "--memory", "64",
		"--cmdline", "testguest.cmpxchg16b=1", NULL,
	};
	const char *note = "this host's KVM emulates guest instructions";
	char *err, *first;

	if (!arch_host_emulation())
		cr_skip_test("this host runs guests on VT-x or AMD-V: the CPU executes cmpxchg16b itself");
	cr_expect_eq(vmm_run(&p, argv, BOOT_TIMEOUT_S), 70);
	err = vmm_stderr(&p);
	first = strstr(err, note);
	cr_expect(first && !strstr(first + 1, note),
		  "the note is not there exactly once:\n%s", err);
	cr_expect(strstr(err, "vcpu 0: KVM could not emulate the instruction at rip=0x"),
		  "stderr:\n%s", err);
	/* lock (f0), REX.W (48), cmpxchg16b (0f c7) */
	cr_expect(strstr(err, "(bytes from rip: f0 48 0f c7 "), "stderr:\n%s",
		  err);
	cr_expect(strstr(err, "vcpu 0: the host emulates guest instructions; this one is not supported there"),
		  "stderr:\n%s", err);
	free(err);
	vmm_cleanup(&p);
}

static long free_hugepages(void)
{
	char *info = slurp("/proc/meminfo", NULL);
	const char *p = strstr(info, "HugePages_Free:");
	long n = p ? strtol(p + strlen("HugePages_Free:"), NULL, 10) : 0;

	free(info);
	return n;
}

/*
 * --hugepages boots when the host has enough free huge pages and otherwise
 * fails up front with a message, never with SIGBUS on the guest's first
 * touch.
 */
Test(boot, hugepages_boot_or_clear_refusal, .timeout = BOOT_TIMEOUT_S + 10)
{
	struct vmm_proc p;
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--hugepages", "--cmdline", "testguest.cpus=1 testguest.mem=64",
		NULL,
	};
	bool enough = free_hugepages() >= 32;
	int status = vmm_run(&p, argv, BOOT_TIMEOUT_S);
	char *err = vmm_stderr(&p);

	if (enough) {
		cr_expect_eq(status, 0, "stderr:\n%s", err);
	} else {
		cr_expect_eq(status, 71, "stderr:\n%s", err);
		cr_expect(strstr(err, "2 MiB huge pages"), "stderr:\n%s", err);
	}
	free(err);
	vmm_cleanup(&p);
}
