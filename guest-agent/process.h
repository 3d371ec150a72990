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
	/*
	 * On failure: whether the program itself could not be run (its user,
	 * or exec), which a shell reports on stderr with @exit_code (127 not
	 * found or no such user, 126 not runnable); otherwise the process
	 * could not be started at all (@exit_code 1).
	 */
	bool launch_failed;
	int exit_code;
};

int spawn_process(const struct spawn_opts *o, struct spawn_result *r,
		  struct err *e);

int set_nonblock_fd(int fd);

/*
 * The exit code as the peers' agents report it (Go's ExitCode()): the
 * code, or -1 when a signal ended the process; *@signal is that signal.
 */
int wait_status_exit_code(int status, int *signal);

#endif
