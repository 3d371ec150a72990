/* SPDX-License-Identifier: MIT */
#ifndef TESTS_AGENT_PEER_CASES_H
#define TESTS_AGENT_PEER_CASES_H

/*
 * What the peers' hosts do with our agent, as cases that pass or fail with
 * a reason: the criterion suite runs them against an agent on Unix sockets,
 * and agent-peer-check runs them against an agent in a VM over virtio-vsock.
 * Each case names the peer function it follows.
 */
#include <stdint.h>

#include "tests/agent/peer_matchlock.h"
#include "lib/util.h"

struct peer_target {
	struct ml_vm vm;	/* the exec service: ports 5000 and 5002 */
	/* The agent's bridge connection, accepted; the host keeps it. */
	int (*bridge_fd)(void *ctx, struct err *e);
	void *ctx;
	/* Where the bridge's stdio relays listen: "BASE_PORT". */
	const char *relay_base;
	/* A writable directory in the guest (no trailing slash). */
	const char *scratch_dir;
	/* A TCP port free in the guest, for a PortForward server there. */
	uint16_t tcp_port;
	/*
	 * "CONTROLLER:LUN" of a guest disk (serial scsi-C-L) holding an ext4
	 * file system with hello.txt, "hello from a disk"; NULL: none.
	 */
	const char *mapped_disk;
};

struct peer_case {
	const char *name;
	int (*run)(const struct peer_target *t, struct err *e);
};

extern const struct peer_case peer_cases[];
extern const unsigned peer_ncases;
/* The case for peer_target.mapped_disk, outside peer_cases. */
extern const struct peer_case peer_mapped_disk_case;

#endif
