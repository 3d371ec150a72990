// SPDX-License-Identifier: MIT
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/arch.h"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->nr_cpus = 1;
	cfg->serial[0].kind = CHARDEV_STDIO;
	for (unsigned int i = 0; i < CONFIG_MAX_NETS; i++)
		cfg->nets[i].tap_fd = -1;
}

static void chardev_config_free(struct chardev_config *c)
{
	free(c->path);
	c->path = NULL;
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->firmware);
	free(cfg->firmware_vars);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++)
		chardev_config_free(&cfg->serial[i]);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		free(cfg->nets[i].tap_name);
		free(cfg->nets[i].id);
	}
	chardev_config_free(&cfg->console);
	memset(cfg, 0, sizeof(*cfg));
}

int config_parse_firmware(const char *arg, struct vm_config *cfg,
			  struct err *e)
{
	const char *vars = strstr(arg, ",vars=");
	size_t code_len = vars ? (size_t)(vars - arg) : strlen(arg);

	if (code_len == 0 || (vars && !vars[6]))
		return err_set(e, "'%s': expected PATH or CODE,vars=VARS", arg);
	free(cfg->firmware);
	free(cfg->firmware_vars);
	cfg->firmware = strndup(arg, code_len);
	cfg->firmware_vars = vars ? strdup(vars + 6) : NULL;
	if (!cfg->firmware || (vars && !cfg->firmware_vars))
		return err_set(e, "out of memory");
	return 0;
}

static const char *const transport_names[] = {
	[VIRTIO_TRANSPORT_MMIO] = "mmio",
	[VIRTIO_TRANSPORT_PCI] = "pci",
};

int config_parse_transport(const char *arg, enum virtio_transport_kind *out,
			   struct err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(transport_names); i++) {
		if (!strcmp(arg, transport_names[i])) {
			*out = (enum virtio_transport_kind)i;
			return 0;
		}
	}
	return err_set(e, "'%s' is not mmio or pci", arg);
}

const char *config_transport_name(enum virtio_transport_kind kind)
{
	return kind < ARRAY_SIZE(transport_names) ? transport_names[kind] :
						    "unknown";
}

int chardev_config_parse(const char *arg, struct chardev_config *out,
			 struct err *e)
{
	static const struct {
		const char *prefix;
		enum chardev_kind kind;
	} kinds[] = {
		{ "file:", CHARDEV_FILE },
		{ "socket:", CHARDEV_SOCKET },
	};

	free(out->path);
	out->path = NULL;
	if (!strcmp(arg, "stdio")) {
		out->kind = CHARDEV_STDIO;
		return 0;
	}
	if (!strcmp(arg, "none")) {
		out->kind = CHARDEV_NONE;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(arg, kinds[i].prefix, n))
			continue;
		if (!arg[n])
			return err_set(e, "'%s': the path after '%s' is empty",
				       arg, kinds[i].prefix);
		out->kind = kinds[i].kind;
		out->path = strdup(arg + n);
		return out->path ? 0 : err_set(e, "out of memory");
	}
	return err_set(e, "'%s' is not stdio, none, file:PATH or socket:PATH", arg);
}

/* A file the VMM will read must exist and be a readable regular file. */
static int check_input_file(const char *what, const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_errno(e, "%s %s", what, path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return err_set(e, "%s %s: not a regular file", what, path);
	if (access(path, R_OK) < 0)
		return err_errno(e, "%s %s", what, path);
	return 0;
}

static unsigned long long host_ram_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || page <= 0)
		return ULLONG_MAX;
	return (unsigned long long)pages * (unsigned long long)page / MiB;
}

int vm_config_check_files(const struct vm_config *cfg, struct err *e)
{
	if (cfg->firmware && check_input_file("firmware", cfg->firmware, e) < 0)
		return -1;
	if (cfg->firmware_vars &&
	    check_input_file("variable store", cfg->firmware_vars, e) < 0)
		return -1;
	if (cfg->kernel && check_input_file("kernel", cfg->kernel, e) < 0)
		return -1;
	if (cfg->initrd && check_input_file("initrd", cfg->initrd, e) < 0)
		return -1;
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		if (check_input_file("disk image", cfg->disks[i].path, e) < 0)
			return -1;
	return 0;
}

/* Records that @field is wrong; the caller says why in the returned err. */
static struct err *bad_field(struct config_error *ce, enum config_field field)
{
	ce->field = field;
	return &ce->why;
}

int vm_config_validate(const struct vm_config *cfg, unsigned int max_cpus,
		       struct config_error *ce)
{
	unsigned long long mib = cfg->mem_mib, host_mib = host_ram_mib();

	if (!vm_config_bootable(cfg))
		return err_set(bad_field(ce, CONFIG_FIELD_KERNEL), "missing");
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > max_cpus)
		return err_set(bad_field(ce, CONFIG_FIELD_CPUS),
			       "%u: must be between 1 and %u", cfg->nr_cpus,
			       max_cpus);
	if (mib < LAYOUT_MIN_RAM / MiB)
		return err_set(bad_field(ce, CONFIG_FIELD_MEMORY),
			       "%llu: a guest needs at least %llu MiB", mib,
			       (unsigned long long)(LAYOUT_MIN_RAM / MiB));
	if (mib > host_mib)
		return err_set(bad_field(ce, CONFIG_FIELD_MEMORY),
			       "%llu: more than this host's %llu MiB of RAM",
			       mib, host_mib);
	if (cfg->hugepages && mib % 2)
		return err_set(bad_field(ce, CONFIG_FIELD_MEMORY),
			       "%llu: hugepage-backed memory must be a multiple of 2 MiB",
			       mib);
	if (cfg->mmio_cmdline && !arch_mmio_cmdline)
		return err_set(bad_field(ce, CONFIG_FIELD_MMIO_CMDLINE),
			       "this architecture's guests find virtio devices in the device tree, not on the command line");
	if (cfg->vsock.nr_listeners && !cfg->vsock.enabled)
		return err_set(bad_field(ce, CONFIG_FIELD_VSOCK_LISTENERS),
			       "vsock listeners need the vsock device");
	return 0;
}
