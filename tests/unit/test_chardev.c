// SPDX-License-Identifier: MIT
/*
 * The host end of a character device on its own: a sink stands in for the
 * device, and the test turns the event loop itself, so it decides what one
 * batch of epoll_wait holds. Input flows as the device makes room, and a
 * client's last bytes survive its hangup whatever the batch order.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/chardev.h"

/* A 16550's receive FIFO. */
#define DEVICE_ROOM 16

/* What the device took, and the room it has now. */
struct sink {
	uint8_t buf[256];
	size_t len;
	size_t room;
};

static struct event_loop loop;
static struct chardev chr;
static struct sink sink;

/* A line longer than the device holds. */
static const char line[] = "echo ttyS0-in-$((6 * 7))\n";
#define LINE_LEN (sizeof(line) - 1)

static size_t sink_space(void *opaque)
{
	return ((struct sink *)opaque)->room;
}

static void sink_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;

	cr_assert_leq(len, s->room, "the chardev gave more than the device has room for");
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->room -= len;
}

static void setup(void)
{
	struct chardev_config cfg = { .kind = CHARDEV_NONE };
	struct chardev_sink cs = {
		.rx_space = sink_space, .rx = sink_rx, .opaque = &sink,
	};
	struct err e;

	memset(&sink, 0, sizeof(sink));
	sink.room = DEVICE_ROOM;
	cr_assert_eq(event_loop_init(&loop, &e), 0, "%s", e.msg);
	cr_assert_eq(chardev_open(&chr, "COM1", &cfg, &loop, &cs, &e), 0,
		     "%s", e.msg);
}

static void teardown(void)
{
	chardev_close(&chr);
	event_loop_destroy(&loop);
}

/* Turns the loop until a turn finds nothing to do. */
static void settle(void)
{
	while (event_loop_poll(&loop, 50) > 0)
		;
}

/* The guest empties the device, as a driver draining a FIFO does. */
static void device_drains(void)
{
	sink.room = DEVICE_ROOM;
	chardev_rx_ready(&chr);
}

/* A client on a socket pair; returns the client's own end. */
static int attach_client(void)
{
	struct err e;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(chardev_attach(&chr, sv[0], &e), 0, "%s", e.msg);
	return sv[1];
}

TestSuite(chardev, .init = setup, .fini = teardown, .timeout = 30);

Test(chardev, input_waits_for_room_in_the_device)
{
	int peer = attach_client();

	cr_assert_eq(write(peer, line, LINE_LEN), (ssize_t)LINE_LEN);
	settle();
	cr_assert_eq(sink.len, DEVICE_ROOM, "took %zu bytes", sink.len);
	device_drains();
	settle();
	cr_assert_eq(sink.len, LINE_LEN, "took %zu bytes", sink.len);
	cr_assert_arr_eq(sink.buf, line, LINE_LEN);
	close(peer);
}

/*
 * The client sends a line and hangs up while the device is full; the guest
 * makes room just before the hangup, so one turn of the loop sees the
 * device's wake-up first and the hangup after it. The rest of the line
 * still reaches the device.
 */
Test(chardev, input_outlives_a_hangup_in_the_turn_that_makes_room)
{
	int peer = attach_client();

	cr_assert_eq(write(peer, line, LINE_LEN), (ssize_t)LINE_LEN);
	settle();
	cr_assert_eq(sink.len, DEVICE_ROOM, "took %zu bytes", sink.len);
	device_drains();
	close(peer);
	settle();
	cr_assert_eq(sink.len, LINE_LEN,
		     "took %zu of the %zu bytes the client sent", sink.len,
		     LINE_LEN);
	cr_assert_arr_eq(sink.buf, line, LINE_LEN);
	cr_assert_eq(chr.nr_clients, 0, "the client that hung up is still attached");
}

/* The same hangup while the device stays full: the input waits for room. */
Test(chardev, input_of_a_client_that_hung_up_waits_for_room)
{
	int peer = attach_client();

	cr_assert_eq(write(peer, line, LINE_LEN), (ssize_t)LINE_LEN);
	close(peer);
	settle();
	cr_assert_eq(sink.len, DEVICE_ROOM, "took %zu bytes", sink.len);
	cr_assert_eq(chr.nr_clients, 1, "the client went with input unread");
	device_drains();
	settle();
	cr_assert_eq(sink.len, LINE_LEN, "took %zu bytes", sink.len);
	cr_assert_eq(chr.nr_clients, 0);
}
