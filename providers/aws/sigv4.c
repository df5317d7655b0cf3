#include "providers/aws/sigv4.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "providers/aws/query.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/hash.h"
#include "util/banned.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * Headers botocore leaves unsigned (auth.py SIGNED_HEADERS_BLACKLIST):
 * proxies and HTTP libraries add, drop or rewrite them on the way, so a
 * signature over them would break in transit.  "authorization" is the
 * signature itself, present only when a request is signed again.
 */
static const char *const unsigned_headers[] = {
	"authorization",
	"connection",
	"expect",
	"keep-alive",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"user-agent",
	"x-amzn-trace-id",
};

static bool is_unsigned_header(const char *lname)
{
	for (size_t i = 0; i < ARRAY_SIZE(unsigned_headers); i++)
		if (!strcmp(lname, unsigned_headers[i]))
			return true;
	return false;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/*
 * botocore's remove_dot_segments (utils.py): RFC 3986 5.2.4 plus the
 * collapsing of empty segments ("//") that AWS services expect.  A
 * trailing slash survives only if something is left before it.
 */
static void remove_dot_segments(const char *path, struct buf *out)
{
	size_t n = strlen(path);
	const char **seg = NULL;
	size_t *seglen = NULL;
	size_t nseg = 0, alloc = 0, alloc2 = 0;
	const char *p = path;

	while (p <= path + n) {
		const char *e = strchr(p, '/');
		size_t len;

		if (!e)
			e = path + n;
		len = (size_t)(e - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
		} else if (len && !(len == 1 && p[0] == '.')) {
			UTIL_GROW(seg, alloc, nseg + 1);
			UTIL_GROW(seglen, alloc2, nseg + 1);
			seg[nseg] = p;
			seglen[nseg++] = len;
		}
		p = e + 1;
	}
	if (path[0] == '/')
		buf_addch(out, '/');
	for (size_t i = 0; i < nseg; i++) {
		if (i)
			buf_addch(out, '/');
		buf_add(out, seg[i], seglen[i]);
	}
	if (n && path[n - 1] == '/' && nseg)
		buf_addch(out, '/');
	free(seg);
	free(seglen);
}

static void canonical_uri(const char *path, bool normalize, struct buf *out)
{
	struct buf norm = BUF_INIT;

	if (!path || !*path) {
		buf_addch(out, '/');
		return;
	}
	if (normalize) {
		remove_dot_segments(path, &norm);
		path = norm.len ? norm.buf : "/";
	}
	awsp_uri_encode(path, strlen(path), true, out);
	buf_release(&norm);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A query component as sent may already hold %-escapes (or raw UTF-8):
 * decode, then encode with the SigV4 rules, so both forms canonicalise
 * the same way.  A '%' not followed by two hex digits stays literal.
 */
static char *query_component(const char *s, size_t len)
{
	struct buf raw = BUF_INIT, enc = BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len &&
		    (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			buf_addch(&raw, (char)(hi * 16 + lo));
			i += 2;
		} else {
			buf_addch(&raw, s[i]);
		}
	}
	awsp_uri_encode(raw.buf, raw.len, false, &enc);
	buf_release(&raw);
	return buf_detach(&enc, NULL);
}

struct qparam {
	char *name;
	char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void canonical_query(const char *query, struct buf *out)
{
	struct qparam *v = NULL;
	size_t n = 0, alloc = 0;
	const char *p = query;

	if (!query || !*query)
		return;
	while (*p) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (end > p) {
			UTIL_GROW(v, alloc, n + 1);
			if (eq) {
				v[n].name = query_component(p,
							    (size_t)(eq - p));
				v[n].value = query_component(eq + 1,
							     (size_t)(end - eq -
								      1));
			} else {
				v[n].name = query_component(p,
							    (size_t)(end - p));
				v[n].value = util_xstrdup("");
			}
			n++;
		}
		p = amp ? amp + 1 : end;
	}
	if (n)
		qsort(v, n, sizeof(*v), qparam_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

struct chdr {
	char *lname;
	const char *value;
	size_t idx;
};

static int chdr_cmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->lname, y->lname);

	if (c)
		return c;
	/* Keep the sent order of repeated headers: their values join in it. */
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* botocore's ' '.join(value.split()): trim, and collapse inner runs. */
static void add_trimall(struct buf *out, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (is_ws(*v)) {
			space = any;
			continue;
		}
		if (space)
			buf_addch(out, ' ');
		buf_addch(out, *v);
		space = false;
		any = true;
	}
}

static bool valid_header_name(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || *p == 0x7f)
			return false;
	return true;
}

/*
 * The signed headers into h (*n of them, names lowercased, sorted), and
 * the payload hash an x-amz-content-sha256 header states.  On error the
 * entries already in h are the caller's to free.
 */
static int collect_headers(const struct awsp_sigv4_request *req, struct chdr *h,
			   size_t *n, const char **payload_hash,
			   struct util_err *err)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct awsp_header *src = &req->headers[i];
		char *lname;

		if (!valid_header_name(src->name))
			return util_err_set(err, UTIL_EINVAL,
					    "sigv4: invalid header name");
		lname = util_xstrdup(src->name);
		for (char *p = lname; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (!strcmp(lname, "x-amz-content-sha256") && src->value)
			*payload_hash = src->value;
		if (is_unsigned_header(lname)) {
			free(lname);
			continue;
		}
		h[*n].lname = lname;
		h[*n].value = src->value ? src->value : "";
		h[*n].idx = i;
		(*n)++;
	}
	if (*n)
		qsort(h, *n, sizeof(*h), chdr_cmp);
	return 0;
}

/* The canonical headers block; repeated names join their values. */
static void add_headers(struct buf *creq, struct buf *names,
			const struct chdr *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool cont = i && !strcmp(h[i].lname, h[i - 1].lname);

		if (cont) {
			buf_addch(creq, ',');
		} else {
			if (i)
				buf_addch(creq, '\n');
			buf_addstr(creq, h[i].lname);
			buf_addch(creq, ':');
			if (names->len)
				buf_addch(names, ';');
			buf_addstr(names, h[i].lname);
		}
		add_trimall(creq, h[i].value);
	}
	if (n)
		buf_addch(creq, '\n');
}

/*
 * An x-amz-content-sha256 header states the payload hash (S3's
 * UNSIGNED-PAYLOAD, aws-c-auth's sign_body): botocore uses it as is.
 */
static void add_payload_hash(struct buf *creq,
			     const struct awsp_sigv4_request *req,
			     const char *payload_hash)
{
	char body_hash[65];

	if (payload_hash) {
		add_trimall(creq, payload_hash);
	} else if (req->body_len) {
		util_sha256_hex(req->body, req->body_len, body_hash);
		buf_addstr(creq, body_hash);
	} else {
		buf_addstr(creq, EMPTY_SHA256);
	}
}

int awsp_sigv4_canonical_request(const struct awsp_sigv4_request *req,
				 struct buf *creq, struct buf *signed_headers,
				 struct util_err *err)
{
	struct chdr *h = NULL;
	struct buf names = BUF_INIT;
	size_t n = 0;
	const char *payload_hash = NULL;
	int r = -1;

	if (!req->method || !*req->method) {
		r = util_err_set(err, UTIL_EINVAL,
				 "sigv4: request without a method");
		goto out;
	}
	h = util_xcalloc(req->n_headers ? req->n_headers : 1, sizeof(*h));
	r = collect_headers(req, h, &n, &payload_hash, err);
	if (r < 0)
		goto out;

	buf_addstr(creq, req->method);
	buf_addch(creq, '\n');
	canonical_uri(req->path, req->normalize_path, creq);
	buf_addch(creq, '\n');
	canonical_query(req->query, creq);
	buf_addch(creq, '\n');
	add_headers(creq, &names, h, n);
	/* The header block ends with its own newline: a blank line follows. */
	buf_addch(creq, '\n');
	buf_add(creq, names.buf, names.len);
	buf_addch(creq, '\n');
	buf_add(signed_headers, names.buf, names.len);
	add_payload_hash(creq, req, payload_hash);
	r = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(h[i].lname);
	free(h);
	buf_release(&names);
	return r;
}

void awsp_sigv4_scope(const char *amz_date, const char *region,
		      const char *service, struct buf *out)
{
	buf_addf(out, "%.8s/%s/%s/aws4_request", amz_date, region, service);
}

void awsp_sigv4_string_to_sign(const char *amz_date, const char *scope,
			       const char *creq, size_t creq_len,
			       struct buf *out)
{
	char hash[65];

	util_sha256_hex(creq, creq_len, hash);
	buf_addf(out, ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hash);
}

static void hmac256(const void *key, size_t key_len, const void *data,
		    size_t len, unsigned char out[32])
{
	unsigned int out_len = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
	    out_len != 32) {
		/* Only reachable when libcrypto itself is broken. */
		fputs("moor: libcrypto HMAC-SHA256 failed\n", stderr);
		abort();
	}
}

void awsp_sigv4_signing_key(const char *secret, const char *date8,
			    const char *region, const char *service,
			    unsigned char out[32])
{
	size_t slen = strlen(secret);
	char *k = util_xmalloc(slen + 5);
	unsigned char k1[32], k2[32];

	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, slen + 1);
	hmac256(k, slen + 4, date8, strlen(date8), k1);
	hmac256(k1, 32, region, strlen(region), k2);
	hmac256(k2, 32, service, strlen(service), k1);
	hmac256(k1, 32, "aws4_request", 12, out);
	util_wipe(k, slen + 4);
	util_wipe(k1, sizeof(k1));
	util_wipe(k2, sizeof(k2));
	free(k);
}

void awsp_sigv4_signature(const unsigned char key[32], const char *sts,
			  size_t sts_len, char out[65])
{
	unsigned char mac[32];

	hmac256(key, 32, sts, sts_len, mac);
	util_hex(mac, 32, out);
}

void awsp_sigv4_authorization(const char *access_key_id, const char *scope,
			      const char *signed_headers, const char *sig_hex,
			      struct buf *out)
{
	buf_addf(out,
		 ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		 access_key_id, scope, signed_headers, sig_hex);
}

void awsp_sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		snprintf(out, 17, "19700101T000000Z");
}

void awsp_sha256_hex(const void *data, size_t len, char out[65])
{
	util_sha256_hex(data, len, out);
}

/* --- the signer and its key cache ------------------------------------- */

/*
 * A handful of entries covers every (credentials, service) pair moor
 * talks to in one day: ec2, elasticloadbalancing, sts, dynamodb, and the
 * overlap when credentials rotate.
 */
#define KEY_CACHE_SIZE 8

struct key_entry {
	char *id; /* "akid\ndate8\nregion\nservice", NULL = free slot */
	/*
	 * SHA-256 of the secret: the same access key id with another secret
	 * (a rotated key, a test) must not reuse a key derived from the old.
	 */
	unsigned char secret_fp[32];
	unsigned char key[32];
	uint64_t last_use;
};

struct awsp_signer {
	pthread_mutex_t lock;
	struct key_entry e[KEY_CACHE_SIZE];
	uint64_t tick;
	unsigned long derivations; /* for tests: how often the key was derived */
};

static void entry_wipe(struct key_entry *e)
{
	free(e->id);
	util_wipe(e->key, sizeof(e->key));
	util_wipe(e->secret_fp, sizeof(e->secret_fp));
	memset(e, 0, sizeof(*e));
}

struct awsp_signer *awsp_signer_new(void)
{
	struct awsp_signer *s = util_xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void awsp_signer_free(struct awsp_signer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++)
		entry_wipe(&s->e[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

unsigned long awsp_signer_derivations(struct awsp_signer *s)
{
	unsigned long n;

	pthread_mutex_lock(&s->lock);
	n = s->derivations;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void signer_key(struct awsp_signer *s, const char *akid,
		       const char *secret, const char *date8,
		       const char *region, const char *service,
		       unsigned char out[32])
{
	char *id = util_xasprintf("%s\n%s\n%s\n%s", akid, date8, region,
				  service);
	unsigned char fp[32];
	unsigned int fp_len = 0;
	struct key_entry *hit = NULL, *victim = NULL;

	if (!EVP_Digest(secret, strlen(secret), fp, &fp_len, EVP_sha256(),
			NULL) ||
	    fp_len != 32) {
		fputs("moor: libcrypto SHA-256 failed\n", stderr);
		abort();
	}
	pthread_mutex_lock(&s->lock);
	s->tick++;
	for (size_t i = 0; i < KEY_CACHE_SIZE; i++) {
		struct key_entry *e = &s->e[i];

		if (e->id && !strcmp(e->id, id) &&
		    !CRYPTO_memcmp(e->secret_fp, fp, sizeof(fp))) {
			hit = e;
			break;
		}
		/* A free slot, else the least recently used. */
		if (!victim ||
		    (victim->id && (!e->id || e->last_use < victim->last_use)))
			victim = e;
	}
	if (!hit) {
		hit = victim;
		entry_wipe(hit);
		hit->id = id;
		id = NULL;
		memcpy(hit->secret_fp, fp, sizeof(fp));
		awsp_sigv4_signing_key(secret, date8, region, service,
				       hit->key);
		s->derivations++;
	}
	hit->last_use = s->tick;
	memcpy(out, hit->key, 32);
	pthread_mutex_unlock(&s->lock);
	util_wipe(fp, sizeof(fp));
	free(id);
}

static const char *find_header(const struct awsp_sigv4_request *req,
			       const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i].name &&
		    !strcasecmp(req->headers[i].name, name))
			return req->headers[i].value ? req->headers[i].value
						     : "";
	return NULL;
}

static bool valid_amz_date(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

int awsp_signer_sign(struct awsp_signer *s,
		     const struct awsp_sigv4_request *req,
		     const char *access_key_id, const char *secret_access_key,
		     const char *region, const char *service,
		     const char *amz_date, struct buf *authz,
		     struct util_err *err)
{
	struct buf creq = BUF_INIT, signed_headers = BUF_INIT;
	struct buf scope = BUF_INIT, sts = BUF_INIT;
	unsigned char key[32];
	char sig[65], date8[9];
	const char *hdr;
	int r = -1;

	if (!access_key_id || !*access_key_id || !secret_access_key ||
	    !*secret_access_key) {
		r = util_err_set(err, UTIL_EINVAL,
				 "sigv4: credentials without a key");
		goto out;
	}
	if (!region || !*region || !service || !*service) {
		r = util_err_set(err, UTIL_EINVAL,
				 "sigv4: no region or service to sign for");
		goto out;
	}
	if (!valid_amz_date(amz_date)) {
		r = util_err_set(err, UTIL_EINVAL,
				 "sigv4: malformed X-Amz-Date '%s'",
				 amz_date ? amz_date : "");
		goto out;
	}
	if (!find_header(req, "host")) {
		r = util_err_set(err, UTIL_EINVAL,
				 "sigv4: request without a Host header");
		goto out;
	}
	hdr = find_header(req, "x-amz-date");
	if (!hdr || strcmp(hdr, amz_date)) {
		r = util_err_set(err, UTIL_EINVAL,
				 "sigv4: X-Amz-Date header missing or not '%s'",
				 amz_date);
		goto out;
	}
	r = awsp_sigv4_canonical_request(req, &creq, &signed_headers, err);
	if (r < 0)
		goto out;
	awsp_sigv4_scope(amz_date, region, service, &scope);
	awsp_sigv4_string_to_sign(amz_date, scope.buf, creq.buf, creq.len,
				  &sts);
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';
	signer_key(s, access_key_id, secret_access_key, date8, region, service,
		   key);
	awsp_sigv4_signature(key, sts.buf, sts.len, sig);
	util_wipe(key, sizeof(key));
	awsp_sigv4_authorization(access_key_id, scope.buf, signed_headers.buf,
				 sig, authz);
	r = 0;
out:
	buf_release(&creq);
	buf_release(&signed_headers);
	buf_release(&scope);
	buf_release(&sts);
	return r;
}
