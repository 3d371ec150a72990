// SPDX-License-Identifier: MIT
/*
 * What a user gets for a bad command line: one line on stderr naming the
 * problem, and the documented exit status.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

Test(cli, missing_kernel_file)
{
	const char *argv[] = { "--kernel", "/nonexistent/vmlinux", NULL };

	vmm_expect_refusal(argv, 66, "kernel /nonexistent/vmlinux: No such file or directory");
}

Test(cli, kernel_that_is_not_a_kernel)
{
	char path[] = "/tmp/vmm-notkernel-XXXXXX";
	int fd = mkstemp(path);
	const char *argv[] = { "--kernel", path, "--memory", "32", NULL };

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "this is a text file, not a kernel\n", 34), 34);
	close(fd);
	vmm_expect_refusal(argv, 65, "not a Linux kernel image");
	unlink(path);
}

Test(cli, memory_too_small)
{
	const char *argv[] = { "--kernel", image_path("testguest.bzImage"),
			       "--memory", "1", NULL };

	vmm_expect_refusal(argv, 64, "--memory 1: a guest needs at least");
}

Test(cli, memory_too_large)
{
	const char *argv[] = { "--kernel", image_path("testguest.bzImage"),
			       "--memory", "1073741824", NULL };

	vmm_expect_refusal(argv, 64, "more than this host's");
}

Test(cli, zero_cpus)
{
	const char *argv[] = { "--kernel", image_path("testguest.bzImage"),
			       "--cpus", "0", NULL };

	vmm_expect_refusal(argv, 64, "--cpus 0: must be between 1 and");
}

Test(cli, unknown_flag)
{
	const char *argv[] = { "--frobnicate", NULL };

	vmm_expect_refusal(argv, 64, "unknown option '--frobnicate'");
}

Test(cli, flag_without_value)
{
	const char *argv[] = { "--kernel", NULL };

	vmm_expect_refusal(argv, 64, "option '--kernel' needs a value");
}

Test(cli, no_kernel)
{
	const char *argv[] = { "--memory", "64", NULL };

	vmm_expect_refusal(argv, 64, "no kernel given");
}

Test(cli, vsock_listener_without_vsock_device)
{
	const char *argv[] = { "--kernel", image_path("testguest.bzImage"),
			       "--vsock-listen", "5000=/tmp/vmm-e2e-listener",
			       NULL };

	vmm_expect_refusal(argv, 64, "--vsock-listen needs --vsock cid=N,uds=PATH");
}

Test(cli, unknown_transport)
{
	const char *argv[] = { "--kernel", image_path("testguest.bzImage"),
			       "--transport", "isa", NULL };

	vmm_expect_refusal(argv, 64, "--transport: 'isa' is not mmio or pci");
}
