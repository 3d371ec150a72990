/* SPDX-License-Identifier: MIT */
#ifndef LIB_TERM_H
#define LIB_TERM_H

/*
 * Puts the terminal on @fd in raw mode until term_restore(). The saved mode
 * is restored at exit and on fatal signals too, so a crash never leaves the
 * user's shell in raw mode.
 */
int term_raw_enter(int fd);
void term_restore(void);

#endif
