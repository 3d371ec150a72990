// SPDX-License-Identifier: MIT
/*
 * CreateVM's VMConfig (protobuf JSON) <-> struct vm_config: every field the
 * VMM honours lands where the command line would put it, everything it
 * cannot honour is refused with the field's path, and the view InspectVM
 * shows reads back into the same config.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/config_json.h"
#include "vmm/cli.h"

static int from(const char *json, struct vm_config *cfg, char **log_id,
		struct rpc_error *re)
{
	struct json_object *req = json_tokener_parse(json);
	int ret;

	cr_assert_not_null(req, "test JSON does not parse: %s", json);
	memset(re, 0, sizeof(*re));
	ret = config_from_json(req, cfg, log_id, re);
	json_object_put(req);
	return ret;
}

static const char full[] =
	"{\"log_id\":\"vm-7\",\"config\":{"
	"\"memory_config\":{\"memory_mb\":\"256\",\"allow_overcommit\":true,"
	"\"deferred_commit\":true,\"low_mmio_gap_in_mb\":1280},"
	"\"processor_config\":{\"processor_count\":2},"
	"\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/img/root\","
	"\"read_only\":true},{\"controller\":0,\"lun\":1,\"host_path\":\"/img/data\","
	"\"type\":\"SCSI_DISK_TYPE_PHYSICAL\"}],"
	"\"nic_config\":[{\"nic_id\":\"6c4b3d1e\",\"port_id\":\"tap0\","
	"\"mac_address\":\"52-54-00-12-34-56\",\"nic_name\":\"eth0\"}]},"
	"\"serial_config\":{\"ports\":[{\"port\":0,\"socket_path\":\"/run/com1\"},"
	"{\"port\":1,\"socket_path\":\"/run/com2\"}]},"
	"\"direct_boot\":{\"kernel_path\":\"/boot/vmlinux\",\"initrd_path\":"
	"\"/boot/initrd\",\"kernel_cmdline\":\"console=ttyS0 quiet\","
	"\"mmio_cmdline\":true},"
	"\"extra_data\":{\"hugepages\":\"true\",\"disk_0_serial\":\"root-1\","
	"\"serial_3\":\"file:/var/log/com4\",\"console\":\"socket:/run/con\","
	"\"vsock\":\"cid=3,uds=/run/v.sock\",\"vsock_listen_5000\":\"/run/l5000\","
	"\"balloon\":\"1024,deflate-on-oom,stats=5\"}}}";

Test(api_config, maps_every_field_the_vmm_honours)
{
	struct vm_config cfg;
	struct rpc_error re;
	char *log_id;

	cr_assert_eq(from(full, &cfg, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert_str_eq(log_id, "vm-7");
	cr_assert_eq(cfg.mem_mib, 256);
	cr_assert(cfg.hugepages);
	cr_assert_eq(cfg.nr_cpus, 2);
	cr_assert_str_eq(cfg.kernel, "/boot/vmlinux");
	cr_assert_str_eq(cfg.initrd, "/boot/initrd");
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	cr_assert(cfg.mmio_cmdline);
	cr_assert_eq(cfg.nr_disks, 2);
	cr_assert_str_eq(cfg.disks[0].path, "/img/root");
	cr_assert(cfg.disks[0].read_only);
	cr_assert_str_eq(cfg.disks[0].serial, "root-1");
	cr_assert_not(cfg.disks[1].read_only);
	/* The guest agent finds a scsi_disks entry by its SCSI address. */
	cr_assert_str_eq(cfg.disks[1].serial, "scsi-0-1");
	cr_assert_eq(cfg.nr_nets, 1);
	cr_assert_str_eq(cfg.nets[0].tap_name, "tap0");
	cr_assert(cfg.nets[0].has_mac);
	cr_assert_eq(cfg.nets[0].mac[5], 0x56);
	cr_assert_str_eq(cfg.nets[0].id, "6c4b3d1e");
	cr_assert_eq(cfg.disks[1].lun, 1);
	cr_assert_eq(cfg.transport, VIRTIO_TRANSPORT_MMIO);
	cr_assert_eq(cfg.serial[0].kind, CHARDEV_SOCKET);
	cr_assert_str_eq(cfg.serial[0].path, "/run/com1");
	cr_assert_str_eq(cfg.serial[1].path, "/run/com2");
	cr_assert_eq(cfg.serial[2].kind, CHARDEV_NONE);
	cr_assert_eq(cfg.serial[3].kind, CHARDEV_FILE);
	cr_assert_eq(cfg.console.kind, CHARDEV_SOCKET);
	cr_assert_str_eq(cfg.console.path, "/run/con");
	cr_assert(cfg.vsock.enabled);
	cr_assert_eq(cfg.vsock.cid, 3);
	cr_assert_str_eq(cfg.vsock.uds_path, "/run/v.sock");
	cr_assert_eq(cfg.vsock.nr_listeners, 1);
	cr_assert_eq(cfg.vsock.listeners[0].port, 5000);
	cr_assert_str_eq(cfg.vsock.listeners[0].path, "/run/l5000");
	cr_assert(cfg.balloon.enabled);
	cr_assert_eq(cfg.balloon.pages, 1024);
	cr_assert(cfg.balloon.deflate_on_oom);
	cr_assert_eq(cfg.balloon.stats_interval_s, 5);
	free(log_id);
	vm_config_free(&cfg);
}

Test(api_config, defaults_match_the_command_line_except_com1)
{
	struct vm_config cfg, cli;
	struct rpc_error re;
	char *log_id;

	cr_assert_eq(from("{\"config\":{\"direct_boot\":{\"kernel_path\":\"k\"}}}",
			  &cfg, &log_id, &re), 0, "%s", re.e.msg);
	vm_config_init(&cli);
	cr_assert_null(log_id);
	cr_assert_eq(cfg.mem_mib, cli.mem_mib);
	cr_assert_eq(cfg.nr_cpus, cli.nr_cpus);
	cr_assert_null(cfg.cmdline);
	cr_assert_not(cfg.mmio_cmdline);
	/* No stdio for a VM the socket created: COM1 exists without a host end. */
	cr_assert_eq(cfg.serial[0].kind, CHARDEV_NONE);
	vm_config_free(&cfg);
	vm_config_free(&cli);
}

Test(api_config, reads_back_what_it_writes)
{
	struct vm_config cfg, again;
	struct json_object *json, *req;
	struct rpc_error re;
	char *log_id, *log2;

	cr_assert_eq(from(full, &cfg, &log_id, &re), 0, "%s", re.e.msg);
	json = config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_object_get(json, "memory_config"),
				 "memory_mb")), "256", "uint64 is a string in protobuf JSON");
	req = json_object_new_object();
	json_object_object_add(req, "config", json);
	cr_assert_eq(config_from_json(req, &again, &log2, &re), 0, "%s\n%s", re.e.msg,
		     json_object_to_json_string(req));
	cr_assert_eq(again.mem_mib, cfg.mem_mib);
	cr_assert_eq(again.hugepages, cfg.hugepages);
	cr_assert_eq(again.nr_cpus, cfg.nr_cpus);
	cr_assert_str_eq(again.cmdline, cfg.cmdline);
	cr_assert(again.mmio_cmdline);
	cr_assert_eq(again.nr_disks, 2);
	cr_assert_str_eq(again.disks[0].serial, "root-1");
	cr_assert_eq(again.disks[0].read_only, true);
	cr_assert_eq(memcmp(again.nets[0].mac, cfg.nets[0].mac, 6), 0);
	cr_assert_str_eq(again.nets[0].id, "6c4b3d1e");
	cr_assert_eq(again.disks[1].lun, 1);
	for (int i = 0; i < CONFIG_NR_SERIAL; i++) {
		cr_assert_eq(again.serial[i].kind, cfg.serial[i].kind, "port %d", i);
		if (cfg.serial[i].path)
			cr_assert_str_eq(again.serial[i].path, cfg.serial[i].path);
	}
	cr_assert_str_eq(again.console.path, "/run/con");
	cr_assert_eq(again.vsock.cid, 3);
	cr_assert_str_eq(again.vsock.uds_path, "/run/v.sock");
	cr_assert_eq(again.vsock.listeners[0].port, 5000);
	cr_assert_str_eq(again.vsock.listeners[0].path, "/run/l5000");
	cr_assert_eq(again.balloon.pages, 1024);
	cr_assert(again.balloon.deflate_on_oom);
	cr_assert_eq(again.balloon.stats_interval_s, 5);
	json_object_put(req);
	free(log_id);
	vm_config_free(&cfg);
	vm_config_free(&again);
}

Test(api_config, uefi_names_firmware_executable_and_its_command_line)
{
	static const char json[] =
		"{\"config\":{\"uefi\":{\"firmware_path\":\"/fw/OVMF.fd\","
		"\"device_path\":\"/boot/vmlinuz\",\"optional_data\":\"quiet\"}}}";
	struct vm_config cfg, again;
	struct json_object *req;
	struct rpc_error re;
	char *log_id, *log2;

	cr_assert_eq(from(json, &cfg, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert_str_eq(cfg.firmware, "/fw/OVMF.fd");
	cr_assert_str_eq(cfg.kernel, "/boot/vmlinuz");
	cr_assert_str_eq(cfg.cmdline, "quiet");
	req = json_object_new_object();
	json_object_object_add(req, "config", config_to_json(&cfg));
	cr_assert_null(json_object_object_get(
		json_object_object_get(req, "config"), "direct_boot"));
	cr_assert_eq(config_from_json(req, &again, &log2, &re), 0, "%s", re.e.msg);
	cr_assert_str_eq(again.firmware, "/fw/OVMF.fd");
	cr_assert_str_eq(again.kernel, "/boot/vmlinuz");
	cr_assert_str_eq(again.cmdline, "quiet");
	json_object_put(req);
	free(log_id);
	free(log2);
	vm_config_free(&cfg);
	vm_config_free(&again);
}

static const char devices[] =
	"{\"config\":{\"memory_config\":{\"memory_mb\":\"64\",\"hugepages\":true},"
	"\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/img/a,b\","
	"\"serial\":\"disk-1\"}],"
	"\"console\":{\"type\":\"FILE\",\"path\":\"/var/log/con\"},"
	"\"vsock\":{\"guest_cid\":5,\"uds_path\":\"/run/v.sock\","
	"\"listeners\":[{\"port\":5000,\"listener_path\":\"/run/l5000\"}]},"
	"\"balloon\":{\"num_pages\":256,\"stats_interval_s\":2}},"
	"\"direct_boot\":{\"kernel_path\":\"/k\"}}}";

Test(api_config, devices_have_messages_of_their_own)
{
	struct vm_config cfg, again;
	struct json_object *req, *c;
	struct rpc_error re;
	char *log_id;

	cr_assert_eq(from(devices, &cfg, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert(cfg.hugepages);
	cr_assert_str_eq(cfg.disks[0].path, "/img/a,b");
	cr_assert_str_eq(cfg.disks[0].serial, "disk-1");
	cr_assert_eq(cfg.console.kind, CHARDEV_FILE);
	cr_assert_str_eq(cfg.console.path, "/var/log/con");
	cr_assert(cfg.vsock.enabled);
	cr_assert_eq(cfg.vsock.cid, 5);
	cr_assert_str_eq(cfg.vsock.uds_path, "/run/v.sock");
	cr_assert_eq(cfg.vsock.listeners[0].port, 5000);
	cr_assert(cfg.balloon.enabled);
	cr_assert_eq(cfg.balloon.pages, 256);
	cr_assert_eq(cfg.balloon.stats_interval_s, 2);

	/* Written back as the same messages, nothing in extra_data. */
	c = config_to_json(&cfg);
	cr_assert_not_null(c);
	cr_assert_null(json_object_object_get(c, "extra_data"));
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_object_get(json_object_object_get(
				     c, "devices_config"), "vsock"),
			     "guest_cid")), 5);
	req = json_object_new_object();
	json_object_object_add(req, "config", c);
	cr_assert_eq(config_from_json(req, &again, &log_id, &re), 0, "%s",
		     re.e.msg);
	cr_assert_str_eq(again.disks[0].serial, "disk-1");
	cr_assert_eq(again.console.kind, CHARDEV_FILE);
	cr_assert_str_eq(again.vsock.listeners[0].path, "/run/l5000");
	cr_assert_eq(again.balloon.stats_interval_s, 2);
	cr_assert(again.hugepages);
	json_object_put(req);
	vm_config_free(&cfg);
	vm_config_free(&again);
}

Test(api_config, scsi_address_is_the_disk_serial_and_reads_back)
{
	struct vm_config cfg, again;
	struct json_object *json, *req, *disk;
	struct rpc_error re;
	char *log_id, *log2;

	cr_assert_eq(from("{\"config\":{\"direct_boot\":{\"kernel_path\":\"k\"},"
			  "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/a\","
			  "\"controller\":2,\"lun\":7},{\"host_path\":\"/b\","
			  "\"controller\":3,\"lun\":63}]}}}", &cfg, &log_id, &re),
		     0, "%s", re.e.msg);
	cr_assert_str_eq(cfg.disks[0].serial, "scsi-2-7");
	cr_assert_str_eq(cfg.disks[1].serial, "scsi-3-63");
	json = config_to_json(&cfg);
	disk = json_object_array_get_idx(json_object_object_get(
		json_object_object_get(json, "devices_config"), "scsi_disks"), 1);
	cr_assert_eq(json_object_get_int(json_object_object_get(disk, "controller")), 3);
	cr_assert_eq(json_object_get_int(json_object_object_get(disk, "lun")), 63);
	/* The address says it all: no serial beside it. */
	cr_assert_not(json_object_object_get_ex(disk, "serial", NULL));
	req = json_object_new_object();
	json_object_object_add(req, "config", json);
	cr_assert_eq(config_from_json(req, &again, &log2, &re), 0, "%s", re.e.msg);
	cr_assert_str_eq(again.disks[0].serial, "scsi-2-7");
	cr_assert_str_eq(again.disks[1].serial, "scsi-3-63");
	cr_assert_eq(again.disks[1].controller, 3);
	cr_assert_eq(again.disks[1].lun, 63);
	json_object_put(req);
	free(log_id);
	vm_config_free(&cfg);
	vm_config_free(&again);
}

Test(api_config, a_device_given_twice_is_refused)
{
	static const struct {
		const char *extra, *devices, *msg;
	} twice[] = {
		{ "\"balloon\":\"8\"", "\"balloon\":{\"num_pages\":8}",
		  "balloon device is given twice" },
		{ "\"disk_0_serial\":\"a\"",
		  "\"scsi_disks\":[{\"host_path\":\"/d\",\"serial\":\"b\"}]",
		  "scsi_disks[0].serial: given twice" },
		{ "\"vsock\":\"cid=3,uds=/v\"",
		  "\"vsock\":{\"guest_cid\":4,\"uds_path\":\"/w\"}",
		  "vsock device is given twice" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(twice); i++) {
		char json[512];
		struct vm_config cfg;
		struct rpc_error re;
		char *log_id;

		snprintf(json, sizeof(json),
			 "{\"config\":{\"extra_data\":{%s},\"devices_config\":{%s},"
			 "\"direct_boot\":{\"kernel_path\":\"k\"}}}",
			 twice[i].extra, twice[i].devices);
		cr_expect_eq(from(json, &cfg, &log_id, &re), -1, "accepted %s",
			     json);
		cr_expect(strstr(re.e.msg, twice[i].msg), "%s", re.e.msg);
		vm_config_free(&cfg);
	}
}

Test(api_config, writes_command_line_configs_too)
{
	struct vm_config cfg, again;
	struct json_object *req;
	struct rpc_error re;
	char *log_id;

	/* The command line's defaults: COM1 on stdio travels in extra_data. */
	vm_config_init(&cfg);
	cfg.kernel = strdup("/k");
	req = json_object_new_object();
	json_object_object_add(req, "config", config_to_json(&cfg));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_object_get(
					 json_object_object_get(req, "config"),
					 "extra_data"), "serial_0")), "stdio");
	cr_assert_eq(config_from_json(req, &again, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert_eq(again.serial[0].kind, CHARDEV_STDIO);
	json_object_put(req);
	vm_config_free(&cfg);
	vm_config_free(&again);
}

Test(api_config, refuses_what_it_cannot_honour)
{
	static const struct {
		const char *config;
		int code;
		const char *msg;
	} bad[] = {
		{ "\"uefi\":{\"device_path\":\"/k\"}", RPC_INVALID_PARAMS,
		  "config.uefi.firmware_path: missing" },
		{ "\"direct_boot\":{\"kernel_path\":\"k\"},\"uefi\":{}", RPC_INVALID_PARAMS,
		  "one of direct_boot and uefi" },
		{ "\"memory_config\":{\"memory_mb\":64,\"hot_hint\":true}", RPC_UNSUPPORTED,
		  "config.memory_config.hot_hint: memory hints are not supported yet" },
		{ "\"memory_config\":{\"low_mmio_gap_in_mb\":512}", RPC_UNSUPPORTED,
		  "fixed at 1280 MiB" },
		{ "\"memory_config\":{\"high_mmio_gap_in_mb\":\"64\"}", RPC_UNSUPPORTED,
		  "high_mmio_gap_in_mb" },
		{ "\"processor_config\":{\"processor_weight\":100}", RPC_UNSUPPORTED,
		  "processor_weight: vCPU weights and limits are not supported yet" },
		{ "\"devices_config\":{\"vpmem_disks\":[{\"host_path\":\"/p\"}]}", RPC_UNSUPPORTED,
		  "vpmem_disks: virtio-pmem" },
		{ "\"devices_config\":{\"windows_device\":[{\"instance_id\":\"x\"}]}", RPC_UNSUPPORTED,
		  "windows_device" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/d\",\"type\":\"SCSI_DISK_TYPE_VHDX\"}]}",
		  RPC_UNSUPPORTED, "scsi_disks[0].type: SCSI_DISK_TYPE_VHDX images are not supported" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/d\",\"controller\":4}]}",
		  RPC_INVALID_PARAMS, "scsi_disks[0]: controller 4, lun 0: controllers are 0 to 3" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/d\",\"lun\":64}]}",
		  RPC_INVALID_PARAMS, "luns 0 to 63" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/d\",\"lun\":1},{\"host_path\":\"/e\"}]}",
		  RPC_INVALID_PARAMS, "scsi_disks[0] and [1]: both have serial scsi-0-1" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/d\",\"lun\":1,\"serial\":\"a\"},{\"host_path\":\"/e\",\"lun\":1,\"serial\":\"b\"}]}",
		  RPC_INVALID_PARAMS, "scsi_disks[0] and [1]: both are controller 0, lun 1" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"read_only\":true}]}",
		  RPC_INVALID_PARAMS, "scsi_disks[0].host_path: missing" },
		{ "\"devices_config\":{\"nic_config\":[{\"port_id\":\"tap0\",\"switch_id\":\"s\"}]}",
		  RPC_UNSUPPORTED, "switch_id" },
		{ "\"devices_config\":{\"nic_config\":[{\"port_id\":\"tap0\",\"mac_address\":\"01-00-5e-00-00-01\"}]}",
		  RPC_INVALID_PARAMS, "nic_config[0]: --net" },
		{ "\"devices_config\":{\"nic_config\":[{\"port_id\":\"fd:3\"}]}",
		  RPC_INVALID_PARAMS, "only be given on the command line" },
		{ "\"devices_config\":{\"nic_config\":[{\"mac_address\":\"52-54-00-12-34-56\"}]}",
		  RPC_INVALID_PARAMS, "port_id: missing" },
		{ "\"windows_options\":{\"cpu_group_id\":\"3\"}", RPC_UNSUPPORTED,
		  "CPU groups exist only on Windows" },
		{ "\"serial_config\":{\"ports\":[{\"port\":4,\"socket_path\":\"/s\"}]}",
		  RPC_INVALID_PARAMS, "ports[0].port: 4" },
		{ "\"serial_config\":{\"ports\":[{\"port\":1,\"socket_path\":\"/a\"},{\"port\":1,\"socket_path\":\"/b\"}]}",
		  RPC_INVALID_PARAMS, "configured twice" },
		{ "\"serial_config\":{\"ports\":[{\"port\":0}]}",
		  RPC_INVALID_PARAMS, "ports[0].socket_path: missing" },
		{ "\"memory_config\":{\"memory_mb\":\"lots\"}", RPC_INVALID_PARAMS,
		  "config.memory_config.memory_mb: \"lots\" is not an unsigned" },
		{ "\"memory_config\":{\"memory_mb\":1}", RPC_INVALID_PARAMS,
		  "memory_mb: 1: a guest needs at least 2 MiB" },
		{ "\"processor_config\":{\"processor_count\":256}", RPC_INVALID_PARAMS,
		  "processor_count: 256: must be between 1 and 255" },
		{ "\"processor_config\":{\"processor_count\":\"two\"}", RPC_INVALID_PARAMS,
		  "processor_count" },
		{ "\"memory_config\":{\"memory_mb\":63},\"extra_data\":{\"hugepages\":\"true\"}",
		  RPC_INVALID_PARAMS, "multiple of 2 MiB" },
		{ "\"extra_data\":{\"hugepage\":\"true\"}", RPC_INVALID_PARAMS,
		  "extra_data: unknown key 'hugepage'" },
		{ "\"extra_data\":{\"serial_07\":\"stdio\"}", RPC_INVALID_PARAMS,
		  "unknown key 'serial_07'" },
		{ "\"extra_data\":{\"serial_1\":\"tcp:1\"}", RPC_INVALID_PARAMS,
		  "config.extra_data.serial_1" },
		{ "\"extra_data\":{\"disk_2_serial\":\"x\"}", RPC_INVALID_PARAMS,
		  "disk_2_serial names a disk" },
		{ "\"extra_data\":{\"vsock_listen_5\":\"/l\"}", RPC_INVALID_PARAMS,
		  "vsock listeners need the vsock device" },
		{ "\"extra_data\":{\"vsock_listen_x\":\"/l\"}", RPC_INVALID_PARAMS,
		  "vsock_listen_x: the key must end in a port number" },
		{ "\"extra_data\":{\"vsock\":\"cid=3\"}", RPC_INVALID_PARAMS,
		  "config.extra_data.vsock: --vsock 'cid=3': needs uds=PATH" },
		{ "\"extra_data\":{\"balloon\":\"lots\"}", RPC_INVALID_PARAMS,
		  "config.extra_data.balloon" },
		{ "\"extra_data\":{\"hugepages\":true}", RPC_INVALID_PARAMS,
		  "extra_data.hugepages: expected a string" },
		{ "\"direct_boot\":{\"kernel_path\":\"k\",\"mmio_cmdline\":1}",
		  RPC_INVALID_PARAMS, "config.direct_boot.mmio_cmdline" },
		{ "\"direct_boot\":{\"initrd_path\":\"i\"}", RPC_INVALID_PARAMS,
		  "direct_boot.kernel_path: missing" },
		{ "\"memory_config\":{\"memory_mb\":64}", RPC_INVALID_PARAMS,
		  "config.direct_boot: missing" },
		{ "\"memory_config\":{\"size\":64}", RPC_INVALID_PARAMS,
		  "config.memory_config: unknown field 'size'" },
		{ "\"memory_config\":[]", RPC_INVALID_PARAMS,
		  "config.memory_config: expected an object, got an array" },
		{ "\"devices_config\":{\"vsock\":{\"guest_cid\":2,\"uds_path\":\"/v\"}}",
		  RPC_INVALID_PARAMS, "config.devices_config.vsock.guest_cid: 2 is not from 3" },
		{ "\"devices_config\":{\"vsock\":{\"guest_cid\":3}}",
		  RPC_INVALID_PARAMS, "config.devices_config.vsock.uds_path: missing" },
		{ "\"devices_config\":{\"vsock\":{\"guest_cid\":3,\"uds_path\":\"\"}}",
		  RPC_INVALID_PARAMS, "config.devices_config.vsock.uds_path: is empty" },
		{ "\"devices_config\":{\"vsock\":{\"guest_cid\":3,\"uds_path\":\"/v\",\"listeners\":"
		  "[{\"port\":1,\"listener_path\":\"/a\"},{\"port\":1,\"listener_path\":\"/b\"}]}}",
		  RPC_INVALID_PARAMS, "vsock.listeners[1]: port 1 already has a listener" },
		{ "\"devices_config\":{\"balloon\":{\"stats_interval_s\":86401}}",
		  RPC_INVALID_PARAMS, "config.devices_config.balloon.stats_interval_s: 86401: at most 86400" },
		{ "\"devices_config\":{\"balloon\":{\"pages\":1}}",
		  RPC_INVALID_PARAMS, "config.devices_config.balloon: unknown field 'pages'" },
		{ "\"devices_config\":{\"console\":{\"type\":\"SOCKET\"}}",
		  RPC_INVALID_PARAMS, "config.devices_config.console.path: missing" },
		{ "\"devices_config\":{\"console\":{\"type\":\"TTY\"}}",
		  RPC_INVALID_PARAMS, "config.devices_config.console.type: unknown value \"TTY\"" },
		{ "\"devices_config\":{\"scsi_disks\":[{\"host_path\":\"/d\",\"serial\":\"a b\"}]}",
		  RPC_INVALID_PARAMS, "scsi_disks[0].serial: 'a b' may only use" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[1024];
		struct vm_config cfg;
		struct rpc_error re;
		char *log_id;

		snprintf(json, sizeof(json), "{\"config\":{%s%s}}", bad[i].config,
			 strstr(bad[i].config, "direct_boot") ||
			 strstr(bad[i].config, "uefi") ||
			 strstr(bad[i].config, "memory_mb\":64}") ? "" :
			 ",\"direct_boot\":{\"kernel_path\":\"k\"}");
		cr_expect_eq(from(json, &cfg, &log_id, &re), -1, "accepted %s", json);
		cr_expect_eq(re.code, bad[i].code, "%s: code %d: %s", json, re.code,
			     re.e.msg);
		cr_expect(strstr(re.e.msg, bad[i].msg), "%s:\n'%s'", json, re.e.msg);
		free(log_id);
		vm_config_free(&cfg);
	}
}

Test(api_config, requires_the_request_and_its_config)
{
	struct vm_config cfg;
	struct rpc_error re;
	char *log_id;

	cr_assert_eq(config_from_json(NULL, &cfg, &log_id, &re), -1);
	cr_assert(strstr(re.e.msg, "params: missing"), "%s", re.e.msg);
	vm_config_free(&cfg);
	cr_assert_eq(from("{\"log_id\":\"x\"}", &cfg, &log_id, &re), -1);
	cr_assert(strstr(re.e.msg, "config: missing"), "%s", re.e.msg);
	free(log_id);
	vm_config_free(&cfg);
	cr_assert_eq(from("{\"confg\":{}}", &cfg, &log_id, &re), -1);
	cr_assert(strstr(re.e.msg, "unknown field 'confg'"), "%s", re.e.msg);
	vm_config_free(&cfg);
}

Test(api_config, command_line_takes_the_socket_path)
{
	char *argv[] = { "vmm", "--api-sock", "/run/v.sock", "--memory", "64", NULL };
	char *empty[] = { "vmm", "--api-sock=", NULL };
	struct cli_opts opts = { NULL };
	struct vm_config cfg;
	struct err e;

	vm_config_init(&cfg);
	cr_assert_eq(cli_parse_opts(5, argv, &cfg, &opts, &e), CLI_RUN, "%s", e.msg);
	cr_assert_str_eq(opts.api_sock, "/run/v.sock");
	cr_assert_eq(cfg.mem_mib, 64);
	cli_opts_free(&opts);
	cr_assert_eq(cli_parse_opts(2, empty, &cfg, &opts, &e), CLI_ERROR);
	cr_assert(strstr(e.msg, "--api-sock: the path is empty"), "%s", e.msg);
	cli_opts_free(&opts);
	vm_config_free(&cfg);
}

Test(api_config, transport_by_field_or_extra_data)
{
	struct vm_config cfg, again;
	struct json_object *json, *req;
	struct rpc_error re;
	char *log_id;

	cr_assert_eq(from("{\"config\":{\"direct_boot\":{\"kernel_path\":\"k\"},"
			  "\"devices_config\":{\"transport\":\"PCI\"}}}",
			  &cfg, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert_eq(cfg.transport, VIRTIO_TRANSPORT_PCI);
	json = config_to_json(&cfg);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_object_get(json, "devices_config"),
				 "transport")), "PCI");
	req = json_object_new_object();
	json_object_object_add(req, "config", json);
	cr_assert_eq(config_from_json(req, &again, &log_id, &re), 0, "%s",
		     re.e.msg);
	cr_assert_eq(again.transport, VIRTIO_TRANSPORT_PCI);
	json_object_put(req);
	vm_config_free(&cfg);
	vm_config_free(&again);
	cr_assert_eq(from("{\"config\":{\"direct_boot\":{\"kernel_path\":\"k\"},"
			  "\"extra_data\":{\"transport\":\"pci\"}}}",
			  &cfg, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert_eq(cfg.transport, VIRTIO_TRANSPORT_PCI);
	vm_config_free(&cfg);
	cr_assert_eq(from("{\"config\":{\"direct_boot\":{\"kernel_path\":\"k\"},"
			  "\"extra_data\":{\"transport\":\"isa\"}}}",
			  &cfg, &log_id, &re), -1);
	cr_assert(strstr(re.e.msg, "config.extra_data.transport: 'isa' is not mmio or pci"),
		  "%s", re.e.msg);
	vm_config_free(&cfg);
	cr_assert_eq(from("{\"config\":{\"direct_boot\":{\"kernel_path\":\"k\"},"
			  "\"devices_config\":{\"transport\":\"USB\"}}}",
			  &cfg, &log_id, &re), -1);
	cr_assert(strstr(re.e.msg, "devices_config.transport"), "%s", re.e.msg);
	vm_config_free(&cfg);
}

Test(api_config, one_disk_or_nic_for_hotplug)
{
	struct json_object *d = json_tokener_parse(
		"{\"lun\":7,\"host_path\":\"/img/x\",\"read_only\":true,"
		"\"serial\":\"hot-1\"}");
	struct json_object *n = json_tokener_parse(
		"{\"nic_id\":\"nic-9\",\"port_id\":\"tap9\"}");
	struct disk_config disk;
	struct net_config net;
	struct rpc_error re;

	cr_assert_eq(config_disk_from_json(d, "scsi_disk", 0, NULL, &disk, &re),
		     0, "%s", re.e.msg);
	cr_assert_eq(disk.controller, 0);
	cr_assert_eq(disk.lun, 7);
	cr_assert(disk.read_only);
	cr_assert_str_eq(disk.serial, "hot-1");
	free(disk.path);
	free(disk.serial);
	cr_assert_eq(config_nic_from_json(n, "nic_config", &net, &re), 0, "%s",
		     re.e.msg);
	cr_assert_str_eq(net.id, "nic-9");
	cr_assert_str_eq(net.tap_name, "tap9");
	free(net.id);
	free(net.tap_name);
	json_object_put(d);
	json_object_put(n);
	d = json_tokener_parse("{\"controller\":2,\"lun\":5,\"host_path\":\"/x\"}");
	cr_assert_eq(config_disk_from_json(d, "scsi_disk", 0, NULL, &disk, &re),
		     0, "%s", re.e.msg);
	cr_assert_str_eq(disk.serial, "scsi-2-5", "the address names the disk");
	free(disk.path);
	free(disk.serial);
	json_object_put(d);
	d = json_tokener_parse("{\"lun\":64,\"host_path\":\"/img/x\"}");
	cr_assert_eq(config_disk_from_json(d, "scsi_disk", 0, NULL, &disk, &re),
		     -1);
	cr_assert(strstr(re.e.msg, "scsi_disk: controller 0, lun 64: controllers are 0 to 3 and luns 0 to 63"),
		  "%s", re.e.msg);
	json_object_put(d);
}

Test(api_config, disk_and_nic_limits)
{
	static const char limited[] =
		"{\"config\":{\"devices_config\":{\"scsi_disks\":[{\"host_path\":"
		"\"/img/a\",\"rate_limit\":{\"iops\":100,\"iops_burst\":\"20\","
		"\"bw\":1048576}}],\"nic_config\":[{\"port_id\":\"tap0\","
		"\"rate_limit\":{\"bw\":125000000,\"bw_burst\":250000}}]},"
		"\"direct_boot\":{\"kernel_path\":\"/k\"}}}";
	struct vm_config cfg, again;
	struct json_object *req, *json;
	struct rpc_error re;
	char *log_id;

	cr_assert_eq(from(limited, &cfg, &log_id, &re), 0, "%s", re.e.msg);
	cr_assert_eq(cfg.disks[0].rate_limit.ops, 100);
	cr_assert_eq(cfg.disks[0].rate_limit.ops_burst, 20);
	cr_assert_eq(cfg.disks[0].rate_limit.bytes, 1048576);
	cr_assert_eq(cfg.nets[0].rate_limit.bytes, 125000000);
	cr_assert_eq(cfg.nets[0].rate_limit.bytes_burst, 250000);
	json = config_to_json(&cfg);
	req = json_object_new_object();
	json_object_object_add(req, "config", json);
	cr_assert_eq(config_from_json(req, &again, &log_id, &re), 0, "%s",
		     re.e.msg);
	cr_assert_eq(memcmp(&again.disks[0].rate_limit, &cfg.disks[0].rate_limit,
			    sizeof(cfg.disks[0].rate_limit)), 0);
	cr_assert_eq(memcmp(&again.nets[0].rate_limit, &cfg.nets[0].rate_limit,
			    sizeof(cfg.nets[0].rate_limit)), 0);
	json_object_put(req);
	vm_config_free(&cfg);
	vm_config_free(&again);
}

Test(api_config, bad_limits_name_the_field)
{
	static const struct {
		const char *limit, *expect;
	} bad[] = {
		{ "{\"iops\":-1}", "rate_limit.iops" },
		{ "{\"iops\":1000000001}", "rate_limit: iops and iops_burst are at most" },
		{ "{\"bw_burst\":5}", "rate_limit: bw_burst needs bw" },
		{ "{\"bandwidth\":5}", "rate_limit" },
		{ "[]", "rate_limit" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char json[512];
		struct vm_config cfg;
		struct rpc_error re;
		char *log_id;

		snprintf(json, sizeof(json),
			 "{\"config\":{\"devices_config\":{\"scsi_disks\":[{"
			 "\"host_path\":\"/img/a\",\"rate_limit\":%s}]},"
			 "\"direct_boot\":{\"kernel_path\":\"/k\"}}}",
			 bad[i].limit);
		cr_assert_eq(from(json, &cfg, &log_id, &re), -1, "%s accepted",
			     bad[i].limit);
		cr_assert_eq(re.code, RPC_INVALID_PARAMS);
		cr_assert(strstr(re.e.msg, "config.devices_config.scsi_disks[0]"),
			  "%s", re.e.msg);
		cr_assert(strstr(re.e.msg, bad[i].expect), "%s", re.e.msg);
		vm_config_free(&cfg);
		free(log_id);
	}
}
