// SPDX-License-Identifier: MIT
/*
 * virtio-console through the simulated driver, relayed to a Unix socket the
 * test attaches to and to a file: output, input, emergency writes, input
 * held back until the guest posts buffers, malformed chains.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/console.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "virtio_driver.h"

#define MEM_SIZE (16 * MiB)
#define HEAP (1 * MiB)
#define WAIT_MS 3000
#define QSIZE 32
#define RXQ VIRTIO_CONSOLE_RXQ
#define TXQ VIRTIO_CONSOLE_TXQ

#define FEATURES                                                               \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |      \
	 VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE))

static struct vtest_host th;
static struct device *dev;
static struct vdrv drv;
static char path[64];
static int client = -1;

static void create_on(enum chardev_kind kind, bool pci)
{
	struct chardev_config cfg = { .kind = kind, .path = path };
	struct virtio_attach at;
	struct err e;

	snprintf(path, sizeof(path), "/tmp/vmm-console-%d", getpid());
	unlink(path);
	cr_assert_eq(vtest_host_init(&th, MEM_SIZE, false), 0);
	at = vtest_at(&th, pci);
	cr_assert_eq(virtio_console_create(&th.host, &at, &cfg, &dev, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(vtest_host_start(&th), 0);
	cr_assert_eq(vdrv_init_at(&drv, &th, pci, HEAP, MEM_SIZE - HEAP), 0);
}

static void create(enum chardev_kind kind)
{
	create_on(kind, false);
}

static void attach(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	strcpy(a.sun_path, path);
	client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(client, 0);
	cr_assert_eq(connect(client, (struct sockaddr *)&a, sizeof(a)), 0,
		     "connect %s: %s", path, strerror(errno));
}

static void setup_socket(void)
{
	create(CHARDEV_SOCKET);
}

static void setup_file(void)
{
	create(CHARDEV_FILE);
}

static void setup_pci(void)
{
	create_on(CHARDEV_SOCKET, true);
}

static void teardown(void)
{
	vtest_teardown(&th, &dev, &drv);
	if (client >= 0)
		close(client);
	client = -1;
	unlink(path);
}

/* Reads from the client until @want has arrived. */
static void expect_output(const char *want)
{
	char buf[256];
	size_t got = 0, len = strlen(want);

	while (got < len) {
		struct pollfd p = { .fd = client, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "only \"%.*s\" arrived",
			     (int)got, buf);
		n = read(client, buf + got, sizeof(buf) - got);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	cr_assert_eq(got, len);
	cr_assert_eq(memcmp(buf, want, len), 0, "got \"%.*s\"", (int)got, buf);
}

static void guest_write(const char *s)
{
	size_t len = strlen(s), half = len / 2;
	uint64_t buf = vdrv_alloc(&drv, len, 1);
	struct vdrv_buf b[] = { { buf, (uint32_t)half, false },
				{ buf + half, (uint32_t)(len - half), false } };
	uint32_t id, l;

	memcpy(vdrv_ptr(&drv, buf, len), s, len);
	cr_assert_geq(vdrv_add(&drv, TXQ, b, 2, false), 0);
	vdrv_kick(&drv, TXQ);
	cr_assert(vdrv_wait_used(&drv, TXQ, &id, &l, WAIT_MS));
}

static uint64_t post_rx(uint32_t size)
{
	uint64_t buf = vdrv_alloc(&drv, size, 8);
	struct vdrv_buf b = { buf, size, true };

	cr_assert_geq(vdrv_add(&drv, RXQ, &b, 1, false), 0);
	vdrv_kick(&drv, RXQ);
	return buf;
}

TestSuite(console, .init = setup_socket, .fini = teardown, .timeout = 30);

Test(console, identity_and_features)
{
	cr_assert_eq(vdrv_read(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	cr_assert(vdrv_device_features(&drv) &
		  VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE));
}

Test(console, output_to_socket_client)
{
	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	guest_write("hello from the guest\n");
	expect_output("hello from the guest\n");
}

Test(console, output_before_attach_is_replayed)
{
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	guest_write("early line\n");
	attach();
	expect_output("early line\n");
}

Test(console, input_from_socket_client)
{
	uint64_t buf;
	uint32_t id, len;

	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	buf = post_rx(64);
	cr_assert_eq(write(client, "typed", 5), 5);
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, buf, 5), "typed", 5), 0);
}

/* Posts a receive buffer of @size and expects @want in it. */
static void expect_input(uint32_t size, const char *want, const char *why)
{
	uint64_t buf = post_rx(size);
	uint32_t id, len;

	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS),
		  "no input arrived: %s", why);
	cr_assert_eq(len, strlen(want), "%s", why);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, buf, len), want, len), 0, "%s", why);
}

static void expect_no_input_yet(void)
{
	uint32_t id, len;

	cr_assert_not(vdrv_wait_used(&drv, RXQ, &id, &len, 200));
}

Test(console, input_waits_for_receive_buffers)
{
	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	cr_assert_eq(write(client, "abcdef", 6), 6);
	expect_no_input_yet();
	expect_input(4, "abcd", "input is cut to the buffer");
	expect_input(16, "ef", "the rest stayed in the socket, nothing lost");
}

/*
 * A client that writes and hangs up before the guest takes its input (a
 * line sent with socat or nc) must not lose what did not fit yet: the
 * hangup is only acted on once the rest was read.
 */
Test(console, input_of_a_client_that_hung_up_is_kept)
{
	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	cr_assert_eq(write(client, "abcdef", 6), 6);
	close(client);
	client = -1;
	expect_no_input_yet();
	expect_input(4, "abcd", "the first buffer");
	expect_input(16, "ef", "the bytes after the first buffer, lost with the hangup");
}

/*
 * Nor when output to it fails first: a client that closes without reading
 * what the guest wrote resets the connection, and the next output to it
 * fails, but what it sent is still read.
 */
Test(console, input_of_a_client_that_stopped_reading_is_kept)
{
	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	guest_write("never read\n");
	cr_assert_eq(write(client, "abcdef", 6), 6);
	close(client);
	client = -1;
	guest_write("output after the client left\n");
	expect_no_input_yet();
	expect_input(16, "abcdef", "the client's input, lost when output to it failed");
}

Test(console, emergency_write)
{
	uint8_t c[4] = { 'Z', 0, 0, 0 };

	attach();
	bus_write(&th.mmio, VTEST_BASE + VIRTIO_MMIO_CONFIG +
		  VIRTIO_CONSOLE_CFG_EMERG_WR, c, 4);
	expect_output("Z");
}

Test(console, malformed_chains_fail_alone)
{
	uint64_t buf = vdrv_alloc(&drv, 16, 8);
	struct vdrv_buf readable = { buf, 16, false };
	struct vdrv_buf writable = { buf, 16, true };
	uint32_t id, len;

	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	vdrv_add(&drv, TXQ, &writable, 1, false);
	vdrv_kick(&drv, TXQ);
	cr_assert(vdrv_wait_used(&drv, TXQ, &id, &len, WAIT_MS));
	vdrv_add(&drv, RXQ, &readable, 1, false);
	vdrv_kick(&drv, RXQ);
	cr_assert_eq(write(client, "x", 1), 1);
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, 0, "a receive buffer the device cannot write is failed");
	cr_assert_eq(vdrv_status(&drv) & VIRTIO_STATUS_NEEDS_RESET, 0);
	buf = post_rx(8);
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, 1);
	guest_write("still here\n");
	expect_output("still here\n");
}

TestSuite(console_file, .init = setup_file, .fini = teardown, .timeout = 30);

Test(console_file, output_appended_to_file)
{
	char buf[64] = { 0 };
	int fd;

	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, QSIZE), 0);
	guest_write("to the file\n");
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	for (int i = 0; i < 300; i++) {
		if (pread(fd, buf, sizeof(buf) - 1, 0) == 12)
			break;
		usleep(10 * 1000);
	}
	close(fd);
	cr_assert_str_eq(buf, "to the file\n");
}

TestSuite(console_pci, .init = setup_pci, .fini = teardown, .timeout = 30);

Test(console_pci, output_and_input_over_pci)
{
	uint64_t rx;
	uint32_t id, len;

	attach();
	cr_assert_eq(vdrv_start(&drv, FEATURES, 2, 64), 0);
	guest_write("over virtio-pci\n");
	expect_output("over virtio-pci\n");
	rx = post_rx(64);
	cr_assert_eq(write(client, "typed", 5), 5);
	cr_assert(vdrv_wait_used(&drv, RXQ, &id, &len, WAIT_MS));
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(vdrv_ptr(&drv, rx, 5), "typed", 5), 0);
	cr_assert_geq(vdrv_irq_count(&drv, RXQ), 1, "on the queue's vector");
}
