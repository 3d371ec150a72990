// SPDX-License-Identifier: MIT
/*
 * Each function follows the hcsshim function named in its comment. Requests
 * are what bridge.writeMessage writes: the 16-byte header, then the body
 * from a json.Encoder with SetEscapeHTML(false), whose Encode ends it with a
 * newline; AnyInString fields hold json.Marshal's output (HTML escaped).
 */
#include "tests/agent/peer_hcsshim.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/bridge_host.h"
#include "lib/proto/bridge_proto.h"
#include "lib/json.h"
#include "tests/agent/gojson.h"
#include "tests/agent/peer_io.h"

/* prot.MaxMsgSize: the largest message bridge.readMessage takes. */
#define HCS_MAX_MSG 0x10000u
#define HCS_FIRST_IO_PORT (BRIDGE_PORT_DEFAULT + 1)
#define HCS_NOTIFY_CONTAINER 0x30100101u

enum hcs_kind { R_BASE, R_NEGOTIATE, R_EXECUTE, R_WAIT, R_STACKS };

struct hcs_reply {
	struct hcs_reply *next;
	int64_t id;
	struct json_object *body;
};

void hcs_conn_init(struct hcs_conn *c, int fd, const char *relay_base)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->relay_base = relay_base;
	c->next_port = HCS_FIRST_IO_PORT;
}

void hcs_conn_close(struct hcs_conn *c)
{
	while (c->replies) {
		struct hcs_reply *r = c->replies;

		c->replies = r->next;
		json_object_put(r->body);
		free(r);
	}
}

/* bridge.kill: the real host tears the bridge down here. */
static int killed(struct hcs_conn *c, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int killed(struct hcs_conn *c, struct err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->killed, sizeof(c->killed), fmt, ap);
	va_end(ap);
	return err_set(e, "bridge forcibly terminating: %s", c->killed);
}

/* bridge.writeMessage: header, then the encoded body and its newline. */
static int write_message(struct hcs_conn *c, uint32_t type, int64_t id,
			 const char *body, bool newline, struct err *e)
{
	size_t len = strlen(body) + newline;
	struct bridge_hdr h = { .type = type, .size = (uint32_t)(16 + len),
				.id = (uint64_t)id };
	uint8_t hdr[BRIDGE_HDR_SIZE];
	char *msg = malloc(BRIDGE_HDR_SIZE + len);

	if (!msg)
		return err_set(e, "out of memory");
	bridge_hdr_encode(hdr, &h);
	memcpy(msg, hdr, sizeof(hdr));
	memcpy(msg + BRIDGE_HDR_SIZE, body, strlen(body));
	if (newline)
		msg[BRIDGE_HDR_SIZE + len - 1] = '\n';
	if (peer_write_full(c->fd, msg, BRIDGE_HDR_SIZE + len, e) < 0) {
		free(msg);
		return err_prefix(e, "bridge write");
	}
	free(msg);
	return 0;
}

/* json.Unmarshal into the response struct the rpc was made with. */
static int check_error_records(struct json_object *o, struct err *e)
{
	struct json_object *recs = NULL;

	if (go_object(o, "ErrorRecords", json_type_array, &recs, e) < 0)
		return -1;
	for (size_t i = 0; recs && i < json_object_array_length(recs); i++) {
		struct json_object *r = json_object_array_get_idx(recs, i);
		const char *s = NULL;
		int32_t hr = 0;
		uint32_t line = 0;

		if (!json_object_is_type(r, json_type_object))
			return err_set(e, "json: ErrorRecords[%zu] is not an "
				       "object", i);
		if (go_int32(r, "Result", &hr, e) < 0 ||
		    go_string(r, "Message", &s, e) < 0 ||
		    go_string(r, "StackTrace", &s, e) < 0 ||
		    go_string(r, "ModuleName", &s, e) < 0 ||
		    go_string(r, "FileName", &s, e) < 0 ||
		    go_uint32(r, "Line", &line, e) < 0 ||
		    go_string(r, "FunctionName", &s, e) < 0)
			return -1;
	}
	return 0;
}

static int check_caps(struct json_object *o, struct err *e)
{
	struct json_object *caps = NULL, *vers = NULL, *guest = NULL;
	const char *os = NULL;
	bool b = false;
	static const char *const flags[] = {
		"SendHostCreateMessage", "SendHostStartMessage",
		"HvSocketConfigOnStartup", "SendLifecycleNotifications",
		"ModifyServiceSettingsSupported",
	};
	static const char *const guest_flags[] = {
		"NamespaceAddRequestSupported", "SignalProcessSupported",
		"DumpStacksSupported", "DeleteContainerStateSupported",
	};

	if (go_object(o, "Capabilities", json_type_object, &caps, e) < 0)
		return -1;
	if (!caps)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (go_bool(caps, flags[i], &b, e) < 0)
			return -1;
	if (go_object(caps, "SupportedSchemaVersions", json_type_array, &vers,
		      e) < 0 || go_string(caps, "RuntimeOsType", &os, e) < 0)
		return -1;
	for (size_t i = 0; vers && i < json_object_array_length(vers); i++) {
		struct json_object *v = json_object_array_get_idx(vers, i);
		uint32_t n = 0;

		if (!json_object_is_type(v, json_type_object) ||
		    go_uint32(v, "Major", &n, e) < 0 ||
		    go_uint32(v, "Minor", &n, e) < 0)
			return e->msg[0] ? -1 : err_set(e, "json: bad Version");
	}
	/* unmarshalGuestCapabilities(linux): LCOWGuestDefinedCapabilities. */
	if (go_object(caps, "GuestDefinedCapabilities", json_type_object,
		      &guest, e) < 0)
		return -1;
	for (size_t i = 0; guest && i < ARRAY_SIZE(guest_flags); i++)
		if (go_bool(guest, guest_flags[i], &b, e) < 0)
			return -1;
	return 0;
}

static int check_response(struct json_object *o, enum hcs_kind kind,
			  struct err *e)
{
	int32_t result = 0;
	uint32_t u = 0;
	const char *s = NULL;

	if (go_int32(o, "Result", &result, e) < 0 ||
	    go_string(o, "ErrorMessage", &s, e) < 0 ||
	    go_guid(o, "ActivityId", e) < 0 ||
	    check_error_records(o, e) < 0)
		return -1;
	switch (kind) {
	case R_NEGOTIATE:
		return go_uint32(o, "Version", &u, e) < 0 ? -1 : check_caps(o, e);
	case R_EXECUTE:
		return go_uint32(o, "ProcessId", &u, e);
	case R_WAIT:
		return go_uint32(o, "ExitCode", &u, e);
	case R_STACKS:
		return go_string(o, "GuestStacks", &s, e);
	default:
		return 0;
	}
}

/*
 * GuestConnection.notify: only containers this host created get one; for
 * processes in the utility VM none exists, so any notification ends it.
 */
static int take_notification(struct hcs_conn *c, uint32_t type,
			     const uint8_t *body, uint32_t len, struct err *e)
{
	struct json_object *o;
	const char *s = NULL;
	int32_t result = 0;
	struct err je = { "" };

	if (type != HCS_NOTIFY_CONTAINER)
		return killed(c, e, "bridge received unknown unknown "
			      "notification message %#x", type);
	if (json_parse_object((const char *)body, len, &o, &je) < 0)
		return killed(c, e, "bridge response unmarshal failed: %s",
			      je.msg);
	if (go_string(o, "Type", &s, &je) < 0 ||
	    go_string(o, "Operation", &s, &je) < 0 ||
	    go_int32(o, "Result", &result, &je) < 0 ||
	    go_guid(o, "ActivityId", &je) < 0 ||
	    go_string(o, "ContainerId", &s, &je) < 0) {
		json_object_put(o);
		return killed(c, e, "bridge response unmarshal failed: %s",
			      je.msg);
	}
	killed(c, e, "bridge notification failed: container %s not found", s);
	json_object_put(o);
	return -1;
}

static bool outstanding_take(struct hcs_conn *c, int64_t id)
{
	for (size_t i = 0; i < c->noutstanding; i++) {
		if (c->outstanding[i] == id) {
			c->outstanding[i] = c->outstanding[--c->noutstanding];
			return true;
		}
	}
	return false;
}

/* bridge.recvLoop, one message: a response is queued for its rpc. */
static int recv_one(struct hcs_conn *c, struct err *e)
{
	uint8_t hdr[BRIDGE_HDR_SIZE], *body;
	struct bridge_hdr h;
	struct hcs_reply *r;
	struct err je = { "" };

	if (peer_read_full(c->fd, hdr, sizeof(hdr), e) < 0)
		return killed(c, e, "bridge read failed: header read: %s", e->msg);
	bridge_hdr_decode(hdr, &h);
	if (h.size < BRIDGE_HDR_SIZE || h.size > HCS_MAX_MSG)
		return killed(c, e, "bridge read failed: invalid message size %u",
			      h.size);
	body = malloc(h.size - BRIDGE_HDR_SIZE + 1);
	if (!body)
		return err_set(e, "out of memory");
	if (peer_read_full(c->fd, body, h.size - BRIDGE_HDR_SIZE, e) < 0) {
		free(body);
		return killed(c, e, "bridge read failed: %s", e->msg);
	}
	body[h.size - BRIDGE_HDR_SIZE] = 0;
	if ((h.type & BRIDGE_MT_MASK) == BRIDGE_MT_NOTIFICATION) {
		take_notification(c, h.type, body, h.size - BRIDGE_HDR_SIZE, e);
		free(body);
		return -1;
	}
	if ((h.type & BRIDGE_MT_MASK) != BRIDGE_MT_RESPONSE) {
		free(body);
		return killed(c, e, "bridge received unknown unknown message "
			      "type %#x", h.type);
	}
	if (!outstanding_take(c, (int64_t)h.id)) {
		free(body);
		return killed(c, e, "bridge received unknown rpc response for "
			      "id %lld, type %#x", (long long)h.id, h.type);
	}
	r = calloc(1, sizeof(*r));
	if (!r || json_parse_object((const char *)body,
				    h.size - BRIDGE_HDR_SIZE, &r->body, &je) < 0) {
		free(r);
		free(body);
		return killed(c, e, "bridge response unmarshal failed: %s",
			      je.msg);
	}
	free(body);
	r->id = (int64_t)h.id;
	r->next = c->replies;
	c->replies = r;
	return 0;
}

/* bridge.AsyncRPC: sends the request; the response is collected later. */
static int async_rpc(struct hcs_conn *c, uint32_t proc, const char *body,
		     bool newline, int64_t *id, struct err *e)
{
	if (c->killed[0])
		return err_set(e, "bridge closed: %s", c->killed);
	if (c->noutstanding == ARRAY_SIZE(c->outstanding))
		return err_set(e, "too many outstanding rpcs");
	*id = c->next_id++;
	c->outstanding[c->noutstanding++] = *id;
	return write_message(c, proc | BRIDGE_MT_REQUEST, *id, body, newline, e);
}

/*
 * rpc.Wait and rpc.Err: the response for @id, unmarshalled into @kind's
 * struct; a non-zero Result is the rpcError "guest RPC failure: ...".
 */
static int rpc_wait(struct hcs_conn *c, int64_t id, enum hcs_kind kind,
		    struct json_object **resp, struct err *e)
{
	struct json_object *o = NULL;
	struct err je = { "" };
	const char *msg = NULL;
	int32_t result = 0;

	*resp = NULL;
	for (;;) {
		for (struct hcs_reply **pp = &c->replies; *pp; pp = &(*pp)->next) {
			struct hcs_reply *r = *pp;

			if (r->id == id) {
				*pp = r->next;
				o = r->body;
				free(r);
				break;
			}
		}
		if (o)
			break;
		if (recv_one(c, e) < 0)
			return -1;
	}
	if (check_response(o, kind, &je) < 0) {
		json_object_put(o);
		return killed(c, e, "bridge response unmarshal failed: %s",
			      je.msg);
	}
	*resp = o;
	go_int32(o, "Result", &result, &je);
	if (!result)
		return 0;
	go_string(o, "ErrorMessage", &msg, &je);
	if (msg[0])
		return err_set(e, "guest RPC failure: %s", msg);
	return err_set(e, "guest RPC failure: HRESULT %#x", (uint32_t)result);
}

/* bridge.RPC: AsyncRPC then the response. */
static int rpc(struct hcs_conn *c, uint32_t proc, const char *body,
	       enum hcs_kind kind, struct json_object **resp, struct err *e)
{
	int64_t id;

	if (async_rpc(c, proc, body, true, &id, e) < 0)
		return -1;
	return rpc_wait(c, id, kind, resp, e);
}

int hcs_rpc_raw(struct hcs_conn *c, uint32_t proc, const char *body,
		int32_t *result, struct err *e)
{
	struct json_object *resp = NULL;
	struct err je = { "" };
	int64_t id;
	int ret;

	*result = 0;
	if (async_rpc(c, proc & ~BRIDGE_MT_MASK, body, false, &id, e) < 0)
		return -1;
	ret = rpc_wait(c, id, R_BASE, &resp, e);
	if (resp)
		go_int32(resp, "Result", result, &je);
	json_object_put(resp);
	return resp ? 0 : ret;
}

/* makeRequest: ContainerId, and the zero ActivityId guid.GUID marshals. */
static void request_base(struct gojson *g, const char *cid)
{
	gj_begin(g, false);
	gj_str(g, "ContainerId", cid);
	gj_str(g, "ActivityId", HCS_NULL_ID);
}

int hcs_connect(struct hcs_conn *c, struct err *e)
{
	struct json_object *resp = NULL, *caps;
	struct gojson g;
	struct err je = { "" };
	const char *os = NULL;
	uint32_t version = 0;
	char *body;
	int ret;

	/* The NegotiateProtocolRequest's RequestBase is left empty. */
	request_base(&g, "");
	gj_uint(&g, "MinimumVersion", 4);
	gj_uint(&g, "MaximumVersion", 4);
	body = gj_end(&g, NULL);
	ret = rpc(c, BRIDGE_NEGOTIATE_PROTOCOL & ~BRIDGE_MT_MASK, body,
		  R_NEGOTIATE, &resp, e);
	free(body);
	if (ret < 0) {
		json_object_put(resp);
		return -1;
	}
	go_uint32(resp, "Version", &version, &je);
	caps = json_object_object_get(resp, "Capabilities");
	if (caps)
		go_string(caps, "RuntimeOsType", &os, &je);
	snprintf(c->os, sizeof(c->os), "%s", os && os[0] ? os : "windows");
	for (char *p = c->os; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	json_object_put(resp);
	if (version != 4)
		return err_set(e, "unexpected version %u returned", version);
	if (strcmp(c->os, "linux"))
		return err_set(e, "RuntimeOsType \"%s\": this host would treat "
			       "the guest as Windows", c->os);
	return 0;
}

/* hcsschema.ProcessParameters as json.Marshal writes it. */
static char *process_parameters(const struct hcs_params *p)
{
	struct gojson g;
	char size[32];

	gj_begin(&g, true);
	if (p->command_line && p->command_line[0])
		gj_str(&g, "CommandLine", p->command_line);
	if (p->args && p->args[0])
		gj_strv(&g, "CommandArgs", p->args);
	if (p->user && p->user[0])
		gj_str(&g, "User", p->user);
	if (p->working_dir && p->working_dir[0])
		gj_str(&g, "WorkingDirectory", p->working_dir);
	if (p->env && p->env[0])
		gj_env(&g, "Environment", p->env);
	if (p->emulate_console)
		gj_bool(&g, "EmulateConsole", true);
	if (p->stdin)
		gj_bool(&g, "CreateStdInPipe", true);
	if (p->stdout)
		gj_bool(&g, "CreateStdOutPipe", true);
	if (p->stderr)
		gj_bool(&g, "CreateStdErrPipe", true);
	if (p->console_height || p->console_width) {
		snprintf(size, sizeof(size), "[%d,%d]", p->console_height,
			 p->console_width);
		gj_raw(&g, "ConsoleSize", size);
	}
	return gj_end(&g, NULL);
}

/* GuestConnection.newIoChannel: a listener on the next vsock port. */
static int io_channel(struct hcs_conn *c, uint32_t *port, struct err *e)
{
	*port = c->next_port++;
	return bridge_host_relay_listen(c->relay_base, *port, e);
}

static int accept_io(int lfd, int *fd, struct err *e)
{
	if (lfd < 0)
		return 0;
	*fd = unix_accept_timeout(lfd, PEER_TIMEOUT_MS);
	close(lfd);
	return *fd < 0 ? err_set(e, "the guest did not connect a stdio relay") : 0;
}

static char *execute_request(const struct hcs_params *p, const uint32_t ports[3])
{
	static const char *const names[] = { "StdIn", "StdOut", "StdErr" };
	char *params = process_parameters(p), *relay, *settings, *body;
	struct gojson g;

	gj_begin(&g, false);
	for (int i = 0; i < 3; i++)
		if (ports[i])
			gj_uint(&g, names[i], ports[i]);
	relay = gj_end(&g, NULL);
	gj_begin(&g, false);
	gj_str(&g, "ProcessParameters", params);
	gj_raw(&g, "VsockStdioRelaySettings", relay);
	settings = gj_end(&g, NULL);
	request_base(&g, HCS_NULL_ID);
	gj_raw(&g, "Settings", settings);
	body = gj_end(&g, NULL);
	free(params);
	free(relay);
	free(settings);
	return body;
}

static char *wait_request(uint32_t pid, uint32_t timeout)
{
	struct gojson g;

	request_base(&g, HCS_NULL_ID);
	gj_uint(&g, "ProcessId", pid);
	gj_uint(&g, "TimeoutInMs", timeout);
	return gj_end(&g, NULL);
}

int hcs_exec(struct hcs_conn *c, const struct hcs_params *p,
	     struct hcs_process *proc, struct err *e)
{
	const bool want[3] = { p->stdin, p->stdout, p->stderr };
	int lfd[3] = { -1, -1, -1 };
	uint32_t ports[3] = { 0 }, pid = 0;
	struct json_object *resp = NULL;
	struct err je = { "" };
	char *body;
	int ret = -1;

	*proc = (struct hcs_process){ .stdin_fd = -1, .stdout_fd = -1,
				      .stderr_fd = -1 };
	for (int i = 0; i < 3; i++)
		if (want[i] && (lfd[i] = io_channel(c, &ports[i], e)) < 0)
			goto out;
	body = execute_request(p, ports);
	ret = rpc(c, BRIDGE_EXECUTE_PROCESS & ~BRIDGE_MT_MASK, body, R_EXECUTE,
		  &resp, e);
	free(body);
	if (ret < 0)
		goto out;
	go_uint32(resp, "ProcessId", &pid, &je);
	proc->pid = pid;
	body = wait_request(pid, BRIDGE_INFINITE_WAIT);
	ret = async_rpc(c, BRIDGE_WAIT_FOR_PROCESS & ~BRIDGE_MT_MASK, body,
			true, &proc->wait_id, e);
	free(body);
	if (ret == 0 && (accept_io(lfd[0], &proc->stdin_fd, e) < 0 ||
			 accept_io(lfd[1], &proc->stdout_fd, e) < 0 ||
			 accept_io(lfd[2], &proc->stderr_fd, e) < 0))
		ret = -1;
	lfd[0] = lfd[1] = lfd[2] = -1;
out:
	for (int i = 0; i < 3; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	json_object_put(resp);
	return ret;
}

int hcs_wait(struct hcs_conn *c, struct hcs_process *proc, uint32_t *code,
	     struct err *e)
{
	struct json_object *resp = NULL;
	struct err je = { "" };
	int32_t result = 0;
	int ret = rpc_wait(c, proc->wait_id, R_WAIT, &resp, e);

	*code = 0;
	if (resp) {
		go_uint32(resp, "ExitCode", code, &je);
		go_int32(resp, "Result", &result, &je);
	}
	json_object_put(resp);
	if (ret < 0 && resp && (uint32_t)result == HCS_HR_NOT_FOUND)
		return 0;
	return ret;
}

int hcs_signal(struct hcs_conn *c, const struct hcs_process *proc, int signal,
	       bool *delivered, struct err *e)
{
	struct json_object *resp = NULL;
	struct gojson g;
	struct err je = { "" };
	int32_t result = 0;
	char *body, opts[32];
	int ret;

	request_base(&g, HCS_NULL_ID);
	gj_uint(&g, "ProcessId", proc->pid);
	if (signal) {
		snprintf(opts, sizeof(opts), "{\"Signal\":%d}", signal);
		gj_raw(&g, "Options", opts);
	}
	body = gj_end(&g, NULL);
	ret = rpc(c, BRIDGE_SIGNAL_PROCESS & ~BRIDGE_MT_MASK, body, R_BASE,
		  &resp, e);
	free(body);
	if (resp)
		go_int32(resp, "Result", &result, &je);
	json_object_put(resp);
	*delivered = ret == 0;
	if (ret < 0 && resp && (uint32_t)result == HCS_HR_NOT_FOUND)
		return 0;
	return ret;
}

int hcs_resize(struct hcs_conn *c, const struct hcs_process *proc,
	       uint16_t width, uint16_t height, struct err *e)
{
	struct json_object *resp = NULL;
	struct gojson g;
	char *body;
	int ret;

	request_base(&g, HCS_NULL_ID);
	gj_uint(&g, "ProcessId", proc->pid);
	gj_uint(&g, "Height", height);
	gj_uint(&g, "Width", width);
	body = gj_end(&g, NULL);
	ret = rpc(c, BRIDGE_RESIZE_CONSOLE & ~BRIDGE_MT_MASK, body, R_BASE,
		  &resp, e);
	free(body);
	json_object_put(resp);
	return ret;
}

void hcs_process_close(struct hcs_process *proc)
{
	for (int *fd = &proc->stdin_fd; fd <= &proc->stderr_fd; fd++) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int simple_rpc(struct hcs_conn *c, uint32_t type, const char *cid,
		      const char *key, const char *raw, struct err *e)
{
	struct json_object *resp = NULL;
	struct gojson g;
	char *body;
	int ret;

	request_base(&g, cid);
	if (key)
		gj_raw(&g, key, raw);
	body = gj_end(&g, NULL);
	ret = rpc(c, type & ~BRIDGE_MT_MASK, body, R_BASE, &resp, e);
	free(body);
	json_object_put(resp);
	return ret;
}

int hcs_modify(struct hcs_conn *c, const char *request_json, struct err *e)
{
	return simple_rpc(c, BRIDGE_MODIFY_SETTINGS, HCS_NULL_ID, "Request",
			  request_json, e);
}

int hcs_delete_container_state(struct hcs_conn *c, const char *cid,
			       struct err *e)
{
	return simple_rpc(c, BRIDGE_DELETE_CONTAINER_STATE, cid, NULL, NULL, e);
}

int hcs_dump_stacks(struct hcs_conn *c, char **stacks, struct err *e)
{
	struct json_object *resp = NULL;
	struct gojson g;
	struct err je = { "" };
	const char *s = NULL;
	char *body;
	int ret;

	*stacks = NULL;
	request_base(&g, HCS_NULL_ID);
	body = gj_end(&g, NULL);
	ret = rpc(c, BRIDGE_DUMP_STACKS & ~BRIDGE_MT_MASK, body, R_STACKS,
		  &resp, e);
	free(body);
	if (ret == 0) {
		go_string(resp, "GuestStacks", &s, &je);
		*stacks = strdup(s);
	}
	json_object_put(resp);
	return ret;
}
