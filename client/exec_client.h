/* SPDX-License-Identifier: MIT */
#ifndef CLIENT_EXEC_CLIENT_H
#define CLIENT_EXEC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/proto/bytebuf.h"
#include "lib/proto/exec_msg.h"
#include "lib/proto/frame.h"
#include "lib/util.h"

/*
 * Writes all @n bytes to @fd, waiting while a non-blocking fd is full; a
 * socket gets no SIGPIPE. Returns -1 with errno set on an error.
 */
int exec_write_all(int fd, const void *p, size_t n);

/* Connects to an agent listening on a plain Unix socket. */
int exec_dial_unix(const char *path, struct err *e);
/*
 * Connects through a VMM's vsock Unix socket, Firecracker style: writes
 * "CONNECT PORT\n" and expects "OK HOSTPORT\n"; the socket is then a
 * stream to the guest's PORT.
 */
int exec_dial_vsock_uds(const char *path, uint32_t port, struct err *e);

/* A connection to the exec service, read frame by frame. */
struct exec_stream {
	int fd;
	struct frame_reader rd;
	uint8_t buf[64 * 1024];
	size_t off, len;
	bool eof;
};

void exec_stream_init(struct exec_stream *s, int fd);
/* Closes the fd too. */
void exec_stream_close(struct exec_stream *s);
int exec_stream_send(struct exec_stream *s, uint8_t type, const void *data,
		     uint32_t len, struct err *e);
int exec_stream_send_request(struct exec_stream *s, uint8_t type,
			     const struct exec_request *req, struct err *e);
/*
 * Waits up to @timeout_ms (-1: no limit) for the next event: whole frames,
 * or pieces of Stdout/Stderr/Stdin frames. Returns 1 with @ev filled, 0 at a
 * clean end of stream, -1 with @e set on an error, a timeout or a bad frame.
 */
int exec_stream_next(struct exec_stream *s, struct frame_event *ev,
		     int timeout_ms, struct err *e);

/*
 * Runs one Exec or ExecStream request to completion: stdout and stderr
 * (chunks for ExecStream, the result's fields for Exec) are appended to
 * @out and @err; @res gets the ExecResult.
 */
int exec_run(struct exec_stream *s, uint8_t type,
	     const struct exec_request *req, struct exec_result *res,
	     struct bytebuf *out, struct bytebuf *err, int timeout_ms,
	     struct err *e);

/*
 * The same, writing stdout and stderr to @out_fd and @err_fd as they arrive
 * (ExecStream) or once the result came (Exec), without a time limit.
 */
int exec_run_fds(struct exec_stream *s, uint8_t type,
		 const struct exec_request *req, struct exec_result *res,
		 int out_fd, int err_fd, struct err *e);

/*
 * An interactive ExecPipe or ExecTTY session: @in_fd is streamed as Stdin
 * (its end becomes an empty Stdin frame for a pipe), Stdout and Stderr go to
 * @out_fd and @err_fd. @sig_fd, when >= 0, is a signalfd: SIGWINCH sends
 * Resize with @tty_fd's size, other signals are forwarded as Signal.
 * Returns 0 with the process's exit code (128 + signal when it was killed);
 * @e then holds the agent's explanation when it sent one (or is empty).
 */
struct exec_session_io {
	int in_fd, out_fd, err_fd;
	int sig_fd;
	int tty_fd;
};

int exec_session(struct exec_stream *s, bool tty, const struct exec_request *req,
		 const struct exec_session_io *io, int *exit_code, struct err *e);

#endif
