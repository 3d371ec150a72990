# SPDX-License-Identifier: MIT
#
# Guest images, built with the host's gcc and binutils:
#   build/images/testguest.bzImage  test guest, Linux 64-bit boot protocol
#   build/images/testguest.elf      the same guest as ELF: PVH note + e_entry
#   build/images/bench-exit.elf     PVH guest that writes 'X' and exits 0
#   build/images/bench-exit.bios    64 KiB real-mode firmware doing the same
# See docs/testguest.md.

OBJCOPY ?= objcopy

# The guests are freestanding: none of the VMM's CFLAGS apply to them.
GUEST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -I. \
	-ffreestanding -fno-pic -fno-pie -mcmodel=small -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-tree-loop-distribute-patterns -fno-strict-aliasing
GUEST_ASFLAGS := -I. -D__ASSEMBLY__
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,max-page-size=4096 \
	$(shell $(CC) -nostdlib -Wl,--no-warn-rwx-segments -Wl,--version \
		>/dev/null 2>&1 && echo -Wl,--no-warn-rwx-segments)

# Link addresses: the bzImage payload where the boot protocol loads it
# (mkbzimage checks it against TG_BZIMAGE_LOAD), the ELF elsewhere so that
# the load_address check tells the two apart.
TESTGUEST_BZIMAGE_BASE := 0x100000
TESTGUEST_ELF_BASE     := 0x200000

TG_DIR   := images/testguest
TG_OUT   := $(BUILD)/images/testguest
TG_CSRCS := $(filter-out $(TG_DIR)/mkbzimage.c, $(wildcard $(TG_DIR)/*.c))
TG_OBJS  := $(TG_CSRCS:$(TG_DIR)/%.c=$(TG_OUT)/%.o) \
	    $(TG_OUT)/entry.o $(TG_OUT)/trampoline.o
TG_LDS   := $(TG_DIR)/testguest.ld

.PHONY: test-images bench-images
test-images: $(BUILD)/images/testguest.bzImage $(BUILD)/images/testguest.elf
bench-images: $(BUILD)/images/bench-exit.elf $(BUILD)/images/bench-exit.bios

$(TG_OUT)/%.o: $(TG_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(TG_OUT)/%.o: $(TG_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_ASFLAGS) -MMD -MP -c $< -o $@

$(TG_OUT)/payload.elf: $(TG_OUT)/head_bzimage.o $(TG_OBJS) $(TG_LDS)
	$(CC) $(GUEST_LDFLAGS) -Wl,--defsym=LINK_BASE=$(TESTGUEST_BZIMAGE_BASE) \
		-T $(TG_LDS) -o $@ $(TG_OUT)/head_bzimage.o $(TG_OBJS)

$(BUILD)/images/testguest.elf: $(TG_OUT)/head_elf.o $(TG_OBJS) $(TG_LDS)
	$(CC) $(GUEST_LDFLAGS) -Wl,--defsym=LINK_BASE=$(TESTGUEST_ELF_BASE) \
		-T $(TG_LDS) -o $@ $(TG_OUT)/head_elf.o $(TG_OBJS)

$(TG_OUT)/setup16.bin: $(TG_OUT)/setup16.o
	$(OBJCOPY) -O binary -j .text $< $@

# A host tool: built with the host compiler and the project's flags.
$(TG_OUT)/mkbzimage: $(TG_DIR)/mkbzimage.c $(TG_DIR)/image.h lib/util.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/images/testguest.bzImage: $(TG_OUT)/mkbzimage $(TG_OUT)/setup16.bin \
		$(TG_OUT)/payload.elf
	$(TG_OUT)/mkbzimage $(TG_OUT)/setup16.bin $(TG_OUT)/payload.elf $@

BENCH_DIR := images/bench
BENCH_OUT := $(BUILD)/images/bench

$(BENCH_OUT)/%.o: $(BENCH_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_ASFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/images/bench-exit.elf: $(BENCH_OUT)/exit-pvh.o $(BENCH_DIR)/exit-pvh.ld
	$(CC) $(GUEST_LDFLAGS) -T $(BENCH_DIR)/exit-pvh.ld -o $@ $<

$(BUILD)/images/bench-exit.bios: $(BENCH_OUT)/exit-bios.o
	$(OBJCOPY) -O binary -j .text $< $@
	@test "$$(stat -c %s $@)" = 65536 || \
		{ echo "$@: not 64 KiB" >&2; rm -f $@; exit 1; }
