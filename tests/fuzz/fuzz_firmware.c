// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what UEFI firmware drives on the q35 platform (with
 * --firmware): fw_cfg's selector, data and DMA ports, with access
 * structures the input places in guest memory; the RTC's index and data
 * ports; the ICH9 LPC bridge's configuration space through the PCI
 * configuration ports, and the PM1a control and PM timer it decodes; and
 * the CFI flash that holds the variable store. Reads never return more
 * than the access is wide.
 *
 * Input: records of u8 kind, u8 sel, u32 value.
 *   kind 0x3f       16 bytes of the input into guest memory at value
 *                   (modulo its size): a DMA access structure, say
 *   kind bit 6      a flash access at offset value (modulo the flash;
 *                   one that runs past its end reaches nothing), writing
 *                   the byte sel
 *   otherwise       a port access at ports[sel % N] + sel / N % 8,
 *                   writing value
 *   kind bit 7 makes an access a read, bits 0-1 are log2 of its width.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci/pci.h"
#include "devices/x86/cmos.h"
#include "devices/x86/fw_cfg.h"
#include "devices/x86/ich9_lpc.h"
#include "devices/x86/pflash.h"
#include "fuzz_cost.h"
#include "fuzz_virtio.h"
#include "vmm/arch.h"

#define GUEST_MEM (1 * MiB)
#define FLASH_SIZE (2 * PFLASH_BLOCK_SIZE)
#define FLASH_BASE (LAYOUT_FIRMWARE_END - FLASH_SIZE)
#define FUZZ_MEM_WRITE 0x3f
#define FUZZ_FLASH 0x40
#define FUZZ_READ 0x80

static const uint16_t ports[] = {
	FW_CFG_PORT_SELECTOR, FW_CFG_PORT_DATA, FW_CFG_PORT_DMA,
	FW_CFG_PORT_DMA + 4,  0x70,             0x71,
	0xcf8,                0xcfc,            LAYOUT_PORT_ICH9_PMBASE + 4,
	LAYOUT_PORT_ICH9_PMBASE + 8,
};

static struct vtest_host th;
static char flash_path[64];

static void remove_flash(void)
{
	unlink(flash_path);
}

static void init_once(void)
{
	int fd;

	if (vtest_host_init(&th, GUEST_MEM, false) < 0)
		abort();
	vtest_host_pci(&th);
	snprintf(flash_path, sizeof(flash_path), "/tmp/vmm-fuzz-flash-%d",
		 (int)getpid());
	fd = open(flash_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, FLASH_SIZE) < 0)
		abort();
	close(fd);
	atexit(remove_flash);
}

/* Every input starts from an erased flash and the same fw_cfg items. */
static void create_devices(struct device *dev[4])
{
	struct cmos_memory m = { .low_end = GUEST_MEM, .nr_cpus = 1 };
	uint8_t erased[FLASH_SIZE];
	struct fw_cfg *fw;
	uint8_t *blob;
	struct err e;
	FILE *f;

	memset(erased, 0xff, sizeof(erased));
	f = fopen(flash_path, "r+");
	if (!f || fwrite(erased, 1, sizeof(erased), f) != sizeof(erased))
		abort();
	fclose(f);
	blob = malloc(64);
	if (!blob)
		abort();
	memset(blob, 0x5a, 64);
	if (fw_cfg_create(&th.host, &fw, &e) < 0 ||
	    fw_cfg_add_file(fw, "etc/fuzz", blob, 64, &e) < 0 ||
	    fw_cfg_add_u32(fw, FW_CFG_NB_CPUS, 1, &e) < 0 ||
	    cmos_create(&th.host, &m, &dev[1], &e) < 0 ||
	    ich9_lpc_create(&th.host, th.pci, LAYOUT_PORT_ICH9_PMBASE, &dev[2],
			    &e) < 0 ||
	    pflash_create(&th.host, FLASH_BASE, flash_path, &dev[3], &e) < 0) {
		fprintf(stderr, "fuzz_firmware: %s\n", e.msg);
		abort();
	}
	dev[0] = fw_cfg_device(fw);
}

static void fuzz_access(struct bus *bus, uint64_t addr, uint8_t kind, uint32_t v)
{
	uint32_t width = 1u << (kind & 3);
	uint8_t b[8];

	if (kind & FUZZ_READ) {
		memset(b, 0xa5, sizeof(b));
		bus_read(bus, addr, b, width);
		for (uint32_t i = width; i < sizeof(b); i++)
			if (b[i] != 0xa5)
				abort(); /* wrote past the access */
		return;
	}
	memset(b, 0, sizeof(b));
	put_le32(b, v);
	bus_write(bus, addr, b, width);
}

static void run_record(struct fuzz_input *in)
{
	uint8_t kind = fuzz_u8(in), sel = fuzz_u8(in);
	uint32_t v = fuzz_u32(in);

	if (kind == FUZZ_MEM_WRITE) {
		uint8_t acc[16] = { 0 };

		fuzz_bytes(in, acc, sizeof(acc));
		memcpy(th.mem.base + v % (GUEST_MEM - sizeof(acc)), acc,
		       sizeof(acc));
	} else if (kind & FUZZ_FLASH) {
		fuzz_access(&th.mmio, FLASH_BASE + v % FLASH_SIZE, kind, sel);
	} else {
		fuzz_access(&th.pio,
		       (uint16_t)(ports[sel % ARRAY_SIZE(ports)] +
				  sel / ARRAY_SIZE(ports) % 8),
		       kind, v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct device *dev[4];

	if (!th.mem.base)
		init_once();
	fuzz_cost_begin();
	create_devices(dev);
	while (in.len) {
		run_record(&in);
		fuzz_cost_check("the firmware's devices");
	}
	for (unsigned int i = ARRAY_SIZE(dev); i-- > 0;)
		dev[i]->ops->destroy(dev[i]);
	return 0;
}
