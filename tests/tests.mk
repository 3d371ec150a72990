# SPDX-License-Identifier: MIT
# Unit tests: every tests/unit/*.c, linked with the sanitized VMM library.
# End-to-end tests: every tests/e2e/*.c; they run the sanitized VMM binary
# on the images under build/images.

UNIT_TEST_SRCS := $(wildcard tests/unit/*.c)
E2E_TEST_SRCS  := $(wildcard tests/e2e/*.c)
TEST_LIBS      := -lcriterion

$(BUILD)/tests/unit: $(UNIT_TEST_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(BUILD)/libvmm-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(VMM_LIBS)

$(BUILD)/tests/e2e: $(E2E_TEST_SRCS:%.c=$(BUILD)/asan/%.o) \
		$(BUILD)/libvmm-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(VMM_LIBS)

.PHONY: test-unit test-e2e
test-unit: $(BUILD)/tests/unit
	$(TEST_LSAN) $(BUILD)/tests/unit --jobs 2

E2E_ENV := $(TEST_LSAN) VMM=$(BUILD)/vmm-asan IMAGES=$(BUILD)/images

test-e2e: $(BUILD)/tests/e2e $(BUILD)/vmm-asan test-images \
		$(BUILD)/images/linux/vmlinux | test-deps
	$(E2E_ENV) $(BUILD)/tests/e2e --jobs 2

TEST_TARGETS += test-unit test-e2e
test: $(TEST_TARGETS)
