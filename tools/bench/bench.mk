# SPDX-License-Identifier: MIT
# make bench: every benchmark, each side by side with a peer in one run.

BENCH_RUNS ?= 20
QEMU_MICROVM := qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off \
	-cpu host,-arch-capabilities -enable-kvm -m 64 -smp 1 -nodefaults \
	-no-user-config -nographic -serial stdio \
	-device isa-debug-exit,iobase=0x501,iosize=1

$(BUILD)/bench-boot: tools/bench/boot.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

.PHONY: bench-boot
bench-boot: $(BUILD)/vmm $(BUILD)/bench-boot bench-images | bench-deps
	@echo "== start-up: vmm vs QEMU microvm (guest writes a byte to COM1, then exits) =="
	$(BUILD)/bench-boot $(BENCH_RUNS) \
		vmm -- $(BUILD)/vmm --kernel $(BUILD)/images/bench-exit.elf \
			--memory 64 --cmdline "" \
		--- qemu-microvm -- $(QEMU_MICROVM) -bios $(BUILD)/images/bench-exit.bios

BENCH_TARGETS += bench-boot
