// SPDX-License-Identifier: MIT
#include "config_devices.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The serial a virtio-blk disk reports holds at most 20 bytes. */
#define DISK_SERIAL_MAX 20
/* Linux interface names: IFNAMSIZ - 1 characters. */
#define IFNAME_MAX 15

/* Splits "a,b,c" in place; returns the next item or NULL at the end. */
static char *next_item(char **rest)
{
	return *rest ? strsep(rest, ",") : NULL;
}

static bool serial_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == ':';
}

int config_check_disk_serial(const char *id, struct err *why)
{
	size_t n = strlen(id);

	if (n == 0 || n > DISK_SERIAL_MAX)
		return err_set(why, "'%s' must have 1 to %d characters", id,
			       DISK_SERIAL_MAX);
	for (size_t i = 0; i < n; i++)
		if (!serial_char_ok(id[i]))
			return err_set(why, "'%s' may only use letters, digits and - _ . :",
				       id);
	return 0;
}

int config_rate_limit_item(const char *item, struct rate_limit_config *rl,
			   struct err *why)
{
	static const struct {
		const char *key;
		bool bytes;
		size_t offset;
	} keys[] = {
		{ "iops=", false, offsetof(struct rate_limit_config, ops) },
		{ "iops_burst=", false,
		  offsetof(struct rate_limit_config, ops_burst) },
		{ "bw=", true, offsetof(struct rate_limit_config, bytes) },
		{ "bw_burst=", true,
		  offsetof(struct rate_limit_config, bytes_burst) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		size_t n = strlen(keys[i].key);
		uint64_t *field = (uint64_t *)((char *)rl + keys[i].offset);

		if (strncmp(item, keys[i].key, n))
			continue;
		if (parse_size(item + n, keys[i].bytes,
			       keys[i].bytes ? CONFIG_RATE_BYTES_MAX :
					       CONFIG_RATE_OPS_MAX, field) < 0)
			return err_set(why, "%.*s '%s' is not %s", (int)n - 1,
				       item, item + n,
				       keys[i].bytes ?
				       "a byte count up to 1 PiB (K, M and G suffixes allowed)" :
				       "a number of operations up to 1000000000");
		return 1;
	}
	return 0;
}

int config_check_rate_limit(const struct rate_limit_config *rl,
			    struct err *why)
{
	if (rl->ops > CONFIG_RATE_OPS_MAX || rl->ops_burst > CONFIG_RATE_OPS_MAX)
		return err_set(why, "iops and iops_burst are at most %llu",
			       CONFIG_RATE_OPS_MAX);
	if (rl->bytes > CONFIG_RATE_BYTES_MAX ||
	    rl->bytes_burst > CONFIG_RATE_BYTES_MAX)
		return err_set(why, "bw and bw_burst are at most %llu bytes",
			       CONFIG_RATE_BYTES_MAX);
	if (rl->ops_burst && !rl->ops)
		return err_set(why, "iops_burst needs iops (the rate it refills at)");
	if (rl->bytes_burst && !rl->bytes)
		return err_set(why, "bw_burst needs bw (the rate it refills at)");
	return 0;
}

static int parse_disk(const char *arg, char *s, struct disk_config *d,
		      struct err *e)
{
	char *item = next_item(&s);
	struct err why;
	int ret;

	if (!item || !*item)
		return err_set(e, "--disk '%s': the image path is empty", arg);
	d->path = strdup(item);
	if (!d->path)
		return err_set(e, "out of memory");
	while ((item = next_item(&s))) {
		if (!strcmp(item, "ro")) {
			d->read_only = true;
		} else if (!strncmp(item, "serial=", 7)) {
			if (d->serial)
				return err_set(e, "--disk '%s': serial given twice",
					       arg);
			if (config_check_disk_serial(item + 7, &why) < 0)
				return err_set(e, "--disk '%s': serial %s",
					       arg, why.msg);
			d->serial = strdup(item + 7);
			if (!d->serial)
				return err_set(e, "out of memory");
		} else if ((ret = config_rate_limit_item(item, &d->rate_limit,
							 &why)) != 0) {
			if (ret < 0)
				return err_set(e, "--disk '%s': %s", arg,
					       why.msg);
		} else {
			return err_set(e, "--disk '%s': unknown option '%s' (expected ro, serial=ID, iops=N, iops_burst=N, bw=BYTES or bw_burst=BYTES)",
				       arg, item);
		}
	}
	if (config_check_rate_limit(&d->rate_limit, &why) < 0)
		return err_set(e, "--disk '%s': %s", arg, why.msg);
	return 0;
}

int config_add_disk(struct vm_config *cfg, const char *arg, struct err *e)
{
	struct disk_config d = { 0 };
	char *copy;
	int ret;

	if (cfg->nr_disks == CONFIG_MAX_DISKS)
		return err_set(e, "--disk '%s': at most %d disks", arg,
			       CONFIG_MAX_DISKS);
	copy = strdup(arg);
	if (!copy)
		return err_set(e, "out of memory");
	ret = parse_disk(arg, copy, &d, e);
	free(copy);
	if (ret < 0) {
		free(d.path);
		free(d.serial);
		return -1;
	}
	d.lun = (uint8_t)cfg->nr_disks; /* controller 0 */
	cfg->disks[cfg->nr_disks++] = d;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t any = 0;

	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (hi < 0 || lo < 0 || s[2] != (i < 5 ? ':' : '\0'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
		any |= mac[i];
		s += 3;
	}
	/* A station address is unicast and not all zeroes. */
	return (mac[0] & 1) || !any ? -1 : 0;
}

/* What Linux accepts as an interface name (dev_valid_name()). */
static bool ifname_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > IFNAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' ||
		    name[i] == 0x7f)
			return false;
	return true;
}

static int parse_fd(const char *arg, const char *s, int *fd, struct err *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > INT_MAX || *s == '+' ||
	    *s == '-')
		return err_set(e, "--net '%s': fd '%s' is not a descriptor number",
			       arg, s);
	*fd = (int)v;
	return 0;
}

static int parse_net_item(const char *arg, const char *item,
			  struct net_config *n, struct err *e)
{
	struct err why;
	int ret;

	if ((ret = config_rate_limit_item(item, &n->rate_limit, &why)) != 0)
		return ret < 0 ? err_set(e, "--net '%s': %s", arg, why.msg) : 0;
	if (!strncmp(item, "tap=", 4) || !strncmp(item, "fd=", 3)) {
		if (n->tap_name || n->tap_fd >= 0)
			return err_set(e, "--net '%s': give one of tap=NAME or fd=N",
				       arg);
		if (item[0] == 'f')
			return parse_fd(arg, item + 3, &n->tap_fd, e);
		if (!ifname_ok(item + 4))
			return err_set(e, "--net '%s': '%s' is not an interface name (1 to %d characters, no '/', ':' or spaces)",
				       arg, item + 4, IFNAME_MAX);
		n->tap_name = strdup(item + 4);
		return n->tap_name ? 0 : err_set(e, "out of memory");
	}
	if (!strncmp(item, "mac=", 4)) {
		if (n->has_mac)
			return err_set(e, "--net '%s': mac given twice", arg);
		if (config_parse_mac(item + 4, n->mac) < 0)
			return err_set(e, "--net '%s': '%s' is not a unicast MAC address like 52:54:00:12:34:56",
				       arg, item + 4);
		n->has_mac = true;
		return 0;
	}
	return err_set(e, "--net '%s': unknown option '%s' (expected tap=NAME, fd=N, mac=MAC, iops=N, iops_burst=N, bw=BYTES or bw_burst=BYTES)",
		       arg, item);
}

int config_parse_net(const char *arg, struct net_config *out, struct err *e)
{
	struct net_config n = { .tap_fd = -1 };
	char *copy, *s, *item;
	struct err why;
	int ret = 0;

	copy = s = strdup(arg);
	if (!copy)
		return err_set(e, "out of memory");
	while (ret == 0 && (item = next_item(&s)))
		ret = parse_net_item(arg, item, &n, e);
	free(copy);
	if (ret == 0 && !n.tap_name && n.tap_fd < 0)
		ret = err_set(e, "--net '%s': needs tap=NAME or fd=N", arg);
	if (ret == 0 && config_check_rate_limit(&n.rate_limit, &why) < 0)
		ret = err_set(e, "--net '%s': %s", arg, why.msg);
	if (ret < 0) {
		free(n.tap_name);
		return -1;
	}
	*out = n;
	return 0;
}

int config_add_net(struct vm_config *cfg, const char *arg, struct err *e)
{
	if (cfg->nr_nets == CONFIG_MAX_NETS)
		return err_set(e, "--net '%s': at most %d network devices", arg,
			       CONFIG_MAX_NETS);
	if (config_parse_net(arg, &cfg->nets[cfg->nr_nets], e) < 0)
		return -1;
	cfg->nr_nets++;
	return 0;
}

int config_set_console(struct vm_config *cfg, const char *arg, struct err *e)
{
	if (chardev_config_parse(arg, &cfg->console, e) < 0)
		return err_prefix(e, "--console");
	return 0;
}

/* Strict unsigned decimal: digits only, at most @max. */
static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Room for "_PORT" after the --vsock socket path (guest connections). */
#define VSOCK_UDS_MAX (CONFIG_VSOCK_PATH_MAX - 1 - 11)

int config_check_vsock_uds(const char *path, struct err *why)
{
	size_t n = strlen(path);

	if (n == 0)
		return err_set(why, "is empty");
	if (n > VSOCK_UDS_MAX)
		return err_set(why, "has %zu bytes, at most %d (PATH_PORT must fit a Unix socket address)",
			       n, VSOCK_UDS_MAX);
	return 0;
}

int config_vsock_listen(struct vsock_config *v, uint32_t port,
			const char *path, struct err *why)
{
	size_t n = strlen(path);

	if (v->nr_listeners == CONFIG_MAX_VSOCK_LISTENERS)
		return err_set(why, "at most %d listeners",
			       CONFIG_MAX_VSOCK_LISTENERS);
	if (port > CONFIG_VSOCK_PORT_MAX)
		return err_set(why, "port %u is VMADDR_PORT_ANY, not a port",
			       port);
	if (n == 0)
		return err_set(why, "the socket path is empty");
	if (n >= CONFIG_VSOCK_PATH_MAX)
		return err_set(why, "the socket path has %zu bytes, at most %d",
			       n, CONFIG_VSOCK_PATH_MAX - 1);
	for (unsigned int i = 0; i < v->nr_listeners; i++)
		if (v->listeners[i].port == port)
			return err_set(why, "port %u already has a listener",
				       port);
	v->listeners[v->nr_listeners].port = port;
	memcpy(v->listeners[v->nr_listeners].path, path, n + 1);
	v->nr_listeners++;
	return 0;
}

static int parse_vsock_item(const char *arg, const char *item,
			    struct vsock_config *v, bool *has_cid,
			    struct err *e)
{
	struct err why;

	if (!strncmp(item, "cid=", 4)) {
		if (*has_cid)
			return err_set(e, "--vsock '%s': cid given twice", arg);
		if (parse_u32(item + 4, CONFIG_VSOCK_CID_MAX, &v->cid) < 0 ||
		    v->cid < CONFIG_VSOCK_CID_MIN)
			return err_set(e, "--vsock '%s': cid '%s' is not a number from %u to %u (0-2 are reserved)",
				       arg, item + 4, CONFIG_VSOCK_CID_MIN,
				       CONFIG_VSOCK_CID_MAX);
		*has_cid = true;
		return 0;
	}
	if (!strncmp(item, "uds=", 4)) {
		if (v->uds_path[0])
			return err_set(e, "--vsock '%s': uds given twice", arg);
		if (config_check_vsock_uds(item + 4, &why) < 0)
			return err_set(e, "--vsock '%s': the uds path %s", arg,
				       why.msg);
		memcpy(v->uds_path, item + 4, strlen(item + 4) + 1);
		return 0;
	}
	return err_set(e, "--vsock '%s': unknown option '%s' (expected cid=N or uds=PATH)",
		       arg, item);
}

int config_set_vsock(struct vm_config *cfg, const char *arg, struct err *e)
{
	struct vsock_config v = cfg->vsock;
	bool has_cid = false;
	char *copy, *s, *item;
	int ret = 0;

	if (cfg->vsock.enabled)
		return err_set(e, "--vsock '%s': given twice (a VM has one vsock device)",
			       arg);
	v.uds_path[0] = '\0';
	copy = s = strdup(arg);
	if (!copy)
		return err_set(e, "out of memory");
	while (ret == 0 && (item = next_item(&s)))
		ret = parse_vsock_item(arg, item, &v, &has_cid, e);
	free(copy);
	if (ret < 0)
		return -1;
	if (!has_cid)
		return err_set(e, "--vsock '%s': needs cid=N (the guest's CID, 3 or more)",
			       arg);
	if (!v.uds_path[0])
		return err_set(e, "--vsock '%s': needs uds=PATH (the host's Unix socket)",
			       arg);
	v.enabled = true;
	cfg->vsock = v;
	return 0;
}

int config_add_vsock_listen(struct vm_config *cfg, const char *arg,
			    struct err *e)
{
	const char *eq = strchr(arg, '=');
	char port_s[16];
	uint32_t port;
	size_t n;

	if (!eq)
		return err_set(e, "--vsock-listen '%s': expected PORT=PATH", arg);
	n = (size_t)(eq - arg);
	if (n < sizeof(port_s)) {
		memcpy(port_s, arg, n);
		port_s[n] = '\0';
	}
	if (n >= sizeof(port_s) ||
	    parse_u32(port_s, CONFIG_VSOCK_PORT_MAX, &port) < 0)
		return err_set(e, "--vsock-listen '%s': port '%.*s' is not a number from 0 to %u",
			       arg, (int)n, arg, CONFIG_VSOCK_PORT_MAX);
	if (config_vsock_listen(&cfg->vsock, port, eq + 1, e) < 0)
		return err_prefix(e, "--vsock-listen '%s'", arg);
	return 0;
}

static int parse_balloon_item(const char *arg, const char *item,
			      struct balloon_config *b, bool *has_stats,
			      struct err *e)
{
	if (!strcmp(item, "deflate-on-oom")) {
		b->deflate_on_oom = true;
		return 0;
	}
	if (!strncmp(item, "stats=", 6)) {
		if (*has_stats)
			return err_set(e, "--balloon '%s': stats given twice",
				       arg);
		if (parse_u32(item + 6, CONFIG_BALLOON_STATS_MAX_S,
			      &b->stats_interval_s) < 0)
			return err_set(e, "--balloon '%s': stats interval '%s' is not a number of seconds from 0 to %d",
				       arg, item + 6, CONFIG_BALLOON_STATS_MAX_S);
		*has_stats = true;
		return 0;
	}
	return err_set(e, "--balloon '%s': unknown option '%s' (expected deflate-on-oom or stats=SECONDS)",
		       arg, item);
}

int config_set_balloon(struct vm_config *cfg, const char *arg, struct err *e)
{
	struct balloon_config b = { 0 };
	bool has_stats = false;
	char *copy, *s, *item;
	int ret = 0;

	copy = s = strdup(arg);
	if (!copy)
		return err_set(e, "out of memory");
	item = next_item(&s);
	if (parse_u32(item, UINT32_MAX, &b.pages) < 0)
		ret = err_set(e, "--balloon '%s': '%s' is not a number of 4 KiB pages",
			      arg, item);
	while (ret == 0 && (item = next_item(&s)))
		ret = parse_balloon_item(arg, item, &b, &has_stats, e);
	free(copy);
	if (ret < 0)
		return -1;
	b.enabled = true;
	cfg->balloon = b;
	return 0;
}
