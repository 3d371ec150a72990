/* SPDX-License-Identifier: MIT */
#ifndef VMM_CONFIG_DEVICES_H
#define VMM_CONFIG_DEVICES_H

#include "config.h"

/*
 * The virtio device flags. Each adds to @cfg only when the whole value is
 * valid; on error @e names the flag, the value and the part that is wrong.
 */

/*
 * --disk PATH[,ro][,serial=ID][,LIMIT]... (repeatable, up to
 * CONFIG_MAX_DISKS), LIMIT being iops=N, iops_burst=N, bw=BYTES or
 * bw_burst=BYTES (config_rate_limit_item())
 */
int config_add_disk(struct vm_config *cfg, const char *arg, struct err *e);

/*
 * --net tap=NAME[,mac=MAC][,LIMIT]... or --net fd=N[,mac=MAC][,LIMIT]...
 * (up to CONFIG_MAX_NETS)
 */
int config_add_net(struct vm_config *cfg, const char *arg, struct err *e);
/* The same value into @out alone (hot-added NICs). */
int config_parse_net(const char *arg, struct net_config *out, struct err *e);

/* --console DEST: stdio, file:PATH, socket:PATH or none */
int config_set_console(struct vm_config *cfg, const char *arg, struct err *e);

/* Parses a MAC address "xx:xx:xx:xx:xx:xx" (unicast, not all zeroes). */
int config_parse_mac(const char *s, uint8_t mac[6]);

/* --vsock cid=N,uds=PATH: the guest's CID (3 or more) and the Unix socket */
int config_set_vsock(struct vm_config *cfg, const char *arg, struct err *e);

/* --vsock-listen PORT=PATH (repeatable, up to CONFIG_MAX_VSOCK_LISTENERS) */
int config_add_vsock_listen(struct vm_config *cfg, const char *arg,
			    struct err *e);

/* --balloon PAGES[,deflate-on-oom][,stats=SECONDS] */
int config_set_balloon(struct vm_config *cfg, const char *arg, struct err *e);

/*
 * The rules for the devices' values, shared by the flags above and by the
 * control socket's VMConfig. On error @why says what is wrong without
 * naming the field; each interface names it its own way.
 */

/* CIDs 0-2 belong to the hypervisor, the loopback and the host. */
#define CONFIG_VSOCK_CID_MIN 3
#define CONFIG_VSOCK_CID_MAX 0xfffffffeU
/* Port 0xffffffff is VMADDR_PORT_ANY. */
#define CONFIG_VSOCK_PORT_MAX 0xfffffffeU
/* A day: longer intervals are better served by asking on demand. */
#define CONFIG_BALLOON_STATS_MAX_S 86400

/* The largest rates and bursts a limit takes. */
#define CONFIG_RATE_OPS_MAX 1000000000ULL
#define CONFIG_RATE_BYTES_MAX (1ULL << 50)

/*
 * One item of a device's limit: "iops=N", "iops_burst=N", "bw=BYTES" or
 * "bw_burst=BYTES" (BYTES may end in K, M or G, powers of 1024). Returns
 * 1 when @item is one of them and its value is good, 0 when it is some
 * other item, -1 with @why when its value is bad.
 */
int config_rate_limit_item(const char *item, struct rate_limit_config *rl,
			   struct err *why);
/* A limit's rules: values in range, no burst without its rate. */
int config_check_rate_limit(const struct rate_limit_config *rl,
			    struct err *why);

/* A disk's serial: 1 to 20 letters, digits and "-_.:". */
int config_check_disk_serial(const char *id, struct err *why);
/* The vsock device's Unix socket: room must be left for "_PORT". */
int config_check_vsock_uds(const char *path, struct err *why);
/* Adds a vsock listener: guest connections to host @port go to @path. */
int config_vsock_listen(struct vsock_config *v, uint32_t port,
			const char *path, struct err *why);

#endif
