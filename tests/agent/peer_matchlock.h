/* SPDX-License-Identifier: MIT */
#ifndef TESTS_AGENT_PEER_MATCHLOCK_H
#define TESTS_AGENT_PEER_MATCHLOCK_H

/*
 * matchlock's host side, re-enacted in C for the tests: what its Linux
 * backend (pkg/vm/linux/backend.go) and its vsock package (pkg/vsock,
 * vsock.go and wire.go) send to the guest agent, byte for byte, and how
 * they read the answers. Followed at matchlock v0.2.4 (commit 060d87ab).
 * No criterion here: the same code drives an agent over a Unix socket in
 * tests/agent and over real virtio-vsock in a Linux guest.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/bytebuf.h"
#include "lib/util.h"

/* A connected stream to guest vsock @port (LinuxMachine.dialVsock). */
struct ml_vm {
	int (*dial)(void *ctx, uint32_t port, struct err *e);
	void *ctx;
};

#define ML_PORT_EXEC 5000
#define ML_PORT_READY 5002

/* api.ExecOptions, as far as the backend sends it. */
struct ml_exec_opts {
	const char *working_dir;
	char *const *env;		/* "KEY=VALUE", NULL-terminated */
	const char *user;
	bool stdin_set;			/* opts.Stdin != nil: ExecPipe */
	const void *stdin_data;
	size_t stdin_len;
	bool writers;			/* opts.Stdout/Stderr set: ExecStream */
};

/* api.ExecResult and the error the call returns beside it. */
struct ml_exec_result {
	int64_t exit_code;
	struct bytebuf out, err;	/* ExecResult.Stdout, .Stderr */
	struct bytebuf wout, werr;	/* what opts.Stdout/Stderr received */
	char remote_error[512];		/* ErrExecRemote's text, or "" */
};

void ml_exec_result_free(struct ml_exec_result *r);

/*
 * LinuxMachine.Exec (execVsock): Exec, ExecStream or, with stdin,
 * vsock.ExecPipe. Returns -1 when the call fails without a result.
 */
int ml_exec(const struct ml_vm *vm, const char *command,
	    const struct ml_exec_opts *o, struct ml_exec_result *r,
	    struct err *e);

/* LinuxMachine.ExecInteractive: ExecTTY; returns the exit code. */
int ml_exec_interactive(const struct ml_vm *vm, const char *command,
			const struct ml_exec_opts *o, uint16_t rows,
			uint16_t cols, const char *input, struct bytebuf *out,
			int64_t *exit_code, struct err *e);

/* vsock.WriteFileVsock, ReadFileVsock, ListFilesVsock. */
int ml_write_file(const struct ml_vm *vm, const char *path,
		  const void *content, size_t len, uint32_t mode,
		  struct err *e);
int ml_read_file(const struct ml_vm *vm, const char *path, uint8_t **content,
		 size_t *len, struct err *e);

struct ml_file_info {		/* api.FileInfo */
	char name[256];
	int64_t size;
	uint32_t mode;		/* os.FileMode */
	bool is_dir;
};

int ml_list_files(const struct ml_vm *vm, const char *path,
		  struct ml_file_info **files, size_t *n, struct err *e);

/*
 * vsock.OpenPortForward on a fresh exec connection @fd: 0 on Ready, else -1
 * with "port forward rejected: REASON" (or what else went wrong) in @e.
 */
int ml_open_port_forward(int fd, const char *host, uint16_t port,
			 struct err *e);

/* LinuxMachine.waitForReady's probe: the ready port accepts. */
int ml_ready(const struct ml_vm *vm, struct err *e);

/* Go's os.FileMode bits that the tests look at. */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_NAMED_PIPE (1u << 25)
#define GO_MODE_SETUID (1u << 23)
#define GO_MODE_STICKY (1u << 20)

#endif
