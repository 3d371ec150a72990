/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_CONFIG_JSON_H
#define VMM_API_CONFIG_JSON_H

#include <json-c/json.h>

#include "vmm/api/rpc.h"
#include "vmm/config.h"

/*
 * VMConfig of hcsshim's vmservice.proto in protobuf's JSON mapping <->
 * struct vm_config, the model the command line fills too. docs/api.md
 * lists how each field maps and which values are refused.
 *
 * What the command line has and vmservice.proto has no field for gets
 * fields of its own: memory_config.hugepages, scsi_disks[].serial,
 * devices_config.transport (MMIO or PCI) and the devices of
 * devices_json.h. Serial ports on other back ends than a Unix
 * socket travel in extra_data as "serial_N" (DEST as for --serial). Older
 * clients' extra_data keys are still read, with the command line's syntax:
 * "hugepages", "console", "disk_N_serial", "vsock", "vsock_listen_PORT",
 * "balloon" and "transport" (mmio or pci).
 */

/* The extra_data keys, for messages. */
#define CONFIG_JSON_EXTRA_KEYS \
	"hugepages, console, serial_N, disk_N_serial, vsock, vsock_listen_PORT, balloon, transport"

/*
 * Fills @cfg (initialised here; freed by the caller in every case) from a
 * CreateVMRequest, and checks it with vm_config_validate(). @log_id
 * receives its log_id (malloc()ed) or stays NULL. Errors are
 * RPC_INVALID_PARAMS for malformed or invalid input and RPC_UNSUPPORTED for
 * valid requests this VMM cannot honour; the message names the field by
 * its path.
 */
int config_from_json(struct json_object *request, struct vm_config *cfg,
		     char **log_id, struct rpc_error *re);

/*
 * vmm --config: a CreateVMRequest, or just its VMConfig, from the JSON
 * file @path, by the same rules as CreateVM. On failure @e names the file
 * and the field, and *@unreadable says whether the file itself could not
 * be read (rather than holding a bad config).
 */
int config_from_file(const char *path, struct vm_config *cfg, char **log_id,
		     bool *unreadable, struct err *e);

/* The VMConfig that config_from_json() turns back into @cfg. */
struct json_object *config_to_json(const struct vm_config *cfg);

/*
 * One SCSIDisk message at @p into @out, for CreateVM and for hotplug: a
 * message without a lun gets @lun_default. Its serial, when it gives none,
 * is *@extra_serial (taken; extra_data's disk_N_serial) or else
 * "scsi-C-L" for its address. Strings in @out are the caller's on success.
 */
int config_disk_from_json(struct json_object *d, const char *p,
			  uint32_t lun_default, char **extra_serial,
			  struct disk_config *out, struct rpc_error *re);
/* One NICConfig message at @p into @out, likewise. */
int config_nic_from_json(struct json_object *n, const char *p,
			 struct net_config *out, struct rpc_error *re);
/*
 * The SerialPort messages of SerialConfig @serial (its "ports") into
 * @cfg's serial ports, each given once: @given marks those set already.
 */
int config_ports_from_json(struct json_object *serial, const char *p,
			   struct vm_config *cfg, bool given[CONFIG_NR_SERIAL],
			   struct rpc_error *re);

#endif
