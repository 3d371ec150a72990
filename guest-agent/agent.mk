# SPDX-License-Identifier: MIT
# The guest agent: a static binary that is a guest's /init or one of its
# services (docs/guest-agent.md).
#
#   make build/guest-agent        the static agent for guests
#   make build/guest-agent-asan   dynamic and sanitized, for the agent tests

AGENT_SRCS := $(wildcard guest-agent/*.c)
AGENT_LIBS := -ljson-c

.PHONY: guest-agent
guest-agent: $(BUILD)/guest-agent $(BUILD)/vmmctl $(BUILD)/bridge-client

# Static, stripped, unused sections dropped: it is the guest's /init.
$(BUILD)/guest-agent: $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/lib.a
	$(CC) -static -s -Wl,--gc-sections $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/guest-agent-asan: $(AGENT_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(BUILD)/lib-asan.a
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)
