# SPDX-License-Identifier: MIT
# Host-side clients: vmmctl (the control socket, and exec and port-forward
# through the guest agent) and bridge-client (the HCS/GCS bridge). Their
# protocol code is a library the agent tests and the agent benchmark link
# as well.
#
#   make build/vmmctl          the host CLI
#   make build/bridge-client   a bridge client for manual use

CLIENT_LIB_SRCS := client/exec_client.c client/bridge_host.c client/ctl_api.c \
		   client/port_forward.c
CLIENT_LIBS     := -ljson-c

$(BUILD)/libclient.a: $(CLIENT_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/libclient-asan.a: $(CLIENT_LIB_SRCS:%.c=$(BUILD)/asan/%.o)

$(BUILD)/vmmctl: $(BUILD)/obj/client/vmmctl.o $(BUILD)/libclient.a \
		$(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/vmmctl-asan: $(BUILD)/asan/client/vmmctl.o $(BUILD)/libclient-asan.a \
		$(BUILD)/lib-asan.a
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/bridge-client: $(BUILD)/obj/client/bridge_client.o \
		$(BUILD)/libclient.a $(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)
