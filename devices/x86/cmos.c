// SPDX-License-Identifier: MIT
/*
 * The MC146818 real-time clock and its CMOS memory at ports 0x70/0x71.
 * OVMF reads it twice: PlatformPei's memory detection (edk2 OvmfPkg/Library/
 * PlatformInitLib/MemDetect.c) falls back to the memory-size bytes 0x34/0x35
 * and 0x5b-0x5d when fw_cfg has no "etc/e820", and checks byte 0x0f for an
 * S3 resume; its PcRtc driver (PcAtChipsetPkg/PcatRealTimeClockRuntimeDxe)
 * needs the valid-RAM-and-time bit in register D and a clock that reads
 * back what it sets. Time is the host's UTC clock plus whatever offset the
 * guest sets; there are no alarms or periodic interrupts.
 */
#include "devices/x86/cmos.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMOS_PORT_INDEX 0x70
#define CMOS_SIZE 128
#define CMOS_INDEX_MASK 0x7f /* bit 7 is the NMI mask */

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_WEEKDAY 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_A_UIP 0x80
#define REG_A_DEFAULT 0x26 /* 32.768 kHz base, 1024 Hz rate */
#define REG_B_SET 0x80
#define REG_B_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80
#define HOURS_PM 0x80

/* Memory sizes as the PC BIOS keeps them (QEMU hw/i386/pc.c). */
#define CMOS_BASE_MEM_KIB 0x15
#define CMOS_EXT_MEM_KIB 0x17
#define CMOS_EXT_MEM_KIB2 0x30
#define CMOS_MEM_ABOVE_16M 0x34 /* 64 KiB units */
#define CMOS_MEM_ABOVE_4G 0x5b  /* 64 KiB units, 3 bytes */
#define CMOS_NR_CPUS 0x5f       /* minus one */

struct cmos {
	struct device dev;
	struct device_host *host;
	struct bus_device io;
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
	int64_t offset_s; /* guest time minus host time */
};

static uint8_t to_bcd(unsigned int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static unsigned int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc_encode(const struct cmos *c, unsigned int v)
{
	return c->ram[RTC_REG_B] & REG_B_BINARY ? (uint8_t)v : to_bcd(v);
}

static unsigned int rtc_decode(const struct cmos *c, uint8_t v)
{
	return c->ram[RTC_REG_B] & REG_B_BINARY ? v : from_bcd(v);
}

/*
 * UTC calendar arithmetic of its own (days since 1970-01-01 to and from
 * the proleptic Gregorian calendar): the C library's gmtime_r() and
 * timegm() read the time zone file on first use, which a vCPU thread's
 * seccomp filter forbids.
 */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, struct tm *tm)
{
	int64_t era, y;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	y = yoe + era * 400 + (mp >= 10);
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_year = (int)(y - 1900);
}

static int64_t host_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec;
}

static void rtc_guest_tm(const struct cmos *c, struct tm *tm)
{
	int64_t t = host_seconds() + c->offset_s;
	int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;

	civil_from_days(days, tm);
	tm->tm_wday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01: Thursday */
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
}

/* Seconds since the epoch of @tm, its fields out of range carried over. */
static int64_t rtc_tm_seconds(const struct tm *tm)
{
	int64_t y = tm->tm_year + 1900LL + tm->tm_mon / 12;
	int mon = tm->tm_mon % 12;

	if (mon < 0) {
		mon += 12;
		y--;
	}
	return (days_from_civil(y, (unsigned int)mon + 1, 1) + tm->tm_mday - 1) *
		       86400 +
	       tm->tm_hour * 3600LL + tm->tm_min * 60LL + tm->tm_sec;
}

static uint8_t rtc_hours(const struct cmos *c, int hour)
{
	unsigned int h;

	if (c->ram[RTC_REG_B] & REG_B_24H)
		return rtc_encode(c, (unsigned int)hour);
	h = hour % 12 ? (unsigned int)hour % 12 : 12;
	return rtc_encode(c, h) | (hour >= 12 ? HOURS_PM : 0);
}

static uint8_t rtc_read(const struct cmos *c, uint8_t index)
{
	struct tm tm;

	rtc_guest_tm(c, &tm);
	switch (index) {
	case RTC_SECONDS: return rtc_encode(c, (unsigned int)tm.tm_sec);
	case RTC_MINUTES: return rtc_encode(c, (unsigned int)tm.tm_min);
	case RTC_HOURS: return rtc_hours(c, tm.tm_hour);
	case RTC_WEEKDAY: return rtc_encode(c, (unsigned int)tm.tm_wday + 1);
	case RTC_DAY: return rtc_encode(c, (unsigned int)tm.tm_mday);
	case RTC_MONTH: return rtc_encode(c, (unsigned int)tm.tm_mon + 1);
	case RTC_YEAR: return rtc_encode(c, (unsigned int)tm.tm_year % 100);
	case RTC_CENTURY:
		return rtc_encode(c, (unsigned int)(tm.tm_year + 1900) / 100);
	}
	return c->ram[index];
}

/* A write to a clock field moves the guest's clock, not the host's. */
static void rtc_write_time(struct cmos *c, uint8_t index, uint8_t val)
{
	struct tm tm;
	unsigned int v;

	rtc_guest_tm(c, &tm);
	v = rtc_decode(c, index == RTC_HOURS ? val & ~HOURS_PM : val);
	switch (index) {
	case RTC_SECONDS: tm.tm_sec = (int)v; break;
	case RTC_MINUTES: tm.tm_min = (int)v; break;
	case RTC_HOURS:
		if (!(c->ram[RTC_REG_B] & REG_B_24H))
			v = v % 12 + (val & HOURS_PM ? 12 : 0);
		tm.tm_hour = (int)v;
		break;
	case RTC_DAY: tm.tm_mday = (int)v; break;
	case RTC_MONTH: tm.tm_mon = (int)v - 1; break;
	case RTC_YEAR: tm.tm_year = tm.tm_year / 100 * 100 + (int)v % 100; break;
	case RTC_CENTURY:
		tm.tm_year = ((int)v - 19) * 100 + tm.tm_year % 100;
		break;
	default: return;
	}
	c->offset_s = rtc_tm_seconds(&tm) - host_seconds();
}

static void cmos_write_reg(struct cmos *c, uint8_t index, uint8_t val)
{
	switch (index) {
	case RTC_REG_A:
		c->ram[index] = val & ~REG_A_UIP;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY:
	case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
		rtc_write_time(c, index, val);
		break;
	default:
		c->ram[index] = val;
	}
}

static void cmos_io_read(struct bus_device *dev, uint64_t offset, void *data,
			 uint32_t len)
{
	struct cmos *c = dev->opaque;

	memset(data, 0xff, len);
	if (offset != 1)
		return;
	pthread_mutex_lock(&c->lock);
	*(uint8_t *)data = rtc_read(c, c->index);
	pthread_mutex_unlock(&c->lock);
}

static void cmos_io_write(struct bus_device *dev, uint64_t offset,
			  const void *data, uint32_t len)
{
	struct cmos *c = dev->opaque;
	uint8_t val = *(const uint8_t *)data;

	(void)len;
	pthread_mutex_lock(&c->lock);
	if (offset == 0)
		c->index = val & CMOS_INDEX_MASK;
	else
		cmos_write_reg(c, c->index, val);
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_device_ops cmos_io_ops = {
	.read = cmos_io_read,
	.write = cmos_io_write,
};

static void cmos_destroy(struct device *dev)
{
	struct cmos *c = container_of(dev, struct cmos, dev);

	bus_unregister(c->host->pio, &c->io);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct device_ops cmos_device_ops = {
	.destroy = cmos_destroy,
};

static void put_le16_sat(uint8_t *p, uint64_t v)
{
	put_le16(p, (uint16_t)MIN(v, 0xffffULL));
}

static void cmos_init_memory(struct cmos *c, const struct cmos_memory *m)
{
	uint64_t above_16m = m->low_end > 16 * MiB ? m->low_end - 16 * MiB : 0;
	uint64_t ext_kib = m->low_end > MiB ? (m->low_end - MiB) / KiB : 0;
	uint64_t high = m->high_size / (64 * KiB);

	put_le16(&c->ram[CMOS_BASE_MEM_KIB], 640);
	put_le16_sat(&c->ram[CMOS_EXT_MEM_KIB], ext_kib);
	put_le16_sat(&c->ram[CMOS_EXT_MEM_KIB2], ext_kib);
	put_le16_sat(&c->ram[CMOS_MEM_ABOVE_16M], above_16m / (64 * KiB));
	c->ram[CMOS_MEM_ABOVE_4G] = (uint8_t)high;
	c->ram[CMOS_MEM_ABOVE_4G + 1] = (uint8_t)(high >> 8);
	c->ram[CMOS_MEM_ABOVE_4G + 2] = (uint8_t)(high >> 16);
	c->ram[CMOS_NR_CPUS] = (uint8_t)(m->nr_cpus - 1);
}

int cmos_create(struct device_host *host, const struct cmos_memory *m,
		struct device **out, struct err *e)
{
	struct cmos *c = calloc(1, sizeof(*c));

	if (!c)
		return err_set(e, "CMOS: out of memory");
	c->dev = (struct device){ .name = "cmos-rtc", .ops = &cmos_device_ops };
	c->host = host;
	pthread_mutex_init(&c->lock, NULL);
	c->ram[RTC_REG_A] = REG_A_DEFAULT;
	c->ram[RTC_REG_B] = REG_B_24H;
	c->ram[RTC_REG_D] = REG_D_VRT;
	cmos_init_memory(c, m);
	c->io = (struct bus_device){
		.name = "CMOS/RTC", .base = CMOS_PORT_INDEX, .len = 2,
		.ops = &cmos_io_ops, .opaque = c,
	};
	if (bus_register(host->pio, &c->io, e) < 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return -1;
	}
	*out = &c->dev;
	return 0;
}
