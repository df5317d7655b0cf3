/*
 * libFuzzer target for the parsers of the credential chain, which read
 * files and answers moor does not control: the shared config/credentials
 * INI files, STS XML answers, and the credentials JSON of IMDS, container
 * endpoints and credential_process.  The first byte picks the parser.
 * They must neither crash, leak nor hang, and what they return must be
 * consistent.
 *
 * Build with `make fuzz` and run
 *   build-fuzz/aws_auth_fuzz -max_len=4096 tests/fuzz/corpus/aws_auth
 * `make test` replays the corpus through tests/fuzz/standalone.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/awsconfig.h"
#include "providers/aws/creds.h"
#include "providers/aws/creds_internal.h"
#include "util/err.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_ini(const char *p, size_t n)
{
	struct awsp_ini *ini = NULL;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_config c = { 0 };
	char dflt[] = "default";
	const char *v;

	if (awsp_ini_parse(p, n, "fuzz", &ini, &err) < 0) {
		check(ini == NULL && err.code == UTIL_EINVAL && err.line >= 1);
		return;
	}
	check(!util_err_isset(&err));
	/* Lookups through every path, on the same data as both files. */
	c.config = ini;
	c.credentials = ini;
	c.profile = dflt;
	v = awsp_profile_get(&c, NULL, "region");
	check(!v || strlen(v) < n + 1);
	awsp_profile_get(&c, "dev", "aws_secret_access_key");
	awsp_profile_exists(&c, "x y");
	awsp_profile_service_endpoint(&c, NULL, "ec2");
	awsp_ini_get_nested(ini, "services a", "ec2", "endpoint_url");
	awsp_ini_free(ini);
}

static void check_creds(int r, struct awsp_credentials *cr,
			const struct util_err *err, bool token_required)
{
	if (r < 0) {
		check(util_err_isset(err) && cr->access_key_id == NULL &&
		      cr->secret_access_key == NULL);
		return;
	}
	check(cr->access_key_id && *cr->access_key_id);
	check(cr->secret_access_key && *cr->secret_access_key);
	check(!token_required || (cr->session_token && *cr->session_token));
	awsp_credentials_release(cr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	int r;

	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_ini(p, n);
		break;
	case 1:
		r = awsp_credsrc_parse_sts(200, p, n, NULL, &cr, &err);
		check_creds(r, &cr, &err, true);
		util_err_clear(&err);
		r = awsp_credsrc_parse_sts(403, p, n, "rid", &cr, &err);
		check(r == UTIL_EAWS && err.http_status == 403 &&
		      cr.access_key_id == NULL);
		break;
	case 2:
		r = awsp_credsrc_parse_json(p, n, "fuzz", false, false, &cr,
					    &err);
		check_creds(r, &cr, &err, true);
		break;
	case 3:
		r = awsp_credsrc_parse_json(p, n, "fuzz", true, true, &cr,
					    &err);
		check_creds(r, &cr, &err, false);
		break;
	}
	return 0;
}
