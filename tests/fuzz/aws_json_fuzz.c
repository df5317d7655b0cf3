/*
 * libFuzzer target for the JSON answers moor reads from DynamoDB (or from
 * whatever answers at the configured endpoint): the JSON 1.0 error body
 * and the lease items of GetItem and Scan.  The first byte picks the
 * parser.  They must neither crash, leak nor hang, and a failure must
 * report why.
 *
 * Build with `make fuzz` and run
 *   build-fuzz/aws_json_fuzz -max_len=8192 tests/fuzz/corpus/aws_json
 * `make test` replays the corpus through tests/fuzz/standalone.c.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "providers/aws/json.h"
#include "providers/aws/ops.h"
#include "providers/aws/xml.h"
#include "providers/provider.h"
#include "util/array.h"
#include "util/err.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_error(const char *p, size_t n)
{
	struct awsp_aws_error ae;
	int r = awsp_json_parse_error(p, n, &ae);

	check(r < 0 ? !ae.code : ae.code && *ae.code);
	awsp_aws_error_release(&ae);
}

static void fuzz_scan(const char *p, size_t n)
{
	cJSON *doc = cJSON_ParseWithLength(p, n);
	struct prov_lease_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	cJSON *next = NULL;
	int r = awsp_ddb_parse_scan(doc, &l, &next, &err);

	check(r < 0 ? util_err_isset(&err) && !next : !util_err_isset(&err));
	for (size_t i = 0; i < l.n; i++)
		check(l.v[i].name != NULL);
	prov_lease_list_release(&l);
	cJSON_Delete(next);
	cJSON_Delete(doc);
}

static void fuzz_item(const char *p, size_t n)
{
	cJSON *doc = cJSON_ParseWithLength(p, n);
	struct prov_lease l;
	struct util_err err = UTIL_ERR_INIT;
	int r = awsp_ddb_parse_item(doc, &l, &err);

	check(r < 0 ? util_err_isset(&err) && !l.name : l.name != NULL);
	prov_lease_release(&l);
	cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const parsers[])(const char *, size_t) = {
		fuzz_error,
		fuzz_scan,
		fuzz_item,
	};

	if (!size)
		return 0;
	parsers[data[0] % ARRAY_SIZE(parsers)]((const char *)data + 1,
					       size - 1);
	return 0;
}
