// SPDX-License-Identifier: MIT
/*
 * The test guest: checks what the VMM handed over (command line, e820 map,
 * load address, ACPI and MP tables, the processors themselves) and reports
 * one line per check on COM1, then exits through the debug-exit port with 0
 * when every check passed and 1 otherwise.
 */
#include <stdarg.h>

#include "acpi.h"
#include "bootinfo.h"
#include "check.h"
#include "cmdline.h"
#include "exception.h"
#include "format.h"
#include "io.h"
#include "mptable.h"
#include "pci.h"
#include "serial.h"
#include "smp.h"
#include "str.h"
#include "virtio.h"
#include "virtio_balloon.h"
#include "virtio_vsock.h"

#define MiB ((uint64_t)1 << 20)
#define FOUR_GIB ((uint64_t)1 << 32)
#define LOADED_HIGH 0x01
#define CRC_KEY "testguest.crc32"
#define CRC_DIGITS 8
#define MAX_MEM_MIB (1U << 22) /* 4 TiB: far above any test */

struct testguest {
	struct bootinfo bi;
	struct madt_info madt;
	bool madt_ok;
	struct cpu_list mp_cpus;
	unsigned int checks;
	unsigned int failures;
};

/* Linker-script symbols (testguest.ld). */
extern const char __image_start[], __image_end[];

bool check_fail(struct check *c, const char *fmt, ...)
{
	size_t len = strlen(c->reason);
	va_list ap;

	if (c->failed && len + 2 < sizeof(c->reason)) {
		c->reason[len++] = ';';
		c->reason[len++] = ' ';
	}
	va_start(ap, fmt);
	vformat(c->reason + len, sizeof(c->reason) - len, fmt, ap);
	va_end(ap);
	c->failed = true;
	return false;
}

/*
 * Reads the unsigned decimal parameter @key, which must lie in [@min, @max].
 * Returns 0 when absent, 1 with *@out set, -1 (failing @c) when malformed.
 */
static int param_u32(const struct bootinfo *bi, const char *key, uint32_t min,
		     uint32_t max, uint32_t *out, struct check *c)
{
	const char *val;
	size_t len;

	if (!bi->cmdline_ok || cmdline_param(bi->cmdline, key, &val, &len) < 0)
		return 0;
	if (!parse_dec32(val, len, out) || *out < min || *out > max) {
		check_fail(c, "%s=%.*s is not a number from %u to %u", key,
			   (int)len, val, min, max);
		return -1;
	}
	return 1;
}

static void check_cmdline(struct testguest *tg, struct check *c)
{
	const struct bootinfo *bi = &tg->bi;
	const char *val;
	size_t len, covered;
	uint32_t want, got;
	long off;

	if (!bi->cmdline_ok) {
		check_fail(c, "%s", bi->cmdline_error);
		return;
	}
	len = strlen(bi->cmdline);
	if (!bootinfo_is_ram(bi, bi->cmdline_addr, len + 1))
		check_fail(c, "command line at 0x%lx is not in e820 RAM",
			   bi->cmdline_addr);
	off = cmdline_param(bi->cmdline, CRC_KEY, &val, &len);
	if (off < 0)
		return;
	if (len != CRC_DIGITS || !parse_hex32(val, len, &want)) {
		check_fail(c, CRC_KEY "=%.*s is not 8 hex digits", (int)len,
			   val);
		return;
	}
	/* The text before " testguest.crc32=", without that space. */
	covered = off ? (size_t)off - 1 : 0;
	got = crc32_ieee(bi->cmdline, covered);
	if (got != want)
		check_fail(c,
			   "CRC-32 of the %zu bytes before " CRC_KEY
			   "= is %08x, the command line says %08x",
			   covered, got, want);
}

/* The RAM end that @mem bytes of guest memory give with the MMIO hole. */
static uint64_t expected_ram_end(uint64_t mem)
{
	if (mem <= LAYOUT_MMIO_HOLE)
		return mem;
	return FOUR_GIB + (mem - LAYOUT_MMIO_HOLE);
}

static bool e820_shape(const struct bootinfo *bi, uint64_t *ram,
		       uint64_t *ram_end, struct check *c)
{
	uint64_t prev_end = 0;
	unsigned int i;

	if (bi->e820_error[0])
		return check_fail(c, "%s", bi->e820_error);
	if (!bi->nr_e820)
		return check_fail(c, "the memory map is empty");
	if (bi->e820[0].addr)
		return check_fail(c, "the first entry starts at 0x%lx, not 0",
				  bi->e820[0].addr);
	for (i = 0; i < bi->nr_e820; i++) {
		const struct bi_e820 *e = &bi->e820[i];

		if (!e->size || e->addr + e->size < e->addr)
			return check_fail(c,
					  "entry %u (0x%lx, size 0x%lx) is empty or wraps",
					  i, e->addr, e->size);
		if (i && e->addr < prev_end)
			return check_fail(c,
					  "entry %u at 0x%lx is out of order or overlaps the one before (ending 0x%lx)",
					  i, e->addr, prev_end);
		prev_end = e->addr + e->size;
		if (e->type != E820_RAM)
			continue;
		if (e->addr < FOUR_GIB && prev_end > LAYOUT_MMIO_HOLE)
			return check_fail(c,
					  "RAM entry %u (0x%lx-0x%lx) overlaps the MMIO hole at 0x%llx",
					  i, e->addr, prev_end,
					  LAYOUT_MMIO_HOLE);
		*ram += e->size;
		*ram_end = prev_end;
	}
	return true;
}

static void check_e820(struct testguest *tg, struct check *c)
{
	const struct bootinfo *bi = &tg->bi;
	uint64_t start = (uint64_t)(uintptr_t)__image_start;
	uint64_t end = (uint64_t)(uintptr_t)__image_end;
	uint64_t ram = 0, ram_end = 0, mem;
	uint32_t mib;

	if (!e820_shape(bi, &ram, &ram_end, c))
		return;
	if (!bootinfo_is_ram(bi, start, end - start))
		check_fail(c, "the guest image at 0x%lx-0x%lx is not in e820 RAM",
			   start, end);
	if (param_u32(bi, "testguest.mem", 1, MAX_MEM_MIB, &mib, c) <= 0)
		return;
	mem = mib * MiB;
	if (ram_end != expected_ram_end(mem))
		check_fail(c,
			   "RAM ends at 0x%lx, testguest.mem=%u makes it 0x%lx",
			   ram_end, mib, expected_ram_end(mem));
	if (ram > mem || ram + MiB < mem)
		check_fail(c,
			   "RAM totals %lu KiB, testguest.mem=%u wants %lu to %lu KiB",
			   ram >> 10, mib, (mem - MiB) >> 10, mem >> 10);
}

static void check_load_address(struct testguest *tg, struct check *c)
{
	const struct bootinfo *bi = &tg->bi;
	uint64_t runtime, link;

	asm("lea __image_start(%%rip), %0" : "=r"(runtime));
	asm("movabs $__image_start, %0" : "=r"(link));
	if (runtime != link) {
		check_fail(c, "runs at 0x%lx, linked at 0x%lx", runtime, link);
		return;
	}
	if (bi->kind != TG_BOOT_BZIMAGE)
		return;
	if (bi->info_error[0]) {
		check_fail(c, "%s", bi->info_error);
		return;
	}
	if (!bi->has_setup_header) {
		check_fail(c, "the zero page carries no setup header (HdrS)");
		return;
	}
	if (bi->code32_start != runtime)
		check_fail(c,
			   "the zero page's code32_start is 0x%x, the kernel runs at 0x%lx",
			   bi->code32_start, runtime);
	if (!(bi->loadflags & LOADED_HIGH))
		check_fail(c, "the zero page's loadflags 0x%x lack LOADED_HIGH",
			   bi->loadflags);
}

static void check_madt(struct testguest *tg, struct check *c)
{
	uint32_t cpus;

	tg->madt_ok = acpi_read_madt(&tg->bi, &tg->madt, c);
	if (!tg->madt_ok)
		return;
	if (param_u32(&tg->bi, "testguest.cpus", 1, TG_MAX_CPUS, &cpus, c) >
		    0 &&
	    tg->madt.cpus.nr != cpus)
		check_fail(c,
			   "MADT lists %u enabled processors, testguest.cpus=%u",
			   tg->madt.cpus.nr, cpus);
}

static bool cpu_listed(const struct cpu_list *l, uint32_t apic_id)
{
	unsigned int i;

	for (i = 0; i < l->nr; i++)
		if (l->apic_id[i] == apic_id)
			return true;
	return false;
}

static void check_mptable(struct testguest *tg, struct check *c)
{
	const struct cpu_list *mp = &tg->mp_cpus;
	uint32_t cpus;
	unsigned int i;
	int have;

	if (!mptable_read(&tg->bi, &tg->mp_cpus, c))
		return;
	have = param_u32(&tg->bi, "testguest.cpus", 1, TG_MAX_CPUS, &cpus, c);
	if (have > 0 && mp->nr != cpus)
		check_fail(c,
			   "MP table lists %u enabled processors, testguest.cpus=%u",
			   mp->nr, cpus);
	if (!tg->madt_ok)
		return;
	for (i = 0; i < mp->nr; i++)
		if (!cpu_listed(&tg->madt.cpus, mp->apic_id[i]))
			check_fail(c,
				   "APIC ID %u is in the MP table but not in the MADT",
				   mp->apic_id[i]);
	if (mp->nr != tg->madt.cpus.nr)
		check_fail(c, "MP table lists %u processors, the MADT %u",
			   mp->nr, tg->madt.cpus.nr);
}

static void check_smp(struct testguest *tg, struct check *c)
{
	uint32_t cpus;
	int have;

	have = param_u32(&tg->bi, "testguest.cpus", 1, TG_MAX_CPUS, &cpus, c);
	if (have < 0)
		return;
	if (!have)
		cpus = tg->madt_ok ? tg->madt.cpus.nr : 0;
	smp_start_aps(&tg->bi, tg->madt_ok ? &tg->madt : NULL, cpus, c);
}

static void run_check(struct testguest *tg, const char *name,
		      void (*fn)(struct testguest *, struct check *))
{
	struct check c = { .name = name };

	exception_set_check(name);
	fn(tg, &c);
	tg->checks++;
	if (c.failed) {
		serial_printf("FAIL %s: ", name);
		serial_puts_escaped(c.reason);
		serial_puts("\n");
		tg->failures++;
	} else {
		serial_printf("PASS %s\n", name);
	}
}

/* Guest state lives in .bss: zeroed by entry.S, too big for the stack. */
static struct testguest guest;

static void check_virtio_blk(struct testguest *tg, struct check *c)
{
	tg_virtio_blk_test(tg->bi.cmdline, c);
}

static void check_virtio_net(struct testguest *tg, struct check *c)
{
	tg_virtio_net_test(tg->bi.cmdline, c);
}

static void check_virtio_console(struct testguest *tg, struct check *c)
{
	tg_virtio_console_test(tg->bi.cmdline, c);
}

static void check_virtio_vsock(struct testguest *tg, struct check *c)
{
	tg_virtio_vsock_test(tg->bi.cmdline, c);
}

static void check_virtio_balloon(struct testguest *tg, struct check *c)
{
	tg_virtio_balloon_test(tg->bi.cmdline, c);
}

static void check_pci(struct testguest *tg, struct check *c)
{
	tg_pci_check(&tg->bi, c);
}

/* The virtio checks run only for the devices testguest.virtio= names. */
static void run_virtio_checks(struct testguest *tg)
{
	static const struct {
		const char *device;
		const char *check;
		void (*fn)(struct testguest *, struct check *);
	} checks[] = {
		{ "blk", "virtio_blk", check_virtio_blk },
		{ "net", "virtio_net", check_virtio_net },
		{ "console", "virtio_console", check_virtio_console },
		{ "vsock", "virtio_vsock", check_virtio_vsock },
		{ "balloon", "virtio_balloon", check_virtio_balloon },
	};

	if (!tg->bi.cmdline_ok)
		return;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (tg_virtio_wanted(tg->bi.cmdline, checks[i].device))
			run_check(tg, checks[i].check, checks[i].fn);
}

/* True when the command line holds "@key=1". */
static bool flag_param(const struct bootinfo *bi, const char *key)
{
	const char *val;
	size_t len;

	return bi->cmdline_ok && cmdline_param(bi->cmdline, key, &val, &len) >= 0 &&
	       len == 1 && val[0] == '1';
}

/*
 * testguest.halt=1: stay alive without using the CPU, so a test can stop
 * the VM from the host (signals, the control API).
 */
static __attribute__((noreturn)) void halt_forever(void)
{
	serial_puts("HALTING\n");
	for (;;)
		asm volatile("cli; hlt");
}

/*
 * testguest.triplefault=1: crash the way a broken kernel does, so a test can
 * check what the VMM reports. An empty IDT turns the breakpoint into a
 * triple fault.
 */
static __attribute__((noreturn)) void triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	serial_puts("TRIPLE FAULT\n");
	asm volatile("lidt %0; int3" : : "m"(empty_idt));
	for (;;)
		asm volatile("cli; hlt");
}

/*
 * testguest.cmpxchg16b=1: run an instruction that KVM's instruction
 * emulator lacks, so a test can check what the VMM reports on hosts where
 * KVM emulates guest instructions. Where the CPU runs it, the guest goes
 * on to exit normally.
 */
static void run_cmpxchg16b(void)
{
	static volatile uint64_t pair[2] __attribute__((aligned(16)));
	uint64_t lo = 0, hi = 0;

	serial_puts("CMPXCHG16B\n");
	asm volatile("lock cmpxchg16b %0"
		     : "+m"(pair[0]), "+a"(lo), "+d"(hi)
		     : "b"(1ULL), "c"(2ULL)
		     : "memory", "cc");
}

/* About a millisecond at the TSC rates of current CPUs. */
#define TICK_TSC_PERIOD (1ULL << 22)

/*
 * testguest.tick=1: print a counter forever, one line per TSC period, so a
 * test can see whether the guest is making progress (pause and resume).
 * The virtio-console, when its check set it up, gets each line too: a
 * restored snapshot must carry on with the same queue.
 */
static __attribute__((noreturn)) void tick_forever(void)
{
	bool console = true;

	for (uint64_t n = 0;; n++) {
		uint64_t start = rdtsc();
		char line[32];

		format(line, sizeof(line), "TICK %lu\n", (unsigned long)n);
		serial_puts(line);
		if (console && !tg_virtio_console_write(line, strlen(line))) {
			serial_puts("TICK virtio-console stopped answering\n");
			console = false;
		}
		while (rdtsc() - start < TICK_TSC_PERIOD)
			cpu_relax();
	}
}

/* testguest.hotplug=eject|refuse: answer the host's hotplug requests. */
static void run_hotplug_agent(const struct bootinfo *bi)
{
	const char *val;
	size_t len;

	if (!bi->cmdline_ok ||
	    cmdline_param(bi->cmdline, "testguest.hotplug", &val, &len) < 0)
		return;
	if (len == 5 && !memcmp(val, "eject", 5))
		tg_pci_hotplug_loop(false);
	if (len == 6 && !memcmp(val, "refuse", 6))
		tg_pci_hotplug_loop(true);
}

/*
 * testguest.load=N: the load of make bench's control socket benchmark.
 * Opens N vsock connections to the host and keeps them, then writes to
 * the virtio console as fast as it can, for ever. Returns only when the
 * parameter is absent or the load cannot start.
 */
static void load_forever(struct testguest *tg)
{
	struct check c = { .name = "load" };
	uint32_t n;

	if (param_u32(&tg->bi, "testguest.load", 1, 65536, &n, &c) <= 0)
		return;
	serial_printf("LOAD: opening %u vsock connections\n", n);
	if (!tg_virtio_vsock_open_many(tg->bi.cmdline, n, &c)) {
		serial_printf("FAIL load: %s\n", c.reason);
		return;
	}
	serial_printf("LOAD: %u connections open; flooding the console\n", n);
	tg_virtio_console_flood(tg->bi.cmdline, &c);
	serial_printf("FAIL load: %s\n", c.reason);
}

void testguest_main(uint32_t kind, uint64_t info)
	__attribute__((noreturn));

void testguest_main(uint32_t kind, uint64_t info)
{
	struct testguest *tg = &guest;

	serial_init();
	exception_init();
	bootinfo_read(&tg->bi, kind, info);
	serial_printf("testguest: boot via %s\n", boot_kind_name(kind));
	serial_puts("CMDLINE: ");
	serial_puts_escaped(tg->bi.cmdline);
	serial_puts("\n");

	run_check(tg, "cmdline", check_cmdline);
	run_check(tg, "e820", check_e820);
	run_check(tg, "load_address", check_load_address);
	run_check(tg, "madt", check_madt);
	run_check(tg, "mptable", check_mptable);
	run_check(tg, "smp", check_smp);
	if (flag_param(&tg->bi, "testguest.pci"))
		run_check(tg, "pci", check_pci);
	run_virtio_checks(tg);

	serial_printf("testguest: %u of %u checks failed\n", tg->failures,
		      tg->checks);
	if (flag_param(&tg->bi, "testguest.cmpxchg16b"))
		run_cmpxchg16b();
	if (flag_param(&tg->bi, "testguest.triplefault"))
		triple_fault();
	if (flag_param(&tg->bi, "testguest.halt"))
		halt_forever();
	if (flag_param(&tg->bi, "testguest.tick"))
		tick_forever();
	run_hotplug_agent(&tg->bi);
	load_forever(tg);
	guest_exit(tg->failures ? 1 : 0);
}
