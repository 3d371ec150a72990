# SPDX-License-Identifier: MIT
# make bench: every benchmark, each side by side with a peer in one run
# (docs/bench.md). One target per benchmark:
#
#   bench-boot    start-up: vmm vs QEMU microvm
#   bench-blk     virtio-blk 4 KiB random I/O: device path vs raw libaio;
#                 a rate-limited disk's IOPS against its limit
#   bench-transport  the device path per request, virtio-pci vs virtio-mmio
#   bench-vsock   virtio-vsock host to guest: device path vs socketpair
#   bench-agent   guest agent start-up and exec round trip
#   bench-api     control socket start-up and InspectVM latency
#   bench-load    InspectVM latency from 256 clients, idle guest vs a guest
#                 holding 1024 vsock connections and flooding its console
#   bench-snapshot  Linux guest: restore vs cold boot to agent ready (in the
#                 nested test host where the CPU has no VT-x or AMD-V)
#   bench-firmware  Linux guest: OVMF vs direct boot, and vs QEMU q35 with
#                 the same OVMF (in the nested test host likewise, where
#                 QEMU's runs abort the emulator: docs/bench.md)

BENCH_RUNS ?= 20
QEMU_MICROVM := qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off \
	-cpu host,-arch-capabilities -enable-kvm -m 64 -smp 1 -nodefaults \
	-no-user-config -nographic -serial stdio \
	-device isa-debug-exit,iobase=0x501,iosize=1

.PHONY: bench bench-boot bench-blk bench-transport bench-vsock bench-agent \
	bench-api bench-load bench-snapshot bench-firmware
bench: bench-boot bench-blk bench-transport bench-vsock bench-agent bench-api \
	bench-load bench-snapshot bench-firmware

BENCH_UTIL := tests/bench/bench_util.c tests/bench/bench_util.h

$(BUILD)/bench-boot: tests/bench/boot.c $(BENCH_UTIL) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^)

bench-boot: $(BUILD)/vmm $(BUILD)/bench-boot bench-images | bench-deps
	@echo "== start-up: vmm vs QEMU microvm (guest writes a byte to COM1, then exits) =="
	$(BUILD)/bench-boot $(BENCH_RUNS) \
		vmm -- $(BUILD)/vmm --kernel $(BUILD)/images/bench-exit.elf \
			--memory 64 --cmdline "" \
		--- qemu-microvm -- $(QEMU_MICROVM) -bios $(BUILD)/images/bench-exit.bios

# The device benchmarks drive the devices with the unit tests' simulated
# virtio driver.
BENCH_BLK_IMAGE ?= $(BUILD)/bench-blk.img
BENCH_BLK_SECONDS ?= 2

$(BUILD)/bench-blk: $(BUILD)/obj/tests/bench/blk.o \
		$(BUILD)/obj/tests/unit/virtio_driver.o $(BUILD)/libvmm.a \
		$(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

BENCH_BLK_LIMIT_IOPS ?= 2000

bench-blk: $(BUILD)/bench-blk
	@echo "== virtio-blk: 4 KiB random I/O at queue depth 32, device path vs raw libaio; then rate-limited =="
	$(BUILD)/bench-blk --file $(BENCH_BLK_IMAGE) --seconds $(BENCH_BLK_SECONDS) \
		--limit-iops $(BENCH_BLK_LIMIT_IOPS)

BENCH_TRANSPORT_FILE ?= $(BUILD)/bench-transport.img
BENCH_TRANSPORT_SECONDS ?= 1

$(BUILD)/bench-transport: $(BUILD)/obj/tests/bench/transport.o \
		$(BUILD)/obj/tests/unit/virtio_driver.o \
		$(BUILD)/obj/tests/unit/echo_device.o $(BUILD)/libvmm.a \
		$(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

bench-transport: $(BUILD)/bench-transport
	@echo "== virtio transports: the device path per request, virtio-pci vs virtio-mmio =="
	$(BUILD)/bench-transport --file $(BENCH_TRANSPORT_FILE) \
		--seconds $(BENCH_TRANSPORT_SECONDS)

BENCH_VSOCK_MIB ?= 512

$(BUILD)/bench-vsock: $(BUILD)/obj/tests/bench/vsock.o \
		$(BUILD)/obj/tests/unit/virtio_driver.o \
		$(BUILD)/obj/tests/unit/vsock_driver.o $(BUILD)/libvmm.a \
		$(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

bench-vsock: $(BUILD)/bench-vsock
	@echo "== virtio-vsock: host to guest throughput, device path vs Unix socketpair =="
	$(BUILD)/bench-vsock --mib $(BENCH_VSOCK_MIB) --rx-buf 4096
	$(BUILD)/bench-vsock --mib $(BENCH_VSOCK_MIB) --rx-buf 65536

$(BUILD)/bench-agent: $(BUILD)/obj/tests/bench/agent.o $(BUILD)/libclient.a \
		$(BUILD)/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

bench-agent: $(BUILD)/bench-agent $(BUILD)/guest-agent
	$(BUILD)/bench-agent $(BUILD)/guest-agent

$(BUILD)/bench-api: tests/bench/api.c tests/bench/latency.c $(BENCH_UTIL) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) -lpthread

$(BUILD)/bench-load: tests/bench/load.c tests/bench/latency.c $(BENCH_UTIL) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) -lpthread

LOAD_BENCH_CONNS ?= 1024
LOAD_BENCH_CLIENTS ?= 256
LOAD_BENCH_REQUESTS ?= 20

bench-load: $(BUILD)/vmm $(BUILD)/bench-load test-images
	@echo "== control socket under load: InspectVM from $(LOAD_BENCH_CLIENTS) clients, idle guest vs $(LOAD_BENCH_CONNS) vsock connections and a console flood =="
	$(BUILD)/bench-load --vmm $(BUILD)/vmm \
		--kernel $(BUILD)/images/testguest.bzImage \
		--conns $(LOAD_BENCH_CONNS) --clients $(LOAD_BENCH_CLIENTS) \
		--requests $(LOAD_BENCH_REQUESTS)

API_BENCH_RUNS ?= 50
API_BENCH_REQUESTS ?= 2000

bench-api: $(BUILD)/vmm $(BUILD)/bench-api bench-images
	@echo "== control socket: start-up to socket ready, InspectVM latency =="
	$(BUILD)/bench-api --vmm $(BUILD)/vmm \
		--kernel $(BUILD)/images/bench-exit.elf \
		--runs $(API_BENCH_RUNS) --requests $(API_BENCH_REQUESTS)

# Static, so that it runs in the nested test host as it is.
$(BUILD)/bench-snapshot: tests/bench/snapshot.c $(BENCH_UTIL) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $(filter %.c,$^)

# The Linux image booted and restored side by side, through the Linux
# suite's runner (the group tests/linux/cases/bench_snapshot.sh), in the
# test host where it runs the suite. Five pairs of runs.
bench-snapshot: $(BUILD)/bench-snapshot
	@echo "== snapshot restore vs cold boot of the Linux image, to agent ready =="
	$(MAKE) --no-print-directory test-linux CASES=bench_snapshot

$(BUILD)/bench-firmware: tests/bench/firmware.c $(BENCH_UTIL) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $(filter %.c,$^)

# Debian's OVMF against direct boot and against QEMU's q35 with the same
# OVMF, through the Linux suite's runner (tests/linux/cases/
# bench_firmware.sh), in a test host that carries OVMF and QEMU.
bench-firmware: $(BUILD)/bench-firmware
	@echo "== UEFI boot (OVMF) vs direct boot, and vs QEMU q35 with the same OVMF, to the kernel and to /init =="
	$(MAKE) --no-print-directory test-linux CASES=bench_firmware \
		TESTHOST_FIRMWARE_BENCH=1
