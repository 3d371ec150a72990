// SPDX-License-Identifier: MIT
/*
 * The control socket in-process, without KVM: the transport (framing,
 * limits, misbehaving clients), the methods' errors without a VM, and the
 * balloon, vsock and serial calls against stand-ins for those devices.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "vmm/api/api.h"
#include "fd_hog.h"

#define TIMEOUT_MS 5000

struct fake_balloon {
	struct balloon_control ctl;
	struct event_loop *loop;
	uint32_t actual, target;
	balloon_stats_done_fn done;
	void *ctx;
};

struct fake_vsock {
	struct vsock_control ctl;
	struct event_loop *loop;
	uint32_t port;
	char path[108];
	bool listening;
	int peer;
	int pending_fd;
	vsock_connect_done_fn done;
	void *ctx;
};

struct fake_serial {
	struct chardev chr;
	uint8_t rx[64];
	size_t rx_len;
};

/* A disk's limits and the power button, as the control API sees them. */
struct fake_limits {
	struct rate_limit_control ctl;
	struct rate_limit_config cfg;
	unsigned int sets;
};

struct fake_power {
	struct power_control ctl;
	unsigned int presses;
};

struct fixture {
	struct event_loop loop;
	struct metrics metrics;
	struct api api;
	char dir[64];
	char sock[128];
	struct fake_balloon balloon;
	struct fake_vsock vsock;
	struct fake_serial serial;
	struct fake_limits limits;
	struct fake_power power;
	bool fake_vm;
};

static struct fixture fx;

/* --- Stand-ins for the devices, on the loop thread -------------------- */

static int fl_set(void *opaque, const struct rate_limit_config *cfg,
		  struct err *e)
{
	struct fake_limits *l = opaque;

	(void)e;
	l->cfg = *cfg;
	l->sets++;
	return 0;
}

static int fp_press(void *opaque, struct err *e)
{
	struct fake_power *p = opaque;

	(void)e;
	p->presses++;
	return 0;
}

static int fb_get(void *opaque, uint32_t *actual, uint32_t *target,
		  struct err *e)
{
	struct fake_balloon *b = opaque;

	(void)e;
	*actual = b->actual;
	*target = b->target;
	return 0;
}

static int fb_request(void *opaque, uint32_t pages, struct err *e)
{
	struct fake_balloon *b = opaque;

	(void)e;
	b->target = pages;
	return 0;
}

static void fb_answer(void *opaque)
{
	struct fake_balloon *b = opaque;
	struct balloon_stats s = {
		.nr = 2,
		.stats = {
			{ BALLOON_STAT_MEMFREE, 30 * MiB },
			{ BALLOON_STAT_AVAIL, 40 * MiB },
		},
	};

	b->done(b->ctx, &s, NULL);
}

static int fb_stats(void *opaque, balloon_stats_done_fn done, void *ctx,
		    struct err *e)
{
	struct fake_balloon *b = opaque;

	(void)e;
	b->done = done;
	b->ctx = ctx;
	/* Answered later, as a guest would. */
	return event_loop_call(b->loop, fb_answer, b);
}

static int fv_add(void *opaque, uint32_t port, const char *path, struct err *e)
{
	struct fake_vsock *v = opaque;

	if (v->listening && v->port == port)
		return err_set(e, "vsock port %u already has a listener", port);
	v->listening = true;
	v->port = port;
	snprintf(v->path, sizeof(v->path), "%s", path);
	return 0;
}

static int fv_remove(void *opaque, uint32_t port, struct err *e)
{
	struct fake_vsock *v = opaque;

	if (!v->listening || v->port != port)
		return err_set(e, "vsock port %u has no listener", port);
	v->listening = false;
	return 0;
}

static void fv_answer(void *opaque)
{
	struct fake_vsock *v = opaque;

	v->done(v->ctx, v->pending_fd, NULL);
}

static int fv_connect(void *opaque, uint32_t port, vsock_connect_done_fn done,
		      void *ctx, struct err *e)
{
	struct fake_vsock *v = opaque;
	int sv[2];

	if (port == 13)
		return err_set(e, "vsock port %u: connection refused", port);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_errno(e, "socketpair");
	v->peer = sv[0];
	v->pending_fd = sv[1];
	v->done = done;
	v->ctx = ctx;
	return event_loop_call(v->loop, fv_answer, v);
}

static size_t fs_space(void *opaque)
{
	struct fake_serial *s = opaque;

	return sizeof(s->rx) - s->rx_len;
}

static void fs_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_serial *s = opaque;

	memcpy(s->rx + s->rx_len, buf, len);
	s->rx_len += len;
}

/* --- Fixture ---------------------------------------------------------- */

static void install_fake_vm(void)
{
	struct chardev_config none = { .kind = CHARDEV_NONE };
	struct chardev_sink sink = {
		.rx_space = fs_space, .rx = fs_rx, .opaque = &fx.serial,
	};
	struct api *api = &fx.api;
	struct err e;

	fx.balloon = (struct fake_balloon){
		.ctl = { fb_get, fb_request, fb_stats, &fx.balloon },
		.loop = &fx.loop, .actual = 100, .target = 100,
	};
	fx.vsock = (struct fake_vsock){
		.ctl = { fv_add, fv_remove, fv_connect, &fx.vsock },
		.loop = &fx.loop, .peer = -1,
	};
	cr_assert_eq(chardev_open(&fx.serial.chr, "COM1", &none, &fx.loop,
				  &sink, &e), 0, "%s", e.msg);
	vm_config_init(&api->cfg);
	api->cfg.kernel = strdup("/boot/k");
	api->cfg.mem_mib = 64;
	api->vm.mem.size = 64 * MiB;
	api->vm.balloon = &fx.balloon.ctl;
	api->vm.vsock = &fx.vsock.ctl;
	api->vm.serial[0] = &fx.serial.chr;
	fx.limits.ctl = (struct rate_limit_control){ fl_set, &fx.limits };
	api->cfg.disks[0].path = strdup("/img/root.raw");
	api->cfg.nr_disks = 1;
	api->vm.disk_limits[0] = &fx.limits.ctl;
	fx.power.ctl = (struct power_control){ fp_press, &fx.power };
	api->vm.power = &fx.power.ctl;
	api->has_vm = true;
	api->state = API_STATE_RUNNING;
	fx.fake_vm = true;
}

static void start(bool fake_vm)
{
	struct err e;

	memset(&fx, 0, sizeof(fx));
	strcpy(fx.dir, "/tmp/vmm-api-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	snprintf(fx.sock, sizeof(fx.sock), "%s/api.sock", fx.dir);
	cr_assert_eq(event_loop_init(&fx.loop, &e), 0, "%s", e.msg);
	metrics_init(&fx.metrics);
	cr_assert_eq(api_open(&fx.api, &fx.loop, fx.sock, &fx.metrics, NULL,
			      &e), 0, "%s", e.msg);
	if (fake_vm)
		install_fake_vm();
	cr_assert_eq(event_loop_start_thread(&fx.loop, &e), 0, "%s", e.msg);
}

static void stop_loop(void *opaque)
{
	event_loop_stop(opaque);
}

static void stop_thread(void)
{
	event_loop_call(&fx.loop, stop_loop, &fx.loop);
	event_loop_join(&fx.loop);
}

/* After stop_thread(): the API's state may be read from here on. */
static void finish(void)
{
	if (fx.fake_vm) {
		/* Not a real VM: nothing for api_close() to tear down. */
		fx.api.has_vm = false;
		vm_config_free(&fx.api.cfg);
		chardev_close(&fx.serial.chr);
		if (fx.vsock.peer >= 0)
			close(fx.vsock.peer);
	}
	api_close(&fx.api);
	event_loop_destroy(&fx.loop);
	rmdir(fx.dir);
}

static void stop(void)
{
	stop_thread();
	finish();
}

/* --- A minimal client ------------------------------------------------- */

static int cl_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(addr.sun_path, fx.sock);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0,
		     "connect: %s", strerror(errno));
	return fd;
}

static void cl_send(int fd, const char *s)
{
	size_t len = strlen(s);

	cr_assert_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len,
		     "send: %s", strerror(errno));
}

/* One byte at a time, so a passed descriptor is never missed. */
static ssize_t cl_read_byte(int fd, char *c, int *passed)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct cmsghdr *cm;
	ssize_t n;

	cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "no answer within %d ms",
		     TIMEOUT_MS);
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_type == SCM_RIGHTS) {
		cr_assert_not_null(passed, "a descriptor nobody asked for");
		memcpy(passed, CMSG_DATA(cm), sizeof(int));
	}
	return n;
}

/* The next line as JSON, or NULL at the end of the connection. */
static struct json_object *cl_read(int fd, int *passed)
{
	char line[65536];
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = cl_read_byte(fd, &c, passed);

		if (r <= 0) {
			cr_assert_eq(n, 0, "connection ended inside a line");
			return NULL;
		}
		if (c == '\n')
			break;
		cr_assert_lt(n, sizeof(line) - 1);
		line[n++] = c;
	}
	line[n] = '\0';
	return json_tokener_parse(line);
}

static struct json_object *cl_call(int fd, const char *method,
				   const char *params, int *passed)
{
	char req[4096];
	struct json_object *resp;

	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n", method,
		 params ? ",\"params\":" : "", params ? params : "");
	cl_send(fd, req);
	resp = cl_read(fd, passed);
	cr_assert_not_null(resp, "%s: connection closed", method);
	return resp;
}

/* Calls @method on a new connection and returns its result (asserted). */
static struct json_object *ok(const char *method, const char *params)
{
	int fd = cl_connect();
	struct json_object *resp = cl_call(fd, method, params, NULL), *r;

	close(fd);
	cr_assert(json_object_object_get_ex(resp, "result", &r), "%s: %s", method,
		  json_object_to_json_string(resp));
	r = json_object_get(r);
	json_object_put(resp);
	return r;
}

/* Calls @method, expects error @code whose message holds @msg. */
static void fails(const char *method, const char *params, int code,
		  const char *msg)
{
	int fd = cl_connect();
	struct json_object *resp = cl_call(fd, method, params, NULL), *err, *v;

	close(fd);
	cr_assert(json_object_object_get_ex(resp, "error", &err), "%s %s: %s",
		  method, params ? params : "", json_object_to_json_string(resp));
	cr_expect_eq(json_object_get_int(json_object_object_get(err, "code")),
		     code, "%s: %s", method, json_object_to_json_string(resp));
	v = json_object_object_get(err, "message");
	cr_expect(strstr(json_object_get_string(v), msg), "%s: '%s' lacks '%s'",
		  method, json_object_get_string(v), msg);
	json_object_put(resp);
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = json_object_object_get(o, a);

	return json_object_get_string(b ? json_object_object_get(v, b) : v);
}

/* --- Without a VM ----------------------------------------------------- */

Test(api_server, socket_is_owner_only)
{
	struct stat st;

	start(false);
	cr_assert_eq(stat(fx.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	stop();
	cr_assert_neq(stat(fx.sock, &st), 0, "the socket outlived the server");
}

Test(api_server, refuses_a_live_socket_and_replaces_a_stale_one)
{
	struct api other;
	struct event_loop loop;
	struct err e;
	int fd;

	start(false);
	cr_assert_eq(event_loop_init(&loop, &e), 0);
	cr_assert_eq(api_open(&other, &loop, fx.sock, NULL, NULL, &e), -1);
	cr_assert(strstr(e.msg, "another process is serving it"), "%s", e.msg);
	api_close(&other);
	stop();
	/* A socket nobody listens on is stale and gets replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un addr = { .sun_family = AF_UNIX };

		mkdir(fx.dir, 0700);
		strcpy(addr.sun_path, fx.sock);
		cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	}
	close(fd);
	cr_assert_eq(api_open(&other, &loop, fx.sock, NULL, NULL, &e), 0, "%s", e.msg);
	api_close(&other);
	cr_assert_eq(api_open(&other, &loop, fx.dir, NULL, NULL, &e), -1);
	cr_assert(strstr(e.msg, "exists and is not a socket"), "%s", e.msg);
	api_close(&other);
	event_loop_destroy(&loop);
	rmdir(fx.dir);
}

Test(api_server, answers_without_a_vm)
{
	struct json_object *r;

	start(false);
	r = ok("InspectVM", NULL);
	cr_assert_str_eq(str_at(r, "result", "state"), "not_created");
	json_object_put(r);
	r = ok("InspectVM", "{\"query\":\"state\"}");
	cr_assert_str_eq(str_at(r, "result", NULL), "not_created");
	json_object_put(r);
	fails("PauseVM", NULL, RPC_BAD_STATE, "no VM: call CreateVM first");
	fails("ResumeVM", "{}", RPC_BAD_STATE, "no VM");
	fails("WaitVM", NULL, RPC_BAD_STATE, "no VM to wait for");
	fails("TeardownVM", NULL, RPC_BAD_STATE, "no VM to tear down");
	fails("GetSerial", NULL, RPC_BAD_STATE, "no VM");
	fails("GetNumPages", NULL, RPC_BAD_STATE, "no VM");
	fails("PropertiesVM", NULL, RPC_BAD_STATE, "no VM");
	fails("ModifyResource", "{\"type\":\"UPDATE\",\"memory\":{\"memory_mb\":64}}",
	      RPC_BAD_STATE, "no VM");
	fails("Frobnicate", NULL, RPC_METHOD_NOT_FOUND, "unknown method 'Frobnicate'");
	fails("PauseVM", "{\"now\":true}", RPC_INVALID_PARAMS,
	      "PauseVM takes no parameters");
	fails("InspectVM", "{\"query\":5}", RPC_INVALID_PARAMS,
	      "query: expected a string, got a number");
	fails("CreateVM", NULL, RPC_INVALID_PARAMS, "params: missing");
	fails("CreateVM", "{\"config\":{\"uefi\":{}}}", RPC_INVALID_PARAMS,
	      "config.uefi.firmware_path: missing");
	fails("CreateVM", "{\"config\":{\"uefi\":{\"firmware_path\":\"/nonexistent/fw\"}}}",
	      RPC_INVALID_PARAMS, "config: firmware /nonexistent/fw: No such file");
	fails("CreateVM", "{\"config\":{\"direct_boot\":{\"kernel_path\":\"/nonexistent/k\"}}}",
	      RPC_INVALID_PARAMS, "config: kernel /nonexistent/k: No such file");
	fails("ModifyResource", "{\"type\":\"ADD\"}", RPC_INVALID_PARAMS,
	      "no resource given");
	fails("ModifyResource", "{\"type\":\"GROW\",\"memory\":{}}", RPC_INVALID_PARAMS,
	      "type: unknown value \"GROW\"");
	r = ok("CapabilitiesVM", NULL);
	cr_assert_eq(json_object_array_length(json_object_object_get(r, "supported_resources")), 7);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
				 json_object_object_get(r, "supported_guest_os"), 0)),
			 "Linux");
	json_object_put(r);
	stop();
}

Test(api_server, survives_malformed_input_on_the_same_connection)
{
	struct json_object *resp;
	int fd;

	start(false);
	fd = cl_connect();
	cl_send(fd, "{not json\n");
	resp = cl_read(fd, NULL);
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_object_get(resp, "error"), "code")),
		     RPC_PARSE_ERROR);
	cr_assert(json_object_object_get_ex(resp, "id", NULL));
	cr_assert_null(json_object_object_get(resp, "id"));
	json_object_put(resp);
	/* Blank lines are skipped; a notification gets no answer. */
	cl_send(fd, "\n  \r\n{\"jsonrpc\":\"2.0\",\"method\":\"InspectVM\"}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":\"second\",\"method\":\"InspectVM\"}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"Nope\"}\n");
	resp = cl_read(fd, NULL);
	cr_assert_str_eq(str_at(resp, "id", NULL), "second");
	cr_assert_str_eq(str_at(json_object_object_get(resp, "result"), "result",
				"state"), "not_created");
	json_object_put(resp);
	resp = cl_read(fd, NULL);
	cr_assert_eq(json_object_get_int(json_object_object_get(resp, "id")), 3);
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_object_get(resp, "error"), "code")),
		     RPC_METHOD_NOT_FOUND);
	json_object_put(resp);
	close(fd);
	stop();
}

Test(api_server, closes_a_connection_whose_request_is_too_long)
{
	char *big = malloc(API_MAX_REQUEST + 16);
	struct json_object *resp;
	int fd;

	start(false);
	fd = cl_connect();
	memset(big, ' ', API_MAX_REQUEST + 16);
	big[0] = '{';
	send(fd, big, API_MAX_REQUEST + 16, MSG_NOSIGNAL);
	resp = cl_read(fd, NULL);
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_object_get(resp, "error"), "code")),
		     RPC_INVALID_REQUEST);
	cr_assert(strstr(str_at(resp, "error", "message"), "65536"), "%s",
		  str_at(resp, "error", "message"));
	json_object_put(resp);
	cr_assert_null(cl_read(fd, NULL), "the connection stays open");
	close(fd);
	free(big);
	/* Others are unaffected. */
	json_object_put(ok("InspectVM", NULL));
	stop();
}

Test(api_server, forgets_a_client_that_leaves_mid_request)
{
	int fd;

	start(false);
	fd = cl_connect();
	cl_send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth");
	close(fd);
	fd = cl_connect();
	cl_send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"InspectVM\"}");
	shutdown(fd, SHUT_WR);
	cr_assert_null(cl_read(fd, NULL), "a request without its newline was answered");
	close(fd);
	json_object_put(ok("InspectVM", NULL));
	stop();
}

Test(api_server, refuses_clients_beyond_the_limit)
{
	struct json_object *resp;
	int fds[3], extra;

	start(false);
	fx.api.srv.max_clients = 3;
	for (int i = 0; i < 3; i++) {
		fds[i] = cl_connect();
		resp = cl_call(fds[i], "InspectVM", NULL, NULL);
		json_object_put(resp);
	}
	extra = cl_connect();
	resp = cl_read(extra, NULL);
	cr_assert(strstr(str_at(resp, "error", "message"), "too many clients (at most 3)"));
	json_object_put(resp);
	cr_assert_null(cl_read(extra, NULL));
	close(extra);
	close(fds[0]);
	/* A slot frees up once a client leaves. */
	for (int tries = 0; tries < 100; tries++) {
		extra = cl_connect();
		resp = cl_call(extra, "InspectVM", NULL, NULL);
		close(extra);
		if (json_object_object_get_ex(resp, "result", NULL)) {
			json_object_put(resp);
			break;
		}
		json_object_put(resp);
		cr_assert_lt(tries, 99, "the freed slot never came back");
		usleep(10000);
	}
	close(fds[1]);
	close(fds[2]);
	stop();
}

/*
 * Out of descriptors with no client connected: the socket stops being
 * polled, and the waiting client is served once descriptors are free.
 */
Test(api_server, keeps_listening_after_running_out_of_descriptors)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct json_object *resp;
	struct fd_hog hog;
	int info, fd;

	start(false);
	strcpy(addr.sun_path, fx.sock);
	info = epoll_info_open(fx.loop.epfd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(info >= 0 && fd >= 0);
	cr_assert_eq(fd_hog_fill(&hog), 0, "cannot run out of descriptors");
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	for (int i = 0; i < TIMEOUT_MS / 10 &&
			epoll_info_watches(info, fx.api.srv.listen_fd); i++)
		usleep(10000);
	cr_assert_not(epoll_info_watches(info, fx.api.srv.listen_fd),
		      "the socket is still polled without a descriptor to accept with");
	fd_hog_release(&hog);
	resp = cl_call(fd, "InspectVM", NULL, NULL);
	cr_assert(json_object_object_get_ex(resp, "result", NULL), "%s",
		  json_object_to_json_string(resp));
	json_object_put(resp);
	close(fd);
	close(info);
	stop();
}

/*
 * Many requests in one write, then the end of input: they are answered in
 * turns, in order, every one of them, before the connection closes.
 */
Test(api_server, answers_a_burst_of_requests_in_order)
{
	enum { N = 100 };
	static char burst[N * 64];
	size_t len = 0;
	int fd;

	start(false);
	fd = cl_connect();
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(burst + len, sizeof(burst) - len,
					"{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"InspectVM\"}\n",
					i);
	cl_send(fd, burst);
	cr_assert_eq(shutdown(fd, SHUT_WR), 0);
	for (int i = 0; i < N; i++) {
		struct json_object *resp = cl_read(fd, NULL), *id;

		cr_assert_not_null(resp, "answer %d of %d missing", i, N);
		cr_assert(json_object_object_get_ex(resp, "id", &id));
		cr_assert_eq(json_object_get_int(id), i);
		cr_assert(json_object_object_get_ex(resp, "result", NULL));
		json_object_put(resp);
	}
	cr_assert_null(cl_read(fd, NULL));
	close(fd);
	stop();
}

Test(api_server, drops_a_client_that_never_reads)
{
	static const char req[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"InspectVM\"}\n";
	int fd, sent = 0;
	bool dropped = false;

	start(false);
	fx.api.srv.max_output = 16 * 1024;
	fd = cl_connect();
	/* Requests keep coming, answers are never read: the queue fills. */
	while (sent < 200000) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (poll(&p, 1, TIMEOUT_MS) != 1)
			break;
		if (p.revents & (POLLHUP | POLLERR) ||
		    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			dropped = errno != EAGAIN || p.revents & (POLLHUP | POLLERR);
			if (dropped)
				break;
			continue;
		}
		sent++;
	}
	cr_assert(dropped, "still connected after %d unread answers", sent);
	close(fd);
	json_object_put(ok("InspectVM", NULL));
	stop();
}

Test(api_server, serves_a_hundred_clients_at_once)
{
	enum { N = 100 };
	int fds[N];

	start(false);
	for (int i = 0; i < N; i++)
		fds[i] = cl_connect();
	for (int i = 0; i < N; i++) {
		char req[128];

		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"InspectVM\",\"params\":{\"query\":\"state\"}}\n",
			 i);
		cl_send(fds[i], req);
	}
	for (int i = N - 1; i >= 0; i--) {
		struct json_object *resp = cl_read(fds[i], NULL);

		cr_assert_eq(json_object_get_int(json_object_object_get(resp, "id")), i);
		cr_assert_str_eq(str_at(resp, "result", "result"), "not_created");
		json_object_put(resp);
		close(fds[i]);
	}
	stop();
}

/* --- With stand-ins for the balloon, vsock and serial devices ---------- */

/* Capabilities say exactly what ModifyResource does not refuse. */
static void check_capabilities_match_modify(void)
{
	static const char *const requests[7] = {
		"{\"type\":\"%s\",\"vpmem_disk\":{\"host_path\":\"/p\"}}",
		"{\"type\":\"%s\",\"scsi_disk\":{\"host_path\":\"/d\"}}",
		"{\"type\":\"%s\",\"windows_device\":{\"instance_id\":\"x\"}}",
		NULL,
		"{\"type\":\"%s\",\"nic_config\":{\"port_id\":\"tap1\"}}",
		"{\"type\":\"%s\",\"memory\":{\"memory_mb\":32}}",
		"{\"type\":\"%s\",\"processor\":{\"processor_index\":1}}",
	};
	static const char *const ops[] = { "Add", "Remove", "Update" };
	static const char *const types[] = { "ADD", "REMOVE", "UPDATE" };
	struct json_object *caps = ok("CapabilitiesVM", NULL);
	struct json_object *list = json_object_object_get(caps, "supported_resources");

	for (size_t r = 0; r < json_object_array_length(list); r++) {
		struct json_object *res = json_object_array_get_idx(list, r);

		if (!requests[r])
			continue; /* Plan9 has no ModifyResource message */
		for (int t = 0; t < 3; t++) {
			bool cap = json_object_get_boolean(json_object_object_get(res, ops[t]));
			char params[256];
			int fd = cl_connect();
			struct json_object *resp;

			snprintf(params, sizeof(params), requests[r], types[t]);
			resp = cl_call(fd, "ModifyResource", params, NULL);
			close(fd);
			cr_expect_eq(json_object_object_get_ex(resp, "result", NULL), cap,
				     "%s %s: capability %d, answer %s",
				     str_at(res, "resource", NULL), types[t], cap,
				     json_object_to_json_string(resp));
			json_object_put(resp);
		}
	}
	json_object_put(caps);
}

Test(api_server, capabilities_agree_with_modify_resource)
{
	start(true);
	check_capabilities_match_modify();
	cr_assert_eq(fx.balloon.target, 32 * 256, "64 MiB -> 32 MiB: 32 MiB of 4 KiB pages");
	stop();
	start(true);
	fx.api.vm.balloon = NULL;
	check_capabilities_match_modify();
	fails("ModifyResource", "{\"type\":\"UPDATE\",\"memory\":{\"memory_mb\":32}}",
	      RPC_NO_DEVICE, "no balloon device (start it with --balloon)");
	stop();
}

Test(api_server, balloon_calls)
{
	struct json_object *r, *stats;

	start(true);
	r = ok("GetNumPages", NULL);
	cr_assert_eq(json_object_get_int(json_object_object_get(r, "num_pages")), 100);
	json_object_put(r);
	json_object_put(ok("RequestNumPages", "{\"requested_num_pages\":4096}"));
	cr_assert_eq(fx.balloon.target, 4096);
	fails("RequestNumPages", "{}", RPC_INVALID_PARAMS, "requested_num_pages: missing");
	fails("RequestNumPages", "{\"requested_num_pages\":-4}", RPC_INVALID_PARAMS,
	      "negative");
	r = ok("GetMemStats", NULL);
	stats = json_object_object_get(r, "mem_stats");
	cr_assert_eq(json_object_array_length(stats), 2);
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_array_get_idx(stats, 1), "tag")),
		     BALLOON_STAT_AVAIL);
	cr_assert_str_eq(str_at(json_object_array_get_idx(stats, 1), "val", NULL),
			 "41943040");
	json_object_put(r);
	r = ok("PropertiesVM", "{\"types\":[\"Memory\"]}");
	cr_assert_str_eq(str_at(r, "memory_stats", "available_memory"), "41943040");
	cr_assert_str_eq(str_at(r, "memory_stats", "reserved_memory"), "409600");
	cr_assert_str_eq(str_at(r, "memory_stats", "assigned_memory"),
			 "66699264");
	cr_assert_not(json_object_object_get_ex(r, "processor_stats", NULL));
	json_object_put(r);
	r = ok("PropertiesVM", "{\"types\":[1]}");
	cr_assert(json_object_object_get_ex(r, "processor_stats", NULL));
	json_object_put(r);
	fails("PropertiesVM", "{\"types\":[\"Disk\"]}", RPC_INVALID_PARAMS,
	      "types[0]: unknown value \"Disk\"");
	fails("ModifyResource", "{\"type\":\"UPDATE\",\"memory\":{\"memory_mb\":128}}",
	      RPC_UNSUPPORTED, "more than the 64 MiB the VM was created with");
	r = ok("InspectVM", "{\"query\":\"memory.balloon.requested_num_pages\"}");
	cr_assert_eq(json_object_get_int(json_object_object_get(r, "result")), 4096);
	json_object_put(r);
	stop();
}

Test(api_server, vsock_calls)
{
	struct json_object *resp;
	char buf[8];
	int fd, passed = -1;

	start(true);
	json_object_put(ok("VMSocket", "{\"type\":\"ADD\",\"vsock_listen\":"
				       "{\"port\":5000,\"listener_path\":\"/run/l.sock\"}}"));
	cr_assert(fx.vsock.listening);
	cr_assert_eq(fx.vsock.port, 5000);
	cr_assert_str_eq(fx.vsock.path, "/run/l.sock");
	fails("VMSocket", "{\"type\":\"ADD\",\"vsock_listen\":{\"port\":5000,"
			  "\"listener_path\":\"/x\"}}",
	      RPC_FAILED, "already has a listener");
	fails("VMSocket", "{\"type\":\"UPDATE\",\"vsock_listen\":{\"port\":5000}}",
	      RPC_UNSUPPORTED, "REMOVE it and ADD it again");
	fails("VMSocket", "{\"type\":\"ADD\",\"hvsocket_list\":{\"service_id\":\"x\"}}",
	      RPC_UNSUPPORTED, "Hyper-V sockets");
	fails("VMSocket", "{\"type\":\"ADD\",\"vsock_listen\":{\"port\":1}}",
	      RPC_INVALID_PARAMS, "listener_path: missing");
	json_object_put(ok("VMSocket", "{\"type\":\"REMOVE\",\"vsock_listen\":{\"port\":5000}}"));
	cr_assert_not(fx.vsock.listening);

	fd = cl_connect();
	resp = cl_call(fd, "VsockConnect", "{\"port\":1024}", &passed);
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_object_get(resp, "result"), "port")), 1024);
	cr_assert_geq(passed, 0, "no stream passed");
	cr_assert_eq(write(passed, "ping", 4), 4);
	cr_assert_eq(read(fx.vsock.peer, buf, sizeof(buf)), 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	close(passed);
	json_object_put(resp);
	close(fd);
	fails("VsockConnect", "{\"port\":13}", RPC_FAILED, "connection refused");
	fx.api.vm.vsock = NULL;
	fails("VsockConnect", "{\"port\":1}", RPC_NO_DEVICE,
	      "no vsock device (start it with --vsock)");
	stop();
}

Test(api_server, serial_attach_replays_history_and_takes_input)
{
	struct json_object *resp;
	char buf[64] = { 0 };
	int fd, passed = -1;
	ssize_t n = 0;

	start(true);
	chardev_write(&fx.serial.chr, "boot log\n", 9);
	fd = cl_connect();
	resp = cl_call(fd, "GetSerial", "{\"port\":0}", &passed);
	cr_assert_str_eq(str_at(resp, "result", "name"), "COM1");
	json_object_put(resp);
	cr_assert_geq(passed, 0);
	while (n < 9) {
		ssize_t r = read(passed, buf + n, sizeof(buf) - 1 - (size_t)n);

		cr_assert_gt(r, 0);
		n += r;
	}
	cr_assert_str_eq(buf, "boot log\n", "the late client missed the history");
	cr_assert_eq(write(passed, "hi", 2), 2);
	for (int i = 0; i < 500 && fx.serial.rx_len < 2; i++)
		usleep(2000);
	cr_assert_eq(fx.serial.rx_len, 2, "input did not reach the device");
	cr_assert_eq(memcmp(fx.serial.rx, "hi", 2), 0);
	close(passed);
	close(fd);
	fails("GetSerial", "{\"port\":2}", RPC_NO_DEVICE, "no serial port 2 (COM3)");
	stop();
}

Test(api_server, a_waiting_client_may_leave)
{
	int fd;

	start(true);
	fd = cl_connect();
	cl_send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"WaitVM\"}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"WaitVM\"}\n");
	usleep(50000);
	close(fd);
	/* The server dropped both calls with the client; it still answers. */
	json_object_put(ok("InspectVM", "{\"query\":\"state\"}"));
	usleep(50000);
	stop_thread();
	cr_assert_null(fx.api.waiters);
	finish();
}

Test(api_server, limits_waiting_calls_per_client)
{
	struct json_object *resp;
	char req[128];
	int fd;

	start(true);
	fx.api.srv.max_calls = 2;
	fd = cl_connect();
	for (int i = 1; i <= 3; i++) {
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"WaitVM\"}\n", i);
		cl_send(fd, req);
	}
	resp = cl_read(fd, NULL);
	cr_assert_eq(json_object_get_int(json_object_object_get(resp, "id")), 3);
	cr_assert(strstr(str_at(resp, "error", "message"), "still waiting"),
		  "%s", json_object_to_json_string(resp));
	json_object_put(resp);
	close(fd);
	stop();
}

/* --- This VMM's operations calls -------------------------------------- */

/* A device's counters, as a device hands them over. */
struct fake_counters {
	uint64_t reads;
	struct metric_histogram latency;
};

static const struct metric_desc fake_descs[] = {
	{ "reads", NULL, METRIC_COUNTER, offsetof(struct fake_counters, reads),
	  "Reads" },
	{ "latency", NULL, METRIC_HISTOGRAM,
	  offsetof(struct fake_counters, latency), "Latency" },
};

static const char *metric_at(struct json_object *r, const char *sub,
			     const char *id, const char *name, const char *var)
{
	struct json_object *v = json_object_object_get(
		json_object_object_get(r, "metrics"), sub);

	if (id)
		v = json_object_object_get(v, id);
	v = json_object_object_get(v, name);
	if (var)
		v = json_object_object_get(v, var);
	cr_assert_not_null(v, "no metric %s/%s/%s/%s", sub, id ? id : "",
			   name, var ? var : "");
	return json_object_get_string(v);
}

/* The fake disk's latency bucket @bound, cumulative. */
static const char *bucket_at(struct json_object *r, const char *bound)
{
	struct json_object *h = json_object_object_get(
		json_object_object_get(
			json_object_object_get(
				json_object_object_get(r, "metrics"), "blk"),
			"disk0"),
		"latency");

	return json_object_get_string(json_object_object_get(
		json_object_object_get(h, "buckets_us"), bound));
}

Test(api_server, get_metrics_counts_requests_and_reads_devices)
{
	struct fake_counters c = { .reads = 7 };
	struct metrics_group g = {
		.subsystem = "blk", .id = "disk0", .id_label = "device",
		.descs = fake_descs, .nr_descs = ARRAY_SIZE(fake_descs),
		.block = &c,
	};
	struct json_object *r;
	const char *text;

	metric_observe_ns(&c.latency, 30000);
	metric_observe_ns(&c.latency, 5000000000ULL);
	start(false);
	metrics_add(&fx.metrics, &g);
	fails("NoSuchMethod", NULL, RPC_METHOD_NOT_FOUND, "unknown method");
	fails("ShutdownVM", NULL, RPC_BAD_STATE, "no VM");
	json_object_put(ok("CapabilitiesVM", NULL));
	r = ok("GetMetrics", NULL);
	cr_assert_str_eq(metric_at(r, "api", NULL, "requests", "unknown"), "1");
	cr_assert_str_eq(metric_at(r, "api", NULL, "errors", "unknown"), "1");
	cr_assert_str_eq(metric_at(r, "api", NULL, "requests", "ShutdownVM"), "1");
	cr_assert_str_eq(metric_at(r, "api", NULL, "errors", "ShutdownVM"), "1");
	cr_assert_str_eq(metric_at(r, "api", NULL, "requests", "CapabilitiesVM"),
			 "1");
	cr_assert_str_eq(metric_at(r, "api", NULL, "errors", "CapabilitiesVM"),
			 "0");
	cr_assert_str_eq(metric_at(r, "api", NULL, "requests", "GetMetrics"), "1");
	cr_assert_str_eq(metric_at(r, "blk", "disk0", "reads", NULL), "7");
	/* Cumulative buckets: 30 us falls in the 50 us one, 5 s past them all. */
	cr_assert_str_eq(metric_at(r, "blk", "disk0", "latency", "count"), "2");
	cr_assert_str_eq(bucket_at(r, "50"), "1");
	cr_assert_str_eq(bucket_at(r, "25"), "0");
	cr_assert_str_eq(bucket_at(r, "1000000"), "1");
	cr_assert_str_eq(bucket_at(r, "+Inf"), "2");
	json_object_put(r);

	r = ok("GetMetrics", "{\"format\":\"PROMETHEUS\"}");
	text = str_at(r, "text", NULL);
	cr_assert(strstr(text, "# TYPE vmm_api_requests_total counter\n"), "%s", text);
	cr_assert(strstr(text, "vmm_api_requests_total{method=\"GetMetrics\"} 2\n"),
		  "%s", text);
	cr_assert(strstr(text, "vmm_blk_reads_total{device=\"disk0\"} 7\n"), "%s",
		  text);
	cr_assert(strstr(text, "vmm_blk_latency_seconds_bucket{device=\"disk0\",le=\"5e-05\"} 1\n"),
		  "%s", text);
	cr_assert(strstr(text, "vmm_blk_latency_seconds_bucket{device=\"disk0\",le=\"+Inf\"} 2\n"),
		  "%s", text);
	cr_assert(strstr(text, "vmm_blk_latency_seconds_sum{device=\"disk0\"} 5.000030000\n"),
		  "%s", text);
	json_object_put(r);
	fails("GetMetrics", "{\"format\":\"XML\"}", RPC_INVALID_PARAMS, "format");
	stop_thread();
	metrics_remove(&fx.metrics, &g);
	finish();
}

Test(api_server, set_rate_limit_reaches_the_device_and_the_config)
{
	struct json_object *r;

	start(true);
	r = ok("SetRateLimit",
	       "{\"device\":\"disk0\",\"rate_limit\":{\"iops\":100,\"bw\":\"1048576\"}}");
	cr_assert_str_eq(str_at(r, "rate_limit", "iops"), "100");
	cr_assert_str_eq(str_at(r, "rate_limit", "bw"), "1048576");
	json_object_put(r);
	cr_assert_eq(fx.limits.sets, 1);
	cr_assert_eq(fx.limits.cfg.ops, 100);
	cr_assert_eq(fx.limits.cfg.bytes, 1048576);
	r = ok("InspectVM",
	       "{\"query\":\"config.devices_config.scsi_disks\"}");
	cr_assert_str_eq(str_at(json_object_array_get_idx(
					json_object_object_get(r, "result"), 0),
				"rate_limit", "iops"),
			 "100");
	json_object_put(r);
	/* No rate_limit: unlimited again. */
	json_object_put(ok("SetRateLimit", "{\"device\":\"disk0\"}"));
	cr_assert_eq(fx.limits.sets, 2);
	cr_assert_eq(fx.limits.cfg.ops, 0);
	fails("SetRateLimit", "{\"device\":\"disk1\"}", RPC_NO_DEVICE,
	      "this VM has no disk1 (it has 1 disks)");
	fails("SetRateLimit", "{\"device\":\"net0\"}", RPC_NO_DEVICE,
	      "no net0");
	fails("SetRateLimit", "{\"device\":\"tape0\"}", RPC_INVALID_PARAMS,
	      "not a disk or NIC name");
	fails("SetRateLimit", "{\"device\":\"disk00\"}", RPC_INVALID_PARAMS,
	      "not a disk or NIC name");
	fails("SetRateLimit",
	      "{\"device\":\"disk0\",\"rate_limit\":{\"iops_burst\":5}}",
	      RPC_INVALID_PARAMS, "rate_limit: iops_burst needs iops");
	fails("SetRateLimit",
	      "{\"device\":\"disk0\",\"rate_limit\":{\"bw\":\"1125899906842625\"}}",
	      RPC_INVALID_PARAMS, "at most");
	fails("SetRateLimit",
	      "{\"device\":\"disk0\",\"rate_limit\":{\"ops\":5}}",
	      RPC_INVALID_PARAMS, "ops");
	fails("SetRateLimit", NULL, RPC_INVALID_PARAMS, "device");
	cr_assert_eq(fx.limits.sets, 2, "refused calls change nothing");
	stop();
}

Test(api_server, shutdown_presses_the_power_button)
{
	start(true);
	json_object_put(ok("ShutdownVM", NULL));
	json_object_put(ok("ShutdownVM", "{}"));
	cr_assert_eq(fx.power.presses, 2);
	fails("ShutdownVM", "{\"force\":true}", RPC_INVALID_PARAMS,
	      "no parameters");
	fx.api.vm.power = NULL;
	fails("ShutdownVM", NULL, RPC_NO_DEVICE, "no ACPI power button");
	stop();
}
