# SPDX-License-Identifier: MIT
# The control socket (vmm/api/): its sources join the VMM library; its
# request parser fuzzer and its benchmark.
#
#   make fuzz-api     libFuzzer run of the request and config parsers
#                     (API_FUZZ_TIME seconds, default 60)
#   make bench-api    process start to control socket ready (CPU and wall
#                     ms), InspectVM latency with 1 and 100 clients

API_SRCS := $(wildcard vmm/api/*.c)

# The library rules archive $^, so these prerequisites join the archives.
$(BUILD)/libvmm.a: $(API_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/libvmm-asan.a: $(API_SRCS:%.c=$(BUILD)/asan/%.o)

# vmmctl's control-socket commands (client/ctl_api.c) and what they use.
$(BUILD)/vmmctl: $(BUILD)/obj/client/ctl_api.o $(BUILD)/obj/vmm/term.o
$(BUILD)/vmmctl-asan: $(BUILD)/asan/client/ctl_api.o $(BUILD)/asan/vmm/term.o

# The end-to-end tests drive the control socket with vmmctl too.
test-e2e: $(BUILD)/vmmctl

API_FUZZ_CC     ?= clang
API_FUZZ_TIME   ?= 60
API_FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
API_FUZZ_DEPS   := vmm/api/rpc.c vmm/api/pbjson.c vmm/api/config_json.c \
		   vmm/api/inspect.c vmm/config.c vmm/config_devices.c vmm/util.c

$(BUILD)/fuzz/fuzz_api: vmm/api/fuzz/fuzz_api.c $(API_FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(API_FUZZ_CC) $(API_FUZZ_CFLAGS) -o $@ $^ -ljson-c

.PHONY: fuzz-api bench-api
fuzz-api: $(BUILD)/fuzz/fuzz_api
	@mkdir -p $(BUILD)/fuzz/corpus-api
	@cp -n vmm/api/fuzz/corpus/* $(BUILD)/fuzz/corpus-api/
	@echo "fuzz-api: request and config parsers for $(API_FUZZ_TIME) s"
	@if ! $< -max_total_time=$(API_FUZZ_TIME) -rss_limit_mb=1024 \
		-max_len=8192 -print_final_stats=1 $(BUILD)/fuzz/corpus-api \
		> $(BUILD)/fuzz/fuzz_api.log 2>&1; then \
		tail -40 $(BUILD)/fuzz/fuzz_api.log; exit 1; fi
	@grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
		$(BUILD)/fuzz/fuzz_api.log

$(BUILD)/bench-api: vmm/api/bench/bench_api.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

API_BENCH_RUNS ?= 50
API_BENCH_REQUESTS ?= 2000

bench-api: $(BUILD)/vmm $(BUILD)/bench-api bench-images
	@echo "== control socket: start-up to socket ready, InspectVM latency =="
	$(BUILD)/bench-api --vmm $(BUILD)/vmm \
		--kernel $(BUILD)/images/bench-exit.elf \
		--runs $(API_BENCH_RUNS) --requests $(API_BENCH_REQUESTS)

BENCH_TARGETS += bench-api
