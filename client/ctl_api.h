/* SPDX-License-Identifier: MIT */
#ifndef CLIENT_CTL_API_H
#define CLIENT_CTL_API_H

/*
 * vmmctl's commands for the VMM's control socket (docs/api.md):
 *
 *   vmmctl --sock PATH COMMAND [ARGS...]
 *
 * @argv[0] is "--sock" (or "--sock=PATH"), as vmmctl's subcommand table
 * passes it. Results are printed as JSON on stdout; a server error is
 * printed on stderr and the exit status is 1 (2 for usage errors).
 */
int ctl_api_main(int argc, char **argv);

/* One line for vmmctl's list of commands. */
#define CTL_API_SUMMARY "drive a VMM through its control socket (--sock PATH COMMAND)"

#endif
