// SPDX-License-Identifier: MIT
/* The core's building blocks: buses, rings, guest memory, the CLI, CPUID. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/kvm.h"
#include "vmm/cli.h"
#include "vmm/arch.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/memory.h"
#include "lib/ring.h"
#include "vmm/vcpu.h"

struct counter_dev {
	struct bus_device bus;
	uint64_t last_offset;
	int writes;
};

static void counter_write(struct bus_device *dev, uint64_t offset,
			  const void *data, uint32_t len)
{
	struct counter_dev *c = dev->opaque;

	(void)data;
	(void)len;
	c->last_offset = offset;
	c->writes++;
}

static void counter_read(struct bus_device *dev, uint64_t offset, void *data,
			 uint32_t len)
{
	(void)dev;
	memset(data, (int)offset, len);
}

static const struct bus_device_ops counter_ops = { counter_read, counter_write };

Test(bus, dispatches_by_window_and_rejects_overlap)
{
	struct bus bus;
	struct err e;
	struct counter_dev a = { .bus = { "a", 0x100, 0x10, &counter_ops, &a } };
	struct counter_dev b = { .bus = { "b", 0x200, 0x8, &counter_ops, &b } };
	struct counter_dev c = { .bus = { "c", 0x108, 0x10, &counter_ops, &c } };
	uint8_t v = 0;
	uint32_t wide;

	bus_init(&bus, "test");
	cr_assert_eq(bus_register(&bus, &b.bus, &e), 0);
	cr_assert_eq(bus_register(&bus, &a.bus, &e), 0);
	cr_assert_eq(bus_register(&bus, &c.bus, &e), -1);
	cr_assert(strstr(e.msg, "overlaps a"), "%s", e.msg);
	cr_assert(bus_write(&bus, 0x10f, &v, 1));
	cr_assert_eq(a.last_offset, 0xf);
	cr_assert(bus_write(&bus, 0x204, &v, 1));
	cr_assert_eq(b.last_offset, 4);
	cr_assert_not(bus_write(&bus, 0x1ff, &v, 1));
	cr_assert_not(bus_read(&bus, 0x10e, &wide, 4),
		      "an access straddling the window end is not dispatched");
	cr_assert_eq(wide, 0xffffffff, "unclaimed reads float high");
	cr_assert(bus_read(&bus, 0x103, &v, 1));
	cr_assert_eq(v, 3);
	bus_unregister(&bus, &a.bus);
	cr_assert_not(bus_write(&bus, 0x100, &v, 1));
	bus_destroy(&bus);
}

Test(ring, bounded_push_wraps_and_overwrite_keeps_newest)
{
	struct ring r;
	uint8_t out[8];
	size_t len;

	cr_assert_eq(ring_init(&r, 8), 0);
	cr_assert_eq(ring_push(&r, "abcdef", 6), 6);
	ring_consume(&r, 4);
	cr_assert_eq(ring_push(&r, "ghijklmn", 8), 6, "only the space left");
	cr_assert_eq(ring_copy(&r, 0, out, 8), 8);
	cr_assert_eq(memcmp(out, "efghijkl", 8), 0);
	ring_peek(&r, &len);
	cr_assert_eq(len, 4, "contiguous run up to the end of storage");
	ring_push_overwrite(&r, "0123456789", 10);
	cr_assert_eq(ring_copy(&r, 0, out, 8), 8);
	cr_assert_eq(memcmp(out, "23456789", 8), 0);
	ring_free(&r);
}

Test(memory, regions_split_at_the_mmio_hole)
{
	struct guest_mem mem;

	guest_mem_init_buffer(&mem, &arch_ram_map, NULL, 5 * GiB);
	cr_assert_eq(mem.nr_regions, 2);
	cr_assert_eq(mem.regions[0].size, LAYOUT_MMIO_HOLE);
	cr_assert_eq(mem.regions[1].gpa, LAYOUT_RAM_ABOVE_4G);
	cr_assert_eq(mem.regions[1].size, 5 * GiB - LAYOUT_MMIO_HOLE);
}

Test(memory, pointer_checks_reject_out_of_range_and_overflow)
{
	static uint8_t buf[1 << 20];
	struct guest_mem mem;

	guest_mem_init_buffer(&mem, NULL, buf, sizeof(buf));
	cr_assert_eq(guest_mem_ptr(&mem, 0, sizeof(buf)), buf);
	cr_assert_eq(guest_mem_ptr(&mem, sizeof(buf) - 4, 4), buf + sizeof(buf) - 4);
	cr_assert_null(guest_mem_ptr(&mem, sizeof(buf) - 4, 5));
	cr_assert_null(guest_mem_ptr(&mem, sizeof(buf), 1));
	cr_assert_null(guest_mem_ptr(&mem, 16, UINT64_MAX));
	cr_assert_null(guest_mem_ptr(&mem, UINT64_MAX, 2));
	cr_assert_eq(guest_mem_write(&mem, sizeof(buf) - 1, "ab", 2), -1);
}

Test(memory, memfd_backing_discard_zeroes_pages)
{
	struct guest_mem mem;
	struct err e;
	uint8_t *p;

	cr_assert_eq(guest_mem_init(&mem, NULL, 4 * MiB, false, &e), 0, "%s", e.msg);
	p = guest_mem_ptr(&mem, 1 * MiB, 4096);
	memset(p, 0xab, 4096);
	cr_assert_eq(guest_mem_discard(&mem, 1 * MiB, 4096), 0);
	cr_assert_eq(p[0], 0);
	cr_assert_eq(guest_mem_discard(&mem, 4 * MiB, 4096), -1);
	guest_mem_destroy(&mem);
	cr_assert_eq(guest_mem_init(&mem, NULL, 4 * MiB + 1, false, &e), -1);
	cr_assert(strstr(e.msg, "multiple"), "%s", e.msg);
}

static enum cli_result parse(struct vm_config *cfg, struct err *e, ...)
{
	char *argv[32] = { "vmm" };
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, e);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	vm_config_init(cfg);
	return cli_parse(argc, argv, cfg, e);
}

Test(cli, parses_boot_flags)
{
	struct vm_config cfg;
	struct err e;

	cr_assert_eq(parse(&cfg, &e, "--kernel", "k", "--initrd", "i",
			   "--cmdline", "a b", "--memory", "256", "--cpus", "4",
			   "--serial", "COM2=file:/tmp/x", "--mmio-cmdline", NULL),
		     CLI_RUN, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel, "k");
	cr_assert_str_eq(cfg.initrd, "i");
	cr_assert_str_eq(cfg.cmdline, "a b");
	cr_assert_eq(cfg.mem_mib, 256);
	cr_assert_eq(cfg.nr_cpus, 4);
	cr_assert_eq(cfg.serial[1].kind, CHARDEV_FILE);
	cr_assert_str_eq(cfg.serial[1].path, "/tmp/x");
	cr_assert_eq(cfg.serial[0].kind, CHARDEV_STDIO);
	cr_assert(cfg.mmio_cmdline);
	vm_config_free(&cfg);
}

Test(cli, rejects_bad_flags_with_one_clear_message)
{
	static const struct {
		const char *flag, *value, *expect;
	} bad[] = {
		{ "--cpus", "0", "--cpus 0: must be between 1" },
		{ "--cpus", "two", "--cpus 'two': not a number" },
		{ "--memory", "-5", "--memory '-5': not a number" },
		{ "--memory", "12x", "not a number" },
		{ "--serial", "tcp:1", "is not stdio, none" },
		{ "--serial", "COM5=stdio", "only COM1 to COM4" },
		{ "--serial", "file:", "path after 'file:' is empty" },
		{ "--bogus", NULL, "unknown option '--bogus'" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config cfg;
		struct err e = { "" };

		cr_assert_eq(parse(&cfg, &e, bad[i].flag, bad[i].value, NULL),
			     CLI_ERROR, "%s %s accepted", bad[i].flag,
			     bad[i].value);
		cr_assert(strstr(e.msg, bad[i].expect), "%s", e.msg);
		vm_config_free(&cfg);
	}
}

Test(cli, validation_names_the_field)
{
	struct vm_config cfg;
	struct err e;

	vm_config_init(&cfg);
	cr_assert_eq(cli_validate(&cfg, 8, &e), -1);
	cr_assert(strstr(e.msg, "--kernel"), "%s", e.msg);
	cfg.kernel = strdup("/nonexistent/kernel");
	cfg.nr_cpus = 9;
	cr_assert_eq(cli_validate(&cfg, 8, &e), -1);
	cr_assert(strstr(e.msg, "--cpus 9"), "%s", e.msg);
	cfg.nr_cpus = 1;
	cfg.mem_mib = 1;
	cr_assert_eq(cli_validate(&cfg, 8, &e), -1);
	cr_assert(strstr(e.msg, "at least"), "%s", e.msg);
	cfg.mem_mib = 1ULL << 40;
	cr_assert_eq(cli_validate(&cfg, 8, &e), -1);
	cr_assert(strstr(e.msg, "more than this host"), "%s", e.msg);
	cfg.mem_mib = 64;
	cr_assert_eq(cli_validate(&cfg, 8, &e), 0);
	cr_assert_eq(vm_config_check_files(&cfg, &e), -1);
	cr_assert(strstr(e.msg, "/nonexistent/kernel: No such file"), "%s", e.msg);
	vm_config_free(&cfg);
}

static struct kvm_cpuid2 *make_cpuid(void)
{
	static const uint32_t fns[][2] = {
		{ 1, 0 }, { 4, 0 }, { 0xb, 0 }, { 0xb, 1 }, { 0xb, 2 },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 5 * sizeof(c->entries[0]));

	c->nent = 5;
	for (int i = 0; i < 5; i++) {
		c->entries[i].function = fns[i][0];
		c->entries[i].index = fns[i][1];
		c->entries[i].ebx = 0xff0000ff;
		c->entries[i].eax = 0xffffffff;
	}
	return c;
}

Test(cpuid, topology_matches_vcpu_index_and_count)
{
	struct kvm_cpuid2 *c = make_cpuid();

	vcpu_adjust_cpuid(c, 3, 4);
	cr_assert_eq(c->entries[0].ebx >> 24, 3, "initial APIC id");
	cr_assert_eq((c->entries[0].ebx >> 16) & 0xff, 4, "logical count");
	cr_assert(c->entries[0].ecx & (1U << 31), "hypervisor bit");
	cr_assert_eq(c->entries[1].eax >> 26, 3, "cores per package - 1");
	cr_assert_eq(c->entries[2].edx, 3, "x2APIC id");
	cr_assert_eq(c->entries[3].ebx, 4, "core level: 4 processors");
	cr_assert_eq(c->entries[3].eax, 2, "2 bits of core id");
	cr_assert_eq((c->entries[4].ecx >> 8) & 0xff, 0, "level 2 is invalid");
	free(c);
}

Test(kvm, open_failures_name_the_device_and_the_reason)
{
	struct kvm kvm;
	struct err e;

	cr_assert_eq(kvm_open(&kvm, "/nonexistent/kvm", &e), -1);
	cr_assert(strstr(e.msg, "/nonexistent/kvm does not exist: KVM is not available"),
		  "%s", e.msg);
	cr_assert_eq(kvm_open(&kvm, "/dev/null", &e), -1);
	cr_assert(strstr(e.msg, "/dev/null: KVM API version -1, this VMM needs 12"),
		  "%s", e.msg);
}

static bool cpuinfo_says(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	bool hw;

	cr_assert_not_null(f);
	hw = x86_cpuinfo_has_hw_virt(f);
	fclose(f);
	return hw;
}

/* Hardware virtualization shows as a vmx or svm word in the CPU flags. */
Test(host, cpu_flags_tell_hardware_virtualization)
{
	cr_expect(cpuinfo_says("processor\t: 0\nflags\t\t: fpu vme vmx sse\n"));
	cr_expect(cpuinfo_says("processor\t: 0\nflags\t\t: fpu svm\nbugs\t\t: x\n"));
	cr_expect_not(cpuinfo_says("processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\n"
				   "vmx flags\t: vnmi\n"));
	cr_expect_not(cpuinfo_says("flags\t\t: svmx vmxe\n"), "whole words only");
	cr_expect_not(cpuinfo_says(""));
}

Test(cli, disk_and_net_limits)
{
	struct vm_config cfg;
	struct err e;

	cr_assert_eq(parse(&cfg, &e, "--kernel", "k", "--disk",
			   "/img/a,iops=500,iops_burst=50,bw=10M,bw_burst=64k",
			   "--net", "tap=t0,bw=1G", NULL), CLI_RUN, "%s", e.msg);
	cr_assert_eq(cfg.disks[0].rate_limit.ops, 500);
	cr_assert_eq(cfg.disks[0].rate_limit.ops_burst, 50);
	cr_assert_eq(cfg.disks[0].rate_limit.bytes, 10 * MiB);
	cr_assert_eq(cfg.disks[0].rate_limit.bytes_burst, 64 * KiB);
	cr_assert_eq(cfg.nets[0].rate_limit.bytes, GiB);
	cr_assert_eq(cfg.nets[0].rate_limit.ops, 0);
	vm_config_free(&cfg);
}

Test(cli, bad_limits_name_the_flag_and_the_value)
{
	static const struct {
		const char *flag, *value, *expect;
	} bad[] = {
		{ "--disk", "/img,iops=fast", "iops 'fast' is not a number" },
		{ "--disk", "/img,bw=10T", "bw '10T' is not a byte count" },
		{ "--disk", "/img,iops=1000000001", "iops '1000000001'" },
		{ "--disk", "/img,bw=1048577G", "bw '1048577G'" },
		{ "--disk", "/img,bw_burst=4K", "bw_burst needs bw" },
		{ "--net", "tap=t0,iops_burst=5", "iops_burst needs iops" },
		{ "--net", "tap=t0,iops=", "iops '' is not a number" },
		{ "--disk", "/img,rate=5", "unknown option 'rate=5'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vm_config cfg;
		struct err e = { "" };

		cr_assert_eq(parse(&cfg, &e, bad[i].flag, bad[i].value, NULL),
			     CLI_ERROR, "%s %s accepted", bad[i].flag,
			     bad[i].value);
		cr_assert(strstr(e.msg, bad[i].expect), "%s: %s", bad[i].value,
			  e.msg);
		cr_assert(strstr(e.msg, bad[i].flag), "%s", e.msg);
		vm_config_free(&cfg);
	}
}

static enum cli_result parse_opts(struct cli_opts *o, struct vm_config *cfg,
				  struct err *e, const char *const *args)
{
	char *argv[32] = { "vmm" };
	int argc = 1;

	while (*args && argc < 31)
		argv[argc++] = (char *)*args++;
	vm_config_init(cfg);
	return cli_parse_opts(argc, argv, cfg, o, e);
}

Test(cli, process_options)
{
	const char *args[] = {
		"--config", "/etc/vmm/a.json", "--api-sock", "/run/a.sock",
		"--log-level", "debug", "--log-format", "json", "--metrics",
		"/run/a.prom", "--shutdown-timeout", "30", "--exit-with-vm", NULL,
	};
	struct vm_config cfg;
	struct cli_opts o;
	struct err e;

	cr_assert_eq(parse_opts(&o, &cfg, &e, args), CLI_RUN, "%s", e.msg);
	cr_assert_str_eq(o.config, "/etc/vmm/a.json");
	cr_assert_eq(o.log_level, LOG_DEBUG);
	cr_assert_eq(o.log_format, LOG_FORMAT_JSON);
	cr_assert_str_eq(o.metrics, "/run/a.prom");
	cr_assert_eq(o.metrics_interval_s, CLI_METRICS_INTERVAL_S);
	cr_assert_eq(o.shutdown_timeout_s, 30);
	cr_assert(o.exit_with_vm);
	cr_assert_not(cli_has_vm_options(&cfg), "a --config VM has no flags");
	cli_opts_free(&o);
	vm_config_free(&cfg);
}

Test(cli, process_option_errors)
{
	static const struct {
		const char *args[6];
		const char *expect;
	} bad[] = {
		{ { "--log-level", "loud" }, "--log-level 'loud': expected error, warn, info or debug" },
		{ { "--log-format", "xml" }, "--log-format 'xml': expected text or json" },
		{ { "--config", "" }, "--config: the path is empty" },
		{ { "--exit-with-vm" }, "--exit-with-vm needs --api-sock" },
		{ { "--metrics-interval", "5" }, "--metrics-interval needs --metrics" },
		{ { "--metrics", "/m", "--metrics-interval", "0" },
		  "--metrics-interval 0: must be between 1 and" },
		{ { "--shutdown-timeout", "-1" }, "--shutdown-timeout '-1': not a number" },
		{ { "--config", "/a.json", "--memory", "64" },
		  "--config: the VM comes from /a.json" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vm_config cfg;
		struct cli_opts o;
		struct err e = { "" };

		cr_assert_eq(parse_opts(&o, &cfg, &e, bad[i].args), CLI_ERROR,
			     "%s accepted", bad[i].args[0]);
		cr_assert(strstr(e.msg, bad[i].expect), "%s", e.msg);
		cli_opts_free(&o);
		vm_config_free(&cfg);
	}
}
