// SPDX-License-Identifier: MIT
/*
 * agent-peer-check: runs the peer cases (tests/agent/peer_cases.c) against
 * a running guest agent and prints one line per case. With --vsock-uds it
 * reaches the agent in a VM through the VMM's vsock Unix socket: the exec
 * service by CONNECT, and the bridge the agent dials (port 0x40000000) and
 * its stdio relays on PATH_PORT, as the VMM forwards guest connections.
 *
 *   agent-peer-check --vsock-uds PATH [--scratch DIR] [--tcp-port N]
 *                    [--mapped-disk C:L] [NAME...]
 *   agent-peer-check --exec-unix P --ready-unix P --bridge-unix P ...
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/bridge_host.h"
#include "client/exec_client.h"
#include "tests/agent/peer_cases.h"

struct check {
	const char *uds;		/* --vsock-uds */
	const char *exec_unix, *ready_unix, *bridge_unix;
	char bridge_path[128];
	struct bridge_host host;
	bool listening;
};

static int dial(void *ctx, uint32_t port, struct err *e)
{
	struct check *k = ctx;

	if (k->uds)
		return exec_dial_vsock_uds(k->uds, port, e);
	return exec_dial_unix(port == ML_PORT_READY ? k->ready_unix :
			      k->exec_unix, e);
}

/* The bridge connection, accepted the first time a case asks for it. */
static int bridge_fd(void *ctx, struct err *e)
{
	struct check *k = ctx;

	if (!k->listening) {
		if (bridge_host_listen(&k->host, k->bridge_path, e) < 0)
			return -1;
		k->listening = true;
	}
	if (k->host.fd < 0 && bridge_host_accept(&k->host, 60000, e) < 0)
		return -1;
	return k->host.fd;
}

static bool wanted(const char *name, char **names, int n)
{
	if (!n)
		return true;
	for (int i = 0; i < n; i++)
		if (strstr(name, names[i]))
			return true;
	return false;
}

static int run_case(struct check *k, const struct peer_target *t,
		    const struct peer_case *c)
{
	struct err e = { "" };

	if (c->run(t, &e) == 0) {
		printf("agent-peer-check: ok: %s\n", c->name);
		return 0;
	}
	printf("agent-peer-check: FAIL: %s: %s\n", c->name, e.msg);
	/* Its bridge may be in any state: let the agent dial again. */
	if (k->host.fd >= 0) {
		close(k->host.fd);
		k->host.fd = -1;
	}
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: agent-peer-check (--vsock-uds PATH | --exec-unix PATH "
		"--ready-unix PATH --bridge-unix PATH)\n"
		"                        [--scratch DIR] [--tcp-port N] [--mapped-disk C:L] [CASE...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vsock-uds", required_argument, NULL, 'V' },
		{ "exec-unix", required_argument, NULL, 'E' },
		{ "ready-unix", required_argument, NULL, 'R' },
		{ "bridge-unix", required_argument, NULL, 'B' },
		{ "scratch", required_argument, NULL, 's' },
		{ "tcp-port", required_argument, NULL, 'p' },
		{ "mapped-disk", required_argument, NULL, 'm' },
		{ 0 },
	};
	struct check k = { .host = { .fd = -1, .lfd = -1 } };
	struct peer_target t = { .vm = { .dial = dial, .ctx = &k },
				 .bridge_fd = bridge_fd, .ctx = &k,
				 .scratch_dir = "/tmp", .tcp_port = 7777 };
	unsigned passed = 0, failed = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'V': k.uds = optarg; break;
		case 'E': k.exec_unix = optarg; break;
		case 'R': k.ready_unix = optarg; break;
		case 'B': k.bridge_unix = optarg; break;
		case 's': t.scratch_dir = optarg; break;
		case 'p': t.tcp_port = (uint16_t)atoi(optarg); break;
		case 'm': t.mapped_disk = optarg; break;
		default: return usage();
		}
	}
	if (!k.uds == !(k.exec_unix && k.ready_unix && k.bridge_unix))
		return usage();
	/* The VMM forwards the agent's dial of host port P to PATH_P. */
	if (k.uds)
		snprintf(k.bridge_path, sizeof(k.bridge_path), "%s_%u", k.uds,
			 0x40000000u);
	else
		snprintf(k.bridge_path, sizeof(k.bridge_path), "%s", k.bridge_unix);
	t.relay_base = k.uds ? k.uds : k.bridge_unix;
	for (unsigned i = 0; i <= peer_ncases; i++) {
		const struct peer_case *c = i < peer_ncases ? &peer_cases[i] :
					    &peer_mapped_disk_case;

		if ((c == &peer_mapped_disk_case && !t.mapped_disk) ||
		    !wanted(c->name, argv + optind, argc - optind))
			continue;
		if (run_case(&k, &t, c) == 0)
			passed++;
		else
			failed++;
	}
	printf("agent-peer-check: %u passed, %u failed\n", passed, failed);
	if (k.listening)
		bridge_host_close(&k.host);
	return failed ? 1 : 0;
}
