/*
 * moor watch SPEC: start the daemon (reconciler/daemon/watch.h) with the options
 * and the log sink asked for.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/httpd.h"
#include "reconciler/daemon/watch.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

static const char watch_usage[] =
	"usage: moor watch SPEC [options] [AWS options]\n"
	"\n"
	"Daemon: keep live state equal to SPEC.  Applies every saved edit,\n"
	"corrects drift on every resync, probes failover candidates and\n"
	"moves floating IPs to a healthy standby.  An edit that is invalid,\n"
	"empty or deleted is logged and ignored: the last good spec stays in\n"
	"force.  SIGHUP re-reads the spec, SIGUSR1 logs the status,\n"
	"SIGTERM/SIGINT finish the step in flight and exit 0.\n"
	"\n"
	"  --resync DUR           re-observe everything this often, +-10%\n"
	"                         (default 60s)\n"
	"  --debounce DUR         quiet time after a file event (default "
	"200ms)\n"
	"  --status-file PATH     keep a JSON status here (atomically "
	"replaced)\n"
	"  --metrics-file PATH    keep Prometheus metrics here (textfile\n"
	"                         collector)\n"
	"  --log-format FMT       text (default) or json, one event per line\n"
	"  --concurrency N        reads and steps in parallel (default 8)\n"
	"  --stop-timeout DUR     on SIGTERM, wait this long for the step in\n"
	"                         flight (default 30s)\n"
	"  --max-changes N        refuse a plan with more than N changes\n"
	"  --read-budget SHARE    spend at most this share of each ELB read\n"
	"                         bucket per resync, probes included; a\n"
	"                         resync that does not fit runs less often\n"
	"                         (0 < SHARE <= 1 or a percentage; default\n"
	"                         0.5)\n"
	"  --listen [ADDR:]PORT   serve GET /metrics, /status and /healthz\n"
	"                         over HTTP (default address 127.0.0.1;\n"
	"                         IPv6 as [::1]:PORT)\n"
	"\n" COMMON_AWS_USAGE;

enum {
	WOPT_RESYNC = 1024,
	WOPT_DEBOUNCE,
	WOPT_STATUS_FILE,
	WOPT_METRICS_FILE,
	WOPT_LOG_FORMAT,
	WOPT_CONCURRENCY,
	WOPT_STOP_TIMEOUT,
	WOPT_MAX_CHANGES,
	WOPT_ALLOW_MASS,
	WOPT_LISTEN,
	WOPT_READ_BUDGET,
};

/* A duration option between min_ms and max_ms; -1 (printed) if not. */
static int watch_duration(const char *name, const char *arg, uint64_t min_ms,
			  uint64_t max_ms, uint64_t *ret)
{
	struct util_err err = UTIL_ERR_INIT;
	char a[32], b[32];

	if (util_duration_parse(arg, ret, &err) < 0) {
		fprintf(stderr, "moor watch: %s: %s\n", name, err.msg);
		return -1;
	}
	if (*ret < min_ms || *ret > max_ms) {
		fprintf(stderr,
			"moor watch: %s: '%s' is not between %s and %s\n", name,
			arg, util_duration_format(min_ms, a, sizeof(a)),
			util_duration_format(max_ms, b, sizeof(b)));
		return -1;
	}
	return 0;
}

/* --concurrency or --max-changes (c) into cfg; -1 (said) if bad. */
static int watch_int(int c, const char *arg, struct rc_watch_config *cfg)
{
	struct util_err err = UTIL_ERR_INIT;
	int v;

	if (util_parse_int(arg, c == WOPT_CONCURRENCY ? 1 : 0,
			   c == WOPT_CONCURRENCY ? 64 : 1000000000, &v,
			   &err) < 0) {
		fprintf(stderr, "moor watch: %s: %s\n",
			c == WOPT_CONCURRENCY ? "--concurrency"
					      : "--max-changes",
			err.msg);
		return -1;
	}
	if (c == WOPT_CONCURRENCY) {
		cfg->concurrency = (unsigned)v;
	} else {
		cfg->has_max_changes = true;
		cfg->max_changes = (unsigned)v;
	}
	return 0;
}

/* What moor watch was asked for. */
struct watch_args {
	struct rc_watch_config cfg;
	struct common_opts aws;
	const char *format; /* --log-format */
	const char *listen; /* --listen as given, or NULL */
	struct rc_httpd_addr listen_addr;
};

/* One of watch's own options: 1 taken, 0 not one, -1 bad (said). */
static int watch_opt(int c, char *arg, struct watch_args *a)
{
	struct rc_watch_config *cfg = &a->cfg;
	struct util_err err = UTIL_ERR_INIT;

	switch (c) {
	case WOPT_RESYNC:
		return watch_duration("--resync", arg, 100, 24 * 3600 * 1000,
				      &cfg->resync_ms)
			       ? -1
			       : 1;
	case WOPT_DEBOUNCE:
		return watch_duration("--debounce", arg, 0, 3600 * 1000,
				      &cfg->debounce_ms)
			       ? -1
			       : 1;
	case WOPT_STOP_TIMEOUT:
		return watch_duration("--stop-timeout", arg, 100, 3600 * 1000,
				      &cfg->stop_timeout_ms)
			       ? -1
			       : 1;
	case WOPT_STATUS_FILE:
		cfg->status_file = arg;
		return 1;
	case WOPT_METRICS_FILE:
		cfg->metrics_file = arg;
		return 1;
	case WOPT_LOG_FORMAT:
		if (strcmp(arg, "text") && strcmp(arg, "json")) {
			fprintf(stderr,
				"moor watch: --log-format: '%s' is not text "
				"or json\n",
				arg);
			return -1;
		}
		a->format = arg;
		return 1;
	case WOPT_CONCURRENCY:
	case WOPT_MAX_CHANGES:
		return watch_int(c, arg, cfg) ? -1 : 1;
	case WOPT_LISTEN:
		if (rc_httpd_parse_addr(arg, &a->listen_addr, &err) < 0) {
			fprintf(stderr, "moor watch: --listen: %s\n", err.msg);
			return -1;
		}
		a->listen = arg;
		return 1;
	case WOPT_READ_BUDGET:
		if (rc_aws_parse_share(arg, &cfg->read_budget.share, &err)) {
			fprintf(stderr, "moor watch: --read-budget: %s\n",
				err.msg);
			return -1;
		}
		return 1;
	case WOPT_ALLOW_MASS:
		fputs("moor watch: --allow-mass-deregister is not "
		      "available to the daemon: an edit must never "
		      "empty a group unattended; run 'moor apply "
		      "--allow-mass-deregister' once instead\n",
		      stderr);
		return -1;
	}
	return 0;
}

/*
 * Parse argv into a; -1 to go on, with a->cfg.spec_path set, else the
 * exit code to return now (usage said; 0 for --help).
 */
static int watch_parse(int argc, char **argv, struct watch_args *a)
{
	static const struct option longopts[] = {
		{ "resync", required_argument, NULL, WOPT_RESYNC },
		{ "debounce", required_argument, NULL, WOPT_DEBOUNCE },
		{ "status-file", required_argument, NULL, WOPT_STATUS_FILE },
		{ "metrics-file", required_argument, NULL, WOPT_METRICS_FILE },
		{ "log-format", required_argument, NULL, WOPT_LOG_FORMAT },
		{ "concurrency", required_argument, NULL, WOPT_CONCURRENCY },
		{ "read-budget", required_argument, NULL, WOPT_READ_BUDGET },
		{ "stop-timeout", required_argument, NULL, WOPT_STOP_TIMEOUT },
		{ "max-changes", required_argument, NULL, WOPT_MAX_CHANGES },
		{ "allow-mass-deregister", no_argument, NULL, WOPT_ALLOW_MASS },
		{ "listen", required_argument, NULL, WOPT_LISTEN },
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, &a->aws);

		if (r == 0)
			r = watch_opt(c, optarg, a);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == 'h') {
			fputs(watch_usage, stdout);
			return 0;
		}
		break;
	}
	if (c == -1 && optind == argc - 1) {
		a->cfg.spec_path = argv[optind];
		return -1;
	}
	fputs(watch_usage, stderr);
	return EXIT_USAGE;
}

/* Start --listen's server before the daemon; -1 (said) if it cannot. */
static int watch_listen(struct watch_args *a)
{
	struct util_err err = UTIL_ERR_INIT;

	if (rc_httpd_start(&a->listen_addr, NULL, &a->cfg.httpd, &err) < 0) {
		util_log(UTIL_LOG_ERROR, "watch_failed", NULL,
			 "--listen %s: %s", a->listen, err.msg);
		return -1;
	}
	util_log(UTIL_LOG_INFO, "http_listening", NULL,
		 "serving /metrics, /status and /healthz on %s (port %u)",
		 a->listen, (unsigned)rc_httpd_port(a->cfg.httpd));
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_args a = { .format = "text" };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	struct prov *p = NULL;
	bool abandoned = false;
	int rc;

	/* Before any thread exists: the daemon reads them via signalfd. */
	rc_watch_block_signals();
	a.cfg.resync_ms = RC_WATCH_DEFAULT_RESYNC_MS;
	a.cfg.debounce_ms = RC_WATCH_DEFAULT_DEBOUNCE_MS;
	a.cfg.stop_timeout_ms = RC_WATCH_DEFAULT_STOP_TIMEOUT_MS;
	rc = watch_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;

	/* There is no last good spec yet: the first must be valid. */
	rc = 1;
	if (cli_load_spec(a.cfg.spec_path, NULL, 0, &s))
		goto out;
	cli_read_budget(a.aws.limits_set ? &a.aws.limits : NULL,
			&a.cfg.read_budget);
	if (cli_check_read_budget(s, a.aws.limits_set ? &a.aws.limits : NULL,
				  a.cfg.read_budget.share))
		goto out;
	a.aws.default_max_attempts = CLI_ENGINE_MAX_ATTEMPTS;
	if (make_provider(&a.aws, s->region, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	util_log_set_sink(strcmp(a.format, "json") ? output_log_text
						   : output_log_json,
			  NULL, a.aws.debug ? UTIL_LOG_DEBUG : UTIL_LOG_INFO);
	a.cfg.region = prov_aws_region(p, NULL);
	a.cfg.region_fixed = a.aws.region != NULL;
	if (a.listen && watch_listen(&a) < 0)
		goto out;
	if (rc_watch_run(p, s, &a.cfg, &abandoned, &err) < 0) {
		s = NULL;
		util_log(UTIL_LOG_ERROR, "watch_failed", NULL, "%s", err.msg);
		goto out;
	}
	s = NULL;
	if (abandoned) {
		/* A worker is still in an AWS call: leave without freeing. */
		fflush(stderr);
		_exit(0);
	}
	rc = 0;
out:
	rc_httpd_free(a.cfg.httpd);
	util_log_set_sink(NULL, NULL, UTIL_LOG_INFO);
	spec_free(s);
	prov_free(p);
	return rc;
}
