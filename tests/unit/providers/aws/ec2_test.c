#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/ops.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/alloc.h"
#include "util/buf.h"

/* --- parsers on recorded responses --------------------------------------- */

static void test_parse_instances_pages(void **state)
{
	struct prov_instance_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t len;
	char *xml = test_data_read("ec2_describe_instances_page1.xml", &len);
	struct prov_instance *a, *b;

	(void)state;
	assert_int_equal(awsp_ec2_parse_instances(xml, len, &l, &next, &err),
			 0);
	free(xml);
	assert_int_equal(l.n, 2);
	assert_string_equal(next, "eyJ2IjoiMiIsImMiOiJwYWdlMiJ9");
	free(next);

	a = &l.v[0];
	assert_string_equal(a->id, "i-0123456789abcdef0");
	assert_int_equal(a->state, PROV_INSTANCE_RUNNING);
	assert_string_equal(a->vpc_id, "vpc-0bbbbbbbbbbbbbbb1");
	assert_string_equal(a->subnet_id, "subnet-0aaaaaaaaaaaaaaa1");
	assert_string_equal(a->az, "us-east-1a");
	assert_string_equal(a->private_ip, "10.0.1.10");
	assert_string_equal(a->public_ip, "203.0.113.25");
	assert_int_equal(a->n_tags, 4);
	assert_string_equal(prov_tag_get(a->tags, a->n_tags, "Name"), "web-1");
	assert_string_equal(prov_tag_get(a->tags, a->n_tags, "role"), "web");
	assert_string_equal(prov_tag_get(a->tags, a->n_tags, "empty"), "");
	assert_string_equal(prov_tag_get(a->tags, a->n_tags, "amp&<key>"),
			    "a & b");
	/* ENIs: the primary (device 0) first although listed second. */
	assert_int_equal(a->n_enis, 2);
	assert_string_equal(a->enis[0].id, "eni-0bbbbbbbbbbbbbbb1");
	assert_int_equal(a->enis[0].device_index, 0);
	assert_string_equal(a->enis[0].instance_id, "i-0123456789abcdef0");
	assert_string_equal(a->enis[0].az, "us-east-1a");
	assert_string_equal(a->enis[0].status, "in-use");
	assert_string_equal(a->enis[0].vpc_id, "vpc-0bbbbbbbbbbbbbbb1");
	/* The primary private IP first, then the others in order. */
	assert_int_equal(a->enis[0].n_private_ips, 3);
	assert_string_equal(a->enis[0].private_ips[0], "10.0.1.10");
	assert_string_equal(a->enis[0].private_ips[1], "10.0.1.20");
	assert_string_equal(a->enis[0].private_ips[2], "10.0.1.21");
	assert_string_equal(a->enis[1].id, "eni-0bbbbbbbbbbbbbbb2");
	assert_int_equal(a->enis[1].device_index, 1);
	assert_int_equal(a->enis[1].n_private_ips, 1);
	assert_string_equal(a->enis[1].private_ips[0], "10.0.1.30");

	b = &l.v[1];
	assert_string_equal(b->id, "i-0fedcba9876543210");
	assert_int_equal(b->state, PROV_INSTANCE_STOPPED);
	assert_null(b->public_ip);
	assert_string_equal(b->az, "us-east-1b");
	assert_int_equal(b->n_tags, 1);
	assert_int_equal(b->n_enis, 1);

	/* Page 2 appends; an empty <nextToken/> ends the pagination. */
	xml = test_data_read("ec2_describe_instances_page2.xml", &len);
	static char sentinel[] = "sentinel";
	next = sentinel;
	assert_int_equal(awsp_ec2_parse_instances(xml, len, &l, &next, &err),
			 0);
	free(xml);
	assert_null(next);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].id, "i-0123456789abcdef0");
	assert_string_equal(l.v[2].id, "i-0aaaabbbbccccdddd");
	assert_int_equal(l.v[2].state, PROV_INSTANCE_TERMINATED);
	assert_null(l.v[2].vpc_id);
	assert_int_equal(l.v[2].n_enis, 0);
	prov_instance_list_release(&l);

	xml = test_data_read("ec2_describe_instances_empty.xml", &len);
	assert_int_equal(awsp_ec2_parse_instances(xml, len, &l, &next, &err),
			 0);
	assert_int_equal(l.n, 0);
	assert_null(next);
	free(xml);
}

static void test_parse_instances_bad(void **state)
{
	struct prov_instance_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t len;
	char *xml = test_data_read("ec2_describe_instances_page1.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_instances(xml, len, &l, &next, &err),
			 0);
	free(next);
	next = NULL;
	/* A truncated page fails and leaves the earlier pages intact. */
	assert_int_equal(awsp_ec2_parse_instances(xml, len / 2, &l, &next,
						  &err),
			 UTIL_EINVAL);
	assert_int_equal(l.n, 2);
	assert_null(next);
	assert_non_null(strstr(err.msg, "XML"));
	free(xml);

	/* Another operation's answer is refused. */
	util_err_clear(&err);
	xml = test_data_read("ec2_describe_addresses.xml", &len);
	assert_int_equal(awsp_ec2_parse_instances(xml, len, &l, &next, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "DescribeAddressesResponse"));
	free(xml);
	assert_int_equal(l.n, 2);

	/* An instance item without its id is an error, not a hole. */
	{
		const char *noid =
			"<DescribeInstancesResponse><reservationSet><item>"
			"<instancesSet><item><vpcId>vpc-1</vpcId></item>"
			"</instancesSet></item></reservationSet>"
			"</DescribeInstancesResponse>";

		util_err_clear(&err);
		assert_int_equal(awsp_ec2_parse_instances(noid, strlen(noid),
							  &l, NULL, &err),
				 UTIL_EINVAL);
		assert_int_equal(l.n, 2);
	}
	/* A non-numeric device index. */
	{
		const char *bad =
			"<DescribeInstancesResponse><reservationSet><item>"
			"<instancesSet><item><instanceId>i-1</instanceId>"
			"<networkInterfaceSet><item><attachment><deviceIndex>"
			"x</deviceIndex></attachment></item>"
			"</networkInterfaceSet></item></instancesSet></item>"
			"</reservationSet></DescribeInstancesResponse>";

		util_err_clear(&err);
		assert_int_equal(awsp_ec2_parse_instances(bad, strlen(bad), &l,
							  NULL, &err),
				 UTIL_EINVAL);
		assert_non_null(strstr(err.msg, "deviceIndex"));
	}
	prov_instance_list_release(&l);
}

static void test_parse_enis(void **state)
{
	struct prov_eni_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	static char x[] = "x";
	char *next = x;
	size_t len;
	char *xml = test_data_read("ec2_describe_network_interfaces.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_enis(xml, len, &l, &next, &err), 0);
	free(xml);
	assert_null(next);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "eni-0f7db098bca3d0f6e");
	assert_string_equal(l.v[0].instance_id, "i-0123456789abcdef0");
	assert_int_equal(l.v[0].device_index, 2);
	assert_string_equal(l.v[0].az, "us-east-1a");
	assert_string_equal(l.v[0].subnet_id, "subnet-0aaaaaaaaaaaaaaa1");
	assert_string_equal(l.v[0].status, "in-use");
	assert_int_equal(l.v[0].n_private_ips, 2);
	assert_string_equal(l.v[0].private_ips[0], "10.0.1.40");
	assert_string_equal(l.v[0].private_ips[1], "10.0.1.41");
	assert_null(l.v[1].instance_id);
	assert_int_equal(l.v[1].device_index, -1);
	assert_string_equal(l.v[1].status, "available");
	assert_int_equal(l.v[1].n_private_ips, 1);
	prov_eni_list_release(&l);
}

static void test_parse_addresses(void **state)
{
	struct prov_address_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	size_t len;
	char *xml = test_data_read("ec2_describe_addresses.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_addresses(xml, len, &l, &err), 0);
	free(xml);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].allocation_id, "eipalloc-08229861");
	assert_string_equal(l.v[0].public_ip, "203.0.113.41");
	assert_string_equal(l.v[0].domain, "vpc");
	assert_string_equal(l.v[0].instance_id, "i-0598c7d356eba48d7");
	assert_string_equal(l.v[0].association_id, "eipassoc-f0229810");
	assert_string_equal(l.v[0].eni_id, "eni-ef229886");
	assert_string_equal(l.v[0].private_ip, "10.0.0.228");
	assert_string_equal(l.v[0].eni_owner_id, "123456789012");
	assert_int_equal(l.v[0].n_tags, 0);
	assert_null(l.v[1].instance_id);
	assert_string_equal(l.v[1].eni_id, "eni-0f7db098bca3d0f6e");
	assert_string_equal(l.v[1].private_ip, "10.0.1.41");
	assert_int_equal(l.v[1].n_tags, 2);
	assert_string_equal(prov_tag_get(l.v[1].tags, 2, "Name"), "vip-db");
	assert_null(l.v[2].association_id);
	assert_null(l.v[2].instance_id);
	assert_null(l.v[2].eni_id);
	assert_null(l.v[2].private_ip);
	assert_string_equal(prov_tag_get(l.v[2].tags, l.v[2].n_tags, "Name"),
			    "spare");
	prov_address_list_release(&l);
}

static void test_parse_mutations(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	struct prov_address a = { 0 };
	char *assoc = NULL;
	size_t len;
	char *xml;

	(void)state;
	xml = test_data_read("ec2_allocate_address.xml", &len);
	assert_int_equal(awsp_ec2_parse_allocate(xml, len, &a, &err), 0);
	free(xml);
	assert_string_equal(a.allocation_id, "eipalloc-5723d13e");
	assert_string_equal(a.public_ip, "198.51.100.0");
	assert_string_equal(a.domain, "vpc");
	prov_address_release(&a);

	xml = test_data_read("ec2_associate_address.xml", &len);
	assert_int_equal(awsp_ec2_parse_associate(xml, len, &assoc, &err), 0);
	free(xml);
	assert_string_equal(assoc, "eipassoc-fc5ca095");
	free(assoc);

	xml = test_data_read("ec2_disassociate_address.xml", &len);
	assert_int_equal(awsp_ec2_parse_return(xml, len,
					       "DisassociateAddressResponse",
					       &err),
			 0);
	free(xml);
	{
		const char *f = "<DisassociateAddressResponse><return>false"
				"</return></DisassociateAddressResponse>";

		assert_int_equal(awsp_ec2_parse_return(
					 f, strlen(f),
					 "DisassociateAddressResponse", &err),
				 UTIL_EFAIL);
	}
	{
		const char *noid = "<AssociateAddressResponse><return>true"
				   "</return></AssociateAddressResponse>";

		util_err_clear(&err);
		assoc = NULL;
		assert_int_equal(awsp_ec2_parse_associate(noid, strlen(noid),
							  &assoc, &err),
				 UTIL_EINVAL);
		assert_null(assoc);
	}
}

static void test_parse_instance_status(void **state)
{
	struct awsp_instance_status_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t len;
	char *xml = test_data_read("ec2_describe_instance_status.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_instance_status(xml, len, &l, &next,
							&err),
			 0);
	free(xml);
	assert_string_equal(next, "AAEAAd0Yr-next");
	free(next);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].instance_id, "i-0123456789abcdef0");
	assert_int_equal(l.v[0].state, PROV_INSTANCE_RUNNING);
	assert_string_equal(l.v[0].instance_status, "impaired");
	assert_string_equal(l.v[0].system_status, "ok");
	/* The instance check's reachability, not the system check's. */
	assert_string_equal(l.v[0].reachability, "failed");
	assert_string_equal(l.v[0].az, "us-east-1a");
	assert_int_equal(l.v[1].state, PROV_INSTANCE_STOPPED);
	assert_null(l.v[1].reachability);
	assert_string_equal(l.v[1].instance_status, "not-applicable");
	awsp_instance_status_list_release(&l);
}

/* A page that fails leaves the list and *ret_next as they were. */
static void test_parse_pages_fail_cleanly(void **state)
{
	struct prov_eni_list el = { 0 };
	struct awsp_instance_status_list sl = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	static char sentinel[] = "sentinel";
	char *next = sentinel;
	size_t len;
	char *xml = test_data_read("ec2_describe_network_interfaces.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_enis(xml, len, &el, NULL, &err), 0);
	assert_int_equal(awsp_ec2_parse_enis(xml, len - 30, &el, &next, &err),
			 UTIL_EINVAL);
	assert_int_equal(el.n, 2);
	assert_ptr_equal(next, sentinel);
	free(xml);
	prov_eni_list_release(&el);

	xml = test_data_read("ec2_describe_instance_status.xml", &len);
	assert_int_equal(awsp_ec2_parse_instance_status(xml, len, &sl, &next,
							&err),
			 0);
	assert_string_equal(next, "AAEAAd0Yr-next");
	free(next);
	next = sentinel;
	util_err_clear(&err);
	assert_int_equal(awsp_ec2_parse_instance_status(xml, len / 2, &sl,
							&next, &err),
			 UTIL_EINVAL);
	assert_int_equal(sl.n, 2);
	assert_ptr_equal(next, sentinel);
	assert_string_equal(sl.v[1].instance_status, "not-applicable");
	free(xml);
	awsp_instance_status_list_release(&sl);
}

static void test_list_move(void **state)
{
	struct prov_eni_list a = { 0 }, b = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	size_t len;
	char *xml = test_data_read("ec2_describe_network_interfaces.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_enis(xml, len, &b, NULL, &err), 0);
	AWSP_LIST_MOVE(&a, &b);
	assert_int_equal(a.n, 2);
	assert_null(b.v);
	assert_int_equal(b.n, 0);
	/* An empty source changes nothing. */
	AWSP_LIST_MOVE(&a, &b);
	assert_int_equal(a.n, 2);
	assert_int_equal(awsp_ec2_parse_enis(xml, len, &b, NULL, &err), 0);
	AWSP_LIST_MOVE(&a, &b);
	assert_int_equal(a.n, 4);
	assert_string_equal(a.v[0].id, "eni-0f7db098bca3d0f6e");
	assert_string_equal(a.v[2].id, "eni-0f7db098bca3d0f6e");
	assert_int_equal(a.v[3].device_index, -1);
	free(xml);
	prov_eni_list_release(&a);
	prov_eni_list_release(&b);
}

static void test_filter_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	awsp_ec2_filter_escape("we*b?\\x", &b);
	assert_string_equal(b.buf, "we\\*b\\?\\\\x");
	buf_release(&b);
}

/* --- operations over a scripted transport -------------------------------- */

static void test_instances_by_id_list(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0123456789abcdef0", "i-0fedcba9876543210",
			      "i-0123456789abcdef0", "i-0aaaabbbbccccdddd" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "ec2_describe_instances_page2.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 4, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].id, "i-0aaaabbbbccccdddd");
	assert_int_equal(e->s.n_reqs, 1);
	/* InstanceId.N, each id once, never with MaxResults or a filter. */
	const char *b0 = e->s.reqs[0].body;
	assert_true(body_has(b0, "Action=DescribeInstances"));
	assert_true(body_has(b0, "Version=2016-11-15"));
	assert_true(body_has(b0, "InstanceId.1=i-0123456789abcdef0"));
	assert_true(body_has(b0, "InstanceId.2=i-0fedcba9876543210"));
	assert_true(body_has(b0, "InstanceId.3=i-0aaaabbbbccccdddd"));
	assert_null(strstr(b0, "InstanceId.4"));
	assert_null(strstr(b0, "MaxResults"));
	assert_null(strstr(b0, "NextToken"));
	assert_null(strstr(b0, "Filter"));
	assert_string_equal(e->s.reqs[0].url,
			    "https://ec2.us-east-1.amazonaws.com/");
	prov_instance_list_release(&l);
}

/* An answer by InstanceId.N with a nextToken: the filter can follow it. */
static void test_instances_by_id_paginated(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0123456789abcdef0", "i-0fedcba9876543210",
			      "i-0123456789abcdef0", "i-0aaaabbbbccccdddd" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "ec2_describe_instances_page1.xml");
	script_push_file(&e->s, 200, "ec2_describe_instances_page1.xml");
	script_push_file(&e->s, 200, "ec2_describe_instances_page2.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 4, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(body_has(e->s.reqs[0].body, "InstanceId.1="
						"i-0123456789abcdef0"));
	/* The token is not sent with the ids: the filter starts over. */
	const char *b1 = e->s.reqs[1].body;
	assert_true(body_has(b1, "Filter.1.Name=instance-id"));
	assert_true(body_has(b1, "Filter.1.Value.1=i-0123456789abcdef0"));
	assert_true(body_has(b1, "Filter.1.Value.2=i-0fedcba9876543210"));
	assert_true(body_has(b1, "Filter.1.Value.3=i-0aaaabbbbccccdddd"));
	assert_null(strstr(b1, "Filter.1.Value.4"));
	assert_null(strstr(b1, "InstanceId."));
	assert_true(body_has(b1, "MaxResults=1000"));
	assert_null(strstr(b1, "NextToken"));
	assert_true(body_has(e->s.reqs[2].body,
			     "NextToken=eyJ2IjoiMiIsImMiOiJwYWdlMiJ9"));
	assert_null(strstr(e->s.reqs[2].body, "InstanceId."));
	prov_instance_list_release(&l);
}

/* n ids "i-%017x" from base: owned strings and a view for the ops. */
struct ids {
	char **own;
	const char **v;
	size_t n;
};

static void make_ids(struct ids *ids, size_t n, unsigned base)
{
	ids->own = util_xcalloc(n, sizeof(*ids->own));
	ids->v = util_xcalloc(n, sizeof(*ids->v));
	ids->n = n;
	for (size_t i = 0; i < n; i++) {
		ids->own[i] = util_xasprintf("i-%017zx", base + i);
		ids->v[i] = ids->own[i];
	}
}

static void free_ids(struct ids *ids)
{
	for (size_t i = 0; i < ids->n; i++)
		free(ids->own[i]);
	free(ids->own);
	free(ids->v);
}

/* How many times "=<id>" appears in the bodies sent. */
static int times_asked(const struct script *s, const char *id)
{
	char want[64];
	int found = 0;

	assert_true(snprintf(want, sizeof(want), "=%s&", id) <
		    (int)sizeof(want));
	for (size_t r = 0; r < s->n_reqs; r++) {
		struct buf b = BUF_INIT;

		/* The last pair has no '&' after it. */
		buf_addf(&b, "%s&", s->reqs[r].body);
		for (const char *p = b.buf; (p = strstr(p, want)); p++)
			found++;
		buf_release(&b);
	}
	return found;
}

static void test_instances_by_id_chunks(void **state)
{
	struct test_env *e = *state;
	struct ids ids;
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	make_ids(&ids, 2450, 0);

	for (int i = 0; i < 3; i++)
		script_push_file(&e->s, 200,
				 "ec2_describe_instances_empty.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids.v, 2450, 1, &l,
						  &err),
			 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(e->s.n_reqs, 3);
	assert_non_null(strstr(e->s.reqs[0].body, "InstanceId.1000="));
	assert_null(strstr(e->s.reqs[0].body, "InstanceId.1001="));
	assert_non_null(strstr(e->s.reqs[1].body, "InstanceId.1000="));
	assert_non_null(strstr(e->s.reqs[2].body, "InstanceId.450="));
	assert_null(strstr(e->s.reqs[2].body, "InstanceId.451="));
	/* Every id asked exactly once. */
	for (int i = 0; i < 2450; i++)
		assert_int_equal(times_asked(&e->s, ids.v[i]), 1);
	free_ids(&ids);
}

static void test_instances_by_id_none(void **state)
{
	struct test_env *e = *state;
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(awsp_ec2_instances_by_id(e->c, NULL, 0, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(e->s.n_reqs, 0);
}

static const char one_instance[] =
	"<DescribeInstancesResponse><reservationSet><item><instancesSet>"
	"<item><instanceId>i-0123456789abcdef0</instanceId><instanceState>"
	"<name>running</name></instanceState></item></instancesSet></item>"
	"</reservationSet></DescribeInstancesResponse>";

static void test_instances_by_id_one_missing(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0123456789abcdef0", "i-0000000000000dead" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* The id AWS names is dropped; the rest asked again. */
	script_push_file(&e->s, 400, "ec2_error_instance_not_found_one.xml");
	script_push(&e->s, 200, one_instance);
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 2, 1, &l, &err),
			 0);
	assert_false(util_err_isset(&err));
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].id, "i-0123456789abcdef0");
	assert_int_equal(e->s.n_reqs, 2);
	assert_true(body_has(e->s.reqs[0].body,
			     "InstanceId.2=i-0000000000000dead"));
	assert_true(body_has(e->s.reqs[1].body,
			     "InstanceId.1=i-0123456789abcdef0"));
	assert_null(strstr(e->s.reqs[1].body, "InstanceId.2"));
	assert_null(strstr(e->s.reqs[1].body, "dead"));
	prov_instance_list_release(&l);
}

static void test_instances_by_id_many_missing(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0000000000000dead", "i-0123456789abcdef0",
			      "i-0000000000000beef" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* "The instance IDs 'i-...dead, i-...beef' do not exist". */
	script_push_file(&e->s, 400, "ec2_error_instance_not_found.xml");
	script_push(&e->s, 200, one_instance);
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 3, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(e->s.n_reqs, 2);
	assert_true(body_has(e->s.reqs[1].body,
			     "InstanceId.1=i-0123456789abcdef0"));
	assert_null(strstr(e->s.reqs[1].body, "InstanceId.2"));
	prov_instance_list_release(&l);

	/* All missing: empty, no error, no second request. */
	script_push_file(&e->s, 400, "ec2_error_instance_not_found.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 1, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(e->s.n_reqs, 3);
	/* Only the ids asked count: 'i-...dead' was not. */
	script_push_file(&e->s, 400, "ec2_error_instance_not_found.xml");
	script_push(&e->s, 200, one_instance);
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids + 1, 2, 1, &l,
						  &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(e->s.n_reqs, 5);
	assert_true(body_has(e->s.reqs[4].body,
			     "InstanceId.1=i-0123456789abcdef0"));
	prov_instance_list_release(&l);
	assert_false(util_err_isset(&err));
}

/*
 * 600 unknown ids among 1,000: AWS names them all in a message far longer
 * than an error's text, and one more request asks for the 400 others.
 */
static void test_instances_by_id_long_message(void **state)
{
	struct test_env *e = *state;
	struct ids ids;
	struct buf msg = BUF_INIT;
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	make_ids(&ids, 1000, 0x100);

	buf_addstr(&msg, "<Response><Errors><Error><Code>InvalidInstanceID."
			 "NotFound</Code><Message>The instance IDs '");
	for (size_t i = 400; i < 1000; i++)
		buf_addf(&msg, "%s%s", i > 400 ? ", " : "", ids.v[i]);
	buf_addstr(&msg, "' do not exist</Message></Error></Errors>"
			 "<RequestID>r1</RequestID></Response>");
	script_push(&e->s, 400, msg.buf);
	script_push_file(&e->s, 200, "ec2_describe_instances_empty.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids.v, 1000, 1, &l,
						  &err),
			 0);
	assert_int_equal(e->s.n_reqs, 2);
	assert_non_null(strstr(e->s.reqs[1].body, "InstanceId.400="));
	assert_null(strstr(e->s.reqs[1].body, "InstanceId.401="));
	assert_int_equal(times_asked(&e->s, ids.v[400]), 1);
	assert_int_equal(times_asked(&e->s, ids.v[999]), 1);
	assert_int_equal(times_asked(&e->s, ids.v[399]), 2);
	buf_release(&msg);
	free_ids(&ids);
}

static void test_instances_by_id_malformed(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0123456789abcdef0", "i-bogus",
			      "i-0000000000000dead" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* Malformed, then not found, then the answer: three rounds. */
	script_push_file(&e->s, 400, "ec2_error_instance_malformed.xml");
	script_push_file(&e->s, 400, "ec2_error_instance_not_found_one.xml");
	script_push(&e->s, 200, one_instance);
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 3, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(body_has(e->s.reqs[1].body,
			     "InstanceId.2=i-0000000000000dead"));
	assert_null(strstr(e->s.reqs[1].body, "bogus"));
	assert_true(body_has(e->s.reqs[2].body,
			     "InstanceId.1=i-0123456789abcdef0"));
	assert_null(strstr(e->s.reqs[2].body, "InstanceId.2"));
	prov_instance_list_release(&l);
}

/* A message that names none of the ids asked: the filter decides. */
static void test_instances_by_id_unparseable(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0123456789abcdef0", "i-0000000000000dead" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 400, "ec2_error_instance_not_found_vague.xml");
	script_push(&e->s, 200, one_instance);
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 2, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(e->s.n_reqs, 2);
	const char *b1 = e->s.reqs[1].body;
	assert_true(body_has(b1, "Filter.1.Name=instance-id"));
	assert_true(body_has(b1, "Filter.1.Value.1=i-0123456789abcdef0"));
	assert_true(body_has(b1, "Filter.1.Value.2=i-0000000000000dead"));
	assert_true(body_has(b1, "MaxResults=1000"));
	assert_null(strstr(b1, "InstanceId."));
	prov_instance_list_release(&l);

	/* Names an id that was not asked (of another chunk): the same. */
	script_push(&e->s, 400,
		    "<Response><Errors><Error><Code>InvalidInstanceID.NotFound"
		    "</Code><Message>The instance ID 'i-0000000000000dea' does "
		    "not exist</Message></Error></Errors></Response>");
	script_push_file(&e->s, 200, "ec2_describe_instances_empty.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 2, 1, &l, &err),
			 0);
	assert_int_equal(e->s.n_reqs, 4);
	assert_true(body_has(e->s.reqs[3].body,
			     "Filter.1.Value.2=i-0000000000000dead"));
	assert_false(util_err_isset(&err));
}

/* AWS keeps naming one more id: AWSP_EC2_ID_ROUNDS requests, then the filter. */
static void test_instances_by_id_rounds_bounded(void **state)
{
	struct test_env *e = *state;
	struct ids ids;
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	make_ids(&ids, 10, 0xd00);

	for (int i = 0; i < AWSP_EC2_ID_ROUNDS; i++) {
		char *body = util_xasprintf(
			"<Response><Errors><Error><Code>InvalidInstanceID."
			"NotFound</Code><Message>The instance ID '%s' does not"
			" exist</Message></Error></Errors></Response>",
			ids.v[i]);

		script_push(&e->s, 400, body);
		free(body);
	}
	script_push_file(&e->s, 200, "ec2_describe_instances_empty.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids.v, 10, 1, &l, &err),
			 0);
	assert_int_equal(e->s.n_reqs, AWSP_EC2_ID_ROUNDS + 1);
	/* The filter asks only for the ids not named yet. */
	const char *last = e->s.reqs[AWSP_EC2_ID_ROUNDS].body;
	assert_true(body_has(last, "Filter.1.Name=instance-id"));
	assert_null(strstr(last, ids.v[AWSP_EC2_ID_ROUNDS - 1]));
	assert_non_null(strstr(last, ids.v[AWSP_EC2_ID_ROUNDS]));
	assert_non_null(strstr(last, ids.v[9]));
	assert_non_null(strstr(last, "Filter.1.Value.6="));
	assert_null(strstr(last, "Filter.1.Value.7="));
	free_ids(&ids);
}

static void test_error_ids(void **state)
{
	const char *ids[] = { "i-1", "i-12", "i-2", "x y" };
	bool named[4] = { false };

	(void)state;
	assert_int_equal(awsp_ec2_error_ids(NULL, ids, 4, named), 0);
	assert_int_equal(awsp_ec2_error_ids("no quotes", ids, 4, named), 0);
	/* Whole ids only: 'i-12' is not 'i-1'. */
	assert_int_equal(awsp_ec2_error_ids("The instance ID 'i-12' does not "
					    "exist",
					    ids, 4, named),
			 1);
	assert_false(named[0]);
	assert_true(named[1]);
	memset(named, 0, sizeof(named));
	assert_int_equal(awsp_ec2_error_ids("ec2 DescribeInstances: The "
					    "instance IDs 'i-2, x y, i-1' do "
					    "not exist",
					    ids, 4, named),
			 3);
	assert_true(named[0] && !named[1] && named[2] && named[3]);
	/* Already marked ids are not counted again. */
	assert_int_equal(awsp_ec2_error_ids("The instance ID 'i-1' does not "
					    "exist",
					    ids, 4, named),
			 0);
	memset(named, 0, sizeof(named));
	assert_int_equal(awsp_ec2_error_ids("Invalid id: \"x y\" (expecting "
					    "\"i-...\")",
					    ids, 4, named),
			 1);
	assert_true(named[3]);
	memset(named, 0, sizeof(named));
	/* Cut short: the whole ids before the cut count, not the last. */
	assert_int_equal(awsp_ec2_error_ids("The instance IDs 'i-2, i-12, i-1",
					    ids, 4, named),
			 2);
	assert_true(named[1] && named[2] && !named[0]);
	memset(named, 0, sizeof(named));
	assert_int_equal(awsp_ec2_error_ids("The instance IDs '' do not exist",
					    ids, 4, named),
			 0);
}

static void test_selector_filters(void **state)
{
	struct test_env *e = *state;
	char k1[] = "role", v1[] = "web*", k2[] = "env", v2[] = "prod";
	const struct prov_tag tags[] = { { k1, v1 }, { k2, v2 } };
	const enum prov_instance_state st[] = { PROV_INSTANCE_RUNNING,
						PROV_INSTANCE_PENDING };
	struct prov_selector sel = { tags, 2, st, 2 };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "ec2_describe_instances_page2.xml");
	assert_int_equal(awsp_ec2_instances_by_selector(e->c, &sel, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	const char *b = e->s.reqs[0].body;
	assert_true(body_has(b, "Filter.1.Name=tag%3Arole"));
	/* The '*' is escaped: tag values match literally. */
	assert_true(body_has(b, "Filter.1.Value.1=web%5C%2A"));
	assert_true(body_has(b, "Filter.2.Name=tag%3Aenv"));
	assert_true(body_has(b, "Filter.2.Value.1=prod"));
	assert_true(body_has(b, "Filter.3.Name=instance-state-name"));
	assert_true(body_has(b, "Filter.3.Value.1=running"));
	assert_true(body_has(b, "Filter.3.Value.2=pending"));
	assert_true(body_has(b, "MaxResults=1000"));
	prov_instance_list_release(&l);
}

static void test_errors_and_retries(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-1" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* Throttled once, then answered: the caller sees success. */
	script_push_file(&e->s, 503, "ec2_error_request_limit.xml");
	script_push_file(&e->s, 200, "ec2_describe_instances_empty.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 1, 1, &l, &err),
			 0);
	assert_int_equal(e->s.n_reqs, 2);
	/* Backoff after attempt 1 with random 0.5: 0.5 * 1 s. */
	assert_int_equal(e->fc.slept_ms, 500);

	/* AuthFailure is final at once, with AWS's details. */
	script_push_file(&e->s, 401, "ec2_error_auth_failure.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 1, 1, &l, &err),
			 UTIL_EAWS);
	assert_int_equal(e->s.n_reqs, 3);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	assert_string_equal(err.aws_code, "AuthFailure");
	assert_int_equal(err.http_status, 401);
	assert_string_equal(err.request_id, "9b1d3c44-7e1f-4a2b-b1e0-example");
	assert_false(err.flags & UTIL_ERR_RETRYABLE);
	assert_non_null(strstr(err.msg, "ec2 DescribeInstances"));
	assert_non_null(strstr(err.msg, "not able to validate"));
}

static void test_pagination_must_advance(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-1" };
	struct prov_instance_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* By id with a token (the filter takes over), then the same page. */
	script_push_file(&e->s, 200, "ec2_describe_instances_page1.xml");
	script_push_file(&e->s, 200, "ec2_describe_instances_page1.xml");
	script_push_file(&e->s, 200, "ec2_describe_instances_page1.xml");
	assert_int_equal(awsp_ec2_instances_by_id(e->c, ids, 1, 1, &l, &err),
			 UTIL_EFAIL);
	assert_non_null(strstr(err.msg, "did not advance"));
	assert_int_equal(l.n, 0);
}

static void test_addresses_query(void **state)
{
	struct test_env *e = *state;
	const char *allocs[] = { "eipalloc-08229861",
				 "eipalloc-0ffffffffffffffff" };
	const char *names[] = { "vip*db" };
	struct prov_address_query q = { 0 };
	struct prov_address_list l;
	struct util_err err = UTIL_ERR_INIT;

	q.allocation_ids = allocs;
	q.n_allocation_ids = 2;
	q.names = names;
	q.n_names = 1;
	/* Two requests (one per kind); the merge drops duplicates. */
	script_push_file(&e->s, 200, "ec2_describe_addresses.xml");
	script_push_file(&e->s, 200, "ec2_describe_addresses.xml");
	assert_int_equal(awsp_ec2_addresses(e->c, &q, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(e->s.n_reqs, 2);
	assert_true(body_has(e->s.reqs[0].body, "Action=DescribeAddresses"));
	assert_true(body_has(e->s.reqs[0].body, "Filter.1.Name=allocation-id"));
	assert_true(body_has(e->s.reqs[0].body,
			     "Filter.1.Value.2=eipalloc-0ffffffffffffffff"));
	assert_null(strstr(e->s.reqs[0].body, "AllocationId."));
	assert_true(body_has(e->s.reqs[1].body, "Filter.1.Name=tag%3AName"));
	assert_true(
		body_has(e->s.reqs[1].body, "Filter.1.Value.1=vip%5C%2Adb"));
	prov_address_list_release(&l);

	/* No keys: every address, unfiltered. */
	memset(&q, 0, sizeof(q));
	script_push_file(&e->s, 200, "ec2_describe_addresses.xml");
	assert_int_equal(awsp_ec2_addresses(e->c, &q, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_null(strstr(e->s.reqs[2].body, "Filter"));
	prov_address_list_release(&l);
}

static void test_allocate(void **state)
{
	struct test_env *e = *state;
	char k1[] = "Name", v1[] = "vip-db", k2[] = "team", v2[] = "db ops";
	const struct prov_tag tags[] = { { k1, v1 }, { k2, v2 } };
	struct prov_address a;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "ec2_allocate_address.xml");
	assert_int_equal(awsp_ec2_allocate(e->c, tags, 2, &a, &err), 0);
	const char *b = e->s.reqs[0].body;
	assert_true(body_has(b, "Action=AllocateAddress"));
	assert_true(body_has(b, "Domain=vpc"));
	assert_true(body_has(b, "TagSpecification.1.ResourceType=elastic-ip"));
	assert_true(body_has(b, "TagSpecification.1.Tag.1.Key=Name"));
	assert_true(body_has(b, "TagSpecification.1.Tag.1.Value=vip-db"));
	assert_true(body_has(b, "TagSpecification.1.Tag.2.Key=team"));
	assert_true(body_has(b, "TagSpecification.1.Tag.2.Value=db+ops"));
	assert_string_equal(a.allocation_id, "eipalloc-5723d13e");
	assert_int_equal(a.n_tags, 2);
	assert_string_equal(prov_tag_get(a.tags, 2, "team"), "db ops");
	prov_address_release(&a);

	/* A lost answer is not retried: an address may have been made. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(awsp_ec2_allocate(e->c, tags, 2, &a, &err),
			 UTIL_ETRANSPORT);
	assert_int_equal(e->s.n_reqs, 2);
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_null(a.allocation_id);

	/* Nor is a 500, for the same reason; a throttle is. */
	util_err_clear(&err);
	script_push(&e->s, 503,
		    "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
		    "</Error></Errors></Response>");
	script_push(&e->s, 500,
		    "<Response><Errors><Error><Code>InternalError</Code>"
		    "</Error></Errors><RequestID>r5</RequestID></Response>");
	assert_int_equal(awsp_ec2_allocate(e->c, tags, 0, &a, &err), UTIL_EAWS);
	assert_int_equal(e->s.n_reqs, 4);
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_string_equal(err.aws_code, "InternalError");
	assert_null(strstr(e->s.reqs[3].body, "TagSpecification"));
}

static void test_associate(void **state)
{
	struct test_env *e = *state;
	struct prov_associate req = { .allocation_id = "eipalloc-1",
				      .instance_id = "i-1",
				      .allow_reassociation = true };
	struct util_err err = UTIL_ERR_INIT;
	char *assoc = NULL;

	/* Lost once, then answered: retried, since it is idempotent. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_TIMEOUT,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push_file(&e->s, 200, "ec2_associate_address.xml");
	assert_int_equal(awsp_ec2_associate(e->c, &req, &assoc, &err), 0);
	assert_string_equal(assoc, "eipassoc-fc5ca095");
	free(assoc);
	assert_int_equal(e->s.n_reqs, 2);
	assert_true(body_has(e->s.reqs[0].body, "AllowReassociation=true"));
	assert_true(body_has(e->s.reqs[0].body, "InstanceId=i-1"));
	assert_true(body_has(e->s.reqs[0].body, "AllocationId=eipalloc-1"));
	assert_null(strstr(e->s.reqs[0].body, "NetworkInterfaceId"));

	/* ENI + private IP, reassociation refused: sent as false. */
	req.instance_id = NULL;
	req.eni_id = "eni-1";
	req.private_ip = "10.0.0.5";
	req.allow_reassociation = false;
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(awsp_ec2_associate(e->c, &req, NULL, &err),
			 UTIL_ETRANSPORT);
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(body_has(e->s.reqs[2].body, "AllowReassociation=false"));
	assert_true(body_has(e->s.reqs[2].body, "NetworkInterfaceId=eni-1"));
	assert_true(body_has(e->s.reqs[2].body, "PrivateIpAddress=10.0.0.5"));

	/* Both targets, or neither: refused before any request. */
	util_err_clear(&err);
	req.instance_id = "i-1";
	assert_int_equal(awsp_ec2_associate(e->c, &req, NULL, &err),
			 UTIL_EINVAL);
	req.instance_id = NULL;
	req.eni_id = NULL;
	assert_int_equal(awsp_ec2_associate(e->c, &req, NULL, &err),
			 UTIL_EINVAL);
	assert_int_equal(e->s.n_reqs, 3);
}

static void test_disassociate(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "ec2_disassociate_address.xml");
	assert_int_equal(awsp_ec2_disassociate(e->c, "eipassoc-1", &err), 0);
	assert_true(body_has(e->s.reqs[0].body, "AssociationId=eipassoc-1"));

	/* The retry of a lost disassociation finds it gone: success. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push_file(&e->s, 400, "ec2_error_association_not_found.xml");
	assert_int_equal(awsp_ec2_disassociate(e->c, "eipassoc-1", &err), 0);
	assert_false(util_err_isset(&err));

	/* Without a lost attempt, NotFound is the caller's to judge. */
	script_push_file(&e->s, 400, "ec2_error_association_not_found.xml");
	assert_int_equal(awsp_ec2_disassociate(e->c, "eipassoc-1", &err),
			 UTIL_EAWS);
	assert_string_equal(err.aws_code, "InvalidAssociationID.NotFound");
}

static void test_instance_status_not_found(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "i-0000000000000dead", "i-0123456789abcdef0",
			      "i-0000000000000beef" };
	struct awsp_instance_status_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 400, "ec2_error_instance_not_found.xml");
	script_push(&e->s, 200,
		    "<DescribeInstanceStatusResponse><instanceStatusSet><item>"
		    "<instanceId>i-0123456789abcdef0</instanceId>"
		    "<instanceState><name>running</name></instanceState>"
		    "</item></instanceStatusSet>"
		    "</DescribeInstanceStatusResponse>");
	assert_int_equal(awsp_ec2_instance_status(e->c, ids, 3, true, 1, &l,
						  &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].instance_id, "i-0123456789abcdef0");
	assert_int_equal(e->s.n_reqs, 2);
	assert_true(body_has(e->s.reqs[0].body,
			     "InstanceId.3=i-0000000000000beef"));
	assert_true(body_has(e->s.reqs[0].body, "IncludeAllInstances=true"));
	assert_null(strstr(e->s.reqs[0].body, "MaxResults"));
	assert_true(body_has(e->s.reqs[1].body,
			     "InstanceId.1=i-0123456789abcdef0"));
	assert_null(strstr(e->s.reqs[1].body, "InstanceId.2"));
	awsp_instance_status_list_release(&l);

	/* All missing: empty, no error. */
	script_push_file(&e->s, 400, "ec2_error_instance_not_found.xml");
	assert_int_equal(awsp_ec2_instance_status(e->c, ids, 1, false, 1, &l,
						  &err),
			 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(e->s.n_reqs, 3);
}

/* DescribeVpcs: vpcId and isDefault, not the nested items' fields. */
static void test_parse_vpcs(void **state)
{
	struct prov_vpc_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t len;
	char *xml = test_data_read("ec2_describe_vpcs.xml", &len);

	(void)state;
	assert_int_equal(awsp_ec2_parse_vpcs(xml, len, &l, &next, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "vpc-0a0a0a0a0a0a0a0a0");
	assert_true(l.v[0].is_default);
	assert_string_equal(l.v[1].id, "vpc-0123456789abcdef0");
	assert_false(l.v[1].is_default);
	assert_string_equal(next, "eyJ2IjoiMiIsImMiOiJ2cGNzMiJ9");
	free(next);
	/* A cut page leaves the list as it was. */
	next = NULL;
	assert_int_equal(awsp_ec2_parse_vpcs(xml, len - 40, &l, &next, &err),
			 UTIL_EINVAL);
	assert_int_equal(l.n, 2);
	assert_null(next);
	free(xml);
	prov_vpc_list_release(&l);
}

/* VPCs by id: one vpc-id filter with each id once, pages followed. */
static void test_vpcs_filter_pages(void **state)
{
	struct test_env *e = *state;
	const char *ids[] = { "vpc-0123456789abcdef0", "vpc-0a0a0a0a0a0a0a0a0",
			      "vpc-0123456789abcdef0",
			      "vpc-0ffffffffffffffff" };
	struct prov_vpc_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "ec2_describe_vpcs.xml");
	script_push(&e->s, 200,
		    "<DescribeVpcsResponse><vpcSet/></DescribeVpcsResponse>");
	assert_int_equal(awsp_ec2_vpcs(e->c, ids, 4, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_true(l.v[0].is_default);
	assert_false(l.v[1].is_default);
	assert_int_equal(e->s.n_reqs, 2);
	const char *b0 = e->s.reqs[0].body;
	assert_true(body_has(b0, "Action=DescribeVpcs"));
	assert_true(body_has(b0, "Version=2016-11-15"));
	assert_true(body_has(b0, "Filter.1.Name=vpc-id"));
	assert_true(body_has(b0, "Filter.1.Value.1=vpc-0123456789abcdef0"));
	assert_true(body_has(b0, "Filter.1.Value.2=vpc-0a0a0a0a0a0a0a0a0"));
	assert_true(body_has(b0, "Filter.1.Value.3=vpc-0ffffffffffffffff"));
	assert_null(strstr(b0, "Filter.1.Value.4"));
	assert_null(strstr(b0, "VpcId."));
	assert_true(body_has(b0, "MaxResults=1000"));
	assert_true(body_has(e->s.reqs[1].body,
			     "NextToken=eyJ2IjoiMiIsImMiOiJ2cGNzMiJ9"));
	prov_vpc_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_instances_pages),
		cmocka_unit_test(test_parse_instances_bad),
		cmocka_unit_test(test_parse_enis),
		cmocka_unit_test(test_parse_vpcs),
		cmocka_unit_test(test_parse_addresses),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_parse_instance_status),
		cmocka_unit_test(test_parse_pages_fail_cleanly),
		cmocka_unit_test(test_list_move),
		cmocka_unit_test(test_filter_escape),
		cmocka_unit_test(test_error_ids),
		cmocka_unit_test_setup_teardown(test_instances_by_id_list,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instances_by_id_paginated,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instances_by_id_chunks,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instances_by_id_none,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instances_by_id_one_missing,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(
			test_instances_by_id_many_missing, test_env_setup,
			test_env_teardown),
		cmocka_unit_test_setup_teardown(
			test_instances_by_id_long_message, test_env_setup,
			test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instances_by_id_malformed,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instances_by_id_unparseable,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(
			test_instances_by_id_rounds_bounded, test_env_setup,
			test_env_teardown),
		cmocka_unit_test_setup_teardown(test_selector_filters,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_errors_and_retries,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_pagination_must_advance,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_addresses_query,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_allocate, test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_associate, test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_disassociate,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_vpcs_filter_pages,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instance_status_not_found,
						test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
