# SPDX-License-Identifier: MIT
# lib/: what the VMM, the guest agent and the host clients share, none of it
# about virtual machines: errors and logging, the event loop, byte rings,
# the terminal, JSON fields; lib/proto/: the wire codecs of the agent's
# protocols (exec frames and messages, the HCS/GCS bridge, base64).
# Programs link the archive and take only the objects they use.

LIB_SRCS := $(wildcard lib/*.c lib/proto/*.c)

$(BUILD)/lib.a: $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/lib-asan.a: $(LIB_SRCS:%.c=$(BUILD)/asan/%.o)
