# SPDX-License-Identifier: MIT
# The vsock benchmark: host-to-guest throughput through the virtio-vsock
# device (driven by the unit tests' simulated driver) against a plain Unix
# socket pair, the same bytes each way, in one run.

BENCH_VSOCK_MIB ?= 512

$(BUILD)/bench-vsock: tools/bench/vsock.c $(BUILD)/obj/tests/unit/virtio_driver.o \
		$(BUILD)/obj/tests/unit/vsock_driver.o $(BUILD)/libvmm.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $^ $(VMM_LIBS)

.PHONY: bench-vsock
bench-vsock: $(BUILD)/bench-vsock
	@echo "== virtio-vsock: host to guest throughput, device path vs Unix socketpair =="
	$(BUILD)/bench-vsock --mib $(BENCH_VSOCK_MIB) --rx-buf 4096
	$(BUILD)/bench-vsock --mib $(BENCH_VSOCK_MIB) --rx-buf 65536

BENCH_TARGETS += bench-vsock
