// SPDX-License-Identifier: MIT
/*
 * virtio-vsock end to end with the test guest (images/testguest/
 * virtio_vsock.h has its script): a host program connects through the
 * VMM's Unix socket with "CONNECT <port>", or through the control API's
 * VsockConnect; bytes go both ways, the host's stream is more than the
 * guest's window, the host half-closes and the guest answers only after it
 * saw the EOF; then the guest connects to a host listener (PATH_PORT, or
 * one registered through VMSocket) and to a port nobody listens on.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "images/testguest/virtio_vsock.h"
#include "api_helpers.h"

#define TIMEOUT_S 180
#define CID "3"

static void unix_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	cr_assert_lt(strlen(path), sizeof(a->sun_path));
	memcpy(a->sun_path, path, strlen(path) + 1);
}

static int listen_at(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unix_addr(&a, path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s: %s",
		     path, strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static bool wait_readable(int fd, int timeout_s)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_s * 1000) == 1;
}

/* Reads up to @n bytes, stopping at EOF or after @timeout_s of silence. */
static size_t read_some(int fd, void *buf, size_t n, int timeout_s)
{
	size_t got = 0;

	while (got < n && wait_readable(fd, timeout_s)) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void write_all(int fd, const void *buf, size_t n)
{
	cr_assert_eq(write(fd, buf, n), (ssize_t)n, "write: %s",
		     strerror(errno));
}

/* The "CONNECT <port>\n" handshake; returns the stream. */
static int vsock_dial(const char *uds, uint32_t port)
{
	struct sockaddr_un a;
	char line[64];
	size_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unix_addr(&a, uds);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0,
		     "%s: %s", uds, strerror(errno));
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	write_all(fd, line, strlen(line));
	/* Byte by byte: what follows the newline is the guest's. */
	while (n < sizeof(line) - 1 && wait_readable(fd, TIMEOUT_S) &&
	       read(fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	cr_assert(!strncmp(line, "OK ", 3), "CONNECT %u answered '%s'", port,
		  line);
	cr_assert_geq(strtoul(line + 3, NULL, 10), 1UL << 30,
		      "host port in '%s'", line);
	return fd;
}

/*
 * Steps 2 and 3 of the guest's script on @fd: the host's bytes, the
 * half-close, the guest's bytes (sent only once it saw the EOF), its close.
 */
static void exchange(int fd)
{
	static uint8_t out[TG_VSOCK_HOST_BYTES], in[TG_VSOCK_GUEST_BYTES + 1];
	size_t got;

	for (uint32_t i = 0; i < sizeof(out); i++)
		out[i] = tg_vsock_pattern(i, 1);
	write_all(fd, out, sizeof(out));
	cr_assert_eq(shutdown(fd, SHUT_WR), 0);
	got = read_some(fd, in, sizeof(in), TIMEOUT_S);
	cr_assert_eq(got, TG_VSOCK_GUEST_BYTES, "the guest sent %zu bytes", got);
	for (uint32_t i = 0; i < TG_VSOCK_GUEST_BYTES; i++)
		cr_assert_eq(in[i], tg_vsock_pattern(i, 2), "byte %u", i);
	cr_assert_eq(read_some(fd, in, 1, TIMEOUT_S), 0,
		     "no EOF after the guest closed");
	close(fd);
}

/* Step 4: the guest's own connection, accepted on @lfd. */
static void serve_guest(int lfd)
{
	char line[64] = { 0 };
	size_t want = strlen(TG_VSOCK_HELLO);
	int fd;

	cr_assert(wait_readable(lfd, TIMEOUT_S), "the guest never connected");
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read_some(fd, line, want, TIMEOUT_S), want);
	cr_assert_str_eq(line, TG_VSOCK_HELLO);
	write_all(fd, TG_VSOCK_REPLY, strlen(TG_VSOCK_REPLY));
	close(fd);
}

static void expect_pass(const char *out)
{
	cr_expect(strstr(out, "PASS virtio_vsock"), "serial log:\n%s", out);
	cr_expect_null(strstr(out, "FAIL"), "serial log:\n%s", out);
}

static char *guest_cmdline(void)
{
	static char line[] = "console=ttyS0 testguest.virtio=vsock "
			     "testguest.vsock_cid=" CID;
	return line;
}

/* The same guest driving the device over virtio-pci. */
#define PCI_CMDLINE "console=ttyS0 testguest.virtio=vsock testguest.pci=1 " \
		    "testguest.vsock_cid=" CID

static void unix_socket_streams(const char *transport, const char *cmdline)
{
	char dir[] = "/tmp/vmm-vsock-XXXXXX", uds[128], path[160], arg[200];
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--vsock", arg, "--transport", transport, "--cmdline", cmdline,
		NULL,
	};
	struct vmm_proc p;
	char *out, *err;
	int lfd, status;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(path, sizeof(path), "%s_%u", uds, TG_VSOCK_HOST_PORT);
	snprintf(arg, sizeof(arg), "cid=" CID ",uds=%s", uds);
	lfd = listen_at(path);
	vmm_spawn(&p, argv);
	cr_assert(vmm_wait_output(&p, TG_VSOCK_READY, TIMEOUT_S),
		  "the guest never listened; stderr:\n%s", vmm_stderr(&p));
	exchange(vsock_dial(uds, TG_VSOCK_LISTEN_PORT));
	serve_guest(lfd);
	status = vmm_wait(&p, TIMEOUT_S);
	out = vmm_stdout(&p);
	err = vmm_stderr(&p);
	expect_pass(out);
	cr_expect_eq(status, 0, "exit status %d; stderr:\n%s", status, err);
	cr_expect_neq(access(uds, F_OK), 0, "the socket outlived the VMM");
	free(out);
	free(err);
	vmm_cleanup(&p);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

Test(vsock_e2e, streams_through_the_unix_socket, .timeout = TIMEOUT_S * 2)
{
	unix_socket_streams("mmio", guest_cmdline());
}

Test(vsock_e2e, streams_over_virtio_pci, .timeout = TIMEOUT_S * 2)
{
	unix_socket_streams("pci", PCI_CMDLINE);
}

Test(vsock_e2e, control_api_connect_and_listener, .timeout = TIMEOUT_S * 2)
{
	char dir[] = "/tmp/vmm-vsock-XXXXXX", uds[128], path[160], arg[200];
	char params[300];
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--vsock", arg, "--cmdline", guest_cmdline(), NULL,
	};
	struct json_object *resp;
	struct api_vmm v;
	int lfd, afd, fd = -1;
	char *out;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	snprintf(arg, sizeof(arg), "cid=" CID ",uds=%s", uds);
	lfd = listen_at(path);
	api_vmm_start(&v, extra);
	/* The guest's connection goes to the registered path, not PATH_PORT. */
	snprintf(params, sizeof(params),
		 "{\"type\":\"ADD\",\"vsock_listen\":{\"port\":%u,\"listener_path\":\"%s\"}}",
		 TG_VSOCK_HOST_PORT, path);
	json_object_put(api_ok(&v, "VMSocket", params));
	cr_assert(vmm_wait_output(&v.p, TG_VSOCK_READY, TIMEOUT_S),
		  "the guest never listened");
	afd = api_connect(v.sock);
	snprintf(params, sizeof(params), "{\"port\":%u}", TG_VSOCK_LISTEN_PORT);
	resp = api_call(afd, "VsockConnect", params, &fd);
	cr_assert_eq(jint(resp, "result.port"), TG_VSOCK_LISTEN_PORT, "%s",
		     json_object_to_json_string(resp));
	cr_assert_geq(fd, 0, "no stream came with the answer");
	json_object_put(resp);
	close(afd);
	exchange(fd);
	serve_guest(lfd);
	cr_assert(vmm_wait_output(&v.p, "PASS virtio_vsock", TIMEOUT_S));
	out = vmm_stdout(&v.p);
	expect_pass(out);
	free(out);
	api_vmm_quit(&v);
	close(lfd);
	unlink(path);
	rmdir(dir);
}
