#include "providers/aws/ops.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/client.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/json.h"
#include "providers/provider.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/parse.h"
#include "util/banned.h"

/*
 * The lease ops of provider.h on DynamoDB (API 2012-08-10, JSON 1.0), the
 * way the Amazon DynamoDB Lock Client keeps its locks (AWS-PROTOCOL.md
 * section 8): conditional writes on the record version number.
 *
 * The table's only key is the string partition key "name".  An item:
 *
 *   name                 S  the lease: a spec's name, or "replica:" + id
 *   ownerName            S  the holder's replica id; absent when released
 *   recordVersionNumber  S  new on every write (the rvn)
 *   leaseDuration        S  the writer's lease duration in milliseconds
 *                           (a string, as the Lock Client writes it)
 *   heartbeatUnixMs      N  the writer's wall clock at the write; display
 *                           only (moor leases), never trusted
 *   kind                 S  "spec" or "replica"
 *
 * (ownerName, recordVersionNumber and leaseDuration are the Lock Client's
 * own names.)  The writes:
 *
 *   acquire, absent or released:  PutItem if attribute_not_exists(#n) OR
 *                                 attribute_not_exists(#o)
 *   acquire, takeover:            PutItem if attribute_exists(#n) AND
 *                                 #r = :prev
 *   renew:                        UpdateItem SET every attribute, if
 *                                 #o = :o AND #r = :prev
 *   release:                      UpdateItem SET #r = :r REMOVE #o, if
 *                                 #o = :o AND #r = :prev
 *
 * A lost condition (ConditionalCheckFailedException) is UTIL_ECONFLICT.
 * The writes are retried after a lost answer (the condition makes a
 * repeat harmless); when such a retry loses its condition, the item is
 * read back: the write succeeded if the item is what it wrote.  Reads are
 * strongly consistent.  Lease calls are bounded by the fence their thread
 * has in force: the lease manager's round deadline, never a spec's lease
 * (only a daemon worker holds one, around a mutating op), so a renewal
 * goes out when the spec's fence is closed.
 */

#define A_NAME	    "name"
#define A_OWNER	    "ownerName"
#define A_RVN	    "recordVersionNumber"
#define A_DURATION  "leaseDuration"
#define A_HEARTBEAT "heartbeatUnixMs"
#define A_KIND	    "kind"

#define READ_FLAGS  0
#define WRITE_FLAGS (AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT)

/* --- attribute values ------------------------------------------------ */

static void add_typed(cJSON *obj, const char *name, const char *type,
		      const char *value)
{
	cJSON *v = cJSON_AddObjectToObject(obj, name);

	cJSON_AddStringToObject(v, type, value);
}

static void add_s(cJSON *obj, const char *name, const char *value)
{
	add_typed(obj, name, "S", value);
}

static void add_n(cJSON *obj, const char *name, int64_t value)
{
	char n[24];

	snprintf(n, sizeof(n), "%" PRId64, value);
	add_typed(obj, name, "N", n);
}

/* A duration in ms as a string, as the Lock Client writes leaseDuration. */
static void add_ms_string(cJSON *obj, const char *name, uint64_t value)
{
	char n[24];

	snprintf(n, sizeof(n), "%" PRIu64, value);
	add_s(obj, name, n);
}

/* An attribute's S or N text, else NULL. */
static const char *attr_text(const cJSON *item, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, name);
	const cJSON *t;

	if (!cJSON_IsObject(v))
		return NULL;
	t = cJSON_GetObjectItemCaseSensitive(v, "S");
	if (!cJSON_IsString(t))
		t = cJSON_GetObjectItemCaseSensitive(v, "N");
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

static const char *kind_name(enum prov_lease_kind k)
{
	return k == PROV_LEASE_REPLICA ? "replica" : "spec";
}

int awsp_ddb_parse_item(const cJSON *item, struct prov_lease *ret,
			struct util_err *err)
{
	const char *name = attr_text(item, A_NAME);
	const char *s;

	memset(ret, 0, sizeof(*ret));
	if (!name || !*name)
		return util_err_set(err, UTIL_EINVAL,
				    "lease item without a string '%s'", A_NAME);
	s = attr_text(item, A_DURATION);
	if (s && util_parse_u64(s, UINT64_MAX, &ret->duration_ms, NULL) < 0)
		return util_err_set(err, UTIL_EINVAL,
				    "lease %s: invalid %s '%s'", name,
				    A_DURATION, s);
	s = attr_text(item, A_HEARTBEAT);
	if (s && util_parse_i64(s, INT64_MIN, INT64_MAX,
				&ret->heartbeat_unix_ms, NULL) < 0)
		return util_err_set(err, UTIL_EINVAL,
				    "lease %s: invalid %s '%s'", name,
				    A_HEARTBEAT, s);
	s = attr_text(item, A_KIND);
	ret->kind = s && !strcmp(s, "replica") ? PROV_LEASE_REPLICA
					       : PROV_LEASE_SPEC;
	ret->name = util_xstrdup(name);
	ret->holder = util_xstrdup_or_null(attr_text(item, A_OWNER));
	ret->rvn = util_xstrdup_or_null(attr_text(item, A_RVN));
	return 0;
}

/* --- requests ------------------------------------------------------------ */

static cJSON *body_new(const char *table)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "TableName", table);
	return b;
}

static void add_key(cJSON *b, const char *name)
{
	add_s(cJSON_AddObjectToObject(b, "Key"), A_NAME, name);
}

/*
 * Expression attribute names: "#x" for each letter of which, from the
 * fixed table below (DynamoDB rejects names an expression does not use).
 */
static void add_names(cJSON *b, const char *which)
{
	static const struct {
		char ph;
		const char *attr;
	} names[] = {
		{ 'n', A_NAME },     { 'o', A_OWNER },	   { 'r', A_RVN },
		{ 'd', A_DURATION }, { 'h', A_HEARTBEAT }, { 'k', A_KIND },
	};
	cJSON *o = cJSON_AddObjectToObject(b, "ExpressionAttributeNames");

	for (const char *w = which; *w; w++)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].ph == *w) {
				char ph[3] = { '#', *w, '\0' };

				cJSON_AddStringToObject(o, ph, names[i].attr);
			}
}

/* The whole item w makes. */
static void add_item(cJSON *b, const struct prov_lease_write *w)
{
	cJSON *item = cJSON_AddObjectToObject(b, "Item");

	add_s(item, A_NAME, w->name);
	add_s(item, A_OWNER, w->holder);
	add_s(item, A_RVN, w->rvn);
	add_ms_string(item, A_DURATION, w->duration_ms);
	add_n(item, A_HEARTBEAT, w->heartbeat_unix_ms);
	add_s(item, A_KIND, kind_name(w->kind));
}

/*
 * An AWS error r as provider.h names it: ConditionalCheckFailedException
 * is the answer "someone else wrote first" (UTIL_ECONFLICT),
 * ResourceNotFoundException the missing table (UTIL_ENOTFOUND).
 */
static int map_error(int r, struct util_err *err)
{
	if (r != UTIL_EAWS || err->code != UTIL_EAWS)
		return r;
	if (!strcmp(err->aws_code, "ConditionalCheckFailedException"))
		err->code = UTIL_ECONFLICT;
	else if (!strcmp(err->aws_code, "ResourceNotFoundException"))
		err->code = UTIL_ENOTFOUND;
	return err->code;
}

/* One DynamoDB call; body is consumed. */
static int ddb_call(struct awsp_client *c, const char *op, cJSON *body,
		    unsigned flags, cJSON **ret, struct awsp_call_info *info,
		    struct util_err *err)
{
	int r = awsp_json_call(c, AWSP_SVC_DYNAMODB, op, body, flags, ret, info,
			       err);

	cJSON_Delete(body);
	return r < 0 ? map_error(r, err) : 0;
}

/* --- reads ------------------------------------------------------------------ */

/* The key schema: exactly one HASH key "name" of type S. */
static int check_key(const cJSON *table, const char *name, struct util_err *err)
{
	const cJSON *ks = cJSON_GetObjectItemCaseSensitive(table, "KeySchema");
	const cJSON *defs =
		cJSON_GetObjectItemCaseSensitive(table, "AttributeDefinitions");
	const cJSON *k = cJSON_GetArrayItem(ks, 0), *d;
	const char *key = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(k, "AttributeName"));
	const char *kt = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(k, "KeyType"));

	if (cJSON_GetArraySize(ks) != 1 || !key || strcmp(key, A_NAME) || !kt ||
	    strcmp(kt, "HASH"))
		return util_err_set(err, UTIL_EINVAL,
				    "table %s: its key is not the one "
				    "partition key '%s' (it has %d key "
				    "attribute(s), the first '%s')",
				    name, A_NAME, cJSON_GetArraySize(ks),
				    key ? key : "?");
	cJSON_ArrayForEach(d, defs)
	{
		const char *an = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(d, "AttributeName"));
		const char *at = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(d, "AttributeType"));

		if (an && !strcmp(an, A_NAME))
			return at && !strcmp(at, "S")
				       ? 0
				       : util_err_set(err, UTIL_EINVAL,
						      "table %s: key '%s' is "
						      "not a string",
						      name, A_NAME);
	}
	return util_err_set(err, UTIL_EINVAL,
			    "table %s: no definition of its key '%s'", name,
			    A_NAME);
}

int awsp_ddb_table_check(struct awsp_client *c, const char *table,
			 struct util_err *err)
{
	cJSON *ans = NULL;
	int r = ddb_call(c, "DescribeTable", body_new(table), READ_FLAGS, &ans,
			 NULL, err);

	if (r == 0)
		r = check_key(cJSON_GetObjectItemCaseSensitive(ans, "Table"),
			      table, err);
	cJSON_Delete(ans);
	return r;
}

static cJSON *get_body(const char *table, const char *name)
{
	cJSON *b = body_new(table);

	add_key(b, name);
	cJSON_AddTrueToObject(b, "ConsistentRead");
	return b;
}

int awsp_ddb_get(struct awsp_client *c, const char *table, const char *name,
		 struct prov_lease *ret, struct util_err *err)
{
	cJSON *ans = NULL;
	const cJSON *item;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = ddb_call(c, "GetItem", get_body(table, name), READ_FLAGS, &ans,
		     NULL, err);
	if (r < 0)
		return r;
	item = cJSON_GetObjectItemCaseSensitive(ans, "Item");
	if (!cJSON_IsObject(item))
		r = util_err_set(err, UTIL_ENOTFOUND, "no lease %s in %s", name,
				 table);
	else
		r = awsp_ddb_parse_item(item, ret, err);
	cJSON_Delete(ans);
	return r;
}

int awsp_ddb_parse_scan(const cJSON *ans, struct prov_lease_list *out,
			cJSON **ret_next, struct util_err *err)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(ans, "Items");
	const cJSON *next =
		cJSON_GetObjectItemCaseSensitive(ans, "LastEvaluatedKey");
	const cJSON *it;
	int n = cJSON_GetArraySize(items);

	*ret_next = NULL;
	if (items && !cJSON_IsArray(items))
		return util_err_set(err, UTIL_EINVAL,
				    "Scan answer: Items is not a list");
	out->v = util_xrealloc(out->v,
			       (out->n + (size_t)n + 1) * sizeof(*out->v));
	cJSON_ArrayForEach(it, items)
	{
		int r = awsp_ddb_parse_item(it, &out->v[out->n], err);

		if (r < 0)
			return r;
		out->n++;
	}
	if (cJSON_IsObject(next))
		*ret_next = cJSON_Duplicate(next, true);
	return 0;
}

/* A scan page that starts where the last ended, as the same key again. */
static bool same_key(const cJSON *a, const cJSON *b)
{
	return a && b && cJSON_Compare(a, b, true);
}

int awsp_ddb_list(struct awsp_client *c, const char *table,
		  struct prov_lease_list *ret, struct util_err *err)
{
	cJSON *start = NULL, *next = NULL, *ans, *b;
	int r;

	memset(ret, 0, sizeof(*ret));
	do {
		b = body_new(table);
		cJSON_AddTrueToObject(b, "ConsistentRead");
		if (start)
			cJSON_AddItemToObject(b, "ExclusiveStartKey",
					      cJSON_Duplicate(start, true));
		ans = NULL;
		r = ddb_call(c, "Scan", b, READ_FLAGS, &ans, NULL, err);
		if (r == 0)
			r = awsp_ddb_parse_scan(ans, ret, &next, err);
		cJSON_Delete(ans);
		if (r == 0 && same_key(start, next))
			r = util_err_set(err, UTIL_EINVAL,
					 "dynamodb Scan: the same "
					 "LastEvaluatedKey twice");
		cJSON_Delete(start);
		start = next;
		next = NULL;
	} while (r == 0 && start);
	cJSON_Delete(start);
	if (r < 0)
		prov_lease_list_release(ret);
	return r;
}

/* --- writes ----------------------------------------------------------------- */

/* What the item must be after our write, for the read-back. */
struct expect {
	const char *holder; /* NULL: released */
	const char *rvn;
};

/*
 * A write that lost its condition on a retry after an attempt whose
 * answer was lost: the lost attempt may have been ours.  Succeed when the
 * item is what we wrote; otherwise the conflict stands (known now).
 */
static int read_back(struct awsp_client *c, const char *table, const char *name,
		     const struct expect *x, struct util_err *err)
{
	struct prov_lease l;
	struct util_err rerr = UTIL_ERR_INIT;
	bool ours;
	int r = awsp_ddb_get(c, table, name, &l, &rerr);

	if (r < 0 && r != UTIL_ENOTFOUND) {
		util_err_clear(err);
		util_err_copy(err, &rerr);
		err->flags |= UTIL_ERR_OUTCOME_UNKNOWN;
		util_err_prefix(err, "reading back lease %s", name);
		return r;
	}
	ours = r == 0 &&
	       (x->holder ? l.holder && !strcmp(l.holder, x->holder)
			  : !l.holder) &&
	       l.rvn && !strcmp(l.rvn, x->rvn);
	prov_lease_release(&l);
	if (ours) {
		util_err_clear(err);
		return 0;
	}
	err->flags &= ~(unsigned)UTIL_ERR_OUTCOME_UNKNOWN;
	return UTIL_ECONFLICT;
}

static int write_call(struct awsp_client *c, const char *op, cJSON *body,
		      const char *table, const char *name,
		      const struct expect *x, struct util_err *err)
{
	struct awsp_call_info info = { 0 };
	int r = ddb_call(c, op, body, WRITE_FLAGS, NULL, &info, err);

	if (r == UTIL_ECONFLICT && info.lost_before)
		r = read_back(c, table, name, x, err);
	return r;
}

/* The condition's value :prev. */
static cJSON *values_with_prev(cJSON *b, const char *prev_rvn)
{
	cJSON *v = cJSON_AddObjectToObject(b, "ExpressionAttributeValues");

	add_s(v, ":prev", prev_rvn);
	return v;
}

int awsp_ddb_acquire(struct awsp_client *c, const char *table,
		     const struct prov_lease_write *w, const char *prev_rvn,
		     struct util_err *err)
{
	cJSON *b = body_new(table);
	struct expect x = { w->holder, w->rvn };

	add_item(b, w);
	if (!prev_rvn) {
		cJSON_AddStringToObject(b, "ConditionExpression",
					"attribute_not_exists(#n) OR "
					"attribute_not_exists(#o)");
		add_names(b, "no");
	} else {
		cJSON_AddStringToObject(b, "ConditionExpression",
					"attribute_exists(#n) AND #r = :prev");
		add_names(b, "nr");
		values_with_prev(b, prev_rvn);
	}
	return write_call(c, "PutItem", b, table, w->name, &x, err);
}

/* The condition of renew and release: still ours, unchanged. */
static cJSON *owned_body(const char *table, const char *name,
			 const char *holder, const char *prev_rvn,
			 const char *update, const char *names)
{
	cJSON *b = body_new(table), *v;

	add_key(b, name);
	cJSON_AddStringToObject(b, "UpdateExpression", update);
	cJSON_AddStringToObject(b, "ConditionExpression",
				"#o = :o AND #r = :prev");
	add_names(b, names);
	v = values_with_prev(b, prev_rvn);
	add_s(v, ":o", holder);
	return b;
}

int awsp_ddb_renew(struct awsp_client *c, const char *table,
		   const struct prov_lease_write *w, const char *prev_rvn,
		   struct util_err *err)
{
	cJSON *b = owned_body(table, w->name, w->holder, prev_rvn,
			      "SET #o = :o, #r = :r, #d = :d, #h = :h, "
			      "#k = :k",
			      "ordhk");
	cJSON *v =
		cJSON_GetObjectItemCaseSensitive(b,
						 "ExpressionAttributeValues");
	struct expect x = { w->holder, w->rvn };

	add_s(v, ":r", w->rvn);
	add_ms_string(v, ":d", w->duration_ms);
	add_n(v, ":h", w->heartbeat_unix_ms);
	add_s(v, ":k", kind_name(w->kind));
	return write_call(c, "UpdateItem", b, table, w->name, &x, err);
}

int awsp_ddb_release(struct awsp_client *c, const char *table, const char *name,
		     const char *holder, const char *rvn, const char *new_rvn,
		     struct util_err *err)
{
	cJSON *b = owned_body(table, name, holder, rvn, "SET #r = :r REMOVE #o",
			      "or");
	cJSON *v =
		cJSON_GetObjectItemCaseSensitive(b,
						 "ExpressionAttributeValues");
	struct expect x = { NULL, new_rvn };

	add_s(v, ":r", new_rvn);
	return write_call(c, "UpdateItem", b, table, name, &x, err);
}
