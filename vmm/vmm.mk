# SPDX-License-Identifier: MIT
# The VMM: every .c under vmm/, boot/ and devices/ except the entry point
# goes into a library that the unit tests and benchmarks link as well.
#
#   make build/vmm        the VMM
#   make build/vmm-asan   the same with ASan and UBSan, for the tests

VMM_LIB_SRCS := $(filter-out vmm/main.c, \
		$(wildcard vmm/*.c vmm/api/*.c boot/*.c devices/*.c \
			   devices/virtio/*.c devices/virtio/vsock/*.c))
# json-c: the control socket; libaio: virtio-blk; libseccomp: the filters.
VMM_LIBS     := -lpthread -ljson-c -laio -lseccomp

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
