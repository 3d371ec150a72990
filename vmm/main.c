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
#include "vmm/api/machine.h"
#include "cli.h"
#include "vm.h"

struct vmm {
	struct vm_config cfg;
	struct cli_opts opts;
	struct event_loop loop;
	struct vm vm;
	struct api api;
	int signal_fd;
	struct event_source signal_src;
};

static void vmm_on_signal(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vmm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received signal %u (%s); stopping the VM", si.ssi_signo,
		 strsignal((int)si.ssi_signo));
	if (vmm->opts.api_sock)
		api_stop(&vmm->api, VMM_EXIT_SIGNAL_BASE + (int)si.ssi_signo);
	else
		vm_request_exit(&vmm->vm, VM_EXIT_SIGNAL, (int)si.ssi_signo);
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

static int vmm_exit_status(enum vm_exit_reason reason, int status)
{
	switch (reason) {
	case VM_EXIT_GUEST_STATUS:
		return status;
	case VM_EXIT_POWEROFF:
		log_info("guest powered off");
		return VMM_EXIT_OK;
	case VM_EXIT_RESET:
		log_info("guest reset; the VM ends");
		return VMM_EXIT_OK;
	case VM_EXIT_SIGNAL:
		return VMM_EXIT_SIGNAL_BASE + status;
	case VM_EXIT_VCPU_ERROR:
		return VMM_EXIT_VCPU_ERROR;
	case VM_EXIT_NONE:
	case VM_EXIT_TEARDOWN:
		break;
	}
	return VMM_EXIT_HOST_ERROR;
}

/* From the command line, the process lives exactly as long as its VM. */
static void vmm_on_vm_exit(struct vm *vm, void *opaque)
{
	(void)vm;
	event_loop_stop(opaque);
}

static int machine_status(enum machine_error why)
{
	switch (why) {
	case MACHINE_ERR_NO_KVM:
		return VMM_EXIT_NO_KVM;
	case MACHINE_ERR_BAD_IMAGE:
		return VMM_EXIT_BAD_IMAGE;
	case MACHINE_ERR_HOST:
		break;
	}
	return VMM_EXIT_HOST_ERROR;
}

/* Creates, boots and runs the VM; returns the process exit status. */
static int vmm_run(struct vmm *vmm)
{
	struct err e = { "" };
	enum vm_exit_reason reason;
	enum machine_error why;
	int status, ret;

	if (vmm_block_signals(vmm, &e) < 0 || event_loop_init(&vmm->loop, &e) < 0)
		goto host_error;
	if (machine_build(&vmm->vm, &vmm->cfg, &vmm->loop, vmm_on_vm_exit,
			  &vmm->loop, &why, &e) < 0) {
		log_error("%s", e.msg);
		ret = machine_status(why);
		goto out;
	}
	if (vmm_watch_signals(vmm, &e) < 0) {
		vm_destroy(&vmm->vm);
		goto host_error;
	}
	vm_resume(&vmm->vm);
	if (event_loop_run(&vmm->loop) < 0)
		vm_request_exit(&vmm->vm, VM_EXIT_NONE, 0);
	reason = vm_wait_exit(&vmm->vm, &status);
	ret = vmm_exit_status(reason, status);
	vm_destroy(&vmm->vm);
	goto out;
host_error:
	log_error("%s", e.msg);
	ret = VMM_EXIT_HOST_ERROR;
out:
	event_loop_destroy(&vmm->loop);
	return ret;
}

/*
 * Serves the control socket; boots the command line's VM first when it
 * names a kernel. Returns the process exit status.
 */
static int vmm_serve(struct vmm *vmm)
{
	struct err e = { "" };
	enum machine_error why;
	int ret;

	if (vmm_block_signals(vmm, &e) < 0 || event_loop_init(&vmm->loop, &e) < 0) {
		log_error("%s", e.msg);
		event_loop_destroy(&vmm->loop);
		return VMM_EXIT_HOST_ERROR;
	}
	if (api_open(&vmm->api, &vmm->loop, vmm->opts.api_sock, &e) < 0 ||
	    vmm_watch_signals(vmm, &e) < 0) {
		log_error("%s", e.msg);
		ret = VMM_EXIT_HOST_ERROR;
		goto out;
	}
	if (vm_config_bootable(&vmm->cfg) && api_run_vm(&vmm->api, &vmm->cfg, &why, &e) < 0) {
		log_error("%s", e.msg);
		ret = machine_status(why);
		goto out;
	}
	ret = event_loop_run(&vmm->loop) < 0 ? VMM_EXIT_HOST_ERROR :
					       vmm->api.exit_code;
out:
	api_close(&vmm->api);
	event_loop_destroy(&vmm->loop);
	return ret;
}

/* Without --kernel or --firmware, VM options have nothing to apply to. */
static int check_api_only(const struct vm_config *cfg, struct err *e)
{
	struct vm_config def;
	bool same;

	vm_config_init(&def);
	same = cfg->mem_mib == def.mem_mib && cfg->nr_cpus == def.nr_cpus &&
	       !cfg->hugepages && !cfg->initrd && !cfg->cmdline &&
	       !cfg->nr_disks && !cfg->nr_nets &&
	       cfg->console.kind == def.console.kind &&
	       cfg->transport == def.transport;
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++)
		same = same && cfg->serial[i].kind == def.serial[i].kind;
	vm_config_free(&def);
	if (same)
		return 0;
	return err_set(e, "VM options need --kernel or --firmware; without them the VM comes from CreateVM on the control socket");
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

int main(int argc, char **argv)
{
	struct vmm *vmm;
	struct err e = { "" };
	int ret;

	vmm_hold_stdio();
	vmm = calloc(1, sizeof(*vmm));
	if (!vmm) {
		fputs("vmm: out of memory\n", stderr);
		return VMM_EXIT_HOST_ERROR;
	}
	vmm->signal_fd = -1;
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
	if (vmm->opts.api_sock && !vm_config_bootable(&vmm->cfg)) {
		if (check_api_only(&vmm->cfg, &e) < 0) {
			fprintf(stderr, "vmm: %s\n", e.msg);
			ret = VMM_EXIT_USAGE;
			goto out;
		}
		ret = vmm_serve(vmm);
		goto out;
	}
	if (cli_validate(&vmm->cfg, CONFIG_MAX_CPUS, &e) < 0) {
		fprintf(stderr, "vmm: %s\n", e.msg);
		ret = VMM_EXIT_USAGE;
		goto out;
	}
	if (vm_config_check_files(&vmm->cfg, &e) < 0) {
		fprintf(stderr, "vmm: %s\n", e.msg);
		ret = VMM_EXIT_NO_INPUT;
		goto out;
	}
	ret = vmm->opts.api_sock ? vmm_serve(vmm) : vmm_run(vmm);
out:
	if (vmm->signal_fd >= 0)
		close(vmm->signal_fd);
	vm_config_free(&vmm->cfg);
	cli_opts_free(&vmm->opts);
	free(vmm);
	return ret;
}
