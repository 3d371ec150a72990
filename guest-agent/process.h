/* SPDX-License-Identifier: MIT */
#ifndef AGENT_PROCESS_H
#define AGENT_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * What to start. With @argv the program argv[0] runs with those arguments
 * (looked up in PATH when it has no '/'); otherwise @command_line runs
 * through /bin/sh -c. Every process gets its own session and process group,
 * so a signal can reach the whole group.
 */
struct spawn_opts {
	const char *command_line;
	char *const *argv;
	const char *working_dir;
	char *const *env;	/* "KEY=VALUE" added to the agent's environment */
	const char *user;
	const char *passwd_file;
	const char *group_file;
	bool pty;
	uint16_t rows, cols;
	bool pipe_stdin, pipe_stdout, pipe_stderr; /* else /dev/null */
};

struct spawn_result {
	pid_t pid;
	int in_fd;	/* our ends, non-blocking, or -1 */
	int out_fd;
	int err_fd;
	int pty_fd;	/* the PTY master (stdin, stdout and stderr) */
	int exit_code;	/* on failure: 127 not found, 126 not runnable, 1 other */
};

int spawn_process(const struct spawn_opts *o, struct spawn_result *r,
		  struct err *e);

int set_nonblock_fd(int fd);

/* The exit code a shell would report: the code, or 128 + the signal. */
int wait_status_code(int status, int *signal);

#endif
