// SPDX-License-Identifier: MIT
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The contract with images/testguest/virtio.h. */
#define TEST_DISK_SIGNATURE "VMMTESTDISK"

void make_test_disk(char *path, size_t size)
{
	char zero[4096] = { 0 };
	int fd;

	strcpy(path, "/var/tmp/vmm-e2e-disk-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	for (size_t off = 0; off < size; off += sizeof(zero))
		cr_assert_eq(write(fd, zero, sizeof(zero)), (ssize_t)sizeof(zero));
	cr_assert_eq(pwrite(fd, TEST_DISK_SIGNATURE, strlen(TEST_DISK_SIGNATURE), 0),
		     (ssize_t)strlen(TEST_DISK_SIGNATURE));
	close(fd);
}

const char *image_path(const char *name)
{
	static __thread char path[512];
	const char *dir = getenv("IMAGES");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/images", name);
	return path;
}

void vmm_spawn(struct vmm_proc *p, const char *const *argv)
{
	const char *vmm = getenv("VMM");
	const char *args[64];
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	strcpy(p->dir, "/tmp/vmm-e2e-XXXXXX");
	cr_assert_not_null(mkdtemp(p->dir));
	snprintf(p->out_path, sizeof(p->out_path), "%s/stdout", p->dir);
	snprintf(p->err_path, sizeof(p->err_path), "%s/stderr", p->dir);
	args[n++] = vmm ? vmm : "build/vmm";
	while (argv[n - 1] && n < 63) {
		args[n] = argv[n - 1];
		n++;
	}
	args[n] = NULL;
	p->pid = fork();
	cr_assert(p->pid >= 0);
	if (p->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(args[0], (char *const *)args);
		dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vmm_wait(struct vmm_proc *p, int timeout_s)
{
	double deadline = now_s() + timeout_s;
	int status;

	while (!p->exited) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid) {
			p->exited = true;
			p->status = WIFEXITED(status) ? WEXITSTATUS(status) :
							128 + WTERMSIG(status);
			break;
		}
		if (now_s() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->exited = true;
			cr_assert_fail("VMM still running after %d s; stderr:\n%s",
				       timeout_s, vmm_stderr(p));
		}
		usleep(10000);
	}
	return p->status;
}

int vmm_run(struct vmm_proc *p, const char *const *argv, int timeout_s)
{
	vmm_spawn(p, argv);
	return vmm_wait(p, timeout_s);
}

void vmm_expect_refusal(const char *const *argv, int status,
			const char *message)
{
	struct vmm_proc p;
	char *err;

	cr_assert_eq(vmm_run(&p, argv, 30), status, "stderr: %s",
		     (err = vmm_stderr(&p)));
	err = vmm_stderr(&p);
	cr_expect(strstr(err, message), "expected '%s' in stderr:\n%s",
		  message, err);
	cr_expect_eq(count_lines(err), 1, "not one line:\n%s", err);
	free(err);
	vmm_cleanup(&p);
}

bool vmm_wait_output(struct vmm_proc *p, const char *needle, int timeout_s)
{
	double deadline = now_s() + timeout_s;

	while (now_s() < deadline) {
		char *out = vmm_stdout(p);
		bool found = strstr(out, needle) != NULL;

		free(out);
		if (found)
			return true;
		if (!p->exited && waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->exited = true;
			p->status = -1;
		}
		if (p->exited)
			break;
		usleep(20000);
	}
	return false;
}

void vmm_signal(struct vmm_proc *p, int sig)
{
	if (!p->exited)
		kill(p->pid, sig);
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (f) {
		for (;;) {
			if (n + 4096 + 1 > cap) {
				cap = (cap + 4096) * 2;
				buf = realloc(buf, cap);
			}
			size_t r = fread(buf + n, 1, 4096, f);

			n += r;
			if (r == 0)
				break;
		}
		fclose(f);
	}
	if (!buf)
		buf = malloc(1);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *vmm_stdout(const struct vmm_proc *p)
{
	return slurp(p->out_path, NULL);
}

char *vmm_stderr(const struct vmm_proc *p)
{
	return slurp(p->err_path, NULL);
}

void vmm_cleanup(struct vmm_proc *p)
{
	if (!p->exited && p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	unlink(p->out_path);
	unlink(p->err_path);
	rmdir(p->dir);
}

size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}
