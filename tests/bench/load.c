// SPDX-License-Identifier: MIT
/*
 * Control socket under load: InspectVM latency from 256 clients at once,
 * side by side for an idle guest and for a guest that holds 1024 vsock
 * connections to the host and floods its virtio console (the test guest's
 * testguest.load=N), with the console's host end read as fast as it comes.
 * Prints p50, p99 and the worst round trip of each, the ratio of the p99s,
 * the connections open and the console's throughput meanwhile.
 *
 * usage: bench-load --vmm PATH --kernel PATH [--conns N] [--clients N]
 *                   [--requests N]   (requests per client)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "latency.h"

#define LOAD_HOST_PORT 4000 /* images/testguest/virtio_vsock.h */
#define SETTLE_MS 600000

struct load {
	const char *vmm, *kernel;
	int conns, clients, requests;
	char dir[64];
	pid_t pid;
	int listen_fd;
	int accepted;          /* guest connections the host took */
	long long console_bytes;
	volatile int stop;
	pthread_t acceptor, reader;
};

static void path_in(const struct load *l, char *buf, size_t len,
		    const char *name)
{
	snprintf(buf, len, "%s/%s", l->dir, name);
}

/* The host end of the guest's connections: accepts and keeps them all. */
static void *acceptor(void *opaque)
{
	struct load *l = opaque;

	while (!l->stop) {
		int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			__atomic_add_fetch(&l->accepted, 1, __ATOMIC_RELAXED);
		else if (errno != EINTR && errno != EAGAIN)
			break;
	}
	return NULL;
}

/* Reads the virtio console's host end as fast as the guest writes. */
static void *reader(void *opaque)
{
	struct load *l = opaque;
	char path[128], buf[65536];
	int fd = -1;
	ssize_t n;

	path_in(l, path, sizeof(path), "console.sock");
	while (!l->stop && (fd = dial(path)) < 0)
		usleep(10000);
	while (!l->stop && (n = read(fd, buf, sizeof(buf))) > 0)
		__atomic_add_fetch(&l->console_bytes, n, __ATOMIC_RELAXED);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 4096) < 0)
		return -1;
	return fd;
}

static int start(struct load *l, bool loaded)
{
	char api[128], vsock[128], console[160], com1[160], target[160],
		cmdline[128];

	strcpy(l->dir, "/tmp/bench-load-XXXXXX");
	if (!mkdtemp(l->dir))
		return -1;
	path_in(l, api, sizeof(api), "api.sock");
	path_in(l, vsock, sizeof(vsock), "v.sock");
	snprintf(console, sizeof(console), "socket:%s/console.sock", l->dir);
	snprintf(com1, sizeof(com1), "file:%s/com1.log", l->dir);
	snprintf(target, sizeof(target), "%s_%d", vsock, LOAD_HOST_PORT);
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0 %s",
		 loaded ? "testguest.load=" : "testguest.halt=1");
	if (loaded)
		snprintf(cmdline + strlen(cmdline),
			 sizeof(cmdline) - strlen(cmdline), "%d", l->conns);
	l->listen_fd = listen_at(target);
	if (l->listen_fd < 0)
		return -1;
	l->pid = fork();
	if (l->pid == 0) {
		char vsock_arg[160], log[160];
		int fd;

		/* The VMM's own messages go next to the guest's. */
		snprintf(log, sizeof(log), "%s/vmm.log", l->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		snprintf(vsock_arg, sizeof(vsock_arg), "cid=3,uds=%s", vsock);
		execl(l->vmm, l->vmm, "--api-sock", api, "--kernel", l->kernel,
		      "--memory", "64", "--cmdline", cmdline, "--serial", com1,
		      "--vsock", vsock_arg, "--console", console, (char *)NULL);
		_exit(127);
	}
	l->stop = 0;
	pthread_create(&l->acceptor, NULL, acceptor, l);
	pthread_create(&l->reader, NULL, reader, l);
	return 0;
}

/* True once the guest's serial log holds @needle. */
static bool logged(const struct load *l, const char *needle)
{
	char path[128], buf[8192];
	size_t n;
	FILE *f;

	path_in(l, path, sizeof(path), "com1.log");
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle);
}

static int settle(struct load *l, bool loaded)
{
	double t = now_ms();

	while (loaded ? l->accepted < l->conns || !logged(l, "flooding") :
			!logged(l, "HALTING")) {
		if (waitpid(l->pid, NULL, WNOHANG) == l->pid ||
		    now_ms() - t > SETTLE_MS) {
			fprintf(stderr, "bench-load: the guest did not get going (%d of %d connections)\n",
				l->accepted, l->conns);
			return -1;
		}
		usleep(100000);
	}
	return 0;
}

static void finish(struct load *l)
{
	char path[160];

	kill(l->pid, SIGTERM);
	waitpid(l->pid, NULL, 0);
	l->stop = 1;
	/* accept() fails on a listening socket shut down: the acceptor ends. */
	shutdown(l->listen_fd, SHUT_RDWR);
	pthread_join(l->acceptor, NULL);
	pthread_join(l->reader, NULL);
	close(l->listen_fd);
	snprintf(path, sizeof(path), "rm -rf '%s'", l->dir);
	if (system(path) != 0)
		fprintf(stderr, "bench-load: could not remove %s\n", l->dir);
}

static int run(struct load *l, bool loaded, struct bench_latency *out,
	       double *console_kib_s)
{
	char api[128];
	long long bytes;
	double t;
	int ret;

	l->accepted = 0;
	l->console_bytes = 0;
	if (start(l, loaded) < 0 || settle(l, loaded) < 0) {
		finish(l);
		return -1;
	}
	path_in(l, api, sizeof(api), "api.sock");
	bytes = __atomic_load_n(&l->console_bytes, __ATOMIC_RELAXED);
	t = now_ms();
	ret = bench_inspect(api, l->clients, l->requests, out);
	*console_kib_s = (double)(__atomic_load_n(&l->console_bytes,
						   __ATOMIC_RELAXED) - bytes) /
			 1024 / (now_ms() - t) * 1e3;
	finish(l);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 'v' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "conns", required_argument, NULL, 'c' },
		{ "clients", required_argument, NULL, 'l' },
		{ "requests", required_argument, NULL, 'n' },
		{ 0 },
	};
	struct load l = { .conns = 1024, .clients = 256, .requests = 20 };
	struct bench_latency idle, busy;
	double idle_kib, busy_kib;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			l.vmm = optarg;
			break;
		case 'k':
			l.kernel = optarg;
			break;
		case 'c':
			l.conns = atoi(optarg);
			break;
		case 'l':
			l.clients = atoi(optarg);
			break;
		case 'n':
			l.requests = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!l.vmm || !l.kernel || l.conns < 1 || l.clients < 1 ||
	    l.requests < 1) {
		fprintf(stderr, "usage: bench-load --vmm PATH --kernel PATH [--conns N] [--clients N] [--requests N]\n");
		return 2;
	}
	if (run(&l, false, &idle, &idle_kib) < 0 ||
	    run(&l, true, &busy, &busy_kib) < 0)
		return 1;
	printf("InspectVM, %d clients x %d requests   p50 ms   p99 ms   max ms\n",
	       l.clients, l.requests);
	printf("  idle guest                          %7.3f  %7.3f  %7.3f\n",
	       idle.p50, idle.p99, idle.max);
	printf("  %4d vsock connections, console   %7.3f  %7.3f  %7.3f   (console %.0f KiB/s)\n",
	       l.conns, busy.p50, busy.p99, busy.max, busy_kib);
	printf("  p99 loaded / idle: %.2f\n", busy.p99 / idle.p99);
	return 0;
}
