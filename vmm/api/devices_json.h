/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_DEVICES_JSON_H
#define VMM_API_DEVICES_JSON_H

#include <json-c/json.h>

#include "vmm/api/rpc.h"
#include "vmm/config.h"

/*
 * This VMM's devices in VMConfig.devices_config, beside vmservice.proto's
 * disks and NICs, as messages of their own (docs/api.md):
 *
 *   console  Chardev       {type: NONE|STDIO|FILE|SOCKET, path}
 *   vsock    VsockDevice   {guest_cid, uds_path, listeners: [VSockListen]}
 *   balloon  BalloonDevice {num_pages, deflate_on_oom, stats_interval_s}
 *
 * VSockListen is vmservice.proto's ({port, listener_path}); num_pages is
 * fuchsia.virtualization's BalloonController count of 4 KiB pages.
 */

/* The member names, for the devices_config field list. */
#define DEVICES_JSON_FIELDS "console", "vsock", "balloon"

/* Reads them from devices_config @m (at @path) into @cfg. */
int devices_from_json(struct json_object *m, const char *path,
		      struct vm_config *cfg, struct rpc_error *re);

/* Adds the devices @cfg has to devices_config @m; -1: out of memory. */
int devices_to_json(struct json_object *m, const struct vm_config *cfg);

/* True when @cfg has one of them (devices_config is then written). */
bool devices_json_any(const struct vm_config *cfg);

/*
 * A disk's or NIC's limits (docs/rate-limits.md), the message RateLimit
 * {iops, iops_burst, bw, bw_burst}: the --disk and --net keys, numbers
 * per second (bytes for bw), absent or 0 for unlimited.
 */
int rate_limit_from_json(struct json_object *m, const char *path,
			 struct rate_limit_config *rl, struct rpc_error *re);
/* Adds "rate_limit" to @m when @rl limits anything; -1: out of memory. */
int rate_limit_to_json(struct json_object *m, const struct rate_limit_config *rl);
/* The same message on its own (every field written). */
struct json_object *rate_limit_json(const struct rate_limit_config *rl);

#endif
