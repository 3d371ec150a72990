// SPDX-License-Identifier: MIT
/*
 * Restore against boot: the same Linux image, side by side in one run on
 * one host. Measures, with the guest agent's ready check (a vsock
 * connection to port 5002 that the agent accepts) as the finish line:
 *
 *   boot     process start to agent ready, booting the image cold;
 *   restore  process start to agent ready, restoring a snapshot of the
 *            same VM taken once its agent was up;
 *   the VMM's CPU time for making the VM, without running it: process
 *            start to RestoreVM answered against process start to CreateVM
 *            answered (the kernel and initrd loaded), both left paused;
 *   the restored VMM's CPU time and RSS (private and file-backed) at
 *            agent ready.
 *
 * usage: bench-snapshot --vmm PATH --kernel PATH --initrd PATH --dir DIR
 *                       [--runs N]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_RUNS 50
#define READY_TIMEOUT_MS 300000
#define CMDLINE "console=ttyS0 reboot=k panic=1 quiet"
#define MEMORY "256"
#define AGENT_READY_PORT 5002

struct opts {
	const char *vmm, *kernel, *initrd, *dir;
	int runs;
};

static void die(const char *fmt, const char *what)
{
	fprintf(stderr, "bench-snapshot: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	exit(1);
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* One line from @fd within @ms; its length, or -1. */
static int read_line(int fd, char *buf, size_t cap, int ms)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, ms) != 1 || read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

/* The agent accepted a connection to its ready port. */
static bool agent_ready(const char *uds)
{
	char line[64];
	int fd = dial(uds), n;

	if (fd < 0)
		return false;
	n = dprintf(fd, "CONNECT %d\n", AGENT_READY_PORT) > 0 &&
	    read_line(fd, line, sizeof(line), 10000) > 0 &&
	    !strncmp(line, "OK ", 3);
	close(fd);
	return n;
}

/* The end of the VMM's output, for a VMM that failed. */
static void show_log(const char *log)
{
	char buf[2048];
	FILE *f = fopen(log, "r");
	size_t n;

	if (!f)
		return;
	fseek(f, -(long)sizeof(buf), SEEK_END);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	fprintf(stderr, "bench-snapshot: the end of %s:\n", log);
	fwrite(buf, 1, n, stderr);
}

/* Milliseconds from @start until the agent of @pid (output in @log) is ready. */
static double wait_agent(pid_t pid, const char *uds, const char *log,
			 double start)
{
	while (!agent_ready(uds)) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			show_log(log);
			die("the VMM exited before its agent was ready (%s)", uds);
		}
		if (now_ms() - start > READY_TIMEOUT_MS) {
			show_log(log);
			die("no agent at %s", uds);
		}
		/* Each try is a connection the guest answers: not too many. */
		usleep(5000);
	}
	return now_ms() - start;
}

/* A field of /proc/PID/status in KiB ("VmRSS", "RssAnon", "RssFile"). */
static long status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void wait_socket(const char *path, pid_t pid)
{
	int fd;

	while ((fd = dial(path)) < 0) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			die("the VMM exited before %s was ready", path);
		usleep(1000);
	}
	close(fd);
}

/* One JSON-RPC call; dies with the answer unless it succeeded. */
static void rpc(const char *sock, const char *method, const char *params)
{
	static char line[65536];
	int fd = dial(sock);

	if (fd < 0)
		die("cannot connect to %s", sock);
	dprintf(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n",
		method, params ? ",\"params\":" : "", params ? params : "");
	do {
		if (read_line(fd, line, sizeof(line), READY_TIMEOUT_MS) <= 0)
			die("no answer to %s", method);
	} while (!strstr(line, "\"id\":1"));
	close(fd);
	if (!strstr(line, "\"result\""))
		die("%s", line);
}

static char *path_in(const struct opts *o, const char *fmt, int i)
{
	char name[64], *p;

	snprintf(name, sizeof(name), fmt, i);
	if (asprintf(&p, "%s/%s", o->dir, name) < 0)
		die("%s", "out of memory");
	return p;
}

static char *vsock_arg(const char *uds)
{
	char *a;

	if (asprintf(&a, "cid=3,uds=%s", uds) < 0)
		die("%s", "out of memory");
	return a;
}

/* Cold boot to agent ready. */
static double boot_once(const struct opts *o, int i)
{
	char *uds = path_in(o, "boot-%d.vsock", i), *log = path_in(o, "boot-%d.log", i);
	char *argv[] = { (char *)o->vmm, "--kernel", (char *)o->kernel,
			 "--initrd", (char *)o->initrd, "--memory", MEMORY,
			 "--cmdline", CMDLINE, "--serial", "none", "--vsock",
			 vsock_arg(uds), NULL };
	double start = now_ms(), ms;
	pid_t pid = spawn(argv, log);

	ms = wait_agent(pid, uds, log, start);
	stop(pid);
	free(argv[12]);
	free(uds);
	free(log);
	return ms;
}

/* Boots once more with a control socket and saves the VM, agent up. */
static void take_snapshot(const struct opts *o, const char *snap)
{
	char *uds = path_in(o, "base.vsock", 0), *sock = path_in(o, "base.sock", 0);
	char *log = path_in(o, "base.log", 0), params[512];
	char *argv[] = { (char *)o->vmm, "--api-sock", sock, "--kernel",
			 (char *)o->kernel, "--initrd", (char *)o->initrd,
			 "--memory", MEMORY, "--cmdline", CMDLINE, "--serial",
			 "none", "--vsock", vsock_arg(uds), NULL };
	pid_t pid = spawn(argv, log);

	wait_agent(pid, uds, log, now_ms());
	/* What a booted guest does right after start-up settles. */
	sleep(2);
	snprintf(params, sizeof(params), "{\"directory\":\"%s\"}", snap);
	rpc(sock, "SnapshotVM", params);
	rpc(sock, "Quit", NULL);
	waitpid(pid, NULL, 0);
	free(argv[14]);
	free(uds);
	free(sock);
	free(log);
}

struct restore_sample {
	double ready_ms, cpu_ms;
	double rss_kib, anon_kib, file_kib;
};

static void restore_once(const struct opts *o, const char *snap, int i,
			 struct restore_sample *s)
{
	char *uds = path_in(o, "restore-%d.vsock", i);
	char *log = path_in(o, "restore-%d.log", i);
	char *argv[] = { (char *)o->vmm, "--restore", (char *)snap, "--serial",
			 "none", "--vsock", vsock_arg(uds), NULL };
	double start = now_ms();
	pid_t pid = spawn(argv, log);

	s->ready_ms = wait_agent(pid, uds, log, start);
	s->cpu_ms = proc_cpu_ms(pid);
	s->rss_kib = (double)status_kib(pid, "VmRSS");
	s->anon_kib = (double)status_kib(pid, "RssAnon");
	/* A memory file on tmpfs is shared memory, elsewhere page cache. */
	s->file_kib = (double)(status_kib(pid, "RssFile") +
			       status_kib(pid, "RssShmem"));
	stop(pid);
	free(argv[6]);
	free(uds);
	free(log);
}

/*
 * The VMM's CPU time to make a VM and leave it paused: CreateVM of the
 * image (@snap NULL) or RestoreVM of the snapshot.
 */
static double make_paused_once(const struct opts *o, const char *snap, int i,
			       double *bare_ms)
{
	char *sock = path_in(o, "api-%d.sock", i), *log = path_in(o, "api-%d.log", i);
	char *uds = path_in(o, "api-%d.vsock", i), params[2048];
	char *argv[] = { (char *)o->vmm, "--api-sock", sock, NULL };
	pid_t pid = spawn(argv, log);
	double ms;

	wait_socket(sock, pid);
	*bare_ms = proc_cpu_ms(pid);
	if (snap) {
		snprintf(params, sizeof(params),
			 "{\"directory\":\"%s\",\"overrides\":{\"vsock\":"
			 "{\"guest_cid\":3,\"uds_path\":\"%s\"}}}", snap, uds);
		rpc(sock, "RestoreVM", params);
	} else {
		snprintf(params, sizeof(params),
			 "{\"config\":{\"memory_config\":{\"memory_mb\":\"%s\"},"
			 "\"direct_boot\":{\"kernel_path\":\"%s\",\"initrd_path\":\"%s\","
			 "\"kernel_cmdline\":\"%s\"},\"devices_config\":{\"vsock\":"
			 "{\"guest_cid\":3,\"uds_path\":\"%s\"}},"
			 "\"extra_data\":{\"serial_0\":\"none\"}}}",
			 MEMORY, o->kernel, o->initrd, CMDLINE, uds);
		rpc(sock, "CreateVM", params);
	}
	ms = proc_cpu_ms(pid);
	rpc(sock, "Quit", NULL);
	waitpid(pid, NULL, 0);
	free(sock);
	free(log);
	free(uds);
	return ms;
}

static void parse(int argc, char **argv, struct opts *o)
{
	o->runs = 5;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--vmm"))
			o->vmm = argv[i + 1];
		else if (!strcmp(argv[i], "--kernel"))
			o->kernel = argv[i + 1];
		else if (!strcmp(argv[i], "--initrd"))
			o->initrd = argv[i + 1];
		else if (!strcmp(argv[i], "--dir"))
			o->dir = argv[i + 1];
		else if (!strcmp(argv[i], "--runs"))
			o->runs = atoi(argv[i + 1]);
		else
			die("unknown option %s", argv[i]);
	}
	if (!o->vmm || !o->kernel || !o->initrd || !o->dir || o->runs < 1 ||
	    o->runs > MAX_RUNS)
		die("%s", "usage: bench-snapshot --vmm PATH --kernel PATH --initrd PATH --dir DIR [--runs N]");
}

int main(int argc, char **argv)
{
	double boot[MAX_RUNS], restore[MAX_RUNS], rcpu[MAX_RUNS];
	double create_cpu[MAX_RUNS], restore_paused_cpu[MAX_RUNS];
	double bare[MAX_RUNS], unused;
	struct restore_sample s[MAX_RUNS];
	double rss[MAX_RUNS], anon[MAX_RUNS], file[MAX_RUNS];
	double b, r, c, p, m;
	struct opts o = { 0 };
	char *snap;

	parse(argc, argv, &o);
	snap = path_in(&o, "snapshot", 0);
	take_snapshot(&o, snap);
	/* Interleaved, so a drift of the host's speed hits both alike. */
	for (int i = 0; i < o.runs; i++) {
		boot[i] = boot_once(&o, i);
		restore_once(&o, snap, i, &s[i]);
		create_cpu[i] = make_paused_once(&o, NULL, 2 * i, &bare[i]);
		restore_paused_cpu[i] = make_paused_once(&o, snap, 2 * i + 1,
							 &unused);
		restore[i] = s[i].ready_ms;
		rcpu[i] = s[i].cpu_ms;
		rss[i] = s[i].rss_kib;
		anon[i] = s[i].anon_kib;
		file[i] = s[i].file_kib;
		fprintf(stderr, "run %d: boot %.0f ms, restore %.0f ms\n", i + 1,
			boot[i], restore[i]);
	}
	b = median(boot, (size_t)o.runs);
	r = median(restore, (size_t)o.runs);
	c = median(create_cpu, (size_t)o.runs);
	p = median(restore_paused_cpu, (size_t)o.runs);
	m = median(rcpu, (size_t)o.runs);
	printf("%-46s %10s\n", "Linux guest, medians of runs:", "");
	printf("%-46s %8.0f ms\n", "cold boot to agent ready", b);
	printf("%-46s %8.0f ms   %.1fx faster than boot (goal >= 10x)\n",
	       "restore to agent ready", r, b / r);
	printf("%-46s %8.1f ms\n", "VMM CPU, process start to control socket",
	       median(bare, (size_t)o.runs));
	printf("%-46s %8.1f ms\n", "VMM CPU, CreateVM to paused (plain start-up)", c);
	printf("%-46s %8.1f ms   %.2fx of plain start-up (goal <= 2x)\n",
	       "VMM CPU, RestoreVM to paused", p, p / c);
	printf("%-46s %8.1f ms\n", "VMM CPU at agent ready, restored (vCPUs too)", m);
	printf("%-46s %8.0f KiB (private %.0f, the memory file's %.0f)\n",
	       "VMM RSS at agent ready, restored", median(rss, (size_t)o.runs),
	       median(anon, (size_t)o.runs), median(file, (size_t)o.runs));
	free(snap);
	return 0;
}
