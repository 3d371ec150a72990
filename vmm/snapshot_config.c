// SPDX-License-Identifier: MIT
/*
 * The VM's config in a snapshot, and the host resources a restore may
 * change. The config is read back with the rules the command line and
 * CreateVM follow (config_devices.h, vm_config_validate()), so a state
 * file cannot give a device what a flag could not.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config_devices.h"
#include "snapshot.h"
#include "vmm/arch.h"

#define CONFIG_PATH_MAX 4096
#define CONFIG_CMDLINE_MAX (64 * 1024)

/* ---- saving ---- */

static void put_opt_str(struct state_writer *w, const char *name,
			const char *s)
{
	if (s)
		state_put_str(w, name, s);
}

static void put_chardev(struct state_writer *w, const char *name,
			const struct chardev_config *c)
{
	state_begin(w, name);
	state_put_u64(w, "kind", c->kind);
	put_opt_str(w, "path", c->path);
	state_end(w);
}

static void put_vsock(struct state_writer *w, const struct vsock_config *v)
{
	state_begin(w, "vsock");
	state_put_u64(w, "cid", v->cid);
	state_put_str(w, "uds_path", v->uds_path);
	for (unsigned int i = 0; i < v->nr_listeners; i++) {
		state_begin(w, "listener");
		state_put_u64(w, "port", v->listeners[i].port);
		state_put_str(w, "path", v->listeners[i].path);
		state_end(w);
	}
	state_end(w);
}

/* A device's I/O limits (docs/rate-limits.md), as SetRateLimit left them. */
static void put_rate_limit(struct state_writer *w,
			   const struct rate_limit_config *rl)
{
	state_begin(w, "rate_limit");
	state_put_u64(w, "ops", rl->ops);
	state_put_u64(w, "ops_burst", rl->ops_burst);
	state_put_u64(w, "bytes", rl->bytes);
	state_put_u64(w, "bytes_burst", rl->bytes_burst);
	state_end(w);
}

void snapshot_config_save(struct state_writer *w, const struct vm_config *cfg)
{
	state_begin(w, "config");
	state_put_u64(w, "memory_mib", cfg->mem_mib);
	state_put_u64(w, "hugepages", cfg->hugepages);
	state_put_u64(w, "cpus", cfg->nr_cpus);
	put_opt_str(w, "kernel", cfg->kernel);
	put_opt_str(w, "initrd", cfg->initrd);
	put_opt_str(w, "cmdline", cfg->cmdline);
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++)
		put_chardev(w, "serial", &cfg->serial[i]);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		state_begin(w, "disk");
		state_put_str(w, "path", cfg->disks[i].path);
		state_put_u64(w, "read_only", cfg->disks[i].read_only);
		put_opt_str(w, "serial", cfg->disks[i].serial);
		put_rate_limit(w, &cfg->disks[i].rate_limit);
		state_end(w);
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];

		state_begin(w, "net");
		put_opt_str(w, "tap", n->tap_name);
		if (n->has_mac)
			state_put_bytes(w, "mac", n->mac, sizeof(n->mac));
		put_rate_limit(w, &n->rate_limit);
		state_end(w);
	}
	put_chardev(w, "console", &cfg->console);
	if (cfg->vsock.enabled)
		put_vsock(w, &cfg->vsock);
	if (cfg->balloon.enabled) {
		state_begin(w, "balloon");
		state_put_u64(w, "pages", cfg->balloon.pages);
		state_put_u64(w, "deflate_on_oom", cfg->balloon.deflate_on_oom);
		state_put_u64(w, "stats_interval_s", cfg->balloon.stats_interval_s);
		state_end(w);
	}
	state_end(w);
}

/* ---- loading ---- */

static int get_opt_str(const struct state_section *s, const char *name,
		       size_t max, char **out, struct err *e)
{
	if (!state_has(s, name))
		return 0;
	return state_get_str(s, name, out, max, e);
}

static int load_chardev(const struct state_section *s,
			struct chardev_config *c, struct err *e)
{
	uint32_t kind;

	free(c->path);
	c->path = NULL;
	if (state_get_u32(s, "kind", &kind, e) < 0)
		return -1;
	if (kind > CHARDEV_SOCKET)
		return err_set(e, "%s: unknown back end %u", s->label, kind);
	c->kind = kind;
	if (get_opt_str(s, "path", CONFIG_PATH_MAX, &c->path, e) < 0)
		return -1;
	if ((kind == CHARDEV_FILE || kind == CHARDEV_SOCKET) != !!c->path)
		return err_set(e, "%s: back end %u %s a path", s->label, kind,
			       c->path ? "does not take" : "needs");
	return 0;
}

static int load_serials(const struct state_section *s, struct vm_config *cfg,
			struct err *e)
{
	struct state_section sub;
	unsigned int i = 0;
	size_t pos = 0;

	if (state_count(s, "serial") != CONFIG_NR_SERIAL)
		return err_set(e, "%s: %u serial ports, not %d", s->label,
			       state_count(s, "serial"), CONFIG_NR_SERIAL);
	while (state_next(s, "serial", &pos, &sub) > 0)
		if (load_chardev(&sub, &cfg->serial[i++], e) < 0)
			return -1;
	return 0;
}

static int load_rate_limit(const struct state_section *s,
			   struct rate_limit_config *rl, struct err *e)
{
	struct state_section sub;
	struct err why;

	if (state_get_section(s, "rate_limit", &sub, e) < 0 ||
	    state_get_u64(&sub, "ops", &rl->ops, e) < 0 ||
	    state_get_u64(&sub, "ops_burst", &rl->ops_burst, e) < 0 ||
	    state_get_u64(&sub, "bytes", &rl->bytes, e) < 0 ||
	    state_get_u64(&sub, "bytes_burst", &rl->bytes_burst, e) < 0)
		return -1;
	if (config_check_rate_limit(rl, &why) < 0)
		return err_set(e, "%s: %s", sub.label, why.msg);
	return 0;
}

static int load_disk(const struct state_section *s, struct disk_config *d,
		     struct err *e)
{
	struct err why;

	if (state_get_str(s, "path", &d->path, CONFIG_PATH_MAX, e) < 0 ||
	    state_get_bool(s, "read_only", &d->read_only, e) < 0 ||
	    get_opt_str(s, "serial", CONFIG_PATH_MAX, &d->serial, e) < 0 ||
	    load_rate_limit(s, &d->rate_limit, e) < 0)
		return -1;
	if (!*d->path)
		return err_set(e, "%s: the path is empty", s->label);
	if (d->serial && config_check_disk_serial(d->serial, &why) < 0)
		return err_set(e, "%s: serial %s", s->label, why.msg);
	return 0;
}

static int load_net(const struct state_section *s, struct net_config *n,
		    struct err *e)
{
	n->tap_fd = -1;
	if (get_opt_str(s, "tap", CONFIG_PATH_MAX, &n->tap_name, e) < 0 ||
	    load_rate_limit(s, &n->rate_limit, e) < 0)
		return -1;
	if (state_has(s, "mac")) {
		if (state_get_bytes(s, "mac", n->mac, sizeof(n->mac), e) < 0)
			return -1;
		if (n->mac[0] & 1)
			return err_set(e, "%s: the MAC is a multicast address",
				       s->label);
		n->has_mac = true;
	}
	return 0;
}

static int load_devices(const struct state_section *s, struct vm_config *cfg,
			struct err *e)
{
	struct state_section sub;
	size_t pos = 0;

	if (state_count(s, "disk") > CONFIG_MAX_DISKS ||
	    state_count(s, "net") > CONFIG_MAX_NETS)
		return err_set(e, "%s: more than %d disks or %d network devices",
			       s->label, CONFIG_MAX_DISKS, CONFIG_MAX_NETS);
	while (state_next(s, "disk", &pos, &sub) > 0)
		if (load_disk(&sub, &cfg->disks[cfg->nr_disks++], e) < 0)
			return -1;
	pos = 0;
	while (state_next(s, "net", &pos, &sub) > 0)
		if (load_net(&sub, &cfg->nets[cfg->nr_nets++], e) < 0)
			return -1;
	if (state_get_section(s, "console", &sub, e) < 0 ||
	    load_chardev(&sub, &cfg->console, e) < 0)
		return -1;
	return 0;
}

static int load_vsock(const struct state_section *s, struct vsock_config *v,
		      struct err *e)
{
	struct state_section l;
	char *path = NULL;
	struct err why;
	size_t pos = 0;

	if (state_get_u32(s, "cid", &v->cid, e) < 0 ||
	    state_get_str(s, "uds_path", &path, CONFIG_VSOCK_PATH_MAX, e) < 0)
		return -1;
	if (v->cid < CONFIG_VSOCK_CID_MIN || v->cid > CONFIG_VSOCK_CID_MAX ||
	    config_check_vsock_uds(path, &why) < 0) {
		free(path);
		return err_set(e, "%s: CID %u or socket path %s", s->label,
			       v->cid, why.msg);
	}
	strcpy(v->uds_path, path);
	free(path);
	if (state_count(s, "listener") > CONFIG_MAX_VSOCK_LISTENERS)
		return err_set(e, "%s: more than %d listeners", s->label,
			       CONFIG_MAX_VSOCK_LISTENERS);
	while (state_next(s, "listener", &pos, &l) > 0) {
		uint32_t port;
		int ret;

		if (state_get_u32(&l, "port", &port, e) < 0 ||
		    state_get_str(&l, "path", &path, CONFIG_VSOCK_PATH_MAX, e) < 0)
			return -1;
		ret = config_vsock_listen(v, port, path, &why);
		free(path);
		if (ret < 0)
			return err_set(e, "%s: %s", l.label, why.msg);
	}
	v->enabled = true;
	return 0;
}

static int load_balloon(const struct state_section *s,
			struct balloon_config *b, struct err *e)
{
	if (state_get_u32(s, "pages", &b->pages, e) < 0 ||
	    state_get_bool(s, "deflate_on_oom", &b->deflate_on_oom, e) < 0 ||
	    state_get_u32(s, "stats_interval_s", &b->stats_interval_s, e) < 0)
		return -1;
	if (b->stats_interval_s > CONFIG_BALLOON_STATS_MAX_S)
		return err_set(e, "%s: statistics every %u s, more than %d",
			       s->label, b->stats_interval_s,
			       CONFIG_BALLOON_STATS_MAX_S);
	b->enabled = true;
	return 0;
}

static int load_config(const struct state_section *s, struct vm_config *cfg,
		       struct err *e)
{
	struct state_section sub;
	struct config_error ce;
	uint64_t mib;
	uint32_t cpus;

	if (state_get_u64(s, "memory_mib", &mib, e) < 0 ||
	    state_get_bool(s, "hugepages", &cfg->hugepages, e) < 0 ||
	    state_get_u32(s, "cpus", &cpus, e) < 0 ||
	    state_get_str(s, "kernel", &cfg->kernel, CONFIG_PATH_MAX, e) < 0 ||
	    get_opt_str(s, "initrd", CONFIG_PATH_MAX, &cfg->initrd, e) < 0 ||
	    get_opt_str(s, "cmdline", CONFIG_CMDLINE_MAX, &cfg->cmdline, e) < 0 ||
	    load_serials(s, cfg, e) < 0 || load_devices(s, cfg, e) < 0)
		return -1;
	if (mib > (1ULL << 30))
		return err_set(e, "%s: %llu MiB of memory", s->label,
			       (unsigned long long)mib);
	cfg->mem_mib = mib;
	cfg->nr_cpus = cpus;
	if (state_has(s, "vsock") &&
	    (state_get_section(s, "vsock", &sub, e) < 0 ||
	     load_vsock(&sub, &cfg->vsock, e) < 0))
		return -1;
	if (state_has(s, "balloon") &&
	    (state_get_section(s, "balloon", &sub, e) < 0 ||
	     load_balloon(&sub, &cfg->balloon, e) < 0))
		return -1;
	if (vm_config_validate(cfg, CONFIG_MAX_CPUS, &ce) < 0)
		return err_set(e, "%s: %s", s->label, ce.why.msg);
	return 0;
}

int snapshot_config_load(const struct state_section *s, struct vm_config *cfg,
			 struct err *e)
{
	vm_config_init(cfg);
	if (load_config(s, cfg, e) < 0) {
		vm_config_free(cfg);
		return -1;
	}
	return 0;
}

/* ---- host resources a restore may change ---- */

void snapshot_overrides_init(struct snapshot_overrides *ov)
{
	memset(ov, 0, sizeof(*ov));
	vm_config_init(&ov->cfg);
}

void snapshot_overrides_free(struct snapshot_overrides *ov)
{
	vm_config_free(&ov->cfg);
}

static int replace_str(char **dst, const char *src, struct err *e)
{
	char *copy = src ? strdup(src) : NULL;

	if (src && !copy)
		return err_set(e, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

/*
 * A limit given at restore replaces the snapshot's limits of that device
 * as a whole; without one the device keeps the snapshot's.
 */
static void override_rate_limit(struct rate_limit_config *dst,
				const struct rate_limit_config *src)
{
	if (src->ops || src->ops_burst || src->bytes || src->bytes_burst)
		*dst = *src;
}

static int override_disks(struct vm_config *cfg, const struct vm_config *ov,
			  struct err *e)
{
	if (ov->nr_disks > cfg->nr_disks)
		return err_set(e, "%u disks given; the snapshot has %u (a restore cannot add devices)",
			       ov->nr_disks, cfg->nr_disks);
	for (unsigned int i = 0; i < ov->nr_disks; i++) {
		const struct disk_config *d = &ov->disks[i];

		if (d->read_only || d->serial)
			return err_set(e, "disk %u: a restore takes the image path only; the guest's disk keeps the snapshot's mode and serial",
				       i);
		if (replace_str(&cfg->disks[i].path, d->path, e) < 0)
			return -1;
		override_rate_limit(&cfg->disks[i].rate_limit, &d->rate_limit);
	}
	return 0;
}

static int override_nets(struct vm_config *cfg, const struct vm_config *ov,
			 struct err *e)
{
	if (ov->nr_nets > cfg->nr_nets)
		return err_set(e, "%u network devices given; the snapshot has %u (a restore cannot add devices)",
			       ov->nr_nets, cfg->nr_nets);
	for (unsigned int i = 0; i < ov->nr_nets; i++) {
		const struct net_config *n = &ov->nets[i];

		if (n->has_mac)
			return err_set(e, "network device %u: a restore takes the TAP only; the guest's MAC is the snapshot's",
				       i);
		if (replace_str(&cfg->nets[i].tap_name, n->tap_name, e) < 0)
			return -1;
		cfg->nets[i].tap_fd = n->tap_fd;
		override_rate_limit(&cfg->nets[i].rate_limit, &n->rate_limit);
	}
	return 0;
}

static int override_chardevs(struct vm_config *cfg,
			     const struct snapshot_overrides *ov,
			     struct err *e)
{
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++) {
		if (!ov->serial[i])
			continue;
		/* COM1 always exists; the others only when the snapshot had them. */
		if (i > 0 && cfg->serial[i].kind == CHARDEV_NONE)
			return err_set(e, "COM%u: the snapshot's VM has no such port", i + 1);
		if (replace_str(&cfg->serial[i].path, ov->cfg.serial[i].path, e) < 0)
			return -1;
		cfg->serial[i].kind = ov->cfg.serial[i].kind;
	}
	if (!ov->console)
		return 0;
	if (cfg->console.kind == CHARDEV_NONE)
		return err_set(e, "console: the snapshot's VM has no virtio-console");
	if (ov->cfg.console.kind == CHARDEV_NONE)
		return err_set(e, "console: a restore cannot remove the virtio-console; give it another back end");
	if (replace_str(&cfg->console.path, ov->cfg.console.path, e) < 0)
		return -1;
	cfg->console.kind = ov->cfg.console.kind;
	return 0;
}

int snapshot_override(struct snapshot *snap,
		      const struct snapshot_overrides *ov, struct err *e)
{
	struct vm_config *cfg = &snap->cfg;
	const struct vsock_config *v = &ov->cfg.vsock;

	if (override_disks(cfg, &ov->cfg, e) < 0 ||
	    override_nets(cfg, &ov->cfg, e) < 0 ||
	    override_chardevs(cfg, ov, e) < 0)
		return -1;
	if ((v->enabled || v->nr_listeners) && !cfg->vsock.enabled)
		return err_set(e, "vsock: the snapshot's VM has no vsock device");
	if (v->enabled) {
		cfg->vsock.cid = v->cid;
		memcpy(cfg->vsock.uds_path, v->uds_path, sizeof(v->uds_path));
	}
	if (v->nr_listeners) {
		memcpy(cfg->vsock.listeners, v->listeners, sizeof(v->listeners));
		cfg->vsock.nr_listeners = v->nr_listeners;
	}
	return 0;
}
