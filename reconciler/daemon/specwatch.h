#ifndef RECONCILER_DAEMON_SPECWATCH_H
#define RECONCILER_DAEMON_SPECWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct buf;

/*
 * Watching the spec file for `moor watch`.
 *
 * struct rc_specwatch holds one inotify fd (non-blocking, close-on-exec)
 * with two watches: the spec's directory, and that directory's parent.
 * Watching the directory rather than the file sees every way a file is
 * saved:
 *
 *   in-place write          IN_MODIFY ... IN_CLOSE_WRITE on the name
 *   atomic rename (vim,     IN_MOVED_TO on the name (the old inode, which
 *     editors, git)           a file watch would follow, is gone)
 *   delete and re-create    IN_DELETE, IN_CREATE, IN_CLOSE_WRITE
 *   git checkout            unlink + create, or rename, per file
 *
 * The parent's watch sees the directory itself replaced (rm -r + mv, a
 * symlink swapped by rename): the directory's watch is then re-added by
 * path, so it follows the new directory, not the old inode.  When the
 * spec path is itself a symlink (a Kubernetes ConfigMap's ..data swap),
 * every event in the directory counts.  A queue overflow counts too.
 *
 * What counts only says "look again": the caller debounces, re-reads the
 * file and compares its hash, so an event too many costs a read, never a
 * reconcile.
 */
struct rc_specwatch;

/*
 * Watch path (made absolute against the current directory; symlinks are
 * not resolved, so a swapped link is followed).  Fails only when inotify
 * itself cannot be set up; a watch that cannot be added yet (directory
 * missing) is retried by rc_specwatch_refresh() and logged at warn level
 * (event "watch_failed").  Free with rc_specwatch_free().
 */
int rc_specwatch_new(const char *path, struct rc_specwatch **ret,
		     struct util_err *err);
void rc_specwatch_free(struct rc_specwatch *sw);

/* The inotify fd, for the event loop (readable = events to read). */
int rc_specwatch_fd(const struct rc_specwatch *sw);
/* The absolute path watched. */
const char *rc_specwatch_path(const struct rc_specwatch *sw);

/*
 * Read every pending event (never blocks).  Returns true when one of them
 * may concern the spec file.  Re-adds the directory's watch when the
 * directory was replaced or removed.
 */
bool rc_specwatch_read(struct rc_specwatch *sw);
/*
 * Re-add whichever watch is missing (the daemon calls it on every resync,
 * so a directory that came back is watched again).  Returns true when a
 * watch was re-added (the file may have changed meanwhile).
 */
bool rc_specwatch_refresh(struct rc_specwatch *sw);
/* Both watches are in place. */
bool rc_specwatch_complete(const struct rc_specwatch *sw);

/*
 * Debouncing: a burst of events is one change, seen quiet_ms after the
 * last event (an editor's save is several events; a writer still writing
 * keeps pushing the deadline back, so the file is read once complete).
 * Pure: times are passed in.
 */
struct rc_debounce {
	uint64_t quiet_ms;
	uint64_t deadline; /* valid while pending */
	bool pending;
};

void rc_debounce_init(struct rc_debounce *d, uint64_t quiet_ms);
/* An event at now_ms; returns the (new) deadline. */
uint64_t rc_debounce_event(struct rc_debounce *d, uint64_t now_ms);
/* Whether the burst is over at now_ms (pending and deadline reached). */
bool rc_debounce_due(const struct rc_debounce *d, uint64_t now_ms);
/* The change was handled. */
void rc_debounce_clear(struct rc_debounce *d);

/*
 * What is on disk at the spec path: the one word for it, in the logs and
 * the status file's spec_file.
 */
enum rc_spec_file {
	RC_SPEC_FILE_OK = 0,	 /* read into out (may still be invalid) */
	RC_SPEC_FILE_MISSING,	 /* does not exist (or a dangling link) */
	RC_SPEC_FILE_EMPTY,	 /* spec_text_is_empty() */
	RC_SPEC_FILE_UNREADABLE, /* exists, cannot be read; err says why */
	RC_SPEC_FILE_TOO_BIG,	 /* over max bytes */
	/*
	 * Read, but it does not load or validate: the daemon's verdict after
	 * spec_load_buffer(); rc_spec_file_read() never returns it.
	 */
	RC_SPEC_FILE_INVALID,
};

const char *rc_spec_file_name(enum rc_spec_file s);

/*
 * Read the file at path (at most max bytes) into out (reset first) and
 * classify it.  Returns the classification; err is set for UNREADABLE and
 * TOO_BIG.
 */
enum rc_spec_file rc_spec_file_read(const char *path, size_t max,
				    struct buf *out, struct util_err *err);

#endif
