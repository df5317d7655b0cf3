#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconciler/daemon/status.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/alloc.h"
#include "util/buf.h"

static const struct rc_status_cand s_cands[] = {
	{ "i-0aaaaaaaaaaaaaaaa", "127.0.0.2", true, "running", "down", 0, 3,
	  "http http://127.0.0.2:8080/", "connection refused", 1700000000 },
	{ "i-0bbbbbbbbbbbbbbbb", "127.0.0.3", true, "running", "up", 5, 0,
	  "http http://127.0.0.3:8080/", "HTTP 200", 1700000001 },
};

static const struct rc_status_member s_members[] = {
	{ "i-0aaaaaaaaaaaaaaaa", 8080, "healthy" },
	{ "i-0bbbbbbbbbbbbbbbb", 8080, "initial" },
};

static void fill(struct rc_status *s, struct rc_status_addr *a,
		 struct rc_status_group *g)
{
	memset(s, 0, sizeof(*s));
	memset(a, 0, 2 * sizeof(*a));
	memset(g, 0, sizeof(*g));
	a[0].label = "vip-\"db\"";
	a[0].public_ip = "198.51.100.1";
	a[0].holder = "i-0bbbbbbbbbbbbbbbb";
	a[0].failover = true;
	a[0].failback = "stay";
	a[0].verdict = "keep";
	a[0].desired = "i-0bbbbbbbbbbbbbbbb";
	a[0].moves = 2;
	a[0].last_move_at = 1700000002;
	a[0].cands = s_cands;
	a[0].n_cands = 2;
	a[1].label = "vip-web";
	a[1].holder = NULL;
	g->label = "web-tg";
	g->kind = "target_group";
	g->found = true;
	g->members = s_members;
	g->n_members = 2;
	g->total = 3;
	g->healthy = 1;
	g->held_back = 1;
	g->observed_at = 1700000003;
	s->moor_version = "0.1.0";
	s->pid = 42;
	s->started_at = 1700000000;
	s->updated_at = 1700000004;
	s->spec_path = "/etc/moor/spec.yaml";
	s->spec_sha256 = "ab12";
	s->spec_file = "invalid";
	s->spec_file_error = "spec.yaml:3:5: unknown key 'memebrs'";
	s->last_reconcile_at = 1700000003;
	s->last_reconcile_trigger = "resync";
	s->last_reconcile_result = "error";
	s->last_reconcile_changes = 1;
	s->last_reconcile_held_back = 1;
	s->last_success_at = 1700000001;
	s->last_error_at = 1700000003;
	s->last_error = "register i-0abc with web-tg: Throttling";
	s->last_error_resource = "web-tg";
	s->last_error_code = "Throttling";
	s->last_error_request_id = "rid-1";
	s->reconcile_ok = 7;
	s->reconcile_error = 1;
	s->reconcile_refused = 2;
	s->drift_corrections = 3;
	s->resources_backing_off = 1;
	s->held_back = 1;
	s->read_budget = 0.5;
	s->resync_ms = 2400;
	s->read_share.elb = 0.1;
	s->read_share.elbv2 = 0.25;
	s->read_share.elb_account = 0.5;
	s->addrs = a;
	s->n_addrs = 2;
	s->groups = g;
	s->n_groups = 1;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static void test_json(void **state)
{
	struct rc_status s;
	struct rc_status_addr a[2];
	struct rc_status_group g;
	struct buf b = BUF_INIT;
	cJSON *root, *o, *arr, *c;

	(void)state;
	fill(&s, a, &g);
	assert_int_equal(rc_status_to_json(&s, &b, NULL), 0);
	assert_true(b.len > 0 && b.buf[b.len - 1] == '\n');
	root = cJSON_Parse(b.buf);
	assert_non_null(root);
	assert_string_equal(str(root, "format"), "moor-watch-status");
	assert_int_equal((int)num(root, "format_version"), 1);
	assert_int_equal((int)num(root, "pid"), 42);
	assert_string_equal(str(root, "started_at"), "2023-11-14T22:13:20Z");
	o = cJSON_GetObjectItem(root, "spec");
	assert_string_equal(str(o, "file"), "invalid");
	assert_string_equal(str(o, "file_error"),
			    "spec.yaml:3:5: unknown key 'memebrs'");
	o = cJSON_GetObjectItem(root, "last_reconcile");
	assert_string_equal(str(o, "result"), "error");
	assert_string_equal(str(o, "trigger"), "resync");
	assert_int_equal((int)num(o, "held_back"), 1);
	o = cJSON_GetObjectItem(root, "last_error");
	assert_string_equal(str(o, "aws_code"), "Throttling");
	assert_string_equal(str(o, "request_id"), "rid-1");
	o = cJSON_GetObjectItem(root, "counters");
	assert_int_equal((int)num(o, "drift_corrections"), 3);
	assert_int_equal((int)num(o, "held_back"), 1);
	o = cJSON_GetObjectItem(root, "reads");
	assert_true(num(o, "budget") == 0.5);
	assert_int_equal((int)num(o, "resync_ms"), 2400);
	assert_true(num(cJSON_GetObjectItem(o, "elbv2"), "share_used") == 0.25);
	assert_true(num(cJSON_GetObjectItem(o, "elb_account"), "share_used") ==
		    0.5);

	arr = cJSON_GetObjectItem(root, "addresses");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	o = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(str(o, "label"), "vip-\"db\"");
	assert_string_equal(str(o, "holder"), "i-0bbbbbbbbbbbbbbbb");
	assert_int_equal((int)num(o, "moves"), 2);
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "candidates"), 0);
	assert_string_equal(str(c, "health"), "down");
	assert_string_equal(str(c, "last_result"), "connection refused");
	assert_int_equal((int)num(c, "fail_streak"), 3);
	/* An unbound, non-failover address: holder null, no candidates. */
	o = cJSON_GetArrayItem(arr, 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "holder")));
	assert_null(cJSON_GetObjectItem(o, "candidates"));

	arr = cJSON_GetObjectItem(root, "groups");
	o = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(str(o, "label"), "web-tg");
	assert_int_equal((int)num(o, "members_total"), 3);
	assert_int_equal((int)num(o, "held_back"), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "members_truncated")));
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "members"), 1);
	assert_string_equal(str(c, "health"), "initial");
	assert_int_equal((int)num(c, "port"), 8080);
	cJSON_Delete(root);

	/* No error: last_error is null; no --lease-table: lease is null. */
	buf_reset(&b);
	s.last_error = NULL;
	assert_int_equal(rc_status_to_json(&s, &b, NULL), 0);
	root = cJSON_Parse(b.buf);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "last_error")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "lease")));
	cJSON_Delete(root);
	buf_release(&b);
}

static const struct rc_status_lease lease = {
	.table = "moor-leases",
	.replica_id = "host-b:77",
	.held = false,
	.holder = "host-a:12",
	.age_ms = 2500,
	.transitions = 3,
	.live_replicas = 2,
	.target = 1,
};

static void test_lease(void **state)
{
	struct rc_status s;
	struct rc_status_addr a[2];
	struct rc_status_group g;
	struct buf b = BUF_INIT;
	cJSON *root, *o;

	(void)state;
	fill(&s, a, &g);
	s.spec_name = "web";
	s.lease = &lease;
	assert_int_equal(rc_status_to_json(&s, &b, NULL), 0);
	root = cJSON_Parse(b.buf);
	assert_string_equal(str(cJSON_GetObjectItem(root, "spec"), "name"),
			    "web");
	o = cJSON_GetObjectItem(root, "lease");
	assert_string_equal(str(o, "table"), "moor-leases");
	assert_string_equal(str(o, "replica_id"), "host-b:77");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "held")));
	assert_string_equal(str(o, "holder"), "host-a:12");
	assert_int_equal((int)num(o, "age_ms"), 2500);
	assert_int_equal((int)num(o, "transitions"), 3);
	assert_int_equal((int)num(o, "live_replicas"), 2);
	cJSON_Delete(root);

	buf_reset(&b);
	rc_status_to_metrics(&s, &b);
	assert_non_null(strstr(b.buf, "moor_lease_held{spec=\"web\"} 0\n"));
	assert_non_null(
		strstr(b.buf,
		       "moor_lease_transitions_total{spec=\"web\"} 3\n"));
	assert_non_null(
		strstr(b.buf, "moor_lease_age_seconds{spec=\"web\"} 2.500\n"));
	buf_release(&b);
}

static void test_metrics(void **state)
{
	struct rc_status s;
	struct rc_status_addr a[2];
	struct rc_status_group g;
	struct buf b = BUF_INIT;

	(void)state;
	fill(&s, a, &g);
	rc_status_to_metrics(&s, &b);
	assert_non_null(strstr(b.buf, "# TYPE moor_reconcile_total counter\n"));
	assert_non_null(
		strstr(b.buf, "moor_reconcile_total{result=\"ok\"} 7\n"));
	assert_non_null(
		strstr(b.buf, "moor_reconcile_total{result=\"refused\"} 2\n"));
	assert_non_null(strstr(b.buf, "moor_drift_corrections_total 3\n"));
	/* Label values are escaped. */
	assert_non_null(
		strstr(b.buf,
		       "moor_failovers_total{address=\"vip-\\\"db\\\"\"} 2\n"));
	/* Only failover addresses have a failover counter. */
	assert_null(strstr(b.buf, "address=\"vip-web\""));
	assert_non_null(
		strstr(b.buf,
		       "moor_last_success_timestamp_seconds 1700000001\n"));
	assert_non_null(strstr(b.buf,
			       "moor_probe_up{address=\"vip-\\\"db\\\"\","
			       "instance=\"i-0aaaaaaaaaaaaaaaa\"} 0\n"));
	assert_non_null(strstr(b.buf, "instance=\"i-0bbbbbbbbbbbbbbbb\"} 1\n"));
	assert_non_null(strstr(b.buf, "moor_spec_in_force 0\n"));
	assert_non_null(strstr(b.buf, "# TYPE moor_held_back gauge\n"
				      "moor_held_back 1\n"));
	assert_non_null(strstr(b.buf, "moor_read_budget_ratio 0.5\n"));
	assert_non_null(strstr(b.buf, "moor_read_budget_used_ratio{bucket="
				      "\"elb_account\"} 0.5\n"));
	assert_non_null(strstr(b.buf,
			       "moor_group_healthy_members{group=\"web-tg\"} "
			       "1\n"));
	/* Every sample line belongs to a family with HELP and TYPE. */
	for (char *line = b.buf; *line;) {
		char *nl = strchr(line, '\n');
		char name[128];
		char want[160];
		size_t n = strcspn(line, "{ ");

		assert_non_null(nl);
		if (line[0] != '#') {
			assert_true(n < sizeof(name));
			memcpy(name, line, n);
			name[n] = '\0';
			snprintf(want, sizeof(want), "# TYPE %s ", name);
			assert_non_null(strstr(b.buf, want));
			snprintf(want, sizeof(want), "# HELP %s ", name);
			assert_non_null(strstr(b.buf, want));
		}
		line = nl + 1;
	}
	buf_release(&b);
}

static void test_write_atomic(void **state)
{
	char dir[] = "/tmp/moor-status-XXXXXX", path[128], tmp[160];
	char got[64] = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/status.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(rc_status_write_file(path, "first\n", 6, NULL), 0);
	assert_int_equal(rc_status_write_file(path, "second\n", 7, NULL), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, "second\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(stat(tmp, &st), -1);
	unlink(path);
	rmdir(dir);
	/* A directory that does not exist: an error, nothing left. */
	assert_int_equal(rc_status_write_file(path, "x", 1, &err), UTIL_EIO);
	assert_non_null(strstr(err.msg, "cannot write"));
}

/*
 * The document from the daemon's state, at an injected instant: a damped
 * address says until when (rounded up to the second, gone once the time
 * has come), its candidates what was observed; a group what the last
 * reconcile saw of it.
 */
static const char fo_yaml[] = "version: 1\n"
			      "load_balancers:\n"
			      "  - target_group: web-tg\n"
			      "    members: [i-0000000a]\n"
			      "elastic_ips:\n"
			      "  - allocation_id: eipalloc-0000000a\n"
			      "    failover:\n"
			      "      candidates: [i-0000000a, i-0000000b]\n"
			      "      probe: {tcp: 22}\n"
			      "      failback: prefer_first\n";

static void test_fill_from_state(void **state)
{
	struct rc_spec_ref *ws = rc_spec_ref_new(t_spec(fo_yaml), 1);
	struct rc_fot_addr *a = rc_fot_addr_new(ws, 0, NULL);
	struct rc_status_addr sa = { 0 };
	struct rc_status_cand *cands = NULL;
	struct rc_snapshots sn = { 0 };
	struct rc_cycle_result r = { 0 };
	struct rc_status st = { 0 };
	struct rc_status_group groups[2] = { { 0 } };
	struct rc_status_member *members[2] = { NULL };
	const time_t wall = 1700000000;

	(void)state;
	a->decided = true;
	a->last.verdict = RC_FO_DAMPED;
	a->last.target = 1;
	a->last.retry_at_ms = 12500;
	a->c[0].observed = a->c[0].found = true;
	a->c[0].state = PROV_INSTANCE_RUNNING;
	rc_status_fill_fo_addr(a, SPEC_FAILBACK_PREFER_FIRST, 10000, wall, &sa,
			       &cands);
	assert_true(sa.failover);
	assert_string_equal(sa.failback, "prefer_first");
	assert_string_equal(sa.verdict, "damped");
	assert_string_equal(sa.desired, "i-0000000b");
	assert_int_equal(sa.damped_until, wall + 3);
	assert_int_equal(sa.n_cands, 2);
	assert_string_equal(cands[0].state, "running");
	assert_false(cands[1].observed);
	assert_null(cands[1].state);
	free(cands);
	memset(&sa, 0, sizeof(sa));
	rc_status_fill_fo_addr(a, SPEC_FAILBACK_STAY, 12500, wall + 3, &sa,
			       &cands);
	assert_int_equal(sa.damped_until, 0);
	assert_string_equal(sa.failback, "stay");
	free(cands);

	r.groups = util_xcalloc(2, sizeof(*r.groups));
	r.n_groups = 1;
	r.groups[0].label = util_xstrdup("web-tg");
	r.groups[0].found = true;
	r.groups[0].total = r.groups[0].healthy = 1;
	r.groups[0].held_back = 2;
	r.groups[0].members = util_xcalloc(1, sizeof(*r.groups[0].members));
	r.groups[0].n_members = 1;
	r.groups[0].members[0].id = util_xstrdup("i-0000000a");
	r.groups[0].members[0].port = 8080;
	r.groups[0].members[0].health = PROV_HEALTH_HEALTHY;
	rc_snapshots_keep(&sn, &r, wall);
	rc_cycle_result_release(&r);
	rc_status_fill_groups(ws->s, &sn, &st, groups, members);
	assert_int_equal(st.n_groups, 1);
	assert_string_equal(groups[0].label, "web-tg");
	assert_string_equal(groups[0].kind, "target_group");
	assert_int_equal(groups[0].observed_at, wall);
	assert_int_equal(st.held_back, 2);
	assert_int_equal(groups[0].n_members, 1);
	assert_string_equal(groups[0].members[0].health, "healthy");
	free(members[0]);
	rc_snapshots_release(&sn);
	rc_fot_addr_free(a);
	rc_spec_ref_drop(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_fill_from_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
