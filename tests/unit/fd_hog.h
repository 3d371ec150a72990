/* SPDX-License-Identifier: MIT */
#ifndef TESTS_UNIT_FD_HOG_H
#define TESTS_UNIT_FD_HOG_H

/*
 * Running a test process out of file descriptors, and looking into an
 * epoll set while it is out of them. No test framework in here.
 */

#include <stdbool.h>

#define FD_HOG_MAX 512

struct fd_hog {
	int fds[FD_HOG_MAX];
	unsigned int n;
};

/*
 * Lowers the soft RLIMIT_NOFILE to a little above the descriptors open
 * now, then takes every one left. Returns -1 when it cannot.
 */
int fd_hog_fill(struct fd_hog *h);
void fd_hog_release(struct fd_hog *h);

/* An open /proc/self/fdinfo of the epoll descriptor @epfd, for below. */
int epoll_info_open(int epfd);
/* True when @fd is in the epoll set (read through @info, no new fd). */
bool epoll_info_watches(int info, int fd);

/* The listening socket bound to @path in this process, or -1. */
int find_listening_socket(const char *path);

#endif
