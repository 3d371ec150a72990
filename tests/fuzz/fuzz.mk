# SPDX-License-Identifier: MIT
# libFuzzer runs of the parsers that take untrusted input (clang; FUZZ_TIME
# seconds each, default 60):
#
#   make fuzz-agent   the exec frame decoder with the exec/file JSON
#                     decoders; the bridge header decoder with the bridge
#                     request parsers
#   make fuzz-api     the control socket's request parser, the VMConfig
#                     mapping (with a write-back round trip) and the query
#   make fuzz-state   a snapshot's state file: the format's checks, the
#                     config (with a write-back round trip), every section

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB    := $(wildcard lib/*.c lib/proto/*.c)

FUZZ_AGENT       := fuzz_exec_frame fuzz_bridge
FUZZ_AGENT_DEPS  := $(FUZZ_LIB) guest-agent/bridge_msg.c
FUZZ_API_DEPS    := $(FUZZ_LIB) vmm/api/rpc.c vmm/api/config_json.c \
		    vmm/api/inspect.c vmm/api/devices_json.c vmm/config.c \
		    vmm/config_devices.c

$(FUZZ_AGENT:%=$(BUILD)/fuzz/%): $(BUILD)/fuzz/%: tests/fuzz/%.c \
		$(FUZZ_AGENT_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -ljson-c

$(BUILD)/fuzz/fuzz_api: tests/fuzz/fuzz_api.c $(FUZZ_API_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -ljson-c

FUZZ_STATE_DEPS := $(FUZZ_LIB) vmm/state.c vmm/snapshot_config.c \
		   vmm/config.c vmm/config_devices.c

$(BUILD)/fuzz/fuzz_state: tests/fuzz/fuzz_state.c $(FUZZ_STATE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -ljson-c

# Runs fuzzer $(1) on corpus directory $(2) for FUZZ_TIME seconds, inputs
# of at most $(3) bytes (8192 when not given); prints its final
# statistics, or the tail of its log when it found a crash.
define fuzz_run
	@mkdir -p $(2)
	@echo "fuzz: $(notdir $(1)) for $(FUZZ_TIME) s"
	@if ! $(1) -max_total_time=$(FUZZ_TIME) -rss_limit_mb=1024 \
		-max_len=$(or $(3),8192) -print_final_stats=1 $(2) \
		> $(1).log 2>&1; then \
		tail -40 $(1).log; exit 1; fi
	@grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $(1).log
endef

.PHONY: fuzz-agent fuzz-api fuzz-state
fuzz-agent: $(FUZZ_AGENT:%=$(BUILD)/fuzz/%)
	$(call fuzz_run,$(BUILD)/fuzz/fuzz_exec_frame,$(BUILD)/fuzz/corpus-exec_frame)
	$(call fuzz_run,$(BUILD)/fuzz/fuzz_bridge,$(BUILD)/fuzz/corpus-bridge)

fuzz-api: $(BUILD)/fuzz/fuzz_api
	@mkdir -p $(BUILD)/fuzz/corpus-api
	@cp -n tests/fuzz/corpus/api/* $(BUILD)/fuzz/corpus-api/
	$(call fuzz_run,$<,$(BUILD)/fuzz/corpus-api)

# Seeded with a snapshot of the test guest with three virtio devices.
fuzz-state: $(BUILD)/fuzz/fuzz_state
	@mkdir -p $(BUILD)/fuzz/corpus-state
	@cp -n tests/fuzz/corpus/state/* $(BUILD)/fuzz/corpus-state/
	$(call fuzz_run,$<,$(BUILD)/fuzz/corpus-state,65536)
