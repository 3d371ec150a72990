/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_X86_FW_CFG_H
#define DEVICES_X86_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/device.h"

/*
 * QEMU's firmware configuration interface (QEMU docs/specs/fw_cfg.rst), the
 * channel through which OVMF learns the machine: a 16-bit selector at port
 * 0x510, a byte-wide data port at 0x511 and the DMA address register at
 * 0x514 (big-endian, written high half then low half; the low half starts
 * the transfer). Items are blobs under a 16-bit key; named files get keys
 * from FW_CFG_FILE_FIRST on and are listed in the file directory.
 */
#define FW_CFG_PORT_SELECTOR 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514

/* Keys the firmware reads (edk2 OvmfPkg/Include/IndustryStandard/QemuFwCfg.h). */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_MAX_FILES 32
#define FW_CFG_FNAME_SIZE 56

/* The DMA access structure's control bits. */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

struct fw_cfg;

int fw_cfg_create(struct device_host *host, struct fw_cfg **out,
		  struct err *e);
struct device *fw_cfg_device(struct fw_cfg *fw);

/*
 * Adds item @key with @len bytes of @data, which the device takes over
 * (free()d with it, or at once on failure). Fails when @key is taken.
 */
int fw_cfg_add(struct fw_cfg *fw, uint16_t key, void *data, size_t len,
	       struct err *e);
/* A little-endian 16-bit or 32-bit number as item @key. */
int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t v,
		   struct err *e);
int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t v,
		   struct err *e);
/* Adds a named file, as fw_cfg_add() takes @data, and lists it. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, void *data,
		    size_t len, struct err *e);

#endif
