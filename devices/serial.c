// SPDX-License-Identifier: MIT
#include "serial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/state.h"

/* Register offsets. */
#define UART_RX 0  /* DLAB=0 read: receive buffer */
#define UART_TX 0  /* DLAB=0 write: transmit holding */
#define UART_DLL 0 /* DLAB=1: divisor latch low */
#define UART_IER 1 /* DLAB=0: interrupt enable */
#define UART_DLM 1 /* DLAB=1: divisor latch high */
#define UART_IIR 2 /* read: interrupt identification */
#define UART_FCR 2 /* write: FIFO control */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01  /* receive data available */
#define IER_THRI 0x02 /* transmit holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_RX_TIMEOUT 0x0c
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER_MASK 0xc0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTA_MASK 0x0f

static const uint8_t serial_trigger_levels[4] = { 1, 4, 8, 14 };

static unsigned int serial_rx_trigger(const struct serial *s)
{
	if (!(s->fcr & FCR_ENABLE))
		return 1;
	return serial_trigger_levels[(s->fcr & FCR_TRIGGER_MASK) >> 6];
}

static unsigned int serial_rx_capacity(const struct serial *s)
{
	return (s->fcr & FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

/* The highest-priority pending interrupt, as IIR bits 0-3 report it. */
static uint8_t serial_pending_iir(const struct serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & (LSR_OE | LSR_BI)))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_len) {
		/*
		 * Below the trigger level a real UART raises the timeout
		 * interrupt after four character times; there is no line
		 * to wait on, so it is raised at once.
		 */
		return s->rx_len >= serial_rx_trigger(s) ? IIR_RDI :
							   IIR_RX_TIMEOUT;
	}
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTA_MASK))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	/* On a PC the OUT2 line gates the UART's interrupt onto the ISA bus. */
	bool level = serial_pending_iir(s) != IIR_NO_INT && (s->mcr & MCR_OUT2);

	if (level == s->irq_level || !s->irq)
		return;
	s->irq_level = level;
	irq_line_set(s->irq, level);
}

/* In loopback the modem inputs mirror the modem outputs. */
static uint8_t serial_loopback_msr(uint8_t mcr)
{
	uint8_t msr = 0;

	if (mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

static void serial_set_msr(struct serial *s, uint8_t lines)
{
	uint8_t old = s->msr, delta = 0;

	if ((old ^ lines) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ lines) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old ^ lines) & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(lines & MSR_RI))
		delta |= MSR_TERI;
	s->msr = lines | ((old | delta) & MSR_DELTA_MASK);
}

static size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && s->rx_len < serial_rx_capacity(s)) {
		s->rx[(s->rx_head + s->rx_len) % SERIAL_FIFO_SIZE] = buf[n++];
		s->rx_len++;
	}
	if (n < len && (s->mcr & MCR_LOOP))
		s->lsr |= LSR_OE; /* looped-back byte with no room */
	if (s->rx_len)
		s->lsr |= LSR_DR;
	return n;
}

static void serial_transmit(struct serial *s, uint8_t val)
{
	if (s->mcr & MCR_LOOP) {
		serial_rx_push(s, &val, 1);
	} else if (s->chr.loop) {
		chardev_write(&s->chr, &val, 1);
	}
	/* The byte left the holding register at once. */
	s->thri_pending = true;
}

static bool serial_tx_ready(struct serial *s)
{
	return (s->mcr & MCR_LOOP) || !s->chr.loop ||
	       chardev_write_space(&s->chr) > 0;
}

static uint8_t serial_read_rx(struct serial *s)
{
	uint8_t val = 0;
	bool was_full = s->rx_len == serial_rx_capacity(s);

	if (s->rx_len) {
		val = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
		s->rx_len--;
	}
	if (!s->rx_len)
		s->lsr &= ~LSR_DR;
	if (was_full && s->chr.loop)
		chardev_rx_ready(&s->chr);
	return val;
}

static uint8_t serial_read_lsr(struct serial *s)
{
	uint8_t val = s->lsr;

	if (serial_tx_ready(s))
		val |= LSR_THRE | LSR_TEMT;
	else
		val &= ~(LSR_THRE | LSR_TEMT);
	/* Error bits clear on read. */
	s->lsr &= ~(LSR_OE | LSR_BI);
	return val;
}

void serial_reg_read(struct serial *s, uint64_t offset, uint8_t *val)
{
	uint8_t iir;

	switch (offset) {
	case UART_RX:
		*val = (s->lcr & LCR_DLAB) ? s->dll : serial_read_rx(s);
		break;
	case UART_IER:
		*val = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		iir = serial_pending_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (iir == IIR_THRI)
			s->thri_pending = false;
		*val = iir | ((s->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0);
		break;
	case UART_LCR:
		*val = s->lcr;
		break;
	case UART_MCR:
		*val = s->mcr;
		break;
	case UART_LSR:
		*val = serial_read_lsr(s);
		break;
	case UART_MSR:
		*val = s->msr;
		s->msr &= ~MSR_DELTA_MASK;
		break;
	case UART_SCR:
		*val = s->scr;
		break;
	default:
		*val = 0xff;
	}
	serial_update_irq(s);
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	if ((val ^ s->fcr) & FCR_ENABLE)
		s->rx_len = 0; /* toggling the FIFO enable empties it */
	if (val & FCR_CLEAR_RX) {
		s->rx_len = 0;
		s->rx_head = 0;
	}
	if (!s->rx_len)
		s->lsr &= ~LSR_DR;
	s->fcr = val & (FCR_ENABLE | FCR_TRIGGER_MASK);
	if (s->chr.loop)
		chardev_rx_ready(&s->chr);
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
	s->mcr = val & 0x1f;
	if (s->mcr & MCR_LOOP)
		serial_set_msr(s, serial_loopback_msr(s->mcr));
	else
		serial_set_msr(s, MSR_DCD | MSR_DSR | MSR_CTS);
}

void serial_reg_write(struct serial *s, uint64_t offset, uint8_t val)
{
	switch (offset) {
	case UART_TX:
		if (s->lcr & LCR_DLAB) {
			s->dll = val;
			break;
		}
		s->thri_pending = false;
		serial_transmit(s, val);
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* Enabling THRI while the holding register is empty fires it. */
		if ((val & IER_THRI) && !(s->ier & IER_THRI) &&
		    serial_tx_ready(s))
			s->thri_pending = true;
		s->ier = val & 0x0f;
		break;
	case UART_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		serial_write_mcr(s, val);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
	serial_update_irq(s);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = (s->mcr & MCR_LOOP) ? 0 : serial_rx_push(s, buf, len);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The registers at power-on. */
static void serial_reset_regs(struct serial *s)
{
	s->ier = s->fcr = s->scr = s->lcr = s->mcr = 0;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->dll = 0x0c; /* 9600 baud */
	s->dlm = 0;
	s->rx_len = s->rx_head = 0;
	s->thri_pending = false;
}

void serial_init_regs(struct serial *s, struct irq_line *irq)
{
	s->irq = irq;
	s->irq_level = false;
	serial_reset_regs(s);
}

static void serial_io_read(struct bus_device *dev, uint64_t offset,
			   void *data, uint32_t len)
{
	struct serial *s = dev->opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	serial_reg_read(s, offset, data);
	pthread_mutex_unlock(&s->lock);
}

static void serial_io_write(struct bus_device *dev, uint64_t offset,
			    const void *data, uint32_t len)
{
	struct serial *s = dev->opaque;

	(void)len;
	pthread_mutex_lock(&s->lock);
	serial_reg_write(s, offset, *(const uint8_t *)data);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_device_ops serial_io_ops = {
	.read = serial_io_read,
	.write = serial_io_write,
};

static size_t serial_sink_space(void *opaque)
{
	struct serial *s = opaque;
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = (s->mcr & MCR_LOOP) ? 0 : serial_rx_capacity(s) - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return room;
}

static void serial_sink_rx(void *opaque, const uint8_t *buf, size_t len)
{
	serial_receive(opaque, buf, len);
}

/*
 * The host end took output again after its buffer filled, which the
 * transmitter reported as busy: the holding register has emptied, and a
 * driver waiting for THR-empty (Linux's 8250 sends nothing while LSR says
 * busy) hears of it, as from a real UART.
 */
static void serial_sink_tx_ready(void *opaque)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	if ((s->ier & IER_THRI) && serial_tx_ready(s))
		s->thri_pending = true;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* Also what a failed serial_create() leaves; the line's eventfd is ours. */
static void serial_free(struct serial *s)
{
	chardev_close(&s->chr);
	if (s->irq_storage.fd >= 0)
		close(s->irq_storage.fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void serial_destroy(struct device *dev)
{
	serial_free((struct serial *)dev);
}

static void serial_reset(struct device *dev)
{
	struct serial *s = (struct serial *)dev;

	pthread_mutex_lock(&s->lock);
	serial_reset_regs(s);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* The registers a guest sets and the bytes waiting in the receive FIFO. */
static const struct {
	const char *name;
	size_t off;
} serial_regs[] = {
	{ "ier", offsetof(struct serial, ier) },
	{ "lcr", offsetof(struct serial, lcr) },
	{ "mcr", offsetof(struct serial, mcr) },
	{ "lsr", offsetof(struct serial, lsr) },
	{ "msr", offsetof(struct serial, msr) },
	{ "scr", offsetof(struct serial, scr) },
	{ "fcr", offsetof(struct serial, fcr) },
	{ "dll", offsetof(struct serial, dll) },
	{ "dlm", offsetof(struct serial, dlm) },
};

static int serial_save(struct device *dev, struct state_writer *w,
		       struct err *e)
{
	struct serial *s = (struct serial *)dev;
	uint8_t rx[SERIAL_FIFO_SIZE];

	(void)e;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < ARRAY_SIZE(serial_regs); i++)
		state_put_u64(w, serial_regs[i].name,
			      *((uint8_t *)s + serial_regs[i].off));
	state_put_u64(w, "thri_pending", s->thri_pending);
	for (unsigned int i = 0; i < s->rx_len; i++)
		rx[i] = s->rx[(s->rx_head + i) % SERIAL_FIFO_SIZE];
	state_put_bytes(w, "rx", rx, s->rx_len);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int serial_load(struct serial *s, const struct state_section *st,
		       struct err *e)
{
	const uint8_t *rx;
	uint32_t len;

	for (size_t i = 0; i < ARRAY_SIZE(serial_regs); i++)
		if (state_get_u8(st, serial_regs[i].name,
				 (uint8_t *)s + serial_regs[i].off, e) < 0)
			return -1;
	/* Bits a guest's writes never keep stay clear. */
	s->ier &= 0x0f;
	s->mcr &= 0x1f;
	s->fcr &= FCR_ENABLE | FCR_TRIGGER_MASK;
	if (state_get_bool(st, "thri_pending", &s->thri_pending, e) < 0 ||
	    state_get_blob(st, "rx", &rx, &len, serial_rx_capacity(s), e) < 0)
		return -1;
	memcpy(s->rx, rx, len);
	s->rx_head = 0;
	s->rx_len = len;
	return 0;
}

/* The line's level is asserted again, so the VM's count of it is right. */
static int serial_restore(struct device *dev, const struct state_section *st,
			  struct err *e)
{
	struct serial *s = (struct serial *)dev;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = serial_load(s, st, e);
	if (ret < 0)
		serial_reset_regs(s);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static const struct device_ops serial_device_ops = {
	.reset = serial_reset,
	.destroy = serial_destroy,
	.save = serial_save,
	.restore = serial_restore,
};

int serial_create(struct device_host *host, unsigned int index,
		  const struct serial_place *at,
		  const struct chardev_config *cfg,
		  const struct chardev_quit *quit, struct serial **out,
		  struct err *e)
{
	struct chardev_sink sink = {
		.rx_space = serial_sink_space,
		.rx = serial_sink_rx,
		.tx_ready = serial_sink_tx_ready,
	};
	struct serial *s;

	if (index < 1 || index > 4)
		return err_set(e, "serial port COM%u does not exist (COM1-COM4)", index);
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, "COM%u: out of memory", index);
	snprintf(s->name, sizeof(s->name), "COM%u", index);
	s->irq_storage.fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	serial_init_regs(s, NULL);
	s->dev = (struct device){ .name = s->name, .ops = &serial_device_ops };
	sink.opaque = s;
	if (quit)
		sink.quit = *quit;
	if (host->irq_line(host, at->gsi, &s->irq_storage, e) < 0)
		goto fail;
	s->irq = &s->irq_storage;
	if (chardev_open(&s->chr, s->name, cfg, host->loop, &sink, e) < 0)
		goto fail;
	s->io = (struct bus_device){
		.name = s->name, .base = at->base, .len = 8,
		.ops = &serial_io_ops, .opaque = s,
	};
	if (bus_register(at->mmio ? host->mmio : host->pio, &s->io, e) < 0)
		goto fail;
	s->dev.metrics = &s->chr.metrics;
	*out = s;
	return 0;
fail:
	serial_free(s);
	return -1;
}
