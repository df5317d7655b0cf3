/*
 * moor: the command line.  This is the only file that prints and chooses
 * exit codes; everything it calls returns values and errors.
 *
 * Exit codes: 0 success (plan: no changes), 1 error, 2 changes present
 * (plan --detailed-exitcode), 64 usage error.
 *
 * Layout: one cmd_*() per command, then the dispatch table.  Options shared
 * by the commands that talk to AWS live in struct common_opts and are
 * parsed by parse_common_opt().
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/apply.h"
#include "reconciler/import.h"
#include "reconciler/observe.h"
#include "reconciler/plan.h"
#include "reconciler/planfile.h"
#include "reconciler/planverify.h"
#include "reconciler/render.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/str.h"
#include "util/banned.h"

#define EXIT_CHANGES 2
#define EXIT_USAGE   64

static const char usage_text[] =
	"usage: moor [--version] [--help] <command> [<args>]\n"
	"\n"
	"commands:\n"
	"  validate FILE...       check spec files; contacts nothing\n"
	"  plan SPEC              show what apply would change\n"
	"  apply SPEC|PLAN        make live state equal to the spec\n"
	"  import ...             print a spec that declares the live state\n"
	"  watch SPEC             daemon: apply every edit, correct drift,\n"
	"                         fail floating IPs over\n"
	"  whoami                 show the AWS identity, region and endpoints\n"
	"\n"
	"See moor(1) and moor-spec(5).\n";

/*
 * Options of every command that talks to AWS.  Zeroed = every default;
 * parse_common_opt() fills it from the command line.
 */
struct common_opts {
	const char *region;  /* --region */
	const char *profile; /* --profile */
	int debug;	     /* --debug: log each HTTP exchange (redacted) */
	int max_attempts;    /* --max-attempts, 0 = default */
	int aws_concurrency; /* --aws-concurrency: requests in flight, 0 = 8 */
	uint64_t connect_timeout_ms; /* --connect-timeout, 0 = default */
	uint64_t request_timeout_ms; /* --request-timeout, 0 = default */
	/* --rate-limit settings applied over the AWS defaults. */
	struct awsp_ratelimit_config limits;
	int limits_set;
};

static void print_err(const struct util_err *err)
{
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	fprintf(stderr, "moor: %s\n", b.buf);
	buf_release(&b);
}

/*
 * --debug: every log event, down to debug, as one text line on stderr:
 *   TIME LEVEL event resource: message key=value ...
 * (values with spaces or quotes are quoted).  Library code never logs
 * secrets; the HTTP transport logs method, URL without its query, status,
 * duration, attempt and request id, never headers or bodies.
 */
static void stderr_log_sink(void *ctx, const struct util_log_event *ev)
{
	struct buf line = BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char when[32];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(when, sizeof(when), "-");
	buf_addf(&line, "%s.%03ldZ %s %s", when, ts.tv_nsec / 1000000L,
		 util_log_level_name(ev->level), ev->event);
	if (ev->resource)
		buf_addf(&line, " %s", ev->resource);
	buf_addf(&line, ": %s", ev->msg);
	for (const char *const *f = ev->fields; f && f[0] && f[1]; f += 2) {
		if (strpbrk(f[1], " \t\"") || !*f[1]) {
			buf_addf(&line, " %s=\"", f[0]);
			for (const char *c = f[1]; *c; c++) {
				if (*c == '"' || *c == '\\')
					buf_addch(&line, '\\');
				buf_addch(&line, *c == '\n' ? ' ' : *c);
			}
			buf_addch(&line, '"');
		} else {
			buf_addf(&line, " %s=%s", f[0], f[1]);
		}
	}
	buf_addch(&line, '\n');
	fputs(line.buf, stderr);
	buf_release(&line);
}

static void enable_debug_log(void)
{
	util_log_set_sink(stderr_log_sink, NULL, UTIL_LOG_DEBUG);
}

/*
 * The AWS options, shared by every command that talks to AWS: put
 * COMMON_AWS_LONGOPTS in the getopt_long table and hand each option to
 * parse_common_opt() first.
 *
 *   --region REGION         else the spec's region, AWS_REGION,
 *                           AWS_DEFAULT_REGION, the profile, IMDS
 *   --profile NAME          shared config/credentials profile
 *   --debug                 log each AWS exchange on stderr (redacted)
 *   --max-attempts N        attempts per AWS call, retries included
 *                           (1-100; else AWS_MAX_ATTEMPTS, profile, 3)
 *   --aws-concurrency N     AWS requests in flight at once (1-64, 8)
 *   --connect-timeout DUR   TCP+TLS connect timeout (default 10s)
 *   --request-timeout DUR   whole HTTP exchange (default 60s)
 *   --rate-limit SETTING    client-side token bucket: NAME=BURST/RATE,
 *                           NAME=off or off; repeatable.  Names:
 *                           ec2-non-mutating ec2-unfiltered ec2-mutating
 *                           elb-describe elb-registration elb-mutating
 *                           elbv2-describe elbv2-registration
 *                           elbv2-mutating elb-account
 *
 * Endpoints are not options: they come from AWS_ENDPOINT_URL[_<SVC>] and
 * the profile, as for every AWS tool.
 */
enum {
	COPT_REGION = 512,
	COPT_PROFILE,
	COPT_DEBUG,
	COPT_MAX_ATTEMPTS,
	COPT_AWS_CONCURRENCY,
	COPT_CONNECT_TIMEOUT,
	COPT_REQUEST_TIMEOUT,
	COPT_RATE_LIMIT,
};

#define COMMON_AWS_LONGOPTS                                            \
	{ "region", required_argument, NULL, COPT_REGION },            \
		{ "profile", required_argument, NULL, COPT_PROFILE },  \
		{ "debug", no_argument, NULL, COPT_DEBUG },            \
		{ "max-attempts", required_argument, NULL,             \
		  COPT_MAX_ATTEMPTS },                                 \
		{ "aws-concurrency", required_argument, NULL,          \
		  COPT_AWS_CONCURRENCY },                              \
		{ "connect-timeout", required_argument, NULL,          \
		  COPT_CONNECT_TIMEOUT },                              \
		{ "request-timeout", required_argument, NULL,          \
		  COPT_REQUEST_TIMEOUT },                              \
	{                                                              \
		"rate-limit", required_argument, NULL, COPT_RATE_LIMIT \
	}

#define COMMON_AWS_USAGE                                                      \
	"AWS options:\n"                                                      \
	"  --region REGION        else the spec's, AWS_REGION, the profile\n" \
	"  --profile NAME         shared config/credentials profile\n"        \
	"  --debug                log each AWS exchange (redacted)\n"         \
	"  --max-attempts N       attempts per AWS call, retries included\n"  \
	"  --aws-concurrency N    AWS requests in flight (default 8)\n"       \
	"  --connect-timeout DUR  connect timeout (default 10s)\n"            \
	"  --request-timeout DUR  per HTTP exchange (default 60s)\n"          \
	"  --rate-limit SET       token bucket NAME=BURST/RATE|NAME=off|off\n"

/* 1 if opt is a common AWS option (parsed), 0 if not, -1 on a bad value. */
static int parse_common_opt(int opt, const char *arg, struct common_opts *o)
{
	struct util_err err = UTIL_ERR_INIT;
	unsigned attempts;
	const char *name = NULL;
	int r = 0;

	switch (opt) {
	case COPT_REGION:
		o->region = arg;
		return 1;
	case COPT_PROFILE:
		o->profile = arg;
		return 1;
	case COPT_DEBUG:
		o->debug = 1;
		return 1;
	case COPT_MAX_ATTEMPTS:
		name = "--max-attempts";
		r = awsp_retry_parse_max_attempts(arg, &attempts, &err);
		if (r == 0)
			o->max_attempts = (int)attempts;
		break;
	case COPT_AWS_CONCURRENCY:
		name = "--aws-concurrency";
		r = util_parse_int(arg, 1, 64, &o->aws_concurrency, &err);
		break;
	case COPT_CONNECT_TIMEOUT:
		name = "--connect-timeout";
		r = util_duration_parse(arg, &o->connect_timeout_ms, &err);
		break;
	case COPT_REQUEST_TIMEOUT:
		name = "--request-timeout";
		r = util_duration_parse(arg, &o->request_timeout_ms, &err);
		break;
	case COPT_RATE_LIMIT:
		name = "--rate-limit";
		if (!o->limits_set)
			awsp_ratelimit_defaults(&o->limits);
		o->limits_set = 1;
		r = awsp_ratelimit_config_set(&o->limits, arg, &err);
		break;
	default:
		return 0;
	}
	if (r == 0 &&
	    (opt == COPT_CONNECT_TIMEOUT || opt == COPT_REQUEST_TIMEOUT)) {
		uint64_t ms = opt == COPT_CONNECT_TIMEOUT
				      ? o->connect_timeout_ms
				      : o->request_timeout_ms;

		if (ms == 0 || ms > 3600 * 1000)
			r = util_err_set(&err, UTIL_EINVAL,
					 "'%s' is not between 1ms and 1h", arg);
	}
	if (r < 0) {
		fprintf(stderr, "moor: %s: %s\n", name, err.msg);
		return -1;
	}
	return 1;
}

/*
 * Open the AWS provider for the given options (NULL = defaults);
 * spec_region is the spec's `region:` (NULL if none).  With --debug, the
 * debug log sink is installed first, so region and credential lookups
 * are logged too.  Caller frees *ret with prov_free().
 */
static int make_provider(const struct common_opts *o, const char *spec_region,
			 struct prov **ret, struct util_err *err)
{
	static const struct common_opts none;
	struct prov_aws_config cfg = { 0 };

	if (!o)
		o = &none;
	if (o->debug)
		enable_debug_log();
	cfg.region = o->region;
	cfg.spec_region = spec_region;
	cfg.profile = o->profile;
	cfg.max_attempts = o->max_attempts > 0 ? (unsigned)o->max_attempts : 0;
	cfg.concurrency = o->aws_concurrency > 0 ? (unsigned)o->aws_concurrency
						 : 0;
	cfg.connect_timeout_ms = (long)o->connect_timeout_ms;
	cfg.timeout_ms = (long)o->request_timeout_ms;
	cfg.limits = o->limits_set ? &o->limits : NULL;
	return prov_aws_new(&cfg, ret, err);
}

/* --- moor validate ---------------------------------------------------- */

static const char validate_usage[] =
	"usage: moor validate [-q|--quiet] FILE...\n"
	"\n"
	"Check spec files without contacting anything.  Prints\n"
	"'FILE: ok (...)' per valid file and 'FILE:LINE:COL: message' per\n"
	"problem; exits 1 if any file is invalid.\n";

static void print_spec_diags(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		fprintf(stderr, "%s\n", b.buf);
	}
	buf_release(&b);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* One file: 0 valid, 1 invalid or unreadable. */
static int validate_one(const char *path, int quiet)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	size_t lbs, members, eips;
	int r;

	r = spec_load_file(path, &s, &d, &err);
	if (r == UTIL_EIO)
		print_err(&err);
	else
		print_spec_diags(&d);
	if (r == 0 && !quiet) {
		spec_counts(s, &lbs, &members, &eips);
		printf("%s: ok (%zu %s, %zu %s, %zu %s)\n", path, lbs,
		       plural(lbs, "load balancer", "load balancers"), members,
		       plural(members, "member", "members"), eips,
		       plural(eips, "elastic IP", "elastic IPs"));
	}
	spec_free(s);
	spec_diags_release(&d);
	return r == 0 ? 0 : 1;
}

static int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int quiet = 0, rc = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(validate_usage, stdout);
			return 0;
		default:
			fputs(validate_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(validate_usage, stderr);
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		if (validate_one(argv[i], quiet))
			rc = 1;
	return rc;
}

/* --- moor plan / apply / import --------------------------------------- */

/*
 * Options of the engine's commands; the AWS ones are COMMON_AWS_LONGOPTS,
 * parsed by parse_common_opt() into struct common_opts.
 */
enum {
	OPT_FORMAT = 256,
	OPT_DETAILED,
	OPT_ONLY,
	OPT_ALLOW_MASS,
	OPT_MAX_CHANGES,
	OPT_YES,
	OPT_CONCURRENCY,
	OPT_CLASSIC,
	OPT_TG,
	OPT_EIP,
};

/* Colour on a terminal, unless NO_COLOR is set or TERM is dumb. */
static unsigned engine_color(int fd)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (!isatty(fd) || (nc && *nc) || (term && !strcmp(term, "dumb")))
		return 0;
	return RC_RENDER_COLOR;
}

static void engine_print_notes(const struct rc_notes *n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n->n; i++) {
		buf_reset(&b);
		rc_note_format(n, i, &b);
		fprintf(stderr, "%s\n", b.buf);
	}
	buf_release(&b);
}

/* Add comma-separated names to a growing list. */
static void engine_add_names(const char ***v, size_t *n, char *arg)
{
	char *save = NULL;

	for (char *t = strtok_r(arg, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		*v = util_xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = t;
	}
}

/* Read a whole file of at most max bytes into out. */
static int engine_read_file(const char *path, size_t max, struct buf *out,
			    struct util_err *err)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char tmp[65536];
	size_t n;
	int r = 0;

	if (!f)
		return util_err_set(err, UTIL_EIO, "cannot read '%s': %s", path,
				    strerror(errno));
	/* A regular file too large is refused before reading a byte. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > max) {
		fclose(f);
		return util_err_set(err, UTIL_ELIMIT,
				    "'%s' is larger than %zu bytes", path, max);
	}
	buf_init(out, max);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (buf_add(out, tmp, n) < 0) {
			r = util_err_set(err, UTIL_ELIMIT,
					 "'%s' is larger than %zu bytes", path,
					 max);
			break;
		}
	}
	if (!r && ferror(f))
		r = util_err_set(err, UTIL_EIO, "cannot read '%s': %s", path,
				 strerror(errno));
	fclose(f);
	return r;
}

/* What plan and apply share: build a plan from a spec file. */
struct engine_plan_opts {
	struct common_opts aws;
	const char **only;
	size_t n_only;
	bool allow_mass;
	bool has_max_changes;
	unsigned max_changes;
};

/*
 * Load the spec, open the provider, observe and plan.  On success the
 * caller owns *ret_spec, *ret_prov, *ret_world and *ret_plan.  Prints
 * every problem itself; returns 0 or 1 (the exit code).
 */
static int engine_make_plan(const char *path, const char *data, size_t len,
			    const struct engine_plan_opts *eo,
			    struct spec **ret_spec, struct prov **ret_prov,
			    struct rc_world *ret_world,
			    struct rc_plan **ret_plan)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct rc_reads r = RC_READS_INIT;
	struct rc_notes errors = { 0 };
	struct rc_plan_opts po = { 0 };
	struct spec *s = NULL;
	struct prov *p = NULL;
	bool *use_lb = NULL, *use_eip = NULL;
	int rc = 1;

	if (data ? spec_load_buffer(path, data, len, &s, &d, &err)
		 : spec_load_file(path, &s, &d, &err)) {
		if (err.code == UTIL_EIO)
			print_err(&err);
		else
			print_spec_diags(&d);
		goto out;
	}
	print_spec_diags(&d); /* warnings */
	if (eo->n_only &&
	    rc_select_only(s, eo->only, eo->n_only, &use_lb, &use_eip, &err)) {
		print_err(&err);
		goto out;
	}
	if (make_provider(&eo->aws, s->region, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (rc_reads_from_spec(&r, s, use_lb, use_eip, &err) < 0) {
		print_err(&err);
		goto out;
	}
	r.identity = true;
	if (rc_observe(p, &r, NULL, ret_world, &err) < 0) {
		print_err(&err);
		goto out;
	}
	po.use_lb = use_lb;
	po.use_eip = use_eip;
	po.allow_mass_deregister = eo->allow_mass;
	po.has_max_changes = eo->has_max_changes;
	po.max_changes = eo->max_changes;
	po.region = prov_aws_region(p, NULL);
	po.moor_version = MOOR_VERSION;
	po.spec_content = data;
	po.spec_content_len = len;
	po.only = eo->only;
	po.n_only = eo->n_only;
	if (rc_plan_build(s, ret_world, &po, ret_plan, &errors, &err) < 0) {
		engine_print_notes(&errors);
		print_err(&err);
		rc_world_release(ret_world);
		goto out;
	}
	*ret_spec = s;
	*ret_prov = p;
	s = NULL;
	p = NULL;
	rc = 0;
out:
	free(use_lb);
	free(use_eip);
	rc_notes_release(&errors);
	rc_reads_release(&r);
	spec_diags_release(&d);
	spec_free(s);
	prov_free(p);
	return rc;
}

static const char plan_usage[] =
	"usage: moor plan SPEC [options]\n"
	"\n"
	"Show what apply would change, in order, without changing anything.\n"
	"\n"
	"  --format text|markdown|json   output format (default text)\n"
	"  -o, --out PLAN         also save the plan (JSON) for moor apply\n"
	"  --detailed-exitcode    exit 0 in sync, 2 differs, 1 error\n"
	"  --only NAME...         plan only these groups / addresses\n"
	"  --allow-mass-deregister  allow removing more than half a group\n"
	"  --max-changes N        refuse a plan with more than N changes\n"
	"\n" COMMON_AWS_USAGE;

/*
 * Options common to plan and apply.  1 parsed, 0 not ours, -1 bad value.
 * Non-option words after --only are more names (only_mode).
 */
static int engine_plan_opt(int c, char *arg, struct engine_plan_opts *eo,
			   bool *only_mode)
{
	struct util_err err = UTIL_ERR_INIT;
	int r = parse_common_opt(c, arg, &eo->aws);

	if (r)
		return r;
	switch (c) {
	case OPT_ONLY:
		engine_add_names(&eo->only, &eo->n_only, arg);
		*only_mode = true;
		return 1;
	case OPT_ALLOW_MASS:
		eo->allow_mass = true;
		return 1;
	case OPT_MAX_CHANGES: {
		int v;

		/* 0 is "no change allowed", a no-op plan's drift check. */
		if (util_parse_int(arg, 0, 1000000000, &v, &err) < 0) {
			fprintf(stderr, "moor: --max-changes: %s\n", err.msg);
			return -1;
		}
		eo->has_max_changes = true;
		eo->max_changes = (unsigned)v;
		return 1;
	}
	}
	return 0;
}

/*
 * A word that is not an option: the file first, then more names when it
 * follows --only (only_mode).  -1 when it is neither (said for cmd).
 */
static int engine_plan_word(const char *cmd, char *arg, const char **path,
			    struct engine_plan_opts *eo, bool only_mode)
{
	if (!*path) {
		*path = arg;
	} else if (only_mode) {
		engine_add_names(&eo->only, &eo->n_only, arg);
	} else {
		fprintf(stderr, "moor %s: unexpected '%s'\n", cmd, arg);
		return -1;
	}
	return 0;
}

static int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "out", required_argument, NULL, 'o' },
		{ "detailed-exitcode", no_argument, NULL, OPT_DETAILED },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "allow-mass-deregister", no_argument, NULL, OPT_ALLOW_MASS },
		{ "max-changes", required_argument, NULL, OPT_MAX_CHANGES },
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_plan_opts eo = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct rc_world w = { 0 };
	struct rc_plan *plan = NULL;
	struct spec *s = NULL;
	struct prov *p = NULL;
	struct buf out = BUF_INIT, data = BUF_INIT;
	const char *path = NULL, *format = "text", *save = NULL;
	bool detailed = false, only_mode = false;
	int c, rc = EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "-o:h", opts, NULL)) != -1) {
		int r = engine_plan_opt(c, optarg, &eo, &only_mode);

		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		switch (c) {
		case 1:
			if (engine_plan_word("plan", optarg, &path, &eo,
					     only_mode) < 0)
				goto usage;
			continue;
		case OPT_FORMAT:
			format = optarg;
			break;
		case 'o':
			save = optarg;
			break;
		case OPT_DETAILED:
			detailed = true;
			break;
		case 'h':
			fputs(plan_usage, stdout);
			rc = 0;
			goto out;
		default:
			goto usage;
		}
		only_mode = false;
	}
	if (!path || (strcmp(format, "text") && strcmp(format, "markdown") &&
		      strcmp(format, "json")))
		goto usage;

	rc = 1;
	/* Read here: a saved plan carries the bytes it was made from. */
	if (engine_read_file(path, RC_PLAN_MAX_FILE_SIZE, &data, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (engine_make_plan(path, data.buf, data.len, &eo, &s, &p, &w, &plan))
		goto out;
	if (!strcmp(format, "json")) {
		if (rc_plan_to_json(plan, &out, &err) < 0) {
			print_err(&err);
			goto out;
		}
	} else if (!strcmp(format, "markdown")) {
		rc_render_markdown(plan, &out);
	} else {
		rc_render_text(plan, engine_color(STDOUT_FILENO), &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	if (save && rc_plan_save(plan, save, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (fflush(stdout) != 0)
		goto out;
	/* Held back by a guard is a difference too: a drift check sees it. */
	rc = detailed && rc_plan_differs(plan) ? EXIT_CHANGES : 0;
	goto out;
usage:
	fputs(plan_usage, stderr);
	rc = EXIT_USAGE;
out:
	buf_release(&out);
	buf_release(&data);
	rc_plan_free(plan);
	rc_world_release(&w);
	spec_free(s);
	prov_free(p);
	free(eo.only);
	return rc;
}

/* SIGINT/SIGTERM during apply: finish the steps in flight, stop. */
static volatile sig_atomic_t s_cancel;

static void on_cancel_signal(int sig)
{
	(void)sig;
	s_cancel = 1;
}

static void engine_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cancel_signal;
	/* A second signal kills at once. */
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Progress on a terminal (stderr): phases, steps, waits. */
struct engine_progress {
	pthread_mutex_t lock;
	size_t total, done;
	bool status_line; /* a \r line is showing */
};

static void progress_clear(struct engine_progress *g)
{
	if (g->status_line)
		fputs("\r\033[K", stderr);
	g->status_line = false;
}

static void progress_phase(void *ctx, enum rc_phase ph, size_t n)
{
	struct engine_progress *g = ctx;

	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	fprintf(stderr, "phase %d/%d %s: %zu step%s\n", (int)ph, RC_N_PHASES,
		rc_phase_name(ph), n, n == 1 ? "" : "s");
	pthread_mutex_unlock(&g->lock);
}

static void progress_step(void *ctx, const struct rc_step *s,
			  const struct rc_step_result *r)
{
	struct engine_progress *g = ctx;
	struct buf b = BUF_INIT;

	rc_render_step(s, 0, 5, &b);
	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	g->done++;
	fprintf(stderr, "  [%zu/%zu] %-7s %s\n", g->done, g->total,
		rc_outcome_name(r->outcome), b.buf);
	pthread_mutex_unlock(&g->lock);
	buf_release(&b);
}

static void progress_wait(void *ctx, const struct rc_step *s,
			  uint64_t elapsed_ms, size_t ready, size_t total)
{
	struct engine_progress *g = ctx;
	char d[32];

	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	fprintf(stderr, "  waiting for %s: %zu/%zu %s, %s elapsed", s->label,
		ready, total, rc_until_name(s->until),
		util_duration_format(elapsed_ms / 1000 * 1000, d, sizeof(d)));
	g->status_line = true;
	pthread_mutex_unlock(&g->lock);
}

/* On a terminal, ask; without one, require --yes. 0 = go ahead. */
static int engine_confirm(const struct rc_plan *plan, bool yes)
{
	struct rc_plan_counts c;
	char line[64];

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fputs("moor apply: stdin is not a terminal; pass --yes "
		      "to apply without confirmation\n",
		      stderr);
		return 1;
	}
	rc_plan_count(plan, &c);
	fprintf(stderr,
		"\nApply these %zu change%s%s%s? Only 'yes' is accepted: ",
		c.changes, c.changes == 1 ? "" : "s",
		plan->account ? " to account " : "",
		plan->account ? plan->account : "");
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n")) {
		fputs("moor apply: not confirmed; nothing was done\n", stderr);
		return 1;
	}
	return 0;
}

/* The plan's account must be the credentials' account. */
static int engine_check_account(struct prov *p, const struct rc_plan *plan)
{
	struct util_err err = UTIL_ERR_INIT;
	struct prov_identity id = { 0 };
	int rc = 0;

	if (!plan->account || !p)
		return 0;
	if (p->ops->identity(p, &id, &err) < 0) {
		print_err(&err);
		return 1;
	}
	if (!util_streq(id.account, plan->account)) {
		fprintf(stderr,
			"moor apply: the plan was made for account %s; these "
			"credentials are for %s\n",
			plan->account, id.account ? id.account : "?");
		rc = 1;
	}
	prov_identity_release(&id);
	return rc;
}

/*
 * moor apply PLAN: read the saved plan and refuse it unless it is what
 * moor plans now (planverify.h), with apply's own guard flags.  Prints
 * every problem itself; returns 0, 1 or EXIT_USAGE (the exit code).
 */
static int engine_load_saved(const char *path, const struct buf *data,
			     const struct engine_plan_opts *eo,
			     struct prov **ret_prov, struct rc_plan **ret_plan)
{
	struct util_err err = UTIL_ERR_INIT;
	struct rc_notes errors = { 0 };
	struct rc_report rep = { 0 };
	struct rc_verify_opts vo = { 0 };
	struct rc_plan *plan = NULL;
	struct prov *p = NULL;
	struct buf out = BUF_INIT;
	int rc = 1;

	if (eo->n_only) {
		fputs("moor apply: --only applies to a spec, not to a saved "
		      "plan\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (rc_plan_from_json(path, data->buf, data->len, &plan, &err) < 0 ||
	    make_provider(&eo->aws, plan->region, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (engine_check_account(p, plan))
		goto out;
	vo.path = path;
	vo.allow_mass_deregister = eo->allow_mass;
	vo.has_max_changes = eo->has_max_changes;
	vo.max_changes = eo->max_changes;
	vo.region = prov_aws_region(p, NULL);
	vo.moor_version = MOOR_VERSION;
	if (rc_plan_verify(p, plan, &vo, &rep, &errors, &err) < 0) {
		if (rep.n_stale) {
			rc_render_report(plan, &rep,
					 engine_color(STDOUT_FILENO), &out);
			fwrite(out.buf, 1, out.len, stdout);
			fflush(stdout);
		}
		engine_print_notes(&errors);
		print_err(&err);
		goto out;
	}
	*ret_prov = p;
	*ret_plan = plan;
	p = NULL;
	plan = NULL;
	rc = 0;
out:
	buf_release(&out);
	rc_report_release(&rep);
	rc_notes_release(&errors);
	rc_plan_free(plan);
	prov_free(p);
	return rc;
}

/*
 * Run plan, with progress on a terminal, and print the report.  fresh:
 * the world the plan was just made from, or NULL to re-read first (and
 * refuse a stale plan).  Returns the exit code.
 */
static int engine_run(struct prov *p, const struct rc_plan *plan,
		      const struct rc_world *fresh, unsigned concurrency,
		      unsigned color)
{
	struct util_err err = UTIL_ERR_INIT;
	struct rc_report rep = { 0 };
	struct engine_progress prog = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct rc_apply_progress cb = { progress_phase, progress_step,
					progress_wait, &prog };
	struct rc_apply_opts ao = { 0 };
	struct buf out = BUF_INIT;
	int rc = 1;

	engine_catch_signals();
	ao.concurrency = concurrency;
	ao.cancel = &s_cancel;
	ao.check_stale = !fresh;
	ao.fresh = fresh;
	prog.total = plan->n_steps;
	if (isatty(STDERR_FILENO))
		ao.progress = &cb;
	fputc('\n', stderr);
	if (rc_apply(p, plan, &ao, &rep, &err) == 0)
		rc = 0;
	pthread_mutex_lock(&prog.lock);
	progress_clear(&prog);
	pthread_mutex_unlock(&prog.lock);
	rc_render_report(plan, &rep, color, &out);
	fwrite(out.buf, 1, out.len, stdout);
	if (rc)
		print_err(&err);
	rc_report_release(&rep);
	buf_release(&out);
	return rc;
}

static const char apply_usage[] =
	"usage: moor apply SPEC|PLAN [options]\n"
	"\n"
	"Make live state equal to the spec: plan, then apply (asking on a\n"
	"terminal).  With a plan saved by 'moor plan -o', apply exactly that\n"
	"plan, refusing it unless moor plans just that again now.\n"
	"\n"
	"  -y, --yes              do not ask (required without a terminal)\n"
	"  --concurrency N        steps run in parallel per phase (default 8)\n"
	"  --only NAME...         apply only these groups / addresses (SPEC)\n"
	"  --allow-mass-deregister  allow removing more than half a group\n"
	"  --max-changes N        refuse a plan with more than N changes\n"
	"\n" COMMON_AWS_USAGE;

static int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "allow-mass-deregister", no_argument, NULL, OPT_ALLOW_MASS },
		{ "max-changes", required_argument, NULL, OPT_MAX_CHANGES },
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_plan_opts eo = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct rc_world w = { 0 };
	struct rc_plan *plan = NULL;
	struct spec *s = NULL;
	struct prov *p = NULL;
	struct buf data = BUF_INIT, out = BUF_INIT;
	const char *path = NULL;
	bool yes = false, only_mode = false, saved;
	int c, concurrency = 8, rc = EXIT_USAGE;
	unsigned color = engine_color(STDOUT_FILENO);

	optind = 1;
	while ((c = getopt_long(argc, argv, "-yh", opts, NULL)) != -1) {
		int r = engine_plan_opt(c, optarg, &eo, &only_mode);

		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		switch (c) {
		case 1:
			if (engine_plan_word("apply", optarg, &path, &eo,
					     only_mode) < 0)
				goto usage;
			continue;
		case 'y':
			yes = true;
			break;
		case OPT_CONCURRENCY:
			if (util_parse_int(optarg, 1, 64, &concurrency, &err) <
			    0) {
				fprintf(stderr, "moor: --concurrency: %s\n",
					err.msg);
				goto out;
			}
			break;
		case 'h':
			fputs(apply_usage, stdout);
			rc = 0;
			goto out;
		default:
			goto usage;
		}
		only_mode = false;
	}
	if (!path)
		goto usage;

	rc = 1;
	if (engine_read_file(path, RC_PLAN_MAX_FILE_SIZE, &data, &err) < 0) {
		print_err(&err);
		goto out;
	}
	saved = rc_plan_is_json(data.buf, data.len);
	rc = saved ? engine_load_saved(path, &data, &eo, &p, &plan)
		   : engine_make_plan(path, data.buf, data.len, &eo, &s, &p, &w,
				      &plan);
	if (rc)
		goto out;
	rc = 1;
	rc_render_text(plan, color, &out);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	if (!rc_plan_has_changes(plan)) {
		/* Nothing apply may do is left undone: not a failure. */
		if (plan->n_held)
			fputs("moor apply: nothing to apply; the differences "
			      "left are held back by a guard\n",
			      stderr);
		rc = 0;
		goto out;
	}
	if (engine_confirm(plan, yes))
		goto out;

	/* Time passed since observing when a plan was saved or confirmed. */
	rc = engine_run(p, plan, saved || !yes ? NULL : &w,
			(unsigned)concurrency, color);
	goto out;
usage:
	fputs(apply_usage, stderr);
	rc = EXIT_USAGE;
out:
	buf_release(&out);
	buf_release(&data);
	rc_plan_free(plan);
	rc_world_release(&w);
	spec_free(s);
	prov_free(p);
	free(eo.only);
	return rc;
}

static const char import_usage[] =
	"usage: moor import [--classic NAME...] [--target-group NAME...]\n"
	"                   [--eip ID|IP|NAME...] [-o FILE] [AWS options]\n"
	"\n"
	"Print a spec that declares exactly the live state of these load\n"
	"balancers and elastic IPs (moor plan against it shows no changes).\n"
	"\n" COMMON_AWS_USAGE;

static int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "classic", required_argument, NULL, OPT_CLASSIC },
		{ "target-group", required_argument, NULL, OPT_TG },
		{ "eip", required_argument, NULL, OPT_EIP },
		{ "out", required_argument, NULL, 'o' },
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct common_opts aws = { 0 };
	struct rc_import_opts io = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf out = BUF_INIT;
	struct prov *p = NULL;
	const char **classic = NULL, **tgs = NULL, **eips = NULL;
	size_t n_classic = 0, n_tgs = 0, n_eips = 0;
	const char *save = NULL;
	int c, mode = 0, rc = EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "-o:h", opts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, &aws);

		if (r < 0)
			goto out;
		if (r > 0) {
			mode = 0;
			continue;
		}
		if (c == 1)
			c = mode; /* more names for the last option */
		switch (c) {
		case OPT_CLASSIC:
			engine_add_names(&classic, &n_classic, optarg);
			break;
		case OPT_TG:
			engine_add_names(&tgs, &n_tgs, optarg);
			break;
		case OPT_EIP:
			engine_add_names(&eips, &n_eips, optarg);
			break;
		case 'o':
			save = optarg;
			break;
		case 'h':
			fputs(import_usage, stdout);
			rc = 0;
			goto out;
		case 0:
			fprintf(stderr, "moor import: unexpected '%s'\n",
				optarg);
			goto usage;
		default:
			goto usage;
		}
		mode = c == 'o' ? 0 : c;
	}
	if (!n_classic && !n_tgs && !n_eips)
		goto usage;

	rc = 1;
	if (make_provider(&aws, NULL, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	io.classic = classic;
	io.n_classic = n_classic;
	io.tgs = tgs;
	io.n_tgs = n_tgs;
	io.eips = eips;
	io.n_eips = n_eips;
	io.region = prov_aws_region(p, NULL);
	io.moor_version = MOOR_VERSION;
	if (rc_import(p, &io, &out, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (save) {
		/* As plan -o: a failed write leaves the old file whole. */
		if (util_write_file_atomic(save, out.buf, out.len, 0644, &err) <
		    0) {
			print_err(&err);
			goto out;
		}
	} else {
		fwrite(out.buf, 1, out.len, stdout);
	}
	rc = 0;
	goto out;
usage:
	fputs(import_usage, stderr);
	rc = EXIT_USAGE;
out:
	buf_release(&out);
	prov_free(p);
	free(classic);
	free(tgs);
	free(eips);
	return rc;
}

/* --- moor watch ------------------------------------------------------- */

/* Only moor watch uses the daemon. */
#include "reconciler/watch.h"

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
	"\n" COMMON_AWS_USAGE;

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf) {
		n = 2;
		min = 0x80;
		cp = *p & 0x1f;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		min = 0x800;
		cp = *p & 0x0f;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		min = 0x10000;
		cp = *p & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_add_str(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80) {
			size_t n = utf8_len(p);

			if (!n) {
				buf_addstr(b, "\\ufffd");
				continue;
			}
			buf_add(b, p, n);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"':
			buf_addstr(b, "\\\"");
			break;
		case '\\':
			buf_addstr(b, "\\\\");
			break;
		case '\n':
			buf_addstr(b, "\\n");
			break;
		case '\r':
			buf_addstr(b, "\\r");
			break;
		case '\t':
			buf_addstr(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_addf(b, "\\u%04x", *p);
			else
				buf_addch(b, (char)*p);
		}
	}
	buf_addch(b, '"');
}

/*
 * --log-format json: every event as one JSON object on one line of
 * stderr, for journald and log shippers:
 *   {"time":"...Z","level":"info","event":"failover","resource":"vip",
 *    "msg":"...","from":"i-...","to":"i-..."}
 * The event's key/value details are top-level string members (a detail
 * named like a fixed member is written as "field_NAME").
 */
static void json_log_sink(void *ctx, const struct util_log_event *ev)
{
	static const char *const fixed[] = { "time", "level", "event",
					     "resource", "msg" };
	struct buf line = BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char when[40];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(when, sizeof(when), "-");
	buf_addf(&line, "{\"time\":\"%s.%03ldZ\",\"level\":", when,
		 ts.tv_nsec / 1000000L);
	json_add_str(&line, util_log_level_name(ev->level));
	buf_addstr(&line, ",\"event\":");
	json_add_str(&line, ev->event);
	if (ev->resource) {
		buf_addstr(&line, ",\"resource\":");
		json_add_str(&line, ev->resource);
	}
	buf_addstr(&line, ",\"msg\":");
	json_add_str(&line, ev->msg);
	for (const char *const *f = ev->fields; f && f[0] && f[1]; f += 2) {
		bool clash = false;

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			clash |= !strcmp(f[0], fixed[i]);
		buf_addstr(&line, clash ? ",\"field_" : ",\"");
		buf_addf(&line, "%s\":", f[0]);
		json_add_str(&line, f[1]);
	}
	buf_addstr(&line, "}\n");
	fputs(line.buf, stderr);
	buf_release(&line);
}

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

static int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "resync", required_argument, NULL, WOPT_RESYNC },
		{ "debounce", required_argument, NULL, WOPT_DEBOUNCE },
		{ "status-file", required_argument, NULL, WOPT_STATUS_FILE },
		{ "metrics-file", required_argument, NULL, WOPT_METRICS_FILE },
		{ "log-format", required_argument, NULL, WOPT_LOG_FORMAT },
		{ "concurrency", required_argument, NULL, WOPT_CONCURRENCY },
		{ "stop-timeout", required_argument, NULL, WOPT_STOP_TIMEOUT },
		{ "max-changes", required_argument, NULL, WOPT_MAX_CHANGES },
		{ "allow-mass-deregister", no_argument, NULL, WOPT_ALLOW_MASS },
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rc_watch_config cfg = { 0 };
	struct common_opts aws = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec_diags d = { 0 };
	struct spec *s = NULL;
	struct prov *p = NULL;
	const char *format = "text";
	bool abandoned = false;
	int c, v, rc = EXIT_USAGE;

	/* Before any thread exists: the daemon reads them via signalfd. */
	rc_watch_block_signals();
	cfg.resync_ms = RC_WATCH_DEFAULT_RESYNC_MS;
	cfg.debounce_ms = RC_WATCH_DEFAULT_DEBOUNCE_MS;
	cfg.stop_timeout_ms = RC_WATCH_DEFAULT_STOP_TIMEOUT_MS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, &aws);

		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case WOPT_RESYNC:
			if (watch_duration("--resync", optarg, 100,
					   24 * 3600 * 1000, &cfg.resync_ms))
				return EXIT_USAGE;
			break;
		case WOPT_DEBOUNCE:
			if (watch_duration("--debounce", optarg, 0, 3600 * 1000,
					   &cfg.debounce_ms))
				return EXIT_USAGE;
			break;
		case WOPT_STOP_TIMEOUT:
			if (watch_duration("--stop-timeout", optarg, 100,
					   3600 * 1000, &cfg.stop_timeout_ms))
				return EXIT_USAGE;
			break;
		case WOPT_STATUS_FILE:
			cfg.status_file = optarg;
			break;
		case WOPT_METRICS_FILE:
			cfg.metrics_file = optarg;
			break;
		case WOPT_LOG_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr,
					"moor watch: --log-format: '%s' is "
					"not text or json\n",
					optarg);
				return EXIT_USAGE;
			}
			format = optarg;
			break;
		case WOPT_CONCURRENCY:
		case WOPT_MAX_CHANGES:
			if (util_parse_int(optarg,
					   c == WOPT_CONCURRENCY ? 1 : 0,
					   c == WOPT_CONCURRENCY ? 64
								 : 1000000000,
					   &v, &err) < 0) {
				fprintf(stderr, "moor watch: %s: %s\n",
					c == WOPT_CONCURRENCY ? "--concurrency"
							      : "--max-changes",
					err.msg);
				return EXIT_USAGE;
			}
			if (c == WOPT_CONCURRENCY) {
				cfg.concurrency = (unsigned)v;
			} else {
				cfg.has_max_changes = true;
				cfg.max_changes = (unsigned)v;
			}
			break;
		case WOPT_ALLOW_MASS:
			fputs("moor watch: --allow-mass-deregister is not "
			      "available to the daemon: an edit must never "
			      "empty a group unattended; run 'moor apply "
			      "--allow-mass-deregister' once instead\n",
			      stderr);
			return EXIT_USAGE;
		case 'h':
			fputs(watch_usage, stdout);
			return 0;
		default:
			fputs(watch_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(watch_usage, stderr);
		return EXIT_USAGE;
	}
	cfg.spec_path = argv[optind];

	/* There is no last good spec yet: the first must be valid. */
	rc = 1;
	if (spec_load_file(cfg.spec_path, &s, &d, &err) < 0) {
		if (err.code == UTIL_EIO)
			print_err(&err);
		else
			print_spec_diags(&d);
		goto out;
	}
	print_spec_diags(&d); /* warnings */
	if (make_provider(&aws, s->region, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	util_log_set_sink(strcmp(format, "json") ? stderr_log_sink
						 : json_log_sink,
			  NULL, aws.debug ? UTIL_LOG_DEBUG : UTIL_LOG_INFO);
	cfg.region = prov_aws_region(p, NULL);
	cfg.region_fixed = aws.region != NULL;
	if (rc_watch_run(p, s, &cfg, &abandoned, &err) < 0) {
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
	util_log_set_sink(NULL, NULL, UTIL_LOG_INFO);
	spec_diags_release(&d);
	spec_free(s);
	prov_free(p);
	return rc;
}

/* --- moor whoami ------------------------------------------------------ */

static const char whoami_usage[] =
	"usage: moor whoami [AWS options]\n"
	"\n"
	"Resolve credentials, call sts:GetCallerIdentity and show the\n"
	"account, the caller's ARN, the region, where the credentials came\n"
	"from and the endpoint of each service, with where each setting came\n"
	"from.\n"
	"\n" COMMON_AWS_USAGE;

static int cmd_whoami(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		enum awsp_service svc;
		const char *label;
	} shown[] = {
		{ AWSP_SVC_EC2, "ec2" },
		{ AWSP_SVC_ELB, "elb" },
		{ AWSP_SVC_ELBV2, "elbv2" },
		{ AWSP_SVC_STS, "sts" },
	};
	struct common_opts o = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct prov_identity id = { 0 };
	struct prov *p = NULL;
	const char *region, *src = NULL, *creds;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, &o);

		if (r > 0)
			continue;
		if (c == 'h') {
			fputs(whoami_usage, stdout);
			return 0;
		}
		if (r == 0)
			fputs(whoami_usage, stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "moor whoami: unexpected argument '%s'\n\n%s",
			argv[optind], whoami_usage);
		return EXIT_USAGE;
	}
	if (make_provider(&o, NULL, &p, &err) < 0) {
		util_err_prefix(&err, "whoami");
		print_err(&err);
		return 1;
	}
	if (p->ops->identity(p, &id, &err) < 0) {
		util_err_prefix(&err, "whoami");
		print_err(&err);
		/* Say which step answered: no credentials, or refused ones. */
		creds = prov_aws_creds_source(p);
		if (creds)
			fprintf(stderr,
				"moor: the credentials came from %s; the STS "
				"endpoint is %s\n",
				creds,
				prov_aws_endpoint(p, AWSP_SVC_STS, NULL));
		goto out;
	}
	region = prov_aws_region(p, &src);
	printf("account:      %s\n", id.account);
	printf("arn:          %s\n", id.arn);
	if (id.user_id)
		printf("user id:      %s\n", id.user_id);
	printf("region:       %s (%s)\n", region, src ? src : "-");
	creds = prov_aws_creds_source(p);
	printf("credentials:  %s\n", creds ? creds : "-");
	printf("profile:      %s\n", prov_aws_profile(p));
	printf("max attempts: %u\n", prov_aws_max_attempts(p));
	printf("endpoints:\n");
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		const char *url = prov_aws_endpoint(p, shown[i].svc, &src);

		printf("  %-6s %s (%s)\n", shown[i].label, url ? url : "-",
		       src ? src : "-");
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	prov_identity_release(&id);
	prov_free(p);
	return rc;
}

/* --- dispatch --------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "validate", cmd_validate }, { "plan", cmd_plan },
	{ "apply", cmd_apply },	      { "import", cmd_import },
	{ "watch", cmd_watch },	      { "whoami", cmd_whoami },
};

int main(int argc, char **argv)
{
	util_alloc_install_hooks();
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("moor %s\n", MOOR_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "moor: unknown command '%s'\n\n%s", argv[1],
		usage_text);
	return EXIT_USAGE;
}
