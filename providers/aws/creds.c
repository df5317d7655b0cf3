#include "providers/aws/creds.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/creds_internal.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

/*
 * botocore's RefreshableCredentials (credentials.py): with 15 minutes
 * left a refresh is attempted but may fail; with 10 left it must work.
 */
#define ADVISORY_REFRESH_S  (15 * 60)
#define MANDATORY_REFRESH_S (10 * 60)
/* source_profile chains deeper than this are a loop. */
#define MAX_ROLE_CHAIN	    8

struct awsp_creds;

/*
 * One link of the chain.  Fills *out and *ret_source (malloc'd) and
 * returns 0; UTIL_ENOTFOUND with a reason in why when the source is not
 * configured; another error when it is configured but failed.  Re-run
 * as is to refresh.
 */
typedef int (*step_fn)(struct awsp_creds *c, struct awsp_credentials *out,
		       char **ret_source, struct buf *why,
		       struct util_err *err);

struct awsp_creds {
	struct awsp_creds_config cfg;
	char *region;
	/* Guards cur, have, source, step. */
	pthread_mutex_t lock;
	/* Held while fetching: one fetch at a time. */
	pthread_mutex_t refresh_lock;
	struct awsp_credentials cur;
	bool have;
	char *source;
	step_fn step; /* the link that produced cur */
};

void awsp_credentials_release(struct awsp_credentials *c)
{
	if (!c)
		return;
	util_free_secret(c->access_key_id);
	util_free_secret(c->secret_access_key);
	util_free_secret(c->session_token);
	free(c->account_id);
	memset(c, 0, sizeof(*c));
}

void awsp_credentials_copy(struct awsp_credentials *dst,
			   const struct awsp_credentials *src)
{
	dst->access_key_id = util_xstrdup_or_null(src->access_key_id);
	dst->secret_access_key = util_xstrdup_or_null(src->secret_access_key);
	dst->session_token = util_xstrdup_or_null(src->session_token);
	dst->expiration = src->expiration;
	dst->account_id = util_xstrdup_or_null(src->account_id);
}

static time_t now_s(const struct awsp_creds *c)
{
	return c->cfg.clock->wall(c->cfg.clock->ctx);
}

static const char *profile_get(const struct awsp_creds *c, const char *profile,
			       const char *key)
{
	const char *v;

	if (!c->cfg.config)
		return NULL;
	v = awsp_profile_get(c->cfg.config, profile, key);
	return v && *v ? v : NULL;
}

/* --- environment ------------------------------------------------------ */

/* The environment's keys (also credential_source = Environment). */
static int env_keys(struct awsp_creds *c, struct awsp_credentials *out,
		    char **ret_source, struct buf *why, struct util_err *err)
{
	const struct awsp_env *env = c->cfg.env;
	const char *akid = awsp_getenv_nonempty(env, "AWS_ACCESS_KEY_ID");
	const char *secret = awsp_getenv_nonempty(env, "AWS_SECRET_ACCESS_KEY");
	const char *token = awsp_getenv_nonempty(env, "AWS_SESSION_TOKEN");
	const char *exp = awsp_getenv_nonempty(env,
					       "AWS_CREDENTIAL_EXPIRATION");
	time_t t = 0;

	if (!akid) {
		buf_addstr(why, "AWS_ACCESS_KEY_ID not set");
		return UTIL_ENOTFOUND;
	}
	/* botocore's PartialCredentialsError. */
	if (!secret)
		return util_err_set(err, UTIL_EINVAL,
				    "AWS_ACCESS_KEY_ID is set but "
				    "AWS_SECRET_ACCESS_KEY is not");
	if (!token)
		token = awsp_getenv_nonempty(env, "AWS_SECURITY_TOKEN");
	if (exp && util_time_parse_iso8601(exp, &t) < 0)
		return util_err_set(err, UTIL_EINVAL,
				    "AWS_CREDENTIAL_EXPIRATION '%s' is not an "
				    "ISO 8601 time",
				    exp);
	out->access_key_id = util_xstrdup(akid);
	out->secret_access_key = util_xstrdup(secret);
	out->session_token = util_xstrdup_or_null(token);
	out->expiration = t;
	out->account_id = util_xstrdup_or_null(
		awsp_getenv_nonempty(env, "AWS_ACCOUNT_ID"));
	*ret_source = util_xstrdup("env");
	return 0;
}

/*
 * botocore's create_credential_resolver: a profile named explicitly by the
 * caller (--profile, not AWS_PROFILE) takes the environment's keys out of
 * the chain.
 */
static int step_env(struct awsp_creds *c, struct awsp_credentials *out,
		    char **ret_source, struct buf *why, struct util_err *err)
{
	if (c->cfg.config && c->cfg.config->profile_from_cli) {
		buf_addf(why, "skipped: profile '%s' was named explicitly",
			 c->cfg.config->profile);
		return UTIL_ENOTFOUND;
	}
	return env_keys(c, out, ret_source, why, err);
}

/* --- web identity ----------------------------------------------------- */

/*
 * The variables win over the profile's keys (botocore's
 * AssumeRoleWithWebIdentityProvider).  A profile's role_arn pairs with
 * AWS_WEB_IDENTITY_TOKEN_FILE only when that profile is not an
 * assume-role profile, whose role_arn means something else.
 */
static int step_web_identity(struct awsp_creds *c, struct awsp_credentials *out,
			     char **ret_source, struct buf *why,
			     struct util_err *err)
{
	const struct awsp_env *env = c->cfg.env;
	const char *file = awsp_getenv_nonempty(env,
						"AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = awsp_getenv_nonempty(env, "AWS_ROLE_ARN");
	const char *session = awsp_getenv_nonempty(env,
						   "AWS_ROLE_SESSION_NAME");
	bool assume_role_profile = profile_get(c, NULL, "source_profile") ||
				   profile_get(c, NULL, "credential_source");
	int r;

	if (!file)
		file = profile_get(c, NULL, "web_identity_token_file");
	if (!file) {
		buf_addstr(why, "AWS_WEB_IDENTITY_TOKEN_FILE not set");
		return UTIL_ENOTFOUND;
	}
	if (!arn && !assume_role_profile)
		arn = profile_get(c, NULL, "role_arn");
	if (!arn)
		return util_err_set(err, UTIL_EINVAL,
				    "a web identity token file is configured "
				    "but no role: set AWS_ROLE_ARN or the "
				    "profile's role_arn");
	if (!session)
		session = profile_get(c, NULL, "role_session_name");
	r = awsp_credsrc_web_identity(&c->cfg, file, arn, session, out, err);
	if (r < 0)
		return r;
	*ret_source = util_xstrdup("web-identity");
	return 0;
}

/* --- shared files ----------------------------------------------------- */

/* Static keys of a profile, from the credentials file only or both. */
static int profile_static(struct awsp_creds *c, const char *name,
			  bool credentials_file_only,
			  struct awsp_credentials *out, struct util_err *err)
{
	const struct awsp_config *cf = c->cfg.config;
	const char *akid, *secret, *token, *account;

	if (credentials_file_only) {
		akid = awsp_ini_get(cf->credentials, name, "aws_access_key_id");
		secret = awsp_ini_get(cf->credentials, name,
				      "aws_secret_access_key");
		token = awsp_ini_get(cf->credentials, name,
				     "aws_session_token");
		if (!token || !*token)
			token = awsp_ini_get(cf->credentials, name,
					     "aws_security_token");
		account = awsp_ini_get(cf->credentials, name, "aws_account_id");
	} else {
		akid = profile_get(c, name, "aws_access_key_id");
		secret = profile_get(c, name, "aws_secret_access_key");
		token = profile_get(c, name, "aws_session_token");
		if (!token)
			token = profile_get(c, name, "aws_security_token");
		account = profile_get(c, name, "aws_account_id");
	}
	if (!akid || !*akid)
		return UTIL_ENOTFOUND;
	if (!secret || !*secret)
		return util_err_set(err, UTIL_EINVAL,
				    "profile '%s' has aws_access_key_id but no "
				    "aws_secret_access_key",
				    name);
	out->access_key_id = util_xstrdup(akid);
	out->secret_access_key = util_xstrdup(secret);
	out->session_token = token && *token ? util_xstrdup(token) : NULL;
	out->account_id = account && *account ? util_xstrdup(account) : NULL;
	out->expiration = 0;
	return 0;
}

static int resolve_profile(struct awsp_creds *c, const char *name, int depth,
			   bool as_source, struct awsp_credentials *out,
			   char **ret_source, struct buf *why,
			   struct util_err *err);

static int step_container(struct awsp_creds *c, struct awsp_credentials *out,
			  char **ret_source, struct buf *why,
			  struct util_err *err);
static int step_imds(struct awsp_creds *c, struct awsp_credentials *out,
		     char **ret_source, struct buf *why, struct util_err *err);

/* The credentials an assume-role profile calls STS with. */
static int role_source(struct awsp_creds *c, const char *name, int depth,
		       const char *source_profile,
		       const char *credential_source,
		       struct awsp_credentials *src, struct util_err *err)
{
	struct buf why = BUF_INIT;
	char *ignored = NULL;
	int r;

	if (credential_source) {
		step_fn fn = NULL;

		if (!strcmp(credential_source, "Environment"))
			fn = env_keys;
		else if (!strcmp(credential_source, "Ec2InstanceMetadata"))
			fn = step_imds;
		else if (!strcmp(credential_source, "EcsContainer"))
			fn = step_container;
		if (!fn)
			return util_err_set(
				err, UTIL_EINVAL,
				"profile '%s': unsupported credential_source "
				"'%s' (Environment, Ec2InstanceMetadata or "
				"EcsContainer)",
				name, credential_source);
		r = fn(c, src, &ignored, &why, err);
		if (r == UTIL_ENOTFOUND)
			r = util_err_set(err, UTIL_ECREDS,
					 "profile '%s': credential_source %s "
					 "has no credentials: %s",
					 name, credential_source, why.buf);
		goto out;
	}
	if (!awsp_profile_exists(c->cfg.config, source_profile)) {
		r = util_err_set(err, UTIL_EINVAL,
				 "profile '%s': source_profile '%s' does not "
				 "exist",
				 name, source_profile);
		goto out;
	}
	/* A profile may be its own source when it holds static keys. */
	if (!strcmp(source_profile, name)) {
		r = profile_static(c, name, false, src, err);
		if (r == UTIL_ENOTFOUND)
			r = util_err_set(err, UTIL_EINVAL,
					 "profile '%s' is its own "
					 "source_profile but has no keys",
					 name);
		goto out;
	}
	r = resolve_profile(c, source_profile, depth + 1, true, src, &ignored,
			    &why, err);
	if (r == UTIL_ENOTFOUND)
		r = util_err_set(err, UTIL_ECREDS,
				 "profile '%s': source_profile '%s' has no "
				 "credentials (%s)",
				 name, source_profile, why.buf);
out:
	free(ignored);
	buf_release(&why);
	return r;
}

static int assume_role_profile(struct awsp_creds *c, const char *name,
			       int depth, const char *role_arn,
			       struct awsp_credentials *out,
			       struct util_err *err)
{
	const char *sp = profile_get(c, name, "source_profile");
	const char *cs = profile_get(c, name, "credential_source");
	const char *dur = profile_get(c, name, "duration_seconds");
	struct awsp_credsrc_role role = {
		.role_arn = role_arn,
		.session_name = profile_get(c, name, "role_session_name"),
		.external_id = profile_get(c, name, "external_id"),
	};
	struct awsp_credentials src = { 0 };
	int r;

	if (sp && cs)
		return util_err_set(err, UTIL_EINVAL,
				    "profile '%s' sets both source_profile and "
				    "credential_source",
				    name);
	if (depth >= MAX_ROLE_CHAIN)
		return util_err_set(err, UTIL_EINVAL,
				    "profile '%s': source_profile chain longer "
				    "than %d (a loop?)",
				    name, MAX_ROLE_CHAIN);
	if (profile_get(c, name, "mfa_serial"))
		return util_err_set(
			err, UTIL_EINVAL,
			"profile '%s' needs an MFA code "
			"(mfa_serial), which moor cannot prompt for",
			name);
	if (dur &&
	    util_parse_int(dur, 900, 43200, &role.duration_seconds, err) < 0) {
		util_err_prefix(err, "profile '%s': duration_seconds", name);
		return UTIL_EINVAL;
	}
	r = role_source(c, name, depth, sp, cs, &src, err);
	if (r == 0)
		r = awsp_credsrc_assume_role(&c->cfg, &src, &role, out, err);
	if (r < 0)
		util_err_prefix(err, "assume role for profile '%s'", name);
	awsp_credentials_release(&src);
	return r;
}

/*
 * One profile, in botocore's order: an assume-role profile (role_arn with
 * source_profile or credential_source); as a source, web identity keys;
 * static keys from the credentials file; credential_process; static keys
 * from the config file.
 */
static int resolve_profile(struct awsp_creds *c, const char *name, int depth,
			   bool as_source, struct awsp_credentials *out,
			   char **ret_source, struct buf *why,
			   struct util_err *err)
{
	const char *role_arn = profile_get(c, name, "role_arn");
	const char *process = profile_get(c, name, "credential_process");
	const char *wit = profile_get(c, name, "web_identity_token_file");
	int r;

	if (role_arn && (profile_get(c, name, "source_profile") ||
			 profile_get(c, name, "credential_source"))) {
		r = assume_role_profile(c, name, depth, role_arn, out, err);
		if (r == 0)
			*ret_source = util_xasprintf("profile:%s (assume-role)",
						     name);
		return r;
	}
	if (as_source && wit && role_arn) {
		r = awsp_credsrc_web_identity(&c->cfg, wit, role_arn,
					      profile_get(c, name,
							  "role_session_name"),
					      out, err);
		if (r == 0)
			*ret_source = util_xstrdup("web-identity");
		return r;
	}
	r = profile_static(c, name, true, out, err);
	if (r != UTIL_ENOTFOUND) {
		if (r == 0)
			*ret_source = util_xasprintf("profile:%s", name);
		return r;
	}
	if (process) {
		r = awsp_credsrc_process(process, c->cfg.process_timeout_ms,
					 out, err);
		if (r < 0)
			util_err_prefix(err, "profile '%s'", name);
		else
			*ret_source = util_xstrdup("credential-process");
		return r;
	}
	r = profile_static(c, name, false, out, err);
	if (r == 0)
		*ret_source = util_xasprintf("profile:%s", name);
	else if (r == UTIL_ENOTFOUND)
		buf_addf(why, "profile '%s' has no credentials", name);
	return r;
}

static int step_profile(struct awsp_creds *c, struct awsp_credentials *out,
			char **ret_source, struct buf *why,
			struct util_err *err)
{
	const struct awsp_config *cf = c->cfg.config;

	if (!cf) {
		buf_addstr(why, "shared config files not loaded");
		return UTIL_ENOTFOUND;
	}
	if (!awsp_profile_exists(cf, cf->profile)) {
		buf_addf(why, "profile '%s' not in '%s' or '%s'", cf->profile,
			 cf->config_path ? cf->config_path : "config",
			 cf->credentials_path ? cf->credentials_path
					      : "credentials");
		return UTIL_ENOTFOUND;
	}
	return resolve_profile(c, cf->profile, 0, false, out, ret_source, why,
			       err);
}

/* --- container and instance metadata ---------------------------------- */

static int step_container(struct awsp_creds *c, struct awsp_credentials *out,
			  char **ret_source, struct buf *why,
			  struct util_err *err)
{
	int r = awsp_credsrc_container(&c->cfg, out, why, err);

	if (r == 0)
		*ret_source = util_xstrdup("container");
	return r;
}

static int step_imds(struct awsp_creds *c, struct awsp_credentials *out,
		     char **ret_source, struct buf *why, struct util_err *err)
{
	int r = awsp_credsrc_imds(&c->cfg, out, why, err);

	if (r == 0)
		*ret_source = util_xstrdup("imds");
	return r;
}

/* --- the chain -------------------------------------------------------- */

static const struct {
	const char *name;
	step_fn fn;
} chain[] = {
	{ "env", step_env },	     { "web-identity", step_web_identity },
	{ "profile", step_profile }, { "container", step_container },
	{ "imds", step_imds },
};

static const char *step_name(step_fn fn)
{
	for (size_t i = 0; i < ARRAY_SIZE(chain); i++)
		if (chain[i].fn == fn)
			return chain[i].name;
	return "?";
}

static int run_chain(struct awsp_creds *c, struct awsp_credentials *out,
		     char **ret_source, step_fn *ret_step, struct util_err *err)
{
	struct buf tried = BUF_INIT, why = BUF_INIT;
	int r = UTIL_ENOTFOUND;

	for (size_t i = 0; i < ARRAY_SIZE(chain); i++) {
		buf_reset(&why);
		r = chain[i].fn(c, out, ret_source, &why, err);
		if (r == 0) {
			*ret_step = chain[i].fn;
			break;
		}
		if (r != UTIL_ENOTFOUND) {
			/* Configured but failing: say so, don't fall through. */
			util_err_prefix(err, "credentials from %s",
					chain[i].name);
			break;
		}
		util_log(UTIL_LOG_DEBUG, "credentials_skipped", chain[i].name,
			 "%s", why.buf);
		buf_addf(&tried, "%s%s: %s", tried.len ? "; " : "",
			 chain[i].name, why.buf);
	}
	if (r == UTIL_ENOTFOUND)
		r = util_err_set(err, UTIL_ECREDS,
				 "no AWS credentials found (%s)", tried.buf);
	buf_release(&tried);
	buf_release(&why);
	return r;
}

/*
 * Fetch anew (the whole chain the first time, the winning link after)
 * and install the result.  Called with refresh_lock held.
 */
static int fetch(struct awsp_creds *c, struct util_err *err)
{
	struct awsp_credentials fresh = { 0 };
	struct buf why = BUF_INIT;
	char *source = NULL;
	step_fn step = c->step;
	char until[32];
	int r;

	if (!step) {
		r = run_chain(c, &fresh, &source, &step, err);
	} else {
		r = step(c, &fresh, &source, &why, err);
		if (r == UTIL_ENOTFOUND)
			r = util_err_set(err, UTIL_ECREDS,
					 "credentials from %s are no longer "
					 "available: %s",
					 c->source, why.buf);
		else if (r < 0)
			util_err_prefix(err, "refresh credentials from %s",
					c->source);
	}
	buf_release(&why);
	if (r < 0)
		goto out;
	/* botocore: "refreshed credentials are still expired". */
	if (fresh.expiration && fresh.expiration <= now_s(c)) {
		r = util_err_set(err, UTIL_ECREDS,
				 "credentials from %s have already expired",
				 source);
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	awsp_credentials_release(&c->cur);
	c->cur = fresh;
	memset(&fresh, 0, sizeof(fresh));
	c->have = true;
	c->step = step;
	if (!c->source) {
		/* Fixed from now on: awsp_creds_source() hands it out. */
		c->source = source;
		source = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (c->cur.expiration)
		util_time_iso8601(c->cur.expiration, until, sizeof(until));
	util_log(UTIL_LOG_INFO, "credentials", step_name(step),
		 "credentials from %s%s%s", c->source,
		 c->cur.expiration ? ", valid until " : "",
		 c->cur.expiration ? until : "");
	r = 0;
out:
	awsp_credentials_release(&fresh);
	free(source);
	return r;
}

/* Seconds the current credentials have left; LONG_MAX if they don't expire. */
static long remaining(struct awsp_creds *c)
{
	if (!c->cur.expiration)
		return LONG_MAX;
	return (long)(c->cur.expiration - now_s(c));
}

int awsp_creds_get(struct awsp_creds *c, struct awsp_credentials *ret,
		   struct util_err *err)
{
	bool have;
	long left = 0;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	have = c->have;
	if (have)
		left = remaining(c);
	if (have && left > ADVISORY_REFRESH_S) {
		awsp_credentials_copy(ret, &c->cur);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);

	if (have && left > MANDATORY_REFRESH_S) {
		/*
		 * Advisory window: one thread refreshes, and a failure keeps
		 * the current credentials; the others don't wait for it.
		 */
		if (pthread_mutex_trylock(&c->refresh_lock) == 0) {
			struct util_err e = UTIL_ERR_INIT;

			pthread_mutex_lock(&c->lock);
			left = remaining(c);
			pthread_mutex_unlock(&c->lock);
			if (left <= ADVISORY_REFRESH_S && fetch(c, &e) < 0)
				util_log(UTIL_LOG_WARN,
					 "credentials_refresh_failed",
					 c->source,
					 "advisory refresh failed, using the "
					 "current credentials for %ld more "
					 "seconds: %s",
					 left, e.msg);
			pthread_mutex_unlock(&c->refresh_lock);
		}
	} else {
		/* First use, or the mandatory window: wait and succeed. */
		pthread_mutex_lock(&c->refresh_lock);
		pthread_mutex_lock(&c->lock);
		have = c->have;
		left = have ? remaining(c) : 0;
		pthread_mutex_unlock(&c->lock);
		if (!have || left <= MANDATORY_REFRESH_S)
			r = fetch(c, err);
		pthread_mutex_unlock(&c->refresh_lock);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&c->lock);
	awsp_credentials_copy(ret, &c->cur);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

const char *awsp_creds_source(struct awsp_creds *c)
{
	const char *s;

	pthread_mutex_lock(&c->lock);
	s = c->source;
	pthread_mutex_unlock(&c->lock);
	return s;
}

int awsp_creds_new(const struct awsp_creds_config *cfg, struct awsp_creds **ret,
		   struct util_err *err)
{
	struct awsp_creds *c;

	if (!cfg->env || !cfg->transport || !cfg->clock)
		return util_err_set(err, UTIL_EINVAL,
				    "credentials: env, transport and clock are "
				    "required");
	c = util_xcalloc(1, sizeof(*c));
	c->cfg = *cfg;
	c->region = util_xstrdup_or_null(cfg->region);
	c->cfg.region = c->region;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->refresh_lock, NULL);
	*ret = c;
	return 0;
}

void awsp_creds_free(struct awsp_creds *c)
{
	if (!c)
		return;
	awsp_credentials_release(&c->cur);
	free(c->source);
	free(c->region);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->refresh_lock);
	free(c);
}
