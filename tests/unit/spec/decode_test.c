/*
 * spec/decode.c: every key, type, shape and range checked one value
 * at a time, the defaults, and the warnings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "spec/spec.h"
#include "tests/unit/support/spec_testutil.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"

static const struct tspec_bad bad_cases[] = {
	/* YAML itself */
	{ "merge key",
	  V1 "x-d: &d {none: true}\nelastic_ips:\n  - <<: *d\n"
	     "    name: a\n",
	  4, 5, "merge keys ('<<') are not supported" },

	/* empty */
	{ "empty file", "", 1, 1, "empty spec: it declares nothing" },
	{ "all comments", "# nothing here\n\n   # really\n", 1, 1,
	  "empty spec: it declares nothing" },
	{ "null document", "~\n", 1, 1, "empty spec" },
	{ "explicit empty document", "---\n...\n", 1, 1, "empty spec" },
	{ "version only", V1, 1, 1,
	  "empty spec: it declares no load balancers and no elastic IPs" },
	{ "both lists empty", V1 "load_balancers: []\nelastic_ips: []\n", 1, 1,
	  "declares no load balancers and no elastic IPs" },

	/* the top level */
	{ "not a map", "- a\n", 1, 1, "the spec must be a map, not a list" },
	{ "missing version", "elastic_ips:\n  - name: a\n    none: true\n", 1,
	  1, "missing 'version: 1'" },
	{ "version 2", "version: 2\nelastic_ips: []\n", 1, 10,
	  "unsupported version 2 (this moor reads version 1)" },
	{ "version quoted", "version: \"1\"\nelastic_ips: []\n", 1, 10,
	  "'version' must be an integer, not a string" },
	{ "unknown top key, suggestion", V1 "elastic_ip: []\n", 2, 1,
	  "unknown key 'elastic_ip', did you mean 'elastic_ips'?" },
	{ "unknown top key, list", V1 "frobnicate: 1\n", 2, 1,
	  "unknown key 'frobnicate' in the spec (valid keys: version, name, "
	  "region, "
	  "load_balancers, elastic_ips)" },
	{ "invalid region", V1 "region: us-east\n", 2, 9,
	  "invalid region 'us-east'" },
	{ "lists null", V1 "load_balancers:\n# - classic: web\n", 2, 16,
	  "'load_balancers' has no value: write 'load_balancers: []'" },

	/* load balancers */
	{ "unknown key memebrs",
	  V1 "load_balancers:\n  - classic: web\n"
	     "    memebrs: []\n",
	  3, 5, "a load balancer needs 'members'" },
	{ "unknown key memebrs message",
	  V1 "load_balancers:\n  - classic: web\n    members: [" ID_A "]\n"
	     "    memebrs: []\n",
	  5, 5, "unknown key 'memebrs', did you mean 'members'?" },
	{ "neither classic nor target group",
	  V1 "load_balancers:\n  - members: []\n", 3, 5,
	  "a load balancer needs 'classic: NAME' or 'target_group: NAME'" },
	{ "classic and target group",
	  V1 "load_balancers:\n  - classic: web\n    target_group: tg\n"
	     "    members: []\n",
	  4, 5, "'target_group' cannot be combined with 'classic'" },
	{ "classic name too long",
	  V1 "load_balancers:\n  - classic: "
	     "abcdefghijabcdefghijabcdefghijabc\n    members: []\n",
	  3, 14, "invalid classic ELB name" },
	{ "classic name integer",
	  V1 "load_balancers:\n  - classic: 123\n    members: []\n", 3, 14,
	  "'classic' must be a string, not an integer (quote it: \"123\")" },
	{ "target group name hyphen",
	  V1 "load_balancers:\n  - target_group: web-\n    members: []\n", 3,
	  19, "invalid target group name 'web-'" },
	{ "target group arn shape",
	  V1 "load_balancers:\n  - target_group: arn:aws:elasticloadbalancing:"
	     "us-east-1:12345678901:targetgroup/web/0123456789abcdef\n"
	     "    members: []\n",
	  3, 19, "invalid target group ARN" },
	{ "target group arn region",
	  V1 "region: us-east-1\nload_balancers:\n  - target_group: arn:aws:"
	     "elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/"
	     "0123456789abcdef\n    members: [" ID_A "]\n",
	  4, 19, "is in region 'eu-west-1', not the spec's 'us-east-1'" },
	{ "members not a list", CLASSIC "      id: " ID_A "\n", 5, 7,
	  "'members' must be a list, not a map" },
	{ "members commented out", CLASSIC "    #  - " ID_A "\n", 4, 13,
	  "'members' has no value: write 'members: []'" },
	{ "short instance id", CLASSIC "      - i-0123\n", 5, 9,
	  "invalid instance id 'i-0123'" },
	{ "uppercase instance id", CLASSIC "      - i-0123456789ABCDEF0\n", 5,
	  9, "invalid instance id" },
	{ "member integer", CLASSIC "      - 42\n", 5, 9,
	  "a member must be an instance id or a map, not an integer" },
	{ "bare ip member", TG "      - 10.0.3.7\n", 5, 9,
	  "member '10.0.3.7' is an IP address: write it as '- ip: 10.0.3.7'" },
	{ "member two kinds", TG "      - id: " ID_A "\n        ip: 10.0.0.1\n",
	  6, 9, "'ip' cannot be combined with 'id'" },
	{ "member no kind", TG "      - port: 80\n", 5, 9,
	  "a member needs 'id', 'selector' or 'ip'" },
	{ "member unknown key hint", TG "      - instance: " ID_A "\n", 5, 9,
	  "unknown key 'instance', did you mean 'id'?" },
	{ "port on classic", CLASSIC "      - id: " ID_A "\n        port: 80\n",
	  6, 9, "'port' is only for target group members" },
	{ "port range", TG "      - id: " ID_A "\n        port: 70000\n", 6, 15,
	  "'port' must be between 1 and 65535, not 70000" },
	{ "port quoted", TG "      - id: " ID_A "\n        port: \"80\"\n", 6,
	  15, "'port' must be an integer, not a string" },
	{ "ip in classic", CLASSIC "      - ip: 10.0.0.1\n", 5, 9,
	  "'ip' members are only for target groups" },
	{ "ip leading zero", TG "      - ip: 10.0.03.7\n", 5, 13,
	  "invalid IPv4 address '10.0.03.7'" },
	{ "ip out of range", TG "      - ip: 10.256.0.1\n", 5, 13,
	  "invalid IPv4 address" },
	{ "az without ip", TG "      - id: " ID_A "\n        az: us-east-1a\n",
	  6, 9, "'az' is only for 'ip' members" },
	{ "bad az", TG "      - ip: 10.0.0.1\n        az: useast1a\n", 6, 13,
	  "invalid availability zone 'useast1a'" },
	{ "selector without tags", TG "      - selector: {states: [running]}\n",
	  5, 19, "a selector needs 'tags'" },
	{ "selector empty tags", TG "      - selector: {tags: {}}\n", 5, 26,
	  "'tags' is empty" },
	{ "tag without value", TG "      - selector: {tags: {role: }}\n", 5, 33,
	  "tag 'role' has no value" },
	{ "bad state",
	  TG "      - selector: {tags: {a: b}, states: [runing]}\n", 5, 43,
	  "invalid instance state 'runing', did you mean 'running'?" },
	{ "state twice",
	  TG "      - selector: {tags: {a: b}, states: [running, running]}\n",
	  5, 52, "state 'running' is listed twice" },
	{ "ownership", CLASSIC "      - " ID_A "\n    ownership: shared\n", 6,
	  16, "invalid ownership 'shared' (expected exclusive or additive)" },
	{ "wait", CLASSIC "      - " ID_A "\n    wait: healty\n", 6, 11,
	  "invalid wait 'healty', did you mean 'healthy'?" },
	{ "drain", CLASSIC "      - " ID_A "\n    drain: yes\n", 6, 12,
	  "invalid drain 'yes' (expected none or wait)" },
	{ "timeout no unit", CLASSIC "      - " ID_A "\n    timeout: 30\n", 6,
	  14, "'timeout' needs a unit" },
	{ "timeout bad", CLASSIC "      - " ID_A "\n    timeout: 5x\n", 6, 14,
	  "'timeout': invalid duration '5x'" },
	{ "timeout zero", CLASSIC "      - " ID_A "\n    timeout: 0s\n", 6, 14,
	  "'timeout' must be longer than 0s" },
	{ "timeout huge", CLASSIC "      - " ID_A "\n    timeout: 25h\n", 6, 14,
	  "'timeout' must be at most 24h, not 1d1h" },
	{ "drain timeout bad",
	  CLASSIC "      - " ID_A "\n    drain: wait\n    drain_timeout: 1y\n",
	  7, 20, "'drain_timeout': invalid duration" },
	{ "min_healthy percent",
	  CLASSIC "      - " ID_A "\n    min_healthy: 101%\n", 6, 18,
	  "'min_healthy' must be at most 100%" },
	{ "min_healthy garbage",
	  CLASSIC "      - " ID_A "\n    min_healthy: half\n", 6, 18,
	  "'min_healthy' must be a count such as 2 or a percentage" },
	{ "min_healthy negative",
	  CLASSIC "      - " ID_A "\n    min_healthy: -1\n", 6, 18,
	  "'min_healthy' must be between 0 and" },

	/* elastic IPs */
	{ "eip without reference", EIPS "  - instance: " ID_A "\n", 3, 5,
	  "an elastic IP needs 'allocation_id', 'public_ip' or 'name'" },
	{ "eip two references",
	  EIPS "  - name: a\n    public_ip: 203.0.113.10\n    none: true\n", 4,
	  5, "'public_ip' cannot be combined with 'name'" },
	{ "bad allocation id",
	  EIPS "  - allocation_id: eipalloc-12\n"
	       "    none: true\n",
	  3, 20, "invalid allocation id 'eipalloc-12'" },
	{ "bad public ip", EIPS "  - public_ip: 203.0.113\n    none: true\n", 3,
	  16, "invalid IPv4 address '203.0.113'" },
	{ "empty name", EIPS "  - name: \"\"\n    none: true\n", 3, 11,
	  "'name' is an empty string" },
	{ "allocate without name",
	  EIPS "  - public_ip: 203.0.113.10\n    allocate: true\n"
	       "    none: true\n",
	  4, 5, "'allocate: true' needs 'name' instead of 'public_ip'" },
	{ "allocate yes",
	  EIPS "  - name: a\n    allocate: yes\n    none: true\n", 4, 15,
	  "'allocate' must be true or false, not 'yes'" },
	{ "no binding", EIPS "  - name: a\n", 3, 5,
	  "an elastic IP needs a binding: 'instance', 'network_interface', "
	  "'none: true' or 'failover'" },
	{ "two bindings",
	  EIPS "  - name: a\n    instance: " ID_A "\n    none: true\n", 5, 5,
	  "'none' cannot be combined with 'instance'" },
	{ "none false", EIPS "  - name: a\n    none: false\n", 4, 11,
	  "'none' can only be true" },
	{ "bad eni", EIPS "  - name: a\n    network_interface: eni-xyz\n", 4,
	  24, "invalid network interface id 'eni-xyz'" },
	{ "private ip with none",
	  EIPS "  - name: a\n    none: true\n    private_ip: 10.0.0.1\n", 5, 5,
	  "'private_ip' goes with 'instance' or 'network_interface', not "
	  "'none'" },
	{ "eni hint", EIPS "  - name: a\n    eni: eni-0123456789abcdef0\n", 3,
	  5, "an elastic IP needs a binding" },
	{ "failover without candidates",
	  EIPS "  - name: a\n    failover:\n      probe: {tcp: 22}\n", 5, 7,
	  "'failover' needs 'candidates'" },
	{ "failover empty candidates",
	  EIPS "  - name: a\n    failover:\n      candidates: []\n"
	       "      probe: {tcp: 22}\n",
	  5, 19, "'candidates' is empty" },
	{ "candidate bad id",
	  EIPS "  - name: a\n    failover:\n      candidates: [i-xyz, " ID_D
	       "]\n      probe: {tcp: 22}\n",
	  5, 20, "invalid instance id 'i-xyz'" },
	{ "candidate map without instance",
	  EIPS "  - name: a\n    failover:\n      candidates:\n"
	       "        - probe: {tcp: 22}\n        - " ID_D
	       "\n      probe: {tcp: 22}\n",
	  6, 11, "a candidate needs 'instance'" },
	{ "failover without probe",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n",
	  5, 7,
	  "'failover' needs a 'probe': on the block, or on every candidate" },
	{ "candidate without probe",
	  EIPS "  - name: a\n    failover:\n      candidates:\n"
	       "        - {instance: " ID_C
	       ", probe: {tcp: 22}}\n        - " ID_D "\n",
	  7, 11, "candidate '" ID_D "' has no probe" },
	{ "probe http and tcp",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {http: \"http://{private_ip}/\", tcp: 80}\n",
	  6, 45, "'tcp' cannot be combined with 'http'" },
	{ "probe empty",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {host: db.example.com}\n",
	  6, 14, "a probe needs 'http: URL' or 'tcp: PORT'" },
	{ "probe url scheme",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {http: \"ftp://{private_ip}/\"}\n",
	  6, 21, "must start with http:// or https://" },
	{ "probe url placeholder",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {http: \"http://{ip}:8080/\"}\n",
	  6, 21, "unknown placeholder in probe URL" },
	{ "probe url port",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {http: \"http://{private_ip}:0/\"}\n",
	  6, 21, "has an invalid port" },
	{ "probe host with http",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {http: \"http://{private_ip}/\", host: x}\n",
	  6, 45, "'host' is only for tcp probes" },
	{ "probe tcp port",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 0}\n",
	  6, 20, "'tcp' must be between 1 and 65535, not 0" },
	{ "probe bad host",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22, host: \"db_1.example\"}\n",
	  6, 30, "invalid host 'db_1.example'" },
	{ "probe timeout not below interval",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22}\n      interval: 1s\n"
	       "      timeout: 1s\n",
	  8, 16, "probe 'timeout' (1s) must be shorter than 'interval' (1s)" },
	{ "interval below default timeout",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22}\n      interval: 800ms\n",
	  7, 17,
	  "probe 'timeout' (1s, the default) must be shorter than 'interval' "
	  "(800ms)" },
	{ "fall zero",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22}\n      fall: 0\n",
	  7, 13, "'fall' must be between 1 and 100, not 0" },
	{ "rise float",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22}\n      rise: 1.5\n",
	  7, 13, "'rise' must be an integer, not a number" },
	{ "failback",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22}\n      failback: prefer-first\n",
	  7, 17,
	  "invalid failback 'prefer-first', did you mean 'prefer_first'?" },
	{ "enable_zones on a target group",
	  TG "      - " ID_A "\n    enable_zones: true\n", 6, 5,
	  "'enable_zones' is only for classic ELBs" },
	{ "enable_zones not a bool",
	  CLASSIC "      - " ID_A "\n    enable_zones: yes\n", 6, 19,
	  "'enable_zones' must be true or false, not 'yes'" },
	{ "failover unknown key",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       "]\n      probe: {tcp: 22}\n      intervall: 3s\n",
	  7, 7, "unknown key 'intervall', did you mean 'interval'?" },
};

static void test_invalid_table(void **state)
{
	(void)state;
	assert_int_equal(tspec_check_bad(bad_cases, ARRAY_SIZE(bad_cases)), 0);
	assert_true(ARRAY_SIZE(bad_cases) >= 50);
}

static const char full_yaml[] =
	"# the sketch from DESIGN.md, with everything spelled out\n"
	"version: 1\n"
	"region: us-east-1\n"
	"load_balancers:\n"
	"  - classic: web-classic\n"
	"    members:\n"
	"      - " ID_A "\n"
	"      - " ID_B "\n"
	"      - selector: {tags: {role: web}}\n"
	"    ownership: exclusive\n"
	"    wait: healthy\n"
	"    timeout: 5m\n"
	"    min_healthy: 50%\n"
	"  - target_group: web-tg\n"
	"    members:\n"
	"      - selector:\n"
	"          tags: {role: web, env: prod}\n"
	"          states: [running, stopped]\n"
	"        port: 8080\n"
	"      - id: " ID_A "\n"
	"        port: 9090\n"
	"    ownership: additive\n"
	"    wait: registered\n"
	"    timeout: 90s\n"
	"    drain: wait\n"
	"    drain_timeout: 2m\n"
	"    min_healthy: 2\n"
	"  - target_group: arn:aws:elasticloadbalancing:us-east-1:"
	"123456789012:targetgroup/ip-tg/0123456789abcdef\n"
	"    members:\n"
	"      - ip: 10.0.3.7\n"
	"        port: 8080\n"
	"        az: us-east-1a\n"
	"      - {ip: 10.0.3.8}\n"
	"    wait: none\n"
	"elastic_ips:\n"
	"  - allocation_id: eipalloc-0123456789abcdef0\n"
	"    instance: " ID_A "\n"
	"  - public_ip: 203.0.113.10\n"
	"    network_interface: eni-0123456789abcdef0\n"
	"    private_ip: 10.0.1.20\n"
	"  - name: vip-db\n"
	"    allocate: true\n"
	"    failover:\n"
	"      candidates:\n"
	"        - " ID_C "\n"
	"        - instance: " ID_D "\n"
	"          probe: {tcp: 5432, host: db2.example.com}\n"
	"      probe: {http: \"http://{private_ip}:8080/healthz\"}\n"
	"      interval: 1s\n"
	"      timeout: 500ms\n"
	"      fall: 2\n"
	"      rise: 3\n"
	"      failback: prefer_first\n"
	"  - name: spare\n"
	"    none: true\n";

static void test_valid_full(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;
	const struct spec_lb *lb;
	const struct spec_member *m;
	const struct spec_eip *e;
	char sha[UTIL_SHA256_HEX_SIZE];
	size_t n_lbs, n_members, n_eips;

	(void)state;
	s = tspec_load_ok(full_yaml, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(s->path, "t.yaml");
	util_sha256_hex(full_yaml, strlen(full_yaml), sha);
	assert_string_equal(s->sha256, sha);
	assert_int_equal(s->version, 1);
	assert_string_equal(s->region, "us-east-1");
	assert_int_equal(s->region_loc.line, 3);
	assert_int_equal(s->region_loc.col, 9);
	assert_int_equal(s->n_lbs, 3);
	assert_int_equal(s->n_eips, 4);

	lb = &s->lbs[0];
	assert_int_equal(lb->kind, SPEC_LB_CLASSIC);
	assert_string_equal(lb->name, "web-classic");
	assert_string_equal(spec_lb_label(lb), "web-classic");
	assert_int_equal(lb->loc.line, 5);
	assert_int_equal(lb->loc.col, 5);
	assert_int_equal(lb->n_members, 3);
	m = &lb->members[0];
	assert_int_equal(m->kind, SPEC_MEMBER_ID);
	assert_string_equal(m->id, ID_A);
	assert_int_equal(m->port, 0);
	assert_int_equal(m->loc.line, 7);
	assert_int_equal(m->loc.col, 9);
	assert_string_equal(lb->members[1].id, ID_B);
	m = &lb->members[2];
	assert_int_equal(m->kind, SPEC_MEMBER_SELECTOR);
	assert_null(m->id);
	assert_int_equal(m->n_tags, 1);
	assert_string_equal(m->tags[0].key, "role");
	assert_string_equal(m->tags[0].value, "web");
	assert_int_equal(m->n_states, 1);
	assert_string_equal(m->states[0], "running");
	assert_int_equal(lb->ownership, SPEC_OWNERSHIP_EXCLUSIVE);
	assert_int_equal(lb->wait, SPEC_WAIT_HEALTHY);
	assert_int_equal(lb->timeout_ms, 300000);
	assert_false(lb->drain_wait);
	assert_int_equal(lb->drain_timeout_ms, 300000);
	assert_true(lb->min_healthy.set);
	assert_true(lb->min_healthy.percent);
	assert_int_equal(lb->min_healthy.value, 50);
	assert_int_equal(lb->min_healthy.loc.line, 13);
	assert_int_equal(lb->min_healthy.loc.col, 18);

	lb = &s->lbs[1];
	assert_int_equal(lb->kind, SPEC_LB_TARGET_GROUP);
	assert_string_equal(lb->name, "web-tg");
	assert_int_equal(lb->n_members, 2);
	m = &lb->members[0];
	assert_int_equal(m->kind, SPEC_MEMBER_SELECTOR);
	assert_int_equal(m->n_tags, 2);
	assert_string_equal(m->tags[0].key, "role");
	assert_string_equal(m->tags[1].key, "env");
	assert_string_equal(m->tags[1].value, "prod");
	assert_int_equal(m->tags[1].loc.line, 17);
	assert_int_equal(m->n_states, 2);
	assert_string_equal(m->states[0], "running");
	assert_string_equal(m->states[1], "stopped");
	assert_int_equal(m->port, 8080);
	m = &lb->members[1];
	assert_int_equal(m->kind, SPEC_MEMBER_ID);
	assert_string_equal(m->id, ID_A);
	assert_int_equal(m->port, 9090);
	assert_int_equal(lb->ownership, SPEC_OWNERSHIP_ADDITIVE);
	assert_int_equal(lb->wait, SPEC_WAIT_REGISTERED);
	assert_int_equal(lb->timeout_ms, 90000);
	assert_true(lb->drain_wait);
	assert_int_equal(lb->drain_timeout_ms, 120000);
	assert_true(lb->min_healthy.set);
	assert_false(lb->min_healthy.percent);
	assert_int_equal(lb->min_healthy.value, 2);

	lb = &s->lbs[2];
	assert_int_equal(lb->kind, SPEC_LB_TARGET_GROUP);
	assert_true(!strncmp(lb->name, "arn:aws:elasticloadbalancing:", 29));
	assert_int_equal(lb->n_members, 2);
	m = &lb->members[0];
	assert_int_equal(m->kind, SPEC_MEMBER_IP);
	assert_string_equal(m->ip, "10.0.3.7");
	assert_string_equal(m->az, "us-east-1a");
	assert_int_equal(m->port, 8080);
	m = &lb->members[1];
	assert_int_equal(m->kind, SPEC_MEMBER_IP);
	assert_string_equal(m->ip, "10.0.3.8");
	assert_null(m->az);
	assert_int_equal(m->port, 0);
	assert_int_equal(lb->wait, SPEC_WAIT_NONE);
	assert_false(lb->min_healthy.set);

	e = &s->eips[0];
	assert_int_equal(e->ref, SPEC_EIP_BY_ALLOCATION_ID);
	assert_string_equal(e->allocation_id, "eipalloc-0123456789abcdef0");
	assert_null(e->public_ip);
	assert_null(e->name);
	assert_false(e->allocate);
	assert_int_equal(e->bind, SPEC_BIND_INSTANCE);
	assert_string_equal(e->instance, ID_A);
	assert_null(e->private_ip);
	assert_string_equal(spec_eip_label(e), "eipalloc-0123456789abcdef0");

	e = &s->eips[1];
	assert_int_equal(e->ref, SPEC_EIP_BY_PUBLIC_IP);
	assert_string_equal(e->public_ip, "203.0.113.10");
	assert_int_equal(e->bind, SPEC_BIND_ENI);
	assert_string_equal(e->eni, "eni-0123456789abcdef0");
	assert_string_equal(e->private_ip, "10.0.1.20");
	assert_null(e->instance);

	e = &s->eips[2];
	assert_int_equal(e->ref, SPEC_EIP_BY_NAME);
	assert_string_equal(e->name, "vip-db");
	assert_true(e->allocate);
	assert_int_equal(e->bind, SPEC_BIND_FAILOVER);
	assert_int_equal(e->failover.n_candidates, 2);
	assert_string_equal(e->failover.candidates[0].instance, ID_C);
	assert_int_equal(e->failover.candidates[0].probe.kind, SPEC_PROBE_NONE);
	assert_int_equal(e->failover.candidates[0].loc.line, 45);
	assert_string_equal(e->failover.candidates[1].instance, ID_D);
	assert_int_equal(e->failover.candidates[1].probe.kind, SPEC_PROBE_TCP);
	assert_int_equal(e->failover.candidates[1].probe.tcp_port, 5432);
	assert_string_equal(e->failover.candidates[1].probe.tcp_host,
			    "db2.example.com");
	assert_int_equal(e->failover.probe.kind, SPEC_PROBE_HTTP);
	assert_string_equal(e->failover.probe.http_url,
			    "http://{private_ip}:8080/healthz");
	assert_null(e->failover.probe.tcp_host);
	assert_int_equal(e->failover.interval_ms, 1000);
	assert_int_equal(e->failover.timeout_ms, 500);
	assert_int_equal(e->failover.fall, 2);
	assert_int_equal(e->failover.rise, 3);
	assert_int_equal(e->failover.failback, SPEC_FAILBACK_PREFER_FIRST);

	e = &s->eips[3];
	assert_string_equal(e->name, "spare");
	assert_int_equal(e->bind, SPEC_BIND_NONE);

	spec_counts(s, &n_lbs, &n_members, &n_eips);
	assert_int_equal(n_lbs, 3);
	assert_int_equal(n_members, 7);
	assert_int_equal(n_eips, 4);
	spec_free(s);
	spec_diags_release(&d);
}

static void test_valid_defaults(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;
	const struct spec_eip *e;

	(void)state;
	s = tspec_load_ok(
		TG "      - selector: {tags: {role: web}}\n" EIPS_KEY
		   "  - name: db\n    failover:\n      candidates: [" ID_C
		   ", " ID_D "]\n      probe: {tcp: 5432}\n",
		&d);
	assert_null(s->region);
	assert_int_equal(s->region_loc.line, 0);
	assert_int_equal(s->lbs[0].ownership, SPEC_OWNERSHIP_EXCLUSIVE);
	assert_int_equal(s->lbs[0].wait, SPEC_WAIT_HEALTHY);
	assert_int_equal(s->lbs[0].timeout_ms, 5 * 60 * 1000);
	assert_false(s->lbs[0].drain_wait);
	assert_int_equal(s->lbs[0].drain_timeout_ms, 5 * 60 * 1000);
	assert_false(s->lbs[0].min_healthy.set);
	assert_false(s->lbs[0].enable_zones);
	assert_int_equal(s->lbs[0].members[0].port, 0);
	assert_int_equal(s->lbs[0].members[0].n_states, 1);
	assert_string_equal(s->lbs[0].members[0].states[0], "running");
	e = &s->eips[0];
	assert_false(e->allocate);
	assert_int_equal(e->failover.interval_ms, 2000);
	assert_int_equal(e->failover.timeout_ms, 1000);
	assert_int_equal(e->failover.fall, 3);
	assert_int_equal(e->failover.rise, 2);
	assert_int_equal(e->failover.failback, SPEC_FAILBACK_STAY);
	assert_int_equal(e->failover.probe.kind, SPEC_PROBE_TCP);
	assert_int_equal(e->failover.probe.tcp_port, 5432);
	assert_null(e->failover.probe.tcp_host);
	spec_free(s);
	spec_diags_release(&d);

	/* drain_timeout defaults to the group's own timeout. */
	s = tspec_load_ok(CLASSIC "      - " ID_A
				  "\n    timeout: 45s\n    drain: wait\n",
			  &d);
	assert_true(s->lbs[0].drain_wait);
	assert_int_equal(s->lbs[0].drain_timeout_ms, 45000);
	spec_free(s);
	spec_diags_release(&d);

	s = tspec_load_ok(CLASSIC "      - " ID_A "\n    enable_zones: true\n",
			  &d);
	assert_true(s->lbs[0].enable_zones);
	spec_free(s);
	spec_diags_release(&d);
}

/* Tag values may be any scalar: AWS tags are strings. */
static void test_tag_scalars(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;
	const struct spec_member *m;

	(void)state;
	s = tspec_load_ok(
		TG "      - selector: {tags: {on: true, n: 42, e: ''}}\n", &d);
	m = &s->lbs[0].members[0];
	assert_int_equal(m->n_tags, 3);
	assert_string_equal(m->tags[0].key, "on");
	assert_string_equal(m->tags[0].value, "true");
	assert_string_equal(m->tags[1].value, "42");
	assert_string_equal(m->tags[2].value, "");
	spec_free(s);
	spec_diags_release(&d);
}

/* Warnings are reported but do not make the spec invalid. */
static void test_warnings(void **state)
{
	struct spec_diags d = { 0 };
	struct buf b = BUF_INIT;
	struct spec *s;

	(void)state;
	s = tspec_load_ok(CLASSIC "      - " ID_A "\n    wait: none\n"
				  "    timeout: 1m\n    drain_timeout: 1m\n"
				  "  - classic: other\n    members: []\n",
			  &d);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.n_errors, 0);
	spec_diag_format(&d, 0, &b);
	assert_string_equal(b.buf, "t.yaml:7:5: warning: 'timeout' has no "
				   "effect with 'wait: none'");
	assert_int_equal(d.v[1].line, 8);
	assert_non_null(strstr(d.v[1].msg, "'drain_timeout' has no effect"));
	assert_int_equal(d.v[2].line, 10);
	assert_non_null(strstr(d.v[2].msg, "deregisters every member of "
					   "'other'"));
	buf_release(&b);
	spec_free(s);
	spec_diags_release(&d);
}

/* A value that could not be read is not compared with anything. */
static void test_no_cascade(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	(void)state;
	assert_int_equal(
		tspec_load(
			EIPS
			"  - name: a\n    failover:\n      candidates: [" ID_C
			", " ID_D "]\n      probe: {tcp: 22}\n"
			"      interval: soon\n      timeout: 3s\n",
			&s, &d, &err),
		UTIL_EINVAL);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].line, 7);
	assert_non_null(strstr(d.v[0].msg, "'interval': invalid duration"));
	spec_diags_release(&d);

	/* An unsupported version stops there: the rest may be another format. */
	assert_int_equal(tspec_load("version: 2\nfrobs: [1]\n", &s, &d, &err),
			 UTIL_EINVAL);
	assert_int_equal(d.n_errors, 1);
	spec_diags_release(&d);
}

/* Decoding of the probes that read AWS (target_health, instance_health,
 * instance_status): the kinds, where they may appear, their errors. */

#define PROBE_HEAD                                        \
	"version: 1\n"                                    \
	"region: us-east-1\n"                             \
	"elastic_ips:\n"                                  \
	"  - allocation_id: eipalloc-0123456789abcdef0\n" \
	"    failover:\n"
#define PROBE_ID_A "i-0aaaaaaaaaaaaaaaa"
#define PROBE_ID_B "i-0bbbbbbbbbbbbbbbb"
#define PROBE_TG_ARN                                                       \
	"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" \
	"web-tg/0123456789abcdef"

static int probe_load(const char *yaml, struct spec **ret, struct spec_diags *d)
{
	struct util_err err = UTIL_ERR_INIT;

	return spec_load_buffer("t.yaml", yaml, strlen(yaml), ret, d, &err);
}

static void probe_dump(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		print_message("  %s\n", b.buf);
	}
	buf_release(&b);
}

static struct spec *probe_load_ok(const char *yaml, struct spec_diags *d)
{
	struct spec *s = NULL;

	if (probe_load(yaml, &s, d) != 0) {
		probe_dump(d);
		fail_msg("expected a valid spec");
	}
	return s;
}

static void test_aws_probe_kinds(void **state)
{
	static const struct {
		const char *probe;
		enum spec_probe_kind kind;
		const char *ref;
	} cases[] = {
		{ "{target_health: web-tg}", SPEC_PROBE_TARGET_HEALTH,
		  "web-tg" },
		{ "{target_health: " PROBE_TG_ARN "}", SPEC_PROBE_TARGET_HEALTH,
		  PROBE_TG_ARN },
		{ "{instance_health: web-elb}", SPEC_PROBE_INSTANCE_HEALTH,
		  "web-elb" },
		{ "{instance_status: ok}", SPEC_PROBE_INSTANCE_STATUS, NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char yaml[1024];
		struct spec_diags d = { 0 };
		struct spec *s;
		const struct spec_probe *p;

		snprintf(yaml, sizeof(yaml),
			 PROBE_HEAD "      candidates: [" PROBE_ID_A
				    ", " PROBE_ID_B "]\n"
				    "      probe: %s\n",
			 cases[i].probe);
		s = probe_load_ok(yaml, &d);
		p = &s->eips[0].failover.probe;
		assert_int_equal(p->kind, cases[i].kind);
		assert_true(spec_probe_reads_aws(p->kind));
		if (cases[i].ref)
			assert_string_equal(p->aws_ref, cases[i].ref);
		else
			assert_null(p->aws_ref);
		assert_int_equal(p->loc.line, 7);
		spec_free(s);
		spec_diags_release(&d);
	}
	assert_false(spec_probe_reads_aws(SPEC_PROBE_HTTP));
	assert_false(spec_probe_reads_aws(SPEC_PROBE_TCP));
	assert_false(spec_probe_reads_aws(SPEC_PROBE_NONE));
}

/* Per candidate, mixed with a network probe of the block. */
static void test_aws_probe_per_candidate(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;
	const struct spec_failover *f;

	(void)state;
	s = probe_load_ok(PROBE_HEAD
			  "      candidates:\n"
			  "        - {instance: " PROBE_ID_A
			  ", probe: {instance_status: ok}}\n"
			  "        - instance: " PROBE_ID_B "\n"
			  "          probe: {instance_health: web-elb}\n"
			  "      probe: {tcp: 22}\n",
			  &d);
	f = &s->eips[0].failover;
	assert_int_equal(f->probe.kind, SPEC_PROBE_TCP);
	assert_int_equal(f->candidates[0].probe.kind,
			 SPEC_PROBE_INSTANCE_STATUS);
	assert_int_equal(f->candidates[1].probe.kind,
			 SPEC_PROBE_INSTANCE_HEALTH);
	assert_string_equal(f->candidates[1].probe.aws_ref, "web-elb");
	spec_free(s);
	spec_diags_release(&d);
}

struct bad {
	const char *probe;
	unsigned line, col;
	const char *frag;
};

static void test_aws_probe_errors(void **state)
{
	static const struct bad cases[] = {
		{ "{target_health: -web}", 7, 30,
		  "invalid target group name '-web' in 'target_health'" },
		{ "{target_health: \"arn:aws:elasticloadbalancing:x\"}", 7, 30,
		  "invalid target group ARN" },
		{ "{target_health: \"arn:aws:elasticloadbalancing:eu-west-1:"
		  "123456789012:targetgroup/web-tg/0123456789abcdef\"}",
		  7, 30, "is in region 'eu-west-1', not the spec's" },
		{ "{target_health: 12}", 7, 30,
		  "'target_health' must be a string" },
		{ "{instance_health: web_elb}", 7, 32,
		  "invalid classic ELB name 'web_elb' in 'instance_health'" },
		{ "{instance_health: \"\"}", 7, 32,
		  "'instance_health' is an empty string" },
		{ "{instance_status: impaired}", 7, 32,
		  "invalid 'instance_status' 'impaired' (expected ok)" },
		{ "{instance_status: ok, target_health: web-tg}", 7, 36,
		  "'target_health' cannot be combined with 'instance_status'" },
		{ "{http: \"http://{private_ip}/\", instance_status: ok}", 7,
		  45, "'instance_status' cannot be combined with 'http'" },
		{ "{instance_status: ok, host: db}", 7, 36,
		  "'host' is only for tcp probes" },
		{ "{instance_stat: ok}", 7, 15,
		  "unknown key 'instance_stat', did you mean "
		  "'instance_status'?" },
		{ "{}", 7, 14,
		  "a probe needs 'http: URL' or 'tcp: PORT' (or, read from "
		  "AWS, 'target_health: GROUP'" },
	};
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char yaml[1024];
		struct spec_diags d = { 0 };
		struct spec *s = NULL;
		const struct spec_diag *g = NULL;
		int r;

		snprintf(yaml, sizeof(yaml),
			 PROBE_HEAD "      candidates: [" PROBE_ID_A
				    ", " PROBE_ID_B "]\n"
				    "      probe: %s\n",
			 cases[i].probe);
		r = probe_load(yaml, &s, &d);
		/* The error this probe causes, wherever it sorts. */
		for (size_t k = 0; k < d.n && !g; k++)
			if (d.v[k].severity == SPEC_ERROR &&
			    d.v[k].line == cases[i].line &&
			    d.v[k].col == cases[i].col &&
			    strstr(d.v[k].msg, cases[i].frag))
				g = &d.v[k];
		if (r != UTIL_EINVAL || s || !g) {
			print_message("case '%s': want %u:%u '%s':\n",
				      cases[i].probe, cases[i].line,
				      cases[i].col, cases[i].frag);
			probe_dump(&d);
			failed++;
		}
		spec_free(s);
		spec_diags_release(&d);
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_table),
		cmocka_unit_test(test_valid_full),
		cmocka_unit_test(test_valid_defaults),
		cmocka_unit_test(test_tag_scalars),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_no_cascade),
		cmocka_unit_test(test_aws_probe_kinds),
		cmocka_unit_test(test_aws_probe_per_candidate),
		cmocka_unit_test(test_aws_probe_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
