// SPDX-License-Identifier: MIT
#include "config_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "vmm/api/devices_json.h"
#include "vmm/config_devices.h"
#include "vmm/arch.h"

#define MMIO_GAP_MIB ((LAYOUT_MMIO_HOLE_END - LAYOUT_MMIO_HOLE) / MiB)

/* enum virtio_transport_kind, by name. */
static const char *const transport_names[] = { "MMIO", "PCI" };

static const char *const disk_types[] = {
	"SCSI_DISK_TYPE_VHD1", "SCSI_DISK_TYPE_VHDX", "SCSI_DISK_TYPE_PHYSICAL",
};
enum { DISK_TYPE_PHYSICAL = 2 };

/*
 * A disk of scsi_disks without a serial reports the virtio-blk serial
 * "scsi-C-L" for its controller C and LUN L, so the guest agent finds the
 * disk a bridge MappedVirtualDisk names (docs/guest-agent.md).
 */
#define SCSI_SERIAL_FMT "scsi-%u-%u"

/* Options carried in extra_data until they are applied. */
struct extra {
	char *disk_serial[CONFIG_MAX_DISKS];
	bool serial_set[CONFIG_NR_SERIAL];
};

/* What the array walkers' items fill in. */
struct target {
	struct vm_config *cfg;
	struct extra *x;
};

static int get_message(struct json_object *msg, const char *path,
		       const char *key, const char *const *fields,
		       struct json_object **out, char *where, size_t len,
		       struct rpc_error *re)
{
	json_path_join(where, len, path, key);
	if (json_get_object(msg, path, key, out, &re->e) < 0 ||
	    (*out && json_check_fields(*out, where, fields, &re->e) < 0))
		return rpc_invalid(re);
	return 0;
}

static int parse_memory(struct json_object *cfgmsg, struct vm_config *cfg,
			struct rpc_error *re)
{
	static const char *const fields[] = {
		"memory_mb", "allow_overcommit", "deferred_commit", "hot_hint",
		"cold_hint", "cold_discard_hint", "low_mmio_gap_in_mb",
		"high_mmio_base_in_mb", "high_mmio_gap_in_mb", "hugepages", NULL,
	};
	static const char *const hints[] = {
		"hot_hint", "cold_hint", "cold_discard_hint",
	};
	static const char *const high[] = {
		"high_mmio_base_in_mb", "high_mmio_gap_in_mb",
	};
	struct json_object *m;
	char p[JSON_PATH_MAX];
	uint64_t mb = 0, gap = 0;
	bool flag;

	if (get_message(cfgmsg, "config", "memory_config", fields, &m, p,
			sizeof(p), re) < 0)
		return -1;
	if (!m)
		return 0;
	if (json_get_u64(m, p, "memory_mb", &mb, &re->e) < 0 ||
	    json_get_bool(m, p, "allow_overcommit", &flag, &re->e) < 0 ||
	    json_get_bool(m, p, "deferred_commit", &flag, &re->e) < 0 ||
	    json_get_bool(m, p, "hugepages", &cfg->hugepages, &re->e) < 0 ||
	    json_get_u64(m, p, "low_mmio_gap_in_mb", &gap, &re->e) < 0)
		return rpc_invalid(re);
	if (mb)
		cfg->mem_mib = mb;
	for (size_t i = 0; i < ARRAY_SIZE(hints); i++) {
		flag = false;
		if (json_get_bool(m, p, hints[i], &flag, &re->e) < 0)
			return rpc_invalid(re);
		if (flag)
			return rpc_fail(re, RPC_UNSUPPORTED,
					"%s.%s: memory hints are not supported yet",
					p, hints[i]);
	}
	if (gap && gap != MMIO_GAP_MIB)
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s.low_mmio_gap_in_mb: the MMIO gap below 4 GiB is fixed at %llu MiB",
				p, (unsigned long long)MMIO_GAP_MIB);
	for (size_t i = 0; i < ARRAY_SIZE(high); i++) {
		uint64_t v = 0;

		if (json_get_u64(m, p, high[i], &v, &re->e) < 0)
			return rpc_invalid(re);
		if (v)
			return rpc_fail(re, RPC_UNSUPPORTED,
					"%s.%s: there is no MMIO window above 4 GiB to place",
					p, high[i]);
	}
	return 0;
}

static int parse_processor(struct json_object *cfgmsg, struct vm_config *cfg,
			   struct rpc_error *re)
{
	static const char *const fields[] = {
		"processor_count", "processor_weight", "processor_limit", NULL,
	};
	struct json_object *m;
	char p[JSON_PATH_MAX];
	uint32_t count = 0, weight = 0, limit = 0;

	if (get_message(cfgmsg, "config", "processor_config", fields, &m, p,
			sizeof(p), re) < 0)
		return -1;
	if (!m)
		return 0;
	if (json_get_u32(m, p, "processor_count", &count, &re->e) < 0 ||
	    json_get_u32(m, p, "processor_weight", &weight, &re->e) < 0 ||
	    json_get_u32(m, p, "processor_limit", &limit, &re->e) < 0)
		return rpc_invalid(re);
	if (count)
		cfg->nr_cpus = count;
	if (weight || limit)
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s.%s: vCPU weights and limits are not supported yet",
				p, weight ? "processor_weight" : "processor_limit");
	return 0;
}

/* Turns a command-line style error from config_devices.c into ours. */
static int device_error(struct rpc_error *re, const char *where)
{
	re->code = RPC_INVALID_PARAMS;
	return err_prefix(&re->e, "%s", where);
}

int config_disk_from_json(struct json_object *d, const char *p,
			  uint32_t lun_default, char **extra_serial,
			  struct disk_config *out, struct rpc_error *re)
{
	static const char *const fields[] = {
		"controller", "lun", "host_path", "type", "read_only", "serial",
		"rate_limit", NULL,
	};
	uint32_t controller = 0, lun = lun_default;
	char *path = NULL, *serial = NULL;
	struct rate_limit_config limit = { 0 };
	struct json_object *rl;
	char where[JSON_PATH_MAX];
	bool ro = false;
	int type = DISK_TYPE_PHYSICAL;

	if (json_check_fields(d, p, fields, &re->e) < 0 ||
	    json_get_u32(d, p, "controller", &controller, &re->e) < 0 ||
	    json_get_u32(d, p, "lun", &lun, &re->e) < 0 ||
	    json_get_enum(d, p, "type", disk_types, ARRAY_SIZE(disk_types),
			&type, &re->e) < 0 ||
	    json_get_bool(d, p, "read_only", &ro, &re->e) < 0 ||
	    json_get_str(d, p, "host_path", &path, &re->e) < 0 ||
	    json_get_str(d, p, "serial", &serial, &re->e) < 0 ||
	    json_get_object(d, p, "rate_limit", &rl, &re->e) < 0)
		goto invalid;
	json_path_join(where, sizeof(where), p, "rate_limit");
	if (rl && rate_limit_from_json(rl, where, &limit, re) < 0)
		goto fail;
	if (!path || !*path) {
		rpc_fail(re, RPC_INVALID_PARAMS, "%s.host_path: missing", p);
		goto fail;
	}
	if (type != DISK_TYPE_PHYSICAL) {
		rpc_fail(re, RPC_UNSUPPORTED,
			 "%s.type: %s images are not supported; give a raw image as SCSI_DISK_TYPE_PHYSICAL",
			 p, disk_types[type]);
		goto fail;
	}
	if (controller >= CONFIG_SCSI_CONTROLLERS || lun >= CONFIG_SCSI_LUNS) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s: controller %u, lun %u: controllers are 0 to %d and luns 0 to %d",
			 p, controller, lun, CONFIG_SCSI_CONTROLLERS - 1,
			 CONFIG_SCSI_LUNS - 1);
		goto fail;
	}
	if (serial && extra_serial && *extra_serial) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s.serial: given twice (extra_data.disk_%u_serial too)",
			 p, lun_default);
		goto fail;
	}
	if (!serial && extra_serial) {
		serial = *extra_serial;
		*extra_serial = NULL;
	}
	/* Without one, the serial names the disk's SCSI address. */
	if (!serial && asprintf(&serial, SCSI_SERIAL_FMT, controller, lun) < 0) {
		serial = NULL;
		rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
		goto fail;
	}
	if (config_check_disk_serial(serial, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		err_prefix(&re->e, "%s.serial", p);
		goto fail;
	}
	*out = (struct disk_config){
		.path = path, .read_only = ro, .serial = serial,
		.controller = (uint8_t)controller, .lun = (uint8_t)lun,
		.rate_limit = limit,
	};
	return 0;
invalid:
	rpc_invalid(re);
fail:
	free(path);
	free(serial);
	return -1;
}

static int parse_disk(struct json_object *d, const char *p, size_t index,
		      void *ctx, struct rpc_error *re)
{
	struct target *t = ctx;
	struct vm_config *cfg = t->cfg;

	if (config_disk_from_json(d, p, (uint32_t)index,
				  &t->x->disk_serial[index],
				  &cfg->disks[cfg->nr_disks], re) < 0)
		return -1;
	cfg->nr_disks++;
	return 0;
}

/* "12-34-56-78-9A-BC" as NICConfig.mac_address has it, or with colons. */
static int mac_to_colons(const char *mac, char *out, size_t len)
{
	if (strlen(mac) != 17 || len < 18)
		return -1;
	for (size_t i = 0; i < 18; i++)
		out[i] = (i % 3 == 2 && mac[i] == '-') ? ':' : mac[i];
	return 0;
}

int config_nic_from_json(struct json_object *n, const char *p,
			 struct net_config *out, struct rpc_error *re)
{
	static const char *const fields[] = {
		"nic_id", "port_id", "mac_address", "switch_id", "nic_name",
		"rate_limit", NULL,
	};
	char *id = NULL, *port = NULL, *mac = NULL, *sw = NULL, *name = NULL;
	char arg[128], colons[18], where[JSON_PATH_MAX];
	struct rate_limit_config limit = { 0 };
	struct json_object *rl;
	int ret = -1;

	if (json_check_fields(n, p, fields, &re->e) < 0 ||
	    json_get_str(n, p, "nic_id", &id, &re->e) < 0 ||
	    json_get_str(n, p, "port_id", &port, &re->e) < 0 ||
	    json_get_str(n, p, "mac_address", &mac, &re->e) < 0 ||
	    json_get_str(n, p, "switch_id", &sw, &re->e) < 0 ||
	    json_get_str(n, p, "nic_name", &name, &re->e) < 0 ||
	    json_get_object(n, p, "rate_limit", &rl, &re->e) < 0) {
		rpc_invalid(re);
		goto out;
	}
	json_path_join(where, sizeof(where), p, "rate_limit");
	if (rl && rate_limit_from_json(rl, where, &limit, re) < 0)
		goto out;
	if (sw && *sw) {
		rpc_fail(re, RPC_UNSUPPORTED,
			 "%s.switch_id: this VMM manages no virtual switch; attach the TAP device to a bridge on the host",
			 p);
		goto out;
	}
	if (!port || !*port) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s.port_id: missing (the host TAP device's name)", p);
		goto out;
	}
	if (!strncmp(port, "fd:", 3) || strchr(port, ',') || strchr(port, '=')) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s.port_id: '%.32s' is not a TAP device name (descriptors can only be given on the command line)",
			 p, port);
		goto out;
	}
	if (mac && *mac && mac_to_colons(mac, colons, sizeof(colons)) < 0) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s.mac_address: '%.32s' is not a MAC address like 52-54-00-12-34-56",
			 p, mac);
		goto out;
	}
	if (id && strlen(id) > CONFIG_NIC_ID_MAX) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s.nic_id: longer than %d bytes", p, CONFIG_NIC_ID_MAX);
		goto out;
	}
	snprintf(arg, sizeof(arg), "tap=%.32s%s%s", port,
		 mac && *mac ? ",mac=" : "", mac && *mac ? colons : "");
	if (config_parse_net(arg, out, &re->e) < 0) {
		device_error(re, p);
		goto out;
	}
	if (id && *id) {
		out->id = id;
		id = NULL;
	}
	out->rate_limit = limit;
	ret = 0;
out:
	free(id);
	free(port);
	free(mac);
	free(sw);
	free(name);
	return ret;
}

static int parse_nic(struct json_object *n, const char *p, size_t index,
		     void *ctx, struct rpc_error *re)
{
	struct vm_config *cfg = ((struct target *)ctx)->cfg;

	(void)index;
	if (config_nic_from_json(n, p, &cfg->nets[cfg->nr_nets], re) < 0)
		return -1;
	cfg->nr_nets++;
	return 0;
}

/*
 * The guest finds a disk by its serial and ModifyResource by its SCSI
 * address: two disks may share neither.
 */
static int check_disks_unique(const struct vm_config *cfg, const char *p,
			      struct rpc_error *re)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *a = &cfg->disks[i];

		for (unsigned int j = 0; j < i; j++) {
			const struct disk_config *b = &cfg->disks[j];

			if (!strcmp(a->serial, b->serial))
				return rpc_fail(re, RPC_INVALID_PARAMS,
						"%s.scsi_disks[%u] and [%u]: both have serial %s (the same controller and lun, or extra_data disk_N_serial)",
						p, j, i, a->serial);
			if (a->controller == b->controller && a->lun == b->lun)
				return rpc_fail(re, RPC_INVALID_PARAMS,
						"%s.scsi_disks[%u] and [%u]: both are controller %u, lun %u",
						p, j, i, a->controller, a->lun);
		}
	}
	return 0;
}

static int parse_devices(struct json_object *cfgmsg, struct vm_config *cfg,
			 struct extra *x, struct rpc_error *re)
{
	static const char *const fields[] = {
		"scsi_disks", "vpmem_disks", "nic_config", "windows_device",
		"transport", DEVICES_JSON_FIELDS, NULL,
	};
	struct target t = { .cfg = cfg, .x = x };
	struct json_object *m, *other;
	char p[JSON_PATH_MAX];
	int transport = cfg->transport;

	if (get_message(cfgmsg, "config", "devices_config", fields, &m, p,
			sizeof(p), re) < 0)
		return -1;
	if (!m)
		return 0;
	if (json_get_enum(m, p, "transport", transport_names,
			  ARRAY_SIZE(transport_names), &transport, &re->e) < 0)
		return rpc_invalid(re);
	cfg->transport = (enum virtio_transport_kind)transport;
	if (json_get_array(m, p, "vpmem_disks", &other, &re->e) < 0)
		return rpc_invalid(re);
	if (other && json_object_array_length(other))
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s.vpmem_disks: virtio-pmem disks are not supported yet",
				p);
	if (json_get_array(m, p, "windows_device", &other, &re->e) < 0)
		return rpc_invalid(re);
	if (other && json_object_array_length(other))
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s.windows_device: Windows PCI devices cannot be assigned on Linux",
				p);
	if (rpc_each_item(m, p, "scsi_disks", CONFIG_MAX_DISKS, "disks",
			  parse_disk, &t, re) < 0 ||
	    check_disks_unique(cfg, p, re) < 0 ||
	    rpc_each_item(m, p, "nic_config", CONFIG_MAX_NETS,
			  "network devices", parse_nic, &t, re) < 0)
		return -1;
	return devices_from_json(m, p, cfg, re);
}

/* Where SerialPort messages go, and which ports were given already. */
struct ports_target {
	struct vm_config *cfg;
	bool *given;
};

static int parse_port(struct json_object *port, const char *p, size_t i,
		      void *ctx, struct rpc_error *re)
{
	struct vm_config *cfg = ((struct ports_target *)ctx)->cfg;
	bool *given = ((struct ports_target *)ctx)->given;

	static const char *const fields[] = { "port", "socket_path", NULL };
	uint32_t index = 0;
	char *path = NULL;
	struct chardev_config *c;

	(void)i;
	if (json_check_fields(port, p, fields, &re->e) < 0 ||
	    json_get_u32(port, p, "port", &index, &re->e) < 0 ||
	    json_get_str(port, p, "socket_path", &path, &re->e) < 0) {
		free(path);
		return rpc_invalid(re);
	}
	if (index >= CONFIG_NR_SERIAL) {
		free(path);
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s.port: %u: ports are 0 (COM1, ttyS0) to %d (COM%d)",
				p, index, CONFIG_NR_SERIAL - 1, CONFIG_NR_SERIAL);
	}
	if (!path || !*path) {
		free(path);
		return rpc_fail(re, RPC_INVALID_PARAMS, "%s.socket_path: missing", p);
	}
	if (given[index]) {
		free(path);
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s.port: port %u is configured twice", p, index);
	}
	given[index] = true;
	c = &cfg->serial[index];
	free(c->path);
	c->kind = CHARDEV_SOCKET;
	c->path = path;
	return 0;
}

int config_ports_from_json(struct json_object *serial, const char *p,
			   struct vm_config *cfg, bool given[CONFIG_NR_SERIAL],
			   struct rpc_error *re)
{
	struct ports_target t = { .cfg = cfg, .given = given };

	return rpc_each_item(serial, p, "ports", CONFIG_NR_SERIAL, "ports",
			     parse_port, &t, re);
}

static int parse_serial(struct json_object *cfgmsg, struct vm_config *cfg,
			struct extra *x, struct rpc_error *re)
{
	static const char *const fields[] = { "ports", NULL };
	struct json_object *m;
	char p[JSON_PATH_MAX];

	if (get_message(cfgmsg, "config", "serial_config", fields, &m, p,
			sizeof(p), re) < 0)
		return -1;
	return m ? config_ports_from_json(m, p, cfg, x->serial_set, re) : 0;
}

/* An empty path is as good as none. */
static void drop_empty(char **s)
{
	if (*s && !**s) {
		free(*s);
		*s = NULL;
	}
}

/*
 * UEFI boot: the firmware image; device_path an EFI executable (a kernel
 * with its EFI stub, a boot loader) the firmware starts, optional_data its
 * command line (vmservice.proto: "for Linux ... the kernel commandline").
 * Without device_path the firmware's boot manager picks a disk.
 */
static int parse_uefi(struct json_object *uefi, const char *p,
		      struct vm_config *cfg, struct rpc_error *re)
{
	if (json_get_str(uefi, p, "firmware_path", &cfg->firmware, &re->e) < 0 ||
	    json_get_str(uefi, p, "device_path", &cfg->kernel, &re->e) < 0 ||
	    json_get_str(uefi, p, "optional_data", &cfg->cmdline, &re->e) < 0)
		return rpc_invalid(re);
	drop_empty(&cfg->firmware);
	drop_empty(&cfg->kernel);
	if (!cfg->firmware)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s.firmware_path: missing (the UEFI firmware image)",
				p);
	return 0;
}

static int parse_boot(struct json_object *cfgmsg, struct vm_config *cfg,
		      struct rpc_error *re)
{
	static const char *const fields[] = {
		"kernel_path", "initrd_path", "kernel_cmdline", "mmio_cmdline",
		NULL,
	};
	static const char *const uefi_fields[] = {
		"firmware_path", "device_path", "optional_data", NULL,
	};
	struct json_object *m, *uefi;
	char p[JSON_PATH_MAX], up[JSON_PATH_MAX];

	if (get_message(cfgmsg, "config", "direct_boot", fields, &m, p,
			sizeof(p), re) < 0 ||
	    get_message(cfgmsg, "config", "uefi", uefi_fields, &uefi, up,
			sizeof(up), re) < 0)
		return -1;
	if (m && uefi)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"config: give one of direct_boot and uefi, not both");
	if (uefi)
		return parse_uefi(uefi, up, cfg, re);
	if (!m)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"config.direct_boot: missing (the kernel to boot)");
	if (json_get_str(m, p, "kernel_path", &cfg->kernel, &re->e) < 0 ||
	    json_get_str(m, p, "initrd_path", &cfg->initrd, &re->e) < 0 ||
	    json_get_str(m, p, "kernel_cmdline", &cfg->cmdline, &re->e) < 0 ||
	    json_get_bool(m, p, "mmio_cmdline", &cfg->mmio_cmdline, &re->e) < 0)
		return rpc_invalid(re);
	drop_empty(&cfg->kernel);
	drop_empty(&cfg->initrd);
	return 0;
}

static int parse_windows(struct json_object *cfgmsg, struct rpc_error *re)
{
	static const char *const fields[] = { "cpu_group_id", NULL };
	struct json_object *m;
	char p[JSON_PATH_MAX];
	uint64_t group = 0;

	if (get_message(cfgmsg, "config", "windows_options", fields, &m, p,
			sizeof(p), re) < 0)
		return -1;
	if (m && json_get_u64(m, p, "cpu_group_id", &group, &re->e) < 0)
		return rpc_invalid(re);
	if (group)
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s.cpu_group_id: CPU groups exist only on Windows hosts",
				p);
	return 0;
}

/* "serial_N" and "disk_N_serial": the index N (below @max), or -1. */
static int key_index(const char *key, const char *prefix, const char *suffix,
		     int max)
{
	size_t n = strlen(prefix), digits = 0;
	int v = 0;

	if (strncmp(key, prefix, n))
		return -1;
	key += n;
	while (key[digits] >= '0' && key[digits] <= '9' && digits < 4)
		v = v * 10 + (key[digits++] - '0');
	/* No sign, no leading zeros: one spelling per index. */
	if (!digits || (digits > 1 && key[0] == '0') || strcmp(key + digits, suffix) ||
	    v >= max)
		return -1;
	return v;
}

static int apply_extra(const char *key, const char *val, struct vm_config *cfg,
		       struct extra *x, struct rpc_error *re)
{
	int i;

	re->code = RPC_INVALID_PARAMS;
	if (!strcmp(key, "hugepages")) {
		if (strcmp(val, "true") && strcmp(val, "false"))
			return err_set(&re->e, "config.extra_data.hugepages: \"%.32s\" is not \"true\" or \"false\"",
				       val);
		cfg->hugepages = !strcmp(val, "true");
		return 0;
	}
	if (!strcmp(key, "console")) {
		if (chardev_config_parse(val, &cfg->console, &re->e) < 0)
			return err_prefix(&re->e, "config.extra_data.console");
		return 0;
	}
	if ((i = key_index(key, "serial_", "", CONFIG_NR_SERIAL)) >= 0) {
		x->serial_set[i] = true;
		if (chardev_config_parse(val, &cfg->serial[i], &re->e) < 0)
			return err_prefix(&re->e, "config.extra_data.%s", key);
		return 0;
	}
	if (!strcmp(key, "vsock")) {
		if (config_set_vsock(cfg, val, &re->e) < 0)
			return err_prefix(&re->e, "config.extra_data.vsock");
		return 0;
	}
	if (!strncmp(key, "vsock_listen_", 13)) {
		const char *port = key + 13;

		if (!*port || strlen(port) > 10 ||
		    strspn(port, "0123456789") != strlen(port) ||
		    strtoull(port, NULL, 10) > CONFIG_VSOCK_PORT_MAX)
			return err_set(&re->e, "config.extra_data.%.64s: the key must end in a port number",
				       key);
		if (config_vsock_listen(&cfg->vsock,
					(uint32_t)strtoull(port, NULL, 10), val,
					&re->e) < 0)
			return err_prefix(&re->e, "config.extra_data.%s", key);
		return 0;
	}
	if (!strcmp(key, "balloon")) {
		if (config_set_balloon(cfg, val, &re->e) < 0)
			return err_prefix(&re->e, "config.extra_data.balloon");
		return 0;
	}
	if (!strcmp(key, "transport")) {
		if (config_parse_transport(val, &cfg->transport, &re->e) < 0)
			return err_prefix(&re->e, "config.extra_data.transport");
		return 0;
	}
	if ((i = key_index(key, "disk_", "_serial", CONFIG_MAX_DISKS)) >= 0) {
		free(x->disk_serial[i]);
		x->disk_serial[i] = strdup(val);
		return x->disk_serial[i] ? 0 :
			err_set(&re->e, "out of memory");
	}
	return err_set(&re->e, "config.extra_data: unknown key '%.64s' (known: %s)",
		       key, CONFIG_JSON_EXTRA_KEYS);
}

static int parse_extra(struct json_object *cfgmsg, struct vm_config *cfg,
		       struct extra *x, struct rpc_error *re)
{
	struct json_object *m;
	char where[JSON_PATH_MAX];

	if (json_get_object(cfgmsg, "config", "extra_data", &m, &re->e) < 0)
		return rpc_invalid(re);
	if (!m)
		return 0;
	json_object_object_foreach(m, key, val) {
		const char *s;

		snprintf(where, sizeof(where), "config.extra_data.%.64s", key);
		if (!json_object_is_type(val, json_type_string))
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"%s: expected a string, got %s", where,
					json_type_name(val));
		s = json_object_get_string(val);
		if (strlen(s) != (size_t)json_object_get_string_len(val))
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"%s: the string holds a NUL byte", where);
		if (apply_extra(key, s, cfg, x, re) < 0)
			return -1;
	}
	return 0;
}

/* vm_config_validate() with the bad field named by its JSON path. */
static int validate(const struct vm_config *cfg, struct rpc_error *re)
{
	static const char *const paths[] = {
		[CONFIG_FIELD_KERNEL] = "config.direct_boot.kernel_path",
		[CONFIG_FIELD_CPUS] = "config.processor_config.processor_count",
		[CONFIG_FIELD_MEMORY] = "config.memory_config.memory_mb",
		[CONFIG_FIELD_VSOCK_LISTENERS] = "config.extra_data",
		[CONFIG_FIELD_MMIO_CMDLINE] = "config.direct_boot.mmio_cmdline",
	};
	struct config_error ce;

	if (vm_config_validate(cfg, CONFIG_MAX_CPUS, &ce) == 0)
		return 0;
	return rpc_fail(re, RPC_INVALID_PARAMS, "%s: %s", paths[ce.field],
			ce.why.msg);
}

static int parse_config(struct json_object *c, struct vm_config *cfg,
			struct extra *x, struct rpc_error *re)
{
	static const char *const fields[] = {
		"memory_config", "processor_config", "devices_config",
		"serial_config", "direct_boot", "uefi", "windows_options",
		"extra_data", NULL,
	};

	if (json_check_fields(c, "config", fields, &re->e) < 0)
		return rpc_invalid(re);
	/* extra_data first: disks and serial ports use what it holds. */
	if (parse_extra(c, cfg, x, re) < 0 || parse_memory(c, cfg, re) < 0 ||
	    parse_processor(c, cfg, re) < 0 || parse_serial(c, cfg, x, re) < 0 ||
	    parse_devices(c, cfg, x, re) < 0 || parse_boot(c, cfg, re) < 0 ||
	    parse_windows(c, re) < 0)
		return -1;
	for (unsigned int i = cfg->nr_disks; i < CONFIG_MAX_DISKS; i++)
		if (x->disk_serial[i])
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"config.extra_data: disk_%u_serial names a disk that scsi_disks does not have",
					i);
	return validate(cfg, re);
}

int config_from_json(struct json_object *request, struct vm_config *cfg,
		     char **log_id, struct rpc_error *re)
{
	static const char *const fields[] = { "config", "log_id", NULL };
	struct extra x;
	struct json_object *c;
	int ret;

	vm_config_init(cfg);
	/* A port the request does not configure has no host end of its own. */
	cfg->serial[0].kind = CHARDEV_NONE;
	*log_id = NULL;
	if (!request)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"params: missing (a CreateVMRequest with its config)");
	if (json_check_fields(request, "", fields, &re->e) < 0 ||
	    json_get_str(request, "", "log_id", log_id, &re->e) < 0 ||
	    json_get_object(request, "", "config", &c, &re->e) < 0)
		return rpc_invalid(re);
	if (!c)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"config: missing (the VMConfig to create)");
	memset(&x, 0, sizeof(x));
	ret = parse_config(c, cfg, &x, re);
	for (size_t i = 0; i < CONFIG_MAX_DISKS; i++)
		free(x.disk_serial[i]);
	return ret;
}

/* Config files are small; this bounds what a wrong path makes us read. */
#define CONFIG_FILE_MAX (1 * MiB)

int config_from_file(const char *path, struct vm_config *cfg, char **log_id,
		     bool *unreadable, struct err *e)
{
	struct json_object *doc, *request;
	struct rpc_error re = { 0 };
	uint8_t *data;
	size_t len;
	int ret;

	vm_config_init(cfg);
	*log_id = NULL;
	*unreadable = true;
	if (read_file(path, CONFIG_FILE_MAX, &data, &len, e) < 0)
		return -1;
	*unreadable = false;
	ret = json_parse_object((const char *)data, len, &doc, e);
	free(data);
	if (ret < 0)
		return err_prefix(e, "%s", path);
	/* A whole CreateVMRequest, or just its VMConfig (as vmmctl create). */
	if (json_object_object_get_ex(doc, "config", NULL)) {
		request = doc;
	} else {
		request = json_object_new_object();
		if (!request || json_add(request, "config", doc) < 0) {
			json_object_put(request);
			json_object_put(doc);
			return err_set(e, "out of memory");
		}
	}
	vm_config_free(cfg);
	ret = config_from_json(request, cfg, log_id, &re);
	json_object_put(request);
	if (ret < 0)
		return err_set(e, "%s: %s", path, re.e.msg);
	return 0;
}

/* Writing: the same messages, every field the VMM honours set. */

static const char *chardev_dest(const struct chardev_config *c, char *buf,
				size_t len)
{
	switch (c->kind) {
	case CHARDEV_STDIO:
		return "stdio";
	case CHARDEV_FILE:
		snprintf(buf, len, "file:%s", c->path);
		return buf;
	case CHARDEV_SOCKET:
		snprintf(buf, len, "socket:%s", c->path);
		return buf;
	case CHARDEV_NONE:
		break;
	}
	return "none";
}

static int memory_json(struct json_object *c, const struct vm_config *cfg)
{
	struct json_object *m = json_add_object(c, "memory_config");

	if (!m || json_add_u64(m, "memory_mb", cfg->mem_mib) < 0 ||
	    json_add_bool(m, "allow_overcommit", true) < 0 ||
	    json_add_bool(m, "deferred_commit", true) < 0 ||
	    json_add_u64(m, "low_mmio_gap_in_mb", MMIO_GAP_MIB) < 0 ||
	    (cfg->hugepages && json_add_bool(m, "hugepages", true) < 0))
		return -1;
	return 0;
}

static int processor_json(struct json_object *c, const struct vm_config *cfg)
{
	struct json_object *m = json_add_object(c, "processor_config");

	if (!m || json_add_u32(m, "processor_count", cfg->nr_cpus) < 0)
		return -1;
	return 0;
}

static int disk_json(struct json_object *arr, const struct disk_config *d)
{
	struct json_object *m = json_append_object(arr);
	char address[32];

	/* A serial that names the disk's own address is the default one. */
	snprintf(address, sizeof(address), SCSI_SERIAL_FMT, d->controller,
		 d->lun);
	if (!m || json_add_u32(m, "controller", d->controller) < 0 ||
	    json_add_u32(m, "lun", d->lun) < 0 ||
	    json_add_string(m, "host_path", d->path) < 0 ||
	    json_add_string(m, "type", disk_types[DISK_TYPE_PHYSICAL]) < 0 ||
	    json_add_bool(m, "read_only", d->read_only) < 0 ||
	    (d->serial && strcmp(d->serial, address) &&
	     json_add_string(m, "serial", d->serial) < 0) ||
	    rate_limit_to_json(m, &d->rate_limit) < 0)
		return -1;
	return 0;
}

static int nic_json(struct json_object *arr, const struct net_config *n)
{
	struct json_object *m = json_append_object(arr);
	char port[32], mac[18];

	if (!m)
		return -1;
	if (n->tap_name)
		snprintf(port, sizeof(port), "%s", n->tap_name);
	else
		snprintf(port, sizeof(port), "fd:%d", n->tap_fd);
	if (json_add_string(m, "port_id", port) < 0 ||
	    (n->id && json_add_string(m, "nic_id", n->id) < 0) ||
	    rate_limit_to_json(m, &n->rate_limit) < 0)
		return -1;
	if (!n->has_mac)
		return 0;
	snprintf(mac, sizeof(mac), "%02X-%02X-%02X-%02X-%02X-%02X",
		 n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
		 n->mac[5]);
	return json_add_string(m, "mac_address", mac);
}

static int devices_json(struct json_object *c, const struct vm_config *cfg)
{
	struct json_object *m, *disks, *nics;

	if (!cfg->nr_disks && !cfg->nr_nets && !devices_json_any(cfg) &&
	    cfg->transport == VIRTIO_TRANSPORT_MMIO)
		return 0;
	if (!(m = json_add_object(c, "devices_config")) ||
	    !(disks = json_add_array(m, "scsi_disks")) ||
	    !(nics = json_add_array(m, "nic_config")) ||
	    (cfg->transport != VIRTIO_TRANSPORT_MMIO &&
	     json_add_string(m, "transport", transport_names[cfg->transport]) < 0))
		return -1;
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		if (disk_json(disks, &cfg->disks[i]) < 0)
			return -1;
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (nic_json(nics, &cfg->nets[i]) < 0)
			return -1;
	return devices_to_json(m, cfg);
}

/* Socket ports go to serial_config, other back ends to extra_data. */
static int serial_json(struct json_object *c, struct json_object *extra,
		       const struct vm_config *cfg)
{
	struct json_object *ports = NULL, *port, *m;
	char key[16], dest[4200];

	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++) {
		const struct chardev_config *s = &cfg->serial[i];

		if (s->kind == CHARDEV_NONE)
			continue;
		if (s->kind != CHARDEV_SOCKET) {
			snprintf(key, sizeof(key), "serial_%u", i);
			if (json_add_string(extra, key,
					  chardev_dest(s, dest, sizeof(dest))) < 0)
				return -1;
			continue;
		}
		if (!ports && (!(m = json_add_object(c, "serial_config")) ||
			       !(ports = json_add_array(m, "ports"))))
			return -1;
		if (!(port = json_append_object(ports)) ||
		    json_add_u32(port, "port", i) < 0 ||
		    json_add_string(port, "socket_path", s->path) < 0)
			return -1;
	}
	return 0;
}

static int boot_json(struct json_object *c, const struct vm_config *cfg)
{
	struct json_object *m;

	if (cfg->firmware) {
		m = json_add_object(c, "uefi");
		if (!m || json_add_string(m, "firmware_path", cfg->firmware) < 0 ||
		    (cfg->kernel &&
		     json_add_string(m, "device_path", cfg->kernel) < 0) ||
		    (cfg->cmdline &&
		     json_add_string(m, "optional_data", cfg->cmdline) < 0))
			return -1;
		return 0;
	}
	m = json_add_object(c, "direct_boot");
	if (!m || json_add_string(m, "kernel_path", cfg->kernel) < 0 ||
	    (cfg->initrd && json_add_string(m, "initrd_path", cfg->initrd) < 0) ||
	    (cfg->cmdline &&
	     json_add_string(m, "kernel_cmdline", cfg->cmdline) < 0) ||
	    (cfg->mmio_cmdline && json_add_bool(m, "mmio_cmdline", true) < 0))
		return -1;
	return 0;
}

struct json_object *config_to_json(const struct vm_config *cfg)
{
	struct json_object *c = json_object_new_object();
	struct json_object *extra = json_object_new_object();

	if (!c || !extra || memory_json(c, cfg) < 0 ||
	    processor_json(c, cfg) < 0 || devices_json(c, cfg) < 0 ||
	    serial_json(c, extra, cfg) < 0 || boot_json(c, cfg) < 0)
		goto fail;
	if (!json_object_object_length(extra)) {
		json_object_put(extra);
		return c;
	}
	if (json_add(c, "extra_data", extra) < 0) {
		json_object_put(c);
		return NULL;
	}
	return c;
fail:
	json_object_put(c);
	json_object_put(extra);
	return NULL;
}
