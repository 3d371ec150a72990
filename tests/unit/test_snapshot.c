// SPDX-License-Identifier: MIT
/*
 * What a snapshot holds besides the format: the config read back under
 * the rules a command line meets, the host ends a restore may change, a
 * UART's registers, and a virtio device carried over to a new device
 * instance mid-run (through the simulated driver), with what a hostile
 * state file could ask of the transport refused.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/serial.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio.h"
#include "vmm/config_devices.h"
#include "vmm/snapshot.h"
#include "vmm/state.h"
#include "virtio_driver.h"

/* ---- helpers: a state file around what a test writes ---- */

struct saved {
	uint8_t *buf;
	size_t len;
	struct state_section root;
};

static void finish(struct state_writer *w, struct saved *s)
{
	const uint8_t *buf;
	struct err e;

	cr_assert_eq(state_finish(w, &buf, &s->len, &e), 0, "%s", e.msg);
	s->buf = malloc(s->len);
	memcpy(s->buf, buf, s->len);
	state_writer_free(w);
	cr_assert_eq(state_open(s->buf, s->len, &s->root, &e), 0, "%s", e.msg);
}

/*
 * The payload of the first record named @name (a hostile file is made by
 * changing it); the file is resealed by reopen().
 */
static uint8_t *field(struct saved *s, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = STATE_HEADER_SIZE; i + 6 + n <= s->len; i++)
		if (s->buf[i + 1] == n && !memcmp(s->buf + i + 2, name, n) &&
		    (s->buf[i] == 2 || s->buf[i] == 3))
			return s->buf + i + 6 + n;
	cr_assert_fail("no field %s", name);
	return NULL;
}

static void reopen(struct saved *s)
{
	struct err e;

	put_le32(s->buf + 24, state_crc32c(s->buf + STATE_HEADER_SIZE,
				     s->len - STATE_HEADER_SIZE));
	put_le32(s->buf + 28, state_crc32c(s->buf, 28));
	cr_assert_eq(state_open(s->buf, s->len, &s->root, &e), 0, "%s", e.msg);
}

/* ---- the config ---- */

static void full_config(struct vm_config *cfg)
{
	struct err e;

	vm_config_init(cfg);
	cfg->mem_mib = 256;
	cfg->nr_cpus = 3;
	cfg->kernel = strdup("/boot/vmlinux");
	cfg->cmdline = strdup("console=ttyS0");
	cr_assert_eq(chardev_config_parse("socket:/run/com1", &cfg->serial[0], &e), 0);
	cr_assert_eq(chardev_config_parse("file:/run/com3", &cfg->serial[2], &e), 0);
	cfg->disks[0] = (struct disk_config){ .path = strdup("/img/a"), .read_only = true,
					      .serial = strdup("root-1"),
					      .rate_limit = { .ops = 500, .ops_burst = 50 } };
	cfg->disks[1] = (struct disk_config){ .path = strdup("/img/b") };
	cfg->nr_disks = 2;
	cfg->nets[0] = (struct net_config){ .tap_name = strdup("tap7"), .tap_fd = -1,
					    .has_mac = true,
					    .mac = { 0x52, 0x54, 0, 1, 2, 3 },
					    .rate_limit = { .bytes = 1 << 20 } };
	cfg->nets[1] = (struct net_config){ .tap_name = NULL, .tap_fd = 5 };
	cfg->nr_nets = 2;
	cr_assert_eq(chardev_config_parse("stdio", &cfg->console, &e), 0);
	cfg->vsock = (struct vsock_config){ .enabled = true, .cid = 42,
					    .uds_path = "/run/v.sock" };
	cr_assert_eq(config_vsock_listen(&cfg->vsock, 5000, "/run/agent", &e), 0);
	cfg->balloon = (struct balloon_config){ true, 100, true, 5 };
}

static void save_config(const struct vm_config *cfg, struct saved *s)
{
	struct state_writer w;

	state_writer_init(&w);
	snapshot_config_save(&w, cfg);
	finish(&w, s);
}

static int load_config(struct saved *s, struct vm_config *cfg, struct err *e)
{
	struct state_section c;

	cr_assert_eq(state_get_section(&s->root, "config", &c, e), 0, "%s", e->msg);
	return snapshot_config_load(&c, cfg, e);
}

Test(snapshot_config, round_trip)
{
	struct vm_config a, b;
	struct saved s;
	struct err e;

	full_config(&a);
	save_config(&a, &s);
	cr_assert_eq(load_config(&s, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(b.mem_mib, 256);
	cr_assert_eq(b.nr_cpus, 3);
	cr_assert_str_eq(b.kernel, "/boot/vmlinux");
	cr_assert_null(b.initrd);
	cr_assert_str_eq(b.cmdline, "console=ttyS0");
	cr_assert_eq(b.serial[0].kind, CHARDEV_SOCKET);
	cr_assert_str_eq(b.serial[0].path, "/run/com1");
	cr_assert_eq(b.serial[1].kind, CHARDEV_NONE);
	cr_assert_str_eq(b.serial[2].path, "/run/com3");
	cr_assert_eq(b.nr_disks, 2);
	cr_assert(b.disks[0].read_only);
	cr_assert_str_eq(b.disks[0].serial, "root-1");
	cr_assert_eq(b.disks[0].rate_limit.ops, 500);
	cr_assert_eq(b.disks[0].rate_limit.ops_burst, 50);
	cr_assert_eq(b.disks[1].rate_limit.ops, 0, "no limit stays none");
	cr_assert_null(b.disks[1].serial);
	cr_assert_eq(b.nr_nets, 2);
	cr_assert_str_eq(b.nets[0].tap_name, "tap7");
	cr_assert(b.nets[0].has_mac);
	cr_assert_eq(b.nets[0].mac[5], 3);
	cr_assert_eq(b.nets[0].rate_limit.bytes, 1 << 20);
	/* An inherited descriptor cannot be carried to another process. */
	cr_assert_null(b.nets[1].tap_name);
	cr_assert_eq(b.nets[1].tap_fd, -1);
	cr_assert_eq(b.console.kind, CHARDEV_STDIO);
	cr_assert_eq(b.vsock.cid, 42);
	cr_assert_eq(b.vsock.nr_listeners, 1);
	cr_assert_str_eq(b.vsock.listeners[0].path, "/run/agent");
	cr_assert(b.balloon.deflate_on_oom);
	cr_assert_eq(b.balloon.stats_interval_s, 5);
	vm_config_free(&a);
	vm_config_free(&b);
	free(s.buf);
}

/* A config the command line could not give is refused by the same rules. */
static void expect_config_refused(void (*spoil)(struct vm_config *),
				  const char *msg)
{
	struct vm_config a, b;
	struct saved s;
	struct err e;

	full_config(&a);
	spoil(&a);
	save_config(&a, &s);
	cr_assert_eq(load_config(&s, &b, &e), -1, "accepted (%s)", msg);
	cr_assert(strstr(e.msg, msg), "expected \"%s\", got \"%s\"", msg, e.msg);
	vm_config_free(&a);
	free(s.buf);
}

static void reserved_cid(struct vm_config *c) { c->vsock.cid = 2; }
static void tiny_memory(struct vm_config *c) { c->mem_mib = 1; }
static void no_cpus(struct vm_config *c) { c->nr_cpus = 0; }
static void bad_serial(struct vm_config *c) { c->disks[1].serial = strdup("a b"); }
static void bad_kind(struct vm_config *c) { c->console.kind = 7; }
static void pathless_socket(struct vm_config *c)
{
	free(c->serial[0].path);
	c->serial[0].path = NULL;
}
static void multicast_mac(struct vm_config *c) { c->nets[0].mac[0] = 1; }
static void burst_alone(struct vm_config *c) { c->disks[1].rate_limit.bytes_burst = 4096; }

Test(snapshot_config, hostile_values_are_refused)
{
	expect_config_refused(reserved_cid, "CID 2");
	expect_config_refused(tiny_memory, "a guest needs at least");
	expect_config_refused(no_cpus, "must be between 1 and");
	expect_config_refused(bad_serial, "may only use letters");
	expect_config_refused(bad_kind, "unknown back end 7");
	expect_config_refused(pathless_socket, "needs a path");
	expect_config_refused(multicast_mac, "multicast");
	expect_config_refused(burst_alone, "bw_burst needs bw");
}

Test(snapshot_config, counts_are_bounded)
{
	struct state_writer w;
	struct vm_config b;
	struct saved s;
	struct err e;

	state_writer_init(&w);
	state_begin(&w, "config");
	state_put_u64(&w, "memory_mib", 64);
	state_put_u64(&w, "hugepages", 0);
	state_put_u64(&w, "cpus", 1);
	state_put_str(&w, "kernel", "k");
	for (int i = 0; i < 3; i++) {
		state_begin(&w, "serial");
		state_put_u64(&w, "kind", 0);
		state_end(&w);
	}
	state_end(&w);
	finish(&w, &s);
	cr_assert_eq(load_config(&s, &b, &e), -1);
	cr_assert(strstr(e.msg, "3 serial ports, not 4"), "%s", e.msg);
	free(s.buf);

	state_writer_init(&w);
	state_begin(&w, "config");
	for (int i = 0; i < 4; i++) {
		state_begin(&w, "serial");
		state_put_u64(&w, "kind", 0);
		state_end(&w);
	}
	for (int i = 0; i <= CONFIG_MAX_DISKS; i++) {
		state_begin(&w, "disk");
		state_put_str(&w, "path", "/d");
		state_put_u64(&w, "read_only", 0);
		state_end(&w);
	}
	state_put_u64(&w, "memory_mib", 64);
	state_put_u64(&w, "hugepages", 0);
	state_put_u64(&w, "cpus", 1);
	state_put_str(&w, "kernel", "k");
	state_end(&w);
	finish(&w, &s);
	cr_assert_eq(load_config(&s, &b, &e), -1);
	cr_assert(strstr(e.msg, "more than 16 disks"), "%s", e.msg);
	free(s.buf);
}

/* ---- host ends at restore ---- */

static void snap_of(struct snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	full_config(&snap->cfg);
}

Test(snapshot_overrides, replace_host_ends_only)
{
	struct snapshot snap;
	struct snapshot_overrides ov;
	struct err e;

	snap_of(&snap);
	snapshot_overrides_init(&ov);
	cr_assert_eq(config_add_disk(&ov.cfg, "/img/clone-a", &e), 0);
	cr_assert_eq(config_add_net(&ov.cfg, "tap=tap9", &e), 0);
	cr_assert_eq(config_set_vsock(&ov.cfg, "cid=43,uds=/run/clone.sock", &e), 0);
	cr_assert_eq(chardev_config_parse("socket:/run/clone-com3", &ov.cfg.serial[2], &e), 0);
	ov.serial[2] = true;
	cr_assert_eq(snapshot_override(&snap, &ov, &e), 0, "%s", e.msg);
	cr_assert_str_eq(snap.cfg.disks[0].path, "/img/clone-a");
	cr_assert(snap.cfg.disks[0].read_only, "the guest's view stays");
	cr_assert_str_eq(snap.cfg.disks[0].serial, "root-1");
	cr_assert_str_eq(snap.cfg.disks[1].path, "/img/b");
	cr_assert_str_eq(snap.cfg.nets[0].tap_name, "tap9");
	cr_assert(snap.cfg.nets[0].has_mac);
	cr_assert_eq(snap.cfg.vsock.cid, 43);
	cr_assert_str_eq(snap.cfg.vsock.uds_path, "/run/clone.sock");
	cr_assert_eq(snap.cfg.vsock.nr_listeners, 1, "listeners kept when none given");
	cr_assert_eq(snap.cfg.serial[2].kind, CHARDEV_SOCKET);
	cr_assert_str_eq(snap.cfg.serial[2].path, "/run/clone-com3");
	cr_assert_str_eq(snap.cfg.serial[0].path, "/run/com1");
	snapshot_overrides_free(&ov);
	vm_config_free(&snap.cfg);
}

/* A limit given at restore replaces the device's; none given keeps it. */
Test(snapshot_overrides, limits_given_replace_the_snapshots)
{
	struct snapshot snap;
	struct snapshot_overrides ov;
	struct err e;

	snap_of(&snap);
	snapshot_overrides_init(&ov);
	cr_assert_eq(config_add_disk(&ov.cfg, "/img/clone-a,bw=4M", &e), 0, "%s", e.msg);
	cr_assert_eq(config_add_disk(&ov.cfg, "/img/clone-b,iops=20,iops_burst=5", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(config_add_net(&ov.cfg, "tap=tap9", &e), 0);
	cr_assert_eq(snapshot_override(&snap, &ov, &e), 0, "%s", e.msg);
	cr_assert_eq(snap.cfg.disks[0].rate_limit.bytes, 4 << 20);
	cr_assert_eq(snap.cfg.disks[0].rate_limit.ops, 0,
		     "the snapshot's iops limit went with its other limits");
	cr_assert_eq(snap.cfg.disks[1].rate_limit.ops, 20);
	cr_assert_eq(snap.cfg.disks[1].rate_limit.ops_burst, 5);
	cr_assert_eq(snap.cfg.nets[0].rate_limit.bytes, 1 << 20,
		     "a NIC given without limits keeps the snapshot's");
	snapshot_overrides_free(&ov);
	vm_config_free(&snap.cfg);
}

static void expect_override_refused(void (*give)(struct snapshot_overrides *),
				    const char *msg)
{
	struct snapshot snap;
	struct snapshot_overrides ov;
	struct err e;

	snap_of(&snap);
	snapshot_overrides_init(&ov);
	give(&ov);
	cr_assert_eq(snapshot_override(&snap, &ov, &e), -1, "accepted (%s)", msg);
	cr_assert(strstr(e.msg, msg), "expected \"%s\", got \"%s\"", msg, e.msg);
	snapshot_overrides_free(&ov);
	vm_config_free(&snap.cfg);
}

static void three_disks(struct snapshot_overrides *ov)
{
	struct err e;

	for (int i = 0; i < 3; i++)
		config_add_disk(&ov->cfg, "/img/x", &e);
}

static void disk_mode(struct snapshot_overrides *ov)
{
	struct err e;

	config_add_disk(&ov->cfg, "/img/x,ro", &e);
}

static void net_mac(struct snapshot_overrides *ov)
{
	struct err e;

	config_add_net(&ov->cfg, "tap=t,mac=52:54:00:00:00:01", &e);
}

static void absent_port(struct snapshot_overrides *ov)
{
	ov->serial[1] = true;
}

static void console_removed(struct snapshot_overrides *ov)
{
	ov->console = true;
	ov->cfg.console.kind = CHARDEV_NONE;
}

Test(snapshot_overrides, what_the_guest_sees_cannot_change)
{
	expect_override_refused(three_disks, "3 disks given; the snapshot has 2");
	expect_override_refused(disk_mode, "takes the image path only");
	expect_override_refused(net_mac, "the guest's MAC is the snapshot's");
	expect_override_refused(absent_port, "COM2: the snapshot's VM has no such port");
	expect_override_refused(console_removed, "cannot remove the virtio-console");
}

/* ---- a UART ---- */

struct uart_host {
	struct vtest_host th;
	struct serial *a, *b;
};

static void uart_pair(struct uart_host *u)
{
	struct serial_place p1 = { .base = 0x3f8, .gsi = 4 };
	struct serial_place p2 = { .base = 0x2f8, .gsi = 3 };
	struct chardev_config none = { .kind = CHARDEV_NONE };
	struct err e;

	cr_assert_eq(vtest_host_init(&u->th, 4 * MiB, false), 0);
	cr_assert_eq(serial_create(&u->th.host, 1, &p1, &none, NULL, &u->a, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(serial_create(&u->th.host, 2, &p2, &none, NULL, &u->b, &e), 0,
		     "%s", e.msg);
}

static void uart_free(struct uart_host *u)
{
	u->a->dev.ops->destroy(&u->a->dev);
	u->b->dev.ops->destroy(&u->b->dev);
	vtest_host_destroy(&u->th);
}

static void save_device(struct device *dev, struct saved *s)
{
	struct state_writer w;
	struct err e;

	state_writer_init(&w);
	state_begin(&w, "device");
	cr_assert_eq(dev->ops->save(dev, &w, &e), 0, "%s", e.msg);
	state_end(&w);
	finish(&w, s);
}

static int restore_device(struct device *dev, struct saved *s, struct err *e)
{
	struct state_section d;

	cr_assert_eq(state_get_section(&s->root, "device", &d, e), 0);
	return dev->ops->restore(dev, &d, e);
}

Test(snapshot_devices, uart_registers_and_fifo_carry_over)
{
	static const uint8_t in[3] = { 'a', 'b', 'c' };
	struct uart_host u;
	struct saved s;
	struct err e;
	uint8_t v;

	uart_pair(&u);
	serial_reg_write(u.a, 2, 0x81);  /* FIFO on, trigger 8 */
	serial_reg_write(u.a, 3, 0x1b);  /* LCR */
	serial_reg_write(u.a, 4, 0x0b);  /* MCR: DTR, RTS, OUT2 */
	serial_reg_write(u.a, 7, 0x5a);  /* scratch */
	serial_reg_write(u.a, 1, 0x01);  /* IER: receive */
	cr_assert_eq(serial_receive(u.a, in, sizeof(in)), sizeof(in));
	serial_reg_read(u.a, 0, &v);
	cr_assert_eq(v, 'a');
	save_device(&u.a->dev, &s);
	cr_assert_eq(restore_device(&u.b->dev, &s, &e), 0, "%s", e.msg);
	serial_reg_read(u.b, 3, &v);
	cr_assert_eq(v, 0x1b);
	serial_reg_read(u.b, 7, &v);
	cr_assert_eq(v, 0x5a);
	serial_reg_read(u.b, 1, &v);
	cr_assert_eq(v, 0x01);
	serial_reg_read(u.b, 5, &v);
	cr_assert(v & 0x01, "data ready");
	serial_reg_read(u.b, 0, &v);
	cr_assert_eq(v, 'b');
	serial_reg_read(u.b, 0, &v);
	cr_assert_eq(v, 'c');
	serial_reg_read(u.b, 5, &v);
	cr_assert_not(v & 0x01, "the FIFO is empty");
	free(s.buf);

	/* More bytes than a FIFO holds (16, and 1 without FIFO). */
	serial_reg_write(u.a, 2, 0x01);
	cr_assert_eq(serial_receive(u.a, in, 1), 1);
	save_device(&u.a->dev, &s);
	field(&s, "fcr")[0] = 0;
	reopen(&s);
	cr_assert_eq(restore_device(&u.b->dev, &s, &e), -1);
	cr_assert(strstr(e.msg, "'rx' has 3 bytes, more than 1"), "%s", e.msg);
	free(s.buf);
	uart_free(&u);
}

/* ---- a virtio device carried to a new instance ---- */

#define MEM_SIZE (16 * MiB)
#define HEAP (1 * MiB)
#define WAIT_MS 5000
#define B_BASE (VTEST_BASE + 0x1000)
#define B_GSI (VTEST_GSI + 1)

struct blk_pair {
	struct vtest_host th;
	struct vdrv drv;
	struct device *a, *b;
	char image[64];
};

static void blk_setup(struct blk_pair *p)
{
	struct disk_config cfg = { .path = p->image };
	struct rate_limit_control *limits;
	struct err e;
	int fd;

	strcpy(p->image, "/var/tmp/vmm-snap-blk-XXXXXX");
	fd = mkstemp(p->image);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 1 * MiB), 0);
	close(fd);
	cr_assert_eq(vtest_host_init(&p->th, MEM_SIZE, false), 0);
	cr_assert_eq(virtio_blk_create(&p->th.host, &VTEST_MMIO(VTEST_BASE, VTEST_GSI), &cfg,
				       &p->a, &limits, &e), 0, "%s", e.msg);
	cr_assert_eq(vtest_host_start(&p->th), 0);
	vdrv_init(&p->drv, &p->th, VTEST_BASE, VTEST_GSI, HEAP, MEM_SIZE - HEAP);
	cr_assert_eq(vdrv_start(&p->drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				VIRTIO_BIT(VIRTIO_BLK_F_FLUSH), 1, 64), 0);
}

/*
 * The first instance stops for good (its process would be gone) and its
 * state is saved; a second device on the same guest memory is the one a
 * restore builds.
 */
static void blk_second(struct blk_pair *p, struct saved *s)
{
	struct disk_config cfg = { .path = p->image };
	struct rate_limit_control *limits;
	struct err e;

	vtest_host_stop(&p->th);
	save_device(p->a, s);
	p->a->ops->destroy(p->a);
	p->a = NULL;
	cr_assert_eq(virtio_blk_create(&p->th.host, &VTEST_MMIO(B_BASE, B_GSI), &cfg, &p->b,
				       &limits, &e), 0, "%s", e.msg);
}

static void blk_teardown(struct blk_pair *p)
{
	vtest_host_stop(&p->th);
	if (p->b)
		p->b->ops->destroy(p->b);
	vtest_teardown(&p->th, &p->a, &p->drv);
	unlink(p->image);
}

/* One request: header, data, status; returns its head. */
static int blk_queue(struct blk_pair *p, uint32_t type, uint64_t data,
		     uint64_t *status)
{
	uint64_t hdr = vdrv_alloc(&p->drv, 16, 16);
	struct vdrv_buf bufs[3] = {
		{ hdr, 16, false },
		{ data, 512, type == 0 },
		{ 0, 1, true },
	};

	*status = vdrv_alloc(&p->drv, 1, 1);
	bufs[2].gpa = *status;
	put_le32(vdrv_ptr(&p->drv, hdr, 16), type);
	return vdrv_add(&p->drv, 0, bufs, 3, false);
}

static void blk_done(struct blk_pair *p, int head, uint64_t status)
{
	uint32_t id, len;

	cr_assert(vdrv_wait_used(&p->drv, 0, &id, &len, WAIT_MS),
		  "request %d not completed", head);
	cr_assert_eq(id, (uint32_t)head);
	cr_assert_eq(*(uint8_t *)vdrv_ptr(&p->drv, status, 1), 0);
}

Test(snapshot_devices, virtio_queue_carries_over_with_io_in_flight,
     .timeout = 30)
{
	struct blk_pair p = { 0 };
	uint64_t data = 0, back, status;
	struct saved s;
	struct err e;
	uint32_t id, len;
	int head;

	blk_setup(&p);
	data = vdrv_alloc(&p.drv, 512, 512);
	memset(vdrv_ptr(&p.drv, data, 512), 0x5c, 512);
	head = blk_queue(&p, 1, data, &status);
	vdrv_kick(&p.drv, 0);
	blk_done(&p, head, status);
	/* A second write may still be in flight when the state is saved. */
	memset(vdrv_ptr(&p.drv, data, 512), 0x77, 512);
	head = blk_queue(&p, 1, data, &status);
	vdrv_kick(&p.drv, 0);
	blk_second(&p, &s);
	cr_assert_eq(restore_device(p.b, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(vtest_host_start(&p.th), 0);
	p.drv.base = B_BASE;
	p.drv.gsi = B_GSI;
	/* Done by the old instance's drain or by the new one: once. */
	blk_done(&p, head, status);
	back = vdrv_alloc(&p.drv, 512, 512);
	head = blk_queue(&p, 0, back, &status);
	vdrv_kick(&p.drv, 0);
	blk_done(&p, head, status);
	cr_assert_eq(((uint8_t *)vdrv_ptr(&p.drv, back, 512))[511], 0x77);
	cr_assert_not(vdrv_get_used(&p.drv, 0, &id, &len), "a request completed twice");
	cr_assert_eq(vdrv_status(&p.drv) & VIRTIO_STATUS_NEEDS_RESET, 0);
	free(s.buf);
	blk_teardown(&p);
}

/* A state the transport would never have been left in by a driver. */
static void expect_blk_refused(void (*spoil)(struct saved *), const char *msg)
{
	struct blk_pair p = { 0 };
	struct saved s;
	struct err e;

	blk_setup(&p);
	blk_second(&p, &s);
	spoil(&s);
	reopen(&s);
	cr_assert_eq(restore_device(p.b, &s, &e), -1, "accepted (%s)", msg);
	cr_assert(strstr(e.msg, msg), "expected \"%s\", got \"%s\"", msg, e.msg);
	cr_assert_eq(vdrv_read(&(struct vdrv){ .th = &p.th, .base = B_BASE },
			       VIRTIO_MMIO_STATUS), 0,
		     "a refused device is left reset");
	free(s.buf);
	blk_teardown(&p);
}

static void ring_outside_ram(struct saved *s)
{
	put_le64(field(s, "desc"), MEM_SIZE - 16);
}

static void ring_misaligned(struct saved *s)
{
	put_le64(field(s, "used"), get_le64(field(s, "used")) + 1);
}

static void odd_queue_size(struct saved *s)
{
	put_le64(field(s, "size"), 3);
}

static void driver_ok_alone(struct saved *s)
{
	put_le64(field(s, "status"), VIRTIO_STATUS_DRIVER_OK);
}

static void feature_not_offered(struct saved *s)
{
	put_le64(field(s, "negotiated"), get_le64(field(s, "negotiated")) |
						 VIRTIO_BIT(40));
}

static void other_capacity(struct saved *s)
{
	put_le64(field(s, "config"), 12345);
}

Test(snapshot_devices, hostile_transport_state_is_refused, .timeout = 30)
{
	expect_blk_refused(ring_outside_ram, "rings outside guest RAM");
	expect_blk_refused(ring_misaligned, "misaligned rings");
	expect_blk_refused(odd_queue_size, "not a power of two");
	expect_blk_refused(driver_ok_alone, "DRIVER_OK without FEATURES_OK");
	expect_blk_refused(feature_not_offered, "no longer offers");
	expect_blk_refused(other_capacity, "has 2048 sectors, the snapshot's disk had 12345");
}
