// SPDX-License-Identifier: MIT
#include "cli.h"
#include "config_devices.h"
#include "version.h"
#include "vmm/arch.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cli_opt {
	OPT_KERNEL = 'k',
	OPT_INITRD = 'i',
	OPT_CMDLINE = 'c',
	OPT_MEMORY = 'm',
	OPT_CPUS = 'p',
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_SERIAL = 256,
	OPT_HUGEPAGES,
	OPT_DISK,
	OPT_NET,
	OPT_CONSOLE,
	OPT_VSOCK,
	OPT_VSOCK_LISTEN,
	OPT_BALLOON,
	OPT_TRANSPORT,
	OPT_API_SOCK,
	OPT_FIRMWARE,
	OPT_RESTORE,
	OPT_PAUSED,
	OPT_MMIO_CMDLINE,
	OPT_SECCOMP,
	OPT_USER,
	OPT_CHROOT,
	OPT_CONFIG,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_METRICS,
	OPT_METRICS_INTERVAL,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_EXIT_WITH_VM,
	OPT_LAST = OPT_EXIT_WITH_VM,
};

static const struct option cli_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "vsock-listen", required_argument, NULL, OPT_VSOCK_LISTEN },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "firmware", required_argument, NULL, OPT_FIRMWARE },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "mmio-cmdline", no_argument, NULL, OPT_MMIO_CMDLINE },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "chroot", required_argument, NULL, OPT_CHROOT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "exit-with-vm", no_argument, NULL, OPT_EXIT_WITH_VM },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char cli_usage[] =
	"usage: vmm --kernel PATH [options]\n"
	"       vmm --firmware PATH[,vars=VARS] [--kernel PATH] [options]\n"
	"       vmm --config FILE.json [process options]\n"
	"       vmm --api-sock PATH [--kernel PATH [options]]\n"
	"       vmm --restore DIR [--paused] [--api-sock PATH] [host ends]\n"
	"\n"
	"Boots a Linux kernel (%s) in a KVM virtual machine.\n"
	"\n"
	"  --kernel PATH        kernel image: %s;\n"
	"                       with --firmware, an EFI executable the firmware starts\n"
	"  --firmware PATH|CODE,vars=VARS\n"
	"                       boot UEFI firmware from the reset vector: a combined\n"
	"                       image (OVMF.fd) or code and a variable store file that\n"
	"                       keeps what the guest writes (docs/uefi.md)\n"
	"  --initrd PATH        initial ramdisk\n"
	"  --cmdline TEXT       kernel command line (default: \"%s\")\n"
	"  --memory MIB         guest RAM in MiB (default: 128)\n"
	"  --cpus N             number of vCPUs (default: 1)\n"
	"  --hugepages          back guest RAM with 2 MiB huge pages\n"
	"  --serial [COMn=]DEST serial port back end: stdio, file:PATH, socket:PATH\n"
	"                       or none; without COMn it sets COM1 (default: stdio);\n"
	"                       COM2-COM4 exist only when given\n"
	"  --disk PATH[,ro][,serial=ID][,LIMIT]...\n"
	"                       virtio-blk disk backed by a raw image (repeatable)\n"
	"  --net tap=NAME[,mac=MAC][,LIMIT]... | fd=N[,mac=MAC][,LIMIT]...\n"
	"                       virtio-net on a TAP device (repeatable)\n"
	"                       LIMIT: iops=N, iops_burst=N, bw=BYTES, bw_burst=BYTES\n"
	"                       (bytes per second, K/M/G suffixes; docs/rate-limits.md)\n"
	"  --console DEST       virtio-console: stdio, file:PATH, socket:PATH or none\n"
	"  --vsock cid=N,uds=PATH\n"
	"                       virtio-vsock; the host side is the Unix socket PATH\n"
	"  --vsock-listen PORT=PATH\n"
	"                       relay guest connections to host PORT to the Unix\n"
	"                       socket PATH (repeatable)\n"
	"  --balloon PAGES[,deflate-on-oom][,stats=SECONDS]\n"
	"                       virtio-balloon with a target of PAGES 4 KiB pages\n"
	"  --transport mmio|pci how virtio devices reach the guest (default: mmio);\n"
	"                       pci gives MSI-X and disk/NIC hotplug (docs/pci.md)\n"
	"  --mmio-cmdline       x86: announce the virtio devices on the kernel command\n"
	"                       line too (virtio_mmio.device=), not only in ACPI;\n"
	"                       implied by acpi=off\n"
	"\n"
	"Process options:\n"
	"  --config FILE.json   the VM from a CreateVM request or VMConfig in FILE\n"
	"                       instead of the options above (docs/service.md)\n"
	"  --api-sock PATH      serve the JSON-RPC control socket at PATH (mode 0600,\n"
	"                       docs/api.md); without a VM, wait for CreateVM\n"
	"  --restore DIR        resume the VM snapshotted into DIR (docs/snapshot.md);\n"
	"                       --disk, --net, --vsock, --vsock-listen, --serial and\n"
	"                       --console then give its devices other host ends\n"
	"  --paused             with --restore and --api-sock: wait for ResumeVM\n"
	"  --exit-with-vm       with --api-sock, end the process when the VM stops\n"
	"  --shutdown-timeout SECONDS\n"
	"                       on SIGTERM, press the ACPI power button and give the\n"
	"                       guest SECONDS to power off before stopping it\n"
	"  --log-level LEVEL    error, warn, info (default) or debug\n"
	"  --log-format FORMAT  text (default) or json: one object per line\n"
	"  --metrics FILE       write counters to FILE in the Prometheus text format\n"
	"  --metrics-interval SECONDS\n"
	"                       how often FILE is rewritten (default: %u)\n"
	"  --seccomp off|log|kill\n"
	"                       system call filters per thread (default: kill, a\n"
	"                       forbidden call ends the process; docs/security.md)\n"
	"  --user UID[:GID]     drop to this user once devices and sockets are open\n"
	"  --chroot DIR         then confine the process to DIR\n"
	"  --help               this text\n"
	"  --version            the VMM's version\n"
	"\n"
	"When stdin is a terminal it is in raw mode; type Ctrl-A x to quit.\n"
	"%s";

/* Parses a whole decimal number in [min, max]. */
static int parse_uint(const char *flag, const char *arg, uint64_t min,
		      uint64_t max, uint64_t *out, struct err *e)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (arg[0] == '-' || arg[0] == '+' || arg[0] == '\0')
		return err_set(e, "%s '%s': not a number", flag, arg);
	v = strtoull(arg, &end, 10);
	if (errno || *end)
		return err_set(e, "%s '%s': not a number", flag, arg);
	if (v < min || v > max)
		return err_set(e, "%s %llu: must be between %llu and %llu", flag,
			       v, (unsigned long long)min,
			       (unsigned long long)max);
	*out = v;
	return 0;
}

static int set_string(char **dst, const char *src, struct err *e)
{
	free(*dst);
	*dst = strdup(src);
	return *dst ? 0 : err_set(e, "out of memory");
}

static int parse_serial(const char *arg, struct vm_config *cfg,
			struct cli_opts *opts, struct err *e)
{
	unsigned int port = 1;

	if (!strncmp(arg, "COM", 3) && arg[3] >= '1' && arg[3] <= '4' &&
	    arg[4] == '=') {
		port = (unsigned int)(arg[3] - '0');
		arg += 5;
	} else if (!strncmp(arg, "COM", 3) && strchr(arg, '=')) {
		return err_set(e, "--serial '%s': only COM1 to COM4 exist", arg);
	}
	if (chardev_config_parse(arg, &cfg->serial[port - 1], e) < 0)
		return err_prefix(e, "--serial COM%u", port);
	opts->serial_given[port - 1] = true;
	return 0;
}

static int cli_apply(int opt, const char *arg, struct vm_config *cfg,
		     struct cli_opts *opts, struct err *e)
{
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL:
		return set_string(&cfg->kernel, arg, e);
	case OPT_INITRD:
		return set_string(&cfg->initrd, arg, e);
	case OPT_FIRMWARE:
		if (config_parse_firmware(arg, cfg, e) < 0)
			return err_prefix(e, "--firmware");
		return 0;
	case OPT_CMDLINE:
		return set_string(&cfg->cmdline, arg, e);
	case OPT_MEMORY:
		if (parse_uint("--memory", arg, 1, 1ULL << 30, &v, e) < 0)
			return -1;
		cfg->mem_mib = v;
		return 0;
	case OPT_CPUS:
		if (parse_uint("--cpus", arg, 1, CONFIG_MAX_CPUS, &v, e) < 0)
			return -1;
		cfg->nr_cpus = (unsigned int)v;
		return 0;
	case OPT_SERIAL:
		return parse_serial(arg, cfg, opts, e);
	case OPT_HUGEPAGES:
		cfg->hugepages = true;
		return 0;
	case OPT_MMIO_CMDLINE:
		cfg->mmio_cmdline = true;
		return 0;
	case OPT_DISK:
		return config_add_disk(cfg, arg, e);
	case OPT_NET:
		return config_add_net(cfg, arg, e);
	case OPT_CONSOLE:
		opts->console_given = true;
		return config_set_console(cfg, arg, e);
	case OPT_VSOCK:
		return config_set_vsock(cfg, arg, e);
	case OPT_VSOCK_LISTEN:
		return config_add_vsock_listen(cfg, arg, e);
	case OPT_BALLOON:
		return config_set_balloon(cfg, arg, e);
	case OPT_TRANSPORT:
		if (config_parse_transport(arg, &cfg->transport, e) < 0)
			return err_prefix(e, "--transport");
		return 0;
	}
	return err_set(e, "internal error: unhandled option %d", opt);
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg,
			  struct err *e)
{
	struct cli_opts opts;
	enum cli_result ret = cli_parse_opts(argc, argv, cfg, &opts, e);

	cli_opts_free(&opts);
	return ret;
}

void cli_opts_free(struct cli_opts *opts)
{
	free(opts->api_sock);
	free(opts->restore);
	free(opts->config);
	free(opts->metrics);
	opts->api_sock = opts->config = opts->metrics = opts->restore = NULL;
	confine_opts_free(&opts->confine);
}

/* What a restored VM takes from its snapshot, never from a flag. */
static int check_restore_flags(const bool seen[OPT_LAST + 1],
			       const struct cli_opts *opts, struct err *e)
{
	static const struct {
		int opt;
		const char *flag;
	} fixed[] = {
		{ OPT_KERNEL, "--kernel" }, { OPT_INITRD, "--initrd" },
		{ OPT_CMDLINE, "--cmdline" }, { OPT_MEMORY, "--memory" },
		{ OPT_CPUS, "--cpus" }, { OPT_HUGEPAGES, "--hugepages" },
		{ OPT_BALLOON, "--balloon" }, { OPT_TRANSPORT, "--transport" },
		{ OPT_MMIO_CMDLINE, "--mmio-cmdline" },
	};

	if (!opts->restore)
		return opts->paused ? err_set(e, "--paused goes with --restore") : 0;
	if (opts->paused && !opts->api_sock)
		return err_set(e, "--paused needs --api-sock: nothing else could resume the VM");
	if (opts->config)
		return err_set(e, "--config: a restored VM is the snapshot's (docs/snapshot.md)");
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (seen[fixed[i].opt])
			return err_set(e, "%s: a restored VM keeps the snapshot's (docs/snapshot.md)",
				       fixed[i].flag);
	return 0;
}

/* A path option: not empty. */
static int set_path(char **dst, const char *flag, const char *arg,
		    struct err *e)
{
	if (!*arg)
		return err_set(e, "%s: the path is empty", flag);
	return set_string(dst, arg, e);
}

static int parse_seconds(const char *flag, const char *arg, uint64_t min,
			 unsigned int *out, struct err *e)
{
	uint64_t v;

	if (parse_uint(flag, arg, min, CLI_TIMEOUT_MAX_S, &v, e) < 0)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* The options of the process rather than of its VM. */
static int cli_apply_process(int opt, const char *arg, struct cli_opts *opts,
			     struct err *e)
{
	switch (opt) {
	case OPT_API_SOCK:
		return set_path(&opts->api_sock, "--api-sock", arg, e);
	case OPT_CONFIG:
		return set_path(&opts->config, "--config", arg, e);
	case OPT_RESTORE:
		return set_path(&opts->restore, "--restore", arg, e);
	case OPT_PAUSED:
		opts->paused = true;
		return 0;
	case OPT_METRICS:
		return set_path(&opts->metrics, "--metrics", arg, e);
	case OPT_METRICS_INTERVAL:
		return parse_seconds("--metrics-interval", arg, 1,
				     &opts->metrics_interval_s, e);
	case OPT_SHUTDOWN_TIMEOUT:
		return parse_seconds("--shutdown-timeout", arg, 0,
				     &opts->shutdown_timeout_s, e);
	case OPT_EXIT_WITH_VM:
		opts->exit_with_vm = true;
		return 0;
	case OPT_LOG_LEVEL:
		if (log_level_parse(arg, &opts->log_level) < 0)
			return err_set(e, "--log-level '%s': expected error, warn, info or debug",
				       arg);
		return 0;
	case OPT_LOG_FORMAT:
		if (log_format_parse(arg, &opts->log_format) < 0)
			return err_set(e, "--log-format '%s': expected text or json",
				       arg);
		return 0;
	case OPT_SECCOMP:
		if (seccomp_mode_parse(arg, &opts->seccomp, e) < 0)
			return err_prefix(e, "--seccomp");
		return 0;
	case OPT_USER:
		return confine_parse_user(arg, &opts->confine, e);
	case OPT_CHROOT:
		return set_path(&opts->confine.chroot, "--chroot", arg, e);
	}
	return 1;
}

/* Options that mean nothing without the one they modify. */
static int cli_check_process(const struct cli_opts *opts, struct err *e)
{
	if (opts->exit_with_vm && !opts->api_sock)
		return err_set(e, "--exit-with-vm needs --api-sock (without it the process always ends with its VM)");
	if (opts->metrics_interval_s && !opts->metrics)
		return err_set(e, "--metrics-interval needs --metrics FILE");
	return 0;
}

bool cli_has_vm_options(const struct vm_config *cfg)
{
	struct vm_config def;
	bool same;

	vm_config_init(&def);
	same = !vm_config_bootable(cfg) && cfg->mem_mib == def.mem_mib &&
	       cfg->nr_cpus == def.nr_cpus && !cfg->hugepages &&
	       !cfg->initrd && !cfg->cmdline && !cfg->mmio_cmdline &&
	       !cfg->nr_disks &&
	       !cfg->nr_nets && cfg->console.kind == def.console.kind &&
	       !cfg->vsock.enabled && !cfg->vsock.nr_listeners &&
	       !cfg->balloon.enabled && cfg->transport == def.transport;
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++)
		same = same && cfg->serial[i].kind == def.serial[i].kind;
	vm_config_free(&def);
	return !same;
}

enum cli_result cli_parse_opts(int argc, char **argv, struct vm_config *cfg,
			       struct cli_opts *opts, struct err *e)
{
	bool seen[OPT_LAST + 1] = { false };
	int opt, ret;

	*opts = (struct cli_opts){ .log_level = LOG_INFO,
				   .log_format = LOG_FORMAT_TEXT };
	opterr = 0;
	optind = 1;
	opts->seccomp = SECCOMP_MODE_KILL;
	while ((opt = getopt_long(argc, argv, ":", cli_options, NULL)) != -1) {
		if (opt > 0 && opt <= OPT_LAST)
			seen[opt] = true;
		switch (opt) {
		case OPT_HELP:
			printf(cli_usage, arch_kernel_formats, arch_kernel_help,
			       arch_default_cmdline, CLI_METRICS_INTERVAL_S,
			       arch_exit_help);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("vmm %s\n", VMM_VERSION);
			return CLI_EXIT_OK;
		case ':':
			err_set(e, "option '%s' needs a value (see vmm --help)",
				argv[optind - 1]);
			return CLI_ERROR;
		case '?':
			err_set(e, "unknown option '%s' (see vmm --help)",
				argv[optind - 1]);
			return CLI_ERROR;
		default:
			ret = cli_apply_process(opt, optarg, opts, e);
			if (ret > 0)
				ret = cli_apply(opt, optarg, cfg, opts, e);
			if (ret < 0)
				return CLI_ERROR;
		}
	}
	if (optind < argc) {
		err_set(e, "unexpected argument '%s' (see vmm --help)",
			argv[optind]);
		return CLI_ERROR;
	}
	if (check_restore_flags(seen, opts, e) < 0)
		return CLI_ERROR;
	if (cli_check_process(opts, e) < 0)
		return CLI_ERROR;
	if (opts->metrics && !opts->metrics_interval_s)
		opts->metrics_interval_s = CLI_METRICS_INTERVAL_S;
	if (opts->config && cli_has_vm_options(cfg)) {
		err_set(e, "--config: the VM comes from %s; give its options there, not on the command line",
			opts->config);
		return CLI_ERROR;
	}
	return CLI_RUN;
}

int cli_validate(const struct vm_config *cfg, unsigned int max_cpus,
		 struct err *e)
{
	struct config_error ce;

	if (vm_config_validate(cfg, max_cpus, &ce) == 0)
		return 0;
	switch (ce.field) {
	case CONFIG_FIELD_KERNEL:
		return err_set(e, "no kernel given (--kernel PATH) and no firmware (--firmware PATH)");
	case CONFIG_FIELD_CPUS:
		return err_set(e, "--cpus %s", ce.why.msg);
	case CONFIG_FIELD_MEMORY:
		return err_set(e, "--memory %s", ce.why.msg);
	case CONFIG_FIELD_VSOCK_LISTENERS:
		return err_set(e, "--vsock-listen needs --vsock cid=N,uds=PATH");
	case CONFIG_FIELD_MMIO_CMDLINE:
		return err_set(e, "--mmio-cmdline: %s", ce.why.msg);
	}
	return err_set(e, "%s", ce.why.msg);
}
