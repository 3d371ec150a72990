// SPDX-License-Identifier: MIT
/*
 * An i8042 keyboard controller with no keyboard or mouse behind it: enough
 * for a kernel to probe it and to pulse the CPU reset line (command 0xfe),
 * which is how Linux reboots with reboot=k.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/x86/legacy.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/state.h"

#define I8042_STS_OBF 0x01    /* output buffer full */
#define I8042_STS_SYS 0x04    /* system flag: self-test passed */
#define I8042_STS_CMD 0x08    /* last write was a command */

#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_PULSE_RESET 0xfe
#define I8042_SELF_TEST_OK 0x55

struct i8042 {
	struct device dev;
	struct device_host *host;
	struct bus_device data_io;
	struct bus_device cmd_io;
	pthread_mutex_t lock;
	uint8_t status;
	uint8_t ctr; /* controller configuration byte */
	uint8_t out;
	uint8_t pending_cmd;
};

static void i8042_put(struct i8042 *kbc, uint8_t val)
{
	kbc->out = val;
	kbc->status |= I8042_STS_OBF;
}

static void i8042_data_read(struct bus_device *dev, uint64_t offset,
			    void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;

	(void)offset;
	memset(data, 0, len);
	pthread_mutex_lock(&kbc->lock);
	*(uint8_t *)data = kbc->out;
	kbc->status &= ~I8042_STS_OBF;
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_data_write(struct bus_device *dev, uint64_t offset,
			     const void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&kbc->lock);
	if (kbc->pending_cmd == I8042_CMD_WRITE_CTR)
		kbc->ctr = *(const uint8_t *)data;
	kbc->pending_cmd = 0;
	kbc->status &= ~I8042_STS_CMD;
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_status_read(struct bus_device *dev, uint64_t offset,
			      void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;

	(void)offset;
	memset(data, 0, len);
	pthread_mutex_lock(&kbc->lock);
	*(uint8_t *)data = kbc->status;
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_cmd_write(struct bus_device *dev, uint64_t offset,
			    const void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;
	uint8_t cmd = *(const uint8_t *)data;
	bool reset = false;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&kbc->lock);
	kbc->status |= I8042_STS_CMD;
	kbc->pending_cmd = 0;
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_put(kbc, kbc->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
		kbc->pending_cmd = cmd;
		break;
	case I8042_CMD_SELF_TEST:
		i8042_put(kbc, I8042_SELF_TEST_OK);
		break;
	case I8042_CMD_PULSE_RESET:
		reset = true;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&kbc->lock);
	if (reset)
		kbc->host->power(kbc->host, DEVICE_POWER_RESET, 0);
}

static const struct bus_device_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct bus_device_ops i8042_cmd_ops = {
	.read = i8042_status_read,
	.write = i8042_cmd_write,
};

static void i8042_reset(struct device *dev)
{
	struct i8042 *kbc = (struct i8042 *)dev;

	pthread_mutex_lock(&kbc->lock);
	kbc->status = I8042_STS_SYS;
	kbc->ctr = 0;
	kbc->pending_cmd = 0;
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_destroy(struct device *dev)
{
	struct i8042 *kbc = (struct i8042 *)dev;

	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}

static int i8042_save(struct device *dev, struct state_writer *w,
		      struct err *e)
{
	struct i8042 *kbc = (struct i8042 *)dev;

	(void)e;
	pthread_mutex_lock(&kbc->lock);
	state_put_u64(w, "status", kbc->status);
	state_put_u64(w, "ctr", kbc->ctr);
	state_put_u64(w, "out", kbc->out);
	state_put_u64(w, "pending_cmd", kbc->pending_cmd);
	pthread_mutex_unlock(&kbc->lock);
	return 0;
}

static int i8042_restore(struct device *dev, const struct state_section *s,
			 struct err *e)
{
	struct i8042 *kbc = (struct i8042 *)dev;
	uint8_t status, ctr, out, cmd;

	if (state_get_u8(s, "status", &status, e) < 0 ||
	    state_get_u8(s, "ctr", &ctr, e) < 0 ||
	    state_get_u8(s, "out", &out, e) < 0 ||
	    state_get_u8(s, "pending_cmd", &cmd, e) < 0)
		return -1;
	/* The only command that waits for a data byte. */
	if (cmd && cmd != I8042_CMD_WRITE_CTR)
		return err_set(e, "%s: no command %#x waits for data", s->label,
			       cmd);
	pthread_mutex_lock(&kbc->lock);
	kbc->status = status & (I8042_STS_OBF | I8042_STS_SYS | I8042_STS_CMD);
	kbc->ctr = ctr;
	kbc->out = out;
	kbc->pending_cmd = cmd;
	pthread_mutex_unlock(&kbc->lock);
	return 0;
}

static const struct device_ops i8042_device_ops = {
	.reset = i8042_reset,
	.destroy = i8042_destroy,
	.save = i8042_save,
	.restore = i8042_restore,
};

int i8042_create(struct device_host *host, struct device **out, struct err *e)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));

	if (!kbc)
		return err_set(e, "i8042: out of memory");
	kbc->dev = (struct device){ .name = "i8042", .ops = &i8042_device_ops };
	kbc->host = host;
	kbc->status = I8042_STS_SYS;
	pthread_mutex_init(&kbc->lock, NULL);
	kbc->data_io = (struct bus_device){
		.name = "i8042 data", .base = LAYOUT_PORT_I8042_DATA, .len = 1,
		.ops = &i8042_data_ops, .opaque = kbc,
	};
	kbc->cmd_io = (struct bus_device){
		.name = "i8042 command", .base = LAYOUT_PORT_I8042_CMD, .len = 1,
		.ops = &i8042_cmd_ops, .opaque = kbc,
	};
	if (bus_register(host->pio, &kbc->data_io, e) < 0)
		goto fail;
	if (bus_register(host->pio, &kbc->cmd_io, e) < 0) {
		bus_unregister(host->pio, &kbc->data_io);
		goto fail;
	}
	*out = &kbc->dev;
	return 0;
fail:
	i8042_destroy(&kbc->dev);
	return -1;
}
