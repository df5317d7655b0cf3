/*
 * moor watch SPEC...: start the daemon (reconciler/daemon/watch.h) with the
 * options and the log sink asked for: one daemon, or one per spec with
 * --lease-table's leases.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/httpd.h"
#include "reconciler/daemon/lease.h"
#include "reconciler/daemon/watch.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

static const char watch_usage[] =
	"usage: moor watch SPEC... [options] [AWS options]\n"
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
	"                         IPv6 as [::1]:PORT; one spec only)\n"
	"  --lease-table TABLE    run as one of several replicas: only the\n"
	"                         holder of a spec's lease in this DynamoDB\n"
	"                         table mutates for it (moor(1), HIGH\n"
	"                         AVAILABILITY)\n"
	"  --lease-duration DUR   the leases' duration (default 10s)\n"
	"  --replica-id ID        this replica's id (default HOSTNAME:PID)\n"
	"\n"
	"With several specs, --status-file and --metrics-file must contain\n"
	"{name}, replaced by each spec's name.\n"
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
	WOPT_LEASE_TABLE,
	WOPT_LEASE_DURATION,
	WOPT_REPLICA_ID,
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
	char **paths; /* the specs (argv's) */
	size_t n_paths;
	struct rc_lease_config lease; /* table NULL: no leases */
	struct common_opts aws;
	const char *format; /* --log-format */
	const char *listen; /* --listen as given, or NULL */
	struct rc_httpd_addr listen_addr;
};

/* --lease-table, --replica-id, --lease-duration: 1, or -1 (said). */
static int lease_opt(int c, char *arg, struct watch_args *a)
{
	if (c == WOPT_LEASE_TABLE)
		a->lease.table = arg;
	else if (c == WOPT_REPLICA_ID)
		a->lease.replica_id = arg;
	else if (watch_duration("--lease-duration", arg, 1000, 3600 * 1000,
				&a->lease.duration_ms))
		return -1;
	return 1;
}

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
	case WOPT_LEASE_TABLE:
	case WOPT_REPLICA_ID:
	case WOPT_LEASE_DURATION:
		return lease_opt(c, arg, a);
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
 * Parse argv into a; -1 to go on, with a->paths set, else the
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
		{ "lease-table", required_argument, NULL, WOPT_LEASE_TABLE },
		{ "lease-duration", required_argument, NULL,
		  WOPT_LEASE_DURATION },
		{ "replica-id", required_argument, NULL, WOPT_REPLICA_ID },
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
	if (c == -1 && optind < argc) {
		a->paths = argv + optind;
		a->n_paths = (size_t)(argc - optind);
		a->cfg.spec_path = a->paths[0];
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

/* "{name}" in tmpl replaced by name (caller frees); NULL for NULL. */
static char *expand_name(const char *tmpl, const char *name)
{
	const char *at = tmpl ? strstr(tmpl, "{name}") : NULL;
	struct buf b = BUF_INIT;

	if (!tmpl)
		return NULL;
	if (!at)
		return util_xstrdup(tmpl);
	buf_add(&b, tmpl, (size_t)(at - tmpl));
	buf_addstr(&b, name);
	buf_addstr(&b, at + strlen("{name}"));
	return buf_detach(&b, NULL);
}

static bool same_region(const struct spec *a, const struct spec *b)
{
	if (!a->region || !b->region)
		return a->region == b->region;
	return !strcmp(a->region, b->region);
}

/* v[i] against the specs before it: 0, or 1 (said). */
static int spec_apart(const struct watch_args *a, struct spec **v, size_t i)
{
	for (size_t k = 0; k < i; k++) {
		if (strcmp(v[k]->name, v[i]->name))
			continue;
		fprintf(stderr,
			"moor watch: %s and %s are both named '%s': each "
			"spec's lease needs a name of its own (top-level "
			"'name:')\n",
			a->paths[k], a->paths[i], v[i]->name);
		return 1;
	}
	if (i && !same_region(v[0], v[i])) {
		fprintf(stderr,
			"moor watch: %s is in region %s and %s in %s: one "
			"process watches one region\n",
			a->paths[0], v[0]->region ? v[0]->region : "(default)",
			a->paths[i], v[i]->region ? v[i]->region : "(default)");
		return 1;
	}
	return 0;
}

/* Load every spec: valid, named apart, one region.  0, or 1 (said). */
static int load_specs(struct watch_args *a, struct spec **v)
{
	const struct prov_aws_rate_limits *lim = a->aws.limits_set
							 ? &a->aws.limits
							 : NULL;

	cli_read_budget(lim, &a->cfg.read_budget);
	for (size_t i = 0; i < a->n_paths; i++) {
		/* There is no last good spec yet: the first must be valid. */
		if (cli_load_spec(a->paths[i], NULL, 0, &v[i]) ||
		    spec_apart(a, v, i) ||
		    cli_check_read_budget(v[i], lim, a->cfg.read_budget.share))
			return 1;
	}
	return 0;
}

/* Options that only make sense with one spec, or need {name}. */
static int check_many(const struct watch_args *a)
{
	const char *f = NULL;

	if (a->n_paths < 2)
		return 0;
	if (a->listen) {
		fputs("moor watch: --listen serves one spec; with several, "
		      "use --status-file and --metrics-file with {name}\n",
		      stderr);
		return 1;
	}
	if (a->cfg.status_file && !strstr(a->cfg.status_file, "{name}"))
		f = "--status-file";
	else if (a->cfg.metrics_file && !strstr(a->cfg.metrics_file, "{name}"))
		f = "--metrics-file";
	if (!f)
		return 0;
	fprintf(stderr,
		"moor watch: %s: with several specs the path must contain "
		"{name} (each spec's name)\n",
		f);
	return 1;
}

/*
 * One daemon per spec, with leases when asked.  The members' strings
 * stay allocated when the run is abandoned: the process exits then.
 */
static int run_many(struct watch_args *a, struct prov *p, struct spec **v,
		    bool *abandoned, struct util_err *err)
{
	size_t n = a->n_paths;
	struct rc_watch_member *m = util_xcalloc(n + 1, sizeof(*m));
	char **strs = util_xcalloc(3 * n + 1, sizeof(char *));
	int rc;

	for (size_t i = 0; i < n; i++) {
		m[i].cfg = a->cfg;
		m[i].cfg.spec_path = a->paths[i];
		m[i].cfg.name = strs[3 * i] = util_xstrdup(v[i]->name);
		m[i].cfg.status_file = strs[3 * i + 1] =
			expand_name(a->cfg.status_file, v[i]->name);
		m[i].cfg.metrics_file = strs[3 * i + 2] =
			expand_name(a->cfg.metrics_file, v[i]->name);
		m[i].spec = v[i];
		v[i] = NULL;
	}
	rc = rc_watch_run_many(p, m, n, a->lease.table ? &a->lease : NULL,
			       abandoned, err);
	if (*abandoned)
		return rc;
	for (size_t i = 0; i < 3 * n; i++)
		free(strs[i]);
	free(strs);
	free(m);
	return rc;
}

/* The default replica id, HOSTNAME:PID, into buf. */
static const char *default_replica(char *buf, size_t size)
{
	char host[256] = "localhost";

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "localhost");
	snprintf(buf, size, "%s:%ld", host, (long)getpid());
	return buf;
}

/* Start the daemon(s) once the specs are loaded; 0, or 1 (said). */
static int watch_start(struct watch_args *a, struct spec **v, struct prov **p)
{
	struct util_err err = UTIL_ERR_INIT;
	bool abandoned = false;
	int r;

	a->aws.default_max_attempts = CLI_ENGINE_MAX_ATTEMPTS;
	if (make_provider(&a->aws, v[0]->region, p, &err) < 0) {
		print_err(&err);
		return 1;
	}
	if (a->lease.table && cli_check_lease_table(*p, a->lease.table))
		return 1;
	util_log_set_sink(strcmp(a->format, "json") ? output_log_text
						    : output_log_json,
			  NULL, a->aws.debug ? UTIL_LOG_DEBUG : UTIL_LOG_INFO);
	a->cfg.region = prov_aws_region(*p, NULL);
	a->cfg.region_fixed = a->aws.region != NULL;
	if (a->listen && watch_listen(a) < 0)
		return 1;
	if (a->n_paths == 1 && !a->lease.table) {
		r = rc_watch_run(*p, v[0], &a->cfg, &abandoned, &err);
		v[0] = NULL;
	} else {
		r = run_many(a, *p, v, &abandoned, &err);
	}
	if (r < 0) {
		util_log(UTIL_LOG_ERROR, "watch_failed", NULL, "%s", err.msg);
		return 1;
	}
	if (abandoned) {
		/* A worker is still in an AWS call: leave without freeing. */
		fflush(stderr);
		_exit(0);
	}
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_args a = { .format = "text" };
	char replica[320];
	struct spec **v = NULL;
	struct prov *p = NULL;
	int rc;

	/* Before any thread exists: the daemon reads them via signalfd. */
	rc_watch_block_signals();
	a.cfg.resync_ms = RC_WATCH_DEFAULT_RESYNC_MS;
	a.cfg.debounce_ms = RC_WATCH_DEFAULT_DEBOUNCE_MS;
	a.cfg.stop_timeout_ms = RC_WATCH_DEFAULT_STOP_TIMEOUT_MS;
	rc = watch_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (check_many(&a))
		return EXIT_USAGE;
	if (!a.lease.replica_id)
		a.lease.replica_id = default_replica(replica, sizeof(replica));

	v = util_xcalloc(a.n_paths + 1, sizeof(*v));
	rc = load_specs(&a, v);
	if (!rc)
		rc = watch_start(&a, v, &p);
	rc_httpd_free(a.cfg.httpd);
	util_log_set_sink(NULL, NULL, UTIL_LOG_INFO);
	for (size_t i = 0; i < a.n_paths; i++)
		spec_free(v[i]);
	free(v);
	prov_free(p);
	return rc;
}
