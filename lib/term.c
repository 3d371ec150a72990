// SPDX-License-Identifier: MIT
#include "term.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/*
 * The terminal is process-wide state, and so is what restores it: a signal
 * handler can reach nothing else.
 */
static struct termios term_saved;
static int term_fd = -1;

void term_restore(void)
{
	if (term_fd >= 0)
		tcsetattr(term_fd, TCSANOW, &term_saved);
	term_fd = -1;
}

static void term_fatal_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int term_raw_enter(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
				     SIGQUIT };
	static bool atexit_done;
	struct termios raw;

	if (term_fd >= 0 || !isatty(fd) || tcgetattr(fd, &term_saved) < 0)
		return -1;
	raw = term_saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return -1;
	term_fd = fd;
	if (!atexit_done) {
		atexit(term_restore);
		atexit_done = true;
	}
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa = { .sa_handler = term_fatal_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(fatal[i], &sa, NULL);
	}
	return 0;
}
