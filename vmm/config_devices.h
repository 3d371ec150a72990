/* SPDX-License-Identifier: MIT */
#ifndef VMM_CONFIG_DEVICES_H
#define VMM_CONFIG_DEVICES_H

#include "config.h"

/*
 * The virtio device flags. Each adds to @cfg only when the whole value is
 * valid; on error @e names the flag, the value and the part that is wrong.
 */

/* --disk PATH[,ro][,serial=ID] (repeatable, up to CONFIG_MAX_DISKS) */
int config_add_disk(struct vm_config *cfg, const char *arg, struct err *e);

/* --net tap=NAME[,mac=MAC] or --net fd=N[,mac=MAC] (up to CONFIG_MAX_NETS) */
int config_add_net(struct vm_config *cfg, const char *arg, struct err *e);

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

#endif
