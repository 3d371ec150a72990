// SPDX-License-Identifier: MIT
/*
 * Control socket benchmark.
 *
 * Start-up: runs `vmm --api-sock PATH` and measures, per run, process start
 * to the first successful connect() (the socket is listening), as wall
 * time and as the CPU time the VMM has used by then (/proc/PID/schedstat,
 * in ns). Firecracker's published figure for the same point is 8 ms of
 * CPU.
 *
 * Latency: one VMM holding a paused VM (so InspectVM returns the whole
 * view), InspectVM round trips from 1 client, then from 100 clients at
 * once, each with its own connection; p50 and p99 of every request.
 *
 * usage: bench-api --vmm PATH --kernel PATH [--runs N] [--requests N]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "latency.h"

#define CLIENTS 100

static pid_t spawn(const char *vmm, const char *sock)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(vmm, vmm, "--api-sock", sock, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* CPU time the task @pid has run, in ms, from the scheduler's accounting. */
static int quit(int fd)
{
	char buf[256];

	return bench_round_trip(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Quit\"}\n",
			  buf, sizeof(buf)) < 0 ? -1 : 0;
}

static int startup(const char *vmm, const char *dir, int runs)
{
	double *wall = calloc((size_t)runs, sizeof(double));
	double *cpu = calloc((size_t)runs, sizeof(double));
	char sock[256];
	int status;

	snprintf(sock, sizeof(sock), "%s/start.sock", dir);
	for (int i = 0; i < runs; i++) {
		double start = now_ms();
		pid_t pid = spawn(vmm, sock);
		int fd;

		while ((fd = dial(sock)) < 0) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				fprintf(stderr, "bench-api: %s exited (status %d) before its socket was ready\n",
					vmm, status);
				return -1;
			}
			if (now_ms() - start > 10000) {
				kill(pid, SIGKILL);
				fprintf(stderr, "bench-api: no socket after 10 s\n");
				return -1;
			}
		}
		wall[i] = now_ms() - start;
		cpu[i] = proc_cpu_ms(pid);
		if (quit(fd) < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "bench-api: Quit failed (status %d)\n", status);
			return -1;
		}
		close(fd);
	}
	printf("start to socket ready (%d runs):  wall p50 %.2f ms  p99 %.2f ms  |  CPU p50 %.2f ms  p99 %.2f ms  (Firecracker: 8 CPU ms)\n",
	       runs, bench_percentile(wall, (size_t)runs, 50),
	       bench_percentile(wall, (size_t)runs, 99), bench_percentile(cpu, (size_t)runs, 50),
	       bench_percentile(cpu, (size_t)runs, 99));
	free(wall);
	free(cpu);
	return 0;
}

static int latency(const char *sock, int clients, int requests)
{
	int per = requests / clients > 0 ? requests / clients : 1;
	struct bench_latency l;

	if (bench_inspect(sock, clients, per, &l) < 0)
		return -1;
	printf("InspectVM, %3d client%s (%zu requests):  p50 %.3f ms  p99 %.3f ms  (%.0f requests/s)\n",
	       clients, clients > 1 ? "s" : " ", l.requests, l.p50, l.p99,
	       l.per_s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 'v' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "runs", required_argument, NULL, 'r' },
		{ "requests", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *vmm = NULL, *kernel = NULL;
	char dir[] = "/tmp/bench-api-XXXXXX", sock[256], create[1024], buf[4096];
	int runs = 50, requests = 2000, opt, fd, ret = 1, status;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			vmm = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'n':
			requests = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!vmm || !kernel || runs < 1 || requests < CLIENTS) {
		fprintf(stderr, "usage: bench-api --vmm PATH --kernel PATH [--runs N] [--requests N>=%d]\n",
			CLIENTS);
		return 2;
	}
	if (!mkdtemp(dir))
		return 1;
	if (startup(vmm, dir, runs) < 0)
		goto out;

	snprintf(sock, sizeof(sock), "%s/latency.sock", dir);
	pid = spawn(vmm, sock);
	for (double t = now_ms(); (fd = dial(sock)) < 0 && now_ms() - t < 10000;)
		usleep(100);
	snprintf(create, sizeof(create),
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"CreateVM\",\"params\":{\"config\":"
		 "{\"memory_config\":{\"memory_mb\":64},\"processor_config\":{\"processor_count\":2},"
		 "\"direct_boot\":{\"kernel_path\":\"%s\"}}}}\n", kernel);
	if (fd < 0 || bench_round_trip(fd, create, buf, sizeof(buf)) < 0 ||
	    !strstr(buf, "\"result\"")) {
		fprintf(stderr, "bench-api: CreateVM failed: %s\n", fd < 0 ? "no socket" : buf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	if (latency(sock, 1, requests) == 0 && latency(sock, CLIENTS, requests) == 0)
		ret = 0;
	quit(fd);
	close(fd);
	waitpid(pid, &status, 0);
out:
	rmdir(dir);
	return ret;
}
