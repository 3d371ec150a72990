/* SPDX-License-Identifier: MIT */
#ifndef VMM_VERSION_H
#define VMM_VERSION_H

/*
 * The VMM's version: what --version prints and what a snapshot records. A
 * snapshot restores only into the version that wrote it (docs/snapshot.md).
 */
#define VMM_VERSION "0.1.0"

#endif
