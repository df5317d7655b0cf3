/*
 * provtool: drive every op of the AWS provider from the command line, for
 * the integration tests (tests/integration/aws_*.py) and the benchmark.
 * One JSON document per line on stdout; logs (with --debug) on stderr.
 *
 *   provtool [OPTIONS] COMMAND ARGS...
 *   provtool [OPTIONS] batch            commands on stdin, one per line
 *
 * Options:
 *   --region R --profile P --max-attempts N --concurrency N
 *   --rate-limit SETTING (repeatable) --connect-timeout-ms MS
 *   --timeout-ms MS --forbid-reuse --debug
 *   --repeat N      run the command N times (batch: each line N times)
 *   --parallel P    on up to P threads (batch: lines in parallel)
 *   --stats         print the provider's counters last: {"stats": ...}
 *   --random X      the retry jitter's random source always gives X in
 *                   [0, 1): short, reproducible backoffs for tests
 *
 * Commands (ids, names and ARNs are plain words):
 *   identity
 *   instances ID...
 *   select [--state S]... KEY=VALUE...
 *   enis ID...
 *   status [--all] [ID...]
 *   classic NAME...
 *   tgs NAME|ARN...
 *   addresses [--alloc ID]... [--ip IP]... [--name N]...
 *   register-classic LB ID...       deregister-classic LB ID...
 *   register-tg ARN ID[:PORT[:AZ]]...   deregister-tg ARN ID[:PORT[:AZ]]...
 *   associate ALLOC (--instance ID | --eni ID [--private-ip IP])
 *             [--no-reassociation]
 *   disassociate ASSOC
 *   allocate [KEY=VALUE]...
 *   lease-check TABLE               lease-list TABLE
 *   lease-get TABLE NAME
 *   lease-acquire TABLE NAME HOLDER RVN [--prev RVN] [--duration MS]
 *                 [--heartbeat UNIX_MS] [--replica]
 *   lease-renew TABLE NAME HOLDER RVN --prev RVN [the same options]
 *   lease-release TABLE NAME HOLDER RVN NEW_RVN
 *
 * Output: {"ok": true, "result": ...} or {"ok": false, "error": {...}};
 * with --repeat, {"runs": N, "ok": K, "failed": F, "elapsed_ms": MS,
 * "first_error": ..., "last": ...}.  Exit 0 when every run succeeded, 1 otherwise, 2 on usage
 * errors.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "providers/aws/aws.h"
#include "providers/aws/aws_internal.h"
#include "providers/aws/ops.h"
#include "providers/aws/ratelimit.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/pool.h"
#include "util/banned.h"

struct tool {
	struct prov *p;
	unsigned repeat, parallel;
};

static double s_fixed_random;

static double fixed_random(void *ctx)
{
	(void)ctx;
	return s_fixed_random;
}

static void usage(void)
{
	fputs("usage: provtool [OPTIONS] COMMAND ARGS... (see the source)\n",
	      stderr);
	exit(2);
}

static void log_sink(void *ctx, const struct util_log_event *ev)
{
	(void)ctx;
	fprintf(stderr, "%s %s%s%s: %s", util_log_level_name(ev->level),
		ev->event, ev->resource ? " " : "",
		ev->resource ? ev->resource : "", ev->msg);
	for (const char *const *f = ev->fields; f && f[0] && f[1]; f += 2)
		fprintf(stderr, " %s=%s", f[0], f[1]);
	fputc('\n', stderr);
}

/* --- JSON of the provider's structs ---------------------------------------- */

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *strv_json(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *tags_json(const struct prov_tag *t, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; i < n; i++)
		cJSON_AddStringToObject(o, t[i].key,
					t[i].value ? t[i].value : "");
	return o;
}

static cJSON *eni_json(const struct prov_eni *e)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "id", e->id);
	add_str(o, "vpc_id", e->vpc_id);
	add_str(o, "subnet_id", e->subnet_id);
	add_str(o, "az", e->az);
	add_str(o, "status", e->status);
	add_str(o, "instance_id", e->instance_id);
	cJSON_AddNumberToObject(o, "device_index", e->device_index);
	cJSON_AddItemToObject(o, "private_ips",
			      strv_json(e->private_ips, e->n_private_ips));
	return o;
}

static cJSON *instances_json(const struct prov_instance_list *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->n; i++) {
		const struct prov_instance *in = &l->v[i];
		cJSON *o = cJSON_CreateObject(), *enis = cJSON_CreateArray();

		add_str(o, "id", in->id);
		add_str(o, "state", prov_instance_state_name(in->state));
		add_str(o, "vpc_id", in->vpc_id);
		add_str(o, "subnet_id", in->subnet_id);
		add_str(o, "az", in->az);
		add_str(o, "private_ip", in->private_ip);
		add_str(o, "public_ip", in->public_ip);
		cJSON_AddItemToObject(o, "tags",
				      tags_json(in->tags, in->n_tags));
		for (size_t k = 0; k < in->n_enis; k++)
			cJSON_AddItemToArray(enis, eni_json(&in->enis[k]));
		cJSON_AddItemToObject(o, "enis", enis);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *enis_json(const struct prov_eni_list *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, eni_json(&l->v[i]));
	return a;
}

static cJSON *classic_json(const struct prov_classic_lb_list *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->n; i++) {
		const struct prov_classic_lb *lb = &l->v[i];
		cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateArray();

		add_str(o, "name", lb->name);
		add_str(o, "dns_name", lb->dns_name);
		add_str(o, "vpc_id", lb->vpc_id);
		cJSON_AddItemToObject(o, "azs", strv_json(lb->azs, lb->n_azs));
		for (size_t k = 0; k < lb->n_members; k++) {
			const struct prov_classic_member *cm = &lb->members[k];
			cJSON *x = cJSON_CreateObject();

			add_str(x, "instance_id", cm->instance_id);
			add_str(x, "health", prov_health_name(cm->health));
			add_str(x, "state", cm->state);
			add_str(x, "reason_code", cm->reason_code);
			add_str(x, "description", cm->description);
			cJSON_AddItemToArray(m, x);
		}
		cJSON_AddItemToObject(o, "members", m);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *tgs_json(const struct prov_target_group_list *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->n; i++) {
		const struct prov_target_group *tg = &l->v[i];
		cJSON *o = cJSON_CreateObject(), *ts = cJSON_CreateArray();

		add_str(o, "arn", tg->arn);
		add_str(o, "name", tg->name);
		add_str(o, "vpc_id", tg->vpc_id);
		add_str(o, "protocol", tg->protocol);
		cJSON_AddNumberToObject(o, "port", tg->port);
		add_str(o, "target_type",
			prov_target_type_name(tg->target_type));
		cJSON_AddNumberToObject(o, "deregistration_delay_s",
					tg->deregistration_delay_s);
		cJSON_AddItemToObject(o, "lb_arns",
				      strv_json(tg->lb_arns, tg->n_lb_arns));
		for (size_t k = 0; k < tg->n_targets; k++) {
			const struct prov_target *t = &tg->targets[k];
			cJSON *x = cJSON_CreateObject();

			add_str(x, "id", t->id);
			cJSON_AddNumberToObject(x, "port", t->port);
			add_str(x, "az", t->az);
			add_str(x, "health", prov_health_name(t->health));
			add_str(x, "state", t->state);
			add_str(x, "reason", t->reason);
			add_str(x, "description", t->description);
			cJSON_AddItemToArray(ts, x);
		}
		cJSON_AddItemToObject(o, "targets", ts);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *address_json(const struct prov_address *ad)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "allocation_id", ad->allocation_id);
	add_str(o, "public_ip", ad->public_ip);
	add_str(o, "domain", ad->domain);
	add_str(o, "association_id", ad->association_id);
	add_str(o, "instance_id", ad->instance_id);
	add_str(o, "eni_id", ad->eni_id);
	add_str(o, "private_ip", ad->private_ip);
	add_str(o, "eni_owner_id", ad->eni_owner_id);
	cJSON_AddItemToObject(o, "tags", tags_json(ad->tags, ad->n_tags));
	return o;
}

static cJSON *status_json(const struct awsp_instance_status_list *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->n; i++) {
		const struct awsp_instance_status *s = &l->v[i];
		cJSON *o = cJSON_CreateObject();

		add_str(o, "instance_id", s->instance_id);
		add_str(o, "az", s->az);
		add_str(o, "state", prov_instance_state_name(s->state));
		add_str(o, "instance_status", s->instance_status);
		add_str(o, "system_status", s->system_status);
		add_str(o, "reachability", s->reachability);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *error_json(const struct util_err *err)
{
	cJSON *o = cJSON_CreateObject();
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	add_str(o, "code", util_err_code_name(err->code));
	add_str(o, "message", b.buf);
	add_str(o, "aws_code", err->aws_code[0] ? err->aws_code : NULL);
	add_str(o, "request_id", err->request_id[0] ? err->request_id : NULL);
	cJSON_AddNumberToObject(o, "http_status", (double)err->http_status);
	cJSON_AddBoolToObject(o, "retryable", err->flags & UTIL_ERR_RETRYABLE);
	cJSON_AddBoolToObject(o, "outcome_unknown",
			      err->flags & UTIL_ERR_OUTCOME_UNKNOWN);
	buf_release(&b);
	return o;
}

/* --- leases ----------------------------------------------------------------- */

static cJSON *lease_json(const struct prov_lease *l)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "name", l->name);
	add_str(o, "kind", l->kind == PROV_LEASE_REPLICA ? "replica" : "spec");
	add_str(o, "holder", l->holder);
	add_str(o, "rvn", l->rvn);
	cJSON_AddNumberToObject(o, "duration_ms", (double)l->duration_ms);
	cJSON_AddNumberToObject(o, "heartbeat_unix_ms",
				(double)l->heartbeat_unix_ms);
	return o;
}

/*
 * The words of a lease write after TABLE NAME HOLDER RVN: --prev RVN,
 * --duration MS, --heartbeat UNIX_MS, --replica.  0 or -1 (bad word).
 */
static int lease_write_opts(const char *const *args, size_t n,
			    struct prov_lease_write *w, const char **prev)
{
	uint64_t u;
	int64_t i64;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(args[i], "--replica")) {
			w->kind = PROV_LEASE_REPLICA;
		} else if (i + 1 >= n) {
			return -1;
		} else if (!strcmp(args[i], "--prev")) {
			*prev = args[++i];
		} else if (!strcmp(args[i], "--duration")) {
			if (util_parse_u64(args[++i], UINT64_MAX, &u, NULL) < 0)
				return -1;
			w->duration_ms = u;
		} else if (!strcmp(args[i], "--heartbeat")) {
			if (util_parse_i64(args[++i], INT64_MIN, INT64_MAX,
					   &i64, NULL) < 0)
				return -1;
			w->heartbeat_unix_ms = i64;
		} else {
			return -1;
		}
	}
	return 0;
}

/* lease-acquire / lease-renew TABLE NAME HOLDER RVN [options]. */
static int lease_write(struct prov *p, const char *cmd, const char *const *args,
		       size_t n, struct util_err *err)
{
	struct prov_lease_write w = { .duration_ms = 10000 };
	const char *prev = NULL;

	if (n < 4 || lease_write_opts(args + 4, n - 4, &w, &prev) < 0)
		return util_err_set(err, UTIL_EINVAL,
				    "%s: TABLE NAME HOLDER RVN [--prev RVN] "
				    "[--duration MS] [--heartbeat MS] "
				    "[--replica] expected",
				    cmd);
	w.name = args[1];
	w.holder = args[2];
	w.rvn = args[3];
	if (!w.heartbeat_unix_ms)
		w.heartbeat_unix_ms = (int64_t)util_clock_system.wall(
					      util_clock_system.ctx) *

				      1000;
	if (!strcmp(cmd, "lease-renew"))
		return p->ops->lease_renew(p, args[0], &w, prev, err);
	return p->ops->lease_acquire(p, args[0], &w, prev, err);
}

/*
 * lease-check TABLE, lease-list TABLE, lease-get TABLE NAME,
 * lease-acquire / lease-renew (above), lease-release TABLE NAME HOLDER
 * RVN NEW_RVN.
 */
static cJSON *run_lease(struct prov *p, const char *cmd,
			const char *const *args, size_t n, struct util_err *err)
{
	static const struct {
		const char *name;
		size_t n_args;
	} cmds[] = { { "lease-check", 1 }, { "lease-list", 1 },
		     { "lease-get", 2 },   { "lease-acquire", 0 },
		     { "lease-renew", 0 }, { "lease-release", 5 } };
	struct prov_lease l;
	struct prov_lease_list ll;
	cJSON *res = NULL;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]) ||
	    (cmds[i].n_args && n != cmds[i].n_args)) {
		util_err_set(err, UTIL_EINVAL, "%s: bad command or arguments",
			     cmd);
		return NULL;
	}
	if (!strcmp(cmd, "lease-check")) {
		r = p->ops->lease_table_check(p, args[0], err);
	} else if (!strcmp(cmd, "lease-list")) {
		r = p->ops->lease_list(p, args[0], &ll, err);
		if (r == 0) {
			res = cJSON_CreateArray();
			for (size_t k = 0; k < ll.n; k++)
				cJSON_AddItemToArray(res, lease_json(&ll.v[k]));
			prov_lease_list_release(&ll);
		}
	} else if (!strcmp(cmd, "lease-get")) {
		r = p->ops->lease_get(p, args[0], args[1], &l, err);
		if (r == 0) {
			res = lease_json(&l);
			prov_lease_release(&l);
		}
	} else if (!strcmp(cmd, "lease-release")) {
		r = p->ops->lease_release(p, args[0], args[1], args[2], args[3],
					  args[4], err);
	} else {
		r = lease_write(p, cmd, args, n, err);
	}
	if (r < 0)
		return NULL;
	return res ? res : cJSON_CreateObject();
}

/* --- commands ------------------------------------------------------------- */

/* "ID[:PORT[:AZ]]" into t, pointing into the (modified) word. */
static int parse_target(char *w, struct prov_target_ref *t)
{
	char *c1 = strchr(w, ':'), *c2;
	int port = 0;

	memset(t, 0, sizeof(*t));
	t->id = w;
	if (!c1)
		return 0;
	*c1 = '\0';
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		*c2 = '\0';
		t->az = c2 + 1;
	}
	if (util_parse_int(c1 + 1, 1, 65535, &port, NULL) < 0)
		return -1;
	t->port = port;
	return 0;
}

/* Run one command; returns the result JSON, or NULL with err set. */
static cJSON *run(struct prov *p, int argc, char **argv, struct util_err *err)
{
	const char *cmd = argv[0];
	const char *const *args = (const char *const *)argv + 1;
	size_t n = (size_t)argc - 1;
	cJSON *res = NULL;

	if (!strcmp(cmd, "identity")) {
		struct prov_identity id;

		if (p->ops->identity(p, &id, err) < 0)
			return NULL;
		res = cJSON_CreateObject();
		add_str(res, "account", id.account);
		add_str(res, "arn", id.arn);
		add_str(res, "user_id", id.user_id);
		add_str(res, "credentials", prov_aws_creds_source(p));
		prov_identity_release(&id);
	} else if (!strcmp(cmd, "instances")) {
		struct prov_instance_list l;

		if (p->ops->instances_by_id(p, args, n, &l, err) < 0)
			return NULL;
		res = instances_json(&l);
		prov_instance_list_release(&l);
	} else if (!strcmp(cmd, "select")) {
		struct prov_tag *tags = util_xcalloc(n + 1, sizeof(*tags));
		enum prov_instance_state *st = util_xcalloc(n + 1, sizeof(*st));
		struct prov_selector sel = { tags, 0, st, 0 };
		struct prov_instance_list l;
		int r;

		for (size_t i = 0; i < n; i++) {
			if (!strcmp(args[i], "--state") && i + 1 < n) {
				st[sel.n_states++] = prov_instance_state_parse(
					args[++i]);
				continue;
			}
			tags[sel.n_tags].key = argv[1 + i];
			tags[sel.n_tags].value = strchr(argv[1 + i], '=');
			if (!tags[sel.n_tags].value) {
				free(tags);
				free(st);
				util_err_set(err, UTIL_EINVAL,
					     "select: KEY=VALUE expected");
				return NULL;
			}
			*tags[sel.n_tags].value++ = '\0';
			sel.n_tags++;
		}
		r = p->ops->instances_by_selector(p, &sel, &l, err);
		free(tags);
		free(st);
		if (r < 0)
			return NULL;
		res = instances_json(&l);
		prov_instance_list_release(&l);
	} else if (!strcmp(cmd, "enis")) {
		struct prov_eni_list l;

		if (p->ops->enis_by_id(p, args, n, &l, err) < 0)
			return NULL;
		res = enis_json(&l);
		prov_eni_list_release(&l);
	} else if (!strcmp(cmd, "status")) {
		struct awsp_instance_status_list l;
		bool all = n && !strcmp(args[0], "--all");

		if (prov_aws_instance_status(p, args + all, n - all, all, &l,
					     err) < 0)
			return NULL;
		res = status_json(&l);
		awsp_instance_status_list_release(&l);
	} else if (!strcmp(cmd, "classic")) {
		struct prov_classic_lb_list l;

		if (p->ops->classic_lbs(p, args, n, PROV_READ_HEALTH, &l, err) <
		    0)
			return NULL;
		res = classic_json(&l);
		prov_classic_lb_list_release(&l);
	} else if (!strcmp(cmd, "tgs")) {
		struct prov_target_group_list l;

		if (p->ops->target_groups(p, args, n, PROV_READ_DELAY, &l,
					  err) < 0)
			return NULL;
		res = tgs_json(&l);
		prov_target_group_list_release(&l);
	} else if (!strcmp(cmd, "addresses")) {
		const char **al = util_xcalloc(n + 1, sizeof(*al));
		const char **ip = util_xcalloc(n + 1, sizeof(*ip));
		const char **nm = util_xcalloc(n + 1, sizeof(*nm));
		struct prov_address_query q = { al, 0, ip, 0, nm, 0 };
		struct prov_address_list l;
		int r;

		for (size_t i = 0; i + 1 < n; i += 2) {
			if (!strcmp(args[i], "--alloc"))
				al[q.n_allocation_ids++] = args[i + 1];
			else if (!strcmp(args[i], "--ip"))
				ip[q.n_public_ips++] = args[i + 1];
			else if (!strcmp(args[i], "--name"))
				nm[q.n_names++] = args[i + 1];
		}
		r = p->ops->addresses(p, &q, &l, err);
		free(al);
		free(ip);
		free(nm);
		if (r < 0)
			return NULL;
		res = cJSON_CreateArray();
		for (size_t i = 0; i < l.n; i++)
			cJSON_AddItemToArray(res, address_json(&l.v[i]));
		prov_address_list_release(&l);
	} else if (!strcmp(cmd, "register-classic") ||
		   !strcmp(cmd, "deregister-classic")) {
		int r;

		if (n < 1) {
			util_err_set(err, UTIL_EINVAL, "%s: LB expected", cmd);
			return NULL;
		}
		r = cmd[0] == 'r'
			    ? p->ops->classic_register(p, args[0], args + 1,
						       n - 1, err)
			    : p->ops->classic_deregister(p, args[0], args + 1,
							 n - 1, err);
		if (r < 0)
			return NULL;
		res = cJSON_CreateObject();
		cJSON_AddNumberToObject(res, "instances", (double)(n - 1));
	} else if (!strcmp(cmd, "register-tg") ||
		   !strcmp(cmd, "deregister-tg")) {
		struct prov_target_ref *t;
		int r = 0;

		if (n < 1) {
			util_err_set(err, UTIL_EINVAL, "%s: ARN expected", cmd);
			return NULL;
		}
		t = util_xcalloc(n, sizeof(*t));
		for (size_t i = 1; i < n && r == 0; i++)
			r = parse_target(argv[1 + i], &t[i - 1]);
		if (r < 0) {
			free(t);
			util_err_set(err, UTIL_EINVAL, "bad target");
			return NULL;
		}
		r = cmd[0] == 'r'
			    ? p->ops->tg_register(p, args[0], t, n - 1, err)
			    : p->ops->tg_deregister(p, args[0], t, n - 1, err);
		free(t);
		if (r < 0)
			return NULL;
		res = cJSON_CreateObject();
		cJSON_AddNumberToObject(res, "targets", (double)(n - 1));
	} else if (!strcmp(cmd, "associate")) {
		struct prov_associate a = { .allow_reassociation = true };
		char *assoc = NULL;

		for (size_t i = 0; i < n; i++) {
			if (!strcmp(args[i], "--instance") && i + 1 < n)
				a.instance_id = args[++i];
			else if (!strcmp(args[i], "--eni") && i + 1 < n)
				a.eni_id = args[++i];
			else if (!strcmp(args[i], "--private-ip") && i + 1 < n)
				a.private_ip = args[++i];
			else if (!strcmp(args[i], "--no-reassociation"))
				a.allow_reassociation = false;
			else
				a.allocation_id = args[i];
		}
		if (p->ops->associate(p, &a, &assoc, err) < 0)
			return NULL;
		res = cJSON_CreateObject();
		add_str(res, "association_id", assoc);
		free(assoc);
	} else if (!strcmp(cmd, "disassociate")) {
		if (n != 1) {
			util_err_set(err, UTIL_EINVAL,
				     "disassociate: ASSOC expected");
			return NULL;
		}
		if (p->ops->disassociate(p, args[0], err) < 0)
			return NULL;
		res = cJSON_CreateObject();
	} else if (!strcmp(cmd, "allocate")) {
		struct prov_tag *tags = util_xcalloc(n + 1, sizeof(*tags));
		struct prov_address a;
		int r;

		for (size_t i = 0; i < n; i++) {
			char *eq = strchr(argv[1 + i], '=');

			tags[i].key = argv[1 + i];
			tags[i].value = eq ? eq + 1 : NULL;
			if (eq)
				*eq = '\0';
		}
		r = p->ops->allocate(p, tags, n, &a, err);
		free(tags);
		if (r < 0)
			return NULL;
		res = address_json(&a);
		prov_address_release(&a);
	} else if (!strncmp(cmd, "lease-", 6)) {
		res = run_lease(p, cmd, args, n, err);
	} else {
		util_err_set(err, UTIL_EINVAL, "unknown command '%s'", cmd);
		return NULL;
	}
	return res;
}

/* --- repeat / parallel / batch ---------------------------------------------- */

struct job {
	int argc;
	char **argv; /* the job's own copy (commands modify words) */
	cJSON *result;
	struct util_err err;
	int rc;
};

static char **words_dup(int argc, char **argv)
{
	char **v = util_xcalloc((size_t)argc + 1, sizeof(*v));

	for (int i = 0; i < argc; i++)
		v[i] = util_xstrdup(argv[i]);
	return v;
}

static void words_free(int argc, char **v)
{
	for (int i = 0; i < argc; i++)
		free(v[i]);
	free(v);
}

struct jobs {
	struct prov *p;
	struct job *v;
};

static void job_run(void *ctx, size_t i)
{
	struct jobs *js = ctx;
	struct job *j = &js->v[i];

	j->result = run(js->p, j->argc, j->argv, &j->err);
	j->rc = j->result ? 0 : -1;
}

static cJSON *job_doc(struct job *j)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", j->rc == 0);
	if (j->rc == 0) {
		cJSON_AddItemToObject(o, "result", j->result);
		j->result = NULL;
	} else {
		cJSON_AddItemToObject(o, "error", error_json(&j->err));
	}
	return o;
}

static void print_doc(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	puts(s);
	free(s);
	cJSON_Delete(o);
}

/* Run jobs (n of them) on the tool's threads; prints; returns failures. */
static size_t run_jobs(struct tool *t, struct job *v, size_t n, bool summary)
{
	struct jobs js = { t->p, v };
	size_t failed = 0, first_fail = n, last_ok = n;
	uint64_t t0 = util_mono_ms(), elapsed;

	util_parallel(n, t->parallel, job_run, &js);
	elapsed = util_mono_ms() - t0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].rc < 0) {
			failed++;
			if (first_fail == n)
				first_fail = i;
		} else {
			last_ok = i;
		}
	}
	if (summary) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "runs", (double)n);
		cJSON_AddNumberToObject(o, "ok", (double)(n - failed));
		cJSON_AddNumberToObject(o, "failed", (double)failed);
		cJSON_AddNumberToObject(o, "elapsed_ms", (double)elapsed);
		if (first_fail < n)
			cJSON_AddItemToObject(o, "first_error",
					      error_json(&v[first_fail].err));
		if (last_ok < n) {
			cJSON_AddItemToObject(o, "last", v[last_ok].result);
			v[last_ok].result = NULL;
		}
		print_doc(o);
	} else {
		for (size_t i = 0; i < n; i++)
			print_doc(job_doc(&v[i]));
	}
	for (size_t i = 0; i < n; i++) {
		cJSON_Delete(v[i].result);
		words_free(v[i].argc, v[i].argv);
	}
	return failed;
}

/* Split a line into words (spaces and tabs). */
static char **split(const char *line, int *ret_argc)
{
	char **v = NULL;
	int n = 0;

	for (const char *p = line; *p;) {
		size_t len;

		p += strspn(p, " \t\r\n");
		len = strcspn(p, " \t\r\n");
		if (!len)
			break;
		v = util_xrealloc(v, (size_t)(n + 2) * sizeof(*v));
		v[n++] = util_xstrndup(p, len);
		p += len;
	}
	if (v)
		v[n] = NULL;
	*ret_argc = n;
	return v;
}

static size_t batch(struct tool *t)
{
	struct job *v = NULL;
	size_t n = 0;
	char line[65536];

	while (fgets(line, sizeof(line), stdin)) {
		int argc;
		char **argv = split(line, &argc);

		if (!argc) {
			free(argv);
			continue;
		}
		for (unsigned r = 0; r < t->repeat; r++) {
			v = util_xrealloc(v, (n + 1) * sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			v[n].argc = argc;
			v[n].argv = words_dup(argc, argv);
			n++;
		}
		words_free(argc, argv);
	}
	n = run_jobs(t, v, n, false);
	free(v);
	return n;
}

static void print_stats(struct prov *p)
{
	struct prov_aws_stats st;
	cJSON *o = cJSON_CreateObject(), *s = cJSON_CreateObject();
	cJSON *b = cJSON_CreateObject();

	prov_aws_get_stats(p, &st);
	cJSON_AddNumberToObject(s, "calls", (double)st.client.calls);
	cJSON_AddNumberToObject(s, "attempts", (double)st.client.attempts);
	cJSON_AddNumberToObject(s, "retries", (double)st.client.retries);
	cJSON_AddNumberToObject(s, "throttled", (double)st.client.throttled);
	cJSON_AddNumberToObject(s, "lost", (double)st.client.lost);
	cJSON_AddNumberToObject(s, "failed", (double)st.client.failed);
	cJSON_AddNumberToObject(s, "quota_exhausted",
				(double)st.client.quota_exhausted);
	cJSON_AddNumberToObject(s, "retry_quota", st.client.retry_quota);
	cJSON_AddNumberToObject(s, "exchanges", (double)st.http.exchanges);
	cJSON_AddNumberToObject(s, "transport_failures",
				(double)st.http.failures);
	cJSON_AddNumberToObject(s, "connections", (double)st.http.connections);
	for (int i = 0; i < AWSP_RL_COUNT; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "taken",
					(double)st.client.limits.taken[i]);
		cJSON_AddNumberToObject(x, "waits",
					(double)st.client.limits.waits[i]);
		cJSON_AddNumberToObject(x, "waited_ms",
					(double)st.client.limits.waited_ms[i]);
		cJSON_AddItemToObject(b, awsp_rl_bucket_name(i), x);
	}
	cJSON_AddItemToObject(s, "buckets", b);
	cJSON_AddItemToObject(o, "stats", s);
	print_doc(o);
}

int main(int argc, char **argv)
{
	enum {
		O_REGION = 300,
		O_PROFILE,
		O_ATTEMPTS,
		O_CONC,
		O_RATE,
		O_CTIMEOUT,
		O_TIMEOUT,
		O_REUSE,
		O_DEBUG,
		O_REPEAT,
		O_PARALLEL,
		O_STATS,
		O_RANDOM
	};
	static const struct option longopts[] = {
		{ "region", required_argument, NULL, O_REGION },
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "max-attempts", required_argument, NULL, O_ATTEMPTS },
		{ "concurrency", required_argument, NULL, O_CONC },
		{ "rate-limit", required_argument, NULL, O_RATE },
		{ "connect-timeout-ms", required_argument, NULL, O_CTIMEOUT },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "forbid-reuse", no_argument, NULL, O_REUSE },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "parallel", required_argument, NULL, O_PARALLEL },
		{ "stats", no_argument, NULL, O_STATS },
		{ "random", required_argument, NULL, O_RANDOM },
		{ NULL, 0, NULL, 0 },
	};
	struct prov_aws_config cfg = { 0 };
	struct prov_aws_rate_limits limits;
	struct prov_aws_hooks hooks = { 0 };
	struct tool t = { .repeat = 1, .parallel = 1 };
	struct util_err err = UTIL_ERR_INIT;
	bool stats = false, limits_set = false, summary = false;
	size_t failed;
	int c, v;

	util_alloc_install_hooks();
	prov_aws_rate_limits_defaults(&limits);
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case O_REGION:
			cfg.region = optarg;
			break;
		case O_PROFILE:
			cfg.profile = optarg;
			break;
		case O_ATTEMPTS:
			if (prov_aws_parse_max_attempts(optarg,
							&cfg.max_attempts,
							&err) < 0)
				usage();
			break;
		case O_CONC:
			if (util_parse_int(optarg, 1, 256, &v, NULL) < 0)
				usage();
			cfg.concurrency = (unsigned)v;
			break;
		case O_RATE:
			if (prov_aws_rate_limit_set(&limits, optarg, &err) <
			    0) {
				fprintf(stderr, "provtool: %s\n", err.msg);
				return 2;
			}
			limits_set = true;
			break;
		case O_CTIMEOUT:
			if (util_parse_int(optarg, 1, 3600000, &v, NULL) < 0)
				usage();
			cfg.connect_timeout_ms = v;
			break;
		case O_TIMEOUT:
			if (util_parse_int(optarg, 1, 3600000, &v, NULL) < 0)
				usage();
			cfg.timeout_ms = v;
			break;
		case O_REUSE:
			hooks.forbid_reuse = true;
			break;
		case O_DEBUG:
			util_log_set_sink(log_sink, NULL, UTIL_LOG_DEBUG);
			break;
		case O_REPEAT:
			if (util_parse_int(optarg, 1, 1000000, &v, NULL) < 0)
				usage();
			t.repeat = (unsigned)v;
			summary = true;
			break;
		case O_PARALLEL:
			if (util_parse_int(optarg, 1, 256, &v, NULL) < 0)
				usage();
			t.parallel = (unsigned)v;
			break;
		case O_STATS:
			stats = true;
			break;
		case O_RANDOM: {
			char *end;

			s_fixed_random = strtod(optarg, &end);
			if (*end ||
			    !(s_fixed_random >= 0 && s_fixed_random < 1))
				usage();
			hooks.random.next = fixed_random;
			break;
		}
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	cfg.limits = limits_set ? &limits : NULL;
	if (prov_aws_new_hooked(&cfg, &hooks, &t.p, &err) < 0) {
		struct job j = { .err = err, .rc = -1 };

		print_doc(job_doc(&j));
		return 1;
	}
	if (!strcmp(argv[optind], "batch")) {
		failed = batch(&t);
	} else {
		size_t n = t.repeat;
		struct job *v_jobs = util_xcalloc(n, sizeof(*v_jobs));

		for (size_t i = 0; i < n; i++) {
			v_jobs[i].argc = argc - optind;
			v_jobs[i].argv = words_dup(argc - optind,
						   argv + optind);
		}
		failed = run_jobs(&t, v_jobs, n, summary);
		free(v_jobs);
	}
	if (stats)
		print_stats(t.p);
	prov_free(t.p);
	return failed ? 1 : 0;
}
