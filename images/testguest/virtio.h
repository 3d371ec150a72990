/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_VIRTIO_H
#define IMAGES_TESTGUEST_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"

/*
 * Small polled virtio drivers for the test guest, over virtio-mmio
 * (version 2) or, with testguest.pci=1, modern virtio-pci. virtio-mmio
 * devices are found through the virtio_mmio.device=SIZE@BASE:IRQ entries
 * of the command line and identified by their DeviceID register;
 * virtio-pci devices by their PCI IDs on bus 0 (pci.c), whose BARs the
 * guest places itself. The guest never takes interrupts: it asks for none
 * (VIRTQ_AVAIL_F_NO_INTERRUPT) and polls the used rings, with a time limit
 * on every wait.
 *
 * What each check does, and what the end-to-end tests check on the host:
 *   virtio_blk      reads sector 0 and expects TG_BLK_SIGNATURE there (the
 *                   test writes it into the image); writes TG_BLK_LEN bytes
 *                   of tg_blk_pattern() at sector TG_BLK_SECTOR, flushes,
 *                   reads them back and compares; with
 *                   testguest.blk_serial=ID also checks GET_ID.
 *   virtio_net      sends a broadcast frame of type TG_NET_ETHERTYPE from
 *                   the device's MAC carrying TG_NET_PING, then waits for a
 *                   frame of that type carrying TG_NET_PONG.
 *   virtio_console  writes TG_CONSOLE_LINE; with testguest.console_echo=1
 *                   then reads a line and writes it back prefixed with
 *                   "echo: ". With testguest.tick=1 every tick line goes
 *                   to the console too.
 */
#define TG_BLK_SIGNATURE "VMMTESTDISK"
#define TG_BLK_SECTOR 8
#define TG_BLK_LEN 1024
#define TG_NET_ETHERTYPE 0x88b5
#define TG_NET_PING "testguest ping"
#define TG_NET_PONG "host pong"
#define TG_CONSOLE_LINE "testguest: hello over virtio-console\n"
#define TG_CONSOLE_FLOOD "testguest: flooding the console, flooding the console\n"

static inline uint8_t tg_blk_pattern(unsigned int i)
{
	return (uint8_t)(i * 13 + 7);
}

/* True when testguest.virtio=LIST (comma-separated) names @name. */
bool tg_virtio_wanted(const char *cmdline, const char *name);

void tg_virtio_blk_test(const char *cmdline, struct check *c);
void tg_virtio_net_test(const char *cmdline, struct check *c);
void tg_virtio_console_test(const char *cmdline, struct check *c);
/*
 * After a passed console check: writes @len bytes over virtio-console and
 * waits for the device to take them. False when it is not set up or the
 * device does not answer.
 */
bool tg_virtio_console_write(const char *s, size_t len);
/* Writes TG_CONSOLE_FLOOD to the virtio console for ever (or until it fails). */
void tg_virtio_console_flood(const char *cmdline, struct check *c);

/* ---- the transport and ring driver the checks share (virtio_mmio.c) ---- */

#define TG_VQ_SIZE 8
#define TG_VIRTIO_MAX_QUEUES 4

#define TG_VIRTIO_F_VERSION_1 32

struct tg_vring {
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		uint16_t next;
	} desc[TG_VQ_SIZE] __attribute__((aligned(16)));
	struct {
		uint16_t flags;
		uint16_t idx;
		uint16_t ring[TG_VQ_SIZE];
		uint16_t used_event;
	} avail __attribute__((aligned(4)));
	struct {
		uint16_t flags;
		uint16_t idx;
		struct {
			uint32_t id;
			uint32_t len;
		} ring[TG_VQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
};

struct tg_vq {
	struct tg_vring *r;
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t next_desc;
};

struct tg_virtio;

/* What differs between the transports (virtio_mmio.c, virtio_pci.c). */
struct tg_virtio_ops {
	uint32_t (*status)(const struct tg_virtio *d);
	void (*set_status)(const struct tg_virtio *d, uint32_t status);
	uint64_t (*device_features)(const struct tg_virtio *d);
	void (*driver_features)(const struct tg_virtio *d, uint64_t features);
	/* Programs queue @qi with TG_VQ_SIZE entries at @r and enables it. */
	bool (*setup_queue)(const struct tg_virtio *d, unsigned int qi,
			    const struct tg_vring *r, struct check *c);
	/* The address of byte @off of the device configuration space. */
	uint64_t (*config)(const struct tg_virtio *d, uint32_t off);
	void (*notify)(const struct tg_virtio *d, unsigned int qi);
};

struct tg_virtio {
	const char *name;
	const struct tg_virtio_ops *ops;
	/* virtio-mmio: the register window and its interrupt */
	uint64_t base;
	uint32_t irq;
	/* virtio-pci: the slot and where its structures are */
	unsigned int slot;
	uint64_t common, isr, device, notify;
	uint32_t notify_mult;
	struct tg_vq vq[TG_VIRTIO_MAX_QUEUES];
};

/* Transport-specific lookups behind tg_virtio_find(). */
bool tg_virtio_mmio_find(const char *cmdline, uint32_t device_id,
			 struct tg_virtio *d, struct check *c);
bool tg_virtio_pci_find(uint32_t device_id, struct tg_virtio *d,
			struct check *c);

/* A buffer of a chain; @write: the device writes into it. */
struct tg_buf {
	const void *addr;
	uint32_t len;
	bool write;
};

/*
 * Finds the device with @device_id: among the command line's entries, or
 * with testguest.pci=1 on PCI bus 0.
 */
bool tg_virtio_find(const char *cmdline, uint32_t device_id,
		    struct tg_virtio *d, struct check *c);
/*
 * Resets the device, negotiates VERSION_1 plus @features (all of which the
 * device must offer), sets up @nr_queues queues on @rings, sets DRIVER_OK.
 */
bool tg_virtio_start(struct tg_virtio *d, uint64_t features,
		     struct tg_vring *rings, unsigned int nr_queues,
		     struct check *c);
uint32_t tg_virtio_config32(const struct tg_virtio *d, uint32_t off);
uint8_t tg_virtio_config8(const struct tg_virtio *d, uint32_t off);
void tg_virtio_config_write32(const struct tg_virtio *d, uint32_t off,
			      uint32_t val);
/* Makes a chain available on queue @qi and notifies the device. */
bool tg_virtio_submit(struct tg_virtio *d, unsigned int qi,
		      const struct tg_buf *bufs, unsigned int n,
		      struct check *c);
/* Waits for the next used chain of queue @qi; @len gets what was written. */
bool tg_virtio_wait(struct tg_virtio *d, unsigned int qi, uint32_t *len,
		    struct check *c);

#endif
