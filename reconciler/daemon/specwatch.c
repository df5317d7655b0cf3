#include "reconciler/daemon/specwatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/spec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/banned.h"

#define DIR_MASK                                                             \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |          \
	 IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | \
	 IN_ONLYDIR)
#define PARENT_MASK                                                        \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct rc_specwatch {
	int fd;
	char *path;   /* absolute */
	char *dir;    /* its directory */
	char *base;   /* its name in dir */
	char *parent; /* dir's directory; NULL when dir is "/" */
	char *dir_base;
	int wd_dir, wd_parent; /* -1 = not watching */
	bool warned_dir, warned_parent;
};

/* Split "/a/b/c" into "/a/b" and "c" (both malloc'd). */
static void split(const char *path, char **ret_dir, char **ret_base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*ret_dir = util_xstrdup(".");
		*ret_base = util_xstrdup(path);
	} else if (slash == path) {
		*ret_dir = util_xstrdup("/");
		*ret_base = util_xstrdup(slash + 1);
	} else {
		*ret_dir = util_xstrndup(path, (size_t)(slash - path));
		*ret_base = util_xstrdup(slash + 1);
	}
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	struct buf b = BUF_INIT;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		buf_addstr(&b, path);
	else
		buf_addf(&b, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	/* Trailing slashes would make the name empty. */
	while (b.len > 1 && b.buf[b.len - 1] == '/')
		buf_setlen(&b, b.len - 1);
	return buf_detach(&b, NULL);
}

static bool add_dir(struct rc_specwatch *sw)
{
	int wd;

	if (sw->wd_dir >= 0)
		inotify_rm_watch(sw->fd, sw->wd_dir);
	sw->wd_dir = -1;
	wd = inotify_add_watch(sw->fd, sw->dir, DIR_MASK);
	if (wd < 0) {
		if (!sw->warned_dir)
			util_log(UTIL_LOG_WARN, "watch_failed", sw->dir,
				 "cannot watch directory '%s': %s; watching "
				 "for it to appear",
				 sw->dir, strerror(errno));
		sw->warned_dir = true;
		return false;
	}
	if (sw->warned_dir)
		util_log(UTIL_LOG_INFO, "watch_restored", sw->dir,
			 "watching directory '%s' again", sw->dir);
	sw->warned_dir = false;
	sw->wd_dir = wd;
	return true;
}

static bool add_parent(struct rc_specwatch *sw)
{
	int wd;

	if (!sw->parent)
		return false;
	wd = inotify_add_watch(sw->fd, sw->parent, PARENT_MASK);
	if (wd < 0) {
		if (!sw->warned_parent)
			util_log(UTIL_LOG_WARN, "watch_failed", sw->parent,
				 "cannot watch directory '%s': %s", sw->parent,
				 strerror(errno));
		sw->warned_parent = true;
		return false;
	}
	sw->warned_parent = false;
	sw->wd_parent = wd;
	return true;
}

int rc_specwatch_new(const char *path, struct rc_specwatch **ret,
		     struct util_err *err)
{
	struct rc_specwatch *sw = util_xcalloc(1, sizeof(*sw));

	sw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (sw->fd < 0) {
		int e = errno;

		free(sw);
		return util_err_set(err, UTIL_EIO, "inotify_init1: %s",
				    strerror(e));
	}
	sw->wd_dir = sw->wd_parent = -1;
	sw->path = absolute(path);
	split(sw->path, &sw->dir, &sw->base);
	if (strcmp(sw->dir, "/"))
		split(sw->dir, &sw->parent, &sw->dir_base);
	add_parent(sw);
	add_dir(sw);
	*ret = sw;
	return 0;
}

void rc_specwatch_free(struct rc_specwatch *sw)
{
	if (!sw)
		return;
	close(sw->fd);
	free(sw->path);
	free(sw->dir);
	free(sw->base);
	free(sw->parent);
	free(sw->dir_base);
	free(sw);
}

int rc_specwatch_fd(const struct rc_specwatch *sw)
{
	return sw->fd;
}

const char *rc_specwatch_path(const struct rc_specwatch *sw)
{
	return sw->path;
}

bool rc_specwatch_complete(const struct rc_specwatch *sw)
{
	return sw->wd_dir >= 0 && (!sw->parent || sw->wd_parent >= 0);
}

static bool path_is_link(const struct rc_specwatch *sw)
{
	struct stat st;

	return lstat(sw->path, &st) == 0 && S_ISLNK(st.st_mode);
}

bool rc_specwatch_read(struct rc_specwatch *sw)
{
	char b[16384]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false, link = path_is_link(sw), readd = false;

	for (;;) {
		ssize_t n = read(sw->fd, b, sizeof(b));

		if (n <= 0)
			break;
		for (char *p = b; p < b + n;) {
			const struct inotify_event *ev = (const void *)p;
			const char *name = ev->len ? ev->name : "";

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				util_log(UTIL_LOG_DEBUG, "watch_overflow", NULL,
					 "inotify queue overflowed");
				hit = readd = true;
				continue;
			}
			if (ev->wd == sw->wd_dir) {
				if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
						IN_IGNORED | IN_UNMOUNT)) {
					hit = readd = true;
					if (ev->mask & IN_IGNORED)
						sw->wd_dir = -1;
				} else if (link || !strcmp(name, sw->base)) {
					hit = true;
				}
			} else if (ev->wd == sw->wd_parent) {
				if (ev->mask & IN_IGNORED) {
					sw->wd_parent = -1;
				} else if (!strcmp(name, sw->dir_base)) {
					hit = readd = true;
				}
			}
		}
	}
	if (readd)
		add_dir(sw);
	if (sw->wd_parent < 0)
		add_parent(sw);
	return hit;
}

bool rc_specwatch_refresh(struct rc_specwatch *sw)
{
	bool again = false;

	if (sw->parent && sw->wd_parent < 0)
		add_parent(sw);
	if (sw->wd_dir < 0)
		again = add_dir(sw);
	return again;
}

/* --- debounce --------------------------------------------------------------- */

void rc_debounce_init(struct rc_debounce *d, uint64_t quiet_ms)
{
	d->quiet_ms = quiet_ms;
	d->deadline = 0;
	d->pending = false;
}

uint64_t rc_debounce_event(struct rc_debounce *d, uint64_t now_ms)
{
	d->pending = true;
	d->deadline = now_ms + d->quiet_ms;
	return d->deadline;
}

bool rc_debounce_due(const struct rc_debounce *d, uint64_t now_ms)
{
	return d->pending && now_ms >= d->deadline;
}

void rc_debounce_clear(struct rc_debounce *d)
{
	d->pending = false;
}

/* --- reading ------------------------------------------------------------------ */

const char *rc_spec_file_name(enum rc_spec_file s)
{
	switch (s) {
	case RC_SPEC_FILE_OK:
		return "ok";
	case RC_SPEC_FILE_MISSING:
		return "missing";
	case RC_SPEC_FILE_EMPTY:
		return "empty";
	case RC_SPEC_FILE_UNREADABLE:
		return "unreadable";
	case RC_SPEC_FILE_TOO_BIG:
		return "too_big";
	case RC_SPEC_FILE_INVALID:
		return "invalid";
	}
	return "?";
}

enum rc_spec_file rc_spec_file_read(const char *path, size_t max,
				    struct buf *out, struct util_err *err)
{
	struct util_err e = UTIL_ERR_INIT;
	int r = util_read_file(path, max, out, NULL, &e);

	if (r == UTIL_ENOTFOUND)
		return RC_SPEC_FILE_MISSING;
	util_err_copy(err, &e);
	if (r == UTIL_ELIMIT)
		return RC_SPEC_FILE_TOO_BIG;
	if (r < 0)
		return RC_SPEC_FILE_UNREADABLE;
	if (spec_text_is_empty(out->buf, out->len))
		return RC_SPEC_FILE_EMPTY;
	return RC_SPEC_FILE_OK;
}
