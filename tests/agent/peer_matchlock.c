// SPDX-License-Identifier: MIT
/*
 * Each function follows the matchlock function named in its comment; the
 * request bytes are what Go's json.Marshal writes for the request struct
 * (fields in struct order, omitempty respected, maps sorted, HTML escaped).
 */
#include "tests/agent/peer_matchlock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/proto/frame.h"
#include "lib/json.h"
#include "tests/agent/gojson.h"
#include "tests/agent/peer_io.h"

/* Frames the tests accept (the host itself takes any length). */
#define ML_FRAME_MAX (64u * 1024 * 1024)

/* vsock.SendMessage: the header, then the payload when there is one. */
static int send_message(int fd, uint8_t type, const void *data, size_t len,
			struct err *e)
{
	uint8_t hdr[FRAME_HDR_SIZE];

	frame_put_hdr(hdr, type, (uint32_t)len);
	if (peer_write_full(fd, hdr, sizeof(hdr), e) < 0)
		return -1;
	return len ? peer_write_full(fd, data, len, e) : 0;
}

/* A header and its payload, as every host reader here does it. */
static int read_message(int fd, uint8_t *type, uint8_t **data, uint32_t *len,
			struct err *e)
{
	uint8_t hdr[FRAME_HDR_SIZE];

	*data = NULL;
	if (peer_read_full(fd, hdr, sizeof(hdr), e) < 0)
		return err_prefix(e, "reading a response header");
	*type = hdr[0];
	*len = get_be32(hdr + 1);
	if (*len > ML_FRAME_MAX)
		return err_set(e, "a %u-byte frame", *len);
	*data = malloc(*len + 1);
	if (!*data)
		return err_set(e, "out of memory");
	(*data)[*len] = 0;
	if (*len && peer_read_full(fd, *data, *len, e) < 0) {
		free(*data);
		*data = NULL;
		return err_prefix(e, "reading response data");
	}
	return 0;
}

/* vsock.ExecRequest / ExecTTYRequest as json.Marshal writes them. */
static char *exec_request(const char *command, const struct ml_exec_opts *o,
			  bool tty, uint16_t rows, uint16_t cols, size_t *len)
{
	struct gojson g;

	gj_begin(&g, true);
	gj_str(&g, "command", command);
	if (o && o->working_dir && o->working_dir[0])
		gj_str(&g, "working_dir", o->working_dir);
	if (o && o->env && o->env[0])
		gj_env(&g, "env", o->env);
	if (tty) {
		gj_uint(&g, "rows", rows);
		gj_uint(&g, "cols", cols);
	}
	if (o && o->user && o->user[0])
		gj_str(&g, "user", o->user);
	return gj_end(&g, len);
}

void ml_exec_result_free(struct ml_exec_result *r)
{
	bytebuf_free(&r->out);
	bytebuf_free(&r->err);
	bytebuf_free(&r->wout);
	bytebuf_free(&r->werr);
}

/* The ExecResponse, as json.Unmarshal into vsock.ExecResponse reads it. */
static int exec_response(const uint8_t *data, uint32_t len,
			 struct ml_exec_result *r, uint8_t **out,
			 size_t *out_len, uint8_t **err, size_t *err_len,
			 struct err *e)
{
	struct json_object *o;
	const char *error = NULL;
	int64_t code = 0;
	int ret = -1;

	if (json_parse_object((const char *)data, len, &o, e) < 0)
		return err_prefix(e, "decode response");
	if (go_int(o, "exit_code", INT64_MIN, INT64_MAX, &code, e) < 0 ||
	    go_bytes(o, "stdout", out, out_len, e) < 0 ||
	    go_bytes(o, "stderr", err, err_len, e) < 0 ||
	    go_string(o, "error", &error, e) < 0) {
		err_prefix(e, "decode response");
		goto out;
	}
	r->exit_code = code;
	snprintf(r->remote_error, sizeof(r->remote_error), "%s", error);
	ret = 0;
out:
	json_object_put(o);
	return ret;
}

/* Stdout/Stderr frames, then an ExecResult (execVsock's read loop). */
static int exec_read_loop(int fd, bool streaming, struct ml_exec_result *r,
			  struct err *e)
{
	for (;;) {
		uint8_t type, *data, *rout = NULL, *rerr = NULL;
		uint32_t len;
		size_t out_len = 0, err_len = 0;
		int ret;

		if (read_message(fd, &type, &data, &len, e) < 0)
			return -1;
		if (type == FRAME_STDOUT || type == FRAME_STDERR) {
			if (streaming)
				bytebuf_append(type == FRAME_STDOUT ? &r->wout :
					       &r->werr, data, len);
			bytebuf_append(type == FRAME_STDOUT ? &r->out : &r->err,
				       data, len);
		}
		if (type != FRAME_EXEC_RESULT) {
			free(data);
			continue;
		}
		ret = exec_response(data, len, r, &rout, &out_len, &rerr,
				    &err_len, e);
		/* The frames win; the result's fields only when none came. */
		if (!ret && !bytebuf_len(&r->out) && out_len)
			bytebuf_append(&r->out, rout, out_len);
		if (!ret && !bytebuf_len(&r->err) && err_len)
			bytebuf_append(&r->err, rerr, err_len);
		free(rout);
		free(rerr);
		free(data);
		return ret;
	}
}

/* vsock.ExecPipe's stdin goroutine, one step: a chunk or the empty end. */
static int pipe_send_stdin(int fd, const struct ml_exec_opts *o, size_t *sent,
			   bool *ended, struct err *e)
{
	size_t n = MIN((size_t)4096, o->stdin_len - *sent);

	if (!n) {
		*ended = true;
		return send_message(fd, FRAME_STDIN, NULL, 0, e);
	}
	if (send_message(fd, FRAME_STDIN, (const uint8_t *)o->stdin_data + *sent,
			 n, e) < 0)
		return -1;
	*sent += n;
	return 0;
}

/* vsock.ExecPipe: Stdout/Stderr to the writers until Exit. */
static int exec_pipe(int fd, const char *command, const struct ml_exec_opts *o,
		     struct ml_exec_result *r, struct err *e)
{
	size_t len, sent = 0;
	char *req = exec_request(command, o, false, 0, 0, &len);
	bool ended = false;
	int ret = send_message(fd, FRAME_EXEC_PIPE, req, len, e);

	free(req);
	while (ret == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN |
				    (ended ? 0 : POLLOUT) };
		uint8_t type, *data;
		uint32_t n;

		if (poll(&p, 1, PEER_TIMEOUT_MS) <= 0)
			return err_set(e, "ExecPipe: no answer");
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) {
			ret = pipe_send_stdin(fd, o, &sent, &ended, e);
			continue;
		}
		if (read_message(fd, &type, &data, &n, e) < 0)
			return -1;
		if (type == FRAME_STDOUT || type == FRAME_STDERR)
			bytebuf_append(type == FRAME_STDOUT ? &r->wout : &r->werr,
				       data, n);
		if (type == FRAME_EXIT) {
			r->exit_code = n >= 4 ? (int64_t)get_be32(data) : 0;
			free(data);
			return 0;
		}
		free(data);
	}
	return ret;
}

int ml_exec(const struct ml_vm *vm, const char *command,
	    const struct ml_exec_opts *o, struct ml_exec_result *r,
	    struct err *e)
{
	bool streaming = o && o->writers;
	size_t len;
	char *req;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	fd = vm->dial(vm->ctx, ML_PORT_EXEC, e);
	if (fd < 0)
		return -1;
	if (o && o->stdin_set) {
		ret = exec_pipe(fd, command, o, r, e);
		close(fd);
		return ret;
	}
	req = exec_request(command, o, false, 0, 0, &len);
	ret = send_message(fd, streaming ? FRAME_EXEC_STREAM : FRAME_EXEC, req,
			   len, e);
	free(req);
	if (ret == 0)
		ret = exec_read_loop(fd, streaming, r, e);
	close(fd);
	return ret;
}

int ml_exec_interactive(const struct ml_vm *vm, const char *command,
			const struct ml_exec_opts *o, uint16_t rows,
			uint16_t cols, const char *input, struct bytebuf *out,
			int64_t *exit_code, struct err *e)
{
	size_t len;
	char *req = exec_request(command, o, true, rows, cols, &len);
	int fd = vm->dial(vm->ctx, ML_PORT_EXEC, e), ret = -1;

	if (fd < 0) {
		free(req);
		return -1;
	}
	if (send_message(fd, FRAME_EXEC_TTY, req, len, e) < 0 ||
	    (input && input[0] &&
	     send_message(fd, FRAME_STDIN, input, strlen(input), e) < 0))
		goto out;
	for (;;) {
		uint8_t type, *data;
		uint32_t n;

		if (read_message(fd, &type, &data, &n, e) < 0)
			goto out;
		if (type == FRAME_STDOUT)
			bytebuf_append(out, data, n);
		if (type == FRAME_EXIT) {
			*exit_code = n >= 4 ? (int64_t)get_be32(data) : 0;
			free(data);
			ret = 0;
			goto out;
		}
		free(data);
	}
out:
	free(req);
	close(fd);
	return ret;
}

/*
 * vsock.fileRPC: one request, one answer whose type is not looked at,
 * json.Unmarshal into FileResponse; a non-empty error fails the call.
 */
static int file_rpc(const struct ml_vm *vm, uint8_t type, const char *req,
		    size_t len, struct json_object **resp, struct err *e)
{
	uint8_t rtype, *data = NULL;
	uint32_t n;
	const char *error = NULL;
	int fd = vm->dial(vm->ctx, ML_PORT_EXEC, e), ret = -1;

	*resp = NULL;
	if (fd < 0)
		return -1;
	if (send_message(fd, type, req, len, e) < 0 ||
	    read_message(fd, &rtype, &data, &n, e) < 0)
		goto out;
	if (json_parse_object((const char *)data, n, resp, e) < 0 ||
	    go_string(*resp, "error", &error, e) < 0) {
		err_prefix(e, "reading response data");
		goto out;
	}
	if (error[0]) {
		err_set(e, "file operation failed: %s", error);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0 && *resp) {
		json_object_put(*resp);
		*resp = NULL;
	}
	free(data);
	close(fd);
	return ret;
}

int ml_write_file(const struct ml_vm *vm, const char *path,
		  const void *content, size_t len, uint32_t mode,
		  struct err *e)
{
	struct json_object *resp;
	struct gojson g;
	size_t n;
	char *req;
	int ret;

	gj_begin(&g, true);
	gj_str(&g, "path", path);
	gj_bytes(&g, "content", content, len);
	gj_uint(&g, "mode", mode);
	req = gj_end(&g, &n);
	ret = file_rpc(vm, FRAME_WRITE_FILE, req, n, &resp, e);
	free(req);
	json_object_put(resp);
	return ret;
}

static char *path_request(const char *path, size_t *len)
{
	struct gojson g;

	gj_begin(&g, true);
	gj_str(&g, "path", path);
	return gj_end(&g, len);
}

int ml_read_file(const struct ml_vm *vm, const char *path, uint8_t **content,
		 size_t *len, struct err *e)
{
	struct json_object *resp;
	size_t n;
	char *req = path_request(path, &n);
	int ret = file_rpc(vm, FRAME_READ_FILE, req, n, &resp, e);

	free(req);
	*content = NULL;
	*len = 0;
	if (ret == 0)
		ret = go_bytes(resp, "content", content, len, e);
	json_object_put(resp);
	return ret;
}

static int file_info(struct json_object *f, struct ml_file_info *fi,
		     struct err *e)
{
	const char *name = NULL;

	memset(fi, 0, sizeof(*fi));
	if (!json_object_is_type(f, json_type_object))
		return err_set(e, "json: cannot unmarshal into Go value of "
			       "type vsock.FileInfo");
	if (go_string(f, "name", &name, e) < 0 ||
	    go_int(f, "size", INT64_MIN, INT64_MAX, &fi->size, e) < 0 ||
	    go_uint32(f, "mode", &fi->mode, e) < 0 ||
	    go_bool(f, "is_dir", &fi->is_dir, e) < 0)
		return -1;
	snprintf(fi->name, sizeof(fi->name), "%s", name);
	return 0;
}

int ml_list_files(const struct ml_vm *vm, const char *path,
		  struct ml_file_info **files, size_t *n, struct err *e)
{
	struct json_object *resp, *arr = NULL;
	size_t len;
	char *req = path_request(path, &len);
	int ret = file_rpc(vm, FRAME_LIST_FILES, req, len, &resp, e);

	free(req);
	*files = NULL;
	*n = 0;
	if (ret < 0)
		return -1;
	ret = go_object(resp, "files", json_type_array, &arr, e);
	if (!ret && arr) {
		*n = json_object_array_length(arr);
		*files = calloc(*n + 1, sizeof(**files));
		for (size_t i = 0; *files && i < *n && !ret; i++)
			ret = file_info(json_object_array_get_idx(arr, i),
					&(*files)[i], e);
	}
	json_object_put(resp);
	if (ret < 0) {
		free(*files);
		*files = NULL;
	}
	return ret;
}

int ml_open_port_forward(int fd, const char *host, uint16_t port,
			 struct err *e)
{
	struct gojson g;
	uint8_t type, *data;
	uint32_t len;
	size_t n;
	char *req;
	int ret;

	gj_begin(&g, true);
	if (host && host[0])
		gj_str(&g, "host", host);
	gj_uint(&g, "port", port);
	req = gj_end(&g, &n);
	ret = send_message(fd, FRAME_PORT_FORWARD, req, n, e);
	free(req);
	if (ret < 0)
		return -1;
	if (read_message(fd, &type, &data, &len, e) < 0)
		return err_prefix(e, "read port-forward response");
	if (type == FRAME_READY)
		ret = 0;
	else if (type == FRAME_STDERR)
		ret = err_set(e, "port forward rejected: %s", (char *)data);
	else
		ret = err_set(e, "unexpected port-forward response: type=%u",
			      type);
	free(data);
	return ret;
}

int ml_ready(const struct ml_vm *vm, struct err *e)
{
	int fd = vm->dial(vm->ctx, ML_PORT_READY, e);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
