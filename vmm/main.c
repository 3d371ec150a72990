// SPDX-License-Identifier: MIT
/*
 * vmm: one process per virtual machine. The main thread runs the event
 * loop; each vCPU has a thread of its own. With --api-sock the process
 * serves the control socket and outlives its VM until Quit or a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/api/api.h"
#include "vmm/api/config_json.h"
#include "vmm/api/machine.h"
#include "vmm/metrics_export.h"
#include "cli.h"
#include "snapshot.h"
#include "fd_budget.h"
#include "vm.h"

#define NSEC_PER_SEC 1000000000ULL

struct vmm {
	struct vm_config cfg;
	char *log_id; /* a --config file's log_id, for InspectVM and events */
	struct cli_opts opts;
	struct snapshot snap; /* --restore */
	struct seccomp_filters seccomp;
	struct event_loop loop;
	struct vm vm;
	struct api api;
	int signal_fd;
	struct event_source signal_src;
	struct metrics metrics;
	struct metrics_file metrics_file;
	bool metrics_file_open;
	/* A SIGTERM pressed the power button; the guest has this long. */
	struct event_timer shutdown_timer;
	bool shutting_down;
};

/* The VM the process runs now, or NULL (the API has none, or it halted). */
static struct vm *vmm_live_vm(struct vmm *vmm)
{
	if (!vmm->opts.api_sock)
		return &vmm->vm;
	if (vmm->api.state == API_STATE_PAUSED ||
	    vmm->api.state == API_STATE_RUNNING)
		return &vmm->api.vm;
	return NULL;
}

/* Ends the process, and the VM with it, as signal @signo asks. */
static void vmm_stop(struct vmm *vmm, int signo)
{
	if (vmm->opts.api_sock)
		api_stop(&vmm->api, VMM_EXIT_SIGNAL_BASE + signo);
	else
		vm_request_exit(&vmm->vm, VM_EXIT_SIGNAL, signo);
}

static void vmm_shutdown_expired(void *opaque)
{
	struct vmm *vmm = opaque;

	log_warn("the guest did not power off within %u s of SIGTERM; stopping it",
		 vmm->opts.shutdown_timeout_s);
	vmm_stop(vmm, SIGTERM);
}

/*
 * --shutdown-timeout: the first SIGTERM presses the power button and
 * gives the guest that long; the process then ends with the VM, as the
 * guest's power-off makes it. False when there is nothing to press.
 */
static bool vmm_begin_shutdown(struct vmm *vmm)
{
	struct vm *vm = vmm_live_vm(vmm);
	uint64_t timeout = vmm->opts.shutdown_timeout_s * NSEC_PER_SEC;
	struct err e = { "" };

	if (!vm || !vm->power)
		return false;
	if (event_timer_init(&vmm->shutdown_timer, &vmm->loop,
			     vmm_shutdown_expired, vmm, &e) < 0 ||
	    event_timer_arm(&vmm->shutdown_timer, timeout, 0) < 0 ||
	    vm->power->press(vm->power->opaque, &e) < 0) {
		log_warn("SIGTERM: cannot ask the guest to power off: %s",
			 e.msg[0] ? e.msg : strerror(errno));
		return false;
	}
	if (vmm->opts.api_sock)
		vmm->api.exit_with_vm = true;
	log_info("SIGTERM: asked the guest to power off; stopping it in %u s if it has not",
		 vmm->opts.shutdown_timeout_s);
	return true;
}

static void vmm_on_signal(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vmm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGTERM && vmm->opts.shutdown_timeout_s &&
	    !vmm->shutting_down) {
		vmm->shutting_down = true;
		if (vmm_begin_shutdown(vmm))
			return;
	}
	log_info("received signal %u (%s); stopping the VM", si.ssi_signo,
		 strsignal((int)si.ssi_signo));
	vmm_stop(vmm, (int)si.ssi_signo);
}

/*
 * SIGINT, SIGTERM and SIGHUP arrive through a signalfd on the event loop;
 * they are blocked before any thread starts so every thread inherits that.
 */
static int vmm_block_signals(struct vmm *vmm, struct err *e)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return err_set(e, "blocking signals failed");
	vmm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vmm->signal_fd < 0)
		return err_errno(e, "signalfd");
	return 0;
}

static int vmm_watch_signals(struct vmm *vmm, struct err *e)
{
	vmm->signal_src = (struct event_source){
		.fd = vmm->signal_fd, .events = EPOLLIN,
		.fn = vmm_on_signal, .opaque = vmm,
	};
	if (event_loop_add(&vmm->loop, &vmm->signal_src) < 0)
		return err_errno(e, "epoll");
	return 0;
}

/* The loop, the signals and the metrics file, for either way of running. */
static int vmm_start_process(struct vmm *vmm, struct err *e)
{
	if (vmm_block_signals(vmm, e) < 0 ||
	    event_loop_init(&vmm->loop, e) < 0)
		return -1;
	if (vmm->opts.metrics) {
		if (metrics_file_start(&vmm->metrics_file, &vmm->loop,
				       &vmm->metrics, vmm->opts.metrics,
				       vmm->opts.metrics_interval_s, e) < 0)
			return -1;
		vmm->metrics_file_open = true;
	}
	return 0;
}

/* Writes the metrics file a last time, while the VM's counters exist. */
static void vmm_stop_metrics(struct vmm *vmm)
{
	if (vmm->metrics_file_open)
		metrics_file_stop(&vmm->metrics_file);
	vmm->metrics_file_open = false;
}

/* Frees what the process set up. */
static void vmm_end_process(struct vmm *vmm)
{
	vmm_stop_metrics(vmm);
	event_timer_destroy(&vmm->shutdown_timer);
	event_loop_destroy(&vmm->loop);
}

/* From the command line, the process lives exactly as long as its VM. */
static void vmm_on_vm_exit(struct vm *vm, void *opaque)
{
	(void)vm;
	event_loop_stop(opaque);
}

/* Boots the config's VM, or restores --restore's snapshot. */
static int vmm_machine(struct vmm *vmm, enum machine_error *why,
		       struct err *e)
{
	if (vmm->opts.restore) {
		vm_config_free(&vmm->cfg);
		vmm->cfg = vmm->snap.cfg;
		vm_config_init(&vmm->snap.cfg);
		return machine_restore(&vmm->vm, &vmm->snap, &vmm->cfg,
				       &vmm->loop, &vmm->metrics, &vmm->seccomp,
				       vmm_on_vm_exit, &vmm->loop, why, e);
	}
	return machine_build(&vmm->vm, &vmm->cfg, &vmm->loop, &vmm->metrics,
			     &vmm->seccomp, vmm_on_vm_exit, &vmm->loop, why, e);
}

/*
 * Set-up is over: into the chroot, down to the user, and the event loop
 * (this thread) under its filter. vCPU threads take theirs when they
 * first run.
 */
static int vmm_confine(struct vmm *vmm, enum seccomp_thread kind,
		       struct err *e)
{
	if (confine_process(&vmm->opts.confine, e) < 0)
		return -1;
	return seccomp_filters_apply(&vmm->seccomp, kind, e);
}

/* Creates, boots and runs the VM; returns the process exit status. */
static int vmm_run(struct vmm *vmm)
{
	struct err e = { "" };
	enum vm_exit_reason reason;
	enum machine_error why;
	int status, ret;

	if (vmm_start_process(vmm, &e) < 0)
		goto host_error;
	if (vmm_machine(vmm, &why, &e) < 0) {
		log_error("%s", e.msg);
		ret = machine_error_status(why);
		goto out;
	}
	if (vmm_watch_signals(vmm, &e) < 0 ||
	    vmm_confine(vmm, SECCOMP_THREAD_LOOP, &e) < 0) {
		vm_destroy(&vmm->vm);
		goto host_error;
	}
	vm_resume(&vmm->vm);
	if (event_loop_run(&vmm->loop) < 0)
		vm_request_exit(&vmm->vm, VM_EXIT_NONE, 0);
	reason = vm_wait_exit(&vmm->vm, &status);
	ret = machine_exit_status(reason, status);
	vmm_stop_metrics(vmm);
	vm_destroy(&vmm->vm);
	goto out;
host_error:
	log_error("%s", e.msg);
	ret = VMM_EXIT_HOST_ERROR;
out:
	vmm_end_process(vmm);
	return ret;
}

/*
 * Serves the control socket; boots the command line's VM first when it
 * names a kernel or firmware. Returns the process exit status.
 */
static int vmm_serve(struct vmm *vmm)
{
	struct err e = { "" };
	enum machine_error why;
	int ret;

	if (vmm_start_process(vmm, &e) < 0) {
		log_error("%s", e.msg);
		vmm_end_process(vmm);
		return VMM_EXIT_HOST_ERROR;
	}
	if (api_open(&vmm->api, &vmm->loop, vmm->opts.api_sock,
		     &vmm->metrics, &vmm->seccomp, &e) < 0 ||
	    vmm_watch_signals(vmm, &e) < 0) {
		log_error("%s", e.msg);
		ret = VMM_EXIT_HOST_ERROR;
		goto out;
	}
	vmm->api.exit_with_vm = vmm->opts.exit_with_vm;
	if (vmm->opts.restore ?
		    api_run_snapshot(&vmm->api, &vmm->snap, !vmm->opts.paused,
				     &why, &e) < 0 :
		    vm_config_bootable(&vmm->cfg) &&
			    api_run_vm(&vmm->api, &vmm->cfg, vmm->log_id, &why,
				       &e) < 0) {
		vmm->log_id = NULL;
		log_error("%s", e.msg);
		ret = machine_error_status(why);
		goto out;
	}
	vmm->log_id = NULL; /* the API's now */
	if (vmm_confine(vmm, SECCOMP_THREAD_LOOP_API, &e) < 0) {
		log_error("%s", e.msg);
		ret = VMM_EXIT_HOST_ERROR;
		goto out;
	}
	ret = event_loop_run(&vmm->loop) < 0 ? VMM_EXIT_HOST_ERROR :
					       vmm->api.exit_code;
out:
	vmm_stop_metrics(vmm);
	api_close(&vmm->api);
	vmm_end_process(vmm);
	return ret;
}

static int vmm_build_filters(struct vmm *vmm)
{
	struct err e;

	if (seccomp_filters_build(&vmm->seccomp, vmm->opts.seccomp, &e) < 0) {
		log_error("%s", e.msg);
		return -1;
	}
	return 0;
}

/*
 * A closed stdin, stdout or stderr would be handed out again by the next
 * open(): /dev/kvm could then pass for the console. /dev/null holds them.
 */
static void vmm_hold_stdio(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int null;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		null = open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
		if (null >= 0 && null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
}

/* --restore: the snapshot, checked, with the command line's host ends. */
static int vmm_open_snapshot(struct vmm *vmm, struct err *e)
{
	struct snapshot_overrides ov = { .console = vmm->opts.console_given };
	int ret;

	if (access(vmm->opts.restore, F_OK) < 0) {
		err_errno(e, "--restore %s", vmm->opts.restore);
		return VMM_EXIT_NO_INPUT;
	}
	if (snapshot_open(&vmm->snap, vmm->opts.restore, e) < 0)
		return VMM_EXIT_BAD_IMAGE;
	ov.cfg = vmm->cfg;
	vm_config_init(&vmm->cfg);
	memcpy(ov.serial, vmm->opts.serial_given, sizeof(ov.serial));
	ret = snapshot_override(&vmm->snap, &ov, e);
	snapshot_overrides_free(&ov);
	return ret < 0 ? VMM_EXIT_USAGE : VMM_EXIT_OK;
}

/* --config FILE: the VM as CreateVM would build it. */
static int vmm_load_config(struct vmm *vmm)
{
	struct err e = { "" };
	bool unreadable;

	vm_config_free(&vmm->cfg);
	if (config_from_file(vmm->opts.config, &vmm->cfg, &vmm->log_id,
			     &unreadable, &e) < 0) {
		log_error("--config %s", e.msg);
		return unreadable ? VMM_EXIT_NO_INPUT : VMM_EXIT_USAGE;
	}
	return VMM_EXIT_OK;
}

/* Checks the VM's config; returns the exit status of what is wrong, or 0. */
static int vmm_check_vm(struct vmm *vmm)
{
	struct err e = { "" };

	if (vmm->opts.config) {
		int ret = vmm_load_config(vmm);

		if (ret != VMM_EXIT_OK)
			return ret;
	} else if (cli_validate(&vmm->cfg, CONFIG_MAX_CPUS, &e) < 0) {
		log_error("%s", e.msg);
		return VMM_EXIT_USAGE;
	}
	if (vm_config_check_files(&vmm->cfg, &e) < 0) {
		log_error("%s", e.msg);
		return VMM_EXIT_NO_INPUT;
	}
	return VMM_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct vmm *vmm;
	struct err e = { "" };
	int ret;

	vmm_hold_stdio();
	/* Before anything sizes itself by it (lib/listener.h, fd_budget.h). */
	fd_limit_raise();
	vmm = calloc(1, sizeof(*vmm));
	if (!vmm) {
		fputs("vmm: out of memory\n", stderr);
		return VMM_EXIT_HOST_ERROR;
	}
	vmm->signal_fd = -1;
	metrics_init(&vmm->metrics);
	vm_config_init(&vmm->cfg);
	switch (cli_parse_opts(argc, argv, &vmm->cfg, &vmm->opts, &e)) {
	case CLI_EXIT_OK:
		ret = VMM_EXIT_OK;
		goto out;
	case CLI_ERROR:
		fprintf(stderr, "vmm: %s\n", e.msg);
		ret = VMM_EXIT_USAGE;
		goto out;
	case CLI_RUN:
		break;
	}
	log_setup("vmm", vmm->opts.log_level, vmm->opts.log_format);
	if (vmm->opts.restore) {
		ret = vmm_open_snapshot(vmm, &e);
		if (ret != VMM_EXIT_OK) {
			log_error("%s", e.msg);
			goto out;
		}
		if (vmm_build_filters(vmm) < 0)
			ret = VMM_EXIT_HOST_ERROR;
		else
			ret = vmm->opts.api_sock ? vmm_serve(vmm) : vmm_run(vmm);
		goto out;
	}
	if (vmm->opts.api_sock && !vmm->opts.config &&
	    !cli_has_vm_options(&vmm->cfg)) {
		ret = vmm_build_filters(vmm) < 0 ? VMM_EXIT_HOST_ERROR :
						   vmm_serve(vmm);
		goto out;
	}
	if (vmm->opts.api_sock && !vmm->opts.config &&
	    !vm_config_bootable(&vmm->cfg)) {
		log_error("VM options need --kernel or --firmware; without them the VM comes from CreateVM on the control socket");
		ret = VMM_EXIT_USAGE;
		goto out;
	}
	ret = vmm_check_vm(vmm);
	if (ret != VMM_EXIT_OK)
		goto out;
	if (vmm_build_filters(vmm) < 0) {
		ret = VMM_EXIT_HOST_ERROR;
		goto out;
	}
	ret = vmm->opts.api_sock ? vmm_serve(vmm) : vmm_run(vmm);
out:
	seccomp_filters_free(&vmm->seccomp);
	if (vmm->signal_fd >= 0)
		close(vmm->signal_fd);
	vm_config_free(&vmm->cfg);
	snapshot_close(&vmm->snap);
	free(vmm->log_id);
	cli_opts_free(&vmm->opts);
	free(vmm);
	return ret;
}
