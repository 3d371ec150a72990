# SPDX-License-Identifier: MIT
# The VMM: every .c under vmm/, boot/ and devices/ except the entry point
# goes into a library that the unit tests and benchmarks link as well.
# vmm/arch/ARCH/ is the architecture's half of the core; boot/ and devices/
# have an x86/ and an arm64/ folder. The arm64 loaders and devices are
# plain C, so the x86 library carries them too, for the unit tests.
#
#   make build/vmm        the VMM
#   make build/vmm-asan   the same with ASan and UBSan, for the tests

VMM_ARCH_DIRS_x86   := vmm/arch/x86 boot/x86 devices/x86 boot/arm64 \
		       devices/arm64
VMM_ARCH_DIRS_arm64 := vmm/arch/arm64 boot/arm64 devices/arm64
VMM_LIB_SRCS := $(filter-out vmm/main.c, \
		$(wildcard vmm/*.c vmm/api/*.c boot/*.c devices/*.c \
			   devices/pci/*.c devices/virtio/*.c \
			   devices/virtio/vsock/*.c \
			   $(VMM_ARCH_DIRS_$(ARCH):%=%/*.c)))
# json-c: the control socket; libaio: virtio-blk; libseccomp: the
# filters; libfdt: the arm64 device tree.
VMM_LIBS     := -lpthread -ljson-c -laio -lseccomp
ifeq ($(ARCH),arm64)
VMM_LIBS     += $(FDT_LIB)
endif

# The SIGSYS handler names a forbidden call from this table: [nr] = "name".
$(BUILD)/gen/syscall_names.h: | deps
	@mkdir -p $(dir $@)
	printf '#include <sys/syscall.h>\n' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/[\2] = "\1",/p' \
		> $@.tmp && mv $@.tmp $@
$(BUILD)/obj/vmm/seccomp.o $(BUILD)/asan/vmm/seccomp.o: \
		$(BUILD)/gen/syscall_names.h
$(BUILD)/obj/vmm/seccomp.o $(BUILD)/asan/vmm/seccomp.o: \
		CFLAGS += -I$(BUILD)/gen

$(BUILD)/libvmm.a: $(VMM_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/libvmm-asan.a: $(VMM_LIB_SRCS:%.c=$(BUILD)/asan/%.o)

$(BUILD)/vmm: $(BUILD)/obj/vmm/main.o $(BUILD)/libvmm.a $(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

$(BUILD)/vmm-asan: $(BUILD)/asan/vmm/main.o $(BUILD)/libvmm-asan.a \
		$(BUILD)/lib-asan.a
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)
