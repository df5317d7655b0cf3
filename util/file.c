#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
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
