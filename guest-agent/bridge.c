// SPDX-License-Identifier: MIT
/*
 * The guest side of the HCS/GCS bridge (hcsshim's internal/guest/prot,
 * protocol.go). Like the Linux GCS, the agent dials the host and then
 * answers requests: each response carries the request's ID and the
 * request's type with the request bits replaced by response bits.
 * Processes run in the utility VM; their stdio is relayed over connections
 * the agent dials to the ports the host names. What goes out is what
 * hcsshim's host (internal/gcs) parses: GUID activity IDs, a top-level
 * ErrorMessage, at most 64 KiB per message, and no notification for a
 * process in the utility VM (its end is the WaitForProcess answer).
 */
#include "guest-agent/bridge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/bridge_msg.h"
#include "guest-agent/disk.h"
#include "guest-agent/process.h"
#include "lib/proto/bridge_proto.h"
#include "lib/proto/bytebuf.h"
#include "lib/json.h"
#include "guest-agent/relay.h"
#include "guest-agent/sysinfo.h"

#define BRIDGE_DIAL_MS 1000
#define BRIDGE_OUT_MAX (16u * 1024 * 1024)

struct bproc {
	struct bridge *b;
	struct bproc *next;
	pid_t pid;
	struct child child;
	bool exited, finished;
	int status;
	int pty_fd;
	struct relay rin, rout, rerr;
};

struct bwait {
	struct bridge *b;
	struct bwait *next;
	uint64_t id;
	uint32_t type;
	uint32_t pid;
	char *activity;
	struct timer timer;
};

/* What a MappedVirtualDisk Add made, for its Remove. */
struct mount_rec {
	struct mount_rec *next;
	char *path;
	bool symlink;		/* BlockDev: a link to the device, no mount */
};

struct bridge {
	struct agent *a;
	int fd;
	struct event_source src;
	bool reg;
	struct bridge_reader rd;
	struct bytebuf out;
	struct timer retry;
	bool retry_logged;
	struct bproc *procs;
	unsigned nlive, nexited;
	struct bwait *waits;
	unsigned nwaits;
	struct mount_rec *mounts;
};

/* The request being answered: where the response goes. */
struct breq {
	uint32_t type;
	uint64_t id;
	const char *activity;
	const char *container;
};

static void bridge_disconnect(struct bridge *b);
static void bridge_settle(struct bridge *b);

static void bridge_queue(struct bridge *b, uint32_t type, uint64_t id,
			 const char *json, size_t len)
{
	struct bridge_hdr h = { .type = type, .id = id };
	uint8_t *p;

	if (b->fd < 0)
		return;
	if (bytebuf_len(&b->out) + len > BRIDGE_OUT_MAX) {
		agent_log("warning", "bridge: the host is not reading; "
			  "dropping the connection");
		bridge_disconnect(b);
		return;
	}
	h.size = (uint32_t)(BRIDGE_HDR_SIZE + len);
	p = bytebuf_reserve(&b->out, h.size);
	if (p) {
		bridge_hdr_encode(p, &h);
		memcpy(p + BRIDGE_HDR_SIZE, json, len);
		bytebuf_commit(&b->out, h.size);
	}
}

static struct json_object *resp_new(const struct breq *rq)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "Result", json_object_new_int(0));
	/* hcsshim's host reads ActivityId as a GUID: anything else breaks it. */
	if (bridge_is_guid(rq->activity))
		json_object_object_add(o, "ActivityId",
				       json_object_new_string(rq->activity));
	return o;
}

static void resp_error_at(struct bridge *b, const struct breq *rq, int32_t hr,
			  const char *func, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#define resp_error(b, rq, hr, ...) \
	resp_error_at(b, rq, hr, __func__, __LINE__, __VA_ARGS__)

/* Sends a response, or an error saying why it would not fit in a message. */
static void resp_send(struct bridge *b, const struct breq *rq,
		      struct json_object *o)
{
	size_t len = 0;
	char *json = json_dump(o, &len);

	json_object_put(o);
	if (!json) {
		resp_error(b, rq, HR_FAIL, "out of memory encoding the response");
	} else if (BRIDGE_HDR_SIZE + len > BRIDGE_MAX_SEND) {
		resp_error(b, rq, HR_FAIL, "the response would be %zu bytes, "
			   "over the bridge's %u-byte message limit",
			   BRIDGE_HDR_SIZE + len, BRIDGE_MAX_SEND);
	} else {
		bridge_queue(b, bridge_response_type(rq->type), rq->id, json,
			     len);
	}
	free(json);
}

/*
 * Answers with the message, which hcsshim's host shows (ErrorMessage), and
 * an ErrorRecord naming where and why the request failed.
 */
static void resp_error_at(struct bridge *b, const struct breq *rq, int32_t hr,
			  const char *func, int line, const char *fmt, ...)
{
	struct json_object *o = resp_new(rq), *recs, *rec;
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	agent_log("warning", "bridge: %s: %s",
		  bridge_msg_name(rq->type) ? bridge_msg_name(rq->type) :
		  "request", msg);
	json_object_object_add(o, "Result", json_object_new_int(hr));
	json_object_object_add(o, "ErrorMessage", json_object_new_string(msg));
	recs = json_object_new_array();
	rec = json_object_new_object();
	json_object_object_add(rec, "Result", json_object_new_int(hr));
	json_object_object_add(rec, "Message", json_object_new_string(msg));
	json_object_object_add(rec, "ModuleName",
			       json_object_new_string("guest-agent"));
	json_object_object_add(rec, "FileName",
			       json_object_new_string("guest-agent/bridge.c"));
	json_object_object_add(rec, "Line", json_object_new_int(line));
	json_object_object_add(rec, "FunctionName",
			       json_object_new_string(func));
	json_object_array_add(recs, rec);
	json_object_object_add(o, "ErrorRecords", recs);
	resp_send(b, rq, o);
}

static struct bproc *bproc_find(struct bridge *b, uint32_t pid)
{
	for (struct bproc *p = b->procs; p; p = p->next)
		if ((uint32_t)p->pid == pid)
			return p;
	return NULL;
}

static void bproc_free(struct bridge *b, struct bproc *p)
{
	for (struct bproc **pp = &b->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->finished)
		b->nexited--;
	else
		b->nlive--;
	if (!p->exited) {
		kill(-p->pid, SIGKILL);
		agent_untrack_child(b->a, &p->child);
	}
	relay_stop(&p->rin);
	relay_stop(&p->rout);
	relay_stop(&p->rerr);
	if (p->pty_fd >= 0)
		close(p->pty_fd);
	free(p);
}

static void wait_free(struct bridge *b, struct bwait *w)
{
	for (struct bwait **pp = &b->waits; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	b->nwaits--;
	timer_destroy(b->a, &w->timer);
	free(w->activity);
	free(w);
}

/*
 * ExitCode is a uint32, as hcsshim's guest sends it: uint32(-1) for a
 * process a signal ended, which Signal (an extra field) then names.
 */
static void wait_answer(struct bridge *b, struct bwait *w, struct bproc *p)
{
	struct breq rq = { .type = w->type, .id = w->id,
			   .activity = w->activity };
	struct json_object *o = resp_new(&rq);
	int sig, code = wait_status_exit_code(p->status, &sig);

	json_object_object_add(o, "ExitCode",
			       json_object_new_int64((uint32_t)code));
	if (sig)
		json_object_object_add(o, "Signal", json_object_new_int(sig));
	resp_send(b, &rq, o);
	wait_free(b, w);
}

/* The process exited and its output is relayed: report it. */
static void bproc_check_finished(struct bproc *p)
{
	struct bridge *b = p->b;
	bool waited = false;

	if (p->finished || !p->exited ||
	    (p->rout.active && !p->rout.done) ||
	    (p->rerr.active && !p->rerr.done))
		return;
	p->finished = true;
	b->nlive--;
	b->nexited++;
	relay_stop(&p->rin);
	for (struct bwait *w = b->waits, *next; w; w = next) {
		next = w->next;
		if (w->pid == (uint32_t)p->pid) {
			wait_answer(b, w, p);
			waited = true;
		}
	}
	if (waited) {
		bproc_free(b, p);
	} else if (b->nexited > BRIDGE_MAX_EXITED) {
		/* Keep the newest exit codes; forget the oldest one. */
		struct bproc *old = NULL;

		for (struct bproc *q = b->procs; q; q = q->next)
			if (q->finished && q != p)
				old = q;
		if (old)
			bproc_free(b, old);
	}
	bridge_settle(b);
}

static void bproc_exited(struct child *c, int status)
{
	struct bproc *p = (struct bproc *)((char *)c -
					   offsetof(struct bproc, child));

	p->exited = true;
	p->status = status;
	bproc_check_finished(p);
}

static void bproc_relay_done(struct relay *r, void *opaque)
{
	(void)r;
	bproc_check_finished(opaque);
}

static void wait_timeout(void *opaque)
{
	struct bwait *w = opaque;
	struct bridge *b = w->b;
	struct breq rq = { .type = w->type, .id = w->id,
			   .activity = w->activity };
	uint32_t pid = w->pid;

	resp_error(b, &rq, HR_TIMEOUT, "process %u is still running after "
		   "the wait's timeout", pid);
	wait_free(b, w);
	bridge_settle(b);
}

static int dial_stdio(struct bridge *b, uint32_t port, const char *what,
		      int *fd, struct err *e)
{
	struct endpoint ep;

	if (endpoint_with_port(&b->a->opts.bridge_ep, port, &ep, e) < 0)
		return -1;
	*fd = transport_dial(&ep, BRIDGE_DIAL_MS, e);
	if (*fd < 0)
		return err_prefix(e, "%s relay", what);
	return 0;
}

/* Whether the request may run: an error response is sent when not. */
static bool exec_allowed(struct bridge *b, const struct breq *rq,
			 const struct bridge_exec *req)
{
	if (req->oci_spec) {
		resp_error(b, rq, HR_NOT_IMPL, "OCI containers are not "
			   "supported yet: run the process in the utility VM "
			   "(ContainerId " BRIDGE_UVM_ID ") without "
			   "OciSpecification");
		return false;
	}
	/* hcsshim's guest: the UVM's ID or CreateInUtilityVM (IsExternal). */
	if (!req->in_uvm && !bridge_is_uvm(rq->container)) {
		resp_error(b, rq, HR_SYSTEM_NOT_FOUND, "container \"%s\" does "
			   "not exist: only processes in the utility VM "
			   "(ContainerId " BRIDGE_UVM_ID ") are supported",
			   rq->container);
		return false;
	}
	if (b->nlive >= BRIDGE_MAX_PROCS) {
		resp_error(b, rq, HR_FAIL, "too many processes: the limit is %d",
			   BRIDGE_MAX_PROCS);
		return false;
	}
	return true;
}

/* The process's stdio connections, dialed to the ports the host named. */
struct bstdio {
	int in, out, err;
};

static void bstdio_close(struct bstdio *io)
{
	for (int *fd = &io->in; fd <= &io->err; fd++) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int bstdio_dial(struct bridge *b, const struct bridge_exec *req,
		       struct bstdio *io, struct err *e)
{
	if ((req->stdin_pipe &&
	     dial_stdio(b, req->stdin_port, "stdin", &io->in, e) < 0) ||
	    (req->stdout_pipe &&
	     dial_stdio(b, req->stdout_port, "stdout", &io->out, e) < 0) ||
	    (req->stderr_pipe &&
	     dial_stdio(b, req->stderr_port, "stderr", &io->err, e) < 0))
		return -1;
	/* A console writes both streams to stdout: stderr ends at once. */
	if (req->console && io->err >= 0) {
		close(io->err);
		io->err = -1;
	}
	return 0;
}

static int exec_spawn(struct bridge *b, const struct bridge_exec *req,
		      const struct bstdio *io, struct spawn_result *r,
		      struct err *e)
{
	struct spawn_opts o = {
		.argv = req->argv,
		.command_line = req->command_line,
		.working_dir = req->working_dir,
		.env = req->env,
		.user = req->user,
		.passwd_file = b->a->opts.passwd_file,
		.group_file = b->a->opts.group_file,
		.pty = req->console,
		.rows = req->rows,
		.cols = req->cols,
		.pipe_stdin = io->in >= 0,
		.pipe_stdout = io->out >= 0,
		.pipe_stderr = io->err >= 0,
	};

	return spawn_process(&o, r, e);
}

/* Relays the stdio of a started process; takes the connections. */
static void bproc_relay(struct bridge *b, struct bproc *p,
			struct spawn_result *r, struct bstdio *io, int pty_in)
{
	if (r->pty_fd >= 0) {
		int rd = io->out >= 0 ? dup(r->pty_fd) : -1;

		if (io->in >= 0)
			relay_start(b->a, &p->rin, io->in, pty_in, bproc_relay_done, p);
		if (rd >= 0)
			relay_start(b->a, &p->rout, rd, io->out, bproc_relay_done, p);
		else if (io->out >= 0)
			close(io->out);
	} else {
		if (io->in >= 0)
			relay_start(b->a, &p->rin, io->in, r->in_fd, bproc_relay_done, p);
		if (io->out >= 0)
			relay_start(b->a, &p->rout, r->out_fd, io->out, bproc_relay_done, p);
		if (io->err >= 0)
			relay_start(b->a, &p->rerr, r->err_fd, io->err, bproc_relay_done, p);
	}
	io->in = io->out = io->err = -1;
}

static void do_execute_process(struct bridge *b, const struct breq *rq,
			       struct json_object *body)
{
	struct bridge_exec req;
	struct bstdio io = { -1, -1, -1 };
	struct spawn_result r;
	struct err e = { "" };
	struct bproc *p;
	struct json_object *resp;
	int pty_in = -1;

	if (bridge_exec_parse(body, &req, &e) < 0) {
		resp_error(b, rq, HR_INVALID_ARG, "%s", e.msg);
		return;
	}
	if (!exec_allowed(b, rq, &req))
		goto out;
	if (bstdio_dial(b, &req, &io, &e) < 0 ||
	    exec_spawn(b, &req, &io, &r, &e) < 0) {
		resp_error(b, rq, HR_FAIL, "%s", e.msg);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p || (r.pty_fd >= 0 && io.in >= 0 && (pty_in = dup(r.pty_fd)) < 0)) {
		resp_error(b, rq, HR_FAIL, "out of memory or descriptors");
		kill(-r.pid, SIGKILL);
		free(p);
		for (int *fd = &r.in_fd; fd <= &r.pty_fd; fd++)
			if (*fd >= 0)
				close(*fd);
		goto out;
	}
	p->b = b;
	p->pid = r.pid;
	p->pty_fd = r.pty_fd;
	p->child = (struct child){ .pid = r.pid, .exited = bproc_exited };
	agent_track_child(b->a, &p->child);
	p->next = b->procs;
	b->procs = p;
	b->nlive++;
	bproc_relay(b, p, &r, &io, pty_in);
	resp = resp_new(rq);
	json_object_object_add(resp, "ProcessId", json_object_new_int64(r.pid));
	resp_send(b, rq, resp);
out:
	bstdio_close(&io);
	bridge_exec_free(&req);
}

static void do_wait(struct bridge *b, const struct breq *rq,
		    struct json_object *body)
{
	uint32_t pid = 0, timeout = 0;
	struct err e = { "" };
	struct bproc *p;
	struct bwait *w;

	if (json_get_u32(body, NULL, "ProcessId", &pid, &e) < 0 ||
	    json_get_u32(body, NULL, "TimeoutInMs", &timeout, &e) < 0) {
		resp_error(b, rq, HR_INVALID_ARG, "%s", e.msg);
		return;
	}
	p = bproc_find(b, pid);
	if (!p) {
		resp_error(b, rq, HR_NOT_FOUND, "process %u not found", pid);
		return;
	}
	if (b->nwaits >= BRIDGE_MAX_WAITS) {
		resp_error(b, rq, HR_FAIL, "too many pending waits: the limit "
			   "is %d", BRIDGE_MAX_WAITS);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->activity = strdup(rq->activity ? rq->activity : ""))) {
		free(w);
		resp_error(b, rq, HR_FAIL, "out of memory");
		return;
	}
	w->b = b;
	w->id = rq->id;
	w->type = rq->type;
	w->pid = pid;
	timer_init(&w->timer, wait_timeout, w);
	w->next = b->waits;
	b->waits = w;
	b->nwaits++;
	if (p->finished) {
		wait_answer(b, w, p);
		bproc_free(b, p);
		return;
	}
	if (timeout != BRIDGE_INFINITE_WAIT)
		timer_start(b->a, &w->timer, timeout);
}

static void do_signal(struct bridge *b, const struct breq *rq,
		      struct json_object *body)
{
	uint32_t pid = 0;
	int64_t sig = SIGKILL;
	struct json_object *opts = NULL;
	struct err e = { "" };
	struct bproc *p;

	if (json_get_u32(body, NULL, "ProcessId", &pid, &e) < 0 ||
	    (json_object_object_get_ex(body, "Options", &opts) && opts &&
	     json_get_i64(opts, NULL, "Signal", &sig, &e) < 0)) {
		resp_error(b, rq, HR_INVALID_ARG, "%s", e.msg);
		return;
	}
	if (sig < 0 || sig >= NSIG) {
		resp_error(b, rq, HR_INVALID_ARG, "signal %lld is not a valid "
			   "signal number", (long long)sig);
		return;
	}
	p = bproc_find(b, pid);
	if (!p || p->exited) {
		resp_error(b, rq, HR_NOT_FOUND, "process %u not found%s", pid,
			   p ? ": it has exited" : "");
		return;
	}
	if (kill(-p->pid, (int)sig) < 0) {
		resp_error(b, rq, HR_FAIL, "signalling process %u: %s", pid,
			   strerror(errno));
		return;
	}
	resp_send(b, rq, resp_new(rq));
}

static void do_resize(struct bridge *b, const struct breq *rq,
		      struct json_object *body)
{
	uint32_t pid = 0, h = 0, w = 0;
	struct err e = { "" };
	struct winsize ws;
	struct bproc *p;

	if (json_get_u32(body, NULL, "ProcessId", &pid, &e) < 0 ||
	    json_get_u32(body, NULL, "Height", &h, &e) < 0 ||
	    json_get_u32(body, NULL, "Width", &w, &e) < 0) {
		resp_error(b, rq, HR_INVALID_ARG, "%s", e.msg);
		return;
	}
	if (h > UINT16_MAX || w > UINT16_MAX) {
		resp_error(b, rq, HR_INVALID_ARG, "Height and Width must fit "
			   "in 16 bits");
		return;
	}
	p = bproc_find(b, pid);
	if (!p || p->exited) {
		resp_error(b, rq, HR_NOT_FOUND, "process %u not found", pid);
		return;
	}
	if (p->pty_fd < 0) {
		resp_error(b, rq, HR_INVALID_STATE, "process %u has no console "
			   "(it was started without EmulateConsole)", pid);
		return;
	}
	ws = (struct winsize){ .ws_row = (unsigned short)h,
			       .ws_col = (unsigned short)w };
	if (ioctl(p->pty_fd, TIOCSWINSZ, &ws) < 0) {
		resp_error(b, rq, HR_FAIL, "resizing the console of process "
			   "%u: %s", pid, strerror(errno));
		return;
	}
	resp_send(b, rq, resp_new(rq));
}

static void do_get_properties(struct bridge *b, const struct breq *rq,
			      struct json_object *body)
{
	struct bridge_query q;
	struct err e = { "" };
	struct json_object *props, *resp;
	size_t len;
	char *s;

	if (bridge_query_parse(body, &q, &e) < 0) {
		resp_error(b, rq, HR_INVALID_ARG, "%s", e.msg);
		return;
	}
	if (!bridge_is_uvm(rq->container)) {
		resp_error(b, rq, HR_SYSTEM_NOT_FOUND, "container \"%s\" does "
			   "not exist", rq->container);
		return;
	}
	props = json_object_new_object();
	if (q.process_list) {
		struct json_object *list = json_object_new_array();

		for (struct bproc *p = b->procs; p; p = p->next) {
			struct json_object *d;

			if (p->exited)
				continue;
			d = json_object_new_object();
			json_object_object_add(d, "ProcessId",
					       json_object_new_int64(p->pid));
			json_object_array_add(list, d);
		}
		json_object_object_add(props, "ProcessList", list);
	}
	if (q.statistics)
		json_object_object_add(props, "LCOWMetrics", guest_metrics());
	s = json_dump(props, &len);
	json_object_put(props);
	resp = resp_new(rq);
	json_object_object_add(resp, "Properties",
			       json_object_new_string(s ? s : "{}"));
	free(s);
	resp_send(b, rq, resp);
}

static void mount_remember(struct bridge *b, const char *path, bool symlink)
{
	struct mount_rec *m = calloc(1, sizeof(*m));

	if (m && !(m->path = strdup(path))) {
		free(m);
		m = NULL;
	}
	if (!m) {
		agent_log("warning", "bridge: out of memory: a Remove of \"%s\" "
			  "will not find it", path);
		return;
	}
	m->symlink = symlink;
	m->next = b->mounts;
	b->mounts = m;
}

/* BlockDev: MountPath becomes a link to the device (as hcsshim's guest). */
static int disk_link(struct bridge *b, const char *dev, const char *path,
		     struct err *e)
{
	char parent[4096];

	if ((size_t)snprintf(parent, sizeof(parent), "%s", path) >=
	    sizeof(parent))
		return err_set(e, "path \"%.100s...\" too long", path);
	*strrchr(parent, '/') = 0;
	if (parent[0] && mkdir_p(parent, e) < 0)
		return -1;
	if (symlink(dev, path) < 0)
		return err_errno(e, "linking \"%s\" to %s", path, dev);
	mount_remember(b, path, true);
	return 0;
}

static int disk_add(struct bridge *b, const struct bridge_disk *d,
		    struct err *e)
{
	char dev[512];

	if (disk_find(b->a->opts.sys_dir, b->a->opts.dev_dir, d->controller,
		      d->lun, d->partition, dev, sizeof(dev), e) < 0)
		return -1;
	if (!d->path[0])
		return 0;
	if (d->block_dev)
		return disk_link(b, dev, d->path, e);
	if (mkdir_p(d->path, e) < 0)
		return -1;
	if (disk_mount(dev, d->path, d->filesystem, d->options, d->read_only,
		       e) < 0) {
		if (d->ensure_fs)
			err_prefix(e, "EnsureFilesystem: this agent does not "
				   "format disks");
		return -1;
	}
	mount_remember(b, d->path, false);
	return 0;
}

static int disk_remove(struct bridge *b, const struct bridge_disk *d,
		       struct err *e)
{
	struct mount_rec **pp, *m;

	if (!d->path[0])
		return 0;
	for (pp = &b->mounts; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->path, d->path))
			break;
	if (!*pp)
		return err_set(e, "nothing was mounted at \"%s\" through "
			       "ModifySettings", d->path);
	m = *pp;
	if (m->symlink ? unlink(d->path) < 0 : umount2(d->path, 0) < 0)
		return err_errno(e, "%s \"%s\"", m->symlink ? "removing" :
				 "unmounting", d->path);
	*pp = m->next;
	free(m->path);
	free(m);
	return 0;
}

static void do_modify_settings(struct bridge *b, const struct breq *rq,
			       struct json_object *body)
{
	struct bridge_disk d;
	struct err e = { "" };
	int hr = HR_INVALID_ARG;

	if (bridge_disk_parse(body, &d, &hr, &e) < 0) {
		resp_error(b, rq, hr, "%s", e.msg);
		return;
	}
	if ((d.remove ? disk_remove(b, &d, &e) : disk_add(b, &d, &e)) < 0)
		resp_error(b, rq, HR_FAIL, "%s", e.msg);
	else
		resp_send(b, rq, resp_new(rq));
	bridge_disk_free(&d);
}

/* The response carrying @text, cut so that it fits in one message. */
static struct json_object *stacks_response(const struct breq *rq,
					   struct bytebuf *text)
{
	static const char cut[] = "\n[cut to fit the bridge's message limit]\n";

	for (;;) {
		struct json_object *resp = resp_new(rq);
		size_t len = 0, over;
		char *json;

		json_object_object_add(resp, "GuestStacks",
			json_object_new_string_len(
				(const char *)bytebuf_head(text),
				(int)bytebuf_len(text)));
		json = json_dump(resp, &len);
		free(json);
		if (!json || BRIDGE_HDR_SIZE + len <= BRIDGE_MAX_SEND ||
		    bytebuf_len(text) <= sizeof(cut))
			return resp;
		json_object_put(resp);
		/* Each byte cut shortens the JSON by at least one. */
		over = BRIDGE_HDR_SIZE + len - BRIDGE_MAX_SEND + sizeof(cut);
		text->tail -= MIN(over, bytebuf_len(text));
		bytebuf_append(text, cut, sizeof(cut) - 1);
	}
}

static void do_dump_stacks(struct bridge *b, const struct breq *rq)
{
	struct bytebuf text = { 0 };
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "guest-agent (pid %d): %u bridge "
		     "processes running, %u exited awaiting a wait\n",
		     (int)getpid(), b->nlive, b->nexited);
	bytebuf_append(&text, line, (size_t)n);
	process_stack(getpid(), &text);
	for (struct bproc *p = b->procs; p; p = p->next)
		if (!p->exited)
			process_stack(p->pid, &text);
	resp_send(b, rq, stacks_response(rq, &text));
	bytebuf_free(&text);
}

static void do_delete_state(struct bridge *b, const struct breq *rq)
{
	if (!bridge_is_uvm(rq->container)) {
		resp_error(b, rq, HR_SYSTEM_NOT_FOUND, "container \"%s\" does "
			   "not exist", rq->container);
		return;
	}
	for (struct bproc *p = b->procs; p; p = p->next) {
		if (!p->exited) {
			resp_error(b, rq, HR_INVALID_STATE, "the utility VM "
				   "still has running processes (process %d)",
				   (int)p->pid);
			return;
		}
	}
	for (struct bproc *p = b->procs, *next; p; p = next) {
		bool waited = false;

		next = p->next;
		for (struct bwait *w = b->waits; w; w = w->next)
			waited |= w->pid == (uint32_t)p->pid;
		if (!waited)
			bproc_free(b, p);
	}
	resp_send(b, rq, resp_new(rq));
}

static void do_negotiate(struct bridge *b, const struct breq *rq,
			 struct json_object *body)
{
	uint32_t min = 0, max = 0;
	struct err e = { "" };
	struct json_object *resp;

	if (json_get_u32(body, NULL, "MinimumVersion", &min, &e) < 0 ||
	    json_get_u32(body, NULL, "MaximumVersion", &max, &e) < 0) {
		resp_error(b, rq, HR_INVALID_ARG, "%s", e.msg);
		return;
	}
	if (min > BRIDGE_PROTOCOL_VERSION || max < BRIDGE_PROTOCOL_VERSION) {
		resp_error(b, rq, HR_UNSUPPORTED_PROTOCOL, "no common protocol "
			   "version: the host asks for %u..%u, this agent speaks "
			   "version %u", min, max, BRIDGE_PROTOCOL_VERSION);
		return;
	}
	resp = resp_new(rq);
	json_object_object_add(resp, "Version",
			       json_object_new_int(BRIDGE_PROTOCOL_VERSION));
	json_object_object_add(resp, "Capabilities", bridge_capabilities());
	resp_send(b, rq, resp);
}

static void bridge_dispatch(struct bridge *b, const struct bridge_hdr *h,
			    const char *body, size_t len)
{
	struct json_object *obj = NULL;
	struct err e = { "" };
	char *activity = NULL, *container = NULL;
	struct breq rq = { .type = h->type, .id = h->id, .activity = "",
			   .container = "" };
	const char *name = bridge_msg_name(h->type);

	if (json_parse_object(body, len, &obj, &e) < 0) {
		resp_error(b, &rq, HR_INVALID_JSON, "%s: %s",
			   name ? name : "message", e.msg);
		return;
	}
	if (json_get_str(obj, NULL, "ActivityId", &activity, &e) < 0 ||
	    json_get_str(obj, NULL, "ContainerId", &container, &e) < 0) {
		resp_error(b, &rq, HR_INVALID_ARG, "%s", e.msg);
		goto out;
	}
	rq.activity = activity ? activity : "";
	rq.container = container ? container : "";
	switch (h->type) {
	case BRIDGE_NEGOTIATE_PROTOCOL:
		do_negotiate(b, &rq, obj);
		break;
	case BRIDGE_EXECUTE_PROCESS:
		do_execute_process(b, &rq, obj);
		break;
	case BRIDGE_WAIT_FOR_PROCESS:
		do_wait(b, &rq, obj);
		break;
	case BRIDGE_SIGNAL_PROCESS:
		do_signal(b, &rq, obj);
		break;
	case BRIDGE_RESIZE_CONSOLE:
		do_resize(b, &rq, obj);
		break;
	case BRIDGE_GET_PROPERTIES:
		do_get_properties(b, &rq, obj);
		break;
	case BRIDGE_MODIFY_SETTINGS:
		do_modify_settings(b, &rq, obj);
		break;
	case BRIDGE_DUMP_STACKS:
		do_dump_stacks(b, &rq);
		break;
	case BRIDGE_DELETE_CONTAINER_STATE:
		do_delete_state(b, &rq);
		break;
	case BRIDGE_CREATE:
	case BRIDGE_START:
		resp_error(b, &rq, HR_NOT_IMPL, "%s: containers with an OCI "
			   "specification are not supported yet; run processes "
			   "in the utility VM with ExecuteProcess and "
			   "CreateInUtilityVM", name);
		break;
	case BRIDGE_SHUTDOWN_GRACEFUL:
	case BRIDGE_SHUTDOWN_FORCED:
		resp_send(b, &rq, resp_new(&rq));
		agent_shutdown(b->a, h->type == BRIDGE_SHUTDOWN_FORCED);
		break;
	default:
		resp_error(b, &rq, HR_UNKNOWN_MESSAGE, "unknown message type "
			   "0x%08x", h->type);
	}
out:
	json_object_put(obj);
	free(activity);
	free(container);
}

static void bridge_read(struct bridge *b)
{
	uint8_t buf[16384];

	for (int i = 0; i < 8 && b->fd >= 0; i++) {
		ssize_t n = read(b->fd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				agent_log("warning", "bridge: read: %s",
					  strerror(errno));
			else if (bridge_reader_partial(&b->rd))
				agent_log("warning", "bridge: truncated "
					  "message: the host closed the "
					  "connection inside a message");
			else
				agent_log("info", "bridge: the host closed "
					  "the connection");
			bridge_disconnect(b);
			return;
		}
		while (off < (size_t)n && b->fd >= 0) {
			struct err e = { "" };
			bool done;
			long used = bridge_reader_feed(&b->rd, buf + off,
						       (size_t)n - off, &done, &e);

			if (used < 0) {
				struct breq rq = { .type = b->rd.h.type,
						   .id = b->rd.h.id };

				/* The stream cannot be resynchronised. */
				resp_error(b, &rq, HR_INVALID_ARG, "%s", e.msg);
				bridge_flush(b, 100);
				bridge_disconnect(b);
				return;
			}
			off += (size_t)used;
			if (done)
				bridge_dispatch(b, &b->rd.h, b->rd.body,
						b->rd.body_len);
		}
	}
}

static void bridge_event(void *opaque, uint32_t events)
{
	struct bridge *b = opaque;

	if ((events & EPOLLOUT) && bytebuf_flush(&b->out, b->fd) < 0) {
		agent_log("warning", "bridge: write: %s", strerror(errno));
		bridge_disconnect(b);
	}
	if (b->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		bridge_read(b);
	bridge_settle(b);
}

static void bridge_settle(struct bridge *b)
{
	if (b->fd < 0)
		return;
	if (bytebuf_len(&b->out) && bytebuf_flush(&b->out, b->fd) < 0) {
		agent_log("warning", "bridge: write: %s", strerror(errno));
		bridge_disconnect(b);
		return;
	}
	agent_watch(b->a, &b->src, &b->reg,
		    EPOLLIN | (bytebuf_len(&b->out) ? EPOLLOUT : 0));
}

static void bridge_connect(void *opaque)
{
	struct bridge *b = opaque;
	struct err e = { "" };

	if (b->fd >= 0 || b->a->shutting_down)
		return;
	b->fd = transport_dial(&b->a->opts.bridge_ep, BRIDGE_DIAL_MS, &e);
	if (b->fd < 0) {
		if (!b->retry_logged)
			agent_log("info", "bridge: %s; retrying every %d ms",
				  e.msg, BRIDGE_RETRY_MS);
		b->retry_logged = true;
		timer_start(b->a, &b->retry, BRIDGE_RETRY_MS);
		return;
	}
	b->retry_logged = false;
	b->src = (struct event_source){ .fd = b->fd, .fn = bridge_event,
					.opaque = b };
	b->reg = false;
	bridge_settle(b);
}

static void bridge_disconnect(struct bridge *b)
{
	if (b->fd < 0)
		return;
	agent_watch(b->a, &b->src, &b->reg, 0);
	close(b->fd);
	b->fd = -1;
	bytebuf_reset(&b->out);
	bridge_reader_free(&b->rd);
	bridge_reader_init(&b->rd, BRIDGE_MAX_MESSAGE);
	/* Pending waits were asked on the old connection: drop them. */
	while (b->waits)
		wait_free(b, b->waits);
	if (!b->a->shutting_down)
		timer_start(b->a, &b->retry, BRIDGE_RETRY_MS);
}

int bridge_start(struct agent *a, struct bridge **out, struct err *e)
{
	struct bridge *b;

	*out = NULL;
	if (!a->opts.bridge_on)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(e, "out of memory");
	b->a = a;
	b->fd = -1;
	bridge_reader_init(&b->rd, BRIDGE_MAX_MESSAGE);
	timer_init(&b->retry, bridge_connect, b);
	*out = b;
	bridge_connect(b);
	return 0;
}

void bridge_stop(struct bridge *b)
{
	if (!b)
		return;
	bridge_disconnect(b);
	while (b->procs)
		bproc_free(b, b->procs);
	while (b->mounts) {
		struct mount_rec *m = b->mounts;

		b->mounts = m->next;
		free(m->path);
		free(m);
	}
	timer_destroy(b->a, &b->retry);
	bridge_reader_free(&b->rd);
	bytebuf_free(&b->out);
	free(b);
}

void bridge_signal_all(struct bridge *b, int sig)
{
	for (struct bproc *p = b ? b->procs : NULL; p; p = p->next)
		if (!p->exited)
			kill(-p->pid, sig);
}

void bridge_flush(struct bridge *b, unsigned timeout_ms)
{
	unsigned waited = 0;

	while (b && b->fd >= 0 && bytebuf_len(&b->out) && waited < timeout_ms) {
		struct pollfd pfd = { .fd = b->fd, .events = POLLOUT };

		if (bytebuf_flush(&b->out, b->fd) < 0)
			return;
		if (!bytebuf_len(&b->out))
			return;
		poll(&pfd, 1, 10);
		waited += 10;
	}
}
