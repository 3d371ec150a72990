// SPDX-License-Identifier: MIT
/*
 * The VMM confined: every thread under its seccomp filter by default, from
 * the command line and through the control socket (CreateVM after the
 * filter is on, twice); --seccomp off and its errors; the descriptor
 * limit raised at start; --user and --chroot.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_helpers.h"
#include "harness.h"

#define BOOT_TIMEOUT_S 180
#define HALT_LINE "testguest.cpus=2 testguest.mem=64 testguest.halt=1"

/* A field of /proc/PID/task/TID/status, or -1. */
static long task_field(pid_t pid, const char *tid, const char *field)
{
	char path[320], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Asserts every thread of @pid has @field equal to @want; returns how many. */
static int every_thread(pid_t pid, const char *field, long want)
{
	char path[320];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	cr_assert_not_null(dir, "%s", path);
	while ((d = readdir(dir))) {
		char comm[64] = "";
		FILE *f;
		long v;

		if (d->d_name[0] == '.')
			continue;
		v = task_field(pid, d->d_name, field);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid,
			 d->d_name);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		cr_expect_eq(v, want, "thread %s (%.*s): %s %ld, not %ld",
			     d->d_name, (int)strcspn(comm, "\n"), comm, field,
			     v, want);
		n++;
	}
	closedir(dir);
	return n;
}

static void spawn_halted(struct vmm_proc *p, const char *const *extra)
{
	const char *argv[32] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--cpus", "2", "--cmdline", HALT_LINE,
	};
	size_t n = 8;

	for (; extra && *extra && n < sizeof(argv) / sizeof(argv[0]) - 1; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	vmm_spawn(p, argv);
	cr_assert(vmm_wait_output(p, "HALTING", BOOT_TIMEOUT_S),
		  "the guest never reached its halt loop");
}

static void stop(struct vmm_proc *p)
{
	vmm_signal(p, SIGTERM);
	cr_expect_eq(vmm_wait(p, 30), 128 + SIGTERM);
	vmm_cleanup(p);
}

Test(security, every_thread_is_filtered_by_default,
     .timeout = BOOT_TIMEOUT_S + 30)
{
	struct vmm_proc p;

	spawn_halted(&p, NULL);
	/* The event loop and two vCPUs, at least. */
	cr_assert_geq(every_thread(p.pid, "Seccomp", 2), 3);
	stop(&p);
}

Test(security, seccomp_off_leaves_threads_unfiltered,
     .timeout = BOOT_TIMEOUT_S + 30)
{
	const char *extra[] = { "--seccomp", "off", NULL };
	struct vmm_proc p;

	spawn_halted(&p, extra);
	cr_assert_geq(every_thread(p.pid, "Seccomp", 0), 3);
	stop(&p);
}

/* The VMM refuses @flag @value with status 64 and @msg on stderr. */
static void expect_usage_error(const char *flag, const char *value,
			       const char *msg)
{
	const char *argv[] = { "--kernel", image_path("testguest.bzImage"),
			       flag, value, NULL };
	struct vmm_proc p;
	char *err;

	cr_assert_eq(vmm_run(&p, argv, 30), 64);
	err = vmm_stderr(&p);
	cr_expect(strstr(err, msg), "stderr:\n%s", err);
	free(err);
	vmm_cleanup(&p);
}

Test(security, seccomp_and_user_flag_errors, .timeout = 60)
{
	expect_usage_error("--seccomp", "sometimes",
			   "--seccomp: 'sometimes' is not off, log or kill");
	expect_usage_error("--user", "no-such-user-here",
			   "--user: no user 'no-such-user-here'");
	expect_usage_error("--user", "123456", "--user 123456: no such user");
}

/*
 * With a control socket the filter goes on before CreateVM: the VM is
 * built, run and torn down under it, and a second one after that.
 */
Test(security, vms_created_through_the_socket_run_filtered,
     .timeout = 2 * BOOT_TIMEOUT_S)
{
	struct api_vmm v;
	char params[1024];

	api_vmm_start(&v, NULL);
	cr_assert_eq(every_thread(v.p.pid, "Seccomp", 2), 1);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  "console=ttyS0 " HALT_LINE, 2, NULL);
	for (int round = 0; round < 2; round++) {
		json_object_put(api_ok(&v, "CreateVM", params));
		json_object_put(api_ok(&v, "ResumeVM", NULL));
		cr_assert_geq(every_thread(v.p.pid, "Seccomp", 2), 3);
		json_object_put(api_ok(&v, "PauseVM", NULL));
		json_object_put(api_ok(&v, "InspectVM", NULL));
		json_object_put(api_ok(&v, "TeardownVM", NULL));
	}
	api_vmm_quit(&v);
}

/* "Max open files   SOFT   HARD   files" */
static void open_files_limit(pid_t pid, long *soft, long *hard)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	*soft = *hard = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14))
			sscanf(line + 14, "%ld %ld", soft, hard);
	fclose(f);
}

Test(security, descriptor_limit_is_raised_to_the_hard_limit,
     .timeout = BOOT_TIMEOUT_S + 30)
{
	struct vmm_proc p;
	struct rlimit rl;
	long soft, hard;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max <= 1024)
		cr_skip_test("the hard limit is %llu",
			     (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 1024;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	spawn_halted(&p, NULL);
	open_files_limit(p.pid, &soft, &hard);
	cr_expect_eq(hard, (long)rl.rlim_max);
	cr_expect_eq(soft, hard, "soft limit %ld, hard %ld", soft, hard);
	stop(&p);
}

/*
 * Root opens /dev/kvm and the images, then the VMM becomes nobody in an
 * empty directory, and the guest still runs to its end.
 */
Test(security, user_and_chroot_drop_everything_after_set_up,
     .timeout = BOOT_TIMEOUT_S + 30)
{
	char dir[] = "/tmp/vmm-jail-XXXXXX";
	const char *extra[] = { "--user", "65534:65534", "--chroot", dir, NULL };
	struct vmm_proc p;

	if (geteuid() != 0)
		cr_skip_test("dropping privileges needs root");
	cr_assert_not_null(mkdtemp(dir));
	/*
	 * Dropping the user makes the process undumpable, and LeakSanitizer
	 * cannot stop its threads then: no leak check for this run.
	 */
	cr_assert_eq(setenv("ASAN_OPTIONS", "detect_leaks=0", 1), 0);
	spawn_halted(&p, extra);
	cr_assert_geq(every_thread(p.pid, "Seccomp", 2), 3);
	cr_assert_geq(every_thread(p.pid, "Uid", 65534), 3);
	cr_assert_geq(every_thread(p.pid, "Gid", 65534), 3);
	{
		char root[64], link[PATH_MAX];
		ssize_t n;

		snprintf(root, sizeof(root), "/proc/%d/root", (int)p.pid);
		n = readlink(root, link, sizeof(link) - 1);
		cr_assert_gt(n, 0);
		link[n] = '\0';
		cr_expect_str_eq(link, dir);
	}
	stop(&p);
	rmdir(dir);
}
