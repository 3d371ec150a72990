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
 * Options the command line has and VMConfig has no field for travel in
 * extra_data, with the command line's syntax: "hugepages" ("true" or
 * "false"), "console" and "serial_N" (DEST as for --console and --serial),
 * "disk_N_serial" (the Nth disk's serial), "vsock" (as --vsock),
 * "vsock_listen_PORT" (the PATH of --vsock-listen PORT=PATH) and
 * "balloon" (as --balloon).
 */

/* The extra_data keys, for messages. */
#define CONFIG_JSON_EXTRA_KEYS \
	"hugepages, console, serial_N, disk_N_serial, vsock, vsock_listen_PORT, balloon"

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

/* The VMConfig that config_from_json() turns back into @cfg. */
struct json_object *config_to_json(const struct vm_config *cfg);

#endif
