/*
 * From the YAML tree to struct spec: every key, type, shape and range that
 * can be checked one value at a time.  docs/moor-spec.5 is the reference
 * for what is accepted; keep it, spec/moor.schema.json and this file in
 * step.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec/diag.h"
#include "spec/ids.h"
#include "spec/internal.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/parse.h"
#include "util/banned.h"

#define DEFAULT_TIMEOUT_MS	 (5u * 60 * 1000)
#define DEFAULT_INTERVAL_MS	 2000u
#define DEFAULT_PROBE_TIMEOUT_MS 1000u
#define DEFAULT_FALL		 3u
#define DEFAULT_RISE		 2u
/* Upper bound of every duration: a longer wait is a typo, not a plan. */
#define MAX_DURATION_MS		 (24ull * 60 * 60 * 1000)
#define MAX_FALL_RISE		 100
#define MAX_MIN_HEALTHY		 1000000
#define MAX_TAG_KEY		 128
#define MAX_TAG_VALUE		 256
#define MAX_EIP_NAME		 255
#define MAX_URL			 2048

struct dec {
	struct spec_diags *d;
	struct spec *s;
};

static void err(struct dec *c, struct spec_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void err(struct dec *c, struct spec_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_diag_vadd(c->d, SPEC_ERROR, loc, fmt, ap);
	va_end(ap);
}

static void warn(struct dec *c, struct spec_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warn(struct dec *c, struct spec_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_diag_vadd(c->d, SPEC_WARNING, loc, fmt, ap);
	va_end(ap);
}

/* --- keys ----------------------------------------------------------------- */

struct field {
	const struct spec_node *key; /* NULL: the key is absent */
	const struct spec_node *val;
};

/* A key people write for another one, found by meaning, not spelling. */
struct hint {
	const char *wrong;
	const char *right;
};

/* Optimal string alignment distance (a swap of neighbours costs 1). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[3][34], *prev2 = d[0], *prev = d[1], *cur = d[2];

	if (la > 32 || lb > 32)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		size_t *t;

		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) ==
				    tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
				    tolower((unsigned char)b[j - 1]) &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

static const char *suggest(const char *key, const char *const *names,
			   const struct hint *hints)
{
	size_t best = 99, len = strlen(key);
	const char *pick = NULL;

	for (; hints && hints->wrong; hints++)
		if (!strcasecmp(key, hints->wrong))
			return hints->right;
	for (; *names; names++) {
		size_t dist = edit_distance(key, *names);

		if (dist < best) {
			best = dist;
			pick = *names;
		}
	}
	if (best <= 2 && best <= len / 2)
		return pick;
	return NULL;
}

static void unknown_key(struct dec *c, const struct spec_node *key,
			const char *what, const char *const *names,
			const struct hint *hints)
{
	char clip[SPEC_CLIP_SIZE];
	const char *s = spec_clip(key->str, clip);
	const char *sugg;
	struct buf b = BUF_INIT;

	if (!strcmp(key->str, "<<")) {
		err(c, key->loc,
		    "merge keys ('<<') are not supported: repeat the keys, or "
		    "alias the whole value");
		return;
	}
	sugg = suggest(key->str, names, hints);
	if (sugg) {
		err(c, key->loc, "unknown key '%s', did you mean '%s'?", s,
		    sugg);
		return;
	}
	for (const char *const *n = names; *n; n++)
		buf_addf(&b, "%s%s", n == names ? "" : ", ", *n);
	err(c, key->loc, "unknown key '%s' in %s (valid keys: %s)", s, what,
	    b.buf);
	buf_release(&b);
}

/*
 * Check that n is a map and sort its pairs into f (indexed like names,
 * which is NULL-terminated).  Unknown keys are reported; with ext, keys
 * starting "x-" are allowed and ignored (a place for anchors).  Returns
 * false when n is not a map (reported, unless already invalid).
 */
static bool read_map(struct dec *c, const struct spec_node *n, const char *what,
		     const char *const *names, struct field *f,
		     const struct hint *hints, bool ext)
{
	size_t nf = 0;

	while (names[nf])
		nf++;
	memset(f, 0, nf * sizeof(*f));
	if (n->invalid)
		return false;
	if (n->kind != SPEC_NODE_MAP) {
		if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_NULL)
			err(c, n->loc, "%s is empty: expected a map", what);
		else
			err(c, n->loc, "%s must be a map, not %s", what,
			    spec_node_type_name(n));
		return false;
	}
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct spec_node *k = n->pairs[i].key;
		size_t j;

		for (j = 0; j < nf; j++)
			if (!strcmp(k->str, names[j]))
				break;
		if (j < nf) {
			f[j].key = k;
			f[j].val = n->pairs[i].value;
		} else if (!(ext && !strncmp(k->str, "x-", 2))) {
			unknown_key(c, k, what, names, hints);
		}
	}
	return true;
}

static bool loc_before(struct spec_loc a, struct spec_loc b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

/*
 * Of the fields idx[0..n), exactly one may be present.  Returns the one
 * written first (later ones are reported as conflicting), or -1 when none
 * is (reported with none_msg at the map, unless none_msg is NULL).
 */
static int pick_one(struct dec *c, const struct spec_node *map,
		    const struct field *f, const int *idx, size_t n,
		    const char *const *names, const char *none_msg)
{
	int first = -1;

	for (size_t i = 0; i < n; i++)
		if (f[idx[i]].key &&
		    (first < 0 ||
		     loc_before(f[idx[i]].key->loc, f[first].key->loc)))
			first = idx[i];
	if (first < 0) {
		if (none_msg)
			err(c, map->loc, "%s", none_msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (idx[i] != first && f[idx[i]].key)
			err(c, f[idx[i]].key->loc,
			    "'%s' cannot be combined with '%s': give only one",
			    names[idx[i]], names[first]);
	return first;
}

/* --- scalars -------------------------------------------------------------- */

static void wrong_type(struct dec *c, const struct spec_node *n,
		       const char *what, const char *want)
{
	char clip[SPEC_CLIP_SIZE];

	if (n->invalid)
		return;
	if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_NULL)
		err(c, n->loc, "%s has no value: expected %s", what, want);
	else if (n->kind == SPEC_NODE_SCALAR && !strcmp(want, "a string"))
		err(c, n->loc, "%s must be a string, not %s (quote it: \"%s\")",
		    what, spec_node_type_name(n), spec_clip(n->str, clip));
	else
		err(c, n->loc, "%s must be %s, not %s", what, want,
		    spec_node_type_name(n));
}

static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/*
 * A string value without control characters; *ret points into the tree
 * (valid as long as the doc).
 */
static bool get_str(struct dec *c, const struct spec_node *n, const char *what,
		    const char **ret)
{
	if (n->kind != SPEC_NODE_SCALAR || n->type != SPEC_SCALAR_STR ||
	    n->invalid) {
		wrong_type(c, n, what, "a string");
		return false;
	}
	if (has_control(n->str, n->len)) {
		err(c, n->loc, "%s contains a control character", what);
		return false;
	}
	if (!n->len) {
		err(c, n->loc, "%s is an empty string", what);
		return false;
	}
	*ret = n->str;
	return true;
}

static bool get_int(struct dec *c, const struct spec_node *n, const char *what,
		    long long min, long long max, long long *ret)
{
	const char *digits;
	int64_t v;

	if (n->kind != SPEC_NODE_SCALAR || n->type != SPEC_SCALAR_INT ||
	    n->invalid) {
		wrong_type(c, n, what, "an integer");
		return false;
	}
	digits = n->str + (n->str[0] == '+' || n->str[0] == '-');
	if (!digits[0] || strspn(digits, "0123456789") != strlen(digits) ||
	    (digits[0] == '0' && digits[1])) {
		err(c, n->loc,
		    "%s must be a decimal integer without leading zeros", what);
		return false;
	}
	if (util_parse_i64(n->str[0] == '+' ? n->str + 1 : n->str, INT64_MIN,
			   INT64_MAX, &v, NULL) < 0 ||
	    v < min || v > max) {
		char clip[SPEC_CLIP_SIZE];

		err(c, n->loc, "%s must be between %lld and %lld, not %s", what,
		    min, max, spec_clip(n->str, clip));
		return false;
	}
	*ret = v;
	return true;
}

static bool get_bool(struct dec *c, const struct spec_node *n, const char *what,
		     bool *ret)
{
	char clip[SPEC_CLIP_SIZE];

	if (n->kind != SPEC_NODE_SCALAR || n->type != SPEC_SCALAR_BOOL ||
	    n->invalid) {
		if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_STR)
			err(c, n->loc, "%s must be true or false, not '%s'",
			    what, spec_clip(n->str, clip));
		else
			wrong_type(c, n, what, "true or false");
		return false;
	}
	*ret = n->str[0] == 't' || n->str[0] == 'T';
	return true;
}

static bool get_duration(struct dec *c, const struct spec_node *n,
			 const char *what, uint64_t *ret)
{
	struct util_err e = UTIL_ERR_INIT;
	char fmt[32];
	uint64_t ms;

	if (n->kind == SPEC_NODE_SCALAR && !n->invalid &&
	    (n->type == SPEC_SCALAR_INT || n->type == SPEC_SCALAR_FLOAT)) {
		char clip[SPEC_CLIP_SIZE];

		err(c, n->loc, "%s needs a unit: '%ss' or '%sms', not '%s'",
		    what, spec_clip(n->str, clip), clip, clip);
		return false;
	}
	if (n->kind != SPEC_NODE_SCALAR || n->type != SPEC_SCALAR_STR ||
	    n->invalid) {
		wrong_type(c, n, what, "a duration such as 30s");
		return false;
	}
	if (util_duration_parse(n->str, &ms, &e) < 0) {
		err(c, n->loc, "%s: %s", what, e.msg);
		return false;
	}
	if (!ms) {
		err(c, n->loc, "%s must be longer than 0s", what);
		return false;
	}
	if (ms > MAX_DURATION_MS) {
		err(c, n->loc, "%s must be at most 24h, not %s", what,
		    util_duration_format(ms, fmt, sizeof(fmt)));
		return false;
	}
	*ret = ms;
	return true;
}

/* One of names (NULL-terminated); stores its index. */
static bool get_enum(struct dec *c, const struct spec_node *n, const char *what,
		     const char *const *names, int *ret)
{
	char clip[SPEC_CLIP_SIZE];
	const char *s, *sugg;
	struct buf b = BUF_INIT;
	size_t count = 0;

	if (n->kind != SPEC_NODE_SCALAR || n->type != SPEC_SCALAR_STR ||
	    n->invalid) {
		for (count = 0; names[count]; count++)
			buf_addf(&b, "%s%s", count ? " or " : "one of ",
				 names[count]);
		wrong_type(c, n, what, b.buf);
		buf_release(&b);
		return false;
	}
	s = n->str;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*ret = i;
			return true;
		}
	}
	sugg = suggest(s, names, NULL);
	if (sugg) {
		err(c, n->loc, "invalid %s '%s', did you mean '%s'?", what,
		    spec_clip(s, clip), sugg);
		return false;
	}
	for (count = 0; names[count]; count++)
		;
	for (size_t i = 0; i < count; i++)
		buf_addf(&b, "%s%s",
			 !i		  ? ""
			 : i + 1 == count ? " or "
					  : ", ",
			 names[i]);
	err(c, n->loc, "invalid %s '%s' (expected %s)", what,
	    spec_clip(s, clip), b.buf);
	buf_release(&b);
	return false;
}

/* A list value; NULL values get a hint, since "key:" with every item
 * commented out reads as null. */
static bool get_list(struct dec *c, const struct spec_node *n, const char *what,
		     const char *key)
{
	if (n->invalid)
		return false;
	if (n->kind == SPEC_NODE_SEQ)
		return true;
	if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_NULL)
		err(c, n->loc,
		    "%s has no value: write '%s: []' for an empty list", what,
		    key);
	else
		err(c, n->loc, "%s must be a list, not %s", what,
		    spec_node_type_name(n));
	return false;
}

/* --- identifiers ---------------------------------------------------------- */

/* A kind of identifier: its test, and how an invalid one is described. */
struct id_kind {
	bool (*valid)(const char *s);
	const char *noun;
	const char *expect;
};

static const struct id_kind s_instance_id = {
	spec_is_instance_id, "instance id",
	"expected i- and 8 or 17 lowercase hex digits"
};
static const struct id_kind s_ipv4 = {
	spec_is_ipv4, "IPv4 address", "expected a dotted quad such as 10.0.1.20"
};
static const struct id_kind s_allocation_id = {
	spec_is_allocation_id, "allocation id",
	"expected eipalloc- and 8 or 17 lowercase hex digits"
};
static const struct id_kind s_eni_id = {
	spec_is_eni_id, "network interface id",
	"expected eni- and 8 or 17 lowercase hex digits"
};
static const struct id_kind s_classic_name = {
	spec_is_lb_name, "classic ELB name",
	"1 to 32 letters, digits and hyphens, not starting or ending with a "
	"hyphen"
};
static const struct id_kind s_target_group_name = {
	spec_is_lb_name, "target group name",
	"1 to 32 letters, digits and hyphens, not starting or ending with a "
	"hyphen; or an ARN"
};

/*
 * s (the value of n) copied when it is a valid id of kind k; otherwise
 * reported, and NULL: invalid values stay NULL, later checks skip them.
 */
static char *check_id(struct dec *c, const struct spec_node *n, const char *s,
		      const struct id_kind *k)
{
	char clip[SPEC_CLIP_SIZE];

	if (!k->valid(s)) {
		err(c, n->loc, "invalid %s '%s' (%s)", k->noun,
		    spec_clip(s, clip), k->expect);
		return NULL;
	}
	return util_xstrdup(s);
}

/* n as a string holding an id of kind k; NULL when it is not (reported). */
static char *get_id(struct dec *c, const struct spec_node *n, const char *what,
		    const struct id_kind *k)
{
	const char *s;

	if (!get_str(c, n, what, &s))
		return NULL;
	return check_id(c, n, s, k);
}

static char *get_instance(struct dec *c, const struct spec_node *n,
			  const char *what)
{
	return get_id(c, n, what, &s_instance_id);
}

static char *get_ipv4(struct dec *c, const struct spec_node *n,
		      const char *what)
{
	return get_id(c, n, what, &s_ipv4);
}

static void check_region_match(struct dec *c, const struct spec_node *n,
			       const char *what, const char *region)
{
	char clip[SPEC_CLIP_SIZE];

	if (c->s->region && region[0] && strcmp(region, c->s->region))
		err(c, n->loc, "%s '%s' is in region '%s', not the spec's '%s'",
		    what, spec_clip(n->str, clip), region, c->s->region);
}

/* --- probes ----------------------------------------------------------------- */

/*
 * An http(s) URL whose host may be the {private_ip} placeholder; the only
 * placeholder anywhere is {private_ip}.  Owns every check of a probe URL,
 * first failure reported: length, scheme, characters and placeholders,
 * port, host (hence over 60 lines).
 */
static bool check_url(struct dec *c, const struct spec_node *n, const char *s)
{
	char clip[SPEC_CLIP_SIZE], host[256];
	const char *p, *end, *colon;
	size_t len = strlen(s);

	if (len > MAX_URL) {
		err(c, n->loc, "probe URL is longer than %u characters",
		    MAX_URL);
		return false;
	}
	if (!strncmp(s, "http://", 7))
		p = s + 7;
	else if (!strncmp(s, "https://", 8))
		p = s + 8;
	else {
		err(c, n->loc,
		    "probe URL '%s' must start with http:// or https://",
		    spec_clip(s, clip));
		return false;
	}
	for (const char *q = s; *q; q++) {
		if (*q == ' ') {
			err(c, n->loc, "probe URL '%s' contains a space",
			    spec_clip(s, clip));
			return false;
		}
		if (*q == '{' && strncmp(q, "{private_ip}", 12)) {
			err(c, n->loc,
			    "unknown placeholder in probe URL '%s' (only "
			    "{private_ip} is expanded)",
			    spec_clip(s, clip));
			return false;
		}
		if (*q == '{')
			q += 11;
		else if (*q == '}') {
			err(c, n->loc, "unmatched '}' in probe URL '%s'",
			    spec_clip(s, clip));
			return false;
		}
	}
	end = p + strcspn(p, "/?#");
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon) {
		long long port = 0;
		const char *q = colon + 1;

		if (q == end)
			goto bad_port;
		for (; q < end; q++) {
			if (*q < '0' || *q > '9')
				goto bad_port;
			port = port * 10 + (*q - '0');
			if (port > 65535)
				goto bad_port;
		}
		if (!port)
			goto bad_port;
		end = colon;
	}
	if ((size_t)(end - p) >= sizeof(host) || end == p) {
		err(c, n->loc, "probe URL '%s' has no valid host",
		    spec_clip(s, clip));
		return false;
	}
	memcpy(host, p, (size_t)(end - p));
	host[end - p] = '\0';
	if (strcmp(host, "{private_ip}") && !spec_is_host(host)) {
		err(c, n->loc,
		    "probe URL '%s' has an invalid host (expected "
		    "{private_ip}, "
		    "a DNS name or an IPv4 address)",
		    spec_clip(s, clip));
		return false;
	}
	return true;
bad_port:
	err(c, n->loc, "probe URL '%s' has an invalid port",
	    spec_clip(s, clip));
	return false;
}

/* target_health: GROUP, a target group's name or ARN. */
static void decode_target_health(struct dec *c, const struct spec_node *n,
				 struct spec_probe *p)
{
	char clip[SPEC_CLIP_SIZE];
	struct spec_arn arn;
	const char *s;

	p->kind = SPEC_PROBE_TARGET_HEALTH;
	if (!get_str(c, n, "'target_health'", &s))
		return;
	if (!strncmp(s, "arn:", 4)) {
		if (!spec_parse_target_group_arn(s, &arn)) {
			err(c, n->loc,
			    "invalid target group ARN '%s' (expected "
			    "arn:aws:elasticloadbalancing:REGION:ACCOUNT:"
			    "targetgroup/NAME/ID)",
			    spec_clip(s, clip));
			return;
		}
		check_region_match(c, n, "target group", arn.region);
	} else if (!spec_is_lb_name(s)) {
		err(c, n->loc,
		    "invalid target group name '%s' in 'target_health' (1 to "
		    "32 letters, digits and hyphens, not starting or ending "
		    "with a hyphen; or an ARN)",
		    spec_clip(s, clip));
		return;
	}
	p->aws_ref = util_xstrdup(s);
}

/* instance_health: ELB, a Classic ELB's name. */
static void decode_instance_health(struct dec *c, const struct spec_node *n,
				   struct spec_probe *p)
{
	char clip[SPEC_CLIP_SIZE];
	const char *s;

	p->kind = SPEC_PROBE_INSTANCE_HEALTH;
	if (!get_str(c, n, "'instance_health'", &s))
		return;
	if (!spec_is_lb_name(s)) {
		err(c, n->loc,
		    "invalid classic ELB name '%s' in 'instance_health' (1 to "
		    "32 letters, digits and hyphens, not starting or ending "
		    "with a hyphen)",
		    spec_clip(s, clip));
		return;
	}
	p->aws_ref = util_xstrdup(s);
}

/* instance_status: ok, the only status a candidate is up in. */
static void decode_instance_status(struct dec *c, const struct spec_node *n,
				   struct spec_probe *p)
{
	static const char *const oks[] = { "ok", NULL };
	int e;

	p->kind = SPEC_PROBE_INSTANCE_STATUS;
	get_enum(c, n, "'instance_status'", oks, &e);
}

/* The probes that read AWS (kinds 3, 4, 5 of decode_probe's names). */
static void decode_aws_probe(struct dec *c, int k, const struct field *f,
			     struct spec_probe *p)
{
	if (k == 3)
		decode_target_health(c, f[k].val, p);
	else if (k == 4)
		decode_instance_health(c, f[k].val, p);
	else if (k == 5)
		decode_instance_status(c, f[k].val, p);
	if (k >= 3 && f[2].key)
		err(c, f[2].key->loc, "'host' is only for tcp probes");
}

static void decode_probe(struct dec *c, const struct spec_node *n,
			 struct spec_probe *p)
{
	static const char *const names[] = { "http",
					     "tcp",
					     "host",
					     "target_health",
					     "instance_health",
					     "instance_status",
					     NULL };
	static const int kinds[] = { 0, 1, 3, 4, 5 };
	struct field f[ARRAY_SIZE(names) - 1];
	long long port;
	const char *s;
	char clip[SPEC_CLIP_SIZE];
	int k;

	p->loc = n->loc;
	if (!read_map(c, n, "a probe", names, f, NULL, false))
		return;
	k = pick_one(c, n, f, kinds, ARRAY_SIZE(kinds), names,
		     "a probe needs 'http: URL' or 'tcp: PORT' (or, read "
		     "from AWS, 'target_health: GROUP', 'instance_health: "
		     "ELB' or 'instance_status: ok')");
	decode_aws_probe(c, k, f, p);
	if (k == 0) {
		p->kind = SPEC_PROBE_HTTP;
		if (get_str(c, f[0].val, "'http'", &s) &&
		    check_url(c, f[0].val, s))
			p->http_url = util_xstrdup(s);
		if (f[2].key)
			err(c, f[2].key->loc,
			    "'host' is only for tcp probes: an http probe's "
			    "host is in its URL");
	} else if (k == 1) {
		p->kind = SPEC_PROBE_TCP;
		if (get_int(c, f[1].val, "'tcp'", 1, 65535, &port))
			p->tcp_port = (int)port;
		if (f[2].key && get_str(c, f[2].val, "'host'", &s)) {
			if (spec_is_host(s))
				p->tcp_host = util_xstrdup(s);
			else
				err(c, f[2].val->loc,
				    "invalid host '%s' (expected a DNS name "
				    "or an IPv4 address)",
				    spec_clip(s, clip));
		}
	}
}

/* --- load balancers ------------------------------------------------------- */

static const char *const s_states[] = {
	"pending", "running", "shutting-down", "terminated", "stopping",
	"stopped", NULL
};

/* Whether tag k: v may go in a selector (each problem reported). */
static bool check_tag(struct dec *c, const struct spec_node *k,
		      const struct spec_node *v)
{
	char clip[SPEC_CLIP_SIZE];
	const char *ks = k->str;
	bool ok = true;

	if (!k->len || k->len > MAX_TAG_KEY || has_control(ks, k->len)) {
		err(c, k->loc,
		    "tag key '%s' must be 1 to %u characters, "
		    "without control characters",
		    spec_clip(ks, clip), MAX_TAG_KEY);
		ok = false;
	}
	if (v->invalid) {
		ok = false;
	} else if (v->kind != SPEC_NODE_SCALAR) {
		err(c, v->loc, "tag '%s' must be a scalar, not %s",
		    spec_clip(ks, clip), spec_node_type_name(v));
		ok = false;
	} else if (v->type == SPEC_SCALAR_NULL) {
		err(c, v->loc,
		    "tag '%s' has no value: write '' to match "
		    "an empty value",
		    spec_clip(ks, clip));
		ok = false;
	} else if (v->len > MAX_TAG_VALUE || has_control(v->str, v->len)) {
		err(c, v->loc,
		    "value of tag '%s' must be at most %u "
		    "characters, without control characters",
		    spec_clip(ks, clip), MAX_TAG_VALUE);
		ok = false;
	}
	return ok;
}

/* A selector's 'tags' (tags: the field, absent when its key is). */
static void decode_tags(struct dec *c, const struct spec_node *n,
			const struct field *tags, struct spec_member *m)
{
	const struct spec_node *t = tags->key ? tags->val : NULL;

	if (!t) {
		err(c, n->loc,
		    "a selector needs 'tags': the tags an instance must all "
		    "have");
	} else if (t->invalid) {
		t = NULL;
	} else if (t->kind != SPEC_NODE_MAP) {
		wrong_type(c, t, "'tags'", "a map of tag keys to values");
		t = NULL;
	} else if (!t->n_pairs) {
		err(c, t->loc,
		    "'tags' is empty: a selector must name at least one tag "
		    "(an empty one would match every instance)");
	}
	if (!t || t->invalid)
		return;
	m->tags = util_xcalloc(t->n_pairs, sizeof(*m->tags));
	for (size_t i = 0; i < t->n_pairs; i++) {
		const struct spec_node *k = t->pairs[i].key;
		const struct spec_node *v = t->pairs[i].value;

		if (!check_tag(c, k, v))
			continue;
		m->tags[m->n_tags].key = util_xstrdup(k->str);
		m->tags[m->n_tags].value = util_xstrdup(v->str);
		m->tags[m->n_tags].loc = k->loc;
		m->n_tags++;
	}
}

/* A selector's 'states' list (l), each state once. */
static void decode_states(struct dec *c, const struct spec_node *l,
			  struct spec_member *m)
{
	if (!l->n_items)
		err(c, l->loc,
		    "'states' is empty: omit it to select running "
		    "instances");
	m->states = util_xcalloc(l->n_items, sizeof(*m->states));
	for (size_t i = 0; i < l->n_items; i++) {
		int st;
		size_t j;

		if (!get_enum(c, l->items[i], "instance state", s_states, &st))
			continue;
		for (j = 0; j < m->n_states; j++)
			if (!strcmp(m->states[j], s_states[st]))
				break;
		if (j < m->n_states) {
			err(c, l->items[i]->loc, "state '%s' is listed twice",
			    s_states[st]);
			continue;
		}
		m->states[m->n_states++] = util_xstrdup(s_states[st]);
	}
}

static void decode_selector(struct dec *c, const struct spec_node *n,
			    struct spec_member *m)
{
	static const char *const names[] = { "tags", "states", NULL };
	struct field f[ARRAY_SIZE(names) - 1];

	if (read_map(c, n, "'selector'", names, f, NULL, false)) {
		decode_tags(c, n, &f[0], m);
		if (f[1].key && get_list(c, f[1].val, "'states'", "states"))
			decode_states(c, f[1].val, m);
	}
	if (!m->n_states) {
		free(m->states);
		m->states = util_xcalloc(1, sizeof(*m->states));
		m->states[0] = util_xstrdup("running");
		m->n_states = 1;
	}
}

/*
 * Owns a load balancer member in each of its forms (an instance id, or a
 * map naming one of id, selector or ip) and which of 'port' and 'az' go
 * with which (hence over 60 lines).
 */
static void decode_member(struct dec *c, const struct spec_node *n,
			  enum spec_lb_kind lb_kind, struct spec_member *m)
{
	static const char *const names[] = { "id",   "selector", "ip",
					     "port", "az",	 NULL };
	static const struct hint hints[] = {
		{ "instance", "id" },	       { "instance_id", "id" },
		{ "tags", "selector" },	       { "address", "ip" },
		{ "availability_zone", "az" }, { NULL, NULL }
	};
	static const int kinds[] = { 0, 1, 2 };
	struct field f[ARRAY_SIZE(names) - 1];
	char clip[SPEC_CLIP_SIZE], region[32];
	long long port;
	const char *s;
	int k;

	m->loc = n->loc;
	m->kind = SPEC_MEMBER_ID;
	if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_STR &&
	    !n->invalid && spec_is_ipv4(n->str)) {
		err(c, n->loc,
		    "member '%s' is an IP address: write it as '- ip: %s'",
		    spec_clip(n->str, clip), clip);
		return;
	}
	if (n->kind == SPEC_NODE_SCALAR) {
		if (n->type != SPEC_SCALAR_STR)
			wrong_type(c, n, "a member", "an instance id or a map");
		else
			m->id = get_instance(c, n, "a member");
		return;
	}
	if (n->kind != SPEC_NODE_MAP) {
		wrong_type(c, n, "a member", "an instance id or a map");
		return;
	}
	if (!read_map(c, n, "a member", names, f, hints, false))
		return;
	k = pick_one(c, n, f, kinds, 3, names,
		     "a member needs 'id', 'selector' or 'ip'");
	if (k == 0) {
		m->id = get_instance(c, f[0].val, "'id'");
	} else if (k == 1) {
		m->kind = SPEC_MEMBER_SELECTOR;
		decode_selector(c, f[1].val, m);
	} else if (k == 2) {
		m->kind = SPEC_MEMBER_IP;
		if (lb_kind == SPEC_LB_CLASSIC)
			err(c, f[2].key->loc,
			    "'ip' members are only for target groups: a "
			    "classic ELB registers instances");
		m->ip = get_ipv4(c, f[2].val, "'ip'");
	}
	if (f[3].key) {
		if (lb_kind == SPEC_LB_CLASSIC)
			err(c, f[3].key->loc,
			    "'port' is only for target group members: a "
			    "classic ELB sends to its listeners' instance "
			    "ports");
		else if (get_int(c, f[3].val, "'port'", 1, 65535, &port))
			m->port = (int)port;
	}
	if (f[4].key) {
		if (k != 2) {
			err(c, f[4].key->loc, "'az' is only for 'ip' members");
		} else if (get_str(c, f[4].val, "'az'", &s)) {
			if (!spec_is_az(s, region, sizeof(region))) {
				err(c, f[4].val->loc,
				    "invalid availability zone '%s' "
				    "(expected e.g. us-east-1a, or all)",
				    spec_clip(s, clip));
			} else {
				check_region_match(c, f[4].val,
						   "availability zone", region);
				m->az = util_xstrdup(s);
			}
		}
	}
}

static void decode_min_healthy(struct dec *c, const struct spec_node *n,
			       struct spec_min_healthy *mh)
{
	long long v;
	size_t len;

	mh->loc = n->loc;
	if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_INT &&
	    !n->invalid) {
		if (get_int(c, n, "'min_healthy'", 0, MAX_MIN_HEALTHY, &v)) {
			mh->set = true;
			mh->value = (unsigned)v;
		}
		return;
	}
	if (n->kind == SPEC_NODE_SCALAR && n->type == SPEC_SCALAR_STR &&
	    !n->invalid) {
		len = n->len;
		if (len >= 2 && len <= 4 && n->str[len - 1] == '%' &&
		    strspn(n->str, "0123456789") == len - 1 &&
		    !(n->str[0] == '0' && len > 2)) {
			v = strtol(n->str, NULL, 10);
			if (v > 100) {
				err(c, n->loc,
				    "'min_healthy' must be at most 100%%, not "
				    "%s",
				    n->str);
				return;
			}
			mh->set = true;
			mh->percent = true;
			mh->value = (unsigned)v;
			return;
		}
	}
	if (n->invalid)
		return;
	if (n->kind == SPEC_NODE_SCALAR && n->type != SPEC_SCALAR_NULL) {
		char clip[SPEC_CLIP_SIZE];

		err(c, n->loc,
		    "'min_healthy' must be a count such as 2 or a percentage "
		    "such as 50%%, not '%s'",
		    spec_clip(n->str, clip));
		return;
	}
	wrong_type(c, n, "'min_healthy'",
		   "a count such as 2 or a percentage such as 50%");
}

enum lb_key {
	LB_CLASSIC,
	LB_TARGET_GROUP,
	LB_MEMBERS,
	LB_OWNERSHIP,
	LB_WAIT,
	LB_TIMEOUT,
	LB_DRAIN,
	LB_DRAIN_TIMEOUT,
	LB_MIN_HEALTHY,
	LB_ENABLE_ZONES,
};

/* A target group's name, or its ARN (in the spec's region). */
static char *get_target_group(struct dec *c, const struct spec_node *n)
{
	char clip[SPEC_CLIP_SIZE];
	struct spec_arn arn;
	const char *s;

	if (!get_str(c, n, "'target_group'", &s))
		return NULL;
	if (strncmp(s, "arn:", 4))
		return check_id(c, n, s, &s_target_group_name);
	if (!spec_parse_target_group_arn(s, &arn)) {
		err(c, n->loc,
		    "invalid target group ARN '%s' (expected "
		    "arn:aws:elasticloadbalancing:REGION:"
		    "ACCOUNT:targetgroup/NAME/ID)",
		    spec_clip(s, clip));
		return NULL;
	}
	check_region_match(c, n, "target group", arn.region);
	return util_xstrdup(s);
}

/*
 * The list the required field f of map n holds; NULL when the key is
 * absent (missing is reported at n) or its value is not a list.
 */
static const struct spec_node *required_list(struct dec *c,
					     const struct spec_node *n,
					     const struct field *f,
					     const char *what, const char *key,
					     const char *missing)
{
	if (!f->key) {
		err(c, n->loc, "%s", missing);
		return NULL;
	}
	return get_list(c, f->val, what, key) ? f->val : NULL;
}

/* The load balancer's members: every item decoded, in order. */
static void decode_lb_members(struct dec *c, const struct spec_node *n,
			      const struct field *f, struct spec_lb *lb)
{
	const struct spec_node *l = required_list(
		c, n, &f[LB_MEMBERS], "'members'", "members",
		"a load balancer needs 'members' (write 'members: []' for "
		"none)");

	if (!l)
		return;
	lb->members = util_xcalloc(l->n_items, sizeof(*lb->members));
	for (size_t i = 0; i < l->n_items; i++)
		decode_member(c, l->items[i], lb->kind,
			      &lb->members[lb->n_members++]);
}

/* How the load balancer is changed: ownership, waits, drain, zones. */
static void decode_lb_options(struct dec *c, const struct field *f, int k,
			      struct spec_lb *lb)
{
	static const char *const ownerships[] = { "exclusive", "additive",
						  NULL };
	static const char *const waits[] = { "none", "registered", "healthy",
					     NULL };
	static const char *const drains[] = { "none", "wait", NULL };
	int v;

	if (f[LB_OWNERSHIP].key &&
	    get_enum(c, f[LB_OWNERSHIP].val, "ownership", ownerships, &v))
		lb->ownership = (enum spec_ownership)v;
	if (f[LB_WAIT].key && get_enum(c, f[LB_WAIT].val, "wait", waits, &v))
		lb->wait = (enum spec_wait)v;
	if (f[LB_TIMEOUT].key)
		get_duration(c, f[LB_TIMEOUT].val, "'timeout'",
			     &lb->timeout_ms);
	if (f[LB_DRAIN].key &&
	    get_enum(c, f[LB_DRAIN].val, "drain", drains, &v))
		lb->drain_wait = v == 1;
	lb->drain_timeout_ms = lb->timeout_ms;
	if (f[LB_DRAIN_TIMEOUT].key)
		get_duration(c, f[LB_DRAIN_TIMEOUT].val, "'drain_timeout'",
			     &lb->drain_timeout_ms);
	if (f[LB_MIN_HEALTHY].key)
		decode_min_healthy(c, f[LB_MIN_HEALTHY].val, &lb->min_healthy);
	if (f[LB_ENABLE_ZONES].key && k == LB_TARGET_GROUP)
		err(c, f[LB_ENABLE_ZONES].key->loc,
		    "'enable_zones' is only for classic ELBs: a target group "
		    "serves the zones of its load balancers' subnets");
	else if (f[LB_ENABLE_ZONES].key)
		get_bool(c, f[LB_ENABLE_ZONES].val, "'enable_zones'",
			 &lb->enable_zones);
}

/* Keys that are valid but do nothing with the others given. */
static void lb_warnings(struct dec *c, const struct field *f,
			const struct spec_lb *lb)
{
	char clip[SPEC_CLIP_SIZE];

	if (f[LB_TIMEOUT].key && f[LB_WAIT].key && lb->wait == SPEC_WAIT_NONE)
		warn(c, f[LB_TIMEOUT].key->loc,
		     "'timeout' has no effect with 'wait: none'");
	if (f[LB_DRAIN_TIMEOUT].key && !lb->drain_wait)
		warn(c, f[LB_DRAIN_TIMEOUT].key->loc,
		     "'drain_timeout' has no effect without 'drain: wait'");
	if (f[LB_MEMBERS].key && f[LB_MEMBERS].val->kind == SPEC_NODE_SEQ &&
	    !f[LB_MEMBERS].val->n_items &&
	    lb->ownership == SPEC_OWNERSHIP_EXCLUSIVE && lb->name)
		warn(c, f[LB_MEMBERS].val->loc,
		     "no members: with ownership exclusive, apply deregisters "
		     "every member of '%s'",
		     spec_clip(lb->name, clip));
}

static void decode_lb(struct dec *c, const struct spec_node *n,
		      struct spec_lb *lb)
{
	static const char *const names[] = {
		"classic",     "target_group", "members", "ownership",
		"wait",	       "timeout",      "drain",	  "drain_timeout",
		"min_healthy", "enable_zones", NULL
	};
	static const struct hint hints[] = { { "instances", "members" },
					     { "targets", "members" },
					     { "elb", "classic" },
					     { "tg", "target_group" },
					     { "targetgroup", "target_group" },
					     { "min_healthy_percent",
					       "min_healthy" },
					     { NULL, NULL } };
	static const int kinds[] = { LB_CLASSIC, LB_TARGET_GROUP };
	struct field f[ARRAY_SIZE(names) - 1];
	int k;

	lb->loc = n->loc;
	lb->ownership = SPEC_OWNERSHIP_EXCLUSIVE;
	lb->wait = SPEC_WAIT_HEALTHY;
	lb->timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!read_map(c, n, "a load balancer", names, f, hints, false)) {
		lb->drain_timeout_ms = lb->timeout_ms;
		return;
	}
	k = pick_one(c, n, f, kinds, 2, names,
		     "a load balancer needs 'classic: NAME' or "
		     "'target_group: NAME'");
	if (k == LB_CLASSIC) {
		lb->kind = SPEC_LB_CLASSIC;
		lb->name = get_id(c, f[k].val, "'classic'", &s_classic_name);
	} else if (k == LB_TARGET_GROUP) {
		lb->kind = SPEC_LB_TARGET_GROUP;
		lb->name = get_target_group(c, f[k].val);
	}
	decode_lb_members(c, n, f, lb);
	decode_lb_options(c, f, k, lb);
	lb_warnings(c, f, lb);
}

/* --- elastic IPs ---------------------------------------------------------- */

static void decode_candidate(struct dec *c, const struct spec_node *n,
			     struct spec_candidate *cand)
{
	static const char *const names[] = { "instance", "probe", NULL };
	static const struct hint hints[] = { { "id", "instance" },
					     { NULL, NULL } };
	struct field f[ARRAY_SIZE(names) - 1];

	cand->loc = n->loc;
	if (n->kind == SPEC_NODE_SCALAR) {
		cand->instance = get_instance(c, n, "a candidate");
		return;
	}
	if (n->kind != SPEC_NODE_MAP) {
		wrong_type(c, n, "a candidate", "an instance id or a map");
		return;
	}
	if (!read_map(c, n, "a candidate", names, f, hints, false))
		return;
	if (!f[0].key)
		err(c, n->loc, "a candidate needs 'instance'");
	else
		cand->instance = get_instance(c, f[0].val, "'instance'");
	if (f[1].key)
		decode_probe(c, f[1].val, &cand->probe);
}

enum fo_key {
	FO_CANDIDATES,
	FO_PROBE,
	FO_INTERVAL,
	FO_TIMEOUT,
	FO_FALL,
	FO_RISE,
	FO_FAILBACK,
};

/* The failover's candidates (the field cf), in order. */
static void decode_candidates(struct dec *c, const struct spec_node *n,
			      const struct field *cf, struct spec_failover *fo)
{
	const struct spec_node *l = required_list(
		c, n, cf, "'candidates'", "candidates",
		"'failover' needs 'candidates': the instances the address may "
		"move to, in order");

	if (!l)
		return;
	if (!l->n_items)
		err(c, l->loc,
		    "'candidates' is empty: a failover needs at least "
		    "one instance");
	fo->candidates = util_xcalloc(l->n_items, sizeof(*fo->candidates));
	for (size_t i = 0; i < l->n_items; i++)
		decode_candidate(c, l->items[i],
				 &fo->candidates[fo->n_candidates++]);
	if (l->n_items == 1)
		warn(c, l->loc,
		     "only one candidate: the address has nowhere to "
		     "fail over to");
}

/* 'interval' and 'timeout', given or default; a probe ends before the next. */
static void decode_probe_times(struct dec *c, const struct spec_node *n,
			       const struct field *f, struct spec_failover *fo)
{
	bool durations_ok = true;
	char a[32], b[32];

	if (f[FO_INTERVAL].key && !get_duration(c, f[FO_INTERVAL].val,
						"'interval'", &fo->interval_ms))
		durations_ok = false;
	if (f[FO_TIMEOUT].key &&
	    !get_duration(c, f[FO_TIMEOUT].val, "'timeout'", &fo->timeout_ms))
		durations_ok = false;
	if (durations_ok && fo->timeout_ms >= fo->interval_ms) {
		const struct field *at = f[FO_TIMEOUT].key ? &f[FO_TIMEOUT]
							   : &f[FO_INTERVAL];

		err(c, at->val ? at->val->loc : n->loc,
		    "probe 'timeout' (%s%s) must be shorter than 'interval' "
		    "(%s%s)",
		    util_duration_format(fo->timeout_ms, a, sizeof(a)),
		    f[FO_TIMEOUT].key ? "" : ", the default",
		    util_duration_format(fo->interval_ms, b, sizeof(b)),
		    f[FO_INTERVAL].key ? "" : ", the default");
	}
}

/* Every candidate needs a probe, its own or the block's (which is absent). */
static void check_candidate_probes(struct dec *c, const struct spec_node *n,
				   const struct spec_failover *fo)
{
	size_t missing = 0;

	for (size_t i = 0; i < fo->n_candidates; i++)
		if (!fo->candidates[i].probe.loc.line)
			missing++;
	if (missing == fo->n_candidates) {
		err(c, n->loc,
		    "'failover' needs a 'probe': on the block, or on every "
		    "candidate");
		return;
	}
	for (size_t i = 0; i < fo->n_candidates; i++) {
		const struct spec_candidate *cand = &fo->candidates[i];
		char clip[SPEC_CLIP_SIZE];

		if (cand->probe.loc.line)
			continue;
		err(c, cand->loc,
		    "candidate '%s' has no probe, and 'failover' has none for "
		    "it to use",
		    cand->instance ? spec_clip(cand->instance, clip) : "?");
	}
}

static void decode_failover(struct dec *c, const struct spec_node *n,
			    struct spec_failover *fo)
{
	static const char *const names[] = { "candidates", "probe", "interval",
					     "timeout",	   "fall",  "rise",
					     "failback",   NULL };
	static const struct hint hints[] = { { "instances", "candidates" },
					     { "health_check", "probe" },
					     { "check", "probe" },
					     { NULL, NULL } };
	struct field f[ARRAY_SIZE(names) - 1];
	long long v;
	int e;

	fo->loc = n->loc;
	fo->interval_ms = DEFAULT_INTERVAL_MS;
	fo->timeout_ms = DEFAULT_PROBE_TIMEOUT_MS;
	fo->fall = DEFAULT_FALL;
	fo->rise = DEFAULT_RISE;
	fo->failback = SPEC_FAILBACK_STAY;
	if (!read_map(c, n, "'failover'", names, f, hints, false))
		return;
	decode_candidates(c, n, &f[FO_CANDIDATES], fo);
	if (f[FO_PROBE].key)
		decode_probe(c, f[FO_PROBE].val, &fo->probe);
	decode_probe_times(c, n, f, fo);
	if (f[FO_FALL].key &&
	    get_int(c, f[FO_FALL].val, "'fall'", 1, MAX_FALL_RISE, &v))
		fo->fall = (unsigned)v;
	if (f[FO_RISE].key &&
	    get_int(c, f[FO_RISE].val, "'rise'", 1, MAX_FALL_RISE, &v))
		fo->rise = (unsigned)v;
	if (f[FO_FAILBACK].key && get_enum(c, f[FO_FAILBACK].val, "failback",
					   spec_failback_words, &e))
		fo->failback = (enum spec_failback)e;
	if (!f[FO_PROBE].key && fo->n_candidates)
		check_candidate_probes(c, n, fo);
}

enum eip_key {
	EIP_ALLOCATION_ID,
	EIP_PUBLIC_IP,
	EIP_NAME,
	EIP_ALLOCATE,
	EIP_INSTANCE,
	EIP_ENI,
	EIP_PRIVATE_IP,
	EIP_NONE,
	EIP_FAILOVER,
};

static const char *const s_eip_keys[] = {
	"allocation_id",     "public_ip",  "name", "allocate", "instance",
	"network_interface", "private_ip", "none", "failover", NULL
};

/* Which address: 'allocation_id', 'public_ip' or 'name' (+ 'allocate'). */
static int decode_eip_ref(struct dec *c, const struct spec_node *n,
			  const struct field *f, struct spec_eip *e)
{
	static const int refs[] = { EIP_ALLOCATION_ID, EIP_PUBLIC_IP,
				    EIP_NAME };
	const char *s;
	bool b;
	int k;

	k = pick_one(c, n, f, refs, 3, s_eip_keys,
		     "an elastic IP needs 'allocation_id', 'public_ip' or "
		     "'name'");
	if (k == EIP_ALLOCATION_ID) {
		e->ref = SPEC_EIP_BY_ALLOCATION_ID;
		e->allocation_id = get_id(c, f[k].val, "'allocation_id'",
					  &s_allocation_id);
	} else if (k == EIP_PUBLIC_IP) {
		e->ref = SPEC_EIP_BY_PUBLIC_IP;
		e->public_ip = get_ipv4(c, f[k].val, "'public_ip'");
	} else if (k == EIP_NAME) {
		e->ref = SPEC_EIP_BY_NAME;
		if (get_str(c, f[k].val, "'name'", &s)) {
			if (strlen(s) > MAX_EIP_NAME)
				err(c, f[k].val->loc,
				    "'name' must be at most %u characters",
				    MAX_EIP_NAME);
			else
				e->name = util_xstrdup(s);
		}
	}
	if (f[EIP_ALLOCATE].key &&
	    get_bool(c, f[EIP_ALLOCATE].val, "'allocate'", &b)) {
		e->allocate = b;
		if (b && k >= 0 && k != EIP_NAME) {
			err(c, f[EIP_ALLOCATE].key->loc,
			    "'allocate: true' needs 'name' instead of '%s': "
			    "moor finds an address it allocated by its Name "
			    "tag",
			    s_eip_keys[k]);
			e->allocate = false;
		}
	}
	return k;
}

/* Where the address goes: an instance, an interface, none, or failover. */
static int decode_eip_bind(struct dec *c, const struct spec_node *n,
			   const struct field *f, struct spec_eip *e)
{
	static const int binds[] = { EIP_INSTANCE, EIP_ENI, EIP_NONE,
				     EIP_FAILOVER };
	bool b;
	int k;

	k = pick_one(c, n, f, binds, 4, s_eip_keys,
		     "an elastic IP needs a binding: 'instance', "
		     "'network_interface', 'none: true' or 'failover'");
	switch (k) {
	case EIP_INSTANCE:
		e->bind = SPEC_BIND_INSTANCE;
		e->instance = get_instance(c, f[k].val, "'instance'");
		break;
	case EIP_ENI:
		e->bind = SPEC_BIND_ENI;
		e->eni = get_id(c, f[k].val, "'network_interface'", &s_eni_id);
		break;
	case EIP_NONE:
		e->bind = SPEC_BIND_NONE;
		if (get_bool(c, f[k].val, "'none'", &b) && !b)
			err(c, f[k].val->loc,
			    "'none' can only be true: it declares the address "
			    "unbound");
		break;
	case EIP_FAILOVER:
		e->bind = SPEC_BIND_FAILOVER;
		decode_failover(c, f[k].val, &e->failover);
		break;
	default:
		break;
	}
	return k;
}

static void decode_eip(struct dec *c, const struct spec_node *n,
		       struct spec_eip *e)
{
	static const struct hint hints[] = {
		{ "eni", "network_interface" },
		{ "interface", "network_interface" },
		{ "instance_id", "instance" },
		{ "allocation", "allocation_id" },
		{ "ip", "public_ip" },
		{ "address", "public_ip" },
		{ "unbound", "none" },
		{ NULL, NULL }
	};
	struct field f[ARRAY_SIZE(s_eip_keys) - 1];
	int k;

	e->loc = n->loc;
	if (!read_map(c, n, "an elastic IP", s_eip_keys, f, hints, false))
		return;
	decode_eip_ref(c, n, f, e);
	k = decode_eip_bind(c, n, f, e);
	if (f[EIP_PRIVATE_IP].key) {
		if (k == EIP_INSTANCE || k == EIP_ENI)
			e->private_ip = get_ipv4(c, f[EIP_PRIVATE_IP].val,
						 "'private_ip'");
		else if (k >= 0)
			err(c, f[EIP_PRIVATE_IP].key->loc,
			    "'private_ip' goes with 'instance' or "
			    "'network_interface', not '%s'",
			    s_eip_keys[k]);
	}
	if (e->bind != SPEC_BIND_FAILOVER) {
		/* The defaults, so every struct spec_failover is sane. */
		e->failover.interval_ms = DEFAULT_INTERVAL_MS;
		e->failover.timeout_ms = DEFAULT_PROBE_TIMEOUT_MS;
		e->failover.fall = DEFAULT_FALL;
		e->failover.rise = DEFAULT_RISE;
	}
}

/* --- the document ---------------------------------------------------------- */

static const struct spec_loc s_top = { 1, 1 };

/*
 * A version this moor does not read stops everything, before unknown keys
 * are reported: the rest of the file may follow another format.
 */
static bool unsupported_version(struct dec *c, const struct spec_node *root)
{
	char clip[SPEC_CLIP_SIZE];

	if (root->kind != SPEC_NODE_MAP)
		return false;
	for (size_t i = 0; i < root->n_pairs; i++) {
		const struct spec_node *v = root->pairs[i].value;

		/* Any integer but a plain 1 ("01", "0x1" are not version 1). */
		if (strcmp(root->pairs[i].key->str, "version") ||
		    v->kind != SPEC_NODE_SCALAR || v->type != SPEC_SCALAR_INT ||
		    v->invalid || !strcmp(v->str, "1"))
			continue;
		err(c, v->loc,
		    "unsupported version %s (this moor reads version 1)",
		    spec_clip(v->str, clip));
		return true;
	}
	return false;
}

/*
 * The spec's lease name (moor watch --lease-table): 1..64 characters of
 * [A-Za-z0-9._-], so it is one DynamoDB key and one metrics label as is.
 */
static void decode_name(struct dec *c, const struct spec_node *n)
{
	char clip[SPEC_CLIP_SIZE];
	const char *str;
	size_t len;

	if (!get_str(c, n, "'name'", &str))
		return;
	len = strlen(str);
	if (len >= 1 && len <= SPEC_NAME_MAX &&
	    strspn(str, SPEC_NAME_CHARS) == len) {
		c->s->name = util_xstrdup(str);
		return;
	}
	err(c, n->loc,
	    "invalid name '%s' (expected 1 to %d characters of A-Z a-z 0-9 . _ "
	    "-)",
	    spec_clip(str, clip), SPEC_NAME_MAX);
}

/*
 * Owns the document's top level: the empty-spec checks, version, region,
 * both lists, and whether anything is declared (hence over 60 lines).
 */
void spec_decode(const struct spec_node *root, struct spec *s,
		 struct spec_diags *d)
{
	enum { VERSION, NAME, REGION, LBS, EIPS };
	static const char *const names[] = { "version",	    "name",
					     "region",	    "load_balancers",
					     "elastic_ips", NULL };
	static const struct hint hints[] = { { "lbs", "load_balancers" },
					     { "eips", "elastic_ips" },
					     { "addresses", "elastic_ips" },
					     { "target_groups",
					       "load_balancers" },
					     { NULL, NULL } };
	struct dec c = { d, s };
	struct field f[ARRAY_SIZE(names) - 1];
	long long v;
	const char *str;
	char clip[SPEC_CLIP_SIZE];
	bool declares = false;

	if (spec_root_is_empty(root)) {
		err(&c, s_top,
		    "empty spec: it declares nothing (an empty file is never "
		    "read as 'nothing desired')");
		return;
	}
	if (unsupported_version(&c, root))
		return;
	if (!read_map(&c, root, "the spec", names, f, hints, true))
		return;
	if (!f[VERSION].key) {
		err(&c, root->loc, "missing 'version: 1'");
	} else if (get_int(&c, f[VERSION].val, "'version'", 1, 1, &v)) {
		/* Any other integer stopped at unsupported_version(). */
		s->version = (int)v;
	}
	if (f[REGION].key && get_str(&c, f[REGION].val, "'region'", &str)) {
		if (spec_is_region(str))
			s->region = util_xstrdup(str);
		else
			err(&c, f[REGION].val->loc,
			    "invalid region '%s' (expected e.g. us-east-1)",
			    spec_clip(str, clip));
		s->region_loc = f[REGION].val->loc;
	}
	if (f[NAME].key)
		decode_name(&c, f[NAME].val);
	if (f[LBS].key &&
	    get_list(&c, f[LBS].val, "'load_balancers'", "load_balancers")) {
		const struct spec_node *l = f[LBS].val;

		s->lbs = util_xcalloc(l->n_items, sizeof(*s->lbs));
		for (size_t i = 0; i < l->n_items; i++)
			decode_lb(&c, l->items[i], &s->lbs[s->n_lbs++]);
	}
	if (f[EIPS].key &&
	    get_list(&c, f[EIPS].val, "'elastic_ips'", "elastic_ips")) {
		const struct spec_node *l = f[EIPS].val;

		s->eips = util_xcalloc(l->n_items, sizeof(*s->eips));
		for (size_t i = 0; i < l->n_items; i++)
			decode_eip(&c, l->items[i], &s->eips[s->n_eips++]);
	}
	for (int i = LBS; i <= EIPS; i++)
		if (f[i].key && spec_list_declares(f[i].val))
			declares = true;
	/* Other errors first: a misspelt list name would also declare none. */
	if (!declares && !d->n_errors)
		err(&c, root->loc,
		    "empty spec: it declares no load balancers and no elastic "
		    "IPs (an empty spec is never read as 'nothing desired')");
}
