/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_VIEW_H
#define VMM_API_VIEW_H

#include <json-c/json.h>
#include <stdint.h>

#include "vmm/api/api.h"

/*
 * What the API reports about the VM: the JSON view InspectVM queries, and
 * the measurements behind PropertiesVM.
 */

/* The whole view (docs/api.md, InspectVM); NULL when memory runs out. */
struct json_object *api_view(struct api *api);

/* The VMM process's resident memory, guest RAM it touched included. */
uint64_t api_working_set_bytes(void);
/* CPU time of all vCPU threads, in ns. */
uint64_t api_vcpu_runtime_ns(struct vm *vm);

#endif
