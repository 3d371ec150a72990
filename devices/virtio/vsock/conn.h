/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_VIRTIO_VSOCK_CONN_H
#define DEVICES_VIRTIO_VSOCK_CONN_H

/*
 * Inside the vsock device, shared by its three files:
 *   vsock.c       the virtio device: queues, packet checks, the receive
 *                 loop, events, the control interface, the lifecycle
 *   vsock_conn.c  connections: the stream state machine, credit, the
 *                 relay between guest packets and host sockets
 *   vsock_host.c  host endpoints: the Unix socket and its CONNECT
 *                 handshake, listeners, connecting out for the guest
 * All state is guarded by the device lock (virtio_lock) and touched only
 * on the event loop thread, except the few flags reset sets (see
 * vsock_sync()).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/config.h"
#include "vmm/control.h"
#include "lib/event.h"
#include "lib/ring.h"

#include "devices/virtio/virtio.h"
#include "vsock.h"

#define VSOCK_HASH_SIZE 1024
#define VSOCK_RST_QUEUE 128

/* An intrusive doubly linked list; an unlinked node points at itself. */
struct vsock_link {
	struct vsock_link *prev, *next;
};

static inline void link_init(struct vsock_link *l)
{
	l->prev = l->next = l;
}

static inline bool link_empty(const struct vsock_link *l)
{
	return l->next == l;
}

static inline void link_del(struct vsock_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

static inline void link_add_tail(struct vsock_link *head, struct vsock_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

/* A decoded packet header. */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE]);

enum vsock_conn_state {
	CONN_HANDSHAKE,   /* host client: reading "CONNECT <port>\n" */
	CONN_CONNECTING,  /* REQUEST owed or sent to the guest */
	CONN_ESTABLISHED,
	CONN_CLOSING,     /* closed both ways: waiting for an RST or a flush */
	CONN_DEAD,        /* host socket closed; only an RST is owed */
};

enum vsock_conn_origin {
	ORIGIN_UDS,   /* a client of the device's Unix socket */
	ORIGIN_API,   /* the control API's connect */
	ORIGIN_GUEST, /* the guest connected to the host */
};

/* Packets a connection owes the guest. */
#define PEND_REQUEST 0x01
#define PEND_RESPONSE 0x02
#define PEND_CREDIT_UPDATE 0x04
#define PEND_CREDIT_REQUEST 0x08
#define PEND_SHUTDOWN 0x10
#define PEND_RST 0x20

/* A control API connect waiting for its answer, then for its callback. */
struct vsock_call {
	vsock_connect_done_fn done;
	void *ctx;
	int fd;
	struct err e;
	struct vsock_call *next;
};

struct vsock_conn {
	struct vsock *vs;
	struct event_source src;
	bool watched;
	enum vsock_conn_state state;
	enum vsock_conn_origin origin;
	uint32_t host_port;
	uint32_t guest_port;
	int fd;
	int api_fd; /* ORIGIN_API: the caller's end, until established */
	struct vsock_call *call;
	int64_t deadline_ms; /* 0: none */

	uint32_t pending;        /* PEND_* */
	uint32_t shutdown_flags; /* what our SHUTDOWN says */
	bool shutdown_sent;

	/* Guest to host. */
	struct ring out;      /* what the host socket did not take yet */
	uint32_t fwd_cnt;     /* bytes handed to the host socket */
	uint32_t fwd_cnt_sent; /* the fwd_cnt the guest last heard */
	uint32_t guest_shut;  /* SHUTDOWN flags the guest sent */
	bool host_wr_shut;    /* shutdown(SHUT_WR) done */

	/* Host to guest. */
	uint32_t tx_cnt; /* bytes sent to the guest */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	bool credit_requested;
	bool host_readable; /* the host socket has data or EOF for us */
	bool host_eof;

	struct vsock_conn *hash_next;
	struct vsock_link all;
	struct vsock_link rxl; /* on vs->rx_pending while linked */
};

/* A connection-less RST owed to the guest. */
struct vsock_rst {
	uint64_t src_cid;
	uint32_t src_port;
	uint32_t dst_port;
};

struct vsock_listener {
	uint32_t port;
	char path[CONFIG_VSOCK_PATH_MAX];
};

struct vsock {
	struct virtio_device vdev;
	uint8_t config[VIRTIO_VSOCK_CFG_SIZE];
	struct vsock_control control;
	uint32_t guest_cid;
	char uds_path[CONFIG_VSOCK_PATH_MAX];

	struct vsock_listener listeners[VSOCK_MAX_LISTENERS];
	unsigned int nr_listeners;

	int listen_fd;
	struct event_source listen_src;
	bool listen_watched;
	int timer_fd;
	struct event_source timer_src;
	bool timer_watched;
	bool timer_armed;
	int work_fd; /* deferred work: reset cleanup, callbacks */
	struct event_source work_src;
	bool work_watched;
	bool reset_pending; /* set by reset (any thread), acted on by the loop */
	bool bad_connect_logged;

	struct vsock_conn *hash[VSOCK_HASH_SIZE];
	struct vsock_link conns;
	struct vsock_link rx_pending;
	unsigned int nr_conns;
	uint32_t next_port;

	struct vsock_rst rst[VSOCK_RST_QUEUE];
	unsigned int rst_head;
	unsigned int rst_len;
	bool event_pending; /* TRANSPORT_RESET owed to the driver */

	struct iovec slice[VIRTIO_VSOCK_QUEUE_SIZE];
	struct vsock_call *calls_done; /* callbacks to run without the lock */
	struct vsock_counters counters;
};

/* vsock.c */
/*
 * Acts on a reset made on another thread: every connection is dropped.
 * Returns true when that happened (connections seen before are gone).
 */
bool vsock_sync(struct vsock *vs);
/* Hands the guest what connections owe it, while it has buffers. */
void vsock_rx_run(struct vsock *vs);
void vsock_rst_queue(struct vsock *vs, uint64_t src_cid, uint32_t src_port,
		     uint32_t dst_port);
void vsock_complete(struct vsock *vs, struct vsock_call *call);
void vsock_timer_update(struct vsock *vs);
int64_t vsock_now_ms(void);
bool vsock_ready(struct vsock *vs);

/* vsock_conn.c */
struct vsock_conn *vsock_conn_new(struct vsock *vs, enum vsock_conn_origin o,
				  int fd);
struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port,
				   uint32_t guest_port);
void vsock_conn_hash(struct vsock_conn *c);
void vsock_conn_free(struct vsock_conn *c);
/* Closes the host side and owes the guest an RST. */
void vsock_conn_reset(struct vsock_conn *c);
void vsock_conn_update_poll(struct vsock_conn *c);
void vsock_conn_want_rx(struct vsock_conn *c);
/* A packet from the guest for an existing connection. */
void vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h,
		     const struct iovec *iov, unsigned int niov);
/*
 * Writes the next packet @c owes the guest into the receive chain @iov
 * (@space bytes). Returns the bytes written, 0 when @c owes nothing now.
 */
uint32_t vsock_conn_fill(struct vsock_conn *c, const struct iovec *iov,
			 unsigned int niov, uint64_t space);
bool vsock_conn_rx_work(const struct vsock_conn *c);
/* The next packet @c owes the guest is stream data it can send now. */
bool vsock_conn_data_ready(const struct vsock_conn *c);
uint32_t vsock_conn_credit(const struct vsock_conn *c);
/*
 * Reads host bytes into @iov; returns how many. 0: nothing now, the
 * socket ended (a SHUTDOWN is owed) or failed (the connection is reset).
 */
uint32_t vsock_conn_readv(struct vsock_conn *c, const struct iovec *iov,
			  unsigned int niov);
/* The header of an RW packet of @len bytes just read for @c. */
void vsock_conn_rw_hdr(struct vsock_conn *c, uint32_t len,
		       uint8_t raw[VSOCK_HDR_SIZE]);
void vsock_conn_expire(struct vsock_conn *c);
void vsock_conn_event(void *opaque, uint32_t events);
void vsock_conn_established(struct vsock_conn *c);

/* vsock_host.c */
int vsock_host_open(struct vsock *vs, const struct vsock_config *cfg,
		    struct err *e);
void vsock_host_close(struct vsock *vs);
void vsock_host_handshake(struct vsock_conn *c);
/* The guest asks for host port @h->dst_port. */
void vsock_host_guest_connect(struct vsock *vs, const struct vsock_hdr *h);
int vsock_host_add_listener(struct vsock *vs, uint32_t port, const char *path,
			    struct err *e);
int vsock_host_remove_listener(struct vsock *vs, uint32_t port,
			       struct err *e);
int vsock_host_api_connect(struct vsock *vs, uint32_t port,
			   vsock_connect_done_fn done, void *ctx,
			   struct err *e);
/* Allocates the host port of a host-initiated connection to @guest_port. */
int vsock_host_alloc_port(struct vsock *vs, uint32_t guest_port,
			  uint32_t *out);
/* Starts a host-initiated connection: owes the guest a REQUEST. */
int vsock_host_start_request(struct vsock_conn *c, uint32_t guest_port);

#endif
