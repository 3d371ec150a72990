/* SPDX-License-Identifier: MIT */
#ifndef TESTS_AGENT_PEER_HCSSHIM_H
#define TESTS_AGENT_PEER_HCSSHIM_H

/*
 * hcsshim's host end of the GCS bridge for a Linux utility VM, re-enacted in
 * C for the tests: the requests internal/gcs (bridge.go, guestconnection.go,
 * process.go, prot/protocol.go) writes, byte for byte, and the checks its
 * receive loop makes on every message the guest sends, any of which ends
 * the real host's bridge. Followed at hcsshim commit 7c9ff7f4
 * (v0.15.0-rc.4-4-g7c9ff7f48). No criterion here: the same code drives an
 * agent over a Unix socket in tests/agent and over virtio-vsock in a VM.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* gcs.nullContainerID, which is also the zero GUID every request carries. */
#define HCS_NULL_ID "00000000-0000-0000-0000-000000000000"
/* gcs.hrNotFound */
#define HCS_HR_NOT_FOUND 0x80070490u

struct hcs_reply;

/* A GuestConnection over an accepted bridge connection. */
struct hcs_conn {
	int fd;
	/* The stdio "ports" are Unix sockets RELAY_BASE_PORT (vsock UDS style). */
	const char *relay_base;
	int64_t next_id;	/* bridge.nextID */
	uint32_t next_port;	/* GuestConnection.nextPort */
	int64_t outstanding[1024];	/* rpcs sent, not answered */
	size_t noutstanding;
	struct hcs_reply *replies;	/* answered, not yet collected */
	/* Why bridge.kill ended the bridge (a message it could not take). */
	char killed[512];
	char os[16];
};

void hcs_conn_init(struct hcs_conn *c, int fd, const char *relay_base);
void hcs_conn_close(struct hcs_conn *c);

/* GuestConnectionConfig.Connect: NegotiateProtocol for version 4. */
int hcs_connect(struct hcs_conn *c, struct err *e);

/* hcsschema.ProcessParameters, as hcsshim's cmd package fills them. */
struct hcs_params {
	const char *command_line;
	char *const *args;		/* CommandArgs */
	const char *user;
	const char *working_dir;
	char *const *env;		/* Environment, "KEY=VALUE" */
	bool emulate_console;
	bool stdin, stdout, stderr;	/* CreateStd*Pipe */
	int32_t console_height, console_width;	/* ConsoleSize, 0: none */
};

/* gcs.Process: its id, its wait rpc and its stdio (ioChannel) sockets. */
struct hcs_process {
	uint32_t pid;
	int64_t wait_id;
	int stdin_fd, stdout_fd, stderr_fd;
};

/* GuestConnection.CreateProcess (exec): ExecuteProcess + async wait. */
int hcs_exec(struct hcs_conn *c, const struct hcs_params *p,
	     struct hcs_process *proc, struct err *e);
/*
 * Process.Wait then ExitCode: the wait's ExitCode; a wait that failed
 * with hrNotFound counts as exited (code 0), as process.go has it.
 */
int hcs_wait(struct hcs_conn *c, struct hcs_process *proc, uint32_t *code,
	     struct err *e);
/* Process.Signal (@signal 0: Kill, no Options); *@delivered as it says. */
int hcs_signal(struct hcs_conn *c, const struct hcs_process *proc, int signal,
	       bool *delivered, struct err *e);
int hcs_resize(struct hcs_conn *c, const struct hcs_process *proc,
	       uint16_t width, uint16_t height, struct err *e);
void hcs_process_close(struct hcs_process *proc);

/* GuestConnection.Modify with @request_json as ModificationRequest. */
int hcs_modify(struct hcs_conn *c, const char *request_json, struct err *e);
/* GuestConnection.DumpStacks; *@stacks is malloc()ed. */
int hcs_dump_stacks(struct hcs_conn *c, char **stacks, struct err *e);
int hcs_delete_container_state(struct hcs_conn *c, const char *cid,
			       struct err *e);

/*
 * A call with a raw body (no trailing newline added), for cases the host
 * never builds itself; the response checks are the same. *@result gets the
 * response's Result, and @e the rpcError text when it is not 0.
 */
int hcs_rpc_raw(struct hcs_conn *c, uint32_t proc, const char *body,
		int32_t *result, struct err *e);

#endif
