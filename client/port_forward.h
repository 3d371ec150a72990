/* SPDX-License-Identifier: MIT */
#ifndef CLIENT_PORT_FORWARD_H
#define CLIENT_PORT_FORWARD_H

#include <stdint.h>

#include "lib/util.h"

/*
 * Asks the agent on @fd (a fresh exec-service connection) to connect to TCP
 * @host:@port in the guest (@host NULL: 127.0.0.1). Returns 0 once it
 * answered Ready: @fd is then a byte stream to that port. Otherwise -1 with
 * the agent's reason in @e.
 */
int port_forward_open(int fd, const char *host, uint16_t port, struct err *e);

/*
 * Copies bytes both ways between two connected sockets until both
 * directions ended; the end of one side's input becomes a half-close
 * (shutdown(SHUT_WR)) of the other. Returns 0, or -1 on an I/O error.
 */
int port_forward_relay(int a, int b);

/*
 *   vmmctl port-forward (--vsock-uds PATH [--port 5000] | --unix PATH)
 *                       [--address ADDR] [--guest-host HOST] LOCAL:GUEST
 */
int port_forward_main(int argc, char **argv);

#define PORT_FORWARD_SUMMARY "forward a local TCP port to a TCP port in the guest"

#endif
