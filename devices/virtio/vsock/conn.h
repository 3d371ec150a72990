/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VSOCK_CONN_H
#define DEVICES_VIRTIO_VSOCK_CONN_H

/*
 * A vsock connection: one stream between a guest port and a host stream
 * socket, its state machine (5.10.6.6), credit (5.10.6.3) and the relay of
 * bytes between guest packets and the socket.
 *
 * A connection knows its stream and nothing else of the device: it reports
 * to its owner through struct vsock_conn_ops, and its owner (the device)
 * keeps connections in its tables, watches the streams on the event loop,
 * hands the connection the guest's packets and receive buffers, and checks
 * deadlines. Every function runs on the event loop thread with the device
 * lock held.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/virtqueue.h"
#include "lib/ring.h"

#include "packet.h"
#include "vsock.h"

enum vsock_conn_state {
	CONN_HANDSHAKE,   /* a host client that has not said its port yet */
	CONN_CONNECTING,  /* REQUEST owed or sent to the guest */
	CONN_ESTABLISHED,
	CONN_CLOSING,     /* closed both ways: waiting for an RST or a flush */
	CONN_DEAD,        /* host stream closed; only an RST is owed */
};

struct vsock_conn;

struct vsock_conn_ops {
	/* @c owes the guest packets: give it receive buffers. */
	void (*want_rx)(struct vsock_conn *c);
	/* The stream should be watched for @events (EPOLLIN, EPOLLOUT...). */
	void (*watch)(struct vsock_conn *c, uint32_t events);
	/* @c set a deadline (deadline_ms): have it checked. */
	void (*deadline)(struct vsock_conn *c);
	/*
	 * The guest accepted a connection the host asked for; -1 when the
	 * host end cannot take it (the connection is then reset).
	 */
	int (*opened)(struct vsock_conn *c);
	/* The host stream is about to close, for the reason @why. */
	void (*closing)(struct vsock_conn *c, const char *why);
	/*
	 * The connection is over: the owner forgets and frees it. Nothing
	 * touches @c after this returns.
	 */
	void (*release)(struct vsock_conn *c);
};

/* What every connection of a device shares. */
struct vsock_conn_env {
	const struct vsock_conn_ops *ops;
	uint32_t guest_cid;
	struct vsock_counters *counters;
	/* Scratch iovecs for slicing guest buffers. */
	struct iovec *slice;
	unsigned int nr_slice;
};

/* Packets a connection owes the guest. */
#define PEND_REQUEST 0x01
#define PEND_RESPONSE 0x02
#define PEND_CREDIT_UPDATE 0x04
#define PEND_CREDIT_REQUEST 0x08
#define PEND_SHUTDOWN 0x10
#define PEND_RST 0x20

struct vsock_conn {
	const struct vsock_conn_env *env;
	int fd; /* the host stream; -1 once closed */
	enum vsock_conn_state state;
	uint32_t host_port;
	uint32_t guest_port;
	int64_t deadline_ms; /* 0: none */

	uint32_t pending;        /* PEND_* */
	uint32_t shutdown_flags; /* what our SHUTDOWN says */
	bool shutdown_sent;

	/* Guest to host. */
	struct ring out;      /* what the host stream did not take yet */
	uint32_t fwd_cnt;     /* bytes handed to the host stream */
	uint32_t fwd_cnt_sent; /* the fwd_cnt the guest last heard */
	uint32_t guest_shut;  /* SHUTDOWN flags the guest sent */
	bool host_wr_shut;    /* shutdown(SHUT_WR) done */

	/* Host to guest. */
	uint32_t tx_cnt; /* bytes sent to the guest */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	bool credit_requested;
	bool host_readable; /* the host stream has data or EOF for us */
	bool host_eof;
};

/* Milliseconds on the monotonic clock, the time deadlines are in. */
int64_t vsock_now_ms(void);

/*
 * A connection on host stream @fd, without ports yet (CONN_HANDSHAKE):
 * one of the three below starts it.
 */
void vsock_conn_init(struct vsock_conn *c, const struct vsock_conn_env *env,
		     int fd);
/* A host client: it has VSOCK_HANDSHAKE_TIMEOUT_MS to name a guest port. */
void vsock_conn_handshake(struct vsock_conn *c);
/* The host connects @host_port to guest @guest_port: a REQUEST is owed. */
void vsock_conn_request(struct vsock_conn *c, uint32_t host_port,
			uint32_t guest_port);
/* The host stream answers the guest's REQUEST @h: established. */
void vsock_conn_accept(struct vsock_conn *c, const struct vsock_hdr *h);

/* Closes the host stream (once) and frees the buffer; @why is reported. */
void vsock_conn_close(struct vsock_conn *c, const char *why);
/* Closes the host side and owes the guest an RST. */
void vsock_conn_reset(struct vsock_conn *c);
/* The deadline passed: a handshake ends, anything else is reset. */
void vsock_conn_expire(struct vsock_conn *c);

/* The host stream is ready for @events (epoll bits). */
void vsock_conn_stream_ready(struct vsock_conn *c, uint32_t events);
/* Has the owner watch the stream for what the connection needs now. */
void vsock_conn_update_poll(struct vsock_conn *c);

/* A packet from the guest for this connection. */
void vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h,
		     const struct iovec *iov, unsigned int niov);

/* The connection owes the guest a packet it can send now. */
bool vsock_conn_rx_work(const struct vsock_conn *c);
/* The next packet it owes is stream data, and the guest has credit. */
bool vsock_conn_data_ready(const struct vsock_conn *c);
/* Stream data is all it owes: a buffer without payload room is no use. */
bool vsock_conn_data_only(const struct vsock_conn *c);
/* Bytes the guest can still take. */
uint32_t vsock_conn_credit(const struct vsock_conn *c);
/*
 * Writes the next packet @c owes the guest into the receive chain @iov
 * (@space bytes). Returns the bytes written, 0 when @c owes nothing now.
 */
uint32_t vsock_conn_fill(struct vsock_conn *c, const struct iovec *iov,
			 unsigned int niov, uint64_t space);
/*
 * Reads host bytes into @iov; returns how many. 0: nothing now, the
 * stream ended (a SHUTDOWN is owed) or failed (the connection is reset).
 */
uint32_t vsock_conn_readv(struct vsock_conn *c, const struct iovec *iov,
			  unsigned int niov);
/* The header of an RW packet of @len bytes just read for @c. */
void vsock_conn_rw_hdr(struct vsock_conn *c, uint32_t len,
		       uint8_t raw[VSOCK_HDR_SIZE]);

#endif
