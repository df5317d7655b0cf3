#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct util_err;

/* How util_read_file() failed, for a caller that words its own message. */
struct util_read_fail {
	bool opened; /* open() worked: the failure came after */
	int errnum;  /* the system's reason; EISDIR for a directory */
	unsigned long long size; /* UTIL_ELIMIT: the size found, over max */
};

/*
 * Read the whole file at path, at most max bytes, into out (initialised by
 * the caller, emptied here, its cap left as it is: a cap below max refuses
 * the file as too large).  A regular file over max is refused before a
 * byte of it is read; a file that grows while read, a pipe or a device is
 * refused as soon as one byte past max arrives.  On failure out holds what
 * was read (a caller reading secrets wipes it) and:
 *   UTIL_ENOTFOUND  path or a directory on it does not exist,
 *   UTIL_EIO        any other failure, a directory included,
 *                   "cannot read 'PATH': REASON" in err;
 *   UTIL_ELIMIT     "'PATH' is larger than MAX bytes" in err.
 * UTIL_ENOTFOUND is worded like UTIL_EIO.  fail, when not NULL, gets what a
 * caller needs to word the message itself (then pass err NULL).
 */
int util_read_file(const char *path, size_t max, struct buf *out,
		   struct util_read_fail *fail, struct util_err *err);

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
