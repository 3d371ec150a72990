// SPDX-License-Identifier: MIT
#include "lib/proto/exec_msg.h"

#include <stdlib.h>
#include <string.h>

#include "lib/proto/frame.h"
#include "lib/json.h"

int exec_request_decode(const char *json, size_t len, bool tty,
			struct exec_request *req, struct err *e)
{
	struct json_object *obj;
	uint32_t rows = 0, cols = 0;
	int ret = -1;

	memset(req, 0, sizeof(*req));
	if (json_parse_object(json, len, &obj, e) < 0)
		return -1;
	if (json_need_str(obj, NULL, "command", &req->command, e) < 0 ||
	    json_get_str_array(obj, NULL, "args", &req->args, &req->nargs, e) < 0 ||
	    json_get_str(obj, NULL, "working_dir", &req->working_dir, e) < 0 ||
	    json_get_env_map(obj, NULL, "env", &req->env, &req->nenv, e) < 0 ||
	    json_get_str(obj, NULL, "user", &req->user, e) < 0)
		goto out;
	if (!tty && json_get_bytes(obj, NULL, "stdin", &req->stdin_data,
				   &req->stdin_len, NULL, e) < 0)
		goto out;
	if (tty && (json_get_u32(obj, NULL, "rows", &rows, e) < 0 ||
		    json_get_u32(obj, NULL, "cols", &cols, e) < 0))
		goto out;
	if (rows > UINT16_MAX || cols > UINT16_MAX) {
		err_set(e, "rows and cols must fit in 16 bits");
		goto out;
	}
	if (!req->command[0]) {
		err_set(e, "field \"command\" is empty");
		goto out;
	}
	req->rows = (uint16_t)rows;
	req->cols = (uint16_t)cols;
	ret = 0;
out:
	json_object_put(obj);
	if (ret < 0)
		exec_request_free(req);
	return ret;
}

char *exec_request_encode(const struct exec_request *req, bool tty,
			  size_t *len)
{
	struct json_object *obj = json_object_new_object();
	char *out = NULL;

	if (!obj)
		return NULL;
	json_object_object_add(obj, "command",
			       json_object_new_string(req->command));
	if (req->nargs) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < req->nargs; i++)
			json_object_array_add(a,
				json_object_new_string(req->args[i]));
		json_object_object_add(obj, "args", a);
	}
	if (req->working_dir)
		json_object_object_add(obj, "working_dir",
				       json_object_new_string(req->working_dir));
	if (req->nenv) {
		struct json_object *m = json_object_new_object();

		for (size_t i = 0; i < req->nenv; i++) {
			char *eq = strchr(req->env[i], '=');
			char *name;

			if (!eq)
				continue;
			name = strndup(req->env[i], (size_t)(eq - req->env[i]));
			if (name)
				json_object_object_add(m, name,
					json_object_new_string(eq + 1));
			free(name);
		}
		json_object_object_add(obj, "env", m);
	}
	if (!tty && req->stdin_len &&
	    json_add_bytes(obj, "stdin", req->stdin_data, req->stdin_len) < 0)
		goto out;
	if (req->user)
		json_object_object_add(obj, "user",
				       json_object_new_string(req->user));
	if (tty) {
		json_object_object_add(obj, "rows", json_object_new_int(req->rows));
		json_object_object_add(obj, "cols", json_object_new_int(req->cols));
	}
	out = json_dump(obj, len);
out:
	json_object_put(obj);
	return out;
}

void exec_request_free(struct exec_request *req)
{
	free(req->command);
	json_free_strv(req->args);
	free(req->working_dir);
	json_free_strv(req->env);
	free(req->stdin_data);
	free(req->user);
	memset(req, 0, sizeof(*req));
}

char *exec_result_encode(const struct exec_result *res, size_t *len)
{
	struct json_object *obj = json_object_new_object();
	char *out = NULL;

	if (!obj)
		return NULL;
	json_object_object_add(obj, "exit_code",
			       json_object_new_int(res->exit_code));
	if (res->out_len && json_add_bytes(obj, "stdout", res->out,
					   res->out_len) < 0)
		goto out;
	if (res->err_len && json_add_bytes(obj, "stderr", res->err,
					   res->err_len) < 0)
		goto out;
	if (res->error && res->error[0])
		json_object_object_add(obj, "error",
				       json_object_new_string(res->error));
	if (res->signal)
		json_object_object_add(obj, "signal",
				       json_object_new_int(res->signal));
	out = json_dump(obj, len);
out:
	json_object_put(obj);
	return out;
}

int exec_result_decode(const char *json, size_t len, struct exec_result *res,
		       struct err *e)
{
	struct json_object *obj;
	int64_t code = 0, sig = 0;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (json_parse_object(json, len, &obj, e) < 0)
		return -1;
	if (json_get_i64(obj, NULL, "exit_code", &code, e) < 0 ||
	    json_get_i64(obj, NULL, "signal", &sig, e) < 0 ||
	    json_get_bytes(obj, NULL, "stdout", &res->out, &res->out_len, NULL, e) < 0 ||
	    json_get_bytes(obj, NULL, "stderr", &res->err, &res->err_len, NULL, e) < 0 ||
	    json_get_str(obj, NULL, "error", &res->error, e) < 0)
		goto out;
	if (code < INT32_MIN || code > INT32_MAX || sig < 0 || sig > 255) {
		err_set(e, "exit_code or signal out of range");
		goto out;
	}
	res->exit_code = (int)code;
	res->signal = (int)sig;
	ret = 0;
out:
	json_object_put(obj);
	if (ret < 0)
		exec_result_free(res);
	return ret;
}

void exec_result_free(struct exec_result *res)
{
	free(res->out);
	free(res->err);
	free(res->error);
	memset(res, 0, sizeof(*res));
}

int file_request_decode(const char *json, size_t len, uint8_t type,
			struct file_request *req, struct err *e)
{
	struct json_object *obj;
	int ret = -1;

	memset(req, 0, sizeof(*req));
	if (json_parse_object(json, len, &obj, e) < 0)
		return -1;
	if (json_need_str(obj, NULL, "path", &req->path, e) < 0)
		goto out;
	if (type == FRAME_WRITE_FILE) {
		bool has_mode = json_object_object_get_ex(obj, "mode", NULL);

		if (json_get_bytes(obj, NULL, "content", &req->content,
				   &req->content_len, NULL, e) < 0 ||
		    json_get_u32(obj, NULL, "mode", &req->mode, e) < 0)
			goto out;
		req->has_mode = has_mode && req->mode;
	}
	if (!req->path[0]) {
		err_set(e, "field \"path\" is empty");
		goto out;
	}
	ret = 0;
out:
	json_object_put(obj);
	if (ret < 0)
		file_request_free(req);
	return ret;
}

char *file_request_encode(const struct file_request *req, uint8_t type,
			  size_t *len)
{
	struct json_object *obj = json_object_new_object();
	char *out = NULL;

	if (!obj)
		return NULL;
	json_object_object_add(obj, "path", json_object_new_string(req->path));
	if (type == FRAME_WRITE_FILE) {
		if (json_add_bytes(obj, "content", req->content,
				   req->content_len) < 0)
			goto out;
		json_object_object_add(obj, "mode",
				       json_object_new_int64(req->mode));
	}
	out = json_dump(obj, len);
out:
	json_object_put(obj);
	return out;
}

void file_request_free(struct file_request *req)
{
	free(req->path);
	free(req->content);
	memset(req, 0, sizeof(*req));
}

char *file_result_encode(const struct file_result *res, size_t *len)
{
	struct json_object *obj = json_object_new_object();
	char *out = NULL;

	if (!obj)
		return NULL;
	if (res->has_content &&
	    json_add_bytes(obj, "content", res->content, res->content_len) < 0)
		goto out;
	if (res->nfiles) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < res->nfiles; i++) {
			struct json_object *f = json_object_new_object();
			const struct file_info *fi = &res->files[i];

			json_object_object_add(f, "name",
					       json_object_new_string(fi->name));
			json_object_object_add(f, "size",
					       json_object_new_int64(fi->size));
			json_object_object_add(f, "mode",
					       json_object_new_int64(fi->mode));
			json_object_object_add(f, "is_dir",
					       json_object_new_boolean(fi->is_dir));
			json_object_array_add(a, f);
		}
		json_object_object_add(obj, "files", a);
	}
	if (res->error && res->error[0])
		json_object_object_add(obj, "error",
				       json_object_new_string(res->error));
	out = json_dump(obj, len);
out:
	json_object_put(obj);
	return out;
}

int file_result_decode(const char *json, size_t len, struct file_result *res,
		       struct err *e)
{
	struct json_object *obj, *files = NULL;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (json_parse_object(json, len, &obj, e) < 0)
		return -1;
	if (json_get_bytes(obj, NULL, "content", &res->content, &res->content_len,
			   &res->has_content, e) < 0 ||
	    json_get_str(obj, NULL, "error", &res->error, e) < 0)
		goto out;
	if (json_object_object_get_ex(obj, "files", &files) && files) {
		size_t n;

		if (!json_object_is_type(files, json_type_array)) {
			err_set(e, "field \"files\": expected an array");
			goto out;
		}
		n = json_object_array_length(files);
		res->files = calloc(n ? n : 1, sizeof(*res->files));
		if (!res->files) {
			err_set(e, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			struct json_object *f = json_object_array_get_idx(files, i);
			struct file_info *fi = &res->files[i];

			res->nfiles = i + 1;
			if (!json_object_is_type(f, json_type_object)) {
				err_set(e, "field \"files\"[%zu]: expected an object", i);
				goto out;
			}
			if (json_need_str(f, NULL, "name", &fi->name, e) < 0 ||
			    json_get_i64(f, NULL, "size", &fi->size, e) < 0 ||
			    json_get_u32(f, NULL, "mode", &fi->mode, e) < 0 ||
			    json_get_bool(f, NULL, "is_dir", &fi->is_dir, e) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	json_object_put(obj);
	if (ret < 0)
		file_result_free(res);
	return ret;
}

void file_result_free(struct file_result *res)
{
	for (size_t i = 0; i < res->nfiles; i++)
		free(res->files[i].name);
	free(res->files);
	free(res->content);
	free(res->error);
	memset(res, 0, sizeof(*res));
}

int port_forward_decode(const char *json, size_t len,
			struct port_forward_request *req, struct err *e)
{
	struct json_object *obj;
	uint32_t port = 0;
	int ret = -1;

	memset(req, 0, sizeof(*req));
	if (json_parse_object(json, len, &obj, e) < 0)
		return -1;
	if (json_get_str(obj, NULL, "host", &req->host, e) < 0 ||
	    json_get_u32(obj, NULL, "port", &port, e) < 0)
		goto out;
	if (port > UINT16_MAX) {
		err_set(e, "port: %u is out of range 0..65535", port);
		goto out;
	}
	req->port = (uint16_t)port;
	ret = 0;
out:
	json_object_put(obj);
	if (ret < 0)
		port_forward_free(req);
	return ret;
}

char *port_forward_encode(const struct port_forward_request *req, size_t *len)
{
	struct json_object *obj = json_object_new_object();
	char *out;

	if (!obj)
		return NULL;
	if (req->host && req->host[0])
		json_object_object_add(obj, "host",
				       json_object_new_string(req->host));
	json_object_object_add(obj, "port", json_object_new_int(req->port));
	out = json_dump(obj, len);
	json_object_put(obj);
	return out;
}

void port_forward_free(struct port_forward_request *req)
{
	free(req->host);
	memset(req, 0, sizeof(*req));
}
