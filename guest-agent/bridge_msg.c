// SPDX-License-Identifier: MIT
#include "guest-agent/bridge_msg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/bridge_proto.h"
#include "lib/json.h"

bool bridge_is_uvm(const char *id)
{
	return !id || !id[0] || !strcmp(id, BRIDGE_UVM_ID);
}

bool bridge_is_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* ConsoleSize: [height, width], as hcsshim's cmd package fills it. */
static int console_size(struct json_object *p, struct bridge_exec *x,
			struct err *e)
{
	struct json_object *v = NULL;
	int64_t hw[2];

	if (!json_object_object_get_ex(p, "ConsoleSize", &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != 2)
		return err_set(e, "ConsoleSize: expected [height, width]");
	for (size_t i = 0; i < 2; i++) {
		struct json_object *n = json_object_array_get_idx(v, i);

		if (!json_object_is_type(n, json_type_int))
			return err_set(e, "ConsoleSize: expected integers");
		hw[i] = json_object_get_int64(n);
		if (hw[i] < 0 || hw[i] > UINT16_MAX)
			return err_set(e, "ConsoleSize: %lld is out "
				       "of range 0..65535", (long long)hw[i]);
	}
	x->rows = (uint16_t)hw[0];
	x->cols = (uint16_t)hw[1];
	return 0;
}

static int relay_port(struct json_object *relay, const char *key, bool want,
		      uint32_t *port, struct err *e)
{
	if (relay &&
	    json_get_u32(relay, "VsockStdioRelaySettings", key, port, e) < 0)
		return -1;
	if (want && !*port)
		return err_set(e, "CreateStd%sPipe is set but "
			       "VsockStdioRelaySettings.%s names no port",
			       key + 3, key);
	return 0;
}

static int exec_params_parse(const char *json, struct bridge_exec *x,
			     struct err *e)
{
	struct json_object *p, *oci = NULL;
	int ret = -1;

	if (json_parse_object(json, strlen(json), &p, e) < 0)
		return err_prefix(e, "ProcessParameters");
	if (json_get_str(p, NULL, "CommandLine", &x->command_line, e) < 0 ||
	    json_get_str_array(p, NULL, "CommandArgs", &x->argv, &x->nargv, e) < 0 ||
	    json_get_str(p, NULL, "WorkingDirectory", &x->working_dir, e) < 0 ||
	    json_get_str(p, NULL, "User", &x->user, e) < 0 ||
	    console_size(p, x, e) < 0 ||
	    json_get_env_map(p, NULL, "Environment", &x->env, &x->nenv, e) < 0 ||
	    json_get_bool(p, NULL, "EmulateConsole", &x->console, e) < 0 ||
	    json_get_bool(p, NULL, "CreateStdInPipe", &x->stdin_pipe, e) < 0 ||
	    json_get_bool(p, NULL, "CreateStdOutPipe", &x->stdout_pipe, e) < 0 ||
	    json_get_bool(p, NULL, "CreateStdErrPipe", &x->stderr_pipe, e) < 0 ||
	    json_get_bool(p, NULL, "CreateInUtilityVM", &x->in_uvm, e) < 0) {
		err_prefix(e, "ProcessParameters");
		goto out;
	}
	x->oci_spec = json_object_object_get_ex(p, "OciSpecification", &oci) &&
		      oci;
	if (!x->nargv) {
		json_free_strv(x->argv);
		x->argv = NULL;
		if (!x->oci_spec && (!x->command_line || !x->command_line[0])) {
			err_set(e, "ProcessParameters: neither CommandArgs nor "
				"CommandLine names a program");
			goto out;
		}
	} else if (!x->argv[0][0]) {
		err_set(e, "ProcessParameters: CommandArgs[0] is empty");
		goto out;
	}
	ret = 0;
out:
	json_object_put(p);
	return ret;
}

int bridge_exec_parse(struct json_object *body, struct bridge_exec *x,
		      struct err *e)
{
	struct json_object *settings = NULL, *relay = NULL;
	char *params = NULL;

	memset(x, 0, sizeof(*x));
	if (!json_object_object_get_ex(body, "Settings", &settings) ||
	    !json_object_is_type(settings, json_type_object))
		return err_set(e, "missing object field \"Settings\"");
	if (json_need_str(settings, NULL, "ProcessParameters", &params, e) < 0)
		return err_prefix(e, "Settings");
	if (exec_params_parse(params, x, e) < 0)
		goto fail;
	if (json_object_object_get_ex(settings, "VsockStdioRelaySettings",
				      &relay) && relay &&
	    !json_object_is_type(relay, json_type_object)) {
		err_set(e, "Settings.VsockStdioRelaySettings: expected an object");
		goto fail;
	}
	if (relay_port(relay, "StdIn", x->stdin_pipe, &x->stdin_port, e) < 0 ||
	    relay_port(relay, "StdOut", x->stdout_pipe, &x->stdout_port, e) < 0 ||
	    relay_port(relay, "StdErr", x->stderr_pipe, &x->stderr_port, e) < 0)
		goto fail;
	free(params);
	return 0;
fail:
	free(params);
	bridge_exec_free(x);
	return -1;
}

void bridge_exec_free(struct bridge_exec *x)
{
	free(x->command_line);
	json_free_strv(x->argv);
	free(x->working_dir);
	free(x->user);
	json_free_strv(x->env);
	memset(x, 0, sizeof(*x));
}

int bridge_query_parse(struct json_object *body, struct bridge_query *q,
		       struct err *e)
{
	struct json_object *query;
	char *s = NULL, **types = NULL;
	size_t n = 0;
	int ret = -1;

	memset(q, 0, sizeof(*q));
	if (json_get_str(body, NULL, "Query", &s, e) < 0)
		return -1;
	if (!s || !s[0]) {
		free(s);
		q->process_list = true;
		return 0;
	}
	if (json_parse_object(s, strlen(s), &query, e) < 0) {
		free(s);
		return err_prefix(e, "Query");
	}
	if (json_get_str_array(query, NULL, "PropertyTypes", &types, &n, e) < 0) {
		err_prefix(e, "Query");
		goto out;
	}
	if (!n)
		q->process_list = true;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(types[i], "ProcessList")) {
			q->process_list = true;
		} else if (!strcmp(types[i], "Statistics")) {
			q->statistics = true;
		} else {
			err_set(e, "property type \"%.64s\" is not supported "
				"(supported: ProcessList, Statistics)", types[i]);
			goto out;
		}
	}
	ret = 0;
out:
	json_free_strv(types);
	json_object_put(query);
	free(s);
	return ret;
}

/* The settings of either shape; the path is MountPath or ContainerPath. */
static int disk_settings(struct json_object *st, struct bridge_disk *d,
			 int *hr, struct err *e)
{
	int64_t partition = 0;
	bool attach_only = false, in_uvm = false;

	if (json_get_str(st, NULL, "MountPath", &d->path, e) < 0 ||
	    (!d->path &&
	     json_get_str(st, NULL, "ContainerPath", &d->path, e) < 0) ||
	    json_get_u32(st, NULL, "Controller", &d->controller, e) < 0 ||
	    json_get_u32(st, NULL, "Lun", &d->lun, e) < 0 ||
	    json_get_i64(st, NULL, "Partition", &partition, e) < 0 ||
	    json_get_bool(st, NULL, "ReadOnly", &d->read_only, e) < 0 ||
	    json_get_bool(st, NULL, "AttachOnly", &attach_only, e) < 0 ||
	    json_get_bool(st, NULL, "CreateInUtilityVM", &in_uvm, e) < 0 ||
	    json_get_str_array(st, NULL, "Options", &d->options, &d->noptions, e) < 0 ||
	    json_get_str(st, NULL, "Filesystem", &d->filesystem, e) < 0 ||
	    json_get_bool(st, NULL, "BlockDev", &d->block_dev, e) < 0 ||
	    json_get_bool(st, NULL, "EnsureFilesystem", &d->ensure_fs, e) < 0 ||
	    json_get_bool(st, NULL, "Encrypted", &d->encrypted, e) < 0)
		return -1;
	if (d->controller > 3 || d->lun > 63)
		return err_set(e, "Controller %u, Lun %u: controllers are 0..3 "
			       "and luns 0..63", d->controller, d->lun);
	if (partition < 0 || partition > 255)
		return err_set(e, "Partition %lld is out of range 0..255",
			       (long long)partition);
	d->partition = (uint32_t)partition;
	if (attach_only || !d->path) {
		free(d->path);
		d->path = strdup("");
		if (!d->path)
			return err_set(e, "out of memory");
	}
	if (d->path[0] && d->path[0] != '/')
		return err_set(e, "path \"%.200s\" is not an absolute path",
			       d->path);
	if (d->encrypted) {
		*hr = HR_NOT_IMPL;
		return err_set(e, "Encrypted: encrypted disks (dm-crypt) are "
			       "not supported");
	}
	return 0;
}

int bridge_disk_parse(struct json_object *body, struct bridge_disk *d,
		      int *hr, struct err *e)
{
	struct json_object *req = NULL, *settings = NULL;
	char *rtype = NULL, *op = NULL;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	*hr = HR_INVALID_ARG;
	if (!json_object_object_get_ex(body, "Request", &req) ||
	    !json_object_is_type(req, json_type_object))
		return err_set(e, "missing object field \"Request\"");
	if (json_need_str(req, NULL, "ResourceType", &rtype, e) < 0 ||
	    json_get_str(req, NULL, "RequestType", &op, e) < 0) {
		err_prefix(e, "Request");
		goto out;
	}
	if (strcmp(rtype, "MappedVirtualDisk")) {
		*hr = HR_NOT_IMPL;
		err_set(e, "resource type \"%.64s\" is not supported (supported: "
			"MappedVirtualDisk%s)", rtype, strcmp(rtype, "SCSIDevice") ?
			"" : "; disks are fixed when the VM is created and "
			"cannot be unplugged");
		goto out;
	}
	if (op && op[0] && strcmp(op, "Add") && strcmp(op, "Remove")) {
		*hr = HR_NOT_IMPL;
		err_set(e, "request type \"%.64s\" is not supported for a "
			"MappedVirtualDisk (supported: Add, Remove)", op);
		goto out;
	}
	d->remove = op && !strcmp(op, "Remove");
	if (!json_object_object_get_ex(req, "Settings", &settings) ||
	    !json_object_is_type(settings, json_type_object)) {
		err_set(e, "Request: missing object field \"Settings\"");
		goto out;
	}
	if (disk_settings(settings, d, hr, e) < 0) {
		err_prefix(e, "MappedVirtualDisk");
		goto out;
	}
	ret = 0;
out:
	free(rtype);
	free(op);
	if (ret < 0)
		bridge_disk_free(d);
	return ret;
}

void bridge_disk_free(struct bridge_disk *d)
{
	free(d->path);
	json_free_strv(d->options);
	free(d->filesystem);
	memset(d, 0, sizeof(*d));
}

struct json_object *bridge_capabilities(void)
{
	struct json_object *caps = json_object_new_object();
	struct json_object *schemas = json_object_new_array();
	struct json_object *v21 = json_object_new_object();
	struct json_object *guest = json_object_new_object();

	json_object_object_add(v21, "Major", json_object_new_int(2));
	json_object_object_add(v21, "Minor", json_object_new_int(1));
	json_object_array_add(schemas, v21);
	json_object_object_add(caps, "SupportedSchemaVersions", schemas);
	json_object_object_add(caps, "RuntimeOsType",
			       json_object_new_string("Linux"));
	/* Go omits false booleans (omitempty); so do we. */
	json_object_object_add(guest, "SignalProcessSupported",
			       json_object_new_boolean(1));
	json_object_object_add(guest, "DumpStacksSupported",
			       json_object_new_boolean(1));
	json_object_object_add(guest, "DeleteContainerStateSupported",
			       json_object_new_boolean(1));
	json_object_object_add(caps, "GuestDefinedCapabilities", guest);
	return caps;
}
