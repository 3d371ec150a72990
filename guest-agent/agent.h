/* SPDX-License-Identifier: MIT */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest-agent/transport.h"
#include "lib/event.h"
#include "lib/util.h"

struct exec_server;
struct bridge;

/* A child process the agent waits for; @exited runs once it is reaped. */
struct child {
	pid_t pid;
	void (*exited)(struct child *c, int status);
	struct child *next;
};

/* A one-shot timer on the event loop (a timerfd). */
struct timer {
	int fd;
	struct event_source src;
	bool registered;
	void (*fn)(void *opaque);
	void *opaque;
};

struct agent_opts {
	struct endpoint exec_ep;
	struct endpoint ready_ep;
	struct endpoint bridge_ep;
	bool exec_on, ready_on, bridge_on;
	bool init;		/* PID-1 duties: mounts, orphan reaping, poweroff */
	bool exit_on_shutdown;	/* exit instead of powering off, even as init */
	const char *dev_dir;	/* where MappedVirtualDisk opens disks */
	const char *sys_dir;	/* where it finds them by serial (block/) */
	const char *passwd_file;
	const char *group_file;
	unsigned shutdown_grace_ms;
};

struct agent {
	struct agent_opts opts;
	struct event_loop loop;
	struct event_source sig_src;
	int sig_fd;
	struct child *children;
	struct exec_server *exec;
	struct bridge *bridge;
	bool shutting_down;
	bool shutdown_killed;
	unsigned shutdown_waited;
	bool poweroff;
	struct timer shutdown_timer;
	int exit_status;
};

void agent_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void agent_track_child(struct agent *a, struct child *c);
void agent_untrack_child(struct agent *a, struct child *c);
/* Reaps every exited child; tracked ones get their callback. */
void agent_reap(struct agent *a);
/*
 * Ends the agent: signals every process it started (SIGTERM, then SIGKILL
 * after the grace period, or SIGKILL at once when @forced), then powers the
 * machine off when running as init, or exits.
 */
void agent_shutdown(struct agent *a, bool forced);

/*
 * Registers @src for @events, or unregisters it while @events is 0 so that
 * hang-up conditions of an fd nobody waits on do not spin the loop.
 */
void agent_watch(struct agent *a, struct event_source *src, bool *registered,
		 uint32_t events);

void timer_init(struct timer *t, void (*fn)(void *), void *opaque);
int timer_start(struct agent *a, struct timer *t, unsigned ms);
void timer_stop(struct agent *a, struct timer *t);
void timer_destroy(struct agent *a, struct timer *t);

#endif
