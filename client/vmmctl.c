// SPDX-License-Identifier: MIT
/*
 * vmmctl: the host-side command-line client. Each subcommand is one entry
 * of the table in main().
 *
 *   vmmctl exec --vsock-uds PATH [--port 5000] [-t | -m MODE] [--] CMD [ARGS...]
 *   vmmctl exec --unix PATH ...
 *   vmmctl port-forward --vsock-uds PATH LOCAL:GUEST
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "client/ctl_api.h"
#include "client/exec_client.h"
#include "client/port_forward.h"

struct raw_tty {
	int fd;
	bool active;
	struct termios saved;
};

static int tty_raw(struct raw_tty *t, int fd)
{
	struct termios raw;

	t->fd = fd;
	t->active = false;
	if (tcgetattr(fd, &t->saved) < 0)
		return -1;
	raw = t->saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSAFLUSH, &raw) < 0)
		return -1;
	t->active = true;
	return 0;
}

static void tty_restore(struct raw_tty *t)
{
	if (t->active)
		tcsetattr(t->fd, TCSAFLUSH, &t->saved);
	t->active = false;
}

static void exec_usage(FILE *f)
{
	fprintf(f,
"usage: vmmctl exec (--vsock-uds PATH [--port PORT] | --unix PATH)\n"
"                   [-t | -m MODE] [-e KEY=VALUE]... [-w DIR] [-u USER]\n"
"                   [--] CMD [ARGS...]\n"
"  --vsock-uds PATH  the VMM's vsock Unix socket (CONNECT PORT handshake)\n"
"  --port PORT       the agent's exec port in the guest (default %u)\n"
"  --unix PATH       an agent listening on a plain Unix socket\n"
"  -t, --tty         run in a pseudo-terminal; the local terminal goes raw\n"
"  -m, --mode MODE   pipe (default: stdin streamed, signals forwarded),\n"
"                    stream (output as it comes, no stdin) or buffered\n"
"                    (output once the command ended, no stdin)\n"
"  -e, --env K=V     set an environment variable (repeatable)\n"
"  -w, --workdir DIR working directory in the guest\n"
"  -u, --user USER   uid, uid:gid or user name in the guest\n"
"A single CMD is a command line run by the guest's /bin/sh -c; with ARGS\n"
"the program CMD runs with those arguments. The exit status is the\n"
"command's (128 + N when signal N ended it).\n", EXEC_PORT_DEFAULT);
}

/* Returns the connected fd, or -1 after printing why. */
static int exec_connect(const char *uds, const char *unix_path, uint32_t port)
{
	struct err e = { "" };
	int fd = unix_path ? exec_dial_unix(unix_path, &e) :
			     exec_dial_vsock_uds(uds, port, &e);

	if (fd < 0)
		fprintf(stderr, "vmmctl: exec: %s\n", e.msg);
	return fd;
}

/* The exec protocol's request types, by the name -m takes. */
static const struct {
	const char *name;
	uint8_t type;
} exec_modes[] = {
	{ "pipe", FRAME_EXEC_PIPE },
	{ "stream", FRAME_EXEC_STREAM },
	{ "buffered", FRAME_EXEC },
};

static int exec_mode(const char *name, uint8_t *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(exec_modes); i++) {
		if (!strcmp(name, exec_modes[i].name)) {
			*type = exec_modes[i].type;
			return 0;
		}
	}
	fprintf(stderr, "vmmctl: exec: unknown mode \"%s\" (pipe, stream or "
		"buffered)\n", name);
	return -1;
}

/* Exec and ExecStream: one request, output to our stdout and stderr. */
static int exec_once(struct exec_stream *s, uint8_t type,
		     const struct exec_request *req)
{
	struct exec_result res;
	struct err e = { "" };
	int code;

	if (exec_run_fds(s, type, req, &res, 1, 2, &e) < 0) {
		fprintf(stderr, "vmmctl: exec: %s\n", e.msg);
		return 255;
	}
	if (res.error && res.error[0])
		fprintf(stderr, "vmmctl: exec: %s\n", res.error);
	code = res.exit_code;
	exec_result_free(&res);
	return code & 0xff;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vsock-uds", required_argument, NULL, 'V' },
		{ "port", required_argument, NULL, 'p' },
		{ "unix", required_argument, NULL, 'U' },
		{ "tty", no_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *uds = NULL, *unix_path = NULL;
	struct exec_request req = { 0 };
	char *envv[256];
	size_t nenv = 0;
	unsigned long port = EXEC_PORT_DEFAULT;
	bool tty = false;
	uint8_t mode = FRAME_EXEC_PIPE;
	struct exec_stream s;
	struct exec_session_io io = { 0, 1, 2, -1, -1 };
	struct raw_tty raw = { .active = false };
	sigset_t sigs;
	struct err e = { "" };
	int opt, fd, code = 255;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+tm:e:w:u:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'V':
			uds = optarg;
			break;
		case 'U':
			unix_path = optarg;
			break;
		case 'p': {
			char *end;

			errno = 0;
			port = strtoul(optarg, &end, 0);
			if (errno || *end || !*optarg || port > UINT32_MAX) {
				fprintf(stderr, "vmmctl: exec: invalid port "
					"\"%s\"\n", optarg);
				return 2;
			}
			break;
		}
		case 't':
			tty = true;
			break;
		case 'm':
			if (exec_mode(optarg, &mode) < 0)
				return 2;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=' ||
			    nenv + 1 >= ARRAY_SIZE(envv)) {
				fprintf(stderr, "vmmctl: exec: -e wants KEY=VALUE, "
					"got \"%s\"\n", optarg);
				return 2;
			}
			envv[nenv++] = optarg;
			break;
		case 'w':
			req.working_dir = optarg;
			break;
		case 'u':
			req.user = optarg;
			break;
		case 'h':
			exec_usage(stdout);
			return 0;
		default:
			exec_usage(stderr);
			return 2;
		}
	}
	if (!!uds == !!unix_path || optind >= argc) {
		fprintf(stderr, "vmmctl: exec: %s\n", optind >= argc ?
			"no command given" :
			"give exactly one of --vsock-uds and --unix");
		exec_usage(stderr);
		return 2;
	}
	if (tty && mode != FRAME_EXEC_PIPE) {
		fprintf(stderr, "vmmctl: exec: -t runs an interactive session; "
			"it does not combine with --mode stream or buffered\n");
		return 2;
	}
	envv[nenv] = NULL;
	req.command = argv[optind];
	req.args = optind + 1 < argc ? argv + optind + 1 : NULL;
	req.nargs = (size_t)(argc - optind - 1);
	req.env = nenv ? envv : NULL;
	req.nenv = nenv;

	fd = exec_connect(uds, unix_path, (uint32_t)port);
	if (fd < 0)
		return 255;
	exec_stream_init(&s, fd);
	if (mode != FRAME_EXEC_PIPE) {
		signal(SIGPIPE, SIG_IGN);
		code = exec_once(&s, mode, &req);
		exec_stream_close(&s);
		return code;
	}

	/* Signals become messages to the guest, read from a signalfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGWINCH);
	if (!tty) {
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGHUP);
		sigaddset(&sigs, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	io.sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	if (tty) {
		struct winsize ws = { .ws_row = 24, .ws_col = 80 };

		if (isatty(0)) {
			io.tty_fd = 0;
			ioctl(0, TIOCGWINSZ, &ws);
			if (tty_raw(&raw, 0) < 0)
				fprintf(stderr, "vmmctl: exec: cannot put the "
					"terminal in raw mode: %s\n",
					strerror(errno));
		}
		req.rows = ws.ws_row;
		req.cols = ws.ws_col;
	}
	if (exec_session(&s, tty, &req, &io, &code, &e) < 0) {
		tty_restore(&raw);
		fprintf(stderr, "vmmctl: exec: %s\n", e.msg);
		code = 255;
	} else {
		tty_restore(&raw);
		if (e.msg[0])
			fprintf(stderr, "vmmctl: exec: %s\n", e.msg);
	}
	exec_stream_close(&s);
	if (io.sig_fd >= 0)
		close(io.sig_fd);
	return code & 0xff;
}

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "exec", cmd_exec, "run a command in the guest through its agent" },
	{ "port-forward", port_forward_main, PORT_FORWARD_SUMMARY },
	{ "--sock", ctl_api_main, CTL_API_SUMMARY },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmmctl COMMAND [OPTIONS]\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-12s %s\n", subcommands[i].name,
			subcommands[i].summary);
	fprintf(f, "Run \"vmmctl COMMAND --help\" for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vmmctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
