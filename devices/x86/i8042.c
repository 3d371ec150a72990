// SPDX-License-Identifier: MIT
/*
 * An i8042 keyboard controller with a PS/2 keyboard behind it that has no
 * keys. The keyboard answers its commands as a real one does, so a
 * firmware's driver finds it at once: OVMF's Ps2KeyboardDxe sends "enable"
 * on every extended reset of its console and polls a whole second for the
 * answer when none comes. The controller also pulses the CPU reset line
 * (command 0xfe), which is how Linux reboots with reboot=k.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/x86/legacy.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/state.h"

#define I8042_STS_OBF 0x01    /* output buffer full */
#define I8042_STS_SYS 0x04    /* system flag: self-test passed */
#define I8042_STS_CMD 0x08    /* last write was a command */

#define I8042_CTR_KBD_INT 0x01      /* interrupt on keyboard output */
#define I8042_CTR_KBD_DISABLE 0x10  /* keyboard clock held low */
#define I8042_CTR_AUX_DISABLE 0x20

#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_PULSE_RESET 0xfe
#define I8042_SELF_TEST_OK 0x55
#define I8042_KBD_TEST_OK 0x00

/* Keyboard commands, and what the keyboard answers. */
#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCAN_SET 0xf0
#define KBD_CMD_IDENTIFY 0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff
#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa
#define KBD_NAK 0xfe
#define KBD_ID_MF2 0xab, 0x83
#define KBD_SCAN_SET_2 0x02

/* The output buffer and the bytes the keyboard has waiting behind it. */
#define I8042_QUEUE 8

struct i8042 {
	struct device dev;
	struct device_host *host;
	struct bus_device data_io;
	struct bus_device cmd_io;
	struct irq_line irq;
	pthread_mutex_t lock;
	uint8_t status; /* SYS and CMD; OBF follows the queue */
	uint8_t ctr; /* controller configuration byte */
	uint8_t queue[I8042_QUEUE];
	unsigned int queue_len;
	uint8_t pending_cmd; /* controller command waiting for its data byte */
	uint8_t kbd_cmd;     /* keyboard command waiting for its argument */
	uint8_t kbd_last;    /* the keyboard's last byte, for a resend */
	bool irq_level;
};

/*
 * IRQ 1 follows the output buffer while the keyboard's interrupt is on.
 * A read drops it for a moment, as the controller does before it loads
 * the next byte, so that each byte is an edge of its own.
 */
static void i8042_update_irq(struct i8042 *kbc)
{
	bool level = kbc->queue_len && (kbc->ctr & I8042_CTR_KBD_INT);

	if (level == kbc->irq_level)
		return;
	kbc->irq_level = level;
	irq_line_set(&kbc->irq, level);
}

/* Queues a byte for the guest; a guest that never reads loses the rest. */
static void i8042_put(struct i8042 *kbc, uint8_t val)
{
	if (kbc->queue_len < I8042_QUEUE)
		kbc->queue[kbc->queue_len++] = val;
}

static void kbd_put(struct i8042 *kbc, uint8_t val)
{
	kbc->kbd_last = val;
	i8042_put(kbc, val);
}

/* A byte the guest sends to the keyboard through the data port. */
static void kbd_write(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->kbd_cmd;

	kbc->kbd_cmd = 0;
	if (cmd) {
		/* The argument of a command: the keyboard takes any. */
		kbd_put(kbc, KBD_ACK);
		if (cmd == KBD_CMD_SCAN_SET && val == 0)
			kbd_put(kbc, KBD_SCAN_SET_2);
		return;
	}
	switch (val) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SCAN_SET:
	case KBD_CMD_TYPEMATIC:
		kbc->kbd_cmd = val;
		kbd_put(kbc, KBD_ACK);
		break;
	case KBD_CMD_ECHO:
		kbd_put(kbc, KBD_CMD_ECHO);
		break;
	case KBD_CMD_IDENTIFY: {
		static const uint8_t id[] = { KBD_ACK, KBD_ID_MF2 };

		for (size_t i = 0; i < sizeof(id); i++)
			kbd_put(kbc, id[i]);
		break;
	}
	case KBD_CMD_RESEND:
		kbd_put(kbc, kbc->kbd_last);
		break;
	case KBD_CMD_RESET:
		kbd_put(kbc, KBD_ACK);
		kbd_put(kbc, KBD_BAT_OK);
		break;
	default:
		/* Enable, disable, defaults and the typematic modes: no keys. */
		kbd_put(kbc, val >= 0xf4 ? KBD_ACK : KBD_NAK);
		break;
	}
}

static void i8042_data_read(struct bus_device *dev, uint64_t offset,
			    void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;

	(void)offset;
	memset(data, 0, len);
	pthread_mutex_lock(&kbc->lock);
	*(uint8_t *)data = kbc->queue[0];
	if (kbc->queue_len) {
		kbc->queue_len--;
		memmove(kbc->queue, kbc->queue + 1, kbc->queue_len);
	}
	if (kbc->irq_level) {
		kbc->irq_level = false;
		irq_line_set(&kbc->irq, 0);
	}
	i8042_update_irq(kbc);
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_data_write(struct bus_device *dev, uint64_t offset,
			     const void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;
	uint8_t val = *(const uint8_t *)data;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&kbc->lock);
	if (kbc->pending_cmd == I8042_CMD_WRITE_CTR)
		kbc->ctr = val;
	else
		kbd_write(kbc, val);
	kbc->pending_cmd = 0;
	kbc->status &= ~I8042_STS_CMD;
	i8042_update_irq(kbc);
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_status_read(struct bus_device *dev, uint64_t offset,
			      void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;

	(void)offset;
	memset(data, 0, len);
	pthread_mutex_lock(&kbc->lock);
	*(uint8_t *)data = kbc->status | (kbc->queue_len ? I8042_STS_OBF : 0);
	pthread_mutex_unlock(&kbc->lock);
}

/* Runs a controller command; true when it resets the machine. */
static bool i8042_command(struct i8042 *kbc, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_put(kbc, kbc->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
		kbc->pending_cmd = cmd;
		break;
	case I8042_CMD_AUX_DISABLE:
		kbc->ctr |= I8042_CTR_AUX_DISABLE;
		break;
	case I8042_CMD_AUX_ENABLE:
		kbc->ctr &= ~I8042_CTR_AUX_DISABLE;
		break;
	case I8042_CMD_SELF_TEST:
		i8042_put(kbc, I8042_SELF_TEST_OK);
		break;
	case I8042_CMD_KBD_TEST:
		i8042_put(kbc, I8042_KBD_TEST_OK);
		break;
	case I8042_CMD_KBD_DISABLE:
		kbc->ctr |= I8042_CTR_KBD_DISABLE;
		break;
	case I8042_CMD_KBD_ENABLE:
		kbc->ctr &= ~I8042_CTR_KBD_DISABLE;
		break;
	case I8042_CMD_PULSE_RESET:
		return true;
	default:
		break;
	}
	return false;
}

static void i8042_cmd_write(struct bus_device *dev, uint64_t offset,
			    const void *data, uint32_t len)
{
	struct i8042 *kbc = dev->opaque;
	bool reset;

	(void)offset;
	(void)len;
	pthread_mutex_lock(&kbc->lock);
	kbc->status |= I8042_STS_CMD;
	kbc->pending_cmd = 0;
	reset = i8042_command(kbc, *(const uint8_t *)data);
	i8042_update_irq(kbc);
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
	kbc->queue_len = 0;
	kbc->pending_cmd = kbc->kbd_cmd = kbc->kbd_last = 0;
	i8042_update_irq(kbc);
	pthread_mutex_unlock(&kbc->lock);
}

/* Also what a failed i8042_create() leaves; the line's eventfd is ours. */
static void i8042_destroy(struct device *dev)
{
	struct i8042 *kbc = (struct i8042 *)dev;

	if (kbc->irq.fd >= 0)
		close(kbc->irq.fd);
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
	state_put_bytes(w, "queue", kbc->queue, kbc->queue_len);
	state_put_u64(w, "pending_cmd", kbc->pending_cmd);
	state_put_u64(w, "kbd_cmd", kbc->kbd_cmd);
	state_put_u64(w, "kbd_last", kbc->kbd_last);
	pthread_mutex_unlock(&kbc->lock);
	return 0;
}

static int i8042_restore(struct device *dev, const struct state_section *s,
			 struct err *e)
{
	struct i8042 *kbc = (struct i8042 *)dev;
	uint8_t status, ctr, cmd, kbd_cmd, kbd_last;
	const uint8_t *queue;
	uint32_t len;

	if (state_get_u8(s, "status", &status, e) < 0 ||
	    state_get_u8(s, "ctr", &ctr, e) < 0 ||
	    state_get_blob(s, "queue", &queue, &len, I8042_QUEUE, e) < 0 ||
	    state_get_u8(s, "pending_cmd", &cmd, e) < 0 ||
	    state_get_u8(s, "kbd_cmd", &kbd_cmd, e) < 0 ||
	    state_get_u8(s, "kbd_last", &kbd_last, e) < 0)
		return -1;
	/* The only commands that wait for a data byte. */
	if (cmd && cmd != I8042_CMD_WRITE_CTR)
		return err_set(e, "%s: no command %#x waits for data", s->label,
			       cmd);
	if (kbd_cmd && kbd_cmd != KBD_CMD_SET_LEDS &&
	    kbd_cmd != KBD_CMD_SCAN_SET && kbd_cmd != KBD_CMD_TYPEMATIC)
		return err_set(e, "%s: no keyboard command %#x waits for an argument",
			       s->label, kbd_cmd);
	pthread_mutex_lock(&kbc->lock);
	kbc->status = status & (I8042_STS_SYS | I8042_STS_CMD);
	kbc->ctr = ctr;
	memcpy(kbc->queue, queue, len);
	kbc->queue_len = len;
	kbc->pending_cmd = cmd;
	kbc->kbd_cmd = kbd_cmd;
	kbc->kbd_last = kbd_last;
	/* The line's level is asserted again, so the VM's count of it is right. */
	kbc->irq_level = false;
	i8042_update_irq(kbc);
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
	kbc->irq.fd = -1;
	pthread_mutex_init(&kbc->lock, NULL);
	if (host->irq_line(host, LAYOUT_IRQ_I8042_KBD, &kbc->irq, e) < 0)
		goto fail;
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
