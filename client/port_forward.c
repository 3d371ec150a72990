// SPDX-License-Identifier: MIT
/*
 * vmmctl port-forward: a local TCP listener whose every connection becomes
 * one PortForward session with the guest agent (the exec service's type 13,
 * as matchlock's OpenPortForward speaks it), then a plain byte stream.
 */
#include "client/port_forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/exec_client.h"

/* The longest refusal the agent may send. */
#define FORWARD_REASON_MAX 4096

static int read_exact(int fd, void *buf, size_t n, struct err *e)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_errno(e, "reading the agent's answer");
		if (r == 0)
			return err_set(e, "the agent closed the connection "
				       "without an answer");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int port_forward_open(int fd, const char *host, uint16_t port, struct err *e)
{
	struct port_forward_request req = { .host = (char *)host, .port = port };
	uint8_t hdr[FRAME_HDR_SIZE];
	char reason[FORWARD_REASON_MAX + 1];
	size_t len;
	uint32_t n;
	char *json = port_forward_encode(&req, &len);
	int ret;

	if (!json)
		return err_set(e, "out of memory");
	frame_put_hdr(hdr, FRAME_PORT_FORWARD, (uint32_t)len);
	ret = exec_write_all(fd, hdr, sizeof(hdr)) < 0 ||
	      exec_write_all(fd, json, len) < 0;
	free(json);
	if (ret)
		return err_errno(e, "sending PortForward");
	/* Exactly one frame: the bytes after it belong to the guest port. */
	if (read_exact(fd, hdr, sizeof(hdr), e) < 0)
		return -1;
	n = get_be32(hdr + 1);
	if (hdr[0] == FRAME_READY && !n)
		return 0;
	if (hdr[0] != FRAME_STDERR || n > FORWARD_REASON_MAX)
		return err_set(e, "unexpected answer from the agent: frame type "
			       "%u of %u bytes", hdr[0], n);
	if (read_exact(fd, reason, n, e) < 0)
		return -1;
	reason[n] = 0;
	return err_set(e, "the guest refused: %s", reason);
}

/* One direction of a relay. */
struct pipe_dir {
	int from, to;
	uint8_t buf[64 * 1024];
	size_t len, off;
	bool eof, done;
};

static void dir_read(struct pipe_dir *d)
{
	ssize_t n = read(d->from, d->buf, sizeof(d->buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		d->eof = true;
		return;
	}
	d->len = (size_t)n;
	d->off = 0;
}

static int dir_write(struct pipe_dir *d)
{
	ssize_t n = send(d->to, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0) {
		/* The reader is gone: nothing more can go this way. */
		d->eof = true;
		d->off = d->len = 0;
		return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
	}
	d->off += (size_t)n;
	if (d->off == d->len)
		d->off = d->len = 0;
	return 0;
}

int port_forward_relay(int a, int b)
{
	struct pipe_dir dirs[2];
	int ret = 0;

	dirs[0] = (struct pipe_dir){ .from = a, .to = b };
	dirs[1] = (struct pipe_dir){ .from = b, .to = a };
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
	fcntl(b, F_SETFL, fcntl(b, F_GETFL) | O_NONBLOCK);
	while (!dirs[0].done || !dirs[1].done) {
		struct pollfd p[4];

		for (int i = 0; i < 2; i++) {
			struct pipe_dir *d = &dirs[i];

			p[2 * i] = (struct pollfd){ .fd = -1, .events = POLLIN };
			p[2 * i + 1] = (struct pollfd){ .fd = -1, .events = POLLOUT };
			if (!d->done && !d->eof && !d->len)
				p[2 * i].fd = d->from;
			if (d->len)
				p[2 * i + 1].fd = d->to;
		}
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < 2; i++) {
			struct pipe_dir *d = &dirs[i];

			if (p[2 * i].fd >= 0 && p[2 * i].revents)
				dir_read(d);
			if (p[2 * i + 1].fd >= 0 && p[2 * i + 1].revents &&
			    dir_write(d) < 0)
				ret = -1;
			if (d->eof && !d->len && !d->done) {
				shutdown(d->to, SHUT_WR);
				d->done = true;
			}
		}
	}
	return ret;
}

struct forward_opts {
	const char *uds, *unix_path, *address, *guest_host;
	uint32_t agent_port;
	uint16_t local_port, guest_port;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: vmmctl port-forward (--vsock-uds PATH [--port PORT] | --unix PATH)\n"
"                           [--address ADDR] [--guest-host HOST] LOCAL:GUEST\n"
"  --vsock-uds PATH   the VMM's vsock Unix socket (CONNECT PORT handshake)\n"
"  --port PORT        the agent's exec port in the guest (default %u)\n"
"  --unix PATH        an agent listening on a plain Unix socket\n"
"  --address ADDR     the local address to listen on (default 127.0.0.1)\n"
"  --guest-host HOST  the guest address to connect to (default 127.0.0.1)\n"
"Each connection to local TCP port LOCAL (0: any free port) is relayed to\n"
"TCP port GUEST in the guest. The first line on stdout names the local\n"
"address; vmmctl runs until it is interrupted.\n", EXEC_PORT_DEFAULT);
}

static int parse_u16(const char *s, const char *end, uint16_t *out)
{
	char *stop;
	unsigned long v;

	if (s == end)
		return -1;
	errno = 0;
	v = strtoul(s, &stop, 10);
	if (errno || stop != end || v > UINT16_MAX)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct forward_opts *o)
{
	static const struct option longopts[] = {
		{ "vsock-uds", required_argument, NULL, 'V' },
		{ "port", required_argument, NULL, 'p' },
		{ "unix", required_argument, NULL, 'U' },
		{ "address", required_argument, NULL, 'a' },
		{ "guest-host", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *colon;
	char *end;
	int opt;

	*o = (struct forward_opts){ .address = "127.0.0.1",
				    .agent_port = EXEC_PORT_DEFAULT };
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'V':
			o->uds = optarg;
			break;
		case 'U':
			o->unix_path = optarg;
			break;
		case 'p':
			errno = 0;
			o->agent_port = (uint32_t)strtoul(optarg, &end, 0);
			if (errno || *end || !*optarg) {
				fprintf(stderr, "vmmctl: port-forward: invalid "
					"port \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'a':
			o->address = optarg;
			break;
		case 'g':
			o->guest_host = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!!o->uds == !!o->unix_path || optind + 1 != argc) {
		fprintf(stderr, "vmmctl: port-forward: %s\n", optind + 1 != argc ?
			"give one LOCAL:GUEST port pair" :
			"give exactly one of --vsock-uds and --unix");
		usage(stderr);
		return 2;
	}
	colon = strchr(argv[optind], ':');
	if (!colon || parse_u16(argv[optind], colon, &o->local_port) < 0 ||
	    parse_u16(colon + 1, colon + strlen(colon), &o->guest_port) < 0 ||
	    !o->guest_port) {
		fprintf(stderr, "vmmctl: port-forward: \"%s\": expected "
			"LOCAL:GUEST, two TCP ports (GUEST not 0)\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

/* The listening socket on ADDR:LOCAL; prints where it listens. */
static int listen_local(const struct forward_opts *o, struct err *e)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	char name[INET6_ADDRSTRLEN];
	int fd, one = 1;

	if (inet_pton(AF_INET, o->address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(o->local_port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, o->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(o->local_port);
		len = sizeof(*in6);
	} else {
		return err_set(e, "--address \"%s\": not an IP address",
			       o->address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err_errno(e, "listening on %s port %u", o->address,
			  o->local_port);
		close(fd);
		return -1;
	}
	inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
		  (void *)&in4->sin_addr : (void *)&in6->sin6_addr, name,
		  sizeof(name));
	printf("Forwarding from %s%s%s:%u -> guest port %u\n",
	       ss.ss_family == AF_INET6 ? "[" : "", name,
	       ss.ss_family == AF_INET6 ? "]" : "",
	       ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port),
	       o->guest_port);
	fflush(stdout);
	return fd;
}

/* One forwarded connection, in its own process. */
static void __attribute__((noreturn))
serve_client(const struct forward_opts *o, int client)
{
	struct err e = { "" };
	int agent = o->unix_path ? exec_dial_unix(o->unix_path, &e) :
				   exec_dial_vsock_uds(o->uds, o->agent_port, &e);

	if (agent < 0 ||
	    port_forward_open(agent, o->guest_host, o->guest_port, &e) < 0) {
		fprintf(stderr, "vmmctl: port-forward: guest port %u: %s\n",
			o->guest_port, e.msg);
		_exit(1);
	}
	_exit(port_forward_relay(client, agent) < 0 ? 1 : 0);
}

int port_forward_main(int argc, char **argv)
{
	struct forward_opts o;
	struct err e = { "" };
	int ret = parse_args(argc, argv, &o), lfd;

	if (ret >= 0)
		return ret;
	lfd = listen_local(&o, &e);
	if (lfd < 0) {
		fprintf(stderr, "vmmctl: port-forward: %s\n", e.msg);
		return 1;
	}
	/* Children reap themselves; a closed peer is an error, not a signal. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int client = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (client < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "vmmctl: port-forward: accept: %s\n",
				strerror(errno));
			return 1;
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			serve_client(&o, client);
		}
		if (pid < 0)
			fprintf(stderr, "vmmctl: port-forward: fork: %s\n",
				strerror(errno));
		close(client);
	}
}
