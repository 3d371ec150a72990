/* SPDX-License-Identifier: MIT */
#ifndef TESTS_E2E_HARNESS_H
#define TESTS_E2E_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Runs the VMM under test (path in $VMM) as a child with stdout and stderr
 * captured in files, so a test can read the guest's serial log and the
 * VMM's messages after or while it runs.
 */
struct vmm_proc {
	pid_t pid;
	char dir[64];
	char out_path[96];
	char err_path[96];
	int status; /* exit status, or 128 + signal */
	bool exited;
};

/* Path of an image under $IMAGES (default build/images). */
const char *image_path(const char *name);

/* Starts $VMM with the NULL-terminated arguments. */
void vmm_spawn(struct vmm_proc *p, const char *const *argv);
/* Waits up to @timeout_s; kills the VMM and fails the test past that. */
int vmm_wait(struct vmm_proc *p, int timeout_s);
/* Runs to completion and returns the exit status. */
int vmm_run(struct vmm_proc *p, const char *const *argv, int timeout_s);
/*
 * Runs the VMM with @argv and expects it to refuse: exit status @status
 * and one line on stderr holding @message.
 */
void vmm_expect_refusal(const char *const *argv, int status,
			const char *message);
/* Polls the serial log until @needle shows up; false after @timeout_s. */
bool vmm_wait_output(struct vmm_proc *p, const char *needle, int timeout_s);
void vmm_signal(struct vmm_proc *p, int sig);

/* The captured streams (malloc()ed, NUL-terminated). */
char *vmm_stdout(const struct vmm_proc *p);
char *vmm_stderr(const struct vmm_proc *p);
void vmm_cleanup(struct vmm_proc *p);

/*
 * A disk image of @size zero bytes in /var/tmp, its path written to @path
 * (64 bytes), starting with the signature the test guest's virtio-blk
 * check reads (images/testguest/virtio.h).
 */
void make_test_disk(char *path, size_t size);

char *slurp(const char *path, size_t *len);
size_t count_lines(const char *text);

#endif
