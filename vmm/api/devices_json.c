// SPDX-License-Identifier: MIT
#include "devices_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "vmm/config_devices.h"

/* enum chardev_kind, by name. */
static const char *const chardev_types[] = { "NONE", "STDIO", "FILE", "SOCKET" };

/* An error of value @why found in @path.@key. */
static int bad_value(struct rpc_error *re, const char *path, const char *key)
{
	re->code = RPC_INVALID_PARAMS;
	return err_prefix(&re->e, "%s.%s", path, key);
}

static int parse_console(struct json_object *m, const char *p,
			 struct vm_config *cfg, struct rpc_error *re)
{
	static const char *const fields[] = { "type", "path", NULL };
	struct chardev_config *c = &cfg->console;
	int type = CHARDEV_NONE;
	char *path = NULL;

	if (json_check_fields(m, p, fields, &re->e) < 0 ||
	    json_get_enum(m, p, "type", chardev_types,
			  ARRAY_SIZE(chardev_types), &type, &re->e) < 0 ||
	    json_get_str(m, p, "path", &path, &re->e) < 0) {
		free(path);
		return rpc_invalid(re);
	}
	if ((type == CHARDEV_FILE || type == CHARDEV_SOCKET) &&
	    (!path || !*path)) {
		free(path);
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s.path: missing (a %s needs one)", p,
				chardev_types[type]);
	}
	free(c->path);
	c->kind = (enum chardev_kind)type;
	c->path = type == CHARDEV_FILE || type == CHARDEV_SOCKET ? path : NULL;
	if (!c->path)
		free(path);
	return 0;
}

static int parse_listener(struct json_object *l, const char *p, size_t index,
			  void *ctx, struct rpc_error *re)
{
	static const char *const fields[] = { "port", "listener_path", NULL };
	struct vsock_config *v = ctx;
	uint32_t port = 0;
	char *path = NULL;
	int ret;

	(void)index;
	if (json_check_fields(l, p, fields, &re->e) < 0 ||
	    json_get_u32(l, p, "port", &port, &re->e) < 0 ||
	    json_need_str(l, p, "listener_path", &path, &re->e) < 0) {
		free(path);
		return rpc_invalid(re);
	}
	ret = config_vsock_listen(v, port, path, &re->e);
	free(path);
	if (ret < 0) {
		re->code = RPC_INVALID_PARAMS;
		return err_prefix(&re->e, "%s", p);
	}
	return 0;
}

static int parse_vsock(struct json_object *m, const char *p,
		       struct vm_config *cfg, struct rpc_error *re)
{
	static const char *const fields[] = {
		"guest_cid", "uds_path", "listeners", NULL,
	};
	struct vsock_config *v = &cfg->vsock;
	uint32_t cid = 0;
	char *uds = NULL;
	int ret = -1;

	if (v->enabled)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s: the vsock device is given twice (extra_data.vsock too)",
				p);
	if (json_check_fields(m, p, fields, &re->e) < 0 ||
	    json_get_u32(m, p, "guest_cid", &cid, &re->e) < 0 ||
	    json_need_str(m, p, "uds_path", &uds, &re->e) < 0) {
		rpc_invalid(re);
		goto out;
	}
	if (cid < CONFIG_VSOCK_CID_MIN || cid > CONFIG_VSOCK_CID_MAX) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "%s.guest_cid: %u is not from %u to %u (0-2 are reserved)",
			 p, cid, CONFIG_VSOCK_CID_MIN, CONFIG_VSOCK_CID_MAX);
		goto out;
	}
	if (config_check_vsock_uds(uds, &re->e) < 0) {
		bad_value(re, p, "uds_path");
		goto out;
	}
	if (rpc_each_item(m, p, "listeners", SIZE_MAX, "listeners",
			  parse_listener, v, re) < 0)
		goto out;
	v->enabled = true;
	v->cid = cid;
	memcpy(v->uds_path, uds, strlen(uds) + 1);
	ret = 0;
out:
	free(uds);
	return ret;
}

static int parse_balloon(struct json_object *m, const char *p,
			 struct vm_config *cfg, struct rpc_error *re)
{
	static const char *const fields[] = {
		"num_pages", "deflate_on_oom", "stats_interval_s", NULL,
	};
	struct balloon_config b = { .enabled = true };

	if (cfg->balloon.enabled)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s: the balloon device is given twice (extra_data.balloon too)",
				p);
	if (json_check_fields(m, p, fields, &re->e) < 0 ||
	    json_get_u32(m, p, "num_pages", &b.pages, &re->e) < 0 ||
	    json_get_bool(m, p, "deflate_on_oom", &b.deflate_on_oom,
			  &re->e) < 0 ||
	    json_get_u32(m, p, "stats_interval_s", &b.stats_interval_s,
			 &re->e) < 0)
		return rpc_invalid(re);
	if (b.stats_interval_s > CONFIG_BALLOON_STATS_MAX_S)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s.stats_interval_s: %u: at most %d seconds",
				p, b.stats_interval_s,
				CONFIG_BALLOON_STATS_MAX_S);
	cfg->balloon = b;
	return 0;
}

int devices_from_json(struct json_object *m, const char *path,
		      struct vm_config *cfg, struct rpc_error *re)
{
	static const struct {
		const char *key;
		int (*parse)(struct json_object *m, const char *p,
			     struct vm_config *cfg, struct rpc_error *re);
	} devices[] = {
		{ "console", parse_console },
		{ "vsock", parse_vsock },
		{ "balloon", parse_balloon },
	};

	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		char p[JSON_PATH_MAX];
		struct json_object *d;

		if (json_get_object(m, path, devices[i].key, &d, &re->e) < 0)
			return rpc_invalid(re);
		json_path_join(p, sizeof(p), path, devices[i].key);
		if (d && devices[i].parse(d, p, cfg, re) < 0)
			return -1;
	}
	return 0;
}

bool devices_json_any(const struct vm_config *cfg)
{
	return cfg->console.kind != CHARDEV_NONE || cfg->vsock.enabled ||
	       cfg->balloon.enabled;
}

static int console_json(struct json_object *m, const struct chardev_config *c)
{
	struct json_object *o;

	if (c->kind == CHARDEV_NONE)
		return 0;
	if (!(o = json_add_object(m, "console")) ||
	    json_add_string(o, "type", chardev_types[c->kind]) < 0 ||
	    (c->path && json_add_string(o, "path", c->path) < 0))
		return -1;
	return 0;
}

static int vsock_json(struct json_object *m, const struct vsock_config *v)
{
	struct json_object *o, *arr, *l;

	if (!v->enabled)
		return 0;
	if (!(o = json_add_object(m, "vsock")) ||
	    json_add_u32(o, "guest_cid", v->cid) < 0 ||
	    json_add_string(o, "uds_path", v->uds_path) < 0 ||
	    !(arr = json_add_array(o, "listeners")))
		return -1;
	for (unsigned int i = 0; i < v->nr_listeners; i++)
		if (!(l = json_append_object(arr)) ||
		    json_add_u32(l, "port", v->listeners[i].port) < 0 ||
		    json_add_string(l, "listener_path", v->listeners[i].path) < 0)
			return -1;
	return 0;
}

static int balloon_json(struct json_object *m, const struct balloon_config *b)
{
	struct json_object *o;

	if (!b->enabled)
		return 0;
	if (!(o = json_add_object(m, "balloon")) ||
	    json_add_u32(o, "num_pages", b->pages) < 0 ||
	    json_add_bool(o, "deflate_on_oom", b->deflate_on_oom) < 0 ||
	    json_add_u32(o, "stats_interval_s", b->stats_interval_s) < 0)
		return -1;
	return 0;
}

int devices_to_json(struct json_object *m, const struct vm_config *cfg)
{
	if (console_json(m, &cfg->console) < 0 ||
	    vsock_json(m, &cfg->vsock) < 0 ||
	    balloon_json(m, &cfg->balloon) < 0)
		return -1;
	return 0;
}

int rate_limit_from_json(struct json_object *m, const char *path,
			 struct rate_limit_config *rl, struct rpc_error *re)
{
	static const char *const fields[] = {
		"iops", "iops_burst", "bw", "bw_burst", NULL,
	};
	struct rate_limit_config r = { 0 };

	if (json_check_fields(m, path, fields, &re->e) < 0 ||
	    json_get_u64(m, path, "iops", &r.ops, &re->e) < 0 ||
	    json_get_u64(m, path, "iops_burst", &r.ops_burst, &re->e) < 0 ||
	    json_get_u64(m, path, "bw", &r.bytes, &re->e) < 0 ||
	    json_get_u64(m, path, "bw_burst", &r.bytes_burst, &re->e) < 0)
		return rpc_invalid(re);
	if (config_check_rate_limit(&r, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return err_prefix(&re->e, "%s", path);
	}
	*rl = r;
	return 0;
}

struct json_object *rate_limit_json(const struct rate_limit_config *rl)
{
	struct json_object *o = json_object_new_object();

	if (!o || json_add_u64(o, "iops", rl->ops) < 0 ||
	    json_add_u64(o, "iops_burst", rl->ops_burst) < 0 ||
	    json_add_u64(o, "bw", rl->bytes) < 0 ||
	    json_add_u64(o, "bw_burst", rl->bytes_burst) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int rate_limit_to_json(struct json_object *m, const struct rate_limit_config *rl)
{
	struct json_object *o;

	if (!rl->ops && !rl->bytes)
		return 0;
	o = rate_limit_json(rl);
	return o ? json_add(m, "rate_limit", o) : -1;
}
