// SPDX-License-Identifier: MIT
/*
 * virtio-net on a TAP device with IFF_VNET_HDR: the 12-byte
 * virtio_net_hdr_v1 the guest writes goes to the TAP as is, and the one the
 * TAP gives back goes to the guest, so checksum and TSO offloads need no
 * work here. One frame at a time is read from the TAP; when the guest has
 * no receive buffer for it, the TAP leaves the event loop until the guest
 * adds some.
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "devices/rate_limiter.h"
#include "virtio.h"
#include "vmm/state.h"

#define NET_RX_BUF (VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME)
/* Frames moved per event before other event sources get their turn. */
#define NET_BUDGET 256

#define NET_TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

struct net_used {
	uint16_t head;
	uint32_t len;
};

/* What GetMetrics and --metrics report of a NIC (docs/metrics.md). */
struct net_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t rx_throttled;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_dropped;
	uint64_t tx_throttled;
};

#define NET_METRIC(field, help)                                                \
	{ #field, NULL, METRIC_COUNTER, offsetof(struct net_counters, field),  \
	  help }

static const struct metric_desc net_metric_descs[] = {
	NET_METRIC(rx_packets, "Frames given to the guest"),
	NET_METRIC(rx_bytes, "Bytes of frames given to the guest"),
	NET_METRIC(rx_dropped,
		   "Frames from the TAP the guest's buffers could not hold"),
	NET_METRIC(rx_throttled,
		   "Times receiving waited for the NIC's rate limit"),
	NET_METRIC(tx_packets, "Frames the guest sent to the TAP"),
	NET_METRIC(tx_bytes, "Bytes of frames the guest sent to the TAP"),
	NET_METRIC(tx_dropped,
		   "Frames from the guest that were malformed or the TAP refused"),
	NET_METRIC(tx_throttled,
		   "Times sending waited for the NIC's rate limit"),
};

struct virtio_net {
	struct virtio_device vdev;
	uint8_t config[VIRTIO_NET_CFG_SIZE];
	char label[48]; /* "tap NAME" or "tap fd N", for messages */

	int tap_fd;
	struct event_source tap_src;
	bool tap_watched;
	struct event_source sync_src; /* an eventfd: re-sync TAP polling */
	bool sync_watched;
	bool tap_offloads; /* the TAP accepts TUNSETOFFLOAD */
	bool rx_broken;    /* reading the TAP failed for good */
	bool tx_blocked;   /* the TAP refused a frame; wait for EPOLLOUT */

	/* The frame read from the TAP and not yet given to the guest. */
	uint8_t *rx_buf;
	size_t rx_len;
	bool rx_admitted; /* the receive limit let the pending frame through */
	struct net_used rx_used[VIRTIO_NET_QUEUE_SIZE];

	struct net_counters counters;
	struct metrics_group metrics;
	/* Each direction has its own buckets, both sized by one config. */
	struct rate_limiter rx_limiter;
	struct rate_limiter tx_limiter;
	bool limiters_ready;
	struct rate_limit_control limit_control;
};

static struct virtio_net *to_net(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_net, vdev);
}

/*
 * Watches the TAP for exactly what the device can act on now; without
 * anything to wait for, the TAP leaves the event loop. Loop thread only.
 */
static void net_sync_poll(struct virtio_net *net)
{
	struct event_loop *loop = net->vdev.host->loop;
	uint32_t want = 0;

	if (virtio_active(&net->vdev)) {
		if (!net->rx_len && !net->rx_broken)
			want |= EPOLLIN;
		if (net->tx_blocked)
			want |= EPOLLOUT;
	}
	if (!want) {
		if (net->tap_watched)
			event_loop_remove(loop, &net->tap_src);
		net->tap_watched = false;
		return;
	}
	if (net->tap_watched) {
		event_loop_modify(loop, &net->tap_src, want);
		return;
	}
	net->tap_src.events = want;
	if (event_loop_add(loop, &net->tap_src) < 0) {
		log_error("%s: watching the TAP: %s", net->label,
			  strerror(errno));
		return;
	}
	net->tap_watched = true;
}

static void net_sync_event(void *opaque, uint32_t events)
{
	struct virtio_net *net = opaque;
	uint64_t v;

	(void)events;
	if (read(net->sync_src.fd, &v, sizeof(v)) < 0)
		return;
	virtio_lock(&net->vdev);
	net_sync_poll(net);
	virtio_unlock(&net->vdev);
}

/*
 * From a vCPU thread (activate, reset): the loop thread re-syncs, through
 * an eventfd of the device's own, so nothing of it is left queued on the
 * loop once it is destroyed.
 */
static void net_request_sync(struct virtio_net *net)
{
	uint64_t one = 1;

	if (write(net->sync_src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("%s: waking the event loop: %s", net->label,
			  strerror(errno));
}

/* Host pointer of byte @off of @iov; @off is known to be inside. */
static uint8_t *iov_byte(const struct iovec *iov, unsigned int n, size_t off)
{
	for (unsigned int i = 0; i < n; i++) {
		if (off < iov[i].iov_len)
			return (uint8_t *)iov[i].iov_base + off;
		off -= iov[i].iov_len;
	}
	return NULL;
}

/*
 * Copies the pending frame into as many receive chains as it needs (one
 * without MRG_RXBUF) and publishes them together with num_buffers set.
 * Returns 1 when the frame is gone (delivered or dropped), 0 when the
 * guest has too few buffers (they are given back), -1 on a broken ring.
 */
static int net_rx_frame(struct virtio_net *net, struct virtq *vq)
{
	bool mrg = virtio_has_feature(&net->vdev, VIRTIO_NET_F_MRG_RXBUF);
	uint8_t *num_buffers[2] = { NULL, NULL };
	uint16_t nbufs = 0;
	size_t off = 0;

	while (off < net->rx_len) {
		struct virtq_chain c;
		const struct iovec *in;
		size_t n;
		int ret;

		if (nbufs == vq->size) {
			log_guest_once("%s: frame of %zu bytes needs more than %u receive buffers; dropped",
				       net->label, net->rx_len, vq->size);
			virtq_unpop(vq, nbufs);
			metric_add(&net->counters.rx_dropped, 1);
			return 1;
		}
		ret = virtio_pop(&net->vdev, vq, &c);
		if (ret <= 0) {
			virtq_unpop(vq, nbufs);
			return ret;
		}
		in = c.iov + c.nr_out;
		if (c.nr_out || c.in_len < (nbufs ? 1 : VIRTIO_NET_HDR_SIZE)) {
			virtio_needs_reset(&net->vdev, "receive buffer not device-writable or smaller than the header");
			return -1;
		}
		if (!mrg && c.in_len < net->rx_len) {
			log_guest_once("%s: frame of %zu bytes does not fit a %llu-byte receive buffer; dropped",
				       net->label, net->rx_len,
				       (unsigned long long)c.in_len);
			virtq_unpop(vq, 1);
			metric_add(&net->counters.rx_dropped, 1);
			return 1;
		}
		n = MIN(c.in_len, net->rx_len - off);
		iov_from_buf(in, c.nr_in, 0, net->rx_buf + off, n);
		if (!nbufs) {
			num_buffers[0] = iov_byte(in, c.nr_in, VIRTIO_NET_HDR_NUM_BUFFERS);
			num_buffers[1] = iov_byte(in, c.nr_in, VIRTIO_NET_HDR_NUM_BUFFERS + 1);
		}
		net->rx_used[nbufs++] = (struct net_used){ c.head, (uint32_t)n };
		off += n;
	}
	*num_buffers[0] = (uint8_t)nbufs;
	*num_buffers[1] = (uint8_t)(nbufs >> 8);
	for (uint16_t i = 0; i < nbufs; i++)
		virtq_fill(vq, i, net->rx_used[i].head, net->rx_used[i].len);
	virtq_publish(vq, nbufs);
	metric_add(&net->counters.rx_packets, 1);
	metric_add(&net->counters.rx_bytes, net->rx_len - VIRTIO_NET_HDR_SIZE);
	return 1;
}

/* Reads the next frame from the TAP; false when there is none. */
static bool net_rx_read(struct virtio_net *net)
{
	ssize_t n;

	do
		n = read(net->tap_fd, net->rx_buf, NET_RX_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN) {
			log_error("%s: read: %s; receive stopped", net->label,
				  strerror(errno));
			net->rx_broken = true;
		}
		return false;
	}
	if (n < VIRTIO_NET_HDR_SIZE)
		return false;
	net->rx_len = (size_t)n;
	net->rx_admitted = false;
	/* DATA_VALID and NEEDS_CSUM belong to guests that took GUEST_CSUM. */
	if (!virtio_has_feature(&net->vdev, VIRTIO_NET_F_GUEST_CSUM))
		net->rx_buf[VIRTIO_NET_HDR_FLAGS] = 0;
	return true;
}

static void net_rx(struct virtio_net *net)
{
	struct virtq *vq = &net->vdev.vqs[VIRTIO_NET_RXQ];
	bool delivered = false;

	for (unsigned int budget = NET_BUDGET; budget; budget--) {
		if (!net->rx_len && (net->rx_broken || !net_rx_read(net)))
			break;
		/* Held until the limit allows it; the TAP waits meanwhile. */
		if (!net->rx_admitted &&
		    !rate_limiter_admit(&net->rx_limiter,
					net->rx_len - VIRTIO_NET_HDR_SIZE))
			break;
		net->rx_admitted = true;
		if (net_rx_frame(net, vq) <= 0)
			break;
		net->rx_len = 0;
		delivered = true;
	}
	if (delivered)
		virtio_notify_used(&net->vdev, vq);
}

static void net_count_tx(struct virtio_net *net, ssize_t n)
{
	if (n < VIRTIO_NET_HDR_SIZE) {
		metric_add(&net->counters.tx_dropped, 1);
		return;
	}
	metric_add(&net->counters.tx_packets, 1);
	metric_add(&net->counters.tx_bytes, (uint64_t)n - VIRTIO_NET_HDR_SIZE);
}

static void net_tx(struct virtio_net *net)
{
	struct virtq *vq = &net->vdev.vqs[VIRTIO_NET_TXQ];
	bool pushed = false;
	unsigned int budget;

	for (budget = NET_BUDGET; budget; budget--) {
		struct virtq_chain c;
		ssize_t n;

		/* A NIC waiting for its limits resumes from a timer. */
		if (rate_limiter_waiting(&net->tx_limiter) ||
		    virtio_pop(&net->vdev, vq, &c) <= 0)
			break;
		if (c.nr_in || c.out_len < VIRTIO_NET_HDR_SIZE ||
		    c.out_len > VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME) {
			log_guest_once("%s: malformed transmit chain of %llu bytes dropped",
				       net->label,
				       (unsigned long long)c.out_len);
			metric_add(&net->counters.tx_dropped, 1);
		} else {
			if (!rate_limiter_admit(&net->tx_limiter,
						c.out_len - VIRTIO_NET_HDR_SIZE)) {
				virtq_unpop(vq, 1);
				break;
			}
			do
				n = writev(net->tap_fd, c.iov, (int)c.nr_out);
			while (n < 0 && errno == EINTR);
			if (n < 0 && errno == EAGAIN) {
				virtq_unpop(vq, 1);
				net->tx_blocked = true;
				break;
			}
			net_count_tx(net, n);
		}
		virtq_push(vq, c.head, 0);
		pushed = true;
	}
	/* Out of budget with chains left: continue after other events. */
	if (!budget)
		virtio_queue_kick(&net->vdev, vq);
	if (pushed)
		virtio_notify_used(&net->vdev, vq);
}

static void net_tap_event(void *opaque, uint32_t events)
{
	struct virtio_net *net = opaque;

	virtio_lock(&net->vdev);
	if (virtio_active(&net->vdev)) {
		if ((events & EPOLLOUT) && net->tx_blocked) {
			net->tx_blocked = false;
			net_tx(net);
		}
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			net_rx(net);
	}
	net_sync_poll(net);
	virtio_unlock(&net->vdev);
}

/* Event loop: a direction's limit has the tokens its next frame waited for. */
static void net_rx_resume(void *opaque)
{
	struct virtio_net *net = opaque;

	virtio_lock(&net->vdev);
	if (virtio_active(&net->vdev)) {
		net_rx(net);
		net_sync_poll(net);
	}
	virtio_unlock(&net->vdev);
}

static void net_tx_resume(void *opaque)
{
	struct virtio_net *net = opaque;

	virtio_lock(&net->vdev);
	if (virtio_active(&net->vdev) && !net->tx_blocked) {
		net_tx(net);
		net_sync_poll(net);
	}
	virtio_unlock(&net->vdev);
}

static int net_set_limits(void *opaque, const struct rate_limit_config *cfg,
			  struct err *e)
{
	struct virtio_net *net = opaque;

	(void)e;
	virtio_lock(&net->vdev);
	rate_limiter_set(&net->rx_limiter, cfg);
	rate_limiter_set(&net->tx_limiter, cfg);
	virtio_unlock(&net->vdev);
	return 0;
}

static void net_queue_notify(struct virtio_device *vdev, struct virtq *vq)
{
	struct virtio_net *net = to_net(vdev);

	if (vq->index == VIRTIO_NET_RXQ)
		net_rx(net);
	else if (!net->tx_blocked)
		net_tx(net);
	net_sync_poll(net);
}

/* Dependencies between offload features (5.1.3.1). */
static bool net_features_ok(struct virtio_device *vdev, uint64_t f)
{
	struct virtio_net *net = to_net(vdev);
	bool ok = true;

#define NEEDS(feature, dep)                                                    \
	if ((f & VIRTIO_BIT(feature)) && !(f & (dep)))                         \
		ok = false
	NEEDS(VIRTIO_NET_F_GUEST_TSO4, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	NEEDS(VIRTIO_NET_F_GUEST_TSO6, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	NEEDS(VIRTIO_NET_F_GUEST_ECN, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
					      VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
	NEEDS(VIRTIO_NET_F_HOST_TSO4, VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	NEEDS(VIRTIO_NET_F_HOST_TSO6, VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	NEEDS(VIRTIO_NET_F_HOST_ECN, VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
					     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6));
#undef NEEDS
	if (!ok)
		log_guest_once("%s: offload features %#llx accepted without the features they depend on",
			       net->label, (unsigned long long)f);
	return ok;
}

/* What the guest can take from the TAP decides the TAP's offloads. */
static int net_activate(struct virtio_device *vdev)
{
	struct virtio_net *net = to_net(vdev);
	unsigned int offloads = 0;

	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
		offloads |= TUN_F_CSUM;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4))
		offloads |= TUN_F_TSO4;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6))
		offloads |= TUN_F_TSO6;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ECN))
		offloads |= TUN_F_TSO_ECN;
	if (net->tap_offloads &&
	    ioctl(net->tap_fd, TUNSETOFFLOAD, offloads) < 0) {
		log_error("%s: TUNSETOFFLOAD %#x: %s", net->label, offloads,
			  strerror(errno));
		return -1;
	}
	net_request_sync(net);
	return 0;
}

static void net_reset(struct virtio_device *vdev)
{
	struct virtio_net *net = to_net(vdev);

	net->rx_len = 0;
	net->rx_admitted = false;
	net->tx_blocked = false;
	net_request_sync(net);
}

static void net_free(struct virtio_net *net)
{
	if (net->limiters_ready) {
		rate_limiter_destroy(&net->rx_limiter);
		rate_limiter_destroy(&net->tx_limiter);
	}
	if (net->tap_watched)
		event_loop_remove(net->vdev.host->loop, &net->tap_src);
	if (net->sync_watched)
		event_loop_remove(net->vdev.host->loop, &net->sync_src);
	if (net->sync_src.fd >= 0)
		close(net->sync_src.fd);
	if (net->tap_fd >= 0)
		close(net->tap_fd);
	free(net->rx_buf);
	free(net);
}

static void net_destroy(struct virtio_device *vdev)
{
	net_free(to_net(vdev));
}

/*
 * The guest keeps the MAC it read (a generated one too) whatever TAP the
 * restored device is on.
 */
static int net_restore(struct virtio_device *vdev,
		       const struct state_section *s, struct err *e)
{
	struct virtio_net *net = to_net(vdev);
	uint8_t saved[VIRTIO_NET_CFG_SIZE];

	if (virtio_saved_config(vdev, s, saved, e) < 0)
		return -1;
	if (saved[VIRTIO_NET_CFG_MAC] & 1)
		return err_set(e, "%s: the saved MAC is a multicast address",
			       s->label);
	memcpy(net->config, saved, sizeof(saved));
	return 0;
}

static const struct virtio_device_ops net_ops = {
	.features_ok = net_features_ok,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
	.restore = net_restore,
};

static int tap_open_name(struct virtio_net *net, const char *name,
			 struct err *e)
{
	struct ifreq ifr;

	if (strlen(name) == 0 || strlen(name) >= IFNAMSIZ)
		return err_set(e, "%s: interface names have 1 to %d characters",
			       net->label, IFNAMSIZ - 1);
	net->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (net->tap_fd < 0 && (errno == EACCES || errno == EPERM))
		return err_set(e, "%s: permission denied opening /dev/net/tun (needs CAP_NET_ADMIN or read-write access to it)",
			       net->label);
	if (net->tap_fd < 0)
		return err_errno(e, "%s: /dev/net/tun", net->label);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(net->tap_fd, TUNSETIFF, &ifr) == 0)
		return 0;
	if (errno == EPERM)
		return err_set(e, "%s: permission denied: opening a TAP needs CAP_NET_ADMIN, or a TAP created for this user beforehand (ip tuntap add %s mode tap vnet_hdr user USER)",
			       net->label, name);
	if (errno == EBUSY)
		return err_set(e, "%s: in use by another process", net->label);
	if (errno == EINVAL)
		return err_set(e, "%s: exists and is not a TAP with vnet headers (ip tuntap add %s mode tap vnet_hdr)",
			       net->label, name);
	return err_errno(e, "%s: TUNSETIFF", net->label);
}

static int tap_adopt_fd(struct virtio_net *net, int fd, struct err *e)
{
	struct ifreq ifr;
	int fl;

	memset(&ifr, 0, sizeof(ifr));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return err_errno(e, "%s", net->label);
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return err_set(e, "%s: not an attached TAP device", net->label);
	if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
	    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
		return err_set(e, "%s: %s was not opened with IFF_TAP, IFF_NO_PI and IFF_VNET_HDR",
			       net->label, ifr.ifr_name);
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return err_errno(e, "%s: fcntl", net->label);
	net->tap_fd = fd;
	return 0;
}

/* Header size, offload support and a quiet TAP until the guest is ready. */
static int tap_setup(struct virtio_net *net, struct err *e)
{
	int hdr = VIRTIO_NET_HDR_SIZE;

	if (ioctl(net->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err_errno(e, "%s: TUNSETVNETHDRSZ", net->label);
	net->tap_offloads =
		ioctl(net->tap_fd, TUNSETOFFLOAD, NET_TAP_OFFLOADS) == 0;
	if (net->tap_offloads && ioctl(net->tap_fd, TUNSETOFFLOAD, 0) < 0)
		return err_errno(e, "%s: TUNSETOFFLOAD", net->label);
	net->tap_src = (struct event_source){
		.fd = net->tap_fd, .fn = net_tap_event, .opaque = net,
	};
	return 0;
}

static int net_set_mac(struct virtio_net *net, const struct net_config *cfg,
		       struct err *e)
{
	uint8_t *mac = net->config + VIRTIO_NET_CFG_MAC;

	if (cfg->has_mac) {
		memcpy(mac, cfg->mac, 6);
		return 0;
	}
	if (getrandom(mac, 6, 0) != 6)
		return err_errno(e, "%s: random MAC address", net->label);
	/* Unicast and locally administered. */
	mac[0] = (uint8_t)((mac[0] & ~0x01) | 0x02);
	return 0;
}

static void net_fill_features(struct virtio_net *net)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		     VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		     VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN);

	if (net->tap_offloads)
		f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN);
	net->vdev.features = f;
	put_le16(net->config + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
}

static int net_sync_setup(struct virtio_net *net, struct err *e)
{
	net->sync_src = (struct event_source){
		.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		.events = EPOLLIN, .fn = net_sync_event, .opaque = net,
	};
	if (net->sync_src.fd < 0)
		return err_errno(e, "%s: eventfd", net->label);
	if (event_loop_add(net->vdev.host->loop, &net->sync_src) < 0)
		return err_errno(e, "%s: epoll", net->label);
	net->sync_watched = true;
	return 0;
}

/* Counters and limits; the core names the group ("net0") when it adds it. */
static int net_setup_limits(struct virtio_net *net,
			    const struct rate_limit_config *cfg, struct err *e)
{
	struct device_host *host = net->vdev.host;

	net->metrics = (struct metrics_group){
		.subsystem = "net", .id_label = "device",
		.descs = net_metric_descs,
		.nr_descs = ARRAY_SIZE(net_metric_descs),
		.block = &net->counters,
	};
	net->limit_control = (struct rate_limit_control){
		.set = net_set_limits, .opaque = net,
	};
	if (rate_limiter_init(&net->rx_limiter, host, cfg, net_rx_resume, net,
			      &net->counters.rx_throttled, e) < 0)
		return err_prefix(e, "%s: rate limiter", net->label);
	if (rate_limiter_init(&net->tx_limiter, host, cfg, net_tx_resume, net,
			      &net->counters.tx_throttled, e) < 0) {
		rate_limiter_destroy(&net->rx_limiter);
		return err_prefix(e, "%s: rate limiter", net->label);
	}
	net->limiters_ready = true;
	return 0;
}

int virtio_net_create(struct device_host *host,
		      const struct virtio_attach *at,
		      const struct net_config *cfg, struct device **out,
		      struct rate_limit_control **limits, struct err *e)
{
	struct virtio_net *net = calloc(1, sizeof(*net));
	int ret;

	if (!net)
		return err_set(e, "virtio-net: out of memory");
	net->tap_fd = net->sync_src.fd = -1;
	net->vdev = (struct virtio_device){
		.name = "virtio-net",
		.device_id = VIRTIO_ID_NET,
		.nr_queues = 2,
		.queue_max = { VIRTIO_NET_QUEUE_SIZE, VIRTIO_NET_QUEUE_SIZE },
		.config = net->config,
		.config_len = sizeof(net->config),
		.ops = &net_ops,
		.host = host,
	};
	if (cfg->tap_name) {
		snprintf(net->label, sizeof(net->label), "tap %s", cfg->tap_name);
		ret = tap_open_name(net, cfg->tap_name, e);
	} else {
		snprintf(net->label, sizeof(net->label), "tap fd %d", cfg->tap_fd);
		ret = tap_adopt_fd(net, cfg->tap_fd, e);
	}
	if (ret < 0 || tap_setup(net, e) < 0 || net_set_mac(net, cfg, e) < 0 ||
	    net_setup_limits(net, &cfg->rate_limit, e) < 0)
		goto fail;
	net->rx_buf = malloc(NET_RX_BUF);
	if (!net->rx_buf) {
		err_set(e, "%s: out of memory", net->label);
		goto fail;
	}
	net_fill_features(net);
	if (net_sync_setup(net, e) < 0)
		goto fail;
	if (virtio_attach(host, at, &net->vdev, out, e) < 0) {
		err_prefix(e, "%s", net->label);
		goto fail;
	}
	(*out)->metrics = &net->metrics;
	*limits = &net->limit_control;
	return 0;
fail:
	net_free(net);
	return -1;
}
