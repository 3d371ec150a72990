/* SPDX-License-Identifier: MIT */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>

#include "config.h"
#include "confine.h"
#include "seccomp.h"

/* Process exit statuses (sysexits.h values where one fits). */
enum vmm_exit_status {
	VMM_EXIT_OK = 0,
	VMM_EXIT_USAGE = 64,       /* bad command line */
	VMM_EXIT_BAD_IMAGE = 65,   /* kernel or initrd unusable */
	VMM_EXIT_NO_INPUT = 66,    /* a file given does not exist or is unreadable */
	VMM_EXIT_NO_KVM = 69,      /* /dev/kvm missing, forbidden or lacking */
	VMM_EXIT_VCPU_ERROR = 70,  /* a vCPU stopped on an error */
	VMM_EXIT_HOST_ERROR = 71,  /* a host resource failed (memory, sockets) */
	VMM_EXIT_SECCOMP = SECCOMP_EXIT_STATUS, /* a forbidden system call */
	VMM_EXIT_SIGNAL_BASE = 128 /* + signal number, as shells report it */
};

enum cli_result {
	CLI_RUN,
	CLI_EXIT_OK, /* --help or --version was printed */
	CLI_ERROR,
};

/* What the command line says beyond the VM's config. */
struct cli_opts {
	char *api_sock;      /* --api-sock PATH, or NULL */
	char *config;        /* --config FILE.json, or NULL */
	char *restore;       /* --restore DIR, or NULL */
	bool paused;         /* --paused: a restored VM waits for ResumeVM */
	/*
	 * With --restore the device flags name host ends for the snapshot's
	 * devices (docs/snapshot.md); which serial ports and whether the
	 * console were given.
	 */
	bool serial_given[CONFIG_NR_SERIAL];
	bool console_given;
	enum log_level log_level;
	enum log_format log_format;
	char *metrics;       /* --metrics FILE, or NULL */
	unsigned int metrics_interval_s;
	/* --shutdown-timeout: SIGTERM presses the power button first. */
	unsigned int shutdown_timeout_s;
	bool exit_with_vm;   /* --exit-with-vm */
	enum seccomp_mode seccomp; /* --seccomp, kill unless told */
	struct confine_opts confine; /* --user, --chroot */
};

#define CLI_METRICS_INTERVAL_S 10
#define CLI_TIMEOUT_MAX_S 86400

/* Fills @cfg from argv; on CLI_ERROR @e says which flag is wrong and why. */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg,
			  struct err *e);
/*
 * The same, with the process options in @opts (cli_opts_free() them).
 * @cfg is left as vm_config_init() made it when --config names the VM.
 */
enum cli_result cli_parse_opts(int argc, char **argv, struct vm_config *cfg,
			       struct cli_opts *opts, struct err *e);
void cli_opts_free(struct cli_opts *opts);

/* True when the command line gave any VM option (--kernel, --memory, ...). */
bool cli_has_vm_options(const struct vm_config *cfg);

/*
 * vm_config_validate() with the bad field named by its flag:
 * "--memory 1: a guest needs at least 2 MiB".
 */
int cli_validate(const struct vm_config *cfg, unsigned int max_cpus,
		 struct err *e);

#endif
