#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct util_err;

/*
 * Replace path with len bytes of data atomically, so a reader (a plan
 * consumer, node_exporter, a monitoring script) sees the old file or the
 * new one, never a half-written one: write PATH.tmp.PID in the same
 * directory with the given mode, fsync it, rename() it over path.  The
 * PID keeps two processes writing the same path from sharing a temporary
 * file.  The temporary file is removed on failure.  UTIL_EIO with the file
 * and the system's reason.
 */
int util_write_file_atomic(const char *path, const void *data, size_t len,
			   mode_t mode, struct util_err *err);

#endif
