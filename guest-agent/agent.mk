# SPDX-License-Identifier: MIT
# Guest agent, host-side clients (vmmctl, bridge-client), their tests,
# fuzzers and benchmark, and the Linux test image.
#
#   make build/guest-agent     the static agent for guests
#   make build/vmmctl          the host CLI (exec, port-forward, --sock)
#   make test-agent            criterion tests against the sanitized agent
#   make fuzz-agent            libFuzzer runs of the frame and bridge parsers
#   make bench-agent           agent start-up time and exec round trip
#   make linux-image           initramfs + vmlinux under build/images/linux

AGENT_PROTO_SRCS  := $(wildcard guest-agent/proto/*.c)
AGENT_SRCS        := $(wildcard guest-agent/*.c)
# The agent reuses the core's helpers (struct err, byte order, event loop).
AGENT_SHARED_SRCS := vmm/util.c vmm/event.c
CLIENT_LIB_SRCS   := client/exec_client.c client/bridge_host.c
AGENT_TEST_SRCS   := $(wildcard tests/agent/*.c)
# The peers' hosts re-enacted (tests/agent/peer_*.c): linked into the agent
# tests and into agent-peer-check, which runs them against any agent.
PEER_CHECK_SRCS   := tests/agent/check/peer_check.c tests/agent/gojson.c \
		     tests/agent/peer_cases.c tests/agent/peer_hcsshim.c \
		     tests/agent/peer_io.c tests/agent/peer_matchlock.c
AGENT_FUZZ_SRCS   := $(wildcard guest-agent/fuzz/*.c)

AGENT_LIBS := -ljson-c

AGENT_OBJS      := $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o) \
		   $(AGENT_PROTO_SRCS:%.c=$(BUILD)/obj/%.o) \
		   $(AGENT_SHARED_SRCS:%.c=$(BUILD)/obj/%.o)
AGENT_ASAN_OBJS := $(AGENT_OBJS:$(BUILD)/obj/%=$(BUILD)/asan/%)
CLIENT_OBJS      := $(CLIENT_LIB_SRCS:%.c=$(BUILD)/obj/%.o) \
		    $(AGENT_PROTO_SRCS:%.c=$(BUILD)/obj/%.o) \
		    $(BUILD)/obj/vmm/util.o
CLIENT_ASAN_OBJS := $(CLIENT_OBJS:$(BUILD)/obj/%=$(BUILD)/asan/%)

.PHONY: guest-agent test-agent fuzz-agent bench-agent
guest-agent: $(BUILD)/guest-agent $(BUILD)/vmmctl $(BUILD)/bridge-client \
	$(BUILD)/agent-peer-check

# Static, stripped, unused sections dropped: it is the guest's /init.
$(BUILD)/guest-agent: $(AGENT_OBJS)
	$(CC) -static -s -Wl,--gc-sections $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

# Dynamic and sanitized, for the tests.
$(BUILD)/guest-agent-asan: $(AGENT_ASAN_OBJS)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/vmmctl: $(BUILD)/obj/client/vmmctl.o $(BUILD)/obj/client/port_forward.o \
		$(CLIENT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/bridge-client: $(BUILD)/obj/client/bridge_client.o $(CLIENT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/agent-bench: $(BUILD)/obj/guest-agent/bench/bench.o $(CLIENT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

# Static, so that it runs in a nested test host as it is.
$(BUILD)/agent-peer-check: $(PEER_CHECK_SRCS:%.c=$(BUILD)/obj/%.o) $(CLIENT_OBJS)
	$(CC) -static $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/tests/agent: $(AGENT_TEST_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(CLIENT_ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(AGENT_LIBS)

AGENT_TEST_ENV := $(TEST_LSAN) AGENT=$(BUILD)/guest-agent-asan VMMCTL=$(BUILD)/vmmctl-asan

$(BUILD)/vmmctl-asan: $(BUILD)/asan/client/vmmctl.o \
		$(BUILD)/asan/client/port_forward.o $(CLIENT_ASAN_OBJS)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

test-agent: $(BUILD)/tests/agent $(BUILD)/guest-agent-asan $(BUILD)/vmmctl-asan \
		$(BUILD)/guest-agent $(BUILD)/agent-peer-check | test-deps
	$(AGENT_TEST_ENV) $(BUILD)/tests/agent --jobs 2

TEST_TARGETS += test-agent

# libFuzzer: the exec frame decoder with the exec/file JSON decoders, and
# the bridge header decoder with the bridge request parsers.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined
FUZZ_DEPS   := $(AGENT_PROTO_SRCS) guest-agent/bridge_msg.c vmm/util.c

$(BUILD)/fuzz/%: guest-agent/fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(AGENT_LIBS)

fuzz-agent: $(AGENT_FUZZ_SRCS:guest-agent/fuzz/%.c=$(BUILD)/fuzz/%)
	@set -e; for f in $^; do \
		name=$$(basename $$f); \
		mkdir -p $(BUILD)/fuzz/corpus-$$name; \
		echo "fuzz-agent: $$name for $(FUZZ_TIME) s"; \
		if ! $$f -max_total_time=$(FUZZ_TIME) -rss_limit_mb=1024 \
			-print_final_stats=1 $(BUILD)/fuzz/corpus-$$name \
			> $(BUILD)/fuzz/$$name.log 2>&1; then \
			tail -40 $(BUILD)/fuzz/$$name.log; exit 1; fi; \
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
			$(BUILD)/fuzz/$$name.log; \
	done

bench-agent: $(BUILD)/agent-bench $(BUILD)/guest-agent
	$(BUILD)/agent-bench $(BUILD)/guest-agent

BENCH_TARGETS += bench-agent

include images/linux/linux.mk
