// SPDX-License-Identifier: MIT
/*
 * The control API's VM lifecycle: one VM at a time, created paused,
 * running, paused again, halted when the guest stops, torn down on request.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/json.h"
#include "vmm/cli.h"

const char *api_state_name(enum api_state state)
{
	switch (state) {
	case API_STATE_NONE:
		return "not_created";
	case API_STATE_PAUSED:
		return "paused";
	case API_STATE_RUNNING:
		return "running";
	case API_STATE_HALTED:
		return "halted";
	case API_STATE_TORN_DOWN:
		return "torn_down";
	}
	return "unknown";
}

const char *api_exit_reason_name(enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_NONE:
		return "none";
	case VM_EXIT_GUEST_STATUS:
		return "guest_status";
	case VM_EXIT_POWEROFF:
		return "poweroff";
	case VM_EXIT_RESET:
		return "reset";
	case VM_EXIT_SIGNAL:
		return "signal";
	case VM_EXIT_VCPU_ERROR:
		return "vcpu_error";
	case VM_EXIT_TEARDOWN:
		return "teardown";
	}
	return "unknown";
}

void api_event(struct api *api, const char *event)
{
	struct json_object *p = json_object_new_object();

	if (!p || json_add_string(p, "event", event) < 0 ||
	    json_add_string(p, "state", api_state_name(api->state)) < 0 ||
	    (api->log_id && json_add_string(p, "log_id", api->log_id) < 0)) {
		json_object_put(p);
		return;
	}
	if (!strcmp(event, "halted") &&
	    (json_add_string(p, "exit_reason",
			   api_exit_reason_name(api->exit_reason)) < 0 ||
	     json_add(p, "exit_status", json_object_new_int(api->exit_status)) < 0)) {
		json_object_put(p);
		return;
	}
	api_server_notify(&api->srv, "VMEvent", p);
}

/* vm->on_exit: any thread, so only a wake-up for the loop thread. */
static void api_on_vm_exit(struct vm *vm, void *opaque)
{
	struct api *api = opaque;
	uint64_t one = 1;

	(void)vm;
	if (write(api->exit_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("control socket: waking the event loop: %s",
			 strerror(errno));
}

void api_vm_halted(struct api *api)
{
	struct api_call *call;

	if (!api->has_vm || api->state == API_STATE_HALTED)
		return;
	api->exit_reason = vm_wait_exit(&api->vm, &api->exit_status);
	/* The vCPU threads are ending; their CPU times are final after this. */
	vm_stop(&api->vm);
	api->state = API_STATE_HALTED;
	api_event(api, "halted");
	while ((call = api->waiters)) {
		api->waiters = call->next;
		api_call_reply(call, NULL);
	}
}

static void api_on_exit_fd(void *opaque, uint32_t events)
{
	struct api *api = opaque;
	uint64_t v;

	(void)events;
	if (read(api->exit_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("control socket: eventfd: %s", strerror(errno));
	if (!api->has_vm || api->state == API_STATE_HALTED ||
	    __atomic_load_n(&api->vm.exit_reason, __ATOMIC_ACQUIRE) == VM_EXIT_NONE)
		return;
	api_vm_halted(api);
	/* Ctrl-A x on a stdio console ends the process, as without the API. */
	if (api->exit_with_vm || api->exit_reason == VM_EXIT_SIGNAL)
		api_stop(api, machine_exit_status(api->exit_reason,
						  api->exit_status));
}

/* A VM was just built or restored, paused: the API drives it from now on. */
static void api_adopt_vm(struct api *api, char *log_id, const char *event)
{
	free(api->log_id);
	api->log_id = log_id;
	api->has_vm = true;
	api->exit_reason = VM_EXIT_NONE;
	api->exit_status = 0;
	api->state = API_STATE_PAUSED;
	api_event(api, event);
}

int api_create_vm(struct api *api, struct vm_config *cfg, char *log_id,
		  enum machine_error *why, struct err *e)
{
	api->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (machine_build(&api->vm, &api->cfg, api->loop, api->metrics,
			  api->seccomp,
			  api_on_vm_exit, api, why, e) < 0) {
		vm_config_free(&api->cfg);
		free(log_id);
		return -1;
	}
	api_adopt_vm(api, log_id, "created");
	return 0;
}

int api_restore_vm(struct api *api, struct snapshot *snap, char *log_id,
		   enum machine_error *why, struct err *e)
{
	api->cfg = snap->cfg;
	vm_config_init(&snap->cfg);
	if (machine_restore(&api->vm, snap, &api->cfg, api->loop, api->metrics,
			    api->seccomp, api_on_vm_exit, api, why, e) < 0) {
		vm_config_free(&api->cfg);
		free(log_id);
		return -1;
	}
	api_adopt_vm(api, log_id, "restored");
	return 0;
}

void api_set_running(struct api *api, bool running)
{
	if (running) {
		vm_resume(&api->vm);
		api->state = API_STATE_RUNNING;
		api_event(api, "running");
	} else {
		vm_pause(&api->vm);
		api->state = API_STATE_PAUSED;
		api_event(api, "paused");
	}
}

void api_teardown(struct api *api)
{
	if (!api->has_vm)
		return;
	if (api->state != API_STATE_HALTED) {
		vm_request_exit(&api->vm, VM_EXIT_TEARDOWN, 0);
		api_vm_halted(api);
	}
	vm_destroy(&api->vm);
	vm_config_free(&api->cfg);
	api->has_vm = false;
	api->state = API_STATE_TORN_DOWN;
	api_event(api, "torn_down");
}

int api_run_vm(struct api *api, struct vm_config *cfg, char *log_id,
	       enum machine_error *why, struct err *e)
{
	if (api_create_vm(api, cfg, log_id, why, e) < 0)
		return -1;
	api_set_running(api, true);
	return 0;
}

int api_run_snapshot(struct api *api, struct snapshot *snap, bool resume,
		     enum machine_error *why, struct err *e)
{
	if (api_restore_vm(api, snap, NULL, why, e) < 0)
		return -1;
	if (resume)
		api_set_running(api, true);
	return 0;
}

void api_stop(struct api *api, int exit_code)
{
	if (api->stopping)
		return;
	api->stopping = true;
	api->exit_code = exit_code;
	event_loop_stop(api->loop);
}

static void api_on_request(void *opaque, struct api_call *call,
			   const struct rpc_request *req)
{
	api_dispatch(opaque, call, req);
}

static void api_on_client_gone(void *opaque, struct api_client *client)
{
	api_forget_client(opaque, client);
}

int api_open(struct api *api, struct event_loop *loop, const char *path,
	     struct metrics *metrics, const struct seccomp_filters *seccomp,
	     struct err *e)
{
	static const struct api_server_ops ops = {
		.request = api_on_request,
		.client_gone = api_on_client_gone,
	};

	memset(api, 0, sizeof(*api));
	api->loop = loop;
	api->seccomp = seccomp;
	api->metrics = metrics;
	api->vm.fd = -1;
	api_metrics_init(api);
	api->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (api->exit_fd < 0)
		return err_errno(e, "control socket: eventfd");
	api->exit_src = (struct event_source){
		.fd = api->exit_fd, .events = EPOLLIN, .fn = api_on_exit_fd,
		.opaque = api,
	};
	if (event_loop_add(loop, &api->exit_src) < 0)
		return err_errno(e, "control socket: epoll");
	if (api_server_open(&api->srv, path, loop, &ops, api, e) < 0)
		return -1;
	api->srv_open = true;
	return 0;
}

void api_close(struct api *api)
{
	api_teardown(api);
	metrics_remove(api->metrics, &api->metrics_group);
	if (api->srv_open)
		api_server_close(&api->srv);
	api->srv_open = false;
	if (api->exit_fd >= 0) {
		event_loop_remove(api->loop, &api->exit_src);
		close(api->exit_fd);
	}
	api->exit_fd = -1;
	free(api->log_id);
	api->log_id = NULL;
}
