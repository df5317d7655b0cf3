/*
 * sigv4_sign: build and sign Query-protocol requests the way moor sends
 * them, for the differential test against botocore
 * (tests/integration/sigv4_differential.py).
 *
 * stdin: one JSON object per line:
 *   {"action": "DescribeInstances", "version": "2016-11-15",
 *    "params": [["Name", "value"], ...],      (in order; repeats allowed)
 *    "host": "ec2.us-east-1.amazonaws.com",   (Host header, port included)
 *    "region": "us-east-1", "service": "ec2",
 *    "amz_date": "20150830T123600Z",
 *    "access_key_id": "...", "secret_access_key": "...",
 *    "session_token": "..."}                  (optional)
 * stdout: one JSON object per line:
 *   {"body": "<form body>", "authorization": "<Authorization value>"}
 * or {"error": "..."} for a line that could not be signed.  Secrets are
 * never echoed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "providers/aws/query.h"
#include "providers/aws/sigv4.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

#define CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void emit(cJSON *out)
{
	char *s = cJSON_PrintUnformatted(out);

	if (!s) {
		fputs("sigv4_sign: cannot render output\n", stderr);
		exit(1);
	}
	puts(s);
	free(s);
	cJSON_Delete(out);
}

static void emit_error(const char *msg)
{
	cJSON *out = cJSON_CreateObject();

	cJSON_AddStringToObject(out, "error", msg);
	emit(out);
}

static void sign_line(struct awsp_signer *signer, const char *line)
{
	cJSON *in = cJSON_Parse(line);
	const cJSON *params, *p;
	const char *action, *version, *host, *region, *service, *amz_date;
	const char *akid, *secret, *token;
	struct awsp_query q;
	struct awsp_header h[4];
	size_t nh = 0;
	struct awsp_sigv4_request req;
	struct buf authz = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	cJSON *out;

	if (!in) {
		emit_error("malformed JSON");
		return;
	}
	action = str_field(in, "action");
	version = str_field(in, "version");
	host = str_field(in, "host");
	region = str_field(in, "region");
	service = str_field(in, "service");
	amz_date = str_field(in, "amz_date");
	akid = str_field(in, "access_key_id");
	secret = str_field(in, "secret_access_key");
	token = str_field(in, "session_token");
	params = cJSON_GetObjectItemCaseSensitive(in, "params");
	if (!action || !version || !host || !region || !service || !amz_date ||
	    !akid || !secret || !cJSON_IsArray(params)) {
		emit_error("missing field");
		cJSON_Delete(in);
		return;
	}

	awsp_query_init(&q, action, version);
	cJSON_ArrayForEach(p, params)
	{
		const cJSON *k = cJSON_GetArrayItem(p, 0);
		const cJSON *v = cJSON_GetArrayItem(p, 1);

		if (!cJSON_IsString(k) || !cJSON_IsString(v)) {
			emit_error("params must be [name, value] strings");
			goto out;
		}
		awsp_query_add(&q, k->valuestring, v->valuestring);
	}

	h[nh++] = (struct awsp_header){ "Host", host };
	h[nh++] = (struct awsp_header){ "Content-Type", CONTENT_TYPE };
	h[nh++] = (struct awsp_header){ "X-Amz-Date", amz_date };
	if (token)
		h[nh++] = (struct awsp_header){ "X-Amz-Security-Token", token };
	req = (struct awsp_sigv4_request){
		.method = "POST",
		.path = "/",
		.query = NULL,
		.headers = h,
		.n_headers = nh,
		.body = q.body.buf,
		.body_len = q.body.len,
		.normalize_path = true,
	};
	if (awsp_signer_sign(signer, &req, akid, secret, region, service,
			     amz_date, &authz, &err) < 0) {
		emit_error(err.msg);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "body", q.body.buf);
	cJSON_AddStringToObject(out, "authorization", authz.buf);
	emit(out);
out:
	buf_release(&authz);
	awsp_query_release(&q);
	cJSON_Delete(in);
}

int main(void)
{
	struct awsp_signer *signer = awsp_signer_new();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (*line)
			sign_line(signer, line);
	}
	free(line);
	awsp_signer_free(signer);
	return 0;
}
