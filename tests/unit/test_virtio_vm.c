// SPDX-License-Identifier: MIT
/* The virtio_mmio.device= entries announced on the kernel command line. */
#include <criterion/criterion.h>
#include <string.h>

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
