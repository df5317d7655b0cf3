/*
 * aws_bench: what one AWS call costs moor in CPU, without the network.
 *
 *   encode   build a DescribeInstances body (200 filter values)
 *   sign     SigV4 over it with the cached signing key
 *   call     the whole client path for one call (rate-limit bucket,
 *            credentials copy, headers, encode, sign, a canned answer
 *            through an in-memory transport, envelope check, parse)
 *   parse    a DescribeInstances page of 1,000 instances (~1.7 MB)
 *   error    an error envelope
 *
 * Prints a table; figures, not pass/fail.  Run by `make bench`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/client.h"
#include "providers/aws/creds.h"
#include "providers/aws/ops.h"
#include "providers/aws/query.h"
#include "providers/aws/sigv4.h"
#include "providers/aws/xml.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/banned.h"

static const char *s_answer;

static int canned_send(void *ctx, const struct awsp_http_request *req,
		       struct awsp_http_response *resp, struct util_err *err)
{
	(void)ctx;
	(void)req;
	(void)err;
	resp->status = 200;
	buf_addstr(&resp->body, s_answer);
	return 0;
}

static int static_creds(void *ctx, struct awsp_credentials *ret,
			struct util_err *err)
{
	(void)ctx;
	(void)err;
	memset(ret, 0, sizeof(*ret));
	ret->access_key_id = util_xstrdup("AKIDEXAMPLE");
	ret->secret_access_key = util_xstrdup(
		"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	ret->session_token = util_xstrdup("IQoJb3JpZ2luX2VjEXAMPLETOKEN");
	return 0;
}

static void row(const char *what, unsigned long n, uint64_t ms,
		const char *unit_note)
{
	double us = (double)ms * 1000.0 / (double)n;

	printf("  %-10s %10lu  %10.2f us  %12.0f /s   %s\n", what, n, us,
	       us > 0 ? 1e6 / us : 0.0, unit_note);
}

static char *instances_page(size_t n)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b,
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<DescribeInstancesResponse xmlns=\"http://ec2."
		   "amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>"
		   "<reservationSet>");
	for (size_t i = 0; i < n; i++)
		buf_addf(&b,
			 "<item><reservationId>r-%017zx</reservationId>"
			 "<ownerId>123456789012</ownerId><groupSet/>"
			 "<instancesSet><item><instanceId>i-%017zx</instanceId>"
			 "<imageId>ami-0abcdef1234567890</"
			 "imageId><instanceState>"
			 "<code>16</code><name>running</name></instanceState>"
			 "<privateDnsName>ip-10-0-%zu-%zu.ec2.internal"
			 "</privateDnsName><dnsName/><reason/>"
			 "<instanceType>t3.micro</instanceType><launchTime>"
			 "2022-11-15T10:48:59.000Z</launchTime><placement>"
			 "<availabilityZone>us-east-1a</availabilityZone>"
			 "<tenancy>default</tenancy></placement><monitoring>"
			 "<state>disabled</state></monitoring><subnetId>"
			 "subnet-0aaaaaaaaaaaaaaa1</subnetId><vpcId>"
			 "vpc-0bbbbbbbbbbbbbbb1</vpcId><privateIpAddress>"
			 "10.0.%zu.%zu</privateIpAddress><groupSet><item>"
			 "<groupId>sg-0123456789abcdef0</groupId><groupName>web"
			 "</groupName></item></groupSet><architecture>x86_64"
			 "</architecture><rootDeviceType>ebs</rootDeviceType>"
			 "<blockDeviceMapping><item><deviceName>/dev/xvda"
			 "</deviceName><ebs><volumeId>vol-%017zx</volumeId>"
			 "<status>attached</status><deleteOnTermination>true"
			 "</deleteOnTermination></ebs></item>"
			 "</blockDeviceMapping><tagSet><item><key>Name</key>"
			 "<value>web-%zu</value></item><item><key>role</key>"
			 "<value>web</value></item></tagSet>"
			 "<networkInterfaceSet><item><networkInterfaceId>"
			 "eni-%017zx</networkInterfaceId><subnetId>"
			 "subnet-0aaaaaaaaaaaaaaa1</subnetId><vpcId>"
			 "vpc-0bbbbbbbbbbbbbbb1</vpcId><status>in-use</status>"
			 "<privateIpAddress>10.0.%zu.%zu</privateIpAddress>"
			 "<attachment><attachmentId>eni-attach-%017zx"
			 "</attachmentId><deviceIndex>0</deviceIndex><status>"
			 "attached</status></attachment><privateIpAddressesSet>"
			 "<item><privateIpAddress>10.0.%zu.%zu"
			 "</privateIpAddress><primary>true</primary></item>"
			 "</privateIpAddressesSet></item></networkInterfaceSet>"
			 "</item></instancesSet></item>",
			 i, i, i / 250, i % 250, i / 250, i % 250, i, i, i,
			 i / 250, i % 250, i, i / 250, i % 250);
	buf_addstr(&b, "</reservationSet><nextToken>next</nextToken>"
		       "</DescribeInstancesResponse>");
	return buf_detach(&b, NULL);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	const char **vals = util_xcalloc(200, sizeof(*vals));
	char **store = util_xcalloc(200, sizeof(*store));
	struct awsp_signer *signer = awsp_signer_new();
	struct util_err err = UTIL_ERR_INIT;
	uint64_t t0;
	size_t body_len = 0;

	util_alloc_install_hooks();
	if (!n)
		n = 1;
	for (int i = 0; i < 200; i++) {
		store[i] = util_xasprintf("i-%017x", i);
		vals[i] = store[i];
	}
	printf("aws_bench: cost per call, in process (no network)\n");
	printf("  %-10s %10s  %13s  %14s\n", "step", "runs", "per run", "rate");

	/* encode */
	t0 = util_mono_ms();
	for (unsigned long k = 0; k < n; k++) {
		struct awsp_query q;

		awsp_query_init(&q, "DescribeInstances", "2016-11-15");
		awsp_query_add_ec2_filter(&q, 1, "instance-id", vals, 200);
		awsp_query_add_int(&q, "MaxResults", 1000);
		body_len = q.body.len;
		awsp_query_release(&q);
	}
	row("encode", n, util_mono_ms() - t0, "200 filter values");

	/* sign */
	{
		struct awsp_query q;
		const struct awsp_header hd[] = {
			{ "Host", "ec2.us-east-1.amazonaws.com" },
			{ "Content-Type", "application/x-www-form-urlencoded; "
					  "charset=utf-8" },
			{ "X-Amz-Date", "20261125T120000Z" },
			{ "X-Amz-Security-Token", "IQoJb3JpZ2luX2VjEXAMPLE" },
		};
		struct awsp_sigv4_request sr = { 0 };

		awsp_query_init(&q, "DescribeInstances", "2016-11-15");
		awsp_query_add_ec2_filter(&q, 1, "instance-id", vals, 200);
		sr.method = "POST";
		sr.path = "/";
		sr.headers = hd;
		sr.n_headers = 4;
		sr.body = q.body.buf;
		sr.body_len = q.body.len;
		sr.normalize_path = true;
		t0 = util_mono_ms();
		for (unsigned long k = 0; k < n; k++) {
			struct buf authz = BUF_INIT;

			if (awsp_signer_sign(signer, &sr, "AKIDEXAMPLE",
					     "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
					     "EXAMPLEKEY",
					     "us-east-1", "ec2",
					     "20261125T120000Z", &authz,
					     &err) < 0) {
				fprintf(stderr, "sign: %s\n", err.msg);
				return 1;
			}
			buf_release(&authz);
		}
		row("sign", n, util_mono_ms() - t0, "cached signing key");
		awsp_query_release(&q);
	}

	/* a whole call through the client */
	{
		struct awsp_transport t = { canned_send, NULL };
		struct awsp_client_config cfg = { 0 };
		struct awsp_ratelimit_config off;
		struct awsp_client *c = NULL;

		s_answer = "<DescribeAddressesResponse xmlns=\"http://ec2."
			   "amazonaws.com/doc/2016-11-15/\"><requestId>r"
			   "</requestId><addressesSet><item><publicIp>"
			   "203.0.113.41</publicIp><allocationId>"
			   "eipalloc-08229861</allocationId><domain>vpc"
			   "</domain><instanceId>i-0598c7d356eba48d7"
			   "</instanceId><associationId>eipassoc-f0229810"
			   "</associationId><tagSet><item><key>Name</key>"
			   "<value>vip</value></item></tagSet></item>"
			   "</addressesSet></DescribeAddressesResponse>";
		awsp_ratelimit_defaults(&off);
		awsp_ratelimit_config_set(&off, "off", NULL);
		cfg.transport = &t;
		cfg.creds.get = static_creds;
		cfg.region = "us-east-1";
		cfg.endpoints[AWSP_SVC_EC2] =
			"https://ec2.us-east-1.amazonaws.com";
		cfg.limits = &off;
		if (awsp_client_new(&cfg, &c, &err) < 0) {
			fprintf(stderr, "client: %s\n", err.msg);
			return 1;
		}
		t0 = util_mono_ms();
		for (unsigned long k = 0; k < n; k++) {
			const struct prov_address_query aq = {
				.allocation_ids = vals, .n_allocation_ids = 1
			};
			struct prov_address_list l;

			if (awsp_ec2_addresses(c, &aq, &l, &err) < 0) {
				fprintf(stderr, "call: %s\n", err.msg);
				return 1;
			}
			prov_address_list_release(&l);
		}
		row("call", n, util_mono_ms() - t0,
		    "encode+sign+parse, DescribeAddresses");
		awsp_client_free(c);
	}

	/* parse a page of 1,000 instances */
	{
		char *page = instances_page(1000);
		size_t len = strlen(page);
		unsigned long pages = n / 2000 ? n / 2000 : 1;

		t0 = util_mono_ms();
		for (unsigned long k = 0; k < pages; k++) {
			struct prov_instance_list l = { 0 };
			char *next = NULL;

			if (awsp_ec2_parse_instances(page, len, &l, &next,
						     &err) < 0 ||
			    l.n != 1000) {
				fprintf(stderr, "parse: %s\n", err.msg);
				return 1;
			}
			free(next);
			prov_instance_list_release(&l);
		}
		{
			uint64_t ms = util_mono_ms() - t0;
			char note[64];

			snprintf(note, sizeof(note),
				 "1,000 instances, %zu KiB; %.2f us/instance",
				 len / 1024,
				 (double)ms * 1000.0 / (double)pages / 1000.0);
			row("parse", pages, ms, note);
		}
		free(page);
	}

	/* error envelope */
	{
		const char *e = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<Response><Errors><Error><Code>"
				"RequestLimitExceeded</Code><Message>Request "
				"limit exceeded.</Message></Error></Errors>"
				"<RequestID>2a5c0f8e-2d3e-4f1a-8c55</RequestID>"
				"</Response>";
		size_t len = strlen(e);

		t0 = util_mono_ms();
		for (unsigned long k = 0; k < n; k++) {
			struct awsp_aws_error ae;

			if (awsp_xml_parse_error(e, len, &ae) < 0)
				return 1;
			awsp_aws_error_release(&ae);
		}
		row("error", n, util_mono_ms() - t0, "EC2 error envelope");
	}
	printf("  (encode: body of %zu bytes)\n", body_len);
	for (int i = 0; i < 200; i++)
		free(store[i]);
	free(store);
	free(vals);
	awsp_signer_free(signer);
	return 0;
}
