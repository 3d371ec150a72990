/* SPDX-License-Identifier: MIT */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/*
 * The VM's configuration, one model for the command line and the control
 * socket (it follows vmservice.proto's VMConfig). Strings are owned by the
 * config and freed by vm_config_free().
 */

#define CONFIG_MAX_CPUS 255
#define CONFIG_MAX_DISKS 16
#define CONFIG_MAX_NETS 8
#define CONFIG_NR_SERIAL 4
#define CONFIG_DEFAULT_MEM_MIB 128

/* Where a character device's output goes and its input comes from. */
enum chardev_kind {
	CHARDEV_NONE,
	CHARDEV_STDIO,  /* output to stdout, input from stdin */
	CHARDEV_FILE,   /* output appended to a file, no input */
	CHARDEV_SOCKET, /* Unix socket the VMM listens on; clients attach */
};

struct chardev_config {
	enum chardev_kind kind;
	char *path;
};

/* How virtio devices reach the guest (docs/pci.md). */
enum virtio_transport_kind {
	VIRTIO_TRANSPORT_MMIO, /* a 4 KiB window and an IOAPIC line each */
	VIRTIO_TRANSPORT_PCI,  /* PCI functions with MSI-X, hotplug slots */
};

/*
 * A disk's SCSI address in the VM service's terms, unique in a VM: four
 * controllers of 64 LUNs, as hcsshim's utility VMs have.
 */
#define CONFIG_SCSI_CONTROLLERS 4
#define CONFIG_SCSI_LUNS 64

/*
 * Token-bucket limits of a disk or a network device (docs/rate-limits.md):
 * operations and bytes per second, each with the burst the bucket holds.
 * 0 is unlimited; a burst of 0 is one second's worth of the rate.
 */
struct rate_limit_config {
	uint64_t ops;
	uint64_t ops_burst;
	uint64_t bytes;
	uint64_t bytes_burst;
};

struct disk_config {
	char *path;
	bool read_only;
	char *serial;
	uint8_t controller, lun;
	struct rate_limit_config rate_limit;
};

struct net_config {
	char *tap_name; /* NULL when tap_fd is used */
	int tap_fd;     /* -1 when tap_name is used */
	bool has_mac;
	uint8_t mac[6];
	char *id;       /* NICConfig.nic_id; NULL when none was given */
	/* Each direction, receive and transmit, has buckets of these sizes. */
	struct rate_limit_config rate_limit;
};

#define CONFIG_NIC_ID_MAX 64

/*
 * virtio-vsock (docs/virtio-vsock.md). Paths are stored inline: a Unix
 * socket path holds at most CONFIG_VSOCK_PATH_MAX - 1 bytes (sun_path).
 */
#define CONFIG_VSOCK_PATH_MAX 108
#define CONFIG_MAX_VSOCK_LISTENERS 32

struct vsock_listen_config {
	uint32_t port;
	char path[CONFIG_VSOCK_PATH_MAX];
};

struct vsock_config {
	bool enabled;
	uint32_t cid;
	char uds_path[CONFIG_VSOCK_PATH_MAX];
	struct vsock_listen_config listeners[CONFIG_MAX_VSOCK_LISTENERS];
	unsigned int nr_listeners;
};

/* virtio-balloon (docs/virtio-balloon.md). */
struct balloon_config {
	bool enabled;
	uint32_t pages;            /* initial target, in 4 KiB pages */
	bool deflate_on_oom;
	uint32_t stats_interval_s; /* 0: statistics only on request */
};

struct vm_config {
	uint64_t mem_mib;
	bool hugepages;
	unsigned int nr_cpus;

	/*
	 * UEFI firmware (docs/uefi.md): the firmware image, mapped to end at
	 * 4 GiB; NULL boots @kernel directly. Under firmware @kernel, @initrd
	 * and @cmdline are optional and reach the firmware through fw_cfg.
	 */
	char *firmware;
	char *firmware_vars; /* a separate variable store; NULL: none */
	char *kernel;
	char *initrd;
	char *cmdline;
	/*
	 * x86: announce the virtio-mmio devices with virtio_mmio.device=
	 * entries on the command line as well as in the DSDT
	 * (docs/boot.md#virtio-mmio-devices).
	 */
	bool mmio_cmdline;

	/* COM1..COM4; COM1 defaults to stdio. */
	struct chardev_config serial[CONFIG_NR_SERIAL];

	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned int nr_disks;
	struct net_config nets[CONFIG_MAX_NETS];
	unsigned int nr_nets;
	struct chardev_config console; /* virtio-console; CHARDEV_NONE: absent */
	struct vsock_config vsock;
	struct balloon_config balloon;
	enum virtio_transport_kind transport;
};

void vm_config_init(struct vm_config *cfg);
void vm_config_free(struct vm_config *cfg);

/*
 * The fields the rules below can find wrong. Each interface names them its
 * own way: the command line by its flag (--memory), the control socket by
 * the JSON path (config.memory_config.memory_mb).
 */
enum config_field {
	CONFIG_FIELD_KERNEL,
	CONFIG_FIELD_CPUS,
	CONFIG_FIELD_MEMORY,
	CONFIG_FIELD_VSOCK_LISTENERS,
	CONFIG_FIELD_MMIO_CMDLINE,
};

struct config_error {
	enum config_field field;
	struct err why; /* what is wrong, worded without the field's name */
};

/*
 * The rules a complete config must meet, whoever filled it in (the
 * command line, CreateVM): returns -1 with the first bad field in @ce.
 */
int vm_config_validate(const struct vm_config *cfg, unsigned int max_cpus,
		       struct config_error *ce);
/* True when @cfg names something to boot: a kernel or firmware. */
static inline bool vm_config_bootable(const struct vm_config *cfg)
{
	return cfg->kernel || cfg->firmware;
}

/* Checks that every file the VM reads exists and is readable. */
int vm_config_check_files(const struct vm_config *cfg, struct err *e);

/* Parses "PATH" or "CODE,vars=VARS" into the firmware fields. */
int config_parse_firmware(const char *arg, struct vm_config *cfg,
			  struct err *e);

/* Parses "mmio" or "pci". */
int config_parse_transport(const char *arg, enum virtio_transport_kind *out,
			   struct err *e);
const char *config_transport_name(enum virtio_transport_kind kind);

/* Parses "stdio", "file:PATH", "socket:PATH" or "none". */
int chardev_config_parse(const char *arg, struct chardev_config *out,
			 struct err *e);

#endif
