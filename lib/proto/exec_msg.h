/* SPDX-License-Identifier: MIT */
#ifndef LIB_PROTO_EXEC_MSG_H
#define LIB_PROTO_EXEC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* ExecRequest and ExecTTYRequest (matchlock's pkg/vsock); rows/cols only for ExecTTY. */
struct exec_request {
	char *command;
	char **args;		/* NULL-terminated, NULL when absent */
	size_t nargs;
	char *working_dir;
	char **env;		/* "KEY=VALUE", NULL-terminated, or NULL */
	size_t nenv;
	uint8_t *stdin_data;
	size_t stdin_len;
	char *user;
	uint16_t rows;
	uint16_t cols;
};

/* ExecResponse: the ExecResult payload. */
struct exec_result {
	int exit_code;
	int signal;		/* extension: the signal that ended it, or 0 */
	uint8_t *out;
	size_t out_len;
	uint8_t *err;
	size_t err_len;
	char *error;
};

int exec_request_decode(const char *json, size_t len, bool tty,
			struct exec_request *req, struct err *e);
/* Returns malloc()ed JSON, or NULL when out of memory. */
char *exec_request_encode(const struct exec_request *req, bool tty,
			  size_t *len);
void exec_request_free(struct exec_request *req);

char *exec_result_encode(const struct exec_result *res, size_t *len);
int exec_result_decode(const char *json, size_t len, struct exec_result *res,
		       struct err *e);
void exec_result_free(struct exec_result *res);

/* File transfer: WriteFile, ReadFile, ListFiles -> FileResult. */
struct file_request {
	char *path;
	uint8_t *content;	/* WriteFile */
	size_t content_len;
	uint32_t mode;		/* WriteFile, a Go os.FileMode; 0 means 0644 */
	bool has_mode;
};

struct file_info {
	char *name;
	int64_t size;
	uint32_t mode;		/* a Go os.FileMode: type bits and permissions */
	bool is_dir;
};

struct file_result {
	uint8_t *content;
	size_t content_len;
	bool has_content;
	struct file_info *files;
	size_t nfiles;
	char *error;
};

int file_request_decode(const char *json, size_t len, uint8_t type,
			struct file_request *req, struct err *e);
char *file_request_encode(const struct file_request *req, uint8_t type,
			  size_t *len);
void file_request_free(struct file_request *req);

char *file_result_encode(const struct file_result *res, size_t *len);
int file_result_decode(const char *json, size_t len, struct file_result *res,
		       struct err *e);
void file_result_free(struct file_result *res);

/*
 * PortForward: the agent connects to TCP @host:@port in the guest (host
 * empty: 127.0.0.1), answers Ready or a Stderr reason, then relays bytes.
 */
struct port_forward_request {
	char *host;
	uint16_t port;
};

int port_forward_decode(const char *json, size_t len,
			struct port_forward_request *req, struct err *e);
char *port_forward_encode(const struct port_forward_request *req, size_t *len);
void port_forward_free(struct port_forward_request *req);

#endif
