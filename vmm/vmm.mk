# SPDX-License-Identifier: MIT
# The VMM: every .c under vmm/, boot/ and devices/ except the entry point
# goes into a library that the unit tests and benchmarks link as well.
#
#   make build/vmm        the VMM
#   make build/vmm-asan   the same with ASan and UBSan, for the tests

VMM_LIB_SRCS := $(filter-out vmm/main.c, \
		$(wildcard vmm/*.c vmm/api/*.c vmm/arch/x86/*.c boot/*.c \
			   boot/x86/*.c devices/*.c devices/x86/*.c \
			   devices/virtio/*.c devices/virtio/vsock/*.c))
# json-c: the control socket; libaio: virtio-blk.
VMM_LIBS     := -lpthread -ljson-c -laio

$(BUILD)/libvmm.a: $(VMM_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/libvmm-asan.a: $(VMM_LIB_SRCS:%.c=$(BUILD)/asan/%.o)

$(BUILD)/vmm: $(BUILD)/obj/vmm/main.o $(BUILD)/libvmm.a $(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

$(BUILD)/vmm-asan: $(BUILD)/asan/vmm/main.o $(BUILD)/libvmm-asan.a \
		$(BUILD)/lib-asan.a
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)
