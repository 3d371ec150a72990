// SPDX-License-Identifier: MIT
/* CPU exceptions: reported as a failure of the running check. */
#include "exception.h"
#include "image.h"
#include "io.h"
#include "serial.h"

#define NR_EXCEPTIONS 32
#define STUB_SIZE 16
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* One 16-byte stub per vector (entry.S). */
extern const uint8_t exception_stubs[];

/*
 * The IDT must live in memory, and a fault handler has no caller to pass it
 * state, so these two are the guest's only file-scope variables.
 */
static struct idt_gate idt[NR_EXCEPTIONS] __attribute__((aligned(16)));
static const char *current_check = "boot";

static const char *const names[NR_EXCEPTIONS] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

void exception_init(void)
{
	struct idt_ptr ptr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	unsigned int i;

	for (i = 0; i < NR_EXCEPTIONS; i++) {
		uint64_t handler =
			(uint64_t)(uintptr_t)(exception_stubs + i * STUB_SIZE);

		idt[i].offset_lo = (uint16_t)handler;
		idt[i].selector = TG_SEL_CODE64;
		idt[i].ist = 0;
		idt[i].attr = GATE_INTERRUPT;
		idt[i].offset_mid = (uint16_t)(handler >> 16);
		idt[i].offset_hi = (uint32_t)(handler >> 32);
		idt[i].reserved = 0;
	}
	asm volatile("lidt %0" : : "m"(ptr));
}

void exception_set_check(const char *name)
{
	current_check = name;
}

void exception_report(const struct exception_frame *f)
{
	uint64_t vec = f->vector < NR_EXCEPTIONS ? f->vector : 0;

	serial_printf("FAIL %s: CPU exception %s (vector %lu) at rip 0x%lx, error code 0x%lx, cr2 0x%lx\n",
		      current_check, names[vec], f->vector, f->rip, f->error,
		      read_cr2());
	guest_exit(1);
}
