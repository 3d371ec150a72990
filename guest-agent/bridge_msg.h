/* SPDX-License-Identifier: MIT */
#ifndef AGENT_BRIDGE_MSG_H
#define AGENT_BRIDGE_MSG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* ContainerExecuteProcess with its ProcessParameters (a JSON string). */
struct bridge_exec {
	char *command_line;
	char **argv;		/* CommandArgs, NULL-terminated, or NULL */
	size_t nargv;
	char *working_dir;
	char **env;		/* Environment as "KEY=VALUE" */
	size_t nenv;
	bool console, in_uvm, oci_spec;
	bool stdin_pipe, stdout_pipe, stderr_pipe;
	uint32_t stdin_port, stdout_port, stderr_port;
};

int bridge_exec_parse(struct json_object *body, struct bridge_exec *x,
		      struct err *e);
void bridge_exec_free(struct bridge_exec *x);

/* ContainerGetProperties: which of the supported properties are asked. */
struct bridge_query {
	bool process_list;
	bool statistics;
};

int bridge_query_parse(struct json_object *body, struct bridge_query *q,
		       struct err *e);

/* ContainerModifySettings for a MappedVirtualDisk. */
struct bridge_disk {
	char *path;
	uint32_t lun;
	bool read_only, attach_only, in_uvm, remove;
};

/* On failure *@hr says which HRESULT fits (not implemented vs. invalid). */
int bridge_disk_parse(struct json_object *body, struct bridge_disk *d,
		      int *hr, struct err *e);
void bridge_disk_free(struct bridge_disk *d);

/* GcsCapabilities of this agent, for NegotiateProtocolResponse. */
struct json_object *bridge_capabilities(void);

#endif
