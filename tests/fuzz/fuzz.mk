# SPDX-License-Identifier: MIT
# libFuzzer targets for everything that takes untrusted input (clang):
#
#   the control socket:  api (request parser, VMConfig mapping, queries)
#   the guest agent:     exec_frame, bridge
#   the guest, through   virtqueue (the ring walker), blk, net, vsock,
#   guest memory and     balloon, console (each device's requests, driven
#   registers:           by a simulated driver), mmio (register sequences),
#                        ports (UART, i8042, ACPI, debug exit),
#                        firmware (fw_cfg, RTC, LPC bridge, flash)
#   host files:          boot (bzImage, ELF and PVH loaders, initrd),
#                        state (a snapshot's state file: the format's
#                        checks, the config with a write-back round trip,
#                        every section)
#
#   make fuzz          every target for FUZZ_TIME seconds (default 60)
#   make fuzz-NAME     one target
#   make fuzz-smoke    every target for FUZZ_SMOKE_TIME seconds (part of
#                      make test, so the targets keep building and running)
#
# Each run starts from the corpus of valid inputs in tests/fuzz/corpus/NAME
# (copied into build/fuzz/corpus-NAME, where finds accumulate). The device
# targets fail an input that costs more than a fixed budget of virtqueue
# pops or time (tests/fuzz/fuzz_cost.h); libFuzzer's -timeout backs that.

FUZZ_CC         ?= clang
FUZZ_DEPS       := clang libclang-rt-dev
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 8
FUZZ_SAN        := address,undefined
FUZZ_CFLAGS     := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. \
		   -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
		   -fno-sanitize-recover=undefined
FUZZ_LDFLAGS    := -fsanitize=fuzzer,$(FUZZ_SAN)

FUZZ_PROTO      := api exec_frame bridge state
FUZZ_DEVICES    := virtqueue blk net vsock balloon console mmio ports \
		   firmware boot
FUZZ_TARGETS    := $(FUZZ_PROTO) $(FUZZ_DEVICES)

# The code under test, compiled once with coverage and the sanitizers.
FUZZ_LIB_SRCS   := $(LIB_SRCS) $(VMM_LIB_SRCS) guest-agent/bridge_msg.c \
		   tests/unit/virtio_driver.c tests/fuzz/fuzz_cost.c \
		   tests/fuzz/fuzz_virtio.c tests/fuzz/fuzz_host.c

.PHONY: fuzz-deps
fuzz-deps: deps
	@tools/install-deps.sh $(FUZZ_DEPS)

$(BUILD)/fuzz/obj/%.o: %.c | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/obj/vmm/seccomp.o: $(BUILD)/gen/syscall_names.h
$(BUILD)/fuzz/obj/vmm/seccomp.o: FUZZ_CFLAGS += -I$(BUILD)/gen

$(BUILD)/fuzz/libfuzzed.a: $(FUZZ_LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

# Every device target counts the virtqueue pops of each input.
$(FUZZ_DEVICES:%=$(BUILD)/fuzz/fuzz_%): FUZZ_LDFLAGS += -Wl,--wrap=virtq_pop

$(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%): $(BUILD)/fuzz/fuzz_%: \
		$(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(BUILD)/fuzz/libfuzzed.a
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $< $(BUILD)/fuzz/libfuzzed.a \
		$(VMM_LIBS)

# Resident memory a target may reach. The boot target's guests hold
# 3.5 GiB of RAM, which one input's kernel segments may nearly fill.
FUZZ_RSS_MB      := 2048
FUZZ_RSS_MB_boot := 5120
# Beyond its time, a run may take this long to stop before it is killed
# (a sanitizer wedged while reporting must not hang make test).
FUZZ_GRACE       := 120

# Runs target $(1) for $(2) seconds on its corpus; prints its final
# statistics, or the tail of its log when it found a crash, a leak, a
# timeout or a cost-budget overrun.
define fuzz_run
	@mkdir -p $(BUILD)/fuzz/corpus-$(1)
	@cp -n tests/fuzz/corpus/$(1)/* $(BUILD)/fuzz/corpus-$(1)/ 2>/dev/null || true
	@echo "fuzz: $(1) for $(2) s"
	@if ! timeout -k 10 $$(($(2) + $(FUZZ_GRACE))) \
		$(BUILD)/fuzz/fuzz_$(1) -max_total_time=$(2) -timeout=25 \
		-rss_limit_mb=$(or $(FUZZ_RSS_MB_$(1)),$(FUZZ_RSS_MB)) \
		-max_len=16384 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/$(1)- \
		$(BUILD)/fuzz/corpus-$(1) > $(BUILD)/fuzz/fuzz_$(1).log 2>&1; then \
		tail -40 $(BUILD)/fuzz/fuzz_$(1).log; exit 1; fi
	@grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
		$(BUILD)/fuzz/fuzz_$(1).log | sed 's/^/fuzz: $(1): /'
endef

# The seed corpora: inputs in each target's format, written by a program
# that knows the formats (tests/fuzz/corpus_gen.c); the files are in git.
$(BUILD)/fuzz/corpus_gen: tests/fuzz/corpus_gen.c \
		$(BUILD)/obj/devices/virtio/vsock/packet.o $(BUILD)/lib.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -ljson-c

.PHONY: fuzz-corpus
fuzz-corpus: $(BUILD)/fuzz/corpus_gen
	$< tests/fuzz/corpus

.PHONY: fuzz fuzz-smoke fuzz-agent fuzz-api $(FUZZ_TARGETS:%=fuzz-%) \
	$(FUZZ_TARGETS:%=fuzz-smoke-%)
fuzz: $(FUZZ_TARGETS:%=fuzz-%)
fuzz-smoke: $(FUZZ_TARGETS:%=fuzz-smoke-%)
fuzz-agent: fuzz-exec_frame fuzz-bridge

$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(BUILD)/fuzz/fuzz_%
	$(call fuzz_run,$*,$(FUZZ_TIME))

$(FUZZ_TARGETS:%=fuzz-smoke-%): fuzz-smoke-%: $(BUILD)/fuzz/fuzz_%
	$(call fuzz_run,$*,$(FUZZ_SMOKE_TIME))
