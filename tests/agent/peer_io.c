// SPDX-License-Identifier: MIT
#include "tests/agent/peer_io.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "client/exec_client.h"

int peer_read_full(int fd, void *buf, size_t n, struct err *e)
{
	uint8_t *p = buf;

	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, PEER_TIMEOUT_MS) <= 0)
			return err_set(e, "the agent did not answer within %d ms",
				       PEER_TIMEOUT_MS);
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? err_errno(e, "read") : err_set(e, "EOF");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int peer_write_full(int fd, const void *buf, size_t n, struct err *e)
{
	return exec_write_all(fd, buf, n) < 0 ? err_errno(e, "write") : 0;
}
