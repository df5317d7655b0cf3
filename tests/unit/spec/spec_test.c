#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/ids.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"

#define V1	 "version: 1\n"
#define ID_A	 "i-0123456789abcdef0"
#define ID_B	 "i-0fedcba9876543210"
#define ID_C	 "i-0aaaaaaaaaaaaaaaa"
#define ID_D	 "i-0bbbbbbbbbbbbbbbb"
/* A classic ELB whose members follow, indented for a list item. */
#define CLASSIC	 V1 "load_balancers:\n  - classic: web\n    members:\n"
#define TG	 V1 "load_balancers:\n  - target_group: web-tg\n    members:\n"
#define EIPS_KEY "elastic_ips:\n"
#define EIPS	 V1 EIPS_KEY

static int load(const char *yaml, struct spec **ret, struct spec_diags *d,
		struct util_err *err)
{
	return spec_load_buffer("t.yaml", yaml, strlen(yaml), ret, d, err);
}

static const struct spec_diag *first_error(const struct spec_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == SPEC_ERROR)
			return &d->v[i];
	return NULL;
}

static void dump(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		print_message("  %s\n", b.buf);
	}
	buf_release(&b);
}

/* --- the invalid table ---------------------------------------------------- */

struct bad {
	const char *name;
	const char *yaml;
	unsigned line, col; /* of the first error, after sorting */
	const char *frag;   /* part of its message */
};

static const struct bad bad_cases[] = {
	/* YAML itself */
	{ "syntax error", V1 "load_balancers: [\n", 3, 1,
	  "syntax error: did not find expected node content" },
	{ "syntax error mapping", V1 "region: a: b\n", 2, 10,
	  "syntax error: mapping values are not allowed" },
	{ "tab indentation", V1 "load_balancers:\n\t- classic: web\n", 3, 1,
	  "tab character in indentation" },
	{ "tab after spaces",
	  CLASSIC "      - " ID_A "\n    \townership: additive\n", 6, 5,
	  "tab character in indentation" },
	{ "invalid utf-8", V1 "region: \"us-east-1\xff\"\n", 2, 19,
	  "invalid UTF-8 (byte 0xff)" },
	{ "overlong utf-8", V1 "# \xc0\xaf\n", 2, 3, "invalid UTF-8" },
	{ "control character", V1 "region: \"a\x07\"\n", 2, 11,
	  "control character U+0007" },
	{ "second document", V1 "elastic_ips: []\n---\n" V1, 3, 1,
	  "a second YAML document" },
	{ "duplicate key", V1 "version: 1\nelastic_ips: []\n", 2, 1,
	  "duplicate key 'version' (first at line 1)" },
	{ "duplicate key in flow map",
	  EIPS "  - {name: a, name: b, none: true}\n", 3, 15,
	  "duplicate key 'name' (first at line 3, column 6)" },
	{ "non-scalar key", V1 "[a]: 1\nelastic_ips: []\n", 2, 1,
	  "a key must be a plain string, not a list" },
	{ "unknown anchor", V1 "elastic_ips: *nope\n", 2, 14,
	  "unknown anchor 'nope'" },
	{ "unsupported tag", V1 "elastic_ips: !foo []\n", 2, 14,
	  "unsupported YAML tag '!foo'" },
	{ "merge key",
	  V1 "x-d: &d {none: true}\nelastic_ips:\n  - <<: *d\n"
	     "    name: a\n",
	  4, 5, "merge keys ('<<') are not supported" },
	{ "alias bomb",
	  V1 "x-a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	     "x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	     "x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	     "x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	     "x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	     "x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	     "x-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	     "x-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	     "x-i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
	  7, 31, "aliases expand to more than 1000000 nodes" },
	{ "too deep",
	  V1 "x-deep: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]"
	     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	     "]]]]]]]]]]]]\n",
	  2, 72, "nesting is deeper than 64 levels" },

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
	  "unknown key 'frobnicate' in the spec (valid keys: version, region, "
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
	{ "member twice",
	  CLASSIC "      - " ID_A "\n      - " ID_B "\n      - " ID_A "\n", 7,
	  9, "member '" ID_A "' is listed twice in 'web' (first at line 5)" },
	{ "member twice as map",
	  CLASSIC "      - " ID_A "\n      - id: " ID_A "\n", 6, 9,
	  "is listed twice in 'web'" },
	{ "member twice with port",
	  TG "      - {id: " ID_A ", port: 80}\n      - {id: " ID_A
	     ", port: 81}\n      - {id: " ID_A ", port: 80}\n",
	  7, 9, "member '" ID_A "' port 80 is listed twice" },
	{ "selector twice",
	  TG "      - selector: {tags: {role: web, env: prod}}\n"
	     "      - selector: {tags: {env: prod, role: web}, states: "
	     "[running]}\n",
	  6, 9, "member selector env=prod,role=web is listed twice" },
	{ "ip member twice", TG "      - ip: 10.0.3.7\n      - ip: 10.0.3.7\n",
	  6, 9, "member '10.0.3.7' is listed twice" },
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
	{ "mixed target types", TG "      - " ID_A "\n      - ip: 10.0.0.1\n",
	  6, 9, "target group 'web-tg' mixes instance and ip members" },
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
	{ "min_healthy above members",
	  CLASSIC "      - " ID_A "\n      - " ID_B "\n    min_healthy: 3\n", 7,
	  18, "'min_healthy' is 3, but 'web' declares only 2 members" },
	{ "min_healthy percent",
	  CLASSIC "      - " ID_A "\n    min_healthy: 101%\n", 6, 18,
	  "'min_healthy' must be at most 100%" },
	{ "min_healthy garbage",
	  CLASSIC "      - " ID_A "\n    min_healthy: half\n", 6, 18,
	  "'min_healthy' must be a count such as 2 or a percentage" },
	{ "min_healthy negative",
	  CLASSIC "      - " ID_A "\n    min_healthy: -1\n", 6, 18,
	  "'min_healthy' must be between 0 and" },
	{ "group twice",
	  V1 "load_balancers:\n  - classic: web\n    members: [" ID_A "]\n"
	     "  - classic: web\n    members: [" ID_B "]\n",
	  5, 5, "classic ELB 'web' is declared twice (first at line 3)" },
	{ "target group by name and by arn",
	  V1 "load_balancers:\n  - target_group: web\n    members: [" ID_A "]\n"
	     "  - target_group: arn:aws:elasticloadbalancing:us-east-1:"
	     "123456789012:targetgroup/web/0123456789abcdef\n"
	     "    members: [" ID_B "]\n",
	  5, 5, "target group 'arn:aws:elasticloadbalancing:us-east-1" },

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
	{ "address twice by allocation id",
	  EIPS "  - allocation_id: eipalloc-0123456789abcdef0\n    none: true\n"
	       "  - allocation_id: eipalloc-0123456789abcdef0\n"
	       "    none: true\n",
	  5, 5,
	  "elastic IP 'eipalloc-0123456789abcdef0' is declared twice (first "
	  "at line 3)" },
	{ "address twice by public ip",
	  EIPS "  - public_ip: 203.0.113.10\n    none: true\n"
	       "  - public_ip: 203.0.113.10\n    none: true\n",
	  5, 5, "elastic IP '203.0.113.10' is declared twice" },
	{ "address twice by name",
	  EIPS "  - {name: vip, none: true}\n  - {name: vip, none: true}\n", 4,
	  5, "elastic IP 'vip' is declared twice (first at line 3)" },
	{ "same instance primary ip",
	  EIPS "  - name: a\n    instance: " ID_A
	       "\n  - name: b\n    instance: " ID_A "\n",
	  5, 5,
	  "elastic IP 'b' is bound to the primary private IP of instance '" ID_A
	  "', and so is 'a' (line 3)" },
	{ "same eni private ip",
	  EIPS "  - name: a\n    network_interface: eni-0123456789abcdef0\n"
	       "    private_ip: 10.0.1.20\n"
	       "  - name: b\n    network_interface: eni-0123456789abcdef0\n"
	       "    private_ip: 10.0.1.20\n",
	  6, 5,
	  "is bound to private IP 10.0.1.20 of network interface "
	  "'eni-0123456789abcdef0'" },
	{ "failover candidate holds another address",
	  EIPS "  - name: web\n    instance: " ID_C "\n"
	       "  - name: db\n    failover:\n      candidates: [" ID_D ", " ID_C
	       "]\n      probe: {tcp: 5432}\n",
	  7, 41,
	  "failover candidate '" ID_C "' holds elastic IP 'web' (line 3): "
	  "moving 'db' there would silently detach 'web'" },
	{ "address bound to a failover candidate",
	  EIPS "  - name: db\n    failover:\n      candidates: [" ID_D ", " ID_C
	       "]\n      probe: {tcp: 5432}\n  - name: web\n    instance: " ID_C
	       "\n",
	  7, 5,
	  "elastic IP 'web' is bound to instance '" ID_C "', a failover "
	  "candidate of 'db' (line 5): a failover there would "
	  "silently detach 'web'" },
	{ "candidates shared",
	  EIPS "  - name: a\n    failover: {candidates: [" ID_C ", " ID_D
	       "], probe: {tcp: 22}}\n  - name: b\n    failover: {candidates: "
	       "[" ID_D ", " ID_A "], probe: {tcp: 22}}\n",
	  6, 29,
	  "failover candidate '" ID_D "' is also a candidate of elastic IP "
	  "'a' (line 4): one re-association would silently detach the other "
	  "address" },
	{ "failover without candidates",
	  EIPS "  - name: a\n    failover:\n      probe: {tcp: 22}\n", 5, 7,
	  "'failover' needs 'candidates'" },
	{ "failover empty candidates",
	  EIPS "  - name: a\n    failover:\n      candidates: []\n"
	       "      probe: {tcp: 22}\n",
	  5, 19, "'candidates' is empty" },
	{ "candidate twice",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       ", " ID_C "]\n      probe: {tcp: 22}\n",
	  5, 62, "candidate '" ID_C "' is listed twice (first at line 5" },
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
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad *c = &bad_cases[i];
		struct spec_diags d = { 0 };
		struct util_err err = UTIL_ERR_INIT;
		struct spec *s = NULL;
		const struct spec_diag *g;
		int r = load(c->yaml, &s, &d, &err);

		g = first_error(&d);
		if (r != UTIL_EINVAL || s || !g || g->line != c->line ||
		    g->col != c->col || !strstr(g->msg, c->frag) ||
		    err.code != UTIL_EINVAL) {
			print_message("case '%s': want %u:%u '%s', got r=%d:\n",
				      c->name, c->line, c->col, c->frag, r);
			dump(&d);
			failed++;
		}
		spec_free(s);
		spec_diags_release(&d);
	}
	assert_int_equal(failed, 0);
	assert_true(ARRAY_SIZE(bad_cases) >= 50);
}

/* --- valid specs, field by field ------------------------------------------ */

static struct spec *load_ok(const char *yaml, struct spec_diags *d)
{
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	if (load(yaml, &s, d, &err) != 0) {
		dump(d);
		fail_msg("expected a valid spec");
	}
	assert_non_null(s);
	assert_int_equal(d->n_errors, 0);
	return s;
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
	s = load_ok(full_yaml, &d);
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
	s = load_ok(TG "      - selector: {tags: {role: web}}\n" EIPS_KEY
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
	s = load_ok(CLASSIC "      - " ID_A
			    "\n    timeout: 45s\n    drain: wait\n",
		    &d);
	assert_true(s->lbs[0].drain_wait);
	assert_int_equal(s->lbs[0].drain_timeout_ms, 45000);
	spec_free(s);
	spec_diags_release(&d);

	s = load_ok(CLASSIC "      - " ID_A "\n    enable_zones: true\n", &d);
	assert_true(s->lbs[0].enable_zones);
	spec_free(s);
	spec_diags_release(&d);
}

/* Anchors, x- keys, a BOM, CRLF line ends, quoted and tagged scalars. */
static void test_valid_yaml_features(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	s = load_ok("\xef\xbb\xbfversion: 1\r\n"
		    "x-probe: &probe {tcp: 5432}\r\n"
		    "x-web: &web {tags: {role: web, \"tier\": !!str 1}}\r\n"
		    "load_balancers:\r\n"
		    "  - target_group: 'web-tg'\r\n"
		    "    members: [{selector: *web, port: !!int 80}]\r\n"
		    "elastic_ips:\r\n"
		    "  - name: \"vip \\u00e9\"\r\n"
		    "    failover:\r\n"
		    "      candidates: [" ID_C ", {instance: " ID_D
		    ", probe: *probe}]\r\n"
		    "      probe: *probe\r\n",
		    &d);
	assert_string_equal(s->lbs[0].name, "web-tg");
	assert_int_equal(s->lbs[0].members[0].port, 80);
	assert_int_equal(s->lbs[0].members[0].n_tags, 2);
	assert_string_equal(s->lbs[0].members[0].tags[1].key, "tier");
	assert_string_equal(s->lbs[0].members[0].tags[1].value, "1");
	assert_string_equal(s->eips[0].name, "vip \xc3\xa9");
	assert_int_equal(s->eips[0].failover.candidates[1].probe.kind,
			 SPEC_PROBE_TCP);
	assert_int_equal(s->eips[0].failover.probe.tcp_port, 5432);
	/* Locations count lines across CRLF and skip the BOM. */
	assert_int_equal(s->eips[0].loc.line, 8);
	assert_int_equal(s->eips[0].loc.col, 5);
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
	s = load_ok(TG "      - selector: {tags: {on: true, n: 42, e: ''}}\n",
		    &d);
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
	s = load_ok(CLASSIC "      - " ID_A "\n    wait: none\n"
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

/* min_healthy may exceed the listed members when a selector may add more. */
static void test_min_healthy_with_selector(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	s = load_ok(CLASSIC "      - " ID_A
			    "\n      - selector: {tags: {a: b}}\n"
			    "    min_healthy: 5\n",
		    &d);
	assert_int_equal(s->lbs[0].min_healthy.value, 5);
	spec_free(s);
	spec_diags_release(&d);
	s = load_ok(CLASSIC "      - " ID_A "\n    min_healthy: 1\n", &d);
	spec_free(s);
	spec_diags_release(&d);
}

/* A distinct private_ip is a different claim; ENI and instance differ. */
static void test_bindings_distinct(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	s = load_ok(EIPS "  - name: a\n    instance: " ID_A "\n"
			 "  - name: b\n    instance: " ID_A "\n"
			 "    private_ip: 10.0.0.9\n"
			 "  - name: c\n    failover:\n      candidates: [" ID_B
			 ", " ID_C "]\n      probe: {tcp: 1}\n"
			 "  - name: d\n    network_interface: "
			 "eni-0123456789abcdef0\n"
			 "  - name: e\n    network_interface: "
			 "eni-0123456789abcdef0\n    private_ip: 10.0.0.7\n",
		    &d);
	assert_int_equal(s->n_eips, 5);
	assert_int_equal(d.n, 0);
	spec_free(s);
	spec_diags_release(&d);
}

/* --- several errors, one run ---------------------------------------------- */

static void test_all_errors_sorted(void **state)
{
	static const char yaml[] = "version: 1\n"
				   "elastic_ips:\n"
				   "  - name: a\n"
				   "    instance: " ID_A "\n"
				   "  - name: a\n" /* 5: declared twice */
				   "    instance: i-bad\n" /* 6: malformed id */
				   "load_balancers:\n"
				   "  - classic: web\n"
				   "    memebrs: [" ID_A
				   "]\n" /* 9: unknown key */
				   "    members: [" ID_A "]\n"
				   "    wait: forever\n" /* 11: bad enum */
				   "region: mars-1\n";	 /* 12: bad region */
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf b = BUF_INIT;
	struct spec *s = NULL;
	static const unsigned lines[] = { 5, 6, 9, 11, 12 };

	(void)state;
	assert_int_equal(load(yaml, &s, &d, &err), UTIL_EINVAL);
	assert_null(s);
	if (d.n != 5)
		dump(&d);
	assert_int_equal(d.n, 5);
	assert_int_equal(d.n_errors, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(d.v[i].line, lines[i]);
	spec_diag_format(&d, 0, &b);
	assert_string_equal(b.buf, "t.yaml:5:5: elastic IP 'a' is declared "
				   "twice (first at line 3)");
	buf_reset(&b);
	spec_diag_format(&d, 2, &b);
	assert_string_equal(
		b.buf,
		"t.yaml:9:5: unknown key 'memebrs', did you mean 'members'?");
	/* err holds the first error and the count of the others. */
	assert_int_equal(err.code, UTIL_EINVAL);
	assert_string_equal(err.path, "t.yaml");
	assert_int_equal(err.line, 5);
	assert_int_equal(err.col, 5);
	assert_non_null(strstr(err.msg, "(and 4 more errors)"));
	buf_release(&b);
	spec_diags_release(&d);
}

/* An error under an anchor is reported once, however often it is used. */
static void test_alias_error_once(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	(void)state;
	assert_int_equal(load(TG "      - &m {id: " ID_A ", port: 99999}\n"
				 "      - {id: " ID_B
				 ", port: 1}\n      - *m\n",
			      &s, &d, &err),
			 UTIL_EINVAL);
	/* The bad port (once, at the anchor) and the alias's duplicate. */
	assert_int_equal(d.n_errors, 2);
	assert_int_equal(d.v[0].line, 5);
	assert_int_equal(d.v[0].col, 44);
	assert_non_null(strstr(d.v[0].msg, "'port' must be between"));
	assert_int_equal(d.v[1].line, 7);
	assert_non_null(strstr(d.v[1].msg, "is listed twice"));
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
		load(EIPS "  - name: a\n    failover:\n      candidates: [" ID_C
			  ", " ID_D "]\n      probe: {tcp: 22}\n"
			  "      interval: soon\n      timeout: 3s\n",
		     &s, &d, &err),
		UTIL_EINVAL);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].line, 7);
	assert_non_null(strstr(d.v[0].msg, "'interval': invalid duration"));
	spec_diags_release(&d);

	/* An unsupported version stops there: the rest may be another format. */
	assert_int_equal(load("version: 2\nfrobs: [1]\n", &s, &d, &err),
			 UTIL_EINVAL);
	assert_int_equal(d.n_errors, 1);
	spec_diags_release(&d);
}

static void test_error_cap(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf y = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	buf_addstr(&y, CLASSIC);
	for (int i = 0; i < 500; i++)
		buf_addstr(&y, "      - i-bad\n");
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 UTIL_EINVAL);
	/* 200 errors and the "too many" line; repeats of i-bad are errors
	 * of their own (each is malformed), so the cap is what stops them. */
	assert_int_equal(d.n_errors, 201);
	assert_non_null(strstr(d.v[200].msg, "too many errors"));
	buf_release(&y);
	spec_diags_release(&d);
}

/* Huge or odd values are quoted clipped, on one line. */
static void test_long_values(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf y = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	buf_addstr(&y, CLASSIC "      - i-");
	for (int i = 0; i < 100000; i++)
		buf_addch(&y, 'f');
	buf_addstr(&y, "\n      - selector: {tags: {\"a\\tb\": c}}\n");
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 UTIL_EINVAL);
	assert_int_equal(d.n_errors, 2);
	assert_true(strlen(d.v[0].msg) < 160);
	assert_non_null(strstr(d.v[0].msg, "'i-ffffffffff"));
	assert_non_null(strstr(d.v[0].msg, "...'"));
	assert_int_equal(d.v[1].line, 6);
	assert_non_null(strstr(d.v[1].msg, "without control characters"));
	assert_null(strchr(d.v[1].msg, '\t'));
	buf_release(&y);
	spec_diags_release(&d);
}

/* --- limits ----------------------------------------------------------------- */

static void test_size_limit_buffer(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	size_t n = SPEC_MAX_FILE_SIZE + 1;
	char *data = util_xmalloc(n);

	(void)state;
	/* Invalid UTF-8 throughout: had it been read, that would show. */
	memset(data, 0xff, n);
	assert_int_equal(spec_load_buffer("big.yaml", data, n, &s, &d, &err),
			 UTIL_EINVAL);
	assert_null(s);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[0].col, 1);
	assert_non_null(strstr(d.v[0].msg, "larger than 16 MiB"));
	spec_diags_release(&d);

	/* Exactly the limit is fine. */
	memset(data, '#', n);
	memcpy(data, EIPS "  - {name: a, none: true}\n",
	       strlen(EIPS "  - {name: a, none: true}\n"));
	data[SPEC_MAX_FILE_SIZE - 1] = '\n';
	util_err_clear(&err);
	assert_int_equal(spec_load_buffer("big.yaml", data, SPEC_MAX_FILE_SIZE,
					  &s, &d, &err),
			 0);
	assert_non_null(s);
	spec_free(s);
	spec_diags_release(&d);
	free(data);
}

static void test_files(void **state)
{
	char path[] = "/tmp/spec_test_XXXXXX";
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	static const char yaml[] = EIPS "  - {name: a, none: true}\n";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	assert_int_equal(spec_load_file(path, &s, &d, &err), 0);
	assert_string_equal(s->path, path);
	assert_string_equal(s->eips[0].name, "a");
	spec_free(s);
	s = NULL;
	spec_diags_release(&d);

	/* One byte over the limit: refused from its size, unread. */
	assert_int_equal(ftruncate(fd, SPEC_MAX_FILE_SIZE + 1), 0);
	assert_int_equal(spec_load_file(path, &s, &d, &err), UTIL_EINVAL);
	assert_null(s);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "larger than 16 MiB (16777217 "
					   "bytes)"));
	assert_string_equal(err.path, path);
	spec_diags_release(&d);
	close(fd);
	unlink(path);

	util_err_clear(&err);
	assert_int_equal(spec_load_file(path, &s, &d, &err), UTIL_EIO);
	assert_null(s);
	assert_non_null(strstr(err.msg, "cannot read spec"));
	assert_non_null(strstr(err.msg, "No such file"));
	spec_diags_release(&d);

	util_err_clear(&err);
	assert_int_equal(spec_load_file("/tmp", &s, &d, &err), UTIL_EIO);
	assert_non_null(strstr(err.msg, "Is a directory"));
	spec_diags_release(&d);
}

/* 10,000 members, a few duplicates among them: found without O(n^2). */
static void test_many_members(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf y = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	buf_addstr(&y, TG);
	for (int i = 0; i < 10000; i++)
		buf_addf(&y, "      - {id: i-%017x, port: %d}\n", i,
			 8000 + i % 7);
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 0);
	assert_int_equal(s->lbs[0].n_members, 10000);
	spec_free(s);
	s = NULL;
	spec_diags_release(&d);
	buf_addf(&y, "      - {id: i-%017x, port: %d}\n", 4242,
		 8000 + 4242 % 7);
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 UTIL_EINVAL);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].line, 10005);
	assert_non_null(strstr(d.v[0].msg, "(first at line 4247)"));
	buf_release(&y);
	spec_diags_release(&d);
}

/* --- identifiers ---------------------------------------------------------- */

static void test_ids(void **state)
{
	struct spec_arn arn;
	char region[32];

	(void)state;
	assert_true(spec_is_instance_id("i-01234567"));
	assert_true(spec_is_instance_id(ID_A));
	assert_false(spec_is_instance_id("i-0123456"));
	assert_false(spec_is_instance_id("i-012345678"));
	assert_false(spec_is_instance_id("i-0123456789ABCDEF0"));
	assert_false(spec_is_instance_id("x-01234567"));
	assert_true(spec_is_allocation_id("eipalloc-0123456789abcdef0"));
	assert_false(spec_is_allocation_id("eipalloc-0123"));
	assert_true(spec_is_eni_id("eni-01234567"));
	assert_false(spec_is_eni_id("eni-0123456g"));
	assert_true(spec_is_ipv4("0.0.0.0"));
	assert_true(spec_is_ipv4("255.255.255.255"));
	assert_false(spec_is_ipv4("256.0.0.0"));
	assert_false(spec_is_ipv4("01.0.0.0"));
	assert_false(spec_is_ipv4("1.2.3"));
	assert_false(spec_is_ipv4("1.2.3.4.5"));
	assert_false(spec_is_ipv4("1.2.3.4 "));
	assert_false(spec_is_ipv4("1.2.3.0004"));
	assert_true(spec_is_lb_name("a"));
	assert_true(spec_is_lb_name("Web-01"));
	assert_false(spec_is_lb_name(""));
	assert_false(spec_is_lb_name("-a"));
	assert_false(spec_is_lb_name("a_b"));
	assert_false(spec_is_lb_name("abcdefghijabcdefghijabcdefghijabc"));
	assert_true(spec_is_region("us-east-1"));
	assert_true(spec_is_region("eu-central-1"));
	assert_true(spec_is_region("cn-north-1"));
	assert_true(spec_is_region("us-gov-west-1"));
	assert_true(spec_is_region("us-isob-east-1"));
	assert_false(spec_is_region("us-east"));
	assert_false(spec_is_region("US-EAST-1"));
	assert_false(spec_is_region("us-east-1a"));
	assert_true(spec_is_az("us-east-1a", region, sizeof(region)));
	assert_string_equal(region, "us-east-1");
	assert_true(spec_is_az("us-west-2-lax-1a", region, sizeof(region)));
	assert_string_equal(region, "us-west-2");
	assert_true(spec_is_az("all", region, sizeof(region)));
	assert_string_equal(region, "");
	assert_false(spec_is_az("us-east-1", NULL, 0));
	assert_false(spec_is_az("us-east-1ab", NULL, 0));
	assert_true(spec_is_host("db1.example.com"));
	assert_true(spec_is_host("10.0.0.1"));
	assert_false(spec_is_host("a..b"));
	assert_false(spec_is_host("-a.b"));
	assert_false(spec_is_host("a b"));
	assert_true(spec_parse_target_group_arn(
		"arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:"
		"123456789012:targetgroup/my-tg/0123456789abcdef",
		&arn));
	assert_string_equal(arn.region, "us-gov-west-1");
	assert_string_equal(arn.account, "123456789012");
	assert_string_equal(arn.name, "my-tg");
	assert_false(spec_parse_target_group_arn(
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:"
		"loadbalancer/app/my-lb/0123456789abcdef",
		NULL));
	assert_false(spec_parse_target_group_arn(
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:"
		"targetgroup/my-tg/0123456789abcdeF",
		NULL));
	assert_false(spec_parse_target_group_arn(
		"arn:aws:ec2:us-east-1:123456789012:"
		"targetgroup/my-tg/0123456789abcdef",
		NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_table),
		cmocka_unit_test(test_valid_full),
		cmocka_unit_test(test_valid_defaults),
		cmocka_unit_test(test_valid_yaml_features),
		cmocka_unit_test(test_tag_scalars),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_min_healthy_with_selector),
		cmocka_unit_test(test_bindings_distinct),
		cmocka_unit_test(test_all_errors_sorted),
		cmocka_unit_test(test_alias_error_once),
		cmocka_unit_test(test_no_cascade),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_size_limit_buffer),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_many_members),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
