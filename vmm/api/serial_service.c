// SPDX-License-Identifier: MIT
/*
 * The serial ports, as fuchsia.virtualization's Guest.GetSerial
 * (guest.fidl), for every port: the caller gets a stream socket attached
 * to the port.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "lib/json.h"
#include "vmm/api/methods.h"

METHOD(method_get_serial)
{
	static const char *const fields[] = { "port", NULL };
	struct chardev *chr;
	uint32_t port = 0;
	int sv[2];

	(void)call;
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_u32(params, "", "port", &port, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	/* After a halt the port still holds the guest's last output. */
	if (!api->has_vm && method_need_vm(api, re) < 0)
		return -1;
	if (port >= CONFIG_NR_SERIAL || !(chr = api->vm.serial[port]))
		return rpc_fail(re, RPC_NO_DEVICE,
				"this VM has no serial port %u (COM%u): ports 0-%d exist when configured, port 0 always",
				port, port + 1, CONFIG_NR_SERIAL - 1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return rpc_fail(re, RPC_FAILED, "socketpair: %s", strerror(errno));
	re->code = RPC_FAILED;
	if (chardev_attach(chr, sv[0], &re->e) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	*result = method_port_result(port);
	if (!*result || json_add_string(*result, "name", chr->name) < 0 ||
	    (chr->kind == CHARDEV_SOCKET &&
	     json_add_string(*result, "socket_path", chr->path) < 0)) {
		close(sv[1]);
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	*fd = sv[1];
	return METHOD_DONE;
}
