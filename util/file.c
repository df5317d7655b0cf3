#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "err.h"
#include "banned.h"

int util_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, struct util_err *err)
{
	char *tmp = util_xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = data;
	int fd, r = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		r = util_err_set(err, UTIL_EIO, "cannot write '%s': %s", tmp,
				 strerror(errno));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = util_err_set(err, UTIL_EIO, "cannot write '%s': %s",
					 tmp,
					 n < 0 ? strerror(errno)
					       : "short write");
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	/* The data must be on disk before the name points at it. */
	if (!r && fsync(fd) < 0)
		r = util_err_set(err, UTIL_EIO, "cannot write '%s': %s", tmp,
				 strerror(errno));
	if (close(fd) < 0 && !r)
		r = util_err_set(err, UTIL_EIO, "cannot write '%s': %s", tmp,
				 strerror(errno));
	if (!r && rename(tmp, path) < 0)
		r = util_err_set(err, UTIL_EIO,
				 "cannot rename '%s' to '%s': %s", tmp, path,
				 strerror(errno));
	if (r)
		unlink(tmp);
out:
	free(tmp);
	return r;
}

/* Read fd to its end into out, at most max bytes; *size counts past max. */
static int read_fd(int fd, size_t max, struct buf *out,
		   unsigned long long *size)
{
	for (;;) {
		size_t want = max - out->len;
		ssize_t n;
		char c;

		if (want > 65536)
			want = 65536;
		if (!want) {
			/* Full: one byte more means too large. */
			n = read(fd, &c, 1);
			util_wipe(&c, sizeof(c));
		} else if (buf_grow(out, want) < 0) {
			*size = (unsigned long long)out->len + 1;
			return UTIL_ELIMIT;
		} else {
			n = read(fd, out->buf + out->len, want);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return UTIL_EIO;
		if (n == 0)
			return 0;
		if (!want) {
			*size = (unsigned long long)max + 1;
			return UTIL_ELIMIT;
		}
		buf_setlen(out, out->len + (size_t)n);
	}
}

int util_read_file(const char *path, size_t max, struct buf *out,
		   struct util_read_fail *fail, struct util_err *err)
{
	struct util_read_fail f = { false, 0, 0 };
	struct stat st;
	int fd, r = 0;

	buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		f.errnum = errno;
		r = errno == ENOENT || errno == ENOTDIR ? UTIL_ENOTFOUND
							: UTIL_EIO;
		goto out;
	}
	f.opened = true;
	if (fstat(fd, &st) < 0) {
		f.errnum = errno;
		r = UTIL_EIO;
	} else if (S_ISDIR(st.st_mode)) {
		f.errnum = EISDIR;
		r = UTIL_EIO;
	} else if (S_ISREG(st.st_mode) &&
		   (unsigned long long)st.st_size > max) {
		/* Refused before reading a byte of it. */
		f.size = (unsigned long long)st.st_size;
		r = UTIL_ELIMIT;
	} else {
		r = read_fd(fd, max, out, &f.size);
		if (r == UTIL_EIO)
			f.errnum = errno;
	}
	close(fd);
out:
	if (r == UTIL_ELIMIT)
		util_err_set(err, r, "'%s' is larger than %zu bytes", path,
			     max);
	else if (r)
		util_err_set(err, r, "cannot read '%s': %s", path,
			     strerror(f.errnum));
	if (fail)
		*fail = f;
	return r;
}
