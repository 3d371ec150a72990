// SPDX-License-Identifier: MIT
/*
 * The balloon, as fuchsia.virtualization's BalloonController
 * (balloon_controller.fidl): GetNumPages, RequestNumPages, GetMemStats.
 */
#include "lib/json.h"
#include "vmm/api/methods.h"

static struct balloon_control *need_balloon(struct api *api,
					    struct rpc_error *re)
{
	return method_need_device(api, api->vm.balloon, "balloon", re) < 0 ?
		       NULL : api->vm.balloon;
}

METHOD(method_get_num_pages)
{
	struct balloon_control *b;
	uint32_t actual, target;

	(void)call, (void)fd;
	if (method_no_params("GetNumPages", params, re) < 0 ||
	    !(b = need_balloon(api, re)))
		return -1;
	re->code = RPC_FAILED;
	if (b->get_num_pages(b->opaque, &actual, &target, &re->e) < 0)
		return -1;
	*result = json_object_new_object();
	if (!*result || json_add_u32(*result, "num_pages", actual) < 0 ||
	    json_add_u32(*result, "requested_num_pages", target) < 0)
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	return METHOD_DONE;
}

METHOD(method_request_num_pages)
{
	static const char *const fields[] = { "requested_num_pages", NULL };
	struct balloon_control *b;
	struct json_object *v = NULL;
	uint32_t pages = 0;

	(void)call, (void)result, (void)fd;
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_u32(params, "", "requested_num_pages", &pages, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	if (!params || !json_object_object_get_ex(params, "requested_num_pages", &v) || !v)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"requested_num_pages: missing");
	if (!(b = need_balloon(api, re)))
		return -1;
	re->code = RPC_FAILED;
	return b->request_num_pages(b->opaque, pages, &re->e) < 0 ? -1 :
								    METHOD_DONE;
}

static struct json_object *mem_stats_json(const struct balloon_stats *stats)
{
	struct json_object *r = json_object_new_object(), *arr;

	if (!r || !(arr = json_add_array(r, "mem_stats")))
		goto oom;
	for (unsigned int i = 0; i < stats->nr && i < BALLOON_MAX_STATS; i++) {
		struct json_object *o = json_append_object(arr);

		if (!o || json_add_u32(o, "tag", stats->stats[i].tag) < 0 ||
		    json_add_u64(o, "val", stats->stats[i].val) < 0)
			goto oom;
	}
	return r;
oom:
	json_object_put(r);
	return NULL;
}

static void mem_stats_done(void *ctx, const struct balloon_stats *stats,
			   const struct err *e)
{
	struct device_call *dc = ctx;
	struct rpc_error re;

	if (e) {
		re.code = RPC_FAILED;
		re.e = *e;
		api_call_fail(dc->call, &re);
	} else {
		method_reply_or_oom(dc->call, mem_stats_json(stats));
	}
	device_call_free(dc);
}

METHOD(method_get_mem_stats)
{
	struct balloon_control *b;
	struct device_call *dc;

	(void)result, (void)fd;
	if (method_no_params("GetMemStats", params, re) < 0 ||
	    !(b = need_balloon(api, re)))
		return -1;
	if (api->state != API_STATE_RUNNING)
		return rpc_fail(re, RPC_BAD_STATE,
				"the VM is paused: only a running guest reports statistics");
	if (!(dc = device_call_new(api, call, re)))
		return -1;
	re->code = RPC_FAILED;
	if (b->get_mem_stats(b->opaque, mem_stats_done, dc, &re->e) < 0) {
		device_call_free(dc);
		return -1;
	}
	return METHOD_DEFERRED;
}
