/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_INSPECT_H
#define VMM_API_INSPECT_H

#include <json-c/json.h>
#include <stdint.h>

#include "vmm/api/rpc.h"

/*
 * InspectVM's query: a path into the VM's JSON view, members separated by
 * dots and array elements by their index ("config.memory_config",
 * "vcpus.0.runtime_ns"); "" is the whole view. The answer nests at most
 * @recursion_limit levels (0: INSPECT_DEFAULT_DEPTH, at most
 * INSPECT_MAX_DEPTH); deeper objects and arrays are replaced by the
 * strings "{...}" and "[...]".
 */
#define INSPECT_DEFAULT_DEPTH 16
#define INSPECT_MAX_DEPTH 64
#define INSPECT_MAX_QUERY 256

/* A new reference to the answer in @out, or -1 with RPC_INVALID_PARAMS. */
int inspect_query(struct json_object *view, const char *query,
		  uint32_t recursion_limit, struct json_object **out,
		  struct rpc_error *re);

#endif
