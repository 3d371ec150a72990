// SPDX-License-Identifier: MIT
/*
 * vmmctl --sock PATH COMMAND: a JSON-RPC client of the VMM's control
 * socket, one request per command (docs/api.md).
 */
#include "ctl_api.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/term.h"
#include "lib/util.h"

/* The largest response accepted (an InspectVM view is a few KiB). */
#define CTL_MAX_LINE (4 * 1024 * 1024)
#define CTL_MAX_FILE (1024 * 1024)
/* Ctrl-] leaves an interactive serial or vsock session, as in telnet. */
#define CTL_DETACH 0x1d

struct conn {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	int passed_fd; /* the last descriptor received, or -1 */
	int next_id;
	bool timed_out; /* a receive timeout (SO_RCVTIMEO) expired */
};

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vmmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see vmmctl --sock PATH help)\n", stderr);
	return 2;
}

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->passed_fd = -1;
	c->next_id = 1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "vmmctl: socket path %s is too long\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "vmmctl: cannot connect to %s: %s\n", path,
			strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	free(c->buf);
	c->fd = c->passed_fd = -1;
	c->buf = NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more bytes, keeping a descriptor passed along with them. */
static ssize_t conn_fill(struct conn *c)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 65536;
		char *buf;

		if (cap > CTL_MAX_LINE || !(buf = realloc(c->buf, cap))) {
			errno = EMSGSIZE;
			return -1;
		}
		c->buf = buf;
		c->cap = cap;
	}
	iov = (struct iovec){ c->buf + c->len, c->cap - c->len };
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->timed_out = true;
	if (n < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nfds;
		int fds[4];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), MIN(nfds, (size_t)4) * sizeof(int));
		for (size_t i = 0; i < nfds && i < 4; i++) {
			if (c->passed_fd >= 0)
				close(c->passed_fd);
			c->passed_fd = fds[i];
		}
	}
	c->len += (size_t)n;
	return n;
}

/* The next message from the server; 0 at the end of the connection. */
static int conn_next(struct conn *c, struct json_object **msg)
{
	char *nl;

	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		ssize_t n = conn_fill(c);

		if (n < 0) {
			if (!c->timed_out)
				fprintf(stderr, "vmmctl: reading from the VMM: %s\n",
					strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
	}
	*nl = '\0';
	*msg = json_tokener_parse(c->buf);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	if (!*msg) {
		fputs("vmmctl: the VMM sent a line that is not JSON\n", stderr);
		return -1;
	}
	return 1;
}

/*
 * Sends @method with @params (consumed) and waits for its answer; on a
 * JSON-RPC error prints the server's message and returns -1.
 */
static int conn_call(struct conn *c, const char *method,
		     struct json_object *params, struct json_object **result)
{
	struct json_object *req = json_object_new_object(), *msg, *v, *err;
	int id = c->next_id++, ret;
	const char *s;
	size_t len;

	json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(req, "id", json_object_new_int(id));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", params);
	s = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	ret = write_all(c->fd, s, len) < 0 || write_all(c->fd, "\n", 1) < 0;
	json_object_put(req);
	if (ret) {
		fprintf(stderr, "vmmctl: sending %s: %s\n", method, strerror(errno));
		return -1;
	}
	for (;;) {
		ret = conn_next(c, &msg);
		if (ret <= 0) {
			if (ret == 0)
				fprintf(stderr, "vmmctl: the VMM closed the connection before answering %s\n",
					method);
			return -1;
		}
		/* Notifications (no id) are not the answer. */
		if (json_object_object_get_ex(msg, "id", &v) && v &&
		    json_object_get_int(v) == id)
			break;
		json_object_put(msg);
	}
	if (json_object_object_get_ex(msg, "error", &err)) {
		json_object_object_get_ex(err, "message", &v);
		fprintf(stderr, "vmmctl: %s: %s\n", method,
			v ? json_object_get_string(v) : "error without a message");
		json_object_put(msg);
		return -1;
	}
	json_object_object_get_ex(msg, "result", &v);
	*result = json_object_get(v);
	json_object_put(msg);
	return 0;
}

static void print_json(struct json_object *v)
{
	puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY |
					       JSON_C_TO_STRING_SPACED |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Calls @method and prints its result; the command's exit status. */
static int call_print(struct conn *c, const char *method,
		      struct json_object *params)
{
	struct json_object *result;

	if (conn_call(c, method, params, &result) < 0)
		return 1;
	print_json(result);
	json_object_put(result);
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static struct json_object *read_json_file(const char *path)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL;
	struct err e;
	uint8_t *data = NULL;
	size_t len = 0;

	if (!strcmp(path, "-")) {
		size_t cap = 0;
		ssize_t n;

		do {
			if (len == cap) {
				cap = cap ? cap * 2 : 4096;
				data = cap > CTL_MAX_FILE ? NULL : realloc(data, cap);
				if (!data) {
					fputs("vmmctl: standard input is too large\n", stderr);
					goto out;
				}
			}
			n = read(0, data + len, cap - len);
			if (n > 0)
				len += (size_t)n;
		} while (n > 0 || (n < 0 && errno == EINTR));
	} else if (read_file(path, CTL_MAX_FILE, &data, &len, &e) < 0) {
		fprintf(stderr, "vmmctl: %s\n", e.msg);
		goto out;
	}
	obj = tok ? json_tokener_parse_ex(tok, (const char *)data, (int)len) : NULL;
	if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
		fprintf(stderr, "vmmctl: %s: not valid JSON (%s)\n", path,
			tok ? json_tokener_error_desc(json_tokener_get_error(tok)) :
			      "out of memory");
		json_object_put(obj);
		obj = NULL;
	}
out:
	free(data);
	if (tok)
		json_tokener_free(tok);
	return obj;
}

/* Copies between the terminal (or pipes) and @fd until either side ends. */
static int relay(int fd, bool half_close, const char *what)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	bool tty = isatty(STDIN_FILENO) && term_raw_enter(STDIN_FILENO) == 0;
	char buf[16384];
	ssize_t n;

	if (tty)
		fprintf(stderr, "vmmctl: attached to %s; Ctrl-] detaches\r\n", what);
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (!p[1].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0) {
			/* Input ended; output keeps flowing until @fd ends. */
			p[1].fd = -1;
			if (half_close)
				shutdown(fd, SHUT_WR);
			continue;
		}
		if (tty && memchr(buf, CTL_DETACH, (size_t)n)) {
			n = (char *)memchr(buf, CTL_DETACH, (size_t)n) - buf;
			write_all(fd, buf, (size_t)n);
			break;
		}
		if (write_all(fd, buf, (size_t)n) < 0)
			break;
	}
	if (tty)
		term_restore();
	return 0;
}

/* Runs @method, then relays the descriptor it passed back. */
static int call_relay(struct conn *c, const char *method,
		      struct json_object *params, bool half_close,
		      const char *what)
{
	struct json_object *result;
	int fd, ret;

	if (conn_call(c, method, params, &result) < 0)
		return 1;
	json_object_put(result);
	fd = c->passed_fd;
	c->passed_fd = -1;
	if (fd < 0) {
		fprintf(stderr, "vmmctl: %s: the VMM passed no socket back\n", method);
		return 1;
	}
	ret = relay(fd, half_close, what);
	close(fd);
	return ret;
}

static struct json_object *obj1(const char *key, struct json_object *v)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, key, v);
	return o;
}

static int cmd_create(struct conn *c, int argc, char **argv)
{
	struct json_object *cfg, *params;

	if (argc != 1)
		return usage_error("create needs one FILE.json (- for standard input)");
	cfg = read_json_file(argv[0]);
	if (!cfg)
		return 1;
	/* A whole CreateVMRequest, or just its VMConfig. */
	params = json_object_object_get_ex(cfg, "config", NULL) ? cfg :
		 obj1("config", cfg);
	return call_print(c, "CreateVM", params);
}

/* [--timeout SECONDS]: 0 (wait for ever) when absent. */
static int parse_timeout(const char *cmd, int argc, char **argv,
			 uint32_t *seconds)
{
	*seconds = 0;
	if (argc == 0)
		return 0;
	if (argc == 2 && !strcmp(argv[0], "--timeout") &&
	    parse_u32(argv[1], seconds) == 0 && *seconds)
		return 0;
	return usage_error("%s takes at most --timeout SECONDS (1 or more)", cmd);
}

/*
 * WaitVM, for at most @seconds (0: for ever), then prints why the VM
 * stopped. Exit status 1 when it did not stop in time.
 */
static int wait_vm(struct conn *c, const char *cmd, uint32_t seconds)
{
	struct timeval tv = { .tv_sec = seconds };
	struct json_object *result;

	if (seconds &&
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "vmmctl: %s: SO_RCVTIMEO: %s\n", cmd,
			strerror(errno));
		return 1;
	}
	if (conn_call(c, "WaitVM", NULL, &result) < 0) {
		if (c->timed_out)
			fprintf(stderr, "vmmctl: %s: the VM did not stop within %u s\n",
				cmd, seconds);
		return 1;
	}
	json_object_put(result);
	tv.tv_sec = 0;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* What ended the VM, as InspectVM reports it. */
	return call_print(c, "InspectVM",
			  obj1("query", json_object_new_string("exit")));
}

static int cmd_wait(struct conn *c, int argc, char **argv)
{
	uint32_t seconds;
	int ret = parse_timeout("wait", argc, argv, &seconds);

	return ret ? ret : wait_vm(c, "wait", seconds);
}

static int cmd_shutdown(struct conn *c, int argc, char **argv)
{
	struct json_object *result;
	uint32_t seconds;
	int ret = parse_timeout("shutdown", argc, argv, &seconds);

	if (ret)
		return ret;
	if (conn_call(c, "ShutdownVM", NULL, &result) < 0)
		return 1;
	json_object_put(result);
	return seconds ? wait_vm(c, "shutdown", seconds) : 0;
}

static int cmd_metrics(struct conn *c, int argc, char **argv)
{
	bool prometheus = argc == 1 && !strcmp(argv[0], "--prometheus");
	struct json_object *result, *v;

	if (argc && !prometheus)
		return usage_error("metrics takes at most --prometheus");
	if (conn_call(c, "GetMetrics",
		      prometheus ? obj1("format",
					json_object_new_string("PROMETHEUS")) :
				   NULL,
		      &result) < 0)
		return 1;
	if (prometheus && json_object_object_get_ex(result, "text", &v))
		fputs(json_object_get_string(v), stdout);
	else if (json_object_object_get_ex(result, "metrics", &v))
		print_json(v);
	json_object_put(result);
	return 0;
}

/* KEY=VALUE with KEY one of the RateLimit fields; BYTES may end in K/M/G. */
static int limit_item(struct json_object *rl, const char *item)
{
	static const char *const keys[] = { "iops", "iops_burst", "bw",
					    "bw_burst" };
	const char *eq = strchr(item, '=');
	uint64_t v;

	for (size_t i = 0; eq && i < ARRAY_SIZE(keys); i++) {
		if (strlen(keys[i]) != (size_t)(eq - item) ||
		    strncmp(item, keys[i], (size_t)(eq - item)))
			continue;
		if (parse_size(eq + 1, keys[i][0] == 'b', UINT64_MAX, &v) < 0)
			return usage_error("limit: '%s' is not a number%s", eq + 1,
					   keys[i][0] == 'b' ? " of bytes" : "");
		json_object_object_add(rl, keys[i], json_object_new_uint64(v));
		return 0;
	}
	return usage_error("limit: '%s' is not iops=N, iops_burst=N, bw=BYTES or bw_burst=BYTES",
			   item);
}

static int cmd_limit(struct conn *c, int argc, char **argv)
{
	struct json_object *rl, *params;

	if (argc < 1)
		return usage_error("limit needs DEVICE [iops=N] [iops_burst=N] [bw=BYTES] [bw_burst=BYTES]");
	rl = json_object_new_object();
	for (int i = 1; i < argc; i++) {
		int ret = limit_item(rl, argv[i]);

		if (ret) {
			json_object_put(rl);
			return ret;
		}
	}
	params = obj1("device", json_object_new_string(argv[0]));
	json_object_object_add(params, "rate_limit", rl);
	return call_print(c, "SetRateLimit", params);
}

static int cmd_inspect(struct conn *c, int argc, char **argv)
{
	struct json_object *params = json_object_new_object(), *result, *v;
	uint32_t depth;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--depth")) {
			if (i + 1 >= argc || parse_u32(argv[i + 1], &depth) < 0) {
				json_object_put(params);
				return usage_error("--depth needs a number");
			}
			json_object_object_add(params, "recursion_limit",
					       json_object_new_int64(depth));
			i++;
		} else if (!json_object_object_get_ex(params, "query", NULL)) {
			json_object_object_add(params, "query",
					       json_object_new_string(argv[i]));
		} else {
			json_object_put(params);
			return usage_error("inspect: unexpected argument '%s'", argv[i]);
		}
	}
	if (conn_call(c, "InspectVM", params, &result) < 0)
		return 1;
	json_object_object_get_ex(result, "result", &v);
	print_json(v);
	json_object_put(result);
	return 0;
}

static int cmd_properties(struct conn *c, int argc, char **argv)
{
	struct json_object *types = json_object_new_array();

	for (int i = 0; i < argc; i++) {
		const char *t = !strcmp(argv[i], "memory") ? "Memory" :
				!strcmp(argv[i], "processor") ? "Processor" : NULL;

		if (!t) {
			json_object_put(types);
			return usage_error("properties: '%s' is not memory or processor",
					   argv[i]);
		}
		json_object_array_add(types, json_object_new_string(t));
	}
	return call_print(c, "PropertiesVM", obj1("types", types));
}

static int cmd_balloon(struct conn *c, int argc, char **argv)
{
	uint32_t pages;

	if (argc == 1 && !strcmp(argv[0], "get"))
		return call_print(c, "GetNumPages", NULL);
	if (argc == 1 && !strcmp(argv[0], "stats"))
		return call_print(c, "GetMemStats", NULL);
	if (argc == 2 && !strcmp(argv[0], "set")) {
		if (parse_u32(argv[1], &pages) < 0)
			return usage_error("balloon set: '%s' is not a page count",
					   argv[1]);
		return call_print(c, "RequestNumPages",
				  obj1("requested_num_pages",
				       json_object_new_int64(pages)));
	}
	return usage_error("balloon needs get, set PAGES or stats");
}

static int cmd_memory(struct conn *c, int argc, char **argv)
{
	struct json_object *params;
	uint32_t mib;

	if (argc != 1 || parse_u32(argv[0], &mib) < 0)
		return usage_error("memory needs the guest's new size in MiB");
	params = obj1("type", json_object_new_string("UPDATE"));
	json_object_object_add(params, "memory",
			       obj1("memory_mb", json_object_new_int64(mib)));
	return call_print(c, "ModifyResource", params);
}

static int cmd_modify(struct conn *c, int argc, char **argv)
{
	struct json_object *req;

	if (argc != 1)
		return usage_error("modify needs one FILE.json (- for standard input)");
	req = read_json_file(argv[0]);
	return req ? call_print(c, "ModifyResource", req) : 1;
}

static struct json_object *modify_request(const char *type, const char *key,
					   struct json_object *msg)
{
	struct json_object *params = obj1("type", json_object_new_string(type));

	json_object_object_add(params, key, msg);
	return params;
}

#define DISK_USAGE "disk needs add [C:]LUN PATH [ro] [serial=ID] or remove [C:]LUN"

/* A disk's SCSI address: "LUN" on controller 0, or "C:LUN". */
static struct json_object *disk_address(const char *arg)
{
	const char *colon = strchr(arg, ':');
	uint32_t controller = 0, lun;
	struct json_object *disk;
	char head[16];

	if (colon) {
		if ((size_t)(colon - arg) >= sizeof(head))
			return NULL;
		memcpy(head, arg, (size_t)(colon - arg));
		head[colon - arg] = '\0';
		if (parse_u32(head, &controller) < 0)
			return NULL;
		arg = colon + 1;
	}
	if (parse_u32(arg, &lun) < 0)
		return NULL;
	disk = obj1("controller", json_object_new_int64(controller));
	json_object_object_add(disk, "lun", json_object_new_int64(lun));
	return disk;
}

/* disk add [C:]LUN PATH [ro] [serial=ID] | disk remove [C:]LUN */
static int cmd_disk(struct conn *c, int argc, char **argv)
{
	struct json_object *disk;

	if (argc < 2 || !(disk = disk_address(argv[1])))
		return usage_error(DISK_USAGE);
	if (!strcmp(argv[0], "remove") && argc == 2)
		return call_print(c, "ModifyResource",
				  modify_request("REMOVE", "scsi_disk", disk));
	if (strcmp(argv[0], "add") || argc < 3 || argc > 5) {
		json_object_put(disk);
		return usage_error(DISK_USAGE);
	}
	json_object_object_add(disk, "host_path", json_object_new_string(argv[2]));
	json_object_object_add(disk, "type",
			       json_object_new_string("SCSI_DISK_TYPE_PHYSICAL"));
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "ro")) {
			json_object_object_add(disk, "read_only",
					       json_object_new_boolean(1));
		} else if (!strncmp(argv[i], "serial=", 7)) {
			json_object_object_add(disk, "serial",
					       json_object_new_string(argv[i] + 7));
		} else {
			json_object_put(disk);
			return usage_error("disk add: '%s' is not ro or serial=ID",
					   argv[i]);
		}
	}
	return call_print(c, "ModifyResource",
			  modify_request("ADD", "scsi_disk", disk));
}

/* net add TAP [mac=MAC] [id=ID] | net remove ID */
static int cmd_net(struct conn *c, int argc, char **argv)
{
	struct json_object *nic;

	if (argc == 2 && !strcmp(argv[0], "remove"))
		return call_print(c, "ModifyResource",
				  modify_request("REMOVE", "nic_config",
						 obj1("nic_id",
						      json_object_new_string(argv[1]))));
	if (argc < 2 || argc > 4 || strcmp(argv[0], "add"))
		return usage_error("net needs add TAP [mac=MAC] [id=ID] or remove ID");
	nic = obj1("port_id", json_object_new_string(argv[1]));
	for (int i = 2; i < argc; i++) {
		const char *key = !strncmp(argv[i], "mac=", 4) ? "mac_address" :
				  !strncmp(argv[i], "id=", 3) ? "nic_id" : NULL;

		if (!key) {
			json_object_put(nic);
			return usage_error("net add: '%s' is not mac=MAC or id=ID",
					   argv[i]);
		}
		json_object_object_add(nic, key,
				       json_object_new_string(strchr(argv[i], '=') + 1));
	}
	return call_print(c, "ModifyResource",
			  modify_request("ADD", "nic_config", nic));
}

static int cmd_serial(struct conn *c, int argc, char **argv)
{
	uint32_t port = 0;
	char what[32];

	if (argc < 1 || argc > 2 || strcmp(argv[0], "attach") ||
	    (argc == 2 && parse_u32(argv[1], &port) < 0))
		return usage_error("serial needs attach [PORT]");
	snprintf(what, sizeof(what), "serial port %u", port);
	return call_relay(c, "GetSerial",
			  obj1("port", json_object_new_int64(port)), false, what);
}

static struct json_object *vsock_request(const char *type, uint32_t port,
					 const char *path)
{
	struct json_object *listen = obj1("port", json_object_new_int64(port));
	struct json_object *params = obj1("type", json_object_new_string(type));

	if (path)
		json_object_object_add(listen, "listener_path",
				       json_object_new_string(path));
	json_object_object_add(params, "vsock_listen", listen);
	return params;
}

static int cmd_vsock(struct conn *c, int argc, char **argv)
{
	uint32_t port;
	char what[32];

	if (argc < 2 || parse_u32(argv[1], &port) < 0)
		return usage_error("vsock needs listen PORT PATH, unlisten PORT or connect PORT");
	if (argc == 3 && !strcmp(argv[0], "listen"))
		return call_print(c, "VMSocket", vsock_request("ADD", port, argv[2]));
	if (argc == 2 && !strcmp(argv[0], "unlisten"))
		return call_print(c, "VMSocket", vsock_request("REMOVE", port, NULL));
	if (argc == 2 && !strcmp(argv[0], "connect")) {
		snprintf(what, sizeof(what), "vsock port %u", port);
		return call_relay(c, "VsockConnect",
				  obj1("port", json_object_new_int64(port)), true,
				  what);
	}
	return usage_error("vsock needs listen PORT PATH, unlisten PORT or connect PORT");
}

static int cmd_events(struct conn *c, int argc, char **argv)
{
	struct json_object *result, *msg, *params;
	int ret;

	(void)argv;
	if (argc)
		return usage_error("events takes no arguments");
	if (conn_call(c, "SubscribeEvents", NULL, &result) < 0)
		return 1;
	/* First the state at subscription, then one event per line, as
	 * they come, until the VMM goes away. */
	puts(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(result);
	while ((ret = conn_next(c, &msg)) > 0) {
		if (json_object_object_get_ex(msg, "params", &params)) {
			puts(json_object_to_json_string_ext(params,
							    JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
			fflush(stdout);
		}
		json_object_put(msg);
	}
	return ret < 0 ? 1 : 0;
}

/* The VMM resolves paths from its own directory: give it absolute ones. */
static struct json_object *abs_path(const char *path)
{
	char cwd[4096], *full;
	struct json_object *v;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return json_object_new_string(path);
	if (asprintf(&full, "%s/%s", cwd, path) < 0)
		return NULL;
	v = json_object_new_string(full);
	free(full);
	return v;
}

static int cmd_snapshot(struct conn *c, int argc, char **argv)
{
	if (argc != 1)
		return usage_error("snapshot needs one DIR");
	return call_print(c, "SnapshotVM", obj1("directory", abs_path(argv[0])));
}

/* Appends {@key: @path} to the array @name of @ov. */
static void add_override(struct json_object *ov, const char *name,
			 const char *key, struct json_object *v)
{
	struct json_object *arr;

	if (!json_object_object_get_ex(ov, name, &arr)) {
		arr = json_object_new_array();
		json_object_object_add(ov, name, arr);
	}
	json_object_array_add(arr, obj1(key, v));
}

/* --vsock cid=N,uds=PATH, as vmm takes it. */
static int vsock_override(struct json_object *ov, const char *arg)
{
	const char *uds = strstr(arg, ",uds=");
	struct json_object *v;
	char cid[16];
	uint32_t n;

	if (strncmp(arg, "cid=", 4) || !uds || (size_t)(uds - arg - 4) >= sizeof(cid))
		return -1;
	memcpy(cid, arg + 4, (size_t)(uds - arg - 4));
	cid[uds - arg - 4] = '\0';
	if (parse_u32(cid, &n) < 0)
		return -1;
	v = json_object_new_object();
	json_object_object_add(v, "guest_cid", json_object_new_int64(n));
	json_object_object_add(v, "uds_path", abs_path(uds + 5));
	json_object_object_add(ov, "vsock", v);
	return 0;
}

/* --serial N=PATH: port N (0 is COM1) on the Unix socket PATH. */
static int serial_override(struct json_object *ov, const char *arg)
{
	struct json_object *port = json_object_new_object(), *sc, *ports;

	if (arg[0] < '0' || arg[0] > '3' || arg[1] != '=' || !arg[2]) {
		json_object_put(port);
		return -1;
	}
	json_object_object_add(port, "port", json_object_new_int(arg[0] - '0'));
	json_object_object_add(port, "socket_path", abs_path(arg + 2));
	if (!json_object_object_get_ex(ov, "serial_config", &sc)) {
		sc = obj1("ports", json_object_new_array());
		json_object_object_add(ov, "serial_config", sc);
	}
	json_object_object_get_ex(sc, "ports", &ports);
	json_object_array_add(ports, port);
	return 0;
}

static int restore_option(struct json_object *params, struct json_object *ov,
			  const char *opt, const char *arg)
{
	if (!strcmp(opt, "--disk"))
		add_override(ov, "scsi_disks", "host_path", abs_path(arg));
	else if (!strcmp(opt, "--tap"))
		add_override(ov, "nic_config", "port_id", json_object_new_string(arg));
	else if (!strcmp(opt, "--vsock"))
		return vsock_override(ov, arg) < 0 ?
			usage_error("--vsock '%s': expected cid=N,uds=PATH", arg) : 0;
	else if (!strcmp(opt, "--serial"))
		return serial_override(ov, arg) < 0 ?
			usage_error("--serial '%s': expected PORT=PATH (PORT 0 to 3)", arg) : 0;
	else if (!strcmp(opt, "--log-id"))
		json_object_object_add(params, "log_id", json_object_new_string(arg));
	else
		return usage_error("restore: unknown option '%s'", opt);
	return 0;
}

static int cmd_restore(struct conn *c, int argc, char **argv)
{
	struct json_object *params, *ov;
	int i;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error("restore needs a DIR first");
	params = obj1("directory", abs_path(argv[0]));
	ov = json_object_new_object();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--resume")) {
			json_object_object_add(params, "resume",
					       json_object_new_boolean(1));
			continue;
		}
		if (i + 1 >= argc || restore_option(params, ov, argv[i], argv[i + 1])) {
			json_object_put(params);
			json_object_put(ov);
			return i + 1 >= argc ? usage_error("restore: %s needs a value", argv[i]) : 2;
		}
		i++;
	}
	if (json_object_object_length(ov))
		json_object_object_add(params, "overrides", ov);
	else
		json_object_put(ov);
	return call_print(c, "RestoreVM", params);
}

static int cmd_call(struct conn *c, int argc, char **argv)
{
	struct json_object *params = NULL;

	if (argc < 1 || argc > 2)
		return usage_error("call needs METHOD [PARAMS_JSON]");
	if (argc == 2) {
		params = json_tokener_parse(argv[1]);
		if (!params)
			return usage_error("call: '%s' is not valid JSON", argv[1]);
	}
	return call_print(c, argv[0], params);
}

struct ctl_command {
	const char *name;
	const char *method; /* a method without parameters, or NULL */
	int (*run)(struct conn *c, int argc, char **argv);
	const char *help;
};

static const struct ctl_command commands[] = {
	{ "create", NULL, cmd_create,
	  "create FILE.json   CreateVM (paused) from a CreateVMRequest or VMConfig" },
	{ "resume", "ResumeVM", NULL,
	  "resume             ResumeVM: start or continue the vCPUs" },
	{ "pause", "PauseVM", NULL,
	  "pause              PauseVM: stop every vCPU" },
	{ "wait", NULL, cmd_wait,
	  "wait [--timeout SECONDS]  WaitVM, then print why the VM stopped" },
	{ "shutdown", NULL, cmd_shutdown,
	  "shutdown [--timeout SECONDS]  ShutdownVM: press the power button (then wait)" },
	{ "inspect", NULL, cmd_inspect,
	  "inspect [QUERY] [--depth N]  InspectVM (QUERY like config.memory_config)" },
	{ "properties", NULL, cmd_properties,
	  "properties [memory|processor]  PropertiesVM" },
	{ "capabilities", "CapabilitiesVM", NULL,
	  "capabilities       CapabilitiesVM" },
	{ "memory", NULL, cmd_memory,
	  "memory MIB         ModifyResource: resize the guest through the balloon" },
	{ "modify", NULL, cmd_modify,
	  "modify FILE.json   ModifyResource with a ModifyResourceRequest" },
	{ "disk", NULL, cmd_disk,
	  "disk add [C:]LUN PATH [ro] [serial=ID] | remove [C:]LUN  hot-add or remove a disk (PCI)" },
	{ "net", NULL, cmd_net,
	  "net add TAP [mac=MAC] [id=ID] | remove ID  hot-add or remove a NIC (PCI)" },
	{ "balloon", NULL, cmd_balloon,
	  "balloon get|set PAGES|stats  GetNumPages, RequestNumPages, GetMemStats" },
	{ "serial", NULL, cmd_serial,
	  "serial attach [PORT]  GetSerial: the port's output (its last 64 KiB first) and input" },
	{ "vsock", NULL, cmd_vsock,
	  "vsock listen PORT PATH | unlisten PORT | connect PORT" },
	{ "snapshot", NULL, cmd_snapshot,
	  "snapshot DIR       SnapshotVM: save the VM into DIR (a new directory)" },
	{ "restore", NULL, cmd_restore,
	  "restore DIR [--resume] [--disk PATH]... [--tap NAME]... [--vsock cid=N,uds=PATH]\n"
	  "                     [--serial PORT=SOCKET]... [--log-id ID]  RestoreVM from DIR" },
	{ "metrics", NULL, cmd_metrics,
	  "metrics [--prometheus]  GetMetrics: the VM's counters" },
	{ "limit", NULL, cmd_limit,
	  "limit DEVICE [iops=N] [iops_burst=N] [bw=BYTES] [bw_burst=BYTES]  SetRateLimit" },
	{ "teardown", "TeardownVM", NULL,
	  "teardown           TeardownVM: release the VM" },
	{ "quit", "Quit", NULL,
	  "quit               Quit: end the VMM process" },
	{ "events", NULL, cmd_events,
	  "events             print the state, then each change as it happens, one JSON per line" },
	{ "call", NULL, cmd_call,
	  "call METHOD [PARAMS_JSON]  any method, raw" },
};

static void usage(FILE *f)
{
	fputs("usage: vmmctl --sock PATH COMMAND [ARGS...]\ncommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fputs("Results are printed as JSON; on an error the VMM's message goes to\n"
	      "stderr and the exit status is 1.\n", f);
}

int ctl_api_main(int argc, char **argv)
{
	const char *path = NULL, *name;
	struct conn c;
	int i = 1, ret;

	if (argc >= 1 && !strncmp(argv[0], "--sock=", 7))
		path = argv[0] + 7;
	else if (argc >= 2 && !strcmp(argv[0], "--sock"))
		path = argv[i++];
	if (!path || !*path) {
		usage(stderr);
		return 2;
	}
	if (i >= argc || !strcmp(argv[i], "help") || !strcmp(argv[i], "--help")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	name = argv[i++];
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++) {
		const struct ctl_command *cmd = &commands[k];

		if (strcmp(name, cmd->name))
			continue;
		if (cmd->method && i < argc)
			return usage_error("'%s' takes no arguments", name);
		if (conn_open(&c, path) < 0)
			return 1;
		ret = cmd->method ? call_print(&c, cmd->method, NULL) :
				    cmd->run(&c, argc - i, argv + i);
		conn_close(&c);
		return ret;
	}
	return usage_error("unknown command '%s'", name);
}
