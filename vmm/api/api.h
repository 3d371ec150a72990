/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_API_H
#define VMM_API_API_H

#include <stdbool.h>

#include "vmm/api/machine.h"
#include "vmm/api/server.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

/*
 * The control API: the JSON-RPC methods of docs/api.md on a Unix socket,
 * driving at most one VM at a time. Everything runs on the event loop
 * thread; the VM's vCPUs report their exit through an eventfd.
 */

enum api_state {
	API_STATE_NONE,      /* no VM yet: waiting for CreateVM */
	API_STATE_PAUSED,    /* created (not started yet) or paused */
	API_STATE_RUNNING,
	API_STATE_HALTED,    /* the guest stopped; its resources are held */
	API_STATE_TORN_DOWN, /* TeardownVM released it; CreateVM may follow */
};

/* The methods api_dispatch() knows (methods.c), and one more: unknown. */
#define API_NR_METHODS 22

/* Calls and failed calls, by method (docs/metrics.md). */
struct api_counters {
	uint64_t requests[API_NR_METHODS + 1];
	uint64_t errors[API_NR_METHODS + 1];
};

struct api {
	struct event_loop *loop;
	struct api_server srv;
	bool srv_open;

	/* Where the API's and its VM's counters are registered. */
	struct metrics *metrics;
	struct api_counters counters;
	struct metric_desc metric_descs[2 * (API_NR_METHODS + 1)];
	struct metrics_group metrics_group;

	enum api_state state;
	bool has_vm; /* @vm and @cfg hold a VM (paused, running or halted) */
	struct vm vm;
	struct vm_config cfg;
	char *log_id;
	enum vm_exit_reason exit_reason;
	int exit_status;

	struct api_call *waiters; /* WaitVM calls, answered when the VM stops */
	unsigned int device_calls; /* calls a device is answering */

	/* The filters the VMs' vCPU threads confine themselves with. */
	const struct seccomp_filters *seccomp;

	int exit_fd; /* written by vCPU threads when the VM must stop */
	struct event_source exit_src;

	bool stopping;
	int exit_code; /* the process's exit status once the loop ends */
	/* The process ends with the VM (--exit-with-vm, a SIGTERM shutdown). */
	bool exit_with_vm;
};

/*
 * Opens the control socket at @path on @loop; no VM exists yet. The
 * API's counters, and those of the VMs it creates, go to @metrics; those
 * VMs confine their vCPU threads with @seccomp (NULL: none).
 */
int api_open(struct api *api, struct event_loop *loop, const char *path,
	     struct metrics *metrics, const struct seccomp_filters *seccomp,
	     struct err *e);

/*
 * Builds and starts the VM the command line or a --config file described;
 * @cfg and @log_id (the file's, or NULL) move into the API (@cfg is left
 * empty). The socket then controls that VM.
 */
int api_run_vm(struct api *api, struct vm_config *cfg, char *log_id,
	       enum machine_error *why, struct err *e);

/*
 * Restores the snapshot --restore named (snapshot_open() and overrides
 * done; its config moves into the API) and resumes it unless @resume is
 * false (--paused).
 */
int api_run_snapshot(struct api *api, struct snapshot *snap, bool resume,
		     enum machine_error *why, struct err *e);

/* Ends the process's event loop with @exit_code (signals, Quit). */
void api_stop(struct api *api, int exit_code);

/* Releases the VM and closes the socket (after the loop ended). */
void api_close(struct api *api);

/* Name of a state and of an exit reason as the API reports them. */
const char *api_state_name(enum api_state state);
const char *api_exit_reason_name(enum vm_exit_reason reason);

/* The method table and its dispatcher (methods.c). */
void api_dispatch(struct api *api, struct api_call *call,
		  const struct rpc_request *req);
/* Describes and registers the API's counters (methods.c). */
void api_metrics_init(struct api *api);
/* Ends the calls of @client that the API keeps (client_gone). */
void api_forget_client(struct api *api, struct api_client *client);

/*
 * Lifecycle steps the methods share (api.c). api_create_vm() builds the
 * VM @cfg describes, paused; @cfg moves into the API (it is left empty).
 */
int api_create_vm(struct api *api, struct vm_config *cfg, char *log_id,
		  enum machine_error *why, struct err *e);
/* The same from a snapshot (RestoreVM, --restore): paused. */
int api_restore_vm(struct api *api, struct snapshot *snap, char *log_id,
		   enum machine_error *why, struct err *e);
void api_set_running(struct api *api, bool running);
/* Records the halt (if not yet), joins the vCPUs, answers WaitVM calls. */
void api_vm_halted(struct api *api);
void api_teardown(struct api *api);
/* Sends a VMEvent notification to subscribers. */
void api_event(struct api *api, const char *event);

#endif
