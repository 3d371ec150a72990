// SPDX-License-Identifier: MIT
/*
 * The PCI transport end to end with the test guest: it finds the host
 * bridge and its functions through ECAM and the configuration ports,
 * places the BARs itself and drives virtio-pci devices; and it plays an
 * OS's ACPI hotplug handler (images/testguest/pci.h) while vmmctl adds
 * and removes disks through the control socket.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "harness.h"

#define TIMEOUT_S 180
/* The contract with images/testguest/virtio.h. */
#define BLK_SECTOR 8
#define BLK_LEN 1024
#define CONSOLE_LINE "testguest: hello over virtio-console\n"

static bool image_written(const char *path)
{
	uint8_t buf[BLK_LEN];
	int fd = open(path, O_RDONLY);
	bool ok = true;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, BLK_LEN, BLK_SECTOR * 512), BLK_LEN);
	close(fd);
	for (unsigned int i = 0; i < BLK_LEN; i++)
		ok &= buf[i] == (uint8_t)(i * 13 + 7);
	return ok;
}

/* True when process @pid has @path open. */
static bool holds_open(pid_t pid, const char *path)
{
	char dir[64], link[80], target[PATH_MAX];
	bool found = false;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	for (int fd = 0; fd < 1024 && !found; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%d", dir, fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found = !strcmp(target, path);
	}
	return found;
}

/* InspectVM lists the device @name with its transport and address. */
static void expect_device(struct json_object *view, const char *name,
			  const char *transport, const char *address)
{
	struct json_object *devs;

	cr_assert(json_object_object_get_ex(json_object_object_get(view, "result"),
					    "devices", &devs));
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);

		if (strcmp(jstr(d, "name"), name))
			continue;
		cr_expect_str_eq(jstr(d, "transport"), transport);
		cr_expect_str_eq(jstr(d, "address"), address);
		return;
	}
	cr_assert_fail("InspectVM lists no %s: %s", name,
		       json_object_to_json_string(devs));
}

Test(pci_e2e, devices_over_pci, .timeout = TIMEOUT_S + 10)
{
	char image[64], console[96], disk[128], *out, *err, *con;
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--transport", "pci", "--disk", disk, "--console", console,
		"--cmdline",
		"console=ttyS0 testguest.pci=1 testguest.pci_devices=2 "
		"testguest.virtio=blk,console testguest.blk_serial=pci-disk-1 "
		"testguest.mem=64",
		NULL,
	};
	struct vmm_proc p;
	int status;

	make_test_disk(image, 1 << 20);
	snprintf(disk, sizeof(disk), "%s,serial=pci-disk-1", image);
	snprintf(console, sizeof(console), "file:%s.console", image);
	status = vmm_run(&p, argv, TIMEOUT_S);
	out = vmm_stdout(&p);
	cr_expect(strstr(out, "PASS pci"), "serial log:\n%s", out);
	cr_expect(strstr(out, "PASS e820"), "serial log:\n%s", out);
	cr_expect(strstr(out, "PASS virtio_blk"), "serial log:\n%s", out);
	cr_expect(strstr(out, "PASS virtio_console"), "serial log:\n%s", out);
	cr_expect_null(strstr(out, "FAIL"), "serial log:\n%s", out);
	cr_expect_null(strstr(out, "virtio_mmio.device="),
		       "PCI devices are not announced on the command line");
	err = vmm_stderr(&p);
	cr_expect(err && strstr(err, "2 virtio devices"), "start-up line:\n%s", err);
	free(err);
	cr_expect_eq(status, 0, "exit status %d", status);
	cr_expect(image_written(image), "the guest's write is not in the image");
	con = slurp(console + 5, NULL);
	cr_expect(con && strstr(con, CONSOLE_LINE), "console file: %s", con);
	free(con);
	free(out);
	vmm_cleanup(&p);
	unlink(console + 5);
	unlink(image);
}

/* vmmctl --sock SOCK ARGS...; its exit status, stdout and stderr. */
static int ctl(struct api_vmm *v, const char *const *args, char **out,
	       char **err)
{
	const char *argv[16] = { "--sock", v->sock };
	size_t n = 2;

	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	return vmmctl(argv, out, err);
}

static void start_hotplug_guest(struct api_vmm *v, const char *agent)
{
	static char cmdline[160];
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--transport", "pci", "--cmdline", cmdline, NULL,
	};

	snprintf(cmdline, sizeof(cmdline),
		 "console=ttyS0 testguest.pci=1 testguest.pci_devices=0 "
		 "testguest.hotplug=%s", agent);
	api_vmm_start(v, extra);
	cr_assert(vmm_wait_output(&v->p, "HOTPLUG ready", TIMEOUT_S),
		  "the guest's hotplug agent never started");
}

Test(pci_e2e, disk_hotplug_through_vmmctl, .timeout = TIMEOUT_S * 2)
{
	char image[64], *out, *err;
	const char *add[] = { "disk", "add", "0:3", image, "serial=hot-3", NULL };
	const char *remove[] = { "disk", "remove", "3", NULL };
	const char *same_serial[] = { "disk", "add", "1:4", image, "serial=hot-3",
				      NULL };
	struct json_object *view;
	struct api_vmm v;

	make_test_disk(image, 1 << 20);
	start_hotplug_guest(&v, "eject");
	cr_assert_eq(ctl(&v, add, &out, &err), 0, "stderr: %s", err);
	free(out);
	free(err);
	cr_assert(vmm_wait_output(&v.p, "HOTPLUG added slot 1 1af4:1042",
				  TIMEOUT_S), "the guest never saw the disk");
	cr_assert(holds_open(v.p.pid, image));
	view = api_ok(&v, "InspectVM", NULL);
	cr_expect_eq(jint(view, "result.config.devices_config.scsi_disks.0.lun"), 3);
	expect_device(view, "virtio-blk@0000:00:01.0", "pci", "0000:00:01.0");
	json_object_put(view);
	/* The same address twice is refused; the first disk stays. */
	cr_assert_eq(ctl(&v, add, &out, &err), 1);
	cr_expect(strstr(err, "controller 0, lun 3 is taken"), "%s", err);
	free(out);
	free(err);
	/* So is its serial at another address: the guest finds disks by it. */
	cr_assert_eq(ctl(&v, same_serial, &out, &err), 1);
	cr_expect(strstr(err, "serial hot-3 is taken"), "%s", err);
	free(out);
	free(err);

	/* Removal answers once the guest ejected it and the image is closed. */
	cr_assert_eq(ctl(&v, remove, &out, &err), 0, "stderr: %s", err);
	free(out);
	free(err);
	cr_assert(vmm_wait_output(&v.p, "HOTPLUG ejected slot 1 vendor now ffff",
				  TIMEOUT_S));
	cr_expect(!holds_open(v.p.pid, image), "the image is still open");
	view = api_ok(&v, "InspectVM", "{\"query\":\"config.devices_config\"}");
	cr_expect_eq(json_object_array_length(json_object_object_get(
			     json_object_object_get(view, "result"),
			     "scsi_disks")), 0, "%s",
		     json_object_to_json_string(view));
	json_object_put(view);
	cr_assert_eq(ctl(&v, remove, &out, &err), 1);
	cr_expect(strstr(err, "no disk at controller 0, lun 3"), "%s", err);
	free(out);
	free(err);
	/* The slot is free again. */
	cr_assert_eq(ctl(&v, add, &out, &err), 0, "stderr: %s", err);
	free(out);
	free(err);
	cr_expect(holds_open(v.p.pid, image));
	view = api_ok(&v, "InspectVM", NULL);
	expect_device(view, "virtio-blk@0000:00:01.0", "pci", "0000:00:01.0");
	json_object_put(view);
	api_vmm_quit(&v);
	unlink(image);
}

Test(pci_e2e, removal_the_guest_refuses, .timeout = TIMEOUT_S * 2)
{
	char image[64], *out, *err;
	const char *add[] = { "disk", "add", "0", image, NULL };
	const char *remove[] = { "disk", "remove", "0", NULL };
	struct api_vmm v;

	make_test_disk(image, 1 << 20);
	start_hotplug_guest(&v, "refuse");
	cr_assert_eq(ctl(&v, add, &out, &err), 0, "stderr: %s", err);
	free(out);
	free(err);
	cr_assert(vmm_wait_output(&v.p, "HOTPLUG added slot 1", TIMEOUT_S));
	cr_assert_eq(ctl(&v, remove, &out, &err), 1);
	cr_expect(strstr(err, "refused to eject slot 1 (_OST status 0x82: device busy)"),
		  "stderr: %s", err);
	free(out);
	free(err);
	cr_expect(holds_open(v.p.pid, image), "the refused disk stays");
	api_vmm_quit(&v);
	unlink(image);
}

Test(pci_e2e, hotplug_errors, .timeout = TIMEOUT_S)
{
	const char *extra[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--cmdline", "console=ttyS0 testguest.halt=1", NULL,
	};
	const char *disk[] = { "disk", "add", "0", "/var/tmp/none.img", NULL };
	const char *nic[] = { "net", "remove", "nic-1", NULL };
	char *out, *err;
	struct api_vmm v;

	/* A virtio-mmio VM: its devices are fixed. */
	api_vmm_start(&v, extra);
	cr_assert_eq(ctl(&v, disk, &out, &err), 1);
	cr_expect(strstr(err, "needs a VM on the PCI transport"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(ctl(&v, nic, &out, &err), 1);
	cr_expect(strstr(err, "needs a VM on the PCI transport"), "%s", err);
	free(out);
	free(err);
	api_vmm_quit(&v);
}

Test(pci_e2e, hotplug_of_what_cannot_be_opened, .timeout = TIMEOUT_S)
{
	const char *disk[] = { "disk", "add", "0", "/nonexistent/disk.img", NULL };
	const char *nic[] = { "net", "add", "vmm-no-such-tap0", NULL };
	const char *unknown[] = { "net", "remove", "nic-7", NULL };
	char *out, *err;
	struct api_vmm v;

	start_hotplug_guest(&v, "eject");
	cr_assert_eq(ctl(&v, disk, &out, &err), 1);
	cr_expect(strstr(err, "/nonexistent/disk.img: No such file or directory"),
		  "%s", err);
	free(out);
	free(err);
	cr_assert_eq(ctl(&v, nic, &out, &err), 1);
	cr_expect(strstr(err, "vmm-no-such-tap0"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(ctl(&v, unknown, &out, &err), 1);
	cr_expect(strstr(err, "no network device with nic_id or TAP name nic-7"),
		  "%s", err);
	free(out);
	free(err);
	api_vmm_quit(&v);
}
