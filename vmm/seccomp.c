// SPDX-License-Identifier: MIT
/*
 * Building and installing the per-thread seccomp filters (see seccomp.h).
 *
 * libseccomp compiles each table set into a BPF program once, at start;
 * a thread installs its program with two system calls (prctl and
 * seccomp), so a vCPU thread started under another filter needs nothing
 * else from it.
 */
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/term.h"
#include "seccomp_rules.h"

/* [nr] = "name", generated from <sys/syscall.h> at build time. */
static const char *const syscall_names[] = {
#include "syscall_names.h"
};

const char *seccomp_syscall_name(long nr)
{
	if (nr >= 0 && (unsigned long)nr < ARRAY_SIZE(syscall_names) &&
	    syscall_names[nr])
		return syscall_names[nr];
	return "unknown";
}

static const char *const mode_names[] = {
	[SECCOMP_MODE_OFF] = "off",
	[SECCOMP_MODE_LOG] = "log",
	[SECCOMP_MODE_KILL] = "kill",
};

const char *seccomp_mode_name(enum seccomp_mode mode)
{
	return mode_names[mode];
}

int seccomp_mode_parse(const char *s, enum seccomp_mode *mode, struct err *e)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(mode_names); i++) {
		if (!strcmp(s, mode_names[i])) {
			*mode = (enum seccomp_mode)i;
			return 0;
		}
	}
	return err_set(e, "'%s' is not off, log or kill", s);
}

/* ---- the SIGSYS handler: async-signal-safe, no allocation ---- */

struct line {
	char buf[256];
	size_t len;
};

static void put_str(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, long v)
{
	char digits[24];
	int n = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(digits));
	if (v < 0)
		put_str(l, "-");
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--n];
}

static void seccomp_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	struct line l = { .len = 0 };
	char thread[17] = "";

	(void)sig, (void)ucontext;
	prctl(PR_GET_NAME, thread);
	put_str(&l, "vmm: error: seccomp: thread '");
	put_str(&l, thread);
	put_str(&l, "' made system call ");
	put_num(&l, si->si_syscall);
	put_str(&l, " (");
	put_str(&l, si->si_arch == AUDIT_ARCH_X86_64 ||
			    si->si_arch == AUDIT_ARCH_AARCH64 ?
		    seccomp_syscall_name(si->si_syscall) :
		    "of another ABI");
	put_str(&l, "), which its filter forbids; stopping\n");
	if (write(STDERR_FILENO, l.buf, l.len) < 0) {
		/* Nowhere else to say it. */
	}
	term_restore();
	_exit(SECCOMP_EXIT_STATUS);
}

static int install_handler(struct err *e)
{
	struct sigaction sa = {
		.sa_sigaction = seccomp_sigsys,
		.sa_flags = SA_SIGINFO,
	};

	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_errno(e, "seccomp: installing the SIGSYS handler");
	return 0;
}

/* ---- compiling ---- */

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r,
		    struct err *e)
{
	uint32_t action = r->err ? SCMP_ACT_ERRNO((uint32_t)r->err) :
				   SCMP_ACT_ALLOW;
	struct scmp_arg_cmp cmp;
	int ret;

	if (r->arg < 0) {
		ret = seccomp_rule_add(ctx, action, r->nr, 0);
	} else {
		cmp = (struct scmp_arg_cmp){
			.arg = (unsigned int)r->arg,
			.op = SCMP_CMP_MASKED_EQ,
			.datum_a = r->mask,
			.datum_b = r->own_pid ? (uint64_t)getpid() : r->val,
		};
		ret = seccomp_rule_add_array(ctx, action, r->nr, 1, &cmp);
	}
	if (ret < 0) {
		errno = -ret;
		return err_errno(e, "seccomp: a rule for system call %d (%s)",
				 r->nr, seccomp_syscall_name(r->nr));
	}
	return 0;
}

/* Reads back what libseccomp exported into @fd. */
static int read_prog(int fd, struct seccomp_prog *p, struct err *e)
{
	off_t size = lseek(fd, 0, SEEK_END);

	if (size <= 0 || size % sizeof(struct sock_filter) ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return err_set(e, "seccomp: the filter is %lld bytes",
			       (long long)size);
	p->insns = malloc((size_t)size);
	if (!p->insns)
		return err_set(e, "seccomp: out of memory");
	if (pread(fd, p->insns, (size_t)size, 0) != size) {
		free(p->insns);
		p->insns = NULL;
		return err_errno(e, "seccomp: reading the filter back");
	}
	p->len = (unsigned short)(size / sizeof(struct sock_filter));
	return 0;
}

static int compile(enum seccomp_thread t, enum seccomp_mode mode,
		   struct seccomp_prog *p, struct err *e)
{
	uint32_t deny = mode == SECCOMP_MODE_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	const struct seccomp_table *tables;
	unsigned int n = seccomp_rules_for(t, &tables);
	scmp_filter_ctx ctx = seccomp_init(deny);
	int fd = -1, ret = -1;

	if (!ctx)
		return err_set(e, "seccomp: libseccomp could not start a filter");
	/* NO_NEW_PRIVS is set by whoever installs the program. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny) < 0) {
		err_set(e, "seccomp: setting the filter's attributes");
		goto out;
	}
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = 0; j < tables[i].len; j++)
			if (add_rule(ctx, &tables[i].rules[j], e) < 0)
				goto out;
	fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		err_errno(e, "seccomp: memfd_create");
		goto out;
	}
	if (seccomp_export_bpf(ctx, fd) < 0) {
		err_set(e, "seccomp: libseccomp could not compile the filter");
		goto out;
	}
	ret = read_prog(fd, p, e);
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ret;
}

int seccomp_filters_build(struct seccomp_filters *f, enum seccomp_mode mode,
			  struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	if (mode == SECCOMP_MODE_OFF)
		return 0;
	if (install_handler(e) < 0)
		return -1;
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		if (compile((enum seccomp_thread)t, mode, &f->prog[t], e) < 0) {
			seccomp_filters_free(f);
			return -1;
		}
	}
	return 0;
}

void seccomp_filters_free(struct seccomp_filters *f)
{
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		free(f->prog[t].insns);
		f->prog[t].insns = NULL;
	}
}

int seccomp_filters_apply(const struct seccomp_filters *f,
			  enum seccomp_thread t, struct err *e)
{
	struct sock_fprog prog = {
		.len = f->prog[t].len,
		.filter = f->prog[t].insns,
	};

	if (f->mode == SECCOMP_MODE_OFF)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(e, "seccomp: PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(e, "seccomp: installing the filter");
	return 0;
}
