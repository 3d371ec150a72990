// SPDX-License-Identifier: MIT
/*
 * The UEFI variable store as OVMF's flash driver drives it (edk2
 * OvmfPkg/QemuFlashFvbServicesRuntimeDxe/QemuFlash.c): byte-wide commands
 * of the Intel CFI command set, as QEMU's pflash_cfi01 answers them. The
 * driver detects flash by writing CLEAR STATUS and READ STATUS and reading
 * a cleared status back (ROM would read its old byte, RAM the command);
 * it programs a byte with WRITE BYTE and the byte, erases a 4 KiB block
 * with BLOCK ERASE and CONFIRM, and returns to READ ARRAY. The store is
 * the file itself, mapped shared: what the guest writes is in the file
 * when the VMM exits.
 *
 * In READ ARRAY mode the file is mapped into the guest read-only, as
 * QEMU's flash is: reads cost no exit, and writes, which are commands,
 * still come here. OVMF reads its whole store through plain memory
 * moves, which would otherwise exit once per access and each go through
 * KVM's instruction emulator. In every other mode reads return the
 * status, so the mapping goes away until READ ARRAY brings it back.
 */
#include "devices/x86/pflash.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD_READ_ARRAY 0xff
#define CMD_READ_ARRAY_ALT 0x00
#define CMD_WRITE_BYTE 0x10
#define CMD_WRITE_BYTE_ALT 0x40
#define CMD_BLOCK_ERASE 0x20
#define CMD_CLEAR_STATUS 0x50
#define CMD_READ_STATUS 0x70
#define CMD_ERASE_CONFIRM 0xd0
#define STATUS_READY 0x80
#define STATUS_ERASE_ERROR 0x20 /* a sequence error, as the chip reports it */

enum pflash_mode {
	PFLASH_ARRAY,  /* reads return the contents */
	PFLASH_STATUS, /* reads return the status register */
	PFLASH_PROGRAM, /* the next write is a byte to program */
	PFLASH_ERASE,  /* the next write must confirm the erase */
};

struct pflash {
	struct device dev;
	struct device_host *host;
	struct bus_device mmio;
	pthread_mutex_t lock;
	uint8_t *data;
	size_t size;
	enum pflash_mode mode;
	uint8_t status;
	bool mapped; /* the array is in the guest's memory map */
};

static void pflash_read(struct bus_device *dev, uint64_t offset, void *data,
			uint32_t len)
{
	struct pflash *f = dev->opaque;

	pthread_mutex_lock(&f->lock);
	if (f->mode == PFLASH_ARRAY)
		memcpy(data, f->data + offset, len);
	else
		memset(data, f->status, len);
	pthread_mutex_unlock(&f->lock);
}

/*
 * Puts the array into the guest's memory map in READ ARRAY mode and takes
 * it out in the others. Should the host refuse, reads keep exiting here,
 * which answers them the same, only slower.
 */
static void pflash_sync_window(struct pflash *f)
{
	bool want = f->mode == PFLASH_ARRAY;
	struct err e;

	if (want == f->mapped || !f->host->rom_window)
		return;
	if (f->host->rom_window(f->host, f->mmio.base, f->data, f->size, want,
				&e) < 0) {
		log_warn("pflash: %s", e.msg);
		if (want)
			return;
	}
	f->mapped = want;
}

static void pflash_command(struct pflash *f, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_ARRAY:
	case CMD_READ_ARRAY_ALT:
		f->mode = PFLASH_ARRAY;
		break;
	case CMD_CLEAR_STATUS:
		f->status = 0;
		f->mode = PFLASH_STATUS;
		break;
	case CMD_READ_STATUS:
		f->mode = PFLASH_STATUS;
		break;
	case CMD_WRITE_BYTE:
	case CMD_WRITE_BYTE_ALT:
		f->mode = PFLASH_PROGRAM;
		break;
	case CMD_BLOCK_ERASE:
		f->mode = PFLASH_ERASE;
		break;
	default:
		log_guest_once("pflash: unsupported command 0x%02x", cmd);
		f->mode = PFLASH_ARRAY;
	}
}

static void pflash_write(struct bus_device *dev, uint64_t offset,
			 const void *data, uint32_t len)
{
	struct pflash *f = dev->opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)len; /* an 8-bit chip: the low byte is the command or datum */
	pthread_mutex_lock(&f->lock);
	switch (f->mode) {
	case PFLASH_PROGRAM:
		f->data[offset] = v;
		f->status |= STATUS_READY;
		f->mode = PFLASH_STATUS;
		break;
	case PFLASH_ERASE:
		if (v == CMD_ERASE_CONFIRM) {
			memset(f->data + ALIGN_DOWN(offset, PFLASH_BLOCK_SIZE),
			       0xff, PFLASH_BLOCK_SIZE);
			f->status |= STATUS_READY;
		} else {
			f->status |= STATUS_ERASE_ERROR;
		}
		f->mode = PFLASH_STATUS;
		break;
	default:
		pflash_command(f, v);
	}
	pflash_sync_window(f);
	pthread_mutex_unlock(&f->lock);
}

static const struct bus_device_ops pflash_ops = {
	.read = pflash_read,
	.write = pflash_write,
};

static void pflash_reset(struct device *dev)
{
	struct pflash *f = container_of(dev, struct pflash, dev);

	pthread_mutex_lock(&f->lock);
	f->mode = PFLASH_ARRAY;
	f->status = 0;
	pflash_sync_window(f);
	pthread_mutex_unlock(&f->lock);
}

static void pflash_destroy(struct device *dev)
{
	struct pflash *f = container_of(dev, struct pflash, dev);

	bus_unregister(f->host->mmio, &f->mmio);
	msync(f->data, f->size, MS_SYNC);
	munmap(f->data, f->size);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct device_ops pflash_device_ops = {
	.reset = pflash_reset,
	.destroy = pflash_destroy,
};

static int pflash_map(struct pflash *f, const char *path, struct err *e)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, "variable store %s", path);
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % PFLASH_BLOCK_SIZE) {
		close(fd);
		return err_set(e, "variable store %s: not a whole number of %u-byte flash blocks",
			       path, PFLASH_BLOCK_SIZE);
	}
	f->size = (size_t)st.st_size;
	f->data = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED)
		return err_errno(e, "variable store %s: mmap", path);
	return 0;
}

int pflash_create(struct device_host *host, uint64_t base, const char *path,
		  struct device **out, struct err *e)
{
	struct pflash *f = calloc(1, sizeof(*f));

	if (!f)
		return err_set(e, "pflash: out of memory");
	if (pflash_map(f, path, e) < 0) {
		free(f);
		return -1;
	}
	f->dev = (struct device){ .name = "pflash", .ops = &pflash_device_ops,
				  .transport = "mmio" };
	snprintf(f->dev.address, sizeof(f->dev.address), "0x%llx",
		 (unsigned long long)base);
	f->host = host;
	pthread_mutex_init(&f->lock, NULL);
	f->mmio = (struct bus_device){
		.name = "pflash", .base = base, .len = f->size,
		.ops = &pflash_ops, .opaque = f,
	};
	if (bus_register(host->mmio, &f->mmio, e) < 0) {
		munmap(f->data, f->size);
		pthread_mutex_destroy(&f->lock);
		free(f);
		return -1;
	}
	pflash_sync_window(f);
	*out = &f->dev;
	return 0;
}
