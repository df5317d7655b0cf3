#include "providers/aws/creds_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/banned.h"

#define PROCESS_DEFAULT_TIMEOUT_MS 60000L
/* The JSON is a few hundred bytes; a chatty helper must not fill memory. */
#define PROCESS_MAX_OUTPUT	   (64u << 10)

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/*
 * Read the child's stdout until EOF, the deadline or the cap.  0 at EOF;
 * UTIL_ETIMEOUT / UTIL_ELIMIT / UTIL_EIO otherwise (err set).
 */
static int read_output(int fd, long timeout_ms, struct buf *out,
		       struct util_err *err)
{
	uint64_t deadline = util_mono_ms() + (uint64_t)timeout_ms;
	char chunk[4096];
	int r = 0;

	for (;;) {
		uint64_t now = util_mono_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int pr;

		if (now >= deadline) {
			r = util_err_set(err, UTIL_ETIMEOUT,
					 "credential_process did not finish "
					 "within %ld ms",
					 timeout_ms);
			break;
		}
		pr = poll(&p, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = util_err_set(err, UTIL_EIO, "poll: %s",
					 strerror(errno));
			break;
		}
		if (!pr)
			continue; /* the deadline check above ends it */
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			r = util_err_set(err, UTIL_EIO,
					 "reading credential_process output: "
					 "%s",
					 strerror(errno));
			break;
		}
		if (!n)
			break;
		if (buf_add(out, chunk, (size_t)n) < 0) {
			r = util_err_set(err, UTIL_ELIMIT,
					 "credential_process wrote more than "
					 "%u bytes",
					 PROCESS_MAX_OUTPUT);
			break;
		}
	}
	util_wipe(chunk, sizeof(chunk));
	return r;
}

/*
 * The command line goes through /bin/sh -c, as the SDKs run it (botocore
 * splits it with shlex; the AWS CLI v2 and the Go/Rust SDKs use a shell).
 * stdin and stderr are inherited, so a helper can prompt or explain
 * itself; stdout is the JSON.  The command is never quoted in errors: it
 * may carry a secret on its command line.
 */
int awsp_credsrc_process(const char *command, long timeout_ms,
			 struct awsp_credentials *out, struct util_err *err)
{
	int pfd[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	char sh[] = "sh", dash_c[] = "-c";
	char *argv[] = { sh, dash_c, NULL, NULL };
	struct buf output;
	pid_t pid;
	int status = 0, r = -1, e;

	if (timeout_ms <= 0)
		timeout_ms = PROCESS_DEFAULT_TIMEOUT_MS;
	buf_init(&output, PROCESS_MAX_OUTPUT);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return util_err_set(err, UTIL_EIO, "pipe: %s", strerror(errno));
	argv[2] = util_xstrdup(command);
	posix_spawn_file_actions_init(&fa);
	/* dup2 clears close-on-exec on the child's stdout only. */
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	/*
	 * Nothing else reaches the helper: libcurl's sockets (kept alive to
	 * AWS) and any descriptor a library opened without O_CLOEXEC would
	 * otherwise be inherited by a program moor does not control.
	 */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	util_free_secret(argv[2]);
	if (e) {
		close(pfd[0]);
		return util_err_set(err, UTIL_EIO,
				    "cannot run credential_process: %s",
				    strerror(e));
	}
	r = read_output(pfd[0], timeout_ms, &output, err);
	close(pfd[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	reap(pid, &status);
	if (r < 0)
		goto out;
	if (WIFSIGNALED(status)) {
		r = util_err_set(err, UTIL_EFAIL,
				 "credential_process killed by signal %d",
				 WTERMSIG(status));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		r = util_err_set(err, UTIL_EFAIL,
				 "credential_process exited with status %d",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	r = awsp_credsrc_parse_json(output.buf, output.len,
				    "credential_process output", true, true,
				    out, err);
out:
	util_wipe(output.buf, output.len);
	buf_release(&output);
	return r;
}
