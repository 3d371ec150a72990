// SPDX-License-Identifier: MIT
/*
 * --firmware and CreateVM's uefi config with a firmware image made here:
 * one firmware volume whose reset vector writes to its own flash, reads
 * the byte back and reports it on the debug-exit port. Debian's OVMF
 * itself runs in the Linux suite (tests/linux/cases/uefi.sh): this
 * machine's KVM emulator cannot run it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "harness.h"
#include "lib/util.h"
#include "vmm/api/rpc.h"

#define FW_SIZE (64 * 1024)
/* The first byte of the reset vector, which the guest reports back. */
#define FW_FIRST_BYTE 0xba

/*
 * At 0xfffffff0 (CS base 0xffff0000, IP 0xfff0, real mode):
 *   mov dx, 0x501; mov byte [cs:0xfff0], 0x55; mov al, [cs:0xfff0];
 *   out dx, al; hlt
 * The exit status is the byte at the reset vector when the flash is
 * read-only and where it belongs, 0x55 when the write stuck.
 */
static const uint8_t reset_vector[] = {
	FW_FIRST_BYTE, 0x01, 0x05,
	0x2e, 0xc6, 0x06, 0xf0, 0xff, 0x55,
	0x2e, 0xa0, 0xf0, 0xff,
	0xee,
	0xf4,
};

/* Where a longer program goes: 0xffffff00, CS:IP f000:ff00. */
#define FW_CODE_OFF 0x100
/* jmp near from 0xfff0 to 0xff00. */
static const uint8_t jump_to_code[] = { 0xe9, 0x0d, 0xff };

/*
 * A firmware image of @len bytes in a temporary file, one volume claiming
 * @claim bytes; @vector (NULL: blank) at the reset vector, @code (if any)
 * FW_CODE_OFF bytes before the end.
 */
static char *write_image(size_t len, uint64_t claim, const uint8_t *vector,
			 size_t vector_len, const uint8_t *code,
			 size_t code_len)
{
	char *path = strdup("/tmp/vmm-e2e-fw-XXXXXX");
	uint8_t *img = calloc(1, len);
	int fd = mkstemp(path);

	cr_assert(fd >= 0 && img);
	put_le64(img + 32, claim);
	memcpy(img + 40, "_FVH", 4);
	put_le16(img + 48, 72);
	if (vector)
		memcpy(img + len - 16, vector, vector_len);
	if (code)
		memcpy(img + len - FW_CODE_OFF, code, code_len);
	cr_assert_eq(write(fd, img, len), (ssize_t)len);
	close(fd);
	free(img);
	return path;
}

static char *write_firmware(size_t len, uint64_t claim, bool vector)
{
	return write_image(len, claim, vector ? reset_vector : NULL,
			   sizeof(reset_vector), NULL, 0);
}

/* Runs @code as firmware; returns the VMM's exit status. */
static int run_firmware_code(const uint8_t *code, size_t len,
			     const char *memory)
{
	char *fw = write_image(FW_SIZE, FW_SIZE, jump_to_code,
			       sizeof(jump_to_code), code, len);
	/* Errors only: not the note on hosts that emulate guest code. */
	const char *argv[] = { "--firmware", fw, "--serial", "none",
			       "--memory", memory, "--log-level", "error",
			       NULL };
	struct vmm_proc p;
	char *err;
	int status = vmm_run(&p, argv, 60);

	err = vmm_stderr(&p);
	cr_expect_str_empty(err, "stderr: %s", err);
	free(err);
	vmm_cleanup(&p);
	unlink(fw);
	free(fw);
	return status;
}

/* mov dx, 0x501; out dx, al; hlt: the program's verdict as exit status. */
#define EXIT_WITH_AL 0xba, 0x01, 0x05, 0xee, 0xf4

Test(uefi, firmware_finds_fw_cfg_lpc_and_cmos)
{
	/* Select the signature, read its first byte: 'Q'. */
	static const uint8_t fw_cfg[] = {
		0xba, 0x10, 0x05, 0x31, 0xc0, 0xef, /* mov dx,0x510; xor ax,ax; out dx,ax */
		0x42, 0xec,                         /* inc dx; in al,dx */
		EXIT_WITH_AL,
	};
	/* CONFIG_ADDRESS 00:1f.0 register 0, the device ID's low byte. */
	static const uint8_t lpc[] = {
		0x66, 0xb8, 0x00, 0xf8, 0x00, 0x80, /* mov eax,0x8000f800 */
		0xba, 0xf8, 0x0c, 0x66, 0xef,       /* mov dx,0xcf8; out dx,eax */
		0xba, 0xfe, 0x0c, 0xec,             /* mov dx,0xcfe; in al,dx */
		EXIT_WITH_AL,
	};
	/* CMOS 0x35: RAM above 16 MiB in 64 KiB units, high byte. */
	static const uint8_t cmos[] = {
		0xb0, 0x35, 0xe6, 0x70, 0xe4, 0x71, /* mov al,0x35; out 0x70,al; in al,0x71 */
		EXIT_WITH_AL,
	};

	cr_assert_eq(run_firmware_code(fw_cfg, sizeof(fw_cfg), "64"), 'Q');
	cr_assert_eq(run_firmware_code(lpc, sizeof(lpc), "64"), 0x18,
		     "ICH9 LPC 8086:2918");
	cr_assert_eq(run_firmware_code(cmos, sizeof(cmos), "64"),
		     (64 - 16) * 16 >> 8);
}

Test(uefi, firmware_runs_from_the_reset_vector_in_read_only_flash)
{
	char *fw = write_firmware(FW_SIZE, FW_SIZE, true);
	const char *argv[] = { "--firmware", fw, "--serial", "none",
			       "--cpus", "2", NULL };
	struct vmm_proc p;
	char *err;

	cr_assert_eq(vmm_run(&p, argv, 60), FW_FIRST_BYTE, "stderr: %s",
		     (err = vmm_stderr(&p)));
	vmm_cleanup(&p);
	unlink(fw);
	free(fw);
}

/* The VMM refuses @fw, naming it: "firmware PATH: @reason". */
static void expect_refusal(const char *fw, int status, const char *reason)
{
	const char *argv[] = { "--firmware", fw, "--serial", "none", NULL };
	char message[256];

	snprintf(message, sizeof(message), "firmware %s: %s", fw, reason);
	vmm_expect_refusal(argv, status, message);
}

Test(uefi, bad_firmware_files_are_refused_by_name)
{
	char *truncated = write_firmware(FW_SIZE, 4 * FW_SIZE, true);
	char *vars = write_firmware(FW_SIZE, FW_SIZE, false);
	char *text = write_firmware(FW_SIZE, FW_SIZE, true);
	FILE *f = fopen(text, "w");

	cr_assert(f);
	fputs("not firmware\n", f);
	fclose(f);
	expect_refusal("/nonexistent/OVMF.fd", 66, "No such file or directory");
	expect_refusal(truncated, 65, "truncated firmware image");
	expect_refusal(vars, 65, "not a bootable firmware image");
	expect_refusal(text, 65, "not a firmware image");
	unlink(truncated);
	unlink(vars);
	unlink(text);
	free(truncated);
	free(vars);
	free(text);
}

Test(uefi, create_vm_boots_the_uefi_config, .timeout = 120)
{
	char *fw = write_firmware(FW_SIZE, FW_SIZE, true);
	struct api_vmm v;
	struct json_object *r;
	char params[512];

	api_vmm_start(&v, NULL);
	snprintf(params, sizeof(params),
		 "{\"config\":{\"uefi\":{\"firmware_path\":\"%s\"}}}", fw);
	json_object_put(api_ok(&v, "CreateVM", params));
	r = api_ok(&v, "InspectVM", "{\"query\":\"config.uefi.firmware_path\"}");
	cr_assert_str_eq(jstr(r, "result"), fw);
	json_object_put(r);
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	json_object_put(api_ok(&v, "WaitVM", NULL));
	r = api_ok(&v, "InspectVM", "{\"query\":\"exit\"}");
	cr_assert_str_eq(jstr(r, "result.reason"), "guest_status");
	cr_assert_eq(jint(r, "result.status"), FW_FIRST_BYTE);
	json_object_put(r);
	json_object_put(api_ok(&v, "TeardownVM", NULL));
	/* A bad image is the caller's mistake, and says which. */
	api_fails(&v, "CreateVM",
		  "{\"config\":{\"uefi\":{\"firmware_path\":\"/etc/hostname\"}}}",
		  RPC_INVALID_PARAMS, "not a firmware image");
	api_vmm_quit(&v);
	unlink(fw);
	free(fw);
}

/*
 * The snapshot format holds no firmware platform: SnapshotVM refuses a
 * VM booted from firmware before it pauses it, and the VM runs on.
 */
Test(uefi, a_firmware_vm_is_refused_a_snapshot, .timeout = 120)
{
	/* cli; hlt; jmp back: a guest that stays up doing nothing. */
	static const uint8_t halt_forever[] = { 0xfa, 0xf4, 0xeb, 0xfd };
	char *fw = write_image(FW_SIZE, FW_SIZE, halt_forever,
			       sizeof(halt_forever), NULL, 0);
	struct json_object *r;
	char params[512];
	struct api_vmm v;

	api_vmm_start(&v, NULL);
	snprintf(params, sizeof(params),
		 "{\"config\":{\"uefi\":{\"firmware_path\":\"%s\"}}}", fw);
	json_object_put(api_ok(&v, "CreateVM", params));
	json_object_put(api_ok(&v, "ResumeVM", NULL));
	snprintf(params, sizeof(params), "{\"directory\":\"%s\"}",
		 api_path(&v, "snap"));
	api_fails(&v, "SnapshotVM", params, RPC_UNSUPPORTED,
		  "a VM booted with --firmware cannot be snapshotted");
	r = api_ok(&v, "InspectVM", NULL);
	cr_assert_str_eq(jstr(r, "result.state"), "running");
	json_object_put(r);
	api_vmm_quit(&v);
	unlink(fw);
	free(fw);
}
