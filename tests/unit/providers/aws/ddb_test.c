#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/client.h"
#include "providers/aws/ops.h"
#include "providers/provider.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/err.h"
#include "util/fence.h"

/* DynamoDB's lease ops (ddb.c): the requests they send, their answers. */

static const char ccf[] =
	"{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
	"ConditionalCheckFailedException\",\"message\":\"The conditional "
	"request failed\"}";
static const char rnf[] =
	"{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
	"ResourceNotFoundException\",\"message\":\"Requested resource not "
	"found\"}";

static const struct prov_lease_write w_a = {
	.name = "web",
	.kind = PROV_LEASE_SPEC,
	.holder = "host-a:10",
	.rvn = "rvn-2",
	.duration_ms = 10000,
	.heartbeat_unix_ms = 1700000000123,
};

/* Request i's body, parsed (the caller deletes it). */
static cJSON *req_json(struct test_env *e, size_t i)
{
	cJSON *j;

	assert_true(i < e->s.n_reqs);
	j = cJSON_Parse(e->s.reqs[i].body);
	assert_non_null(j);
	return j;
}

/* The string at a path of object names ("Item.name.S"). */
static const char *at(const cJSON *j, const char *path)
{
	char buf[128], *save = NULL, *part;

	strncpy(buf, path, sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	for (part = strtok_r(buf, ".", &save); part && j;
	     part = strtok_r(NULL, ".", &save))
		j = cJSON_GetObjectItemCaseSensitive(j, part);
	return cJSON_GetStringValue(j);
}

static void assert_target(struct test_env *e, size_t i, const char *op)
{
	char want[64];

	snprintf(want, sizeof(want), "X-Amz-Target: DynamoDB_20120810.%s\n",
		 op);
	assert_non_null(strstr(e->s.reqs[i].headers, want));
}

static const char item_web[] =
	"{\"Item\":{\"name\":{\"S\":\"web\"},\"ownerName\":{\"S\":"
	"\"host-a:10\"},\"recordVersionNumber\":{\"S\":\"rvn-2\"},"
	"\"leaseDuration\":{\"S\":\"10000\"},\"heartbeatUnixMs\":{\"N\":"
	"\"1700000000123\"},\"kind\":{\"S\":\"spec\"}}}";

static void test_parse_item(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	struct prov_lease l;
	cJSON *j = cJSON_Parse(item_web);

	(void)state;
	assert_int_equal(awsp_ddb_parse_item(cJSON_GetObjectItem(j, "Item"), &l,
					     &err),
			 0);
	assert_string_equal(l.name, "web");
	assert_string_equal(l.holder, "host-a:10");
	assert_string_equal(l.rvn, "rvn-2");
	assert_int_equal(l.duration_ms, 10000);
	assert_int_equal(l.heartbeat_unix_ms, 1700000000123);
	assert_int_equal(l.kind, PROV_LEASE_SPEC);
	prov_lease_release(&l);
	cJSON_Delete(j);

	/* Released, a replica item, a duration written as a number. */
	j = cJSON_Parse("{\"name\":{\"S\":\"replica:b\"},\"kind\":{\"S\":"
			"\"replica\"},\"recordVersionNumber\":{\"S\":\"r\"},"
			"\"leaseDuration\":{\"N\":\"5000\"}}");
	assert_int_equal(awsp_ddb_parse_item(j, &l, &err), 0);
	assert_null(l.holder);
	assert_int_equal(l.kind, PROV_LEASE_REPLICA);
	assert_int_equal(l.duration_ms, 5000);
	assert_int_equal(l.heartbeat_unix_ms, 0);
	prov_lease_release(&l);
	cJSON_Delete(j);

	/* No name, a name that is not a string, a malformed number. */
	static const char *const bad[] = {
		"{\"ownerName\":{\"S\":\"x\"}}",
		"{\"name\":{\"B\":\"eA==\"}}",
		"{\"name\":{\"S\":\"w\"},\"leaseDuration\":{\"S\":\"10s\"}}",
		"{\"name\":{\"S\":\"w\"},\"heartbeatUnixMs\":{\"N\":\"1.5\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = cJSON_Parse(bad[i]);
		util_err_clear(&err);
		assert_int_equal(awsp_ddb_parse_item(j, &l, &err), UTIL_EINVAL);
		assert_null(l.name);
		cJSON_Delete(j);
	}
}

static void test_acquire_absent(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	cJSON *j;

	script_push(&e->s, 200, "{}");
	assert_int_equal(awsp_ddb_acquire(e->c, "leases", &w_a, NULL, &err), 0);
	assert_target(e, 0, "PutItem");
	j = req_json(e, 0);
	assert_string_equal(at(j, "TableName"), "leases");
	assert_string_equal(at(j, "Item.name.S"), "web");
	assert_string_equal(at(j, "Item.ownerName.S"), "host-a:10");
	assert_string_equal(at(j, "Item.recordVersionNumber.S"), "rvn-2");
	assert_string_equal(at(j, "Item.leaseDuration.S"), "10000");
	assert_string_equal(at(j, "Item.heartbeatUnixMs.N"), "1700000000123");
	assert_string_equal(at(j, "Item.kind.S"), "spec");
	assert_string_equal(at(j, "ConditionExpression"),
			    "attribute_not_exists(#n) OR "
			    "attribute_not_exists(#o)");
	assert_string_equal(at(j, "ExpressionAttributeNames.#n"), "name");
	assert_string_equal(at(j, "ExpressionAttributeNames.#o"), "ownerName");
	/* Only what the expression uses: DynamoDB rejects the rest. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
				 j, "ExpressionAttributeNames")),
			 2);
	assert_null(cJSON_GetObjectItem(j, "ExpressionAttributeValues"));
	cJSON_Delete(j);

	/* Someone else's item: the condition fails, once, an answer. */
	script_push(&e->s, 400, ccf);
	assert_int_equal(awsp_ddb_acquire(e->c, "leases", &w_a, NULL, &err),
			 UTIL_ECONFLICT);
	assert_int_equal(e->s.n_reqs, 2);
	assert_string_equal(err.aws_code, "ConditionalCheckFailedException");
	assert_false(err.flags & UTIL_ERR_RETRYABLE);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
}

static void test_acquire_takeover(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov_lease_write w = w_a;
	cJSON *j;

	w.kind = PROV_LEASE_REPLICA;
	script_push(&e->s, 200, "{}");
	assert_int_equal(awsp_ddb_acquire(e->c, "leases", &w, "rvn-1", &err),
			 0);
	j = req_json(e, 0);
	assert_string_equal(at(j, "ConditionExpression"),
			    "attribute_exists(#n) AND #r = :prev");
	assert_string_equal(at(j, "ExpressionAttributeNames.#r"),
			    "recordVersionNumber");
	assert_string_equal(at(j, "ExpressionAttributeValues.:prev.S"),
			    "rvn-1");
	assert_string_equal(at(j, "Item.kind.S"), "replica");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
				 j, "ExpressionAttributeNames")),
			 2);
	cJSON_Delete(j);
}

static void test_renew_release(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	cJSON *j;

	script_push(&e->s, 200, "{}");
	assert_int_equal(awsp_ddb_renew(e->c, "leases", &w_a, "rvn-1", &err),
			 0);
	assert_target(e, 0, "UpdateItem");
	j = req_json(e, 0);
	assert_string_equal(at(j, "Key.name.S"), "web");
	assert_null(cJSON_GetObjectItem(j, "Item"));
	assert_string_equal(at(j, "UpdateExpression"),
			    "SET #o = :o, #r = :r, #d = :d, #h = :h, #k = :k");
	assert_string_equal(at(j, "ConditionExpression"),
			    "#o = :o AND #r = :prev");
	assert_string_equal(at(j, "ExpressionAttributeValues.:o.S"),
			    "host-a:10");
	assert_string_equal(at(j, "ExpressionAttributeValues.:prev.S"),
			    "rvn-1");
	assert_string_equal(at(j, "ExpressionAttributeValues.:r.S"), "rvn-2");
	assert_string_equal(at(j, "ExpressionAttributeValues.:d.S"), "10000");
	assert_string_equal(at(j, "ExpressionAttributeValues.:h.N"),
			    "1700000000123");
	assert_string_equal(at(j, "ExpressionAttributeNames.#d"),
			    "leaseDuration");
	assert_string_equal(at(j, "ExpressionAttributeNames.#h"),
			    "heartbeatUnixMs");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
				 j, "ExpressionAttributeNames")),
			 5);
	cJSON_Delete(j);

	/* A stale rvn: lost. */
	script_push(&e->s, 400, ccf);
	assert_int_equal(awsp_ddb_renew(e->c, "leases", &w_a, "rvn-0", &err),
			 UTIL_ECONFLICT);

	script_push(&e->s, 200, "{}");
	assert_int_equal(awsp_ddb_release(e->c, "leases", "web", "host-a:10",
					  "rvn-2", "rvn-3", &err),
			 0);
	j = req_json(e, 2);
	assert_string_equal(at(j, "UpdateExpression"), "SET #r = :r REMOVE #o");
	assert_string_equal(at(j, "ConditionExpression"),
			    "#o = :o AND #r = :prev");
	assert_string_equal(at(j, "ExpressionAttributeValues.:r.S"), "rvn-3");
	assert_string_equal(at(j, "ExpressionAttributeValues.:prev.S"),
			    "rvn-2");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
				 j, "ExpressionAttributeValues")),
			 3);
	cJSON_Delete(j);
}

/*
 * The first attempt's answer is lost, the retry loses its condition: the
 * item is read back, and the write succeeded when it is ours.
 */
static void test_lost_then_read_back(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	cJSON *j;

	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 400, ccf);
	script_push(&e->s, 200, item_web);
	assert_int_equal(awsp_ddb_acquire(e->c, "leases", &w_a, NULL, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(e->s.n_reqs, 3);
	assert_target(e, 2, "GetItem");
	j = req_json(e, 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ConsistentRead")));
	assert_string_equal(at(j, "Key.name.S"), "web");
	cJSON_Delete(j);

	/* Someone else's item: the conflict stands, and is known. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_TIMEOUT,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 400, ccf);
	script_push(&e->s, 200, item_web);
	assert_int_equal(awsp_ddb_renew(e->c, "leases",
					&(struct prov_lease_write){
						.name = "web",
						.holder = "host-b:20",
						.rvn = "rvn-9" },
					"rvn-1", &err),
			 UTIL_ECONFLICT);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);

	/* A release is ours when the holder is gone and the rvn is new. */
	util_err_clear(&err);
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 400, ccf);
	script_push(&e->s, 200,
		    "{\"Item\":{\"name\":{\"S\":\"web\"},"
		    "\"recordVersionNumber\":{\"S\":\"rvn-3\"}}}");
	assert_int_equal(awsp_ddb_release(e->c, "leases", "web", "host-a:10",
					  "rvn-2", "rvn-3", &err),
			 0);

	/* The read-back fails: the outcome is unknown. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 400, ccf);
	for (int i = 0; i < 3; i++)
		script_push(&e->s, 500,
			    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
			    "InternalServerError\",\"message\":\"x\"}");
	assert_int_equal(awsp_ddb_acquire(e->c, "leases", &w_a, NULL, &err),
			 UTIL_EAWS);
	assert_int_equal(err.code, UTIL_EAWS);
	assert_string_equal(err.aws_code, "InternalServerError");
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_non_null(strstr(err.msg, "reading back lease web"));
}

static void test_get(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov_lease l;

	script_push(&e->s, 200, item_web);
	assert_int_equal(awsp_ddb_get(e->c, "leases", "web", &l, &err), 0);
	assert_string_equal(l.holder, "host-a:10");
	prov_lease_release(&l);

	script_push(&e->s, 200, "{}");
	assert_int_equal(awsp_ddb_get(e->c, "leases", "db", &l, &err),
			 UTIL_ENOTFOUND);
	assert_null(l.name);

	/* No table: not found too (the message says which). */
	util_err_clear(&err);
	script_push(&e->s, 400, rnf);
	assert_int_equal(awsp_ddb_get(e->c, "nope", "db", &l, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(err.aws_code, "ResourceNotFoundException");
}

static void test_list_pages(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov_lease_list l;
	cJSON *j;

	script_push(&e->s, 200,
		    "{\"Items\":[{\"name\":{\"S\":\"a\"}},{\"name\":{\"S\":"
		    "\"b\"},\"ownerName\":{\"S\":\"h\"}}],\"Count\":2,"
		    "\"LastEvaluatedKey\":{\"name\":{\"S\":\"b\"}}}");
	script_push(&e->s, 200,
		    "{\"Items\":[],\"Count\":0,\"LastEvaluatedKey\":{\"name\":"
		    "{\"S\":\"c\"}}}");
	script_push(&e->s, 200,
		    "{\"Items\":[{\"name\":{\"S\":\"replica:x\"},\"kind\":"
		    "{\"S\":\"replica\"}}],\"Count\":1}");
	assert_int_equal(awsp_ddb_list(e->c, "leases", &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "a");
	assert_string_equal(l.v[1].holder, "h");
	assert_int_equal(l.v[2].kind, PROV_LEASE_REPLICA);
	prov_lease_list_release(&l);
	assert_target(e, 0, "Scan");
	j = req_json(e, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ConsistentRead")));
	assert_null(cJSON_GetObjectItem(j, "ExclusiveStartKey"));
	cJSON_Delete(j);
	j = req_json(e, 1);
	assert_string_equal(at(j, "ExclusiveStartKey.name.S"), "b");
	cJSON_Delete(j);
	j = req_json(e, 2);
	assert_string_equal(at(j, "ExclusiveStartKey.name.S"), "c");
	cJSON_Delete(j);

	/* The same key twice would loop forever: an error. */
	for (int i = 0; i < 2; i++)
		script_push(&e->s, 200,
			    "{\"Items\":[],\"LastEvaluatedKey\":{\"name\":"
			    "{\"S\":\"z\"}}}");
	assert_int_equal(awsp_ddb_list(e->c, "leases", &l, &err), UTIL_EINVAL);
	assert_int_equal(l.n, 0);
	assert_null(l.v);

	/* A malformed item fails the list, leaving it empty. */
	script_push(&e->s, 200, "{\"Items\":[{\"name\":{\"S\":\"a\"}},{}]}");
	assert_int_equal(awsp_ddb_list(e->c, "leases", &l, &err), UTIL_EINVAL);
	assert_int_equal(l.n, 0);

	util_err_clear(&err);
	script_push(&e->s, 400, rnf);
	assert_int_equal(awsp_ddb_list(e->c, "nope", &l, &err), UTIL_ENOTFOUND);
	assert_int_equal(err.code, UTIL_ENOTFOUND);
}

static void test_table_check(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	cJSON *j;

	script_push(&e->s, 200,
		    "{\"Table\":{\"TableName\":\"leases\",\"KeySchema\":"
		    "[{\"AttributeName\":\"name\",\"KeyType\":\"HASH\"}],"
		    "\"AttributeDefinitions\":[{\"AttributeName\":\"name\","
		    "\"AttributeType\":\"S\"}],\"TableStatus\":\"ACTIVE\"}}");
	assert_int_equal(awsp_ddb_table_check(e->c, "leases", &err), 0);
	assert_target(e, 0, "DescribeTable");
	j = req_json(e, 0);
	assert_string_equal(at(j, "TableName"), "leases");
	assert_int_equal(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);

	script_push(&e->s, 400, rnf);
	assert_int_equal(awsp_ddb_table_check(e->c, "nope", &err),
			 UTIL_ENOTFOUND);

	static const char *const bad[] = {
		/* another name */
		"{\"Table\":{\"KeySchema\":[{\"AttributeName\":\"key\","
		"\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{"
		"\"AttributeName\":\"key\",\"AttributeType\":\"S\"}]}}",
		/* a sort key too */
		"{\"Table\":{\"KeySchema\":[{\"AttributeName\":\"name\","
		"\"KeyType\":\"HASH\"},{\"AttributeName\":\"v\",\"KeyType\":"
		"\"RANGE\"}],\"AttributeDefinitions\":[{\"AttributeName\":"
		"\"name\",\"AttributeType\":\"S\"},{\"AttributeName\":\"v\","
		"\"AttributeType\":\"N\"}]}}",
		/* a number */
		"{\"Table\":{\"KeySchema\":[{\"AttributeName\":\"name\","
		"\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{"
		"\"AttributeName\":\"name\",\"AttributeType\":\"N\"}]}}",
		/* nothing */
		"{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		util_err_clear(&err);
		script_push(&e->s, 200, bad[i]);
		assert_int_equal(awsp_ddb_table_check(e->c, "t", &err),
				 UTIL_EINVAL);
		assert_non_null(strstr(err.msg, "table t"));
	}
}

static int closed(void *ctx, uint64_t *ret_budget_ms, struct util_err *err)
{
	(void)ctx;
	(void)ret_budget_ms;
	return util_err_set(err, UTIL_EFENCED, "closed");
}

/* A renewal must go out exactly when the fence is closed. */
/*
 * Lease calls obey the fence of their thread: on the lease manager's
 * thread that is the round's deadline; past it nothing is sent.
 */
static void test_deadline(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct util_fence f = { closed, NULL };
	const struct util_fence *prev = util_fence_set(&f);
	int r1, r2, r3;

	r1 = awsp_ddb_renew(e->c, "leases", &w_a, "rvn-1", &err);
	util_err_clear(&err);
	r2 = awsp_ddb_acquire(e->c, "leases", &w_a, NULL, &err);
	util_err_clear(&err);
	r3 = awsp_ddb_release(e->c, "leases", "web", "host-a:10", "rvn-2",
			      "rvn-3", &err);
	util_fence_set(prev);
	assert_int_equal(r1, UTIL_EFENCED);
	assert_int_equal(r2, UTIL_EFENCED);
	assert_int_equal(r3, UTIL_EFENCED);
	assert_int_equal(e->s.n_reqs, 0);
}

/* Throughput exceeded: retried by the client, then done. */
static void test_throttled_renew(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;

	script_push(&e->s, 400,
		    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
		    "ThrottlingException\",\"message\":\"Rate exceeded\"}");
	script_push(&e->s, 200, "{}");
	assert_int_equal(awsp_ddb_renew(e->c, "leases", &w_a, "rvn-1", &err),
			 0);
	assert_int_equal(e->s.n_reqs, 2);
}

#define T(f) \
	cmocka_unit_test_setup_teardown(f, test_env_setup, test_env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_item),
		T(test_acquire_absent),
		T(test_acquire_takeover),
		T(test_renew_release),
		T(test_lost_then_read_back),
		T(test_get),
		T(test_list_pages),
		T(test_table_check),
		T(test_deadline),
		T(test_throttled_renew),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
