/* SPDX-License-Identifier: MIT */
#ifndef TESTS_E2E_API_HELPERS_H
#define TESTS_E2E_API_HELPERS_H

#include <json-c/json.h>
#include <stdbool.h>

#include "harness.h"

/*
 * Helpers for the control socket tests: a VMM started with --api-sock in a
 * private directory and a JSON-RPC client.
 */

#define API_TIMEOUT_S 60

struct api_vmm {
	struct vmm_proc p;
	char dir[64];   /* private: the socket, serial sockets, guests */
	char sock[128]; /* the control socket */
};

/* Starts $VMM --api-sock DIR/api.sock plus @extra; returns once it answers. */
void api_vmm_start(struct api_vmm *v, const char *const *extra);
/* Sends Quit, expects exit status 0, removes the directory. */
void api_vmm_quit(struct api_vmm *v);
/* A path inside the VMM's private directory. */
const char *api_path(struct api_vmm *v, const char *name);

int api_connect(const char *sock);
/* Sends one request (id 1) on @fd and returns the whole response. */
struct json_object *api_call(int fd, const char *method, const char *params,
			     int *passed_fd);
/* The next message on @fd (NULL when it closed), waiting up to @timeout_ms. */
struct json_object *api_read(int fd, int *passed_fd, int timeout_ms);
/* On a new connection: the result (asserted), or the error (asserted). */
struct json_object *api_ok(struct api_vmm *v, const char *method,
			   const char *params);
void api_fails(struct api_vmm *v, const char *method, const char *params,
	       int code, const char *msg);

/* A member by dotted path ("result.state"), as a string; "" when absent. */
const char *jstr(struct json_object *o, const char *path);
long long jint(struct json_object *o, const char *path);

/* The CreateVM params for @kernel with COM1 on @com1_sock (NULL: none). */
void api_create_params(char *buf, size_t len, const char *kernel,
		       const char *cmdline, int cpus, const char *com1_sock);

/*
 * The test guest's command line that makes it print "TICK n" lines
 * forever after its checks (testguest.tick=1): progress a test can watch.
 */
#define TICK_LINE "console=ttyS0 testguest.tick=1"

/* The number of the last complete "TICK n" line in @buf, or -1. */
long last_tick(const char *buf);

/*
 * Appends what @fd sends within @ms to @buf (NUL-terminated, @cap bytes),
 * keeping its last 4 KiB when it fills; @got (when set) counts the bytes.
 */
void collect(int fd, char *buf, size_t cap, int ms, size_t *got);
/* Collects until the guest's counter passes @after; false after 60 s. */
bool tick_past(int fd, char *buf, size_t cap, long after);

/* Reads @fd for @ms and returns how many bytes came. */
size_t drain(int fd, int ms);

/* Runs $VMMCTL (default build/vmmctl) with @argv; output captured. */
int vmmctl(const char *const *argv, char **out, char **err);
/* Starts it in the background, stdout to @out_path, stdin /dev/null. */
pid_t vmmctl_bg(const char *const *argv, const char *out_path);

#endif
