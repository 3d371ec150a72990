// SPDX-License-Identifier: MIT
#include "guest-agent/sysinfo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t meminfo_kib(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

size_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	return (size_t)n;
}

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

struct json_object *guest_metrics(void)
{
	struct json_object *m = json_object_new_object();
	struct json_object *cpu = json_object_new_object();
	struct json_object *usage = json_object_new_object();
	struct json_object *mem = json_object_new_object();
	struct json_object *mem_usage = json_object_new_object();
	struct json_object *pids = json_object_new_object();
	unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0,
			   irq = 0, softirq = 0;
	char buf[4096];
	uint64_t ns_per_tick = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	uint64_t total, avail, nprocs = 0;
	DIR *d;

	read_small("/proc/stat", buf, sizeof(buf));
	sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
	       &sys, &idle, &iowait, &irq, &softirq);
	json_object_object_add(usage, "total", json_u64(
		(user + nice + sys + irq + softirq) * ns_per_tick));
	json_object_object_add(usage, "kernel", json_u64(
		(sys + irq + softirq) * ns_per_tick));
	json_object_object_add(usage, "user", json_u64((user + nice) * ns_per_tick));
	json_object_object_add(cpu, "usage", usage);
	json_object_object_add(m, "cpu", cpu);

	read_small("/proc/meminfo", buf, sizeof(buf));
	total = meminfo_kib(buf, "MemTotal:") * 1024;
	avail = meminfo_kib(buf, "MemAvailable:") * 1024;
	json_object_object_add(mem, "cache",
			       json_u64(meminfo_kib(buf, "\nCached:") * 1024));
	json_object_object_add(mem_usage, "usage", json_u64(total - MIN(avail, total)));
	json_object_object_add(mem_usage, "limit", json_u64(total));
	json_object_object_add(mem, "usage", mem_usage);
	json_object_object_add(m, "memory", mem);

	d = opendir("/proc");
	for (struct dirent *de; d && (de = readdir(d));)
		nprocs += isdigit((unsigned char)de->d_name[0]) != 0;
	if (d)
		closedir(d);
	json_object_object_add(pids, "current", json_u64(nprocs));
	json_object_object_add(m, "pids", pids);
	return m;
}

int mkdir_p(const char *path, struct err *e)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return err_set(e, "path \"%.100s...\" too long", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return err_errno(e, "creating \"%s\"", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

void process_stack(pid_t pid, struct bytebuf *out)
{
	char path[64], stat[512], stack[4096], wchan[128];
	char line[1024];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	read_small(path, stat, sizeof(stat));
	stat[strcspn(stat, "\n")] = 0;
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	read_small(path, wchan, sizeof(wchan));
	n = snprintf(line, sizeof(line), "\nprocess %d: %s\n  wchan: %s\n",
		     (int)pid, stat[0] ? stat : "(gone)",
		     wchan[0] ? wchan : "-");
	bytebuf_append(out, line, (size_t)MIN((size_t)n, sizeof(line) - 1));
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	if (read_small(path, stack, sizeof(stack)))
		bytebuf_append(out, stack, strlen(stack));
}
