// SPDX-License-Identifier: MIT
/*
 * fw_cfg over I/O ports with DMA, as OVMF's QemuFwCfgLib drives it (edk2
 * OvmfPkg/Library/QemuFwCfgLib): it reads the signature and the feature
 * bits, then moves every item by DMA through an access structure in guest
 * memory, and polls the structure's control word until the device clears
 * it. The items themselves come from the boot code (boot/x86/uefi.c).
 */
#include "devices/x86/fw_cfg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_CFG_NR_KEYS (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
/* Traditional interface and DMA (fw_cfg.rst, "Interface feature bitmap"). */
#define FW_CFG_FEATURES 0x3
#define FW_CFG_DMA_ACCESS_SIZE 16
#define FW_CFG_DIR_ENTRY_SIZE 64
/* What reads of the DMA address register return. */
static const char fw_cfg_dma_signature[8] = "QEMU CFG";

struct fw_cfg_item {
	uint8_t *data;
	uint32_t len;
	char name[FW_CFG_FNAME_SIZE]; /* files only */
};

struct fw_cfg {
	struct device dev;
	struct device_host *host;
	struct bus_device io;
	struct bus_device dma_io;
	pthread_mutex_t lock;
	struct fw_cfg_item items[FW_CFG_NR_KEYS];
	unsigned int nr_files;
	uint16_t selector;
	uint32_t offset;
	uint32_t dma_high;
};

static const struct fw_cfg_item *fw_cfg_current(const struct fw_cfg *fw)
{
	return fw->selector < FW_CFG_NR_KEYS ? &fw->items[fw->selector] : NULL;
}

static void fw_cfg_select(struct fw_cfg *fw, uint16_t key)
{
	fw->selector = key;
	fw->offset = 0;
}

/* The next byte of the selected item; 0 past its end or without one. */
static uint8_t fw_cfg_next_byte(struct fw_cfg *fw)
{
	const struct fw_cfg_item *it = fw_cfg_current(fw);

	if (!it || fw->offset >= it->len)
		return 0;
	return it->data[fw->offset++];
}

static void fw_cfg_io_read(struct bus_device *dev, uint64_t offset,
			   void *data, uint32_t len)
{
	struct fw_cfg *fw = dev->opaque;
	uint8_t *out = data;

	memset(data, 0, len);
	pthread_mutex_lock(&fw->lock);
	/* The data port is one byte wide: a wider read gets one byte. */
	if (offset == FW_CFG_PORT_DATA - FW_CFG_PORT_SELECTOR)
		out[0] = fw_cfg_next_byte(fw);
	pthread_mutex_unlock(&fw->lock);
}

static void fw_cfg_io_write(struct bus_device *dev, uint64_t offset,
			    const void *data, uint32_t len)
{
	struct fw_cfg *fw = dev->opaque;

	/* Writes to the data port are ignored since QEMU 2.4. */
	if (offset != 0 || len != 2)
		return;
	pthread_mutex_lock(&fw->lock);
	fw_cfg_select(fw, get_le16(data));
	pthread_mutex_unlock(&fw->lock);
}

/*
 * Reads @len bytes of the selected item into guest memory at @gpa, zeros
 * past the item's end. The whole destination must be RAM.
 */
static bool fw_cfg_dma_read(struct fw_cfg *fw, uint64_t gpa, uint32_t len)
{
	const struct fw_cfg_item *it = fw_cfg_current(fw);
	uint8_t *dst = guest_mem_ptr(fw->host->mem, gpa, len);
	uint32_t n = 0;

	if (!dst)
		return false;
	if (it && fw->offset < it->len) {
		n = MIN(len, it->len - fw->offset);
		memcpy(dst, it->data + fw->offset, n);
	}
	memset(dst + n, 0, len - n);
	return true;
}

/* Carries out one transfer; returns the control word to write back. */
static uint32_t fw_cfg_dma_run(struct fw_cfg *fw, uint32_t control,
			       uint32_t len, uint64_t gpa)
{
	const struct fw_cfg_item *it;

	if (control & FW_CFG_DMA_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_READ) {
		if (!fw_cfg_dma_read(fw, gpa, len)) {
			log_guest_once("fw_cfg: DMA read of %u bytes to 0x%llx is not in guest RAM",
				       len, (unsigned long long)gpa);
			return FW_CFG_DMA_ERROR;
		}
	} else if (control & FW_CFG_DMA_WRITE) {
		/* No item is writable. */
		return FW_CFG_DMA_ERROR;
	} else if (!(control & FW_CFG_DMA_SKIP)) {
		return 0;
	}
	it = fw_cfg_current(fw);
	if (it)
		fw->offset = (uint32_t)MIN((uint64_t)fw->offset + len, it->len);
	return 0;
}

/* The guest wrote the low half of the access structure's address. */
static void fw_cfg_dma(struct fw_cfg *fw, uint64_t addr)
{
	uint8_t acc[FW_CFG_DMA_ACCESS_SIZE];
	uint32_t control;

	if (guest_mem_read(fw->host->mem, addr, acc, sizeof(acc)) < 0) {
		log_guest_once("fw_cfg: DMA access structure at 0x%llx is not in guest RAM",
			       (unsigned long long)addr);
		return;
	}
	control = fw_cfg_dma_run(fw, __builtin_bswap32(get_le32(acc)),
				 __builtin_bswap32(get_le32(acc + 4)),
				 __builtin_bswap64(get_le64(acc + 8)));
	put_le32(acc, __builtin_bswap32(control));
	guest_mem_write(fw->host->mem, addr, acc, 4);
}

static void fw_cfg_dma_io_read(struct bus_device *dev, uint64_t offset,
			       void *data, uint32_t len)
{
	uint8_t *out = data;

	(void)dev;
	for (uint32_t i = 0; i < len; i++)
		out[i] = offset + i < sizeof(fw_cfg_dma_signature) ?
				 (uint8_t)fw_cfg_dma_signature[offset + i] :
				 0;
}

static void fw_cfg_dma_io_write(struct bus_device *dev, uint64_t offset,
				const void *data, uint32_t len)
{
	struct fw_cfg *fw = dev->opaque;
	uint32_t v;

	if (len != 4 || (offset != 0 && offset != 4))
		return;
	v = __builtin_bswap32(get_le32(data));
	pthread_mutex_lock(&fw->lock);
	if (offset == 0) {
		fw->dma_high = v;
	} else {
		fw_cfg_dma(fw, (uint64_t)fw->dma_high << 32 | v);
		fw->dma_high = 0;
	}
	pthread_mutex_unlock(&fw->lock);
}

static const struct bus_device_ops fw_cfg_io_ops = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
};

static const struct bus_device_ops fw_cfg_dma_ops = {
	.read = fw_cfg_dma_io_read,
	.write = fw_cfg_dma_io_write,
};

static void fw_cfg_reset(struct device *dev)
{
	struct fw_cfg *fw = container_of(dev, struct fw_cfg, dev);

	pthread_mutex_lock(&fw->lock);
	fw_cfg_select(fw, FW_CFG_SIGNATURE);
	fw->dma_high = 0;
	pthread_mutex_unlock(&fw->lock);
}

static void fw_cfg_destroy(struct device *dev)
{
	struct fw_cfg *fw = container_of(dev, struct fw_cfg, dev);

	bus_unregister(fw->host->pio, &fw->dma_io);
	bus_unregister(fw->host->pio, &fw->io);
	for (unsigned int i = 0; i < FW_CFG_NR_KEYS; i++)
		free(fw->items[i].data);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}

static const struct device_ops fw_cfg_device_ops = {
	.reset = fw_cfg_reset,
	.destroy = fw_cfg_destroy,
};

int fw_cfg_add(struct fw_cfg *fw, uint16_t key, void *data, size_t len,
	       struct err *e)
{
	struct fw_cfg_item *it;

	if (key >= FW_CFG_NR_KEYS || fw->items[key].data || len > UINT32_MAX) {
		free(data);
		return err_set(e, "fw_cfg: item 0x%x is taken, out of range or too big",
			       key);
	}
	it = &fw->items[key];
	it->data = data;
	it->len = (uint32_t)len;
	return 0;
}

/* A little-endian number of @size bytes as item @key. */
static int fw_cfg_add_le(struct fw_cfg *fw, uint16_t key, uint32_t v,
			 size_t size, struct err *e)
{
	uint8_t *p = malloc(4);

	if (!p)
		return err_set(e, "fw_cfg: out of memory");
	put_le32(p, v);
	return fw_cfg_add(fw, key, p, size, e);
}

int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t v, struct err *e)
{
	return fw_cfg_add_le(fw, key, v, 4, e);
}

int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t v, struct err *e)
{
	return fw_cfg_add_le(fw, key, v, 2, e);
}

/*
 * The file directory: a big-endian count, then per file its big-endian
 * size and key, two reserved bytes and the NUL-padded name.
 */
static int fw_cfg_update_dir(struct fw_cfg *fw, struct err *e)
{
	size_t len = 4 + (size_t)fw->nr_files * FW_CFG_DIR_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	struct fw_cfg_item *d = &fw->items[FW_CFG_FILE_DIR];

	if (!dir)
		return err_set(e, "fw_cfg: out of memory");
	put_le32(dir, __builtin_bswap32(fw->nr_files));
	for (unsigned int i = 0; i < fw->nr_files; i++) {
		const struct fw_cfg_item *it = &fw->items[FW_CFG_FILE_FIRST + i];
		uint8_t *ent = dir + 4 + (size_t)i * FW_CFG_DIR_ENTRY_SIZE;

		put_le32(ent, __builtin_bswap32(it->len));
		put_le16(ent + 4,
			 __builtin_bswap16((uint16_t)(FW_CFG_FILE_FIRST + i)));
		memcpy(ent + 8, it->name, FW_CFG_FNAME_SIZE);
	}
	free(d->data);
	d->data = dir;
	d->len = (uint32_t)len;
	return 0;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, void *data,
		    size_t len, struct err *e)
{
	uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + fw->nr_files);

	if (strlen(name) >= FW_CFG_FNAME_SIZE || fw->nr_files == FW_CFG_MAX_FILES) {
		free(data);
		return err_set(e, "fw_cfg: no room for file '%s'", name);
	}
	for (unsigned int i = 0; i < fw->nr_files; i++) {
		if (!strcmp(fw->items[FW_CFG_FILE_FIRST + i].name, name)) {
			free(data);
			return err_set(e, "fw_cfg: file '%s' exists", name);
		}
	}
	if (fw_cfg_add(fw, key, data, len, e) < 0)
		return -1;
	strncpy(fw->items[key].name, name, FW_CFG_FNAME_SIZE - 1);
	fw->nr_files++;
	return fw_cfg_update_dir(fw, e);
}

struct device *fw_cfg_device(struct fw_cfg *fw)
{
	return &fw->dev;
}

static int fw_cfg_add_identity(struct fw_cfg *fw, struct err *e)
{
	uint8_t *sig = malloc(4);

	if (!sig)
		return err_set(e, "fw_cfg: out of memory");
	memcpy(sig, "QEMU", 4);
	if (fw_cfg_add(fw, FW_CFG_SIGNATURE, sig, 4, e) < 0 ||
	    fw_cfg_add_u32(fw, FW_CFG_ID, FW_CFG_FEATURES, e) < 0)
		return -1;
	return fw_cfg_update_dir(fw, e);
}

int fw_cfg_create(struct device_host *host, struct fw_cfg **out,
		  struct err *e)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));

	if (!fw)
		return err_set(e, "fw_cfg: out of memory");
	fw->dev = (struct device){ .name = "fw_cfg", .ops = &fw_cfg_device_ops,
				   .transport = "pio" };
	snprintf(fw->dev.address, sizeof(fw->dev.address), "0x%x",
		 FW_CFG_PORT_SELECTOR);
	fw->host = host;
	pthread_mutex_init(&fw->lock, NULL);
	fw->io = (struct bus_device){
		.name = "fw_cfg", .base = FW_CFG_PORT_SELECTOR, .len = 2,
		.ops = &fw_cfg_io_ops, .opaque = fw,
	};
	fw->dma_io = (struct bus_device){
		.name = "fw_cfg DMA", .base = FW_CFG_PORT_DMA, .len = 8,
		.ops = &fw_cfg_dma_ops, .opaque = fw,
	};
	if (fw_cfg_add_identity(fw, e) < 0 ||
	    bus_register(host->pio, &fw->io, e) < 0)
		goto fail;
	if (bus_register(host->pio, &fw->dma_io, e) < 0) {
		bus_unregister(host->pio, &fw->io);
		goto fail;
	}
	*out = fw;
	return 0;
fail:
	for (unsigned int i = 0; i < FW_CFG_NR_KEYS; i++)
		free(fw->items[i].data);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
	return -1;
}
