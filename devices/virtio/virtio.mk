# SPDX-License-Identifier: MIT
# virtio devices: virtio-blk runs on Linux native AIO, and the blk benchmark
# (the device driven by the unit tests' simulated driver vs raw libaio).

VMM_LIBS += -laio

BENCH_BLK_IMAGE ?= $(BUILD)/bench-blk.img
BENCH_BLK_SECONDS ?= 2

$(BUILD)/bench-blk: tools/bench/blk.c $(BUILD)/obj/tests/unit/virtio_driver.o \
		$(BUILD)/libvmm.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $^ $(VMM_LIBS)

.PHONY: bench-blk
bench-blk: $(BUILD)/bench-blk
	@echo "== virtio-blk: 4 KiB random I/O at queue depth 32, device path vs raw libaio =="
	$(BUILD)/bench-blk --file $(BENCH_BLK_IMAGE) --seconds $(BENCH_BLK_SECONDS)

BENCH_TARGETS += bench-blk
