// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: bytes as a snapshot's state file. state_open() must
 * refuse or accept without reading outside them; what it accepts is read
 * as a restore reads it (the config under its rules, the vCPU and device
 * sections field by field), and a config that loads must write back into
 * a state that loads into the same config.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot.h"
#include "vmm/state.h"

/* Reads every field a section could hold, whatever its kind. */
static void read_fields(const struct state_section *s)
{
	static const char *const names[] = {
		"id", "name", "status", "isr", "config", "regs", "msrs",
		"size", "desc", "rx", "kind", "path",
	};
	const uint8_t *blob;
	uint64_t u;
	uint32_t len;
	char *str;
	struct err e;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		state_get_u64(s, names[i], &u, &e);
		if (state_get_str(s, names[i], &str, 4096, &e) == 0)
			free(str);
		state_get_blob(s, names[i], &blob, &len, 1 << 20, &e);
	}
}

static void round_trip(const struct vm_config *cfg)
{
	struct state_section root, c;
	struct state_writer w;
	struct vm_config back;
	const uint8_t *buf;
	size_t len;
	struct err e;

	state_writer_init(&w);
	snapshot_config_save(&w, cfg);
	if (state_finish(&w, &buf, &len, &e) < 0 ||
	    state_open(buf, len, &root, &e) < 0 ||
	    state_get_section(&root, "config", &c, &e) < 0 ||
	    snapshot_config_load(&c, &back, &e) < 0)
		abort();
	if (back.mem_mib != cfg->mem_mib || back.nr_cpus != cfg->nr_cpus ||
	    back.nr_disks != cfg->nr_disks || back.nr_nets != cfg->nr_nets ||
	    back.vsock.nr_listeners != cfg->vsock.nr_listeners ||
	    strcmp(back.kernel, cfg->kernel))
		abort();
	vm_config_free(&back);
	state_writer_free(&w);
}

/*
 * The checksums would stop nearly every mutation at the door: they are
 * checked on the input as it is, then fixed, so the records behind them
 * are what gets fuzzed.
 */
static uint8_t *resealed(const uint8_t *data, size_t size)
{
	uint8_t *f = malloc(size);

	memcpy(f, data, size);
	put_le64(f + 16, size - STATE_HEADER_SIZE);
	put_le32(f + 24, state_crc32c(f + STATE_HEADER_SIZE,
				      size - STATE_HEADER_SIZE));
	put_le32(f + 28, state_crc32c(f, 28));
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_section root, sub;
	struct vm_config cfg;
	const char *repeated[] = { "vcpu", "device", "queue" };
	struct err e;
	uint8_t *f;

	state_open(data, size, &root, &e);
	if (size < STATE_HEADER_SIZE)
		return 0;
	f = resealed(data, size);
	if (state_open(f, size, &root, &e) < 0) {
		free(f);
		return 0;
	}
	read_fields(&root);
	for (size_t k = 0; k < 3; k++) {
		size_t pos = 0;

		while (state_next(&root, repeated[k], &pos, &sub) > 0)
			read_fields(&sub);
	}
	if (state_get_section(&root, "config", &sub, &e) == 0 &&
	    snapshot_config_load(&sub, &cfg, &e) == 0) {
		round_trip(&cfg);
		vm_config_free(&cfg);
	}
	free(f);
	return 0;
}
