// SPDX-License-Identifier: MIT
/*
 * The seccomp filters, installed in a child process as the VMM installs
 * them: every filter compiles, a call outside a thread's allow-list ends
 * the process with status 159 and a log line naming the thread and the
 * call, arguments are checked (Unix sockets only), and log mode lets the
 * call through. Forbidden calls are made only here, in the test binary.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/seccomp.h"

typedef void (*child_fn)(void);

struct outcome {
	int status; /* exit status, or 128 + signal */
	bool signalled;
	char log[1024];
};

/* Runs @fn in a child under @t's filter in @mode; what became of it. */
static struct outcome run_confined(enum seccomp_mode mode,
				   enum seccomp_thread t, child_fn fn)
{
	struct outcome o = { .status = -1 };
	struct seccomp_filters f;
	struct err e;
	int pipefd[2], st;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		prctl(PR_SET_NAME, "confined");
		if (seccomp_filters_build(&f, mode, &e) < 0 ||
		    seccomp_filters_apply(&f, t, &e) < 0) {
			dprintf(STDERR_FILENO, "%s\n", e.msg);
			_exit(100);
		}
		fn();
		_exit(0);
	}
	close(pipefd[1]);
	while (len < sizeof(o.log) - 1 &&
	       (n = read(pipefd[0], o.log + len, sizeof(o.log) - 1 - len)) > 0)
		len += (size_t)n;
	o.log[len] = '\0';
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	o.signalled = WIFSIGNALED(st);
	return o;
}

static void do_execve(void)
{
	char *const argv[] = { "true", NULL };

	execve("/bin/true", argv, NULL);
	_exit(1);
}

static void do_inet_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	_exit(fd >= 0 ? 0 : 2);
}

static void do_unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	_exit(fd >= 0 ? 0 : 2);
}

Test(seccomp, every_filter_compiles)
{
	struct seccomp_filters f;
	struct err e;

	for (int mode = SECCOMP_MODE_LOG; mode <= SECCOMP_MODE_KILL; mode++) {
		cr_assert_eq(seccomp_filters_build(&f, (enum seccomp_mode)mode,
						   &e), 0, "%s", e.msg);
		for (int t = 0; t < SECCOMP_NR_THREADS; t++)
			cr_assert_gt(f.prog[t].len, 0);
		seccomp_filters_free(&f);
	}
	cr_assert_eq(seccomp_filters_build(&f, SECCOMP_MODE_OFF, &e), 0);
	cr_assert_null(f.prog[SECCOMP_THREAD_LOOP].insns);
}

Test(seccomp, a_forbidden_call_is_fatal_and_named)
{
	struct outcome o = run_confined(SECCOMP_MODE_KILL, SECCOMP_THREAD_LOOP,
					do_execve);

	cr_assert_eq(o.status, SECCOMP_EXIT_STATUS, "status %d, log: %s",
		     o.status, o.log);
	cr_assert_not(o.signalled);
	cr_assert(strstr(o.log, "seccomp: thread 'confined' made system call 59 (execve), which its filter forbids"),
		  "log: %s", o.log);
}

Test(seccomp, the_event_loop_may_make_unix_sockets_only)
{
	struct outcome o = run_confined(SECCOMP_MODE_KILL, SECCOMP_THREAD_LOOP,
					do_unix_socket);

	cr_assert_eq(o.status, 0, "status %d, log: %s", o.status, o.log);
	o = run_confined(SECCOMP_MODE_KILL, SECCOMP_THREAD_LOOP,
			 do_inet_socket);
	cr_assert_eq(o.status, SECCOMP_EXIT_STATUS, "log: %s", o.log);
	cr_assert(strstr(o.log, "(socket)"), "log: %s", o.log);
}

Test(seccomp, vcpu_threads_make_no_sockets)
{
	struct outcome o = run_confined(SECCOMP_MODE_KILL, SECCOMP_THREAD_VCPU,
					do_unix_socket);

	cr_assert_eq(o.status, SECCOMP_EXIT_STATUS, "log: %s", o.log);
	cr_assert(strstr(o.log, "(socket)"), "log: %s", o.log);
}

static void *vcpu_like(void *arg)
{
	(void)arg;
	do_unix_socket();
	return NULL;
}

/* A thread started under the control socket's filter keeps it. */
static void do_thread_socket(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, vcpu_like, NULL) == 0)
		pthread_join(t, NULL);
	_exit(3);
}

Test(seccomp, threads_inherit_the_filter_they_start_under)
{
	struct outcome o = run_confined(SECCOMP_MODE_KILL,
					SECCOMP_THREAD_LOOP_API,
					do_thread_socket);

	/* The socket is allowed; the thread's _exit() ends the child. */
	cr_assert_eq(o.status, 0, "status %d, log: %s", o.status, o.log);
	/*
	 * Without it, starting the thread is fatal. The C library blocks
	 * signals while it clones, so the kernel kills with SIGSYS itself
	 * (128 + 31, the same status) instead of running the handler.
	 */
	o = run_confined(SECCOMP_MODE_KILL, SECCOMP_THREAD_LOOP,
			 do_thread_socket);
	cr_assert_eq(o.status, SECCOMP_EXIT_STATUS, "status %d, log: %s",
		     o.status, o.log);
	cr_assert(o.signalled || strstr(o.log, "(clone"), "log: %s", o.log);
}

Test(seccomp, log_mode_lets_the_call_through)
{
	struct outcome o = run_confined(SECCOMP_MODE_LOG, SECCOMP_THREAD_LOOP,
					do_inet_socket);

	cr_assert_eq(o.status, 0, "status %d, log: %s", o.status, o.log);
}

Test(seccomp, modes_and_names)
{
	enum seccomp_mode m;
	struct err e;

	cr_assert_eq(seccomp_mode_parse("log", &m, &e), 0);
	cr_assert_eq(m, SECCOMP_MODE_LOG);
	cr_assert_eq(seccomp_mode_parse("strict", &m, &e), -1);
	cr_assert_str_eq(e.msg, "'strict' is not off, log or kill");
	cr_assert_str_eq(seccomp_mode_name(SECCOMP_MODE_KILL), "kill");
	cr_assert_str_eq(seccomp_syscall_name(SYS_read), "read");
	cr_assert_str_eq(seccomp_syscall_name(SYS_execve), "execve");
	cr_assert_str_eq(seccomp_syscall_name(100000), "unknown");
}
