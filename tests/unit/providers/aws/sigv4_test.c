#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "providers/aws/sigv4.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/pool.h"
#include "util/banned.h"

/*
 * The official SigV4 suites in tests/data/sigv4 (see its README): every
 * stage -- canonical request, string to sign, signature / Authorization,
 * and the session-token header in the signed request -- is compared byte
 * for byte.
 */

#define AKID	 "AKIDEXAMPLE"
#define SECRET	 "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define REGION	 "us-east-1"
#define SERVICE	 "service"
#define AMZ_DATE "20150830T123600Z"
#define CLASSIC_TOKEN \
	"6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

static const char *data_dir(void)
{
	const char *d = getenv("MOOR_SIGV4_DATA");

	return d && *d ? d : "tests/data/sigv4";
}

/* Whole file, NUL-terminated; fails the test when unreadable. */
static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		fail_msg("cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, ret_len);
}

static char *slurp_case(const char *dir, const char *file)
{
	char *path = util_xasprintf("%s/%s/%s", data_dir(), dir, file);
	char *s = slurp(path, NULL);

	free(path);
	return s;
}

/* A raw HTTP request from a .req / request.txt file. */
struct parsed_req {
	char *method;
	char *path;
	char *query;
	struct awsp_header headers[32];
	char *names[32];
	char *values[32];
	size_t n;
	char *body;
	size_t body_len;
};

static void add_header(struct parsed_req *r, const char *name,
		       const char *value)
{
	assert_true(r->n < 32);
	r->names[r->n] = util_xstrdup(name);
	r->values[r->n] = util_xstrdup(value);
	r->headers[r->n].name = r->names[r->n];
	r->headers[r->n].value = r->values[r->n];
	r->n++;
}

static void parse_req(const char *text, struct parsed_req *r)
{
	const char *p = text, *eol, *sp, *http;
	char *uri, *q;

	memset(r, 0, sizeof(*r));
	eol = strchr(p, '\n');
	assert_non_null(eol);
	sp = memchr(p, ' ', (size_t)(eol - p));
	assert_non_null(sp);
	http = strstr(p, " HTTP/1.1");
	assert_true(http && http < eol);
	r->method = util_xstrndup(p, (size_t)(sp - p));
	uri = util_xstrndup(sp + 1, (size_t)(http - sp - 1));
	q = strchr(uri, '?');
	if (q) {
		r->query = util_xstrdup(q + 1);
		*q = '\0';
	}
	r->path = uri;
	p = eol + 1;
	while (*p && *p != '\n') {
		const char *colon;

		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if ((*p == ' ' || *p == '\t') && r->n) {
			/* Folded line: joined; canonicalisation trims it. */
			char *v = util_xasprintf("%s\n%.*s",
						 r->values[r->n - 1],
						 (int)(eol - p), p);

			free(r->values[r->n - 1]);
			r->values[r->n - 1] = v;
			r->headers[r->n - 1].value = v;
		} else {
			char *name;
			char *value;

			colon = memchr(p, ':', (size_t)(eol - p));
			assert_non_null(colon);
			name = util_xstrndup(p, (size_t)(colon - p));
			value = util_xstrndup(colon + 1,
					      (size_t)(eol - colon - 1));
			add_header(r, name, value);
			free(name);
			free(value);
		}
		p = *eol ? eol + 1 : eol;
	}
	if (*p == '\n')
		p++;
	r->body_len = strlen(p);
	r->body = util_xstrdup(p);
}

static void release_req(struct parsed_req *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	for (size_t i = 0; i < r->n; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
}

static struct awsp_sigv4_request as_sigv4(const struct parsed_req *r,
					  bool normalize)
{
	struct awsp_sigv4_request s = {
		.method = r->method,
		.path = r->path,
		.query = r->query,
		.headers = r->headers,
		.n_headers = r->n,
		.body = r->body,
		.body_len = r->body_len,
		.normalize_path = normalize,
	};
	return s;
}

/* The value of "Name:" (or "Name: ") line in a signed request, or NULL. */
static char *sreq_header(const char *sreq, const char *name)
{
	size_t n = strlen(name);
	const char *p = sreq;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && !strncmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			return util_xstrndup(v, (size_t)(p + len - v));
		}
		if (!len)
			break; /* end of headers */
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static const char *s_case; /* the vector being checked, for messages */

/* Byte-for-byte comparison that names the case and stage on a mismatch. */
static void check_eq(const char *stage, const char *got, const char *want)
{
	if (got && want && !strcmp(got, want))
		return;
	print_error("case %s, stage %s differs\n--- got\n%s\n--- want\n%s\n",
		    s_case, stage, got ? got : "(null)",
		    want ? want : "(null)");
	fail();
}

struct stages {
	struct buf creq, signed_headers, scope, sts, authz;
	char sig[65];
};

static void run_stages(const struct awsp_sigv4_request *req, const char *akid,
		       const char *secret, struct stages *st)
{
	struct util_err err = UTIL_ERR_INIT;
	unsigned char key[32];

	buf_init(&st->creq, 0);
	buf_init(&st->signed_headers, 0);
	buf_init(&st->scope, 0);
	buf_init(&st->sts, 0);
	buf_init(&st->authz, 0);
	assert_int_equal(awsp_sigv4_canonical_request(req, &st->creq,
						      &st->signed_headers,
						      &err),
			 0);
	awsp_sigv4_scope(AMZ_DATE, REGION, SERVICE, &st->scope);
	assert_string_equal(st->scope.buf,
			    "20150830/us-east-1/service/aws4_request");
	awsp_sigv4_string_to_sign(AMZ_DATE, st->scope.buf, st->creq.buf,
				  st->creq.len, &st->sts);
	awsp_sigv4_signing_key(secret, "20150830", REGION, SERVICE, key);
	awsp_sigv4_signature(key, st->sts.buf, st->sts.len, st->sig);
	awsp_sigv4_authorization(akid, st->scope.buf, st->signed_headers.buf,
				 st->sig, &st->authz);
}

static void release_stages(struct stages *st)
{
	buf_release(&st->creq);
	buf_release(&st->signed_headers);
	buf_release(&st->scope);
	buf_release(&st->sts);
	buf_release(&st->authz);
}

/* Same result through the caching signer as through the stages. */
static void check_signer(const struct awsp_sigv4_request *req, const char *akid,
			 const char *secret, const char *expect_authz)
{
	struct awsp_signer *s = awsp_signer_new();
	struct util_err err = UTIL_ERR_INIT;
	struct buf authz = BUF_INIT;

	assert_int_equal(awsp_signer_sign(s, req, akid, secret, REGION, SERVICE,
					  AMZ_DATE, &authz, &err),
			 0);
	assert_string_equal(authz.buf, expect_authz);
	buf_release(&authz);
	awsp_signer_free(s);
}

/* --- classic suite (botocore's copy of aws-sig-v4-test-suite) --------- */

static const char *const classic_cases[] = {
	"get-header-key-duplicate",
	"get-header-value-multiline",
	"get-header-value-order",
	"get-header-value-trim",
	"get-unreserved",
	"get-utf8",
	"get-vanilla",
	"get-vanilla-empty-query-key",
	"get-vanilla-query",
	"get-vanilla-query-order-encoded",
	"get-vanilla-query-order-key",
	"get-vanilla-query-order-key-case",
	"get-vanilla-query-order-value",
	"get-vanilla-query-unreserved",
	"get-vanilla-utf8-query",
	"get-vanilla-with-session-token",
	"normalize-path/get-relative",
	"normalize-path/get-relative-relative",
	"normalize-path/get-slash",
	"normalize-path/get-slash-dot-slash",
	"normalize-path/get-slash-pointless-dot",
	"normalize-path/get-slashes",
	"normalize-path/get-space",
	"normalize-path/get-special-character",
	"post-header-key-case",
	"post-header-key-sort",
	"post-header-value-case",
	"post-sts-token/post-sts-header-after",
	"post-sts-token/post-sts-header-before",
	"post-vanilla",
	"post-vanilla-empty-query-value",
	"post-vanilla-query",
	"post-x-www-form-urlencoded",
	"post-x-www-form-urlencoded-parameters",
};
#define N_CLASSIC (ARRAY_SIZE(classic_cases))

static char *classic_file(const char *c, const char *ext)
{
	const char *base = strrchr(c, '/');
	char *file = util_xasprintf("%s%s", base ? base + 1 : c, ext);
	char *s = slurp_case(c, file);

	free(file);
	return s;
}

static void test_classic_suite(void **state)
{
	size_t passed = 0;

	(void)state;
	for (size_t i = 0; i < N_CLASSIC; i++) {
		const char *c = classic_cases[i];
		char *req_text = classic_file(c, ".req");
		char *creq = classic_file(c, ".creq");
		char *sts = classic_file(c, ".sts");
		char *authz = classic_file(c, ".authz");
		char *sreq = classic_file(c, ".sreq");
		char *sreq_authz, *sreq_token;
		struct parsed_req r;
		struct awsp_sigv4_request sr;
		struct stages st;
		bool token_before = !strcmp(c,
					    "get-vanilla-with-session-token");
		bool token_after =
			!strcmp(c, "post-sts-token/post-sts-header-after");

		s_case = c;
		parse_req(req_text, &r);
		/*
		 * The session-token trap (README): this .req lacks the token
		 * the .creq signs, so it is added before signing, as moor
		 * always does.
		 */
		if (token_before)
			add_header(&r, "X-Amz-Security-Token", CLASSIC_TOKEN);
		sr = as_sigv4(&r, true);
		run_stages(&sr, AKID, SECRET, &st);
		check_eq("canonical request", st.creq.buf, creq);
		check_eq("string to sign", st.sts.buf, sts);
		check_eq("authorization", st.authz.buf, authz);
		check_signer(&sr, AKID, SECRET, authz);

		/* Stage 5: the headers of the signed request. */
		sreq_authz = sreq_header(sreq, "Authorization");
		sreq_token = sreq_header(sreq, "X-Amz-Security-Token");
		assert_non_null(sreq_authz);
		if (token_before) {
			/*
			 * This .sreq carries get-vanilla's Authorization (an
			 * inconsistency in the suite itself); its .authz is
			 * the one that matches the .creq, checked above.
			 */
			check_eq("session token header", sreq_token,
				 CLASSIC_TOKEN);
			assert_non_null(
				strstr(st.authz.buf, "x-amz-security-token"));
		} else {
			check_eq("signed request", sreq_authz, st.authz.buf);
		}
		if (token_after) {
			/* Added after signing: sent, but not signed. */
			assert_non_null(sreq_token);
			assert_null(strstr(st.signed_headers.buf,
					   "x-amz-security-token"));
		}
		if (!strcmp(c, "post-sts-token/post-sts-header-before"))
			assert_non_null(strstr(st.signed_headers.buf,
					       "x-amz-security-token"));
		free(sreq_authz);
		free(sreq_token);
		release_stages(&st);
		release_req(&r);
		free(req_text);
		free(creq);
		free(sts);
		free(authz);
		free(sreq);
		passed++;
	}
	assert_int_equal(passed, 34);
	print_message("classic suite: %zu/%zu cases, 5 stages each\n", passed,
		      N_CLASSIC);
}

/* --- aws-c-auth suite (context.json layout) ------------------------------ */

static const char *const crt_cases[] = {
	"get-header-key-duplicate",
	"get-header-value-multiline",
	"get-header-value-order",
	"get-header-value-trim",
	"get-relative-normalized",
	"get-relative-relative-normalized",
	"get-relative-relative-unnormalized",
	"get-relative-unnormalized",
	"get-slash-dot-slash-normalized",
	"get-slash-dot-slash-unnormalized",
	"get-slash-normalized",
	"get-slash-pointless-dot-normalized",
	"get-slash-pointless-dot-unnormalized",
	"get-slash-unnormalized",
	"get-slashes-normalized",
	"get-slashes-unnormalized",
	"get-space-normalized",
	"get-space-unnormalized",
	"get-unreserved",
	"get-utf8",
	"get-vanilla",
	"get-vanilla-empty-query-key",
	"get-vanilla-query",
	"get-vanilla-query-order-encoded",
	"get-vanilla-query-order-key-case",
	"get-vanilla-query-unreserved",
	"get-vanilla-utf8-query",
	"get-vanilla-with-session-token",
	"post-header-key-case",
	"post-header-key-sort",
	"post-header-value-case",
	"post-sts-header-after",
	"post-sts-header-before",
	"post-vanilla",
	"post-vanilla-empty-query-value",
	"post-vanilla-query",
	"post-x-www-form-urlencoded",
	"post-x-www-form-urlencoded-parameters",
};
#define N_CRT (ARRAY_SIZE(crt_cases))

static bool json_bool(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsTrue(v);
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_crt_suite(void **state)
{
	size_t passed = 0, with_token = 0, omitted = 0, body_signed = 0,
	       unnormalized = 0;

	(void)state;
	for (size_t i = 0; i < N_CRT; i++) {
		char *dir = util_xasprintf("aws-c-auth-v4/%s", crt_cases[i]);
		char *ctx_text = slurp_case(dir, "context.json");
		char *req_text = slurp_case(dir, "request.txt");
		char *creq = slurp_case(dir, "header-canonical-request.txt");
		char *sts = slurp_case(dir, "header-string-to-sign.txt");
		char *sig = slurp_case(dir, "header-signature.txt");
		char *sreq = slurp_case(dir, "header-signed-request.txt");
		cJSON *ctx = cJSON_Parse(ctx_text);
		const cJSON *cr;
		const char *akid, *secret, *token, *ts;
		bool normalize, sign_body, omit;
		char amz_date[17], body_hash[65];
		time_t t;
		struct parsed_req r;
		struct awsp_sigv4_request sr;
		struct stages st;
		char *sreq_authz, *sreq_token, *sreq_sha;

		s_case = dir;
		assert_non_null(ctx);
		cr = cJSON_GetObjectItemCaseSensitive(ctx, "credentials");
		akid = json_str(cr, "access_key_id");
		secret = json_str(cr, "secret_access_key");
		token = json_str(cr, "token");
		ts = json_str(ctx, "timestamp");
		assert_non_null(akid);
		assert_non_null(secret);
		assert_string_equal(json_str(ctx, "region"), REGION);
		assert_string_equal(json_str(ctx, "service"), SERVICE);
		normalize = json_bool(ctx, "normalize");
		sign_body = json_bool(ctx, "sign_body");
		omit = json_bool(ctx, "omit_session_token");
		assert_int_equal(util_time_parse_iso8601(ts, &t), 0);
		awsp_sigv4_amz_date(t, amz_date);
		assert_string_equal(amz_date, AMZ_DATE);

		parse_req(req_text, &r);
		add_header(&r, "X-Amz-Date", amz_date);
		if (token && !omit)
			add_header(&r, "X-Amz-Security-Token", token);
		if (sign_body) {
			awsp_sha256_hex(r.body, r.body_len, body_hash);
			add_header(&r, "x-amz-content-sha256", body_hash);
		}
		sr = as_sigv4(&r, normalize);
		run_stages(&sr, akid, secret, &st);
		check_eq("canonical request", st.creq.buf, creq);
		check_eq("string to sign", st.sts.buf, sts);
		check_eq("signature", st.sig, sig);
		check_signer(&sr, akid, secret, st.authz.buf);

		sreq_authz = sreq_header(sreq, "Authorization");
		sreq_token = sreq_header(sreq, "X-Amz-Security-Token");
		sreq_sha = sreq_header(sreq, "x-amz-content-sha256");
		assert_non_null(sreq_authz);
		check_eq("signed request", sreq_authz, st.authz.buf);
		if (token) {
			/* Sent either way; signed only without omit. */
			check_eq("session token header", sreq_token, token);
			assert_true(!strstr(st.signed_headers.buf,
					    "x-amz-security-token") == omit);
			with_token++;
			omitted += omit;
		} else {
			assert_null(sreq_token);
		}
		if (sign_body) {
			check_eq("x-amz-content-sha256", sreq_sha, body_hash);
			body_signed++;
		} else {
			assert_null(sreq_sha);
		}
		unnormalized += !normalize;
		free(sreq_authz);
		free(sreq_token);
		free(sreq_sha);
		release_stages(&st);
		release_req(&r);
		cJSON_Delete(ctx);
		free(ctx_text);
		free(req_text);
		free(creq);
		free(sts);
		free(sig);
		free(sreq);
		free(dir);
		passed++;
	}
	assert_int_equal(passed, 38);
	assert_int_equal(with_token, 3);
	assert_int_equal(omitted, 1);
	assert_int_equal(body_signed, 2);
	assert_int_equal(unnormalized, 7);
	print_message("aws-c-auth suite: %zu/%zu header-signing cases "
		      "(%zu with token, %zu omitted, %zu sign_body, "
		      "%zu unnormalized)\n",
		      passed, N_CRT, with_token, omitted, body_signed,
		      unnormalized);
}

/* --- the pieces on their own ------------------------------------------ */

static void test_signing_key_iam_example(void **state)
{
	/* The derivation example in AWS's IAM user guide. */
	unsigned char key[32];
	char hex[65];
	static const char *const hexdig = "0123456789abcdef";

	(void)state;
	awsp_sigv4_signing_key(SECRET, "20150830", "us-east-1", "iam", key);
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = hexdig[key[i] >> 4];
		hex[2 * i + 1] = hexdig[key[i] & 15];
	}
	hex[64] = '\0';
	assert_string_equal(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1"
				 "a5e86da6ed3c154a4b9");
}

static void test_amz_date(void **state)
{
	char d[17];

	(void)state;
	awsp_sigv4_amz_date(1440938160, d);
	assert_string_equal(d, AMZ_DATE);
	awsp_sigv4_amz_date(0, d);
	assert_string_equal(d, "19700101T000000Z");
}

static void test_unsigned_headers_skipped(void **state)
{
	const struct awsp_header h[] = {
		{ "Host", "ec2.us-east-1.amazonaws.com" },
		{ "User-Agent", "moor/0.1" },
		{ "X-Amz-Date", AMZ_DATE },
		{ "Expect", "100-continue" },
		{ "Content-Type",
		  "application/x-www-form-urlencoded; charset=utf-8" },
		{ "X-Amzn-Trace-Id", "Root=1" },
	};
	struct awsp_sigv4_request req = {
		.method = "POST",
		.path = "/",
		.headers = h,
		.n_headers = 6,
		.body = "Action=DescribeRegions&Version=2016-11-15",
		.body_len = 41,
		.normalize_path = true,
	};
	struct buf creq = BUF_INIT, sh = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(awsp_sigv4_canonical_request(&req, &creq, &sh, &err),
			 0);
	assert_string_equal(sh.buf, "content-type;host;x-amz-date");
	assert_null(strstr(creq.buf, "user-agent"));
	assert_null(strstr(creq.buf, "expect"));
	buf_release(&creq);
	buf_release(&sh);
}

static void test_query_escapes_canonicalised(void **state)
{
	/* Raw and %-escaped forms of the same query sign the same. */
	const struct awsp_header h[] = { { "Host", "h" } };
	struct awsp_sigv4_request req = {
		.method = "GET",
		.path = "",
		.headers = h,
		.n_headers = 1,
	};
	struct buf a = BUF_INIT, b = BUF_INIT, sh = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	req.query = "b=x y&a=%7e%2f&c&d=100%&e=%zz";
	assert_int_equal(awsp_sigv4_canonical_request(&req, &a, &sh, &err), 0);
	assert_string_equal(a.buf, "GET\n/\n"
				   "a=~%2F&b=x%20y&c=&d=100%25&e=%25zz\n"
				   "host:h\n\nhost\n"
				   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
				   "649b934ca495991b7852b855");
	req.query = "b=x%20y&a=~/&c=&d=100%25&e=%25zz";
	assert_int_equal(awsp_sigv4_canonical_request(&req, &b, &sh, &err), 0);
	assert_string_equal(a.buf, b.buf);
	buf_release(&a);
	buf_release(&b);
	buf_release(&sh);
}

static void test_malformed_requests(void **state)
{
	const struct awsp_header bad[] = { { "", "x" } };
	const struct awsp_header nohost[] = { { "X-Amz-Date", AMZ_DATE } };
	const struct awsp_header ok[] = { { "Host", "h" },
					  { "X-Amz-Date", AMZ_DATE } };
	struct awsp_sigv4_request req = { .method = "GET", .path = "/" };
	struct awsp_signer *s = awsp_signer_new();
	struct buf creq = BUF_INIT, sh = BUF_INIT, authz = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	req.headers = bad;
	req.n_headers = 1;
	assert_int_equal(awsp_sigv4_canonical_request(&req, &creq, &sh, &err),
			 UTIL_EINVAL);
	util_err_clear(&err);

	req.headers = nohost;
	assert_int_equal(awsp_signer_sign(s, &req, AKID, SECRET, REGION,
					  SERVICE, AMZ_DATE, &authz, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "Host"));
	util_err_clear(&err);

	req.headers = ok;
	req.n_headers = 2;
	assert_int_equal(awsp_signer_sign(s, &req, AKID, SECRET, REGION,
					  SERVICE, "20150830T1236Z", &authz,
					  &err),
			 UTIL_EINVAL);
	util_err_clear(&err);
	assert_int_equal(awsp_signer_sign(s, &req, AKID, SECRET, REGION,
					  SERVICE, "20150831T123600Z", &authz,
					  &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "X-Amz-Date"));
	util_err_clear(&err);
	assert_int_equal(awsp_signer_sign(s, &req, AKID, "", REGION, SERVICE,
					  AMZ_DATE, &authz, &err),
			 UTIL_EINVAL);
	/* The message never quotes the secret. */
	util_err_clear(&err);
	assert_int_equal(awsp_signer_sign(s, &req, AKID, SECRET, "", SERVICE,
					  AMZ_DATE, &authz, &err),
			 UTIL_EINVAL);
	assert_null(strstr(err.msg, SECRET));
	assert_int_equal(authz.len, 0);
	assert_int_equal(awsp_signer_derivations(s), 0);
	buf_release(&creq);
	buf_release(&sh);
	awsp_signer_free(s);
}

static void sign_with(struct awsp_signer *s, const char *secret,
		      const char *date, const char *service, struct buf *out)
{
	const struct awsp_header h[] = { { "Host", "h" },
					 { "X-Amz-Date", date } };
	struct awsp_sigv4_request req = {
		.method = "POST",
		.path = "/",
		.headers = h,
		.n_headers = 2,
		.body = "x",
		.body_len = 1,
		.normalize_path = true,
	};
	struct util_err err = UTIL_ERR_INIT;

	buf_reset(out);
	assert_int_equal(awsp_signer_sign(s, &req, AKID, secret, REGION,
					  service, date, out, &err),
			 0);
}

static void test_signer_key_cache(void **state)
{
	struct awsp_signer *s = awsp_signer_new();
	struct awsp_signer *fresh;
	struct buf a = BUF_INIT, b = BUF_INIT;

	(void)state;
	sign_with(s, SECRET, AMZ_DATE, "ec2", &a);
	sign_with(s, SECRET, "20150830T235959Z", "ec2", &b);
	/* Same day, region, service: the key is derived once. */
	assert_int_equal(awsp_signer_derivations(s), 1);
	assert_string_not_equal(a.buf, b.buf);
	sign_with(s, SECRET, "20150831T000000Z", "ec2", &a);
	assert_int_equal(awsp_signer_derivations(s), 2);
	sign_with(s, SECRET, AMZ_DATE, "sts", &a);
	assert_int_equal(awsp_signer_derivations(s), 3);
	sign_with(s, SECRET, AMZ_DATE, "ec2", &a);
	assert_int_equal(awsp_signer_derivations(s), 3);

	/* Another secret under the same key id never reuses the old key. */
	sign_with(s, "other-secret", AMZ_DATE, "ec2", &a);
	assert_int_equal(awsp_signer_derivations(s), 4);
	fresh = awsp_signer_new();
	sign_with(fresh, "other-secret", AMZ_DATE, "ec2", &b);
	assert_string_equal(a.buf, b.buf);
	awsp_signer_free(fresh);

	/* More combinations than slots: evicted keys are derived again. */
	for (int day = 10; day < 30; day++) {
		char date[17];

		assert_true(snprintf(date, sizeof(date), "201508%02dT000000Z",
				     day) == 16);
		sign_with(s, SECRET, date, "ec2", &a);
	}
	assert_int_equal(awsp_signer_derivations(s), 24);
	sign_with(s, SECRET, "20150829T000000Z", "ec2", &a);
	assert_int_equal(awsp_signer_derivations(s), 24);
	sign_with(s, SECRET, "20150810T000000Z", "ec2", &a);
	assert_int_equal(awsp_signer_derivations(s), 25);
	buf_release(&a);
	buf_release(&b);
	awsp_signer_free(s);
	awsp_signer_free(NULL);
}

struct par_sign {
	struct awsp_signer *s;
	char want[4][200];
	int bad;
	pthread_mutex_t lock;
};

static const char *const par_services[4] = { "ec2", "sts",
					     "elasticloadbalancing",
					     "dynamodb" };

static void par_sign_one(void *ctx, size_t i)
{
	struct par_sign *p = ctx;
	struct buf out = BUF_INIT;

	sign_with(p->s, SECRET, AMZ_DATE, par_services[i % 4], &out);
	if (strcmp(out.buf, p->want[i % 4])) {
		pthread_mutex_lock(&p->lock);
		p->bad++;
		pthread_mutex_unlock(&p->lock);
	}
	buf_release(&out);
}

static void test_signer_threads(void **state)
{
	struct par_sign p = { .bad = 0 };
	struct buf out = BUF_INIT;

	(void)state;
	for (int i = 0; i < 4; i++) {
		struct awsp_signer *one = awsp_signer_new();

		sign_with(one, SECRET, AMZ_DATE, par_services[i], &out);
		assert_true(snprintf(p.want[i], sizeof(p.want[i]), "%s",
				     out.buf) < (int)sizeof(p.want[i]));
		awsp_signer_free(one);
	}
	p.s = awsp_signer_new();
	pthread_mutex_init(&p.lock, NULL);
	util_parallel(400, 8, par_sign_one, &p);
	assert_int_equal(p.bad, 0);
	assert_int_equal(awsp_signer_derivations(p.s), 4);
	pthread_mutex_destroy(&p.lock);
	awsp_signer_free(p.s);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic_suite),
		cmocka_unit_test(test_crt_suite),
		cmocka_unit_test(test_signing_key_iam_example),
		cmocka_unit_test(test_amz_date),
		cmocka_unit_test(test_unsigned_headers_skipped),
		cmocka_unit_test(test_query_escapes_canonicalised),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_signer_key_cache),
		cmocka_unit_test(test_signer_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
