/* SPDX-License-Identifier: MIT */
#ifndef AGENT_BRIDGE_MSG_H
#define AGENT_BRIDGE_MSG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* hcsshim's UVMContainerID: the ContainerId of the utility VM itself. */
#define BRIDGE_UVM_ID "00000000-0000-0000-0000-000000000000"

/* Whether @id names the utility VM (or no container, as seed hosts send). */
bool bridge_is_uvm(const char *id);
/* Whether @s is a GUID as Go's guid.FromString reads it. */
bool bridge_is_guid(const char *s);

/* ContainerExecuteProcess with its ProcessParameters (a JSON string). */
struct bridge_exec {
	char *command_line;
	char **argv;		/* CommandArgs, NULL-terminated, or NULL */
	size_t nargv;
	char *working_dir;
	char *user;
	char **env;		/* Environment as "KEY=VALUE" */
	size_t nenv;
	uint16_t rows, cols;	/* ConsoleSize: height, width; 0 when absent */
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

/*
 * ContainerModifySettings for a MappedVirtualDisk, in either shape: the
 * seed's (ContainerPath, Lun, AttachOnly) or hcsshim's LCOWMappedVirtualDisk
 * (MountPath, Controller, Lun, Partition, Options, ...).
 */
struct bridge_disk {
	char *path;		/* where to mount; empty: only check the disk */
	uint32_t controller, lun;
	uint32_t partition;	/* 0: the whole disk */
	char **options;		/* mount options, NULL-terminated, or NULL */
	size_t noptions;
	char *filesystem;	/* the type to mount as, or NULL to probe */
	bool read_only, remove, block_dev, ensure_fs, encrypted;
};

/* On failure *@hr says which HRESULT fits (not implemented vs. invalid). */
int bridge_disk_parse(struct json_object *body, struct bridge_disk *d,
		      int *hr, struct err *e);
void bridge_disk_free(struct bridge_disk *d);

/* GcsCapabilities of this agent, for NegotiateProtocolResponse. */
struct json_object *bridge_capabilities(void);

#endif
