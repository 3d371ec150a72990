/* SPDX-License-Identifier: MIT */
#ifndef AGENT_FILES_H
#define AGENT_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Largest file ReadFile returns (matchlock's limit); base64 fits a frame. */
#define FILE_READ_MAX (16u * 1024 * 1024)

/*
 * Serves one file-transfer request (WriteFile, ReadFile or ListFiles) and
 * returns the FileResult JSON (malloc()ed), or NULL when out of memory.
 */
char *files_handle(uint8_t type, const char *json, size_t len, size_t *out_len);

#endif
