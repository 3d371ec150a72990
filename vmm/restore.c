// SPDX-License-Identifier: MIT
/*
 * Restoring a snapshot: the state file is checked whole before anything
 * is built; the VM is then created from the snapshot's config as a boot
 * would create it (the same devices at the same addresses), without a
 * kernel, and everything takes on its saved state: the vCPUs, then the
 * in-kernel chips, then the devices (whose interrupt lines must meet the
 * chips as they were). Guest RAM is the memory file mapped copy-on-write.
 * vmm/api/machine.c puts the steps together, as it does for a boot.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vcpu.h"
#include "version.h"
#include "vm.h"
#include "vmm/arch.h"

/* The header's and the biggest state the writer makes. */
#define STATE_READ_MAX (STATE_FILE_MAX + STATE_HEADER_SIZE)

static int check_origin(const struct state_section *root, struct err *e)
{
	char *version = NULL, *arch = NULL;
	int ret = 0;

	if (state_get_str(root, "vmm_version", &version, 64, e) < 0 ||
	    state_get_str(root, "arch", &arch, 64, e) < 0)
		ret = -1;
	else if (strcmp(version, VMM_VERSION))
		ret = err_set(e, "written by vmm %s; this is vmm %s, and a snapshot restores only into the version that wrote it",
			      version, VMM_VERSION);
	else if (strcmp(arch, arch_name))
		ret = err_set(e, "taken on an %s host; this host is %s", arch,
			      arch_name);
	free(version);
	free(arch);
	return ret;
}

static int load_state(struct snapshot *snap, struct err *e)
{
	struct state_section cfg;
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", snap->dir, SNAPSHOT_STATE) >=
	    (int)sizeof(path))
		return err_set(e, "the directory's name is too long");
	if (read_file(path, STATE_READ_MAX, &snap->buf, &snap->len, e) < 0) {
		if (errno == ENOENT)
			return err_set(e, "snapshot %s: no snapshot here (%s is missing)",
				       snap->dir, path);
		return -1;
	}
	/* Every refusal of the file names it. */
	if (state_open(snap->buf, snap->len, &snap->root, e) < 0 ||
	    check_origin(&snap->root, e) < 0 ||
	    state_get_section(&snap->root, "config", &cfg, e) < 0 ||
	    snapshot_config_load(&cfg, &snap->cfg, e) < 0)
		return err_prefix(e, "%s", path);
	return 0;
}

int snapshot_open(struct snapshot *snap, const char *dir, struct err *e)
{
	memset(snap, 0, sizeof(*snap));
	vm_config_init(&snap->cfg);
	snap->dir = strdup(dir);
	if (!snap->dir)
		return err_set(e, "out of memory");
	if (load_state(snap, e) < 0) {
		snapshot_close(snap);
		return -1;
	}
	return 0;
}

void snapshot_close(struct snapshot *snap)
{
	free(snap->dir);
	free(snap->buf);
	vm_config_free(&snap->cfg);
	memset(snap, 0, sizeof(*snap));
}

/* Host ends that cannot come from the file: an inherited TAP descriptor. */
static int check_host_ends(const struct vm_config *cfg, struct err *e)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (!cfg->nets[i].tap_name && cfg->nets[i].tap_fd < 0)
			return err_set(e, "network device %u was on a TAP descriptor the VMM inherited; give its TAP again (--net tap=NAME or fd=N)",
				       i);
	return 0;
}

int snapshot_memory_fd(const struct snapshot *snap,
		       const struct vm_config *cfg, struct err *e)
{
	char path[4096];
	int fd;

	if (check_host_ends(cfg, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", snap->dir, SNAPSHOT_MEMORY);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, "%s", path);
	if (guest_mem_check_file(fd, cfg->mem_mib * MiB, e) < 0) {
		err_prefix(e, "%s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int restore_vcpus(struct vm *vm, const struct state_section *root,
			 struct err *e)
{
	bool *done = calloc(vm->nr_vcpus, sizeof(*done));
	struct state_section s;
	size_t pos = 0;
	int ret = -1;

	if (!done)
		return err_set(e, "out of memory");
	if (state_count(root, "vcpu") != vm->nr_vcpus) {
		err_set(e, "%u vCPUs saved for a VM of %u", state_count(root, "vcpu"),
			vm->nr_vcpus);
		goto out;
	}
	while (state_next(root, "vcpu", &pos, &s) > 0) {
		uint32_t id;

		if (state_get_u32(&s, "id", &id, e) < 0)
			goto out;
		if (id >= vm->nr_vcpus || done[id]) {
			err_set(e, "vCPU %u saved twice or out of range", id);
			goto out;
		}
		done[id] = true;
		snprintf(s.label, sizeof(s.label), "vcpu %u", id);
		if (arch_vcpu_restore(vm->vcpus[id], &s, e) < 0)
			goto out;
	}
	ret = 0;
out:
	free(done);
	return ret;
}

static int device_section(const struct state_section *root, const char *name,
			  struct state_section *out, struct err *e)
{
	size_t pos = 0;

	while (state_next(root, "device", &pos, out) > 0) {
		char *saved = NULL;
		bool same;

		if (state_get_str(out, "name", &saved, 64, e) < 0)
			return -1;
		same = !strcmp(saved, name);
		free(saved);
		if (same) {
			snprintf(out->label, sizeof(out->label), "%s", name);
			return 0;
		}
	}
	return err_set(e, "%s: not in the snapshot", name);
}

static int restore_devices(struct vm *vm, const struct state_section *root,
			   struct err *e)
{
	unsigned int nr = 0;

	for (struct device *dev = vm->devices; dev; dev = dev->next) {
		struct state_section s;

		if (!dev->ops->restore)
			continue;
		nr++;
		if (device_section(root, dev->name, &s, e) < 0 ||
		    dev->ops->restore(dev, &s, e) < 0)
			return -1;
	}
	if (state_count(root, "device") != nr)
		return err_set(e, "the snapshot holds %u devices, this VM has %u",
			       state_count(root, "device"), nr);
	return 0;
}

int vm_restore_state(struct vm *vm, const struct snapshot *snap,
		     struct err *e)
{
	const struct state_section *root = &snap->root;
	struct state_section machine;

	if (restore_vcpus(vm, root, e) < 0 ||
	    state_get_section(root, "machine", &machine, e) < 0 ||
	    arch_vm_restore(vm, &machine, e) < 0 ||
	    restore_devices(vm, root, e) < 0)
		return err_prefix(e, "%s/%s", snap->dir, SNAPSHOT_STATE);
	return 0;
}
