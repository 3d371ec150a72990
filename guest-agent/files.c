// SPDX-License-Identifier: MIT
#include "guest-agent/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/proto/exec_msg.h"
#include "lib/proto/frame.h"
#include "lib/util.h"

static int file_write(const struct file_request *req, struct err *e)
{
	mode_t mode = req->has_mode ? (mode_t)req->mode : 0644;
	size_t done = 0;
	int fd = open(req->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      mode);

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
		fi->mode = st.st_mode;
		fi->is_dir = S_ISDIR(st.st_mode);
		res->nfiles++;
	}
	closedir(d);
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
