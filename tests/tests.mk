# SPDX-License-Identifier: MIT
# The three criterion suites, built with ASan and UBSan (make test):
#   unit:  every tests/unit/*.c, linked with the VMM library;
#   e2e:   every tests/e2e/*.c; they run the sanitized VMM binary (and
#          vmmctl) on the images under build/images;
#   agent: every tests/agent/*.c, against the sanitized guest agent over
#          Unix sockets, with the clients' protocol library; its re-enacted
#          peer hosts (tests/agent/peer_*.c) also make agent-peer-check,
#          which runs the peer cases against any agent (a VM's, over vsock).
#   dist:  tests/dist/*.sh: make install and uninstall, the unit file, the
#          man pages against the programs' --help.

UNIT_TEST_SRCS  := $(wildcard tests/unit/*.c)
E2E_TEST_SRCS   := $(wildcard tests/e2e/*.c)
AGENT_TEST_SRCS := $(wildcard tests/agent/*.c)
PEER_CHECK_SRCS := tests/agent/check/peer_check.c tests/agent/gojson.c \
		   tests/agent/peer_cases.c tests/agent/peer_hcsshim.c \
		   tests/agent/peer_io.c tests/agent/peer_matchlock.c
# libfdt: the unit tests read back the arm64 device tree.
TEST_LIBS       := -lcriterion -lfdt

$(BUILD)/tests/unit: $(UNIT_TEST_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(BUILD)/libvmm-asan.a $(BUILD)/lib-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(VMM_LIBS)

$(BUILD)/tests/e2e: $(E2E_TEST_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(BUILD)/libvmm-asan.a $(BUILD)/lib-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(VMM_LIBS)

$(BUILD)/tests/agent: $(AGENT_TEST_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(BUILD)/libclient-asan.a $(BUILD)/lib-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(CLIENT_LIBS)

# Static, so that it runs in a nested test host as it is.
$(BUILD)/agent-peer-check: $(PEER_CHECK_SRCS:%.c=$(BUILD)/obj/%.o) \
		$(BUILD)/libclient.a $(BUILD)/lib.a
	$(CC) -static $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

.PHONY: test test-unit test-e2e test-agent test-dist
test-unit: $(BUILD)/tests/unit | test-deps
	$(TEST_LSAN) $(BUILD)/tests/unit --jobs 2

E2E_ENV := $(TEST_LSAN) VMM=$(BUILD)/vmm-asan IMAGES=$(BUILD)/images

test-e2e: $(BUILD)/tests/e2e $(BUILD)/vmm-asan $(BUILD)/vmmctl test-images \
		$(BUILD)/images/linux/vmlinux | test-deps
	$(E2E_ENV) $(BUILD)/tests/e2e --jobs 2

AGENT_TEST_ENV := $(TEST_LSAN) AGENT=$(BUILD)/guest-agent-asan \
		  VMMCTL=$(BUILD)/vmmctl-asan

test-agent: $(BUILD)/tests/agent $(BUILD)/guest-agent-asan \
		$(BUILD)/vmmctl-asan $(BUILD)/guest-agent \
		$(BUILD)/agent-peer-check | test-deps
	$(AGENT_TEST_ENV) $(BUILD)/tests/agent --jobs 2

# make install and its unit, and the man pages against --help
# (tests/dist/); systemd-analyze, groff and readelf check them.
DIST_TEST_DEPS := systemd groff-base binutils

test-dist: $(BUILD)/vmm $(BUILD)/vmmctl $(BUILD)/guest-agent test-images \
		| test-deps
	@tools/install-deps.sh $(DIST_TEST_DEPS)
	tests/dist/man.sh $(BUILD)
	MAKE="$(MAKE)" tests/dist/install.sh $(BUILD) $(BUILD)/images

# The fuzz targets briefly (tests/fuzz/fuzz.mk), so they keep working.
test: test-agent test-unit test-e2e test-dist test-linux test-arm64 fuzz-smoke
