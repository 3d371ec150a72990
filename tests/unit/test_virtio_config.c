// SPDX-License-Identifier: MIT
/* The --disk, --net and --console flag values. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/config_devices.h"

static struct vm_config cfg;
static struct err e;

static void setup(void)
{
	vm_config_init(&cfg);
	memset(&e, 0, sizeof(e));
}

static void teardown(void)
{
	vm_config_free(&cfg);
}

TestSuite(virtio_flags, .init = setup, .fini = teardown);

Test(virtio_flags, disk_forms)
{
	cr_assert_eq(config_add_disk(&cfg, "/img/a.raw", &e), 0, "%s", e.msg);
	cr_assert_eq(config_add_disk(&cfg, "b.raw,ro,serial=data-1", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(config_add_disk(&cfg, "c.raw,serial=X:1.2_3,ro", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(cfg.nr_disks, 3);
	cr_assert_str_eq(cfg.disks[0].path, "/img/a.raw");
	cr_assert_not(cfg.disks[0].read_only);
	cr_assert_null(cfg.disks[0].serial);
	cr_assert_str_eq(cfg.disks[1].path, "b.raw");
	cr_assert(cfg.disks[1].read_only);
	cr_assert_str_eq(cfg.disks[1].serial, "data-1");
	cr_assert_str_eq(cfg.disks[2].serial, "X:1.2_3");
	cr_assert(cfg.disks[2].read_only);
}

static void disk_error(const char *arg, const char *part)
{
	unsigned int before = cfg.nr_disks;

	cr_assert_eq(config_add_disk(&cfg, arg, &e), -1, "'%s' accepted", arg);
	cr_assert(strstr(e.msg, "--disk"), "%s", e.msg);
	cr_assert(strstr(e.msg, part), "'%s' not in: %s", part, e.msg);
	cr_assert_eq(cfg.nr_disks, before, "nothing added on error");
}

Test(virtio_flags, disk_errors_name_the_bad_part)
{
	disk_error("", "path is empty");
	disk_error(",ro", "path is empty");
	disk_error("a.raw,rw", "unknown option 'rw'");
	disk_error("a.raw,,ro", "unknown option ''");
	disk_error("a.raw,serial=", "serial ''");
	disk_error("a.raw,serial=123456789012345678901", "1 to 20 characters");
	disk_error("a.raw,serial=has space", "may only use");
	disk_error("a.raw,serial=a,serial=b", "serial given twice");
	for (int i = 0; i < CONFIG_MAX_DISKS; i++)
		cr_assert_eq(config_add_disk(&cfg, "x.raw", &e), 0);
	disk_error("one-too-many.raw", "at most 16 disks");
}

Test(virtio_flags, net_forms)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

	cr_assert_eq(config_add_net(&cfg, "tap=tap0", &e), 0, "%s", e.msg);
	cr_assert_eq(config_add_net(&cfg, "fd=5,mac=52:54:00:AB:cd:ef", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(config_add_net(&cfg, "mac=52:54:00:ab:cd:ef,tap=vmtap.1", &e),
		     0, "%s", e.msg);
	cr_assert_eq(cfg.nr_nets, 3);
	cr_assert_str_eq(cfg.nets[0].tap_name, "tap0");
	cr_assert_eq(cfg.nets[0].tap_fd, -1);
	cr_assert_not(cfg.nets[0].has_mac);
	cr_assert_null(cfg.nets[1].tap_name);
	cr_assert_eq(cfg.nets[1].tap_fd, 5);
	cr_assert(cfg.nets[1].has_mac);
	cr_assert_eq(memcmp(cfg.nets[1].mac, mac, 6), 0);
	cr_assert_str_eq(cfg.nets[2].tap_name, "vmtap.1");
}

static void net_error(const char *arg, const char *part)
{
	unsigned int before = cfg.nr_nets;

	cr_assert_eq(config_add_net(&cfg, arg, &e), -1, "'%s' accepted", arg);
	cr_assert(strstr(e.msg, "--net"), "%s", e.msg);
	cr_assert(strstr(e.msg, part), "'%s' not in: %s", part, e.msg);
	cr_assert_eq(cfg.nr_nets, before);
}

Test(virtio_flags, net_errors_name_the_bad_part)
{
	net_error("", "unknown option ''");
	net_error("mac=52:54:00:00:00:01", "needs tap=NAME or fd=N");
	net_error("tap=a,fd=3", "one of tap=NAME or fd=N");
	net_error("tap=", "'' is not an interface name");
	net_error("tap=sixteen-chars-xy", "not an interface name");
	net_error("tap=a/b", "not an interface name");
	net_error("fd=", "not a descriptor number");
	net_error("fd=-1", "not a descriptor number");
	net_error("fd=3x", "not a descriptor number");
	net_error("fd=99999999999", "not a descriptor number");
	net_error("tap=t0,mac=01:00:5e:00:00:01", "not a unicast MAC");
	net_error("tap=t0,mac=00:00:00:00:00:00", "not a unicast MAC");
	net_error("tap=t0,mac=52:54:00:12:34", "not a unicast MAC");
	net_error("tap=t0,mac=52:54:00:12:34:56:78", "not a unicast MAC");
	net_error("tap=t0,mac=52-54-00-12-34-56", "not a unicast MAC");
	net_error("tap=t0,mac=52:54:00:12:34:5g", "not a unicast MAC");
	net_error("tap=t0,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac given twice");
	net_error("tap=t0,queues=2", "unknown option 'queues=2'");
	for (int i = 0; i < CONFIG_MAX_NETS; i++)
		cr_assert_eq(config_add_net(&cfg, "tap=t", &e), 0);
	net_error("tap=t", "at most 8");
}

Test(virtio_flags, console_destinations)
{
	cr_assert_eq(cfg.console.kind, CHARDEV_NONE, "no console by default");
	cr_assert_eq(config_set_console(&cfg, "socket:/run/c.sock", &e), 0);
	cr_assert_eq(cfg.console.kind, CHARDEV_SOCKET);
	cr_assert_str_eq(cfg.console.path, "/run/c.sock");
	cr_assert_eq(config_set_console(&cfg, "stdio", &e), 0);
	cr_assert_eq(cfg.console.kind, CHARDEV_STDIO);
	cr_assert_eq(config_set_console(&cfg, "file:out.log", &e), 0);
	cr_assert_eq(cfg.console.kind, CHARDEV_FILE);
	cr_assert_eq(config_set_console(&cfg, "none", &e), 0);
	cr_assert_eq(cfg.console.kind, CHARDEV_NONE);
	cr_assert_eq(config_set_console(&cfg, "tcp:1234", &e), -1);
	cr_assert(strstr(e.msg, "--console") && strstr(e.msg, "tcp:1234"),
		  "%s", e.msg);
	cr_assert_eq(config_set_console(&cfg, "file:", &e), -1);
	cr_assert(strstr(e.msg, "--console"), "%s", e.msg);
}
