// SPDX-License-Identifier: MIT
#include "guest-agent/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest-agent/user.h"

extern char **environ;

enum spawn_stage { ST_SETUP, ST_PTY, ST_GROUPS, ST_GID, ST_UID, ST_CHDIR, ST_EXEC };

static const char *const stage_what[] = {
	[ST_SETUP] = "setting up stdio",
	[ST_PTY] = "opening the terminal",
	[ST_GROUPS] = "setting supplementary groups",
	[ST_GID] = "setting the group id",
	[ST_UID] = "setting the user id",
	[ST_CHDIR] = "changing to the working directory",
	[ST_EXEC] = "executing",
};

struct spawn_report {
	int stage;
	int err;
};

int wait_status_exit_code(int status, int *signal)
{
	*signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool env_has(char **env, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			return true;
	return false;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	return n;
}

/* Replaces or appends KEY=VALUE; @kv is borrowed, not copied. */
static void env_put(char **env, size_t *n, char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++) {
		if (!strncmp(env[i], kv, klen) && env[i][klen] == '=') {
			env[i] = kv;
			return;
		}
	}
	env[(*n)++] = kv;
}

/*
 * The environment: the agent's own, then the request's variables, then
 * defaults for what a login would set. Strings in @owned are freed later.
 */
static char **build_env(const struct spawn_opts *o, const struct user_ids *u,
			char **owned, size_t *nowned)
{
	size_t cap = 8, n = 0;
	char **env;

	for (char **p = environ; *p; p++)
		cap++;
	for (char *const *p = o->env; p && *p; p++)
		cap++;
	env = calloc(cap, sizeof(*env));
	if (!env)
		return NULL;
	for (char **p = environ; *p; p++)
		env[n++] = *p;
	for (char *const *p = o->env; p && *p; p++)
		env_put(env, &n, *p);
	if (!env_has(env, n, "PATH"))
		env[n++] = "PATH=" DEFAULT_PATH;
	if (o->pty && !env_has(env, n, "TERM"))
		env[n++] = "TERM=xterm";
	if (u && u->known) {
		const char *names[] = { "HOME", "USER", "LOGNAME" };
		const char *vals[] = { u->home, u->name, u->name };

		for (int i = 0; i < 3; i++) {
			char *kv;

			if (o->env && env_has((char **)o->env,
					      strv_len(o->env), names[i]))
				continue;
			if (asprintf(&kv, "%s=%s", names[i], vals[i]) < 0)
				continue;
			owned[(*nowned)++] = kv;
			env_put(env, &n, kv);
		}
	}
	env[n] = NULL;
	return env;
}

static const char *env_path(char **env)
{
	for (char **p = env; *p; p++)
		if (!strncmp(*p, "PATH=", 5))
			return *p + 5;
	return DEFAULT_PATH;
}

/* Runs in the child: async-signal-safe calls only. */
static void child_exec(char *const *argv, char **env)
{
	const char *path = env_path(env);
	int saved = ENOENT;
	char buf[4096];

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, env);
		return;
	}
	while (*path) {
		const char *end = path;
		size_t dl, fl = strlen(argv[0]);

		while (*end && *end != ':')
			end++;
		dl = (size_t)(end - path);
		if (dl + fl + 2 <= sizeof(buf)) {
			memcpy(buf, path, dl);
			if (!dl)
				buf[dl++] = '.';
			buf[dl] = '/';
			memcpy(buf + dl + 1, argv[0], fl + 1);
			execve(buf, argv, env);
			if (errno != ENOENT && errno != ENOTDIR)
				saved = errno;
		}
		path = *end ? end + 1 : end;
	}
	errno = saved;
}

static void __attribute__((noreturn))
child_fail(int report_fd, int stage)
{
	struct spawn_report rep = { .stage = stage, .err = errno };

	if (write(report_fd, &rep, sizeof(rep)) < 0)
		_exit(127);
	_exit(127);
}

struct child_fds {
	int in, out, err;	/* child ends */
	const char *pty_name;
	const struct user_ids *user;
};

static void __attribute__((noreturn))
child_main(const struct spawn_opts *o, const struct child_fds *f,
	   char *const *argv, char **env, int report_fd)
{
	sigset_t none;

	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		child_fail(report_fd, ST_SETUP);
	if (f->pty_name) {
		int slave = open(f->pty_name, O_RDWR);

		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			child_fail(report_fd, ST_PTY);
		if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 ||
		    dup2(slave, 2) < 0)
			child_fail(report_fd, ST_PTY);
		if (slave > 2)
			close(slave);
	} else {
		if (dup2(f->in, 0) < 0 || dup2(f->out, 1) < 0 ||
		    dup2(f->err, 2) < 0)
			child_fail(report_fd, ST_SETUP);
	}
	if (f->user) {
		if (setgroups((size_t)f->user->ngroups, f->user->groups) < 0)
			child_fail(report_fd, ST_GROUPS);
		if (setgid(f->user->gid) < 0)
			child_fail(report_fd, ST_GID);
		if (setuid(f->user->uid) < 0)
			child_fail(report_fd, ST_UID);
	}
	if (o->working_dir && o->working_dir[0] && chdir(o->working_dir) < 0)
		child_fail(report_fd, ST_CHDIR);
	child_exec(argv, env);
	child_fail(report_fd, ST_EXEC);
}

static int open_pipe(int fds[2], bool parent_reads)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	return set_nonblock_fd(fds[parent_reads ? 0 : 1]);
}

int set_nonblock_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static int open_pty(const struct spawn_opts *o, int *master, char *name,
		    size_t len, struct err *e)
{
	struct winsize ws = { .ws_row = o->rows, .ws_col = o->cols };
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, "opening a pseudo-terminal");
	if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, name, len)) {
		err_errno(e, "preparing the pseudo-terminal");
		close(fd);
		return -1;
	}
	if (!ws.ws_row)
		ws.ws_row = 24;
	if (!ws.ws_col)
		ws.ws_col = 80;
	ioctl(fd, TIOCSWINSZ, &ws);
	if (set_nonblock_fd(fd) < 0) {
		err_errno(e, "pseudo-terminal");
		close(fd);
		return -1;
	}
	*master = fd;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reads the child's report: 0 once exec succeeded (EOF), -1 with @e set. */
static int spawn_wait_report(int fd, pid_t pid, const struct spawn_opts *o,
			     const char *prog, struct spawn_result *r,
			     struct err *e)
{
	struct spawn_report rep;
	ssize_t n;
	int status;

	do
		n = read(fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		return 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	errno = rep.err;
	r->exit_code = 1;
	if (rep.stage == ST_EXEC) {
		r->launch_failed = true;
		r->exit_code = rep.err == ENOENT ? 127 : 126;
		return err_errno(e, "cannot execute \"%s\"", prog);
	}
	if (rep.stage == ST_CHDIR)
		return err_errno(e, "working directory \"%s\"", o->working_dir);
	if (rep.stage >= ST_GROUPS) {
		r->launch_failed = true;
		r->exit_code = 127;
	}
	return err_errno(e, "%s for \"%s\"",
			 stage_what[rep.stage], prog);
}

int spawn_process(const struct spawn_opts *o, struct spawn_result *r,
		  struct err *e)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int report[2] = { -1, -1 }, devnull = -1;
	char pty_name[64];
	char *shell_argv[] = { "/bin/sh", "-c", (char *)o->command_line, NULL };
	char *const *argv = o->argv ? o->argv : shell_argv;
	char *owned[3];
	size_t nowned = 0;
	char **env = NULL;
	struct user_ids user, *up = NULL;
	struct child_fds cf = { -1, -1, -1, NULL, NULL };
	pid_t pid;
	int ret = -1;

	*r = (struct spawn_result){ -1, -1, -1, -1, -1, false, 1 };
	if (o->user && o->user[0]) {
		if (user_resolve(o->user, o->passwd_file, o->group_file, &user,
				 e) < 0) {
			r->launch_failed = true;
			r->exit_code = 127;
			return -1;
		}
		up = &user;
	}
	env = build_env(o, up, owned, &nowned);
	if (!env)
		return err_set(e, "out of memory");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		err_errno(e, "/dev/null");
		goto out;
	}
	if (o->pty) {
		if (open_pty(o, &r->pty_fd, pty_name, sizeof(pty_name), e) < 0)
			goto out;
		cf.pty_name = pty_name;
	} else {
		if ((o->pipe_stdin && open_pipe(in, false) < 0) ||
		    (o->pipe_stdout && open_pipe(out, true) < 0) ||
		    (o->pipe_stderr && open_pipe(errp, true) < 0)) {
			err_errno(e, "creating pipes");
			goto out;
		}
		cf.in = o->pipe_stdin ? in[0] : devnull;
		cf.out = o->pipe_stdout ? out[1] : devnull;
		cf.err = o->pipe_stderr ? errp[1] : devnull;
	}
	cf.user = up;
	if (pipe2(report, O_CLOEXEC) < 0) {
		err_errno(e, "creating pipes");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err_errno(e, "fork");
		goto out;
	}
	if (pid == 0) {
		close(report[0]);
		child_main(o, &cf, argv, env, report[1]);
	}
	close_fd(&report[1]);
	if (spawn_wait_report(report[0], pid, o, argv[0], r, e) < 0)
		goto out;
	r->pid = pid;
	r->in_fd = in[1];
	r->out_fd = out[0];
	r->err_fd = errp[0];
	in[1] = out[0] = errp[0] = -1;
	ret = 0;
out:
	if (ret < 0)
		close_fd(&r->pty_fd);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&report[0]);
	close_fd(&report[1]);
	close_fd(&devnull);
	while (nowned)
		free(owned[--nowned]);
	free(env);
	return ret;
}
