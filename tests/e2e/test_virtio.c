// SPDX-License-Identifier: MIT
/*
 * The test guest's virtio drivers against the VMM's devices: a disk image
 * the guest reads, writes and flushes (checked on the host afterwards), a
 * TAP in a network namespace of the test's own where the guest's frame
 * arrives and the host's answer goes back, and a console line read on the
 * host through a Unix socket or a file. The guest reports PASS/FAIL lines
 * on COM1 and exits 0 only when every check passed.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lib/util.h"

#define TIMEOUT_S 180
/* The contract with images/testguest/virtio.h. */
#define BLK_SECTOR 8
#define BLK_LEN 1024
#define NET_ETHERTYPE 0x88b5
#define NET_PING "testguest ping"
#define NET_PONG "host pong"
#define CONSOLE_LINE "testguest: hello over virtio-console\n"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static uint8_t blk_pattern(unsigned int i)
{
	return (uint8_t)(i * 13 + 7);
}

/* Every check the guest ran passed, the virtio ones included. */
static void expect_guest_passed(struct vmm_proc *p, int status,
				const char *check)
{
	char *out = vmm_stdout(p), *err = vmm_stderr(p);
	char pass[64];

	snprintf(pass, sizeof(pass), "PASS %s", check);
	cr_expect(strstr(out, pass), "no '%s' line; serial log:\n%s", pass, out);
	cr_expect_null(strstr(out, "FAIL"), "serial log:\n%s", out);
	cr_expect(strstr(out, "virtio_mmio.device=4K@0xfe000000:"),
		  "the command line does not announce the device:\n%s", out);
	cr_expect_eq(status, 0, "exit status %d; stderr:\n%s", status, err);
	free(out);
	free(err);
}

static bool image_has_pattern(const char *path)
{
	uint8_t buf[BLK_LEN];
	int fd = open(path, O_RDONLY);
	bool ok;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, BLK_LEN, BLK_SECTOR * 512), BLK_LEN);
	close(fd);
	ok = true;
	for (unsigned int i = 0; i < BLK_LEN; i++)
		ok &= buf[i] == blk_pattern(i);
	return ok;
}

Test(virtio_e2e, blk_write_flush_read_back, .timeout = TIMEOUT_S + 10)
{
	char image[64], disk[128];
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--disk", disk, "--cmdline",
		"console=ttyS0 testguest.virtio=blk testguest.blk_serial=e2e-disk-1",
		NULL,
	};
	struct vmm_proc p;
	int status;

	make_test_disk(image, 1 << 20);
	snprintf(disk, sizeof(disk), "%s,serial=e2e-disk-1", image);
	status = vmm_run(&p, argv, TIMEOUT_S);
	expect_guest_passed(&p, status, "virtio_blk");
	cr_expect(image_has_pattern(image),
		  "the flushed pattern is not in the image file");
	vmm_cleanup(&p);
	unlink(image);
}

/*
 * One announcement per device: the DSDT, which the test guest does not
 * read; the command line only for a kernel told to ignore ACPI.
 */
Test(virtio_e2e, cmdline_announces_devices_only_without_acpi,
     .timeout = 2 * TIMEOUT_S + 10)
{
	static const struct {
		const char *cmdline;
		bool announced;
	} cases[] = {
		{ "console=ttyS0", false },
		{ "console=ttyS0 acpi=off", true },
	};
	char image[64];

	make_test_disk(image, 1 << 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = {
			"--kernel", image_path("testguest.elf"), "--memory",
			"64", "--disk", image, "--cmdline", cases[i].cmdline,
			NULL,
		};
		struct vmm_proc p;
		int status = vmm_run(&p, argv, TIMEOUT_S);
		char *out = vmm_stdout(&p);

		cr_expect_eq(status, 0, "%s: exit status %d", cases[i].cmdline,
			     status);
		cr_expect_eq(strstr(out, "virtio_mmio.device=") != NULL,
			     cases[i].announced, "%s: serial log:\n%s",
			     cases[i].cmdline, out);
		free(out);
		vmm_cleanup(&p);
	}
	unlink(image);
}

Test(virtio_e2e, blk_read_only_refuses_writes, .timeout = TIMEOUT_S + 10)
{
	char image[64], disk[128];
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--disk", disk, "--cmdline", "console=ttyS0 testguest.virtio=blk",
		NULL,
	};
	struct vmm_proc p;
	char *out;
	int status;

	make_test_disk(image, 1 << 20);
	snprintf(disk, sizeof(disk), "%s,ro", image);
	status = vmm_run(&p, argv, TIMEOUT_S);
	out = vmm_stdout(&p);
	cr_expect(strstr(out, "FAIL virtio_blk: request type 1 at sector 8: status 1"),
		  "the write was not refused with IOERR:\n%s", out);
	cr_expect_eq(status, 1, "the guest reports the failed check");
	cr_expect_not(image_has_pattern(image), "a read-only image was written");
	free(out);
	vmm_cleanup(&p);
	unlink(image);
}

/* ---- network ---- */

static void enter_netns(void)
{
	int fd;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		cr_expect_eq(write(fd, "1", 1), 1);
		close(fd);
	}
}

static int tap_open(const char *name, bool persist)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR);

	cr_assert_geq(fd, 0, "/dev/net/tun: %s", strerror(errno));
	strcpy(ifr.ifr_name, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s",
		     strerror(errno));
	if (persist)
		cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	return fd;
}

/* Brings @name up and returns a packet socket on it. */
static int host_side(const char *name)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
	};
	int s = socket(AF_INET, SOCK_DGRAM, 0), pkt;

	strcpy(ifr.ifr_name, name);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	sll.sll_ifindex = (int)if_nametoindex(name);
	pkt = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	cr_assert_geq(pkt, 0);
	cr_assert_eq(bind(pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return pkt;
}

/* Waits for the guest's ping and answers it; false if it never came. */
static bool answer_ping(int pkt, struct vmm_proc *p)
{
	for (int waited = 0; waited < TIMEOUT_S * 10;) {
		struct pollfd pfd = { .fd = pkt, .events = POLLIN };
		uint8_t f[2048], pong[60] = { 0 };
		ssize_t n;

		if (poll(&pfd, 1, 100) == 0) {
			waited++;
			if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
				p->exited = true;
				return false;
			}
			continue;
		}
		n = recv(pkt, f, sizeof(f), 0);
		if (n < 14 + (ssize_t)strlen(NET_PING) ||
		    f[12] != (NET_ETHERTYPE >> 8) ||
		    memcmp(f + 14, NET_PING, strlen(NET_PING)))
			continue;
		cr_expect_eq(memcmp(f + 6, guest_mac, 6), 0,
			     "the frame does not come from the configured MAC");
		memcpy(pong, guest_mac, 6);
		memcpy(pong + 6, "\x02\x00\x00\x00\x00\x01", 6);
		pong[12] = NET_ETHERTYPE >> 8;
		pong[13] = NET_ETHERTYPE & 0xff;
		memcpy(pong + 14, NET_PONG, strlen(NET_PONG));
		cr_assert_eq(send(pkt, pong, sizeof(pong), 0), (ssize_t)sizeof(pong));
		return true;
	}
	return false;
}

static void net_roundtrip(const char *net_arg, int pkt)
{
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--net", net_arg, "--cmdline", "console=ttyS0 testguest.virtio=net",
		NULL,
	};
	struct vmm_proc p;
	int status;

	vmm_spawn(&p, argv);
	cr_expect(answer_ping(pkt, &p), "no ping frame from the guest");
	status = vmm_wait(&p, TIMEOUT_S);
	expect_guest_passed(&p, status, "virtio_net");
	vmm_cleanup(&p);
}

Test(virtio_e2e, net_tap_passed_as_fd, .timeout = TIMEOUT_S + 10)
{
	char arg[64];
	int tap, pkt;

	enter_netns();
	tap = tap_open("e2etap0", false);
	pkt = host_side("e2etap0");
	snprintf(arg, sizeof(arg), "fd=%d,mac=52:54:00:aa:bb:cc", tap);
	net_roundtrip(arg, pkt);
	close(pkt);
	close(tap);
}

Test(virtio_e2e, net_tap_by_name, .timeout = TIMEOUT_S + 10)
{
	int tap, pkt;

	enter_netns();
	tap = tap_open("e2etap1", true);
	pkt = host_side("e2etap1");
	close(tap);
	net_roundtrip("tap=e2etap1,mac=52:54:00:aa:bb:cc", pkt);
	close(pkt);
}

/* ---- console ---- */

static int connect_when_ready(const char *path, struct vmm_proc *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, path);
	for (int i = 0; i < TIMEOUT_S * 50; i++) {
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->exited = true;
			break;
		}
		usleep(20000);
	}
	cr_assert_fail("the VMM never listened on %s", path);
	return -1;
}

/* Reads from @s until @want has arrived (or the VMM is gone). */
static bool read_until(int s, const char *want)
{
	char buf[4096];
	size_t got = 0;

	while (got < sizeof(buf) - 1) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_S * 1000) <= 0)
			return false;
		n = read(s, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, want))
			return true;
	}
	return false;
}

Test(virtio_e2e, console_socket_output_and_input, .timeout = TIMEOUT_S + 10)
{
	char path[64], dest[80];
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--console", dest, "--cmdline",
		"console=ttyS0 testguest.virtio=console testguest.console_echo=1",
		NULL,
	};
	struct vmm_proc p;
	int s, status;

	snprintf(path, sizeof(path), "/tmp/vmm-e2e-console-%d", getpid());
	snprintf(dest, sizeof(dest), "socket:%s", path);
	vmm_spawn(&p, argv);
	s = connect_when_ready(path, &p);
	cr_expect(read_until(s, CONSOLE_LINE), "the guest's line never arrived");
	cr_assert_eq(write(s, "hello guest\n", 12), 12);
	cr_expect(read_until(s, "echo: hello guest\n"),
		  "the guest did not echo the host's line");
	close(s);
	status = vmm_wait(&p, TIMEOUT_S);
	expect_guest_passed(&p, status, "virtio_console");
	vmm_cleanup(&p);
}

Test(virtio_e2e, console_to_file, .timeout = TIMEOUT_S + 10)
{
	char path[64], dest[80];
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		"--console", dest, "--cmdline",
		"console=ttyS0 testguest.virtio=console", NULL,
	};
	struct vmm_proc p;
	char *log;
	int status;

	snprintf(path, sizeof(path), "/tmp/vmm-e2e-console-%d.log", getpid());
	snprintf(dest, sizeof(dest), "file:%s", path);
	unlink(path);
	status = vmm_run(&p, argv, TIMEOUT_S);
	expect_guest_passed(&p, status, "virtio_console");
	log = slurp(path, NULL);
	cr_expect_str_eq(log, CONSOLE_LINE);
	free(log);
	unlink(path);
	vmm_cleanup(&p);
}

/* A disk, a NIC on a TAP and a console for one boot of the test guest. */
struct three_devices {
	char image[64], path[64], dest[80], arg[64];
	int tap, pkt, status;
	struct vmm_proc p;
	char *out; /* the serial log */
};

static void three_devices_prepare(struct three_devices *td, const char *tap)
{
	enter_netns();
	make_test_disk(td->image, 1 << 20);
	td->tap = tap_open(tap, false);
	td->pkt = host_side(tap);
	snprintf(td->arg, sizeof(td->arg), "fd=%d,mac=52:54:00:aa:bb:cc", td->tap);
	snprintf(td->path, sizeof(td->path), "/tmp/vmm-e2e-console-%d.log",
		 getpid());
	snprintf(td->dest, sizeof(td->dest), "file:%s", td->path);
}

/* Boots @argv, answers the guest's ping and waits for the verdict. */
static void three_devices_run(struct three_devices *td,
			      const char *const *argv)
{
	vmm_spawn(&td->p, argv);
	cr_expect(answer_ping(td->pkt, &td->p), "no ping frame from the guest");
	td->status = vmm_wait(&td->p, TIMEOUT_S);
	td->out = vmm_stdout(&td->p);
}

/* What the guest did shows on the host: the disk and the console file. */
static void three_devices_finish(struct three_devices *td)
{
	char *log;

	cr_expect(image_has_pattern(td->image));
	log = slurp(td->path, NULL);
	cr_expect_str_eq(log, CONSOLE_LINE);
	free(log);
	free(td->out);
	vmm_cleanup(&td->p);
	close(td->pkt);
	close(td->tap);
	unlink(td->image);
	unlink(td->path);
}

Test(virtio_e2e, all_three_devices_at_once, .timeout = TIMEOUT_S + 10)
{
	struct three_devices td;
	const char *argv[] = {
		"--kernel", image_path("testguest.elf"), "--memory", "64",
		"--mmio-cmdline",
		"--disk", td.image, "--net", td.arg, "--console", td.dest,
		"--cmdline", "console=ttyS0 testguest.virtio=blk,net,console",
		NULL,
	};

	three_devices_prepare(&td, "e2etap2");
	three_devices_run(&td, argv);
	cr_expect(strstr(td.out, "virtio_mmio.device=4K@0xfe000000:") &&
		  strstr(td.out, "virtio_mmio.device=4K@0xfe001000:") &&
		  strstr(td.out, "virtio_mmio.device=4K@0xfe002000:"),
		  "three windows announced:\n%s", td.out);
	expect_guest_passed(&td.p, td.status, "virtio_blk");
	expect_guest_passed(&td.p, td.status, "virtio_net");
	expect_guest_passed(&td.p, td.status, "virtio_console");
	three_devices_finish(&td);
}

Test(virtio_e2e, all_three_devices_over_pci, .timeout = TIMEOUT_S + 10)
{
	struct three_devices td;
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--transport", "pci", "--disk", td.image, "--net", td.arg,
		"--console", td.dest, "--cmdline",
		"console=ttyS0 testguest.virtio=blk,net,console testguest.pci=1 "
		"testguest.pci_devices=3", NULL,
	};
	static const char *const checks[] = {
		"PASS pci", "PASS virtio_blk", "PASS virtio_net",
		"PASS virtio_console",
	};

	three_devices_prepare(&td, "e2etap3");
	three_devices_run(&td, argv);
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++)
		cr_expect(strstr(td.out, checks[i]), "no '%s'; serial log:\n%s",
			  checks[i], td.out);
	cr_expect_null(strstr(td.out, "FAIL"), "serial log:\n%s", td.out);
	cr_expect_eq(td.status, 0, "exit status %d", td.status);
	three_devices_finish(&td);
}

/* ---- flags and back ends a user gets wrong ---- */

static void expect_refusal(const char *flag, const char *value, int status,
			   const char *message)
{
	const char *argv[] = {
		"--kernel", image_path("testguest.bzImage"), "--memory", "64",
		"--mmio-cmdline",
		flag, value, NULL,
	};

	vmm_expect_refusal(argv, status, message);
}

Test(virtio_e2e, bad_flags_and_back_ends, .timeout = 300)
{
	expect_refusal("--disk", "img.raw,bogus", 64,
		       "--disk 'img.raw,bogus': unknown option 'bogus'");
	expect_refusal("--net", "tap=a,fd=3", 64, "--net 'tap=a,fd=3'");
	expect_refusal("--net", "tap=t0,mac=01:00:00:00:00:01", 64,
		       "not a unicast MAC");
	expect_refusal("--console", "tcp:1", 64, "--console");
	expect_refusal("--disk", "/nonexistent/disk.img", 66,
		       "/nonexistent/disk.img: No such file or directory");
	expect_refusal("--net", "fd=1000", 71, "tap fd 1000");
}
