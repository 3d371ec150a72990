// SPDX-License-Identifier: MIT
/*
 * Disks for the bridge's MappedVirtualDisk: finding one by its SCSI address
 * and mounting it. The VMM has no SCSI bus; it names each virtio-blk disk it
 * creates from scsi_disks with the serial "scsi-C-L", which the kernel shows
 * in /sys/block/NAME/serial.
 */
#include "guest-agent/disk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "guest-agent/sysinfo.h"

#define DISK_SERIAL_FMT "scsi-%u-%u"

/* Whether SYS/block/@name reports serial @want. */
static bool disk_has_serial(const char *sys_dir, const char *name,
			    const char *want)
{
	char path[512], serial[64];
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/block/%s/serial", sys_dir,
			     name) >= sizeof(path))
		return false;
	n = read_small(path, serial, sizeof(serial));
	while (n && (serial[n - 1] == '\n' || serial[n - 1] == ' '))
		serial[--n] = 0;
	return !strcmp(serial, want);
}

static int disk_node(const char *sys_dir, const char *dev_dir,
		     const char *name, uint32_t partition, char *buf,
		     size_t len, struct err *e)
{
	char part[300], path[600];
	struct stat st;

	snprintf(part, sizeof(part), "%s", name);
	if (partition) {
		snprintf(part, sizeof(part), "%s%u", name, partition);
		snprintf(path, sizeof(path), "%s/block/%s/%s", sys_dir, name,
			 part);
		if (stat(path, &st) < 0)
			return err_set(e, "disk %s has no partition %u", name,
				       partition);
	}
	if ((size_t)snprintf(buf, len, "%s/%s", dev_dir, part) >= len)
		return err_set(e, "device path %s/%s too long", dev_dir, part);
	if (stat(buf, &st) < 0)
		return err_errno(e, "%s", buf);
	if (!S_ISBLK(st.st_mode))
		return err_set(e, "%s is not a block device", buf);
	return 0;
}

int disk_find(const char *sys_dir, const char *dev_dir, uint32_t controller,
	      uint32_t lun, uint32_t partition, char *buf, size_t len,
	      struct err *e)
{
	char want[32], path[512], found[256] = "";
	struct dirent *de;
	DIR *d;

	snprintf(want, sizeof(want), DISK_SERIAL_FMT, controller, lun);
	snprintf(path, sizeof(path), "%s/block", sys_dir);
	d = opendir(path);
	if (!d)
		return err_errno(e, "controller %u, lun %u: %s", controller,
				 lun, path);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !disk_has_serial(sys_dir, de->d_name, want))
			continue;
		if (found[0]) {
			err_set(e, "controller %u, lun %u: disks %s and %s both "
				"have serial %s", controller, lun, found,
				de->d_name, want);
			closedir(d);
			return -1;
		}
		snprintf(found, sizeof(found), "%s", de->d_name);
	}
	closedir(d);
	if (!found[0])
		return err_set(e, "controller %u, lun %u: no disk under %s has "
			       "serial %s (the VMM gives it to the scsi_disks "
			       "entry with that controller and lun)",
			       controller, lun, path, want);
	if (disk_node(sys_dir, dev_dir, found, partition, buf, len, e) < 0)
		return err_prefix(e, "controller %u, lun %u", controller, lun);
	return 0;
}

static const struct {
	const char *name;
	unsigned long set, clear;
	bool propagation;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0, false },
	{ "rw", 0, MS_RDONLY, false },
	{ "nosuid", MS_NOSUID, 0, false },
	{ "suid", 0, MS_NOSUID, false },
	{ "nodev", MS_NODEV, 0, false },
	{ "dev", 0, MS_NODEV, false },
	{ "noexec", MS_NOEXEC, 0, false },
	{ "exec", 0, MS_NOEXEC, false },
	{ "sync", MS_SYNCHRONOUS, 0, false },
	{ "async", 0, MS_SYNCHRONOUS, false },
	{ "dirsync", MS_DIRSYNC, 0, false },
	{ "noatime", MS_NOATIME, 0, false },
	{ "atime", 0, MS_NOATIME, false },
	{ "nodiratime", MS_NODIRATIME, 0, false },
	{ "diratime", 0, MS_NODIRATIME, false },
	{ "relatime", MS_RELATIME, 0, false },
	{ "norelatime", 0, MS_RELATIME, false },
	{ "strictatime", MS_STRICTATIME, 0, false },
	{ "lazytime", MS_LAZYTIME, 0, false },
	{ "shared", MS_SHARED, 0, true },
	{ "rshared", MS_SHARED | MS_REC, 0, true },
	{ "slave", MS_SLAVE, 0, true },
	{ "rslave", MS_SLAVE | MS_REC, 0, true },
	{ "private", MS_PRIVATE, 0, true },
	{ "rprivate", MS_PRIVATE | MS_REC, 0, true },
	{ "unbindable", MS_UNBINDABLE, 0, true },
	{ "runbindable", MS_UNBINDABLE | MS_REC, 0, true },
};

struct mount_opts {
	unsigned long flags;
	unsigned long propagation[8];
	size_t npropagation;
	char data[1024];
};

static int parse_options(char *const *options, bool read_only,
			 struct mount_opts *m, struct err *e)
{
	memset(m, 0, sizeof(*m));
	m->flags = read_only ? MS_RDONLY : 0;
	for (char *const *o = options; o && *o; o++) {
		size_t i, n = strlen(m->data);

		for (i = 0; i < ARRAY_SIZE(mount_flags); i++)
			if (!strcmp(*o, mount_flags[i].name))
				break;
		if (i == ARRAY_SIZE(mount_flags)) {
			if ((size_t)snprintf(m->data + n, sizeof(m->data) - n,
					     "%s%s", n ? "," : "", *o) >=
			    sizeof(m->data) - n)
				return err_set(e, "mount options too long");
		} else if (mount_flags[i].propagation) {
			if (m->npropagation == ARRAY_SIZE(m->propagation))
				return err_set(e, "too many propagation options");
			m->propagation[m->npropagation++] = mount_flags[i].set;
		} else {
			m->flags = (m->flags | mount_flags[i].set) &
				   ~mount_flags[i].clear;
		}
	}
	/* ReadOnly wins over an "rw" option. */
	if (read_only)
		m->flags |= MS_RDONLY;
	return 0;
}

static int mount_as(const char *dev, const char *path, const char *type,
		    const struct mount_opts *m)
{
	char data[sizeof(m->data) + 16];
	bool ext = !strcmp(type, "ext3") || !strcmp(type, "ext4");

	/* A read-only ext3/4 must not replay its journal (as hcsshim does). */
	snprintf(data, sizeof(data), "%s%s%s", m->data,
		 ext && (m->flags & MS_RDONLY) && m->data[0] ? "," : "",
		 ext && (m->flags & MS_RDONLY) ? "noload" : "");
	return mount(dev, path, type, m->flags, data[0] ? data : NULL);
}

/* Tries each block file system type the kernel knows; 0 or -1 with errno. */
static int mount_probe(const char *dev, const char *path,
		       const struct mount_opts *m, char *tried, size_t len)
{
	char fs[4096];

	read_small("/proc/filesystems", fs, sizeof(fs));
	for (char *line = strtok(fs, "\n"); line; line = strtok(NULL, "\n")) {
		char *type = line;

		if (!strncmp(line, "nodev", 5))
			continue;
		while (*type == '\t' || *type == ' ')
			type++;
		if (!*type)
			continue;
		if (mount_as(dev, path, type, m) == 0)
			return 0;
		/* EINVAL means "not this type"; anything else is the answer. */
		if (errno != EINVAL && errno != ENODEV)
			return -1;
		snprintf(tried + strlen(tried), len - strlen(tried), "%s%s",
			 tried[0] ? ", " : "", type);
	}
	errno = ENODEV;
	return -1;
}

int disk_mount(const char *dev, const char *path, const char *fs,
	       char *const *options, bool read_only, struct err *e)
{
	struct mount_opts m;
	char tried[512] = "";

	if (parse_options(options, read_only, &m, e) < 0)
		return -1;
	if (fs ? mount_as(dev, path, fs, &m) < 0 :
		 mount_probe(dev, path, &m, tried, sizeof(tried)) < 0) {
		if (errno == ENODEV && !fs)
			return err_set(e, "mounting %s at \"%s\": no file system "
				       "the kernel knows fits%s%s (tried: %s)",
				       dev, path, m.data[0] ? " options " : "",
				       m.data, tried[0] ? tried : "none");
		return err_errno(e, "mounting %s at \"%s\"%s%s", dev, path,
				 fs ? " as " : "", fs ? fs : "");
	}
	for (size_t i = 0; i < m.npropagation; i++) {
		if (mount(NULL, path, NULL, m.propagation[i], NULL) < 0) {
			err_errno(e, "setting the propagation of \"%s\"", path);
			umount2(path, MNT_DETACH);
			return -1;
		}
	}
	return 0;
}
