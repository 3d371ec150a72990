// SPDX-License-Identifier: MIT
/*
 * guest-agent: runs inside the guest and lets the host run and control
 * processes there, over the exec protocol (it listens) and the HCS bridge
 * protocol (it dials the host). As PID 1 of an initramfs it also mounts the
 * kernel file systems, reaps orphans and powers the machine off when asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/bridge.h"
#include "guest-agent/exec.h"
#include "lib/proto/bridge_proto.h"
#include "lib/proto/frame.h"

#define SHUTDOWN_POLL_MS 20
#define SHUTDOWN_GRACE_MS 5000

void agent_log(const char *level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "guest-agent: %s: %s\n", level, line);
}

void agent_watch(struct agent *a, struct event_source *src, bool *registered,
		 uint32_t events)
{
	if (!events) {
		if (*registered)
			event_loop_remove(&a->loop, src);
		*registered = false;
		src->events = 0;
		return;
	}
	if (!*registered) {
		src->events = events;
		if (event_loop_add(&a->loop, src) < 0) {
			agent_log("error", "epoll: adding fd %d: %s", src->fd,
				  strerror(errno));
			return;
		}
		*registered = true;
		return;
	}
	if (event_loop_modify(&a->loop, src, events) < 0)
		agent_log("error", "epoll: fd %d: %s", src->fd, strerror(errno));
}

static void timer_fired(void *opaque, uint32_t events)
{
	struct timer *t = opaque;
	uint64_t n;

	(void)events;
	if (read(t->fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	t->fn(t->opaque);
}

void timer_init(struct timer *t, void (*fn)(void *), void *opaque)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->fn = fn;
	t->opaque = opaque;
}

int timer_start(struct agent *a, struct timer *t, unsigned ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000 + 1 },
	};

	if (t->fd < 0) {
		t->fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_NONBLOCK | TFD_CLOEXEC);
		if (t->fd < 0) {
			agent_log("error", "timerfd: %s", strerror(errno));
			return -1;
		}
		t->src = (struct event_source){ .fd = t->fd, .fn = timer_fired,
						.opaque = t };
	}
	if (timerfd_settime(t->fd, 0, &its, NULL) < 0)
		return -1;
	agent_watch(a, &t->src, &t->registered, EPOLLIN);
	return 0;
}

void timer_stop(struct agent *a, struct timer *t)
{
	struct itimerspec off = { 0 };

	if (t->fd < 0)
		return;
	timerfd_settime(t->fd, 0, &off, NULL);
	agent_watch(a, &t->src, &t->registered, 0);
}

void timer_destroy(struct agent *a, struct timer *t)
{
	if (t->fd < 0)
		return;
	agent_watch(a, &t->src, &t->registered, 0);
	close(t->fd);
	t->fd = -1;
}

void agent_track_child(struct agent *a, struct child *c)
{
	c->next = a->children;
	a->children = c;
}

void agent_untrack_child(struct agent *a, struct child *c)
{
	for (struct child **pp = &a->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

void agent_reap(struct agent *a)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		struct child **pp;

		if (pid <= 0)
			return;
		for (pp = &a->children; *pp; pp = &(*pp)->next)
			if ((*pp)->pid == pid)
				break;
		if (*pp) {
			struct child *c = *pp;

			*pp = c->next;
			c->exited(c, status);
		}
	}
}

static void agent_finish(struct agent *a)
{
	timer_stop(a, &a->shutdown_timer);
	bridge_flush(a->bridge, 1000);
	event_loop_stop(&a->loop);
}

static void shutdown_tick(void *opaque)
{
	struct agent *a = opaque;

	a->shutdown_waited += SHUTDOWN_POLL_MS;
	if (!a->children) {
		agent_finish(a);
		return;
	}
	if (a->shutdown_waited >= a->opts.shutdown_grace_ms && !a->shutdown_killed) {
		exec_server_signal_all(a->exec, SIGKILL);
		bridge_signal_all(a->bridge, SIGKILL);
		a->shutdown_killed = true;
		a->shutdown_waited = 0;
	} else if (a->shutdown_killed && a->shutdown_waited >= 2000) {
		/* Something survives SIGKILL (uninterruptible sleep): go on. */
		agent_finish(a);
		return;
	}
	timer_start(a, &a->shutdown_timer, SHUTDOWN_POLL_MS);
}

void agent_shutdown(struct agent *a, bool forced)
{
	int sig = forced ? SIGKILL : SIGTERM;

	if (a->shutting_down && !forced)
		return;
	agent_log("info", "%s shutdown", forced ? "forced" : "graceful");
	a->shutting_down = true;
	a->poweroff = a->opts.init && !a->opts.exit_on_shutdown;
	a->shutdown_killed = forced;
	a->shutdown_waited = 0;
	exec_server_signal_all(a->exec, sig);
	bridge_signal_all(a->bridge, sig);
	timer_start(a, &a->shutdown_timer, SHUTDOWN_POLL_MS);
}

static void signal_event(void *opaque, uint32_t events)
{
	struct agent *a = opaque;
	struct signalfd_siginfo si;

	(void)events;
	while (read(a->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		agent_shutdown(a, false);
	}
	agent_reap(a);
}

static void mount_one(const char *src, const char *dst, const char *type,
		      unsigned long flags, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
		agent_log("warning", "mounting %s on %s: %s", type, dst,
			  strerror(errno));
}

/* PID-1 duties; never run on a host (see agent_opts.init). */
/*
 * Brings the loopback interface up, as hcsshim's guest init does: guest
 * programs (and PortForward to 127.0.0.1) expect it.
 */
static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			goto fail;
	}
	close(fd);
	return;
fail:
	agent_log("warning", "bringing up the loopback interface: %s",
		  strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void init_setup(void)
{
	const unsigned long nosuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	mount_one("proc", "/proc", "proc", nosuid, NULL);
	mount_one("sysfs", "/sys", "sysfs", nosuid, NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "gid=5,mode=0620,ptmxmode=0666");
	mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	if (access("/dev/ptmx", F_OK) < 0 && symlink("pts/ptmx", "/dev/ptmx") < 0)
		agent_log("warning", "/dev/ptmx: %s", strerror(errno));
	if (fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0 ||
	    fcntl(2, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR);

		for (int i = 0; fd >= 0 && i < 3; i++)
			if (fcntl(i, F_GETFD) < 0)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	loopback_up();
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: guest-agent [OPTIONS]\n"
"  --listen ADDR       exec service address (default vsock:%u)\n"
"  --exec-port PORT    exec service on vsock port PORT\n"
"  --ready ADDR        ready-check address (default vsock:%u)\n"
"  --ready-port PORT   ready check on vsock port PORT\n"
"  --bridge ADDR       bridge: the host address to dial (default vsock:2:%u)\n"
"  --bridge-port PORT  bridge: dial host vsock port PORT\n"
"                      ADDR is vsock:PORT, vsock:CID:PORT or unix:PATH. With\n"
"                      none of the above, all three services run on their\n"
"                      defaults; otherwise only the services named run.\n"
"  --init              do PID-1 duties even when not PID 1\n"
"  --exit-on-shutdown  exit on Shutdown instead of powering off\n"
"  --dev-dir DIR       where MappedVirtualDisk opens disks (default /dev)\n"
"  --sys-dir DIR       where it finds them by serial, DIR/block (default /sys)\n"
"  --passwd FILE       user database (default /etc/passwd)\n"
"  --group FILE        group database (default /etc/group)\n"
"  --shutdown-grace MS time between SIGTERM and SIGKILL at shutdown (%u)\n"
"  -h, --help          this help\n",
		EXEC_PORT_DEFAULT, READY_PORT_DEFAULT, BRIDGE_PORT_DEFAULT,
		SHUTDOWN_GRACE_MS);
}

static int parse_port(const char *s, uint32_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end || v > UINT32_MAX)
		return -1;
	*port = (uint32_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	enum { O_LISTEN = 256, O_EXEC_PORT, O_READY, O_READY_PORT, O_BRIDGE,
	       O_BRIDGE_PORT, O_INIT, O_EXIT, O_DEV, O_SYS, O_PASSWD, O_GROUP,
	       O_GRACE };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "exec-port", required_argument, NULL, O_EXEC_PORT },
		{ "ready", required_argument, NULL, O_READY },
		{ "ready-port", required_argument, NULL, O_READY_PORT },
		{ "bridge", required_argument, NULL, O_BRIDGE },
		{ "bridge-port", required_argument, NULL, O_BRIDGE_PORT },
		{ "init", no_argument, NULL, O_INIT },
		{ "exit-on-shutdown", no_argument, NULL, O_EXIT },
		{ "dev-dir", required_argument, NULL, O_DEV },
		{ "sys-dir", required_argument, NULL, O_SYS },
		{ "passwd", required_argument, NULL, O_PASSWD },
		{ "group", required_argument, NULL, O_GROUP },
		{ "shutdown-grace", required_argument, NULL, O_GRACE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool any = false;
	struct err e;
	uint32_t v;
	int opt;

	endpoint_vsock(&o->exec_ep, VSOCK_CID_ANY, EXEC_PORT_DEFAULT);
	endpoint_vsock(&o->ready_ep, VSOCK_CID_ANY, READY_PORT_DEFAULT);
	endpoint_vsock(&o->bridge_ep, VSOCK_CID_HOST, BRIDGE_PORT_DEFAULT);
	o->dev_dir = "/dev";
	o->sys_dir = "/sys";
	o->passwd_file = "/etc/passwd";
	o->group_file = "/etc/group";
	o->shutdown_grace_ms = SHUTDOWN_GRACE_MS;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN:
		case O_READY:
		case O_BRIDGE: {
			struct endpoint *ep = opt == O_LISTEN ? &o->exec_ep :
					      opt == O_READY ? &o->ready_ep :
					      &o->bridge_ep;

			if (endpoint_parse(optarg, opt == O_BRIDGE ?
					   VSOCK_CID_HOST : VSOCK_CID_ANY,
					   ep, &e) < 0) {
				fprintf(stderr, "guest-agent: %s\n", e.msg);
				return -1;
			}
			*(opt == O_LISTEN ? &o->exec_on : opt == O_READY ?
			  &o->ready_on : &o->bridge_on) = true;
			any = true;
			break;
		}
		case O_EXEC_PORT:
		case O_READY_PORT:
		case O_BRIDGE_PORT:
			if (parse_port(optarg, &v) < 0) {
				fprintf(stderr, "guest-agent: invalid port "
					"\"%s\"\n", optarg);
				return -1;
			}
			if (opt == O_EXEC_PORT) {
				endpoint_vsock(&o->exec_ep, VSOCK_CID_ANY, v);
				o->exec_on = true;
			} else if (opt == O_READY_PORT) {
				endpoint_vsock(&o->ready_ep, VSOCK_CID_ANY, v);
				o->ready_on = true;
			} else {
				endpoint_vsock(&o->bridge_ep, VSOCK_CID_HOST, v);
				o->bridge_on = true;
			}
			any = true;
			break;
		case O_INIT:
			o->init = true;
			break;
		case O_EXIT:
			o->exit_on_shutdown = true;
			break;
		case O_DEV:
			o->dev_dir = optarg;
			break;
		case O_SYS:
			o->sys_dir = optarg;
			break;
		case O_PASSWD:
			o->passwd_file = optarg;
			break;
		case O_GROUP:
			o->group_file = optarg;
			break;
		case O_GRACE:
			if (parse_port(optarg, &v) < 0) {
				fprintf(stderr, "guest-agent: invalid "
					"--shutdown-grace \"%s\"\n", optarg);
				return -1;
			}
			o->shutdown_grace_ms = v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "guest-agent: unexpected argument \"%s\"\n",
			argv[optind]);
		return -1;
	}
	if (!any)
		o->exec_on = o->ready_on = o->bridge_on = true;
	return 0;
}

static int agent_setup_signals(struct agent *a, struct err *e)
{
	sigset_t set;
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	a->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sig_fd < 0)
		return err_errno(e, "signalfd");
	a->sig_src = (struct event_source){ .fd = a->sig_fd, .events = EPOLLIN,
					    .fn = signal_event, .opaque = a };
	if (event_loop_add(&a->loop, &a->sig_src) < 0)
		return err_errno(e, "epoll");
	/* Orphans of the processes we start come back to us to be reaped. */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Every session holds a few fds: allow as many as the kernel lets us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* PID 1 must not exit: wait for the power to go. */
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct agent a = { .sig_fd = -1 };
	struct err e = { "" };
	int ret = 1;

	if (parse_args(argc, argv, &a.opts) < 0)
		return 2;
	if (getpid() == 1)
		a.opts.init = true;
	if (a.opts.init)
		init_setup();
	timer_init(&a.shutdown_timer, shutdown_tick, &a);
	if (event_loop_init(&a.loop, &e) < 0 ||
	    agent_setup_signals(&a, &e) < 0 ||
	    exec_server_start(&a, &a.exec, &e) < 0 ||
	    bridge_start(&a, &a.bridge, &e) < 0) {
		agent_log("error", "%s", e.msg);
		goto out;
	}
	if (event_loop_run(&a.loop) == 0)
		ret = 0;
out:
	bridge_stop(a.bridge);
	exec_server_stop(a.exec);
	timer_destroy(&a, &a.shutdown_timer);
	if (a.sig_fd >= 0)
		close(a.sig_fd);
	if (a.loop.epfd > 0)
		event_loop_destroy(&a.loop);
	if (a.opts.init && (a.poweroff || getpid() == 1))
		power_off();
	return ret;
}
