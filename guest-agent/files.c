// SPDX-License-Identifier: MIT
#include "guest-agent/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-agent/sysinfo.h"
#include "lib/proto/exec_msg.h"
#include "lib/proto/frame.h"
#include "lib/util.h"

/* Go's os.FileMode bits, which matchlock's clients send and read. */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_DEVICE (1u << 26)
#define GO_MODE_NAMED_PIPE (1u << 25)
#define GO_MODE_SOCKET (1u << 24)
#define GO_MODE_SETUID (1u << 23)
#define GO_MODE_SETGID (1u << 22)
#define GO_MODE_CHAR_DEVICE (1u << 21)
#define GO_MODE_STICKY (1u << 20)

static const struct {
	uint32_t go;
	mode_t posix;
} go_mode_bits[] = {
	{ GO_MODE_SETUID, S_ISUID },
	{ GO_MODE_SETGID, S_ISGID },
	{ GO_MODE_STICKY, S_ISVTX },
};

/* A stat mode as Go's os.Lstat reports it (fillFileStatFromSys). */
static uint32_t go_file_mode(mode_t m)
{
	uint32_t go = m & 0777;

	switch (m & S_IFMT) {
	case S_IFBLK:
		go |= GO_MODE_DEVICE;
		break;
	case S_IFCHR:
		go |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE;
		break;
	case S_IFDIR:
		go |= GO_MODE_DIR;
		break;
	case S_IFIFO:
		go |= GO_MODE_NAMED_PIPE;
		break;
	case S_IFLNK:
		go |= GO_MODE_SYMLINK;
		break;
	case S_IFSOCK:
		go |= GO_MODE_SOCKET;
		break;
	}
	for (size_t i = 0; i < ARRAY_SIZE(go_mode_bits); i++)
		if (m & go_mode_bits[i].posix)
			go |= go_mode_bits[i].go;
	return go;
}

/*
 * The permissions of a WriteFile mode: Go's os.FileMode (as os.WriteFile
 * reads it; type bits are ignored) or, beyond Go, plain 07777 bits.
 */
static mode_t unix_file_mode(uint32_t mode)
{
	mode_t m = mode & 07777;

	for (size_t i = 0; i < ARRAY_SIZE(go_mode_bits); i++)
		if (mode & go_mode_bits[i].go)
			m |= go_mode_bits[i].posix;
	return m;
}

/* Creates the missing parents of @path, mode 0755 (as matchlock does). */
static int make_parents(const char *path, struct err *e)
{
	char dir[4096];
	char *slash;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return err_set(e, "%.100s...: path too long", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	return mkdir_p(dir, e);
}

static int file_write(const struct file_request *req, struct err *e)
{
	mode_t mode = req->has_mode ? unix_file_mode(req->mode) : 0644;
	size_t done = 0;
	int fd;

	if (make_parents(req->path, e) < 0)
		return -1;
	fd = open(req->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_errno(e, "%s", req->path);
	while (done < req->content_len) {
		ssize_t n = write(fd, req->content + done,
				  req->content_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, "%s: write", req->path);
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	/* An existing file keeps its mode on open; apply the one asked for. */
	if (req->has_mode && fchmod(fd, mode) < 0) {
		err_errno(e, "%s: chmod", req->path);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return err_errno(e, "%s: close", req->path);
	return 0;
}

static int file_info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct file_info *)a)->name,
		      ((const struct file_info *)b)->name);
}

static int file_list(const char *path, struct file_result *res, struct err *e)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t cap = 0;

	if (!d)
		return err_errno(e, "%s", path);
	while ((de = readdir(d))) {
		struct stat st;
		struct file_info *fi;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (res->nfiles == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			void *p = realloc(res->files, ncap * sizeof(*res->files));

			if (!p)
				goto nomem;
			res->files = p;
			cap = ncap;
		}
		fi = &res->files[res->nfiles];
		fi->name = strdup(de->d_name);
		if (!fi->name)
			goto nomem;
		fi->size = st.st_size;
		fi->mode = go_file_mode(st.st_mode);
		fi->is_dir = S_ISDIR(st.st_mode);
		res->nfiles++;
	}
	closedir(d);
	/* Go's os.ReadDir sorts by name. */
	if (res->nfiles)
		qsort(res->files, res->nfiles, sizeof(*res->files),
		      file_info_cmp);
	return 0;
nomem:
	closedir(d);
	return err_set(e, "%s: out of memory", path);
}

char *files_handle(uint8_t type, const char *json, size_t len, size_t *out_len)
{
	struct file_request req;
	struct file_result res = { 0 };
	struct err e = { "" };
	char *out;
	int ret = -1;

	if (file_request_decode(json, len, type, &req, &e) < 0) {
		err_prefix(&e, "%s", frame_type_name(type));
		goto reply;
	}
	switch (type) {
	case FRAME_WRITE_FILE:
		ret = file_write(&req, &e);
		break;
	case FRAME_READ_FILE:
		ret = read_file(req.path, FILE_READ_MAX, &res.content,
				&res.content_len, &e);
		res.has_content = ret == 0;
		break;
	case FRAME_LIST_FILES:
		ret = file_list(req.path, &res, &e);
		break;
	}
	file_request_free(&req);
reply:
	if (ret < 0) {
		file_result_free(&res);
		res.error = e.msg;
	}
	out = file_result_encode(&res, out_len);
	if (ret < 0)
		res.error = NULL;
	if (out && *out_len > FRAME_MAX_PAYLOAD) {
		free(out);
		file_result_free(&res);
		res.error = "the reply would exceed the frame size limit";
		out = file_result_encode(&res, out_len);
		res.error = NULL;
	}
	file_result_free(&res);
	return out;
}
