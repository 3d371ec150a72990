// SPDX-License-Identifier: MIT
#include "api_helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *api_path(struct api_vmm *v, const char *name)
{
	static __thread char path[4][160];
	static __thread int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", v->dir, name);
	return p;
}

static int try_connect(const char *sock)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

int api_connect(const char *sock)
{
	int fd = try_connect(sock);

	cr_assert_geq(fd, 0, "connecting to %s: %s", sock, strerror(errno));
	return fd;
}

void api_vmm_start(struct api_vmm *v, const char *const *extra)
{
	const char *argv[32] = { "--api-sock" };
	double deadline = now_s() + API_TIMEOUT_S;
	size_t n = 2;
	int fd;

	strcpy(v->dir, "/tmp/vmm-api-XXXXXX");
	cr_assert_not_null(mkdtemp(v->dir));
	snprintf(v->sock, sizeof(v->sock), "%s/api.sock", v->dir);
	argv[1] = v->sock;
	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	vmm_spawn(&v->p, argv);
	while ((fd = try_connect(v->sock)) < 0) {
		cr_assert(waitpid(v->p.pid, NULL, WNOHANG) == 0,
			  "the VMM exited before its socket was ready; stderr:\n%s",
			  vmm_stderr(&v->p));
		cr_assert_lt(now_s(), deadline, "no control socket after %d s",
			     API_TIMEOUT_S);
		usleep(5000);
	}
	close(fd);
}

void api_vmm_quit(struct api_vmm *v)
{
	char *err;
	int status;

	if (!v->p.exited) {
		json_object_put(api_ok(v, "Quit", NULL));
		status = vmm_wait(&v->p, API_TIMEOUT_S);
		err = vmm_stderr(&v->p);
		cr_expect_eq(status, 0, "exit status %d after Quit; stderr:\n%s",
			     status, err);
		free(err);
	}
	cr_expect_neq(access(v->sock, F_OK), 0, "the socket outlived the VMM");
	vmm_cleanup(&v->p);
	/* Whatever the tests left in the directory goes with it. */
	for (const char *const *f = (const char *const[]){ "com1.sock",
		     "create.json", "attach.out", NULL }; *f; f++)
		unlink(api_path(v, *f));
	rmdir(v->dir);
}

struct json_object *api_read(int fd, int *passed_fd, int timeout_ms)
{
	static __thread char line[1 << 20];
	size_t n = 0;

	for (;;) {
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = { line + n, 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct cmsghdr *cm;
		ssize_t r;

		cr_assert_eq(poll(&p, 1, timeout_ms), 1, "no message within %d ms",
			     timeout_ms);
		/* A byte at a time, so a passed descriptor is never missed. */
		r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (r <= 0) {
			cr_assert_eq(n, 0, "the connection ended inside a line");
			return NULL;
		}
		cm = CMSG_FIRSTHDR(&msg);
		if (cm && cm->cmsg_type == SCM_RIGHTS) {
			cr_assert_not_null(passed_fd, "an unexpected descriptor");
			memcpy(passed_fd, CMSG_DATA(cm), sizeof(int));
		}
		if (line[n] == '\n')
			break;
		cr_assert_lt(++n, sizeof(line) - 1);
	}
	line[n] = '\0';
	return json_tokener_parse(line);
}

struct json_object *api_call(int fd, const char *method, const char *params,
			     int *passed_fd)
{
	char req[8192];
	struct json_object *resp;
	int len;

	len = snprintf(req, sizeof(req),
		       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n",
		       method, params ? ",\"params\":" : "", params ? params : "");
	cr_assert_eq(send(fd, req, (size_t)len, MSG_NOSIGNAL), len);
	/* Skip notifications: they carry no id. */
	while ((resp = api_read(fd, passed_fd, API_TIMEOUT_S * 1000)) &&
	       !json_object_object_get_ex(resp, "id", NULL))
		json_object_put(resp);
	cr_assert_not_null(resp, "%s: the connection closed", method);
	return resp;
}

struct json_object *api_ok(struct api_vmm *v, const char *method,
			   const char *params)
{
	int fd = api_connect(v->sock);
	struct json_object *resp = api_call(fd, method, params, NULL), *r;

	close(fd);
	cr_assert(json_object_object_get_ex(resp, "result", &r), "%s %s: %s",
		  method, params ? params : "", json_object_to_json_string(resp));
	r = json_object_get(r);
	json_object_put(resp);
	return r;
}

void api_fails(struct api_vmm *v, const char *method, const char *params,
	       int code, const char *msg)
{
	int fd = api_connect(v->sock);
	struct json_object *resp = api_call(fd, method, params, NULL);

	close(fd);
	cr_assert_eq(jint(resp, "error.code"), code, "%s: %s", method,
		     json_object_to_json_string(resp));
	cr_assert(strstr(jstr(resp, "error.message"), msg), "%s: '%s' lacks '%s'",
		  method, jstr(resp, "error.message"), msg);
	json_object_put(resp);
}

static struct json_object *lookup(struct json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof(key), "%.*s", (int)len, path);
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += len + (dot ? 1 : 0);
	}
	return o;
}

const char *jstr(struct json_object *o, const char *path)
{
	struct json_object *v = lookup(o, path);

	return v ? json_object_get_string(v) : "";
}

long long jint(struct json_object *o, const char *path)
{
	struct json_object *v = lookup(o, path);

	return v ? json_object_get_int64(v) : -1;
}

void api_create_params(char *buf, size_t len, const char *kernel,
		       const char *cmdline, int cpus, const char *com1_sock)
{
	char serial[256] = "";

	if (com1_sock)
		snprintf(serial, sizeof(serial),
			 ",\"serial_config\":{\"ports\":[{\"port\":0,\"socket_path\":\"%s\"}]}",
			 com1_sock);
	snprintf(buf, len,
		 "{\"log_id\":\"e2e\",\"config\":{\"memory_config\":{\"memory_mb\":\"64\"},"
		 "\"processor_config\":{\"processor_count\":%d},"
		 "\"direct_boot\":{\"kernel_path\":\"%s\",\"kernel_cmdline\":\"%s\"}%s}}",
		 cpus, kernel, cmdline, serial);
}

long last_tick(const char *buf)
{
	const char *p = buf, *found = NULL, *next;

	while ((next = strstr(p, "TICK "))) {
		const char *nl = strchr(next, '\n');

		if (!nl)
			break;
		found = next;
		p = nl;
	}
	return found ? strtol(found + 5, NULL, 10) : -1;
}

void collect(int fd, char *buf, size_t cap, int ms, size_t *got)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = strlen(buf);

	for (int waited = 0; waited < ms; waited += 20) {
		ssize_t r;

		if (poll(&p, 1, 20) != 1)
			continue;
		if (len > cap - 4096) {
			memmove(buf, buf + len - 4096, 4096);
			len = 4096;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (got)
			*got += (size_t)r;
	}
}

bool tick_past(int fd, char *buf, size_t cap, long after)
{
	for (int i = 0; i < 600 && last_tick(buf) <= after; i++)
		collect(fd, buf, cap, 100, NULL);
	return last_tick(buf) > after;
}

size_t drain(int fd, int ms)
{
	double deadline = now_s() + ms / 1000.0;
	char buf[4096];
	size_t total = 0;

	for (;;) {
		int left = (int)((deadline - now_s()) * 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) != 1)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return total;
}

static pid_t spawn_vmmctl(const char *const *argv, const char *opath,
			  const char *epath)
{
	const char *bin = getenv("VMMCTL");
	const char *args[32];
	size_t n = 0;
	pid_t pid;

	args[n++] = bin ? bin : "build/vmmctl";
	while (*argv && n < 31)
		args[n++] = *argv++;
	args[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = epath ? open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600) : 2;

		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		execv(args[0], (char *const *)args);
		dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t vmmctl_bg(const char *const *argv, const char *out_path)
{
	return spawn_vmmctl(argv, out_path, NULL);
}

int vmmctl(const char *const *argv, char **out, char **err)
{
	char dir[] = "/tmp/vmm-ctl-XXXXXX", opath[64], epath[64];
	int status;
	pid_t pid;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(opath, sizeof(opath), "%s/out", dir);
	snprintf(epath, sizeof(epath), "%s/err", dir);
	pid = spawn_vmmctl(argv, opath, epath);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	*out = slurp(opath, NULL);
	*err = slurp(epath, NULL);
	unlink(opath);
	unlink(epath);
	rmdir(dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
