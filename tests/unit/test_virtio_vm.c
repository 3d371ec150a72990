// SPDX-License-Identifier: MIT
/* How the virtio-mmio devices are announced on the kernel command line. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/arch.h"
#include "vmm/vm_devices.h"

static struct vm vm;

Test(virtio_vm, cmdline_entries)
{
	char buf[256];
	struct err e;

	memset(&vm, 0, sizeof(vm));
	cr_assert_eq(vm_virtio_cmdline(&vm, buf, sizeof(buf), &e), 0);
	cr_assert_str_eq(buf, "", "no devices, no entries");
	vm.mmio_devs[0] = (struct boot_mmio_device){ 0xd0000000, 0x1000, 5 };
	vm.mmio_devs[1] = (struct boot_mmio_device){ 0xd0001000, 0x1000, 10 };
	vm.nr_mmio_devs = 2;
	cr_assert_eq(vm_virtio_cmdline(&vm, buf, sizeof(buf), &e), 0, "%s", e.msg);
	cr_assert_str_eq(buf, "virtio_mmio.device=4K@0xd0000000:5 "
			      "virtio_mmio.device=4K@0xd0001000:10");
	cr_assert_eq(vm_virtio_cmdline(&vm, buf, 40, &e), -1);
	cr_assert(strstr(e.msg, "2 devices"), "%s", e.msg);
	cr_assert_lt(strlen(buf), 40, "never written past the buffer");
}

/*
 * One announcement per device, the one the kernel reads: the DSDT, unless
 * the kernel ignores ACPI or the config asks for the command line too.
 */
static char *cmdline_for(const char *line, bool mmio_cmdline)
{
	struct vm_config cfg = { .cmdline = (char *)line,
				 .mmio_cmdline = mmio_cmdline };
	struct err e;
	char *out;

	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.mmio_devs[0] = (struct boot_mmio_device){ 0xd0000000, 0x1000, 5 };
	vm.nr_mmio_devs = 1;
	out = arch_cmdline(&vm, &e);
	cr_assert_not_null(out, "%s", e.msg);
	return out;
}

static void expect_cmdline(const char *line, bool mmio_cmdline,
			   const char *want)
{
	char *got = cmdline_for(line, mmio_cmdline);

	cr_expect_str_eq(got, want, "for \"%s\"%s", line ? line : "(default)",
			 mmio_cmdline ? " with mmio_cmdline" : "");
	free(got);
}

#define ENTRY " virtio_mmio.device=4K@0xd0000000:5"

Test(virtio_vm, devices_in_acpi_only_by_default)
{
	expect_cmdline(NULL, false, "console=ttyS0 reboot=k panic=1");
	expect_cmdline("console=ttyS0", false, "console=ttyS0");
	expect_cmdline("acpi=noirq", false, "acpi=noirq");
}

Test(virtio_vm, devices_on_the_cmdline_when_acpi_is_off)
{
	expect_cmdline("acpi=off", false, "acpi=off" ENTRY);
	expect_cmdline("console=ttyS0 acpi=off panic=1", false,
		       "console=ttyS0 acpi=off panic=1" ENTRY);
	expect_cmdline("acpi=\"off\"", false, "acpi=\"off\"" ENTRY);
	expect_cmdline("acpi=off acpi=strict", false,
		       "acpi=off acpi=strict" ENTRY);
}

Test(virtio_vm, acpi_is_on_unless_the_last_word_says_off)
{
	expect_cmdline("acpi=off acpi=force", false, "acpi=off acpi=force");
	expect_cmdline("acpi=force acpi=off", false,
		       "acpi=force acpi=off" ENTRY);
	expect_cmdline("acpi=offx", false, "acpi=offx");
	expect_cmdline("xacpi=off", false, "xacpi=off");
	expect_cmdline("foo=\"a acpi=off\"", false, "foo=\"a acpi=off\"");
	expect_cmdline("console=ttyS0 -- acpi=off", false,
		       "console=ttyS0 -- acpi=off");
}

Test(virtio_vm, devices_on_the_cmdline_on_request)
{
	expect_cmdline(NULL, true, "console=ttyS0 reboot=k panic=1" ENTRY);
	expect_cmdline("acpi=off", true, "acpi=off" ENTRY);
}
