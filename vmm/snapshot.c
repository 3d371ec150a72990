// SPDX-License-Identifier: MIT
/*
 * Taking a snapshot. The vCPUs are parked; each device first finishes its
 * I/O in flight (completions land in guest memory and raise interrupts),
 * then the in-kernel chips and the vCPUs are read, so the interrupts those
 * completions raised are in what is saved. Guest memory is written last,
 * sparse. The state file is written under a temporary name and renamed
 * when everything else is on disk: a directory with a "state" file holds
 * a whole snapshot.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vcpu.h"
#include "version.h"
#include "vm.h"
#include "vmm/arch.h"

#define STATE_TMP SNAPSHOT_STATE ".tmp"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int save_devices(struct vm *vm, struct state_writer *w, struct err *e)
{
	for (struct device *dev = vm->devices; dev; dev = dev->next) {
		if (!dev->ops->save)
			continue;
		state_begin(w, "device");
		state_put_str(w, "name", dev->name);
		if (dev->ops->save(dev, w, e) < 0)
			return err_prefix(e, "%s", dev->name);
		state_end(w);
	}
	return 0;
}

static int save_vcpus(struct vm *vm, struct state_writer *w, struct err *e)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		state_begin(w, "vcpu");
		state_put_u64(w, "id", i);
		if (arch_vcpu_save(vm->vcpus[i], w, e) < 0)
			return -1;
		state_end(w);
	}
	return 0;
}

/* Devices first: what their last I/O raises is then in the chips' state. */
static int build_state(struct vm *vm, struct state_writer *w, struct err *e)
{
	state_put_str(w, "vmm_version", VMM_VERSION);
	state_put_str(w, "arch", arch_name);
	state_put_u64(w, "created", (uint64_t)time(NULL));
	snapshot_config_save(w, vm->cfg);
	if (save_devices(vm, w, e) < 0)
		return -1;
	state_begin(w, "machine");
	if (arch_vm_save(vm, w, e) < 0)
		return -1;
	state_end(w);
	return save_vcpus(vm, w, e);
}

static int write_all(int fd, const uint8_t *buf, size_t len, struct err *e)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_errno(e, "writing the state file");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new file in @dirfd; an existing one means a snapshot is there. */
static int create_file(int dirfd, const char *dir, const char *name,
		       struct err *e)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0600);

	if (fd < 0 && errno == EEXIST)
		return err_set(e, "%s already holds a snapshot (%s exists); choose a new directory",
			       dir, name);
	if (fd < 0)
		return err_errno(e, "%s/%s", dir, name);
	return fd;
}

static int open_dir(const char *dir, struct err *e)
{
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_errno(e, "creating the snapshot directory %s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, "%s", dir);
	if (faccessat(fd, SNAPSHOT_STATE, F_OK, 0) == 0) {
		close(fd);
		return err_set(e, "%s already holds a snapshot; choose a new directory",
			       dir);
	}
	return fd;
}

static int write_memory(struct vm *vm, int fd, const char *dir,
			uint64_t *written, struct err *e)
{
	if (guest_mem_save(&vm->mem, fd, written, e) < 0)
		return err_prefix(e, "%s/%s", dir, SNAPSHOT_MEMORY);
	if (fdatasync(fd) < 0)
		return err_errno(e, "%s/%s", dir, SNAPSHOT_MEMORY);
	return 0;
}

static int write_state(int dirfd, const char *dir, const uint8_t *buf,
		       size_t len, struct err *e)
{
	int fd = create_file(dirfd, dir, STATE_TMP, e), ret;

	if (fd < 0)
		return -1;
	ret = write_all(fd, buf, len, e);
	if (ret == 0 && fdatasync(fd) < 0)
		ret = err_errno(e, "%s/%s", dir, STATE_TMP);
	close(fd);
	if (ret == 0 && renameat(dirfd, STATE_TMP, dirfd, SNAPSHOT_STATE) < 0)
		ret = err_errno(e, "%s/%s", dir, SNAPSHOT_STATE);
	if (ret == 0 && fsync(dirfd) < 0)
		ret = err_errno(e, "%s", dir);
	return ret;
}

int vm_snapshot_check(const struct vm *vm, struct err *e)
{
	if (vm->cfg->firmware)
		return err_set(e, "a VM booted with --firmware cannot be snapshotted: the snapshot format does not hold the firmware's platform (its flash, fw_cfg, the CMOS/RTC, the LPC bridge and the PCI bus they sit on); boot the kernel directly");
	if (vm->cfg->transport == VIRTIO_TRANSPORT_PCI)
		return err_set(e, "a VM with --transport pci cannot be snapshotted: the snapshot format does not hold the PCI state (configuration space and BARs, MSI-X tables and the interrupt routes they program, the hotplug slots); use --transport mmio");
	return 0;
}

int vm_snapshot(struct vm *vm, const char *dir, struct snapshot_stats *st,
		struct err *e)
{
	uint64_t start = now_ns();
	struct state_writer w;
	const uint8_t *buf;
	int dirfd, mem_fd, ret = -1;
	size_t len;

	memset(st, 0, sizeof(*st));
	if (vm_snapshot_check(vm, e) < 0)
		return -1;
	dirfd = open_dir(dir, e);
	if (dirfd < 0)
		return -1;
	mem_fd = create_file(dirfd, dir, SNAPSHOT_MEMORY, e);
	if (mem_fd < 0) {
		close(dirfd);
		return -1;
	}
	state_writer_init(&w);
	if (build_state(vm, &w, e) < 0 || state_finish(&w, &buf, &len, e) < 0 ||
	    write_memory(vm, mem_fd, dir, &st->memory_bytes, e) < 0 ||
	    write_state(dirfd, dir, buf, len, e) < 0) {
		unlinkat(dirfd, STATE_TMP, 0);
		unlinkat(dirfd, SNAPSHOT_MEMORY, 0);
		goto out;
	}
	st->state_bytes = len;
	st->ns = now_ns() - start;
	ret = 0;
out:
	state_writer_free(&w);
	close(mem_fd);
	close(dirfd);
	return ret;
}
