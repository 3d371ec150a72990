// SPDX-License-Identifier: MIT
/*
 * The peers' hosts against the agent: every case of peer_cases.c, with the
 * agent on Unix sockets (the exec service, the ready check, and a bridge it
 * dials here). agent-peer-check runs the same cases over virtio-vsock.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <sys/wait.h>

#include "tests/agent/helpers.h"
#include "tests/agent/peer_cases.h"

static struct test_agent agent;
static struct bridge_host host;

static int dial(void *ctx, uint32_t port, struct err *e)
{
	(void)ctx;
	if (port == ML_PORT_READY)
		return exec_dial_unix(agent.ready_sock, e);
	if (port == ML_PORT_EXEC)
		return exec_dial_unix(agent.exec_sock, e);
	return err_set(e, "no service on port %u here", port);
}

static int bridge_fd(void *ctx, struct err *e)
{
	(void)ctx;
	(void)e;
	return host.fd;
}

/*
 * Indexes, not the cases: a test runs in a fresh process of this program,
 * where the parameters' bytes arrive but not the parent's addresses.
 */
ParameterizedTestParameters(peer, hosts)
{
	static unsigned index[64];

	cr_assert_leq(peer_ncases, ARRAY_SIZE(index));
	for (unsigned i = 0; i < peer_ncases; i++)
		index[i] = i;
	return cr_make_param_array(unsigned, index, peer_ncases);
}

ParameterizedTest(unsigned *i, peer, hosts, .timeout = 120)
{
	const struct peer_case *c = &peer_cases[*i];
	struct peer_target t = {
		.vm = { .dial = dial },
		.bridge_fd = bridge_fd,
		.relay_base = agent.bridge_sock,
		.scratch_dir = agent.dir,
	};
	struct err e = { "" };
	int status;

	agent_start(&agent, true, &host);
	t.tcp_port = free_tcp_port();
	cr_expect_eq(c->run(&t, &e), 0, "%s: %s", c->name, e.msg);
	status = agent_stop(&agent);
	bridge_host_close(&host);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s: the agent ended with status %#x", c->name, status);
}
