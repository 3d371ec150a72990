// SPDX-License-Identifier: MIT
/*
 * Operating the VMM: the counters of a guest's real I/O through the
 * control socket, vmmctl and the metrics file; a rate-limited disk that
 * holds the guest's requests and loses none; a VM booted from a CreateVM
 * config file; JSON logs; SIGTERM pressing the power button before it
 * stops a guest; a served process that ends with its VM.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_helpers.h"
#include "vmm/api/rpc.h"
#include "vmm/arch.h"

#define TEST_TIMEOUT_S 240
#define GUEST_LINE "console=ttyS0 testguest.cpus=1 testguest.mem=64"
#define GUEST_DONE "testguest: 0 of 6 checks failed"
/* The guest reads sector 0, writes 1 KiB, flushes, reads it back, then idles. */
#define BLK_LINE "console=ttyS0 testguest.virtio=blk testguest.halt=1"

static const char *metric(struct json_object *r, const char *path)
{
	char full[256];

	snprintf(full, sizeof(full), "metrics.%s", path);
	return jstr(r, full);
}

/* Waits until @path holds @needle; false after @timeout_s. */
static bool file_has(const char *path, const char *needle, int timeout_s)
{
	for (int i = 0; i < timeout_s * 20; i++) {
		char *s = slurp(path, NULL);
		bool found = s && strstr(s, needle);

		free(s);
		if (found)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

Test(ops, metrics_count_the_guests_disk_io, .timeout = TEST_TIMEOUT_S)
{
	char image[64], prom[64] = "/tmp/vmm-metrics-XXXXXX", *out, *err;
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--disk", image, "--cmdline", BLK_LINE, "--metrics", prom,
		"--metrics-interval", "1", NULL,
	};
	const char *ctl[] = { "--sock", NULL, "metrics", "--prometheus", NULL };
	struct api_vmm v;
	struct json_object *r;
	int fd;

	make_test_disk(image, 1 << 20);
	fd = mkstemp(prom);
	cr_assert_geq(fd, 0);
	close(fd);
	api_vmm_start(&v, extra);
	cr_assert(vmm_wait_output(&v.p, "HALTING", API_TIMEOUT_S),
		  "the guest never finished its disk check");
	out = vmm_stdout(&v.p);
	cr_assert(strstr(out, "PASS virtio_blk"), "%s", out);
	free(out);

	r = api_ok(&v, "GetMetrics", NULL);
	cr_assert_str_eq(metric(r, "blk.disk0.reads"), "2");
	cr_assert_str_eq(metric(r, "blk.disk0.read_bytes"), "1536");
	cr_assert_str_eq(metric(r, "blk.disk0.writes"), "1");
	cr_assert_str_eq(metric(r, "blk.disk0.write_bytes"), "1024");
	cr_assert_str_eq(metric(r, "blk.disk0.flushes"), "1");
	cr_assert_str_eq(metric(r, "blk.disk0.errors"), "0");
	cr_assert_str_eq(metric(r, "blk.disk0.throttled"), "0");
	cr_assert_str_eq(metric(r, "blk.disk0.latency.count"), "4");
	cr_assert_gt(atoll(metric(r, "vcpu.0.exits.io")), 0);
	cr_assert_gt(atoll(metric(r, "serial.com1.out_bytes")), 0);
	cr_assert_str_eq(metric(r, "api.requests.GetMetrics"), "1");
	json_object_put(r);

	ctl[1] = v.sock;
	cr_assert_eq(vmmctl(ctl, &out, &err), 0, "%s", err);
	cr_assert(strstr(out, "# TYPE vmm_blk_reads_total counter\n"
			      "vmm_blk_reads_total{device=\"disk0\"} 2\n"),
		  "%s", out);
	free(out);
	free(err);
	cr_assert(file_has(prom, "vmm_blk_write_bytes_total{device=\"disk0\"} 1024\n",
			   10), "the metrics file never showed the write");
	api_vmm_quit(&v);
	unlink(prom);
	unlink(image);
}

Test(ops, a_rate_limited_disk_holds_the_guests_requests, .timeout = TEST_TIMEOUT_S)
{
	char image[64], disk[128], *out, *err;
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--disk", disk, "--cmdline", BLK_LINE, NULL,
	};
	const char *limit[] = { "--sock", NULL, "limit", "disk0", "iops=1000",
				"bw=8M", NULL };
	struct api_vmm v;
	struct json_object *r;

	make_test_disk(image, 1 << 20);
	/* Four requests at four a second, one at a time: three must wait. */
	snprintf(disk, sizeof(disk), "%s,iops=4,iops_burst=1", image);
	api_vmm_start(&v, extra);
	cr_assert(vmm_wait_output(&v.p, "HALTING", API_TIMEOUT_S));
	out = vmm_stdout(&v.p);
	cr_assert(strstr(out, "PASS virtio_blk"), "%s", out);
	free(out);
	r = api_ok(&v, "GetMetrics", NULL);
	cr_assert_geq(atoll(metric(r, "blk.disk0.throttled")), 3,
		      "the limit never held a request");
	cr_assert_str_eq(metric(r, "blk.disk0.reads"), "2");
	cr_assert_str_eq(metric(r, "blk.disk0.errors"), "0");
	json_object_put(r);

	limit[1] = v.sock;
	cr_assert_eq(vmmctl(limit, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	r = api_ok(&v, "InspectVM",
		   "{\"query\":\"config.devices_config.scsi_disks\"}");
	cr_assert_str_eq(jstr(json_object_array_get_idx(
				      json_object_object_get(r, "result"), 0),
			      "rate_limit.bw"),
			 "8388608");
	json_object_put(r);
	api_fails(&v, "SetRateLimit", "{\"device\":\"net0\"}", RPC_NO_DEVICE,
		  "no net0");
	api_vmm_quit(&v);
	unlink(image);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(ops, a_config_file_boots_like_create_vm, .timeout = TEST_TIMEOUT_S)
{
	char path[] = "/tmp/vmm-config-XXXXXX.json", json[1024], *out, *err;
	const char *argv[] = { "--config", path, NULL };
	struct vmm_proc p;
	int fd = mkstemps(path, 5);

	cr_assert_geq(fd, 0);
	close(fd);
	/* A CreateVMRequest, COM1 on stdio as the service's journal wants. */
	snprintf(json, sizeof(json),
		 "{\"log_id\":\"e2e\",\"config\":{"
		 "\"memory_config\":{\"memory_mb\":\"64\"},"
		 "\"direct_boot\":{\"kernel_path\":\"%s\",\"kernel_cmdline\":\"%s\"},"
		 "\"extra_data\":{\"serial_0\":\"stdio\"}}}",
		 image_path("testguest.bzImage"), GUEST_LINE);
	write_file(path, json);
	cr_assert_eq(vmm_run(&p, argv, TEST_TIMEOUT_S), 0, "%s",
		     (err = vmm_stderr(&p)));
	out = vmm_stdout(&p);
	cr_assert(strstr(out, GUEST_DONE), "%s", out);
	free(out);
	vmm_cleanup(&p);

	/* A bare VMConfig, as vmmctl create takes it. */
	snprintf(json, sizeof(json),
		 "{\"memory_config\":{\"memory_mb\":64},"
		 "\"direct_boot\":{\"kernel_path\":\"%s\",\"kernel_cmdline\":\"%s\"},"
		 "\"extra_data\":{\"serial_0\":\"stdio\"}}",
		 image_path("testguest.bzImage"), GUEST_LINE);
	write_file(path, json);
	cr_assert_eq(vmm_run(&p, argv, TEST_TIMEOUT_S), 0);
	out = vmm_stdout(&p);
	cr_assert(strstr(out, GUEST_DONE), "%s", out);
	free(out);
	vmm_cleanup(&p);

	write_file(path, "{\"memory_config\":{\"memory_mb\":\"lots\"},"
			 "\"direct_boot\":{\"kernel_path\":\"/k\"}}");
	cr_assert_eq(vmm_run(&p, argv, 30), 64);
	err = vmm_stderr(&p);
	cr_assert(strstr(err, path) && strstr(err, "config.memory_config.memory_mb"),
		  "%s", err);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	free(err);
	vmm_cleanup(&p);

	write_file(path, "{\"memory_config\":");
	cr_assert_eq(vmm_run(&p, argv, 30), 64);
	vmm_cleanup(&p);
	unlink(path);

	cr_assert_eq(vmm_run(&p, argv, 30), 66);
	err = vmm_stderr(&p);
	cr_assert(strstr(err, "No such file"), "%s", err);
	free(err);
	vmm_cleanup(&p);
}

/* Starts a guest that ticks until stopped, with @flag @value; waits for it. */
static void spawn_ticking(struct vmm_proc *p, const char *flag,
			  const char *value)
{
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--cmdline", TICK_LINE, flag, value, NULL,
	};

	vmm_spawn(p, argv);
	cr_assert(vmm_wait_output(p, "TICK 1", API_TIMEOUT_S));
}

Test(ops, json_logs_are_one_object_per_line, .timeout = TEST_TIMEOUT_S)
{
	struct vmm_proc p;
	struct json_object *o;
	bool signalled = false;
	char *err;

	spawn_ticking(&p, "--log-format", "json");
	vmm_signal(&p, SIGTERM);
	cr_assert_eq(vmm_wait(&p, API_TIMEOUT_S), 128 + SIGTERM);
	err = vmm_stderr(&p);
	/* Where KVM emulates guest instructions, a warning says so first. */
	cr_assert_eq(count_lines(err), arch_host_emulation() ? 3 : 2, "%s", err);
	for (char *save, *line = strtok_r(err, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		o = json_tokener_parse(line);
		cr_assert_not_null(o, "not JSON: %s", line);
		cr_assert_str_eq(jstr(o, "level"),
				 strstr(jstr(o, "message"), "emulates guest instructions") ?
				 "warn" : "info");
		cr_assert_neq(strlen(jstr(o, "time")), 0);
		if (strstr(jstr(o, "message"), "received signal"))
			signalled = true;
		json_object_put(o);
	}
	cr_assert(signalled, "no line about the signal");
	free(err);
	vmm_cleanup(&p);
}

Test(ops, sigterm_presses_the_power_button_then_stops_the_guest,
     .timeout = TEST_TIMEOUT_S)
{
	struct vmm_proc p;
	char *err;

	/* The test guest ignores the power button: the timeout stops it. */
	spawn_ticking(&p, "--shutdown-timeout", "1");
	vmm_signal(&p, SIGTERM);
	cr_assert_eq(vmm_wait(&p, API_TIMEOUT_S), 128 + SIGTERM);
	err = vmm_stderr(&p);
	cr_assert(strstr(err, "power button pressed"), "%s", err);
	cr_assert(strstr(err, "asked the guest to power off; stopping it in 1 s"),
		  "%s", err);
	cr_assert(strstr(err, "did not power off within 1 s of SIGTERM"), "%s",
		  err);
	free(err);
	vmm_cleanup(&p);

	/* A second signal does not wait for the guest. */
	spawn_ticking(&p, "--shutdown-timeout", "3600");
	vmm_signal(&p, SIGTERM);
	cr_assert(vmm_wait_output(&p, "TICK 5", API_TIMEOUT_S),
		  "the guest stopped at the first SIGTERM");
	vmm_signal(&p, SIGINT);
	cr_assert_eq(vmm_wait(&p, API_TIMEOUT_S), 128 + SIGINT);
	vmm_cleanup(&p);
}

Test(ops, shutdown_through_vmmctl_waits_for_the_guest, .timeout = TEST_TIMEOUT_S)
{
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--cmdline", TICK_LINE, NULL,
	};
	const char *shutdown[] = { "--sock", NULL, "shutdown", "--timeout", "1",
				   NULL };
	struct api_vmm v;
	struct json_object *r;
	char *out, *err;

	api_vmm_start(&v, extra);
	cr_assert(vmm_wait_output(&v.p, "TICK 1", API_TIMEOUT_S));
	shutdown[1] = v.sock;
	cr_assert_eq(vmmctl(shutdown, &out, &err), 1);
	cr_assert(strstr(err, "the VM did not stop within 1 s"), "%s", err);
	free(out);
	free(err);
	r = api_ok(&v, "GetMetrics", NULL);
	cr_assert_str_eq(metric(r, "api.requests.ShutdownVM"), "1");
	cr_assert_str_eq(metric(r, "api.errors.ShutdownVM"), "0");
	json_object_put(r);
	api_vmm_quit(&v);
}

Test(ops, exit_with_vm_ends_the_served_process, .timeout = TEST_TIMEOUT_S)
{
	const char *extra[] = { "--exit-with-vm", NULL };
	const char *bad[] = { "--exit-with-vm", "--kernel", "/k", NULL };
	struct vmm_proc p;
	struct api_vmm v;
	char params[1024], *err;

	api_vmm_start(&v, extra);
	api_create_params(params, sizeof(params), image_path("testguest.bzImage"),
			  GUEST_LINE, 1, NULL);
	json_object_put(api_ok(&v, "CreateVM", params));
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	/* The guest passes and writes 0 to debug-exit: the process ends with it. */
	cr_assert_eq(vmm_wait(&v.p, API_TIMEOUT_S), 0);
	api_vmm_quit(&v);

	cr_assert_eq(vmm_run(&p, bad, 30), 64);
	err = vmm_stderr(&p);
	cr_assert(strstr(err, "--exit-with-vm needs --api-sock"), "%s", err);
	free(err);
	vmm_cleanup(&p);
}
