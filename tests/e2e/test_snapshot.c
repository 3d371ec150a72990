// SPDX-License-Identifier: MIT
/*
 * Snapshots of the test guest on this host's KVM. The guest counts
 * ("TICK n") on COM1 and over its virtio-console forever; it is saved
 * mid-count, its process ends, and a new process restored from the files
 * carries on: what both processes wrote, joined, is one unbroken count on
 * both ports (no tick lost, none twice). Clones of one snapshot run side
 * by side, restored over the control socket into processes started with
 * --api-sock alone, each with its own disk copy and serial socket.
 * Broken, foreign and mismatched snapshots are refused, each with its
 * reason.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_helpers.h"
#include "vmm/api/rpc.h"
#include "vmm/state.h"

#define TEST_TIMEOUT_S 240
#define WAIT_S 60
/* The contract with images/testguest/virtio.h. */
#define BLK_SIGNATURE "VMMTESTDISK"
#define GUEST_LINE                                                             \
	"console=ttyS0 testguest.tick=1 testguest.virtio=blk,console"

/* A guest saved while counting, and the files around it. */
struct saved_guest {
	char dir[64];     /* the first process's files and the snapshot */
	char snap[96];
	char com1[96];    /* what the first process's COM1 wrote */
	char console[96]; /* and its virtio-console */
	char disk[96];
};

static void make_disk(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, BLK_SIGNATURE, strlen(BLK_SIGNATURE)),
		     (ssize_t)strlen(BLK_SIGNATURE));
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = slurp(from, &len);
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	free(data);
}

/* Waits until @path's count passes @after; the last tick, or -1. */
static long file_tick_past(const char *path, long after, int timeout_s)
{
	long t = -1;

	for (int i = 0; i < timeout_s * 10; i++) {
		char *text = slurp(path, NULL);

		t = last_tick(text);
		free(text);
		if (t > after)
			break;
		usleep(100000);
	}
	return t;
}

/*
 * Every "TICK n" line of @text (after @skip bytes of a partial first line
 * when @partial) must follow the one before; returns how many there are
 * and the first and last number.
 */
static long count_ticks(const char *text, bool partial, long *first,
			long *last)
{
	const char *p = text;
	long n = 0;

	if (partial && (p = strchr(text, '\n')))
		p++;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		char *end;
		long t;

		if (!nl)
			break;
		if (strncmp(p, "TICK ", 5)) {
			cr_assert(n == 0, "a line that is no tick among the ticks: %.*s",
				  (int)(nl - p), p);
			p = nl + 1;
			continue;
		}
		t = strtol(p + 5, &end, 10);
		cr_assert(end == nl, "not a tick: %.*s", (int)(nl - p), p);
		if (n)
			cr_assert_eq(t, *last + 1, "tick %ld follows %ld", t, *last);
		else
			*first = t;
		*last = t;
		n++;
		p = nl + 1;
	}
	return n;
}

/*
 * Boots the guest with COM1, virtio-console and a disk, lets it count,
 * pauses it, saves it and ends its process.
 */
static void save_counting_guest(struct saved_guest *g)
{
	char serial[128], console[128];
	struct api_vmm v;
	struct json_object *r;
	char params[256];
	long t;

	strcpy(g->dir, "/tmp/vmm-snap-XXXXXX");
	cr_assert_not_null(mkdtemp(g->dir));
	snprintf(g->snap, sizeof(g->snap), "%s/snap", g->dir);
	snprintf(g->com1, sizeof(g->com1), "%s/com1.log", g->dir);
	snprintf(g->console, sizeof(g->console), "%s/console.log", g->dir);
	snprintf(g->disk, sizeof(g->disk), "%s/disk.img", g->dir);
	snprintf(serial, sizeof(serial), "file:%s", g->com1);
	snprintf(console, sizeof(console), "file:%s", g->console);
	make_disk(g->disk);
	api_vmm_start(&v, (const char *const[]){
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--cmdline", GUEST_LINE, "--mmio-cmdline", "--serial", serial,
		"--console", console, "--disk", g->disk, NULL });
	t = file_tick_past(g->com1, 20, WAIT_S);
	cr_assert_gt(t, 20, "the guest does not count:\n%s", slurp(g->com1, NULL));
	json_object_put(api_ok(&v, "PauseVM", NULL));
	snprintf(params, sizeof(params), "{\"directory\":\"%s\"}", g->snap);
	r = api_ok(&v, "SnapshotVM", params);
	cr_assert_str_eq(jstr(r, "directory"), g->snap);
	cr_assert_gt(strtoull(jstr(r, "memory_bytes"), NULL, 10), 0);
	/* Sparse: far less than the guest's 64 MiB hold data. */
	cr_assert_lt(strtoull(jstr(r, "memory_bytes"), NULL, 10), 8 << 20);
	json_object_put(r);
	api_fails(&v, "SnapshotVM", params, RPC_FAILED, "already holds a snapshot");
	api_vmm_quit(&v);
}

static void remove_saved(struct saved_guest *g)
{
	char path[160];

	for (const char *const *f = (const char *const[]){ "snap/state",
		     "snap/memory", "com1.log", "console.log", "disk.img",
		     "com1-b.log", "console-b.log", NULL }; *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", g->dir, *f);
		unlink(path);
	}
	rmdir(g->snap);
	rmdir(g->dir);
}

/* What two processes wrote to one port, joined, is one unbroken count. */
static void expect_one_count(const char *before_path, const char *after_path,
			     const char *port)
{
	char *before = slurp(before_path, NULL), *after = slurp(after_path, NULL);
	char *joined = malloc(strlen(before) + strlen(after) + 1);
	long first_a, last_a, first_b, last_b, n;

	cr_assert_gt(count_ticks(before, false, &first_a, &last_a), 20);
	strcpy(joined, before);
	strcat(joined, after);
	n = count_ticks(joined, false, &first_b, &last_b);
	cr_assert_gt(last_b, last_a + 10, "%s: the restored guest does not count on", port);
	cr_assert_eq(n, last_b - first_b + 1, "%s", port);
	free(joined);
	free(before);
	free(after);
}

Test(snapshot, the_restored_guest_counts_on_without_a_gap,
     .timeout = TEST_TIMEOUT_S)
{
	struct saved_guest g;
	char com1[128], console[128], serial[160], con[160];
	struct vmm_proc p;
	long last;

	save_counting_guest(&g);
	snprintf(com1, sizeof(com1), "%s/com1-b.log", g.dir);
	snprintf(console, sizeof(console), "%s/console-b.log", g.dir);
	snprintf(serial, sizeof(serial), "file:%s", com1);
	snprintf(con, sizeof(con), "file:%s", console);
	vmm_spawn(&p, (const char *const[]){ "--restore", g.snap, "--serial",
					     serial, "--console", con, NULL });
	last = file_tick_past(com1, 0, WAIT_S);
	cr_assert_geq(last, 0, "nothing counted after the restore; stderr:\n%s",
		      vmm_stderr(&p));
	file_tick_past(com1, last + 30, WAIT_S);
	file_tick_past(console, last + 30, WAIT_S);
	vmm_signal(&p, SIGTERM);
	cr_assert_eq(vmm_wait(&p, WAIT_S), 128 + SIGTERM, "stderr:\n%s",
		     vmm_stderr(&p));
	expect_one_count(g.com1, com1, "COM1");
	expect_one_count(g.console, console, "virtio-console");
	vmm_cleanup(&p);
	remove_saved(&g);
}

/* A clone: a process with --api-sock alone, given the snapshot. */
static void restore_clone(struct api_vmm *v, const struct saved_guest *g,
			  const char *log_id)
{
	char params[1024], disk[160], console[160];

	api_vmm_start(v, NULL);
	snprintf(disk, sizeof(disk), "%s", api_path(v, "disk.img"));
	snprintf(console, sizeof(console), "%s", api_path(v, "console.log"));
	copy_file(g->disk, disk);
	snprintf(params, sizeof(params),
		 "{\"directory\":\"%s\",\"resume\":true,\"log_id\":\"%s\","
		 "\"overrides\":{\"scsi_disks\":[{\"host_path\":\"%s\"}],"
		 "\"console\":{\"type\":\"FILE\",\"path\":\"%s\"},"
		 "\"serial_config\":{\"ports\":[{\"port\":0,\"socket_path\":\"%s\"}]}}}",
		 g->snap, log_id, disk, console, api_path(v, "com1.sock"));
	json_object_put(api_ok(v, "RestoreVM", params));
}

Test(snapshot, clones_of_one_snapshot_run_side_by_side,
     .timeout = TEST_TIMEOUT_S)
{
	static char out[2][65536];
	struct saved_guest g;
	struct api_vmm v[2];
	long at_save, first, last;
	int com[2];
	char *text;

	save_counting_guest(&g);
	text = slurp(g.com1, NULL);
	at_save = last_tick(text);
	free(text);
	restore_clone(&v[0], &g, "clone-0");
	restore_clone(&v[1], &g, "clone-1");
	for (int i = 0; i < 2; i++) {
		struct json_object *r = api_ok(&v[i], "InspectVM", NULL);

		cr_assert_str_eq(jstr(r, "result.state"), "running");
		cr_assert_str_eq(jstr(r, "result.log_id"), i ? "clone-1" : "clone-0");
		cr_assert_str_eq(jstr(r, "result.config.memory_config.memory_mb"), "64");
		json_object_put(r);
		com[i] = api_connect(api_path(&v[i], "com1.sock"));
	}
	for (int i = 0; i < 2; i++) {
		cr_assert(tick_past(com[i], out[i], sizeof(out[i]), at_save + 50),
			  "clone %d does not count on from %ld:\n%s", i, at_save,
			  out[i]);
		/* Each clone counts from the snapshot, not from zero. */
		cr_assert_gt(count_ticks(out[i], true, &first, &last), 0);
		cr_assert_geq(first, at_save, "clone %d", i);
	}
	/* A clone is a VM like any other: the API drives it. */
	json_object_put(api_ok(&v[0], "PauseVM", NULL));
	api_fails(&v[0], "RestoreVM", "{\"directory\":\"/nowhere\"}",
		  RPC_BAD_STATE, "a VM already exists");
	for (int i = 0; i < 2; i++) {
		close(com[i]);
		unlink(api_path(&v[i], "disk.img"));
		unlink(api_path(&v[i], "console.log"));
		api_vmm_quit(&v[i]);
	}
	remove_saved(&g);
}

/* ---- refusals ---- */

/* The state file in memory, changed by a test and written back. */
struct state_file {
	char path[160];
	uint8_t *buf;
	size_t len;
};

static void state_load(struct state_file *f, const struct saved_guest *g)
{
	snprintf(f->path, sizeof(f->path), "%s/state", g->snap);
	f->buf = (uint8_t *)slurp(f->path, &f->len);
}

/* Writes it back with checksums that match: only the change is wrong. */
static void state_store(struct state_file *f)
{
	int fd = open(f->path, O_WRONLY | O_TRUNC);

	put_le32(f->buf + 24, state_crc32c(f->buf + STATE_HEADER_SIZE,
					   f->len - STATE_HEADER_SIZE));
	put_le32(f->buf + 28, state_crc32c(f->buf, 28));
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, f->buf, f->len), (ssize_t)f->len);
	close(fd);
}

/*
 * Replaces the first @from in the file with @to, as long, so the records
 * stay whole, and writes it back with checksums that match.
 */
static void state_replace(struct state_file *f, const char *from, const char *to)
{
	uint8_t *p = memmem(f->buf, f->len, from, strlen(from));

	cr_assert_not_null(p, "no \"%s\" in the state file", from);
	cr_assert_eq(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
	state_store(f);
}

/*
 * Runs vmm --restore on @g and expects @status with a message naming the
 * snapshot's @name file and saying @msg on stderr.
 */
static void expect_restore_refused(const struct saved_guest *g, int status,
				   const char *name, const char *msg)
{
	struct vmm_proc p;
	char file[200];
	char *err;
	int got;

	snprintf(file, sizeof(file), "%s/%s: ", g->snap, name);

	got = vmm_run(&p, (const char *const[]){ "--restore", g->snap,
						 "--serial", "none", NULL },
		      WAIT_S);
	err = vmm_stderr(&p);
	cr_assert_eq(got, status, "exit status %d, stderr:\n%s", got, err);
	cr_assert(strstr(err, msg), "stderr lacks \"%s\":\n%s", msg, err);
	cr_assert(strstr(err, file), "stderr does not name %s:\n%s", file, err);
	free(err);
	vmm_cleanup(&p);
}

/* Sets a CPUID bit in vCPU 0's saved CPUID that this host does not have. */
static void foreign_cpu(struct state_file *f)
{
	struct state_section root, vcpu;
	const uint8_t *cpuid;
	uint32_t len;
	size_t pos = 0;
	struct err e;

	cr_assert_eq(state_open(f->buf, f->len, &root, &e), 0, "%s", e.msg);
	cr_assert_eq(state_next(&root, "vcpu", &pos, &vcpu), 1);
	cr_assert_eq(state_get_blob(&vcpu, "cpuid", &cpuid, &len, 1 << 20, &e), 0);
	/* struct kvm_cpuid_entry2: function, index, flags, eax..edx, padding. */
	for (uint32_t i = 0; i + 40 <= len; i += 40) {
		uint8_t *ent = (uint8_t *)cpuid + i;
		uint32_t ebx = get_le32(ent + 16);

		if (get_le32(ent) != 7 || get_le32(ent + 4) != 0)
			continue;
		put_le32(ent + 16, ebx | (~ebx & -~ebx));
		return;
	}
	cr_assert_fail("no CPUID leaf 7 in the snapshot");
}

Test(snapshot, broken_foreign_and_mismatched_snapshots_are_refused,
     .timeout = TEST_TIMEOUT_S)
{
	struct saved_guest g;
	struct state_file f;
	char path[160];
	struct vmm_proc p;
	uint8_t *orig;
	size_t len;
	char *mem;
	int fd;

	save_counting_guest(&g);
	state_load(&f, &g);
	orig = malloc(f.len);
	memcpy(orig, f.buf, f.len);

	/* A byte changed on disk: the checksum catches it. */
	f.buf[f.len - 1] ^= 0x40;
	fd = open(f.path, O_WRONLY);
	cr_assert_eq(pwrite(fd, f.buf + f.len - 1, 1, (off_t)f.len - 1), 1);
	close(fd);
	expect_restore_refused(&g, 65, "state", "the file is corrupt");
	f.buf[f.len - 1] ^= 0x40;

	state_store(&f);
	cr_assert_eq(truncate(f.path, (off_t)f.len - 10), 0);
	expect_restore_refused(&g, 65, "state", "truncated");

	state_replace(&f, "0.1.0", "9.9.9");
	expect_restore_refused(&g, 65, "state", "written by vmm 9.9.9; this is vmm 0.1.0");
	memcpy(f.buf, orig, f.len);

	put_le32(f.buf + 8, 2);
	state_store(&f);
	expect_restore_refused(&g, 65, "state",
			       "state format version 2; this VMM reads version 1 only");
	memcpy(f.buf, orig, f.len);

	state_replace(&f, "x86_64", "arm64_");
	expect_restore_refused(&g, 65, "state", "taken on an arm64_ host; this host is x86_64");
	memcpy(f.buf, orig, f.len);

	foreign_cpu(&f);
	state_store(&f);
	expect_restore_refused(&g, 65, "state", "the CPU differs: the snapshot's guest has CPUID.(EAX=0x7,ECX=0):EBX bit");
	memcpy(f.buf, orig, f.len);
	state_store(&f);

	snprintf(path, sizeof(path), "%s/memory", g.snap);
	mem = slurp(path, &len);
	free(mem);
	cr_assert_eq(truncate(path, (off_t)len - 4096), 0);
	expect_restore_refused(&g, 65, "memory", "truncated");

	/* The command line cannot change what the guest sees. */
	cr_assert_eq(vmm_run(&p, (const char *const[]){ "--restore", g.snap,
							"--memory", "128", NULL },
			     WAIT_S), 64);
	cr_assert(strstr(vmm_stderr(&p), "--memory: a restored VM keeps the snapshot's"));
	vmm_cleanup(&p);
	cr_assert_eq(vmm_run(&p, (const char *const[]){ "--restore", g.snap,
							"--disk", g.disk, "--disk",
							g.disk, NULL }, WAIT_S), 64);
	cr_assert(strstr(vmm_stderr(&p), "2 disks given; the snapshot has 1"));
	vmm_cleanup(&p);
	cr_assert_eq(vmm_run(&p, (const char *const[]){ "--restore", g.snap,
							"--paused", NULL }, WAIT_S), 64);
	cr_assert(strstr(vmm_stderr(&p), "--paused needs --api-sock"));
	vmm_cleanup(&p);
	cr_assert_eq(vmm_run(&p, (const char *const[]){ "--restore", g.snap,
							"--config", g.disk, NULL },
			     WAIT_S), 64);
	cr_assert(strstr(vmm_stderr(&p), "--config: a restored VM is the snapshot's"));
	vmm_cleanup(&p);
	cr_assert_eq(vmm_run(&p, (const char *const[]){ "--restore", g.snap,
							"--transport", "pci", NULL },
			     WAIT_S), 64);
	cr_assert(strstr(vmm_stderr(&p), "--transport: a restored VM keeps the snapshot's"));
	vmm_cleanup(&p);
	cr_assert_eq(vmm_run(&p, (const char *const[]){ "--restore", "/nonexistent/snap",
							NULL }, WAIT_S), 66);
	vmm_cleanup(&p);
	free(orig);
	free(f.buf);
	remove_saved(&g);
}

/*
 * The snapshot format does not hold virtio-pci's state: SnapshotVM says so
 * before it pauses the VM, which runs on, and writes nothing.
 */
Test(snapshot, a_pci_vm_is_refused_before_it_is_paused,
     .timeout = TEST_TIMEOUT_S)
{
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--transport", "pci", "--cmdline", "console=ttyS0 testguest.halt=1",
		NULL,
	};
	struct json_object *r;
	char params[256];
	struct api_vmm v;
	struct stat st;

	api_vmm_start(&v, extra);
	snprintf(params, sizeof(params), "{\"directory\":\"%s\"}",
		 api_path(&v, "snap"));
	api_fails(&v, "SnapshotVM", params, RPC_UNSUPPORTED,
		  "a VM with --transport pci cannot be snapshotted");
	cr_assert_neq(stat(api_path(&v, "snap"), &st), 0,
		      "the refused snapshot's directory was created");
	r = api_ok(&v, "InspectVM", NULL);
	cr_assert_str_eq(jstr(r, "result.state"), "running");
	json_object_put(r);
	api_vmm_quit(&v);
}
