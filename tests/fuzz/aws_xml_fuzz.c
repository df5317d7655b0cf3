/*
 * libFuzzer target for the XML answers moor reads from AWS (or from
 * whatever answers at the configured endpoint): every operation's
 * response parser and the error-envelope parser.  The first byte picks
 * the parser.  They must neither crash, leak nor hang, and a failure must
 * leave the output empty, as ops.h promises.
 *
 * Build with `make fuzz` and run
 *   build-fuzz/aws_xml_fuzz -max_len=8192 tests/fuzz/corpus/aws_xml
 * `make test` replays the corpus through tests/fuzz/standalone.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* A failed parse reports why; a successful one reports nothing. */
static void check_result(int r, const struct util_err *err)
{
	check(r < 0 ? util_err_isset(err) : !util_err_isset(err));
}

static void fuzz_instances(const char *p, size_t n)
{
	struct prov_instance_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	int r = awsp_ec2_parse_instances(p, n, &l, &next, &err);

	check_result(r, &err);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		check(l.v[i].id != NULL);
	prov_instance_list_release(&l);
	free(next);
}

static void fuzz_enis(const char *p, size_t n)
{
	struct prov_eni_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;

	check_result(awsp_ec2_parse_enis(p, n, &l, &next, &err), &err);
	prov_eni_list_release(&l);
	free(next);
}

static void fuzz_addresses(const char *p, size_t n)
{
	struct prov_address_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	check_result(awsp_ec2_parse_addresses(p, n, &l, &err), &err);
	prov_address_list_release(&l);
}

static void fuzz_allocate_associate(const char *p, size_t n)
{
	struct prov_address a = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *assoc = NULL;
	int r;

	check_result(awsp_ec2_parse_allocate(p, n, &a, &err), &err);
	prov_address_release(&a);
	util_err_clear(&err);
	r = awsp_ec2_parse_associate(p, n, &assoc, &err);
	check_result(r, &err);
	check(r == 0 || assoc == NULL);
	free(assoc);
	util_err_clear(&err);
	check_result(awsp_ec2_parse_return(p, n, "DisassociateAddressResponse",
					   &err),
		     &err);
}

static void fuzz_instance_status(const char *p, size_t n)
{
	struct awsp_instance_status_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;

	check_result(awsp_ec2_parse_instance_status(p, n, &l, &next, &err),
		     &err);
	awsp_instance_status_list_release(&l);
	free(next);
}

static void fuzz_classic(const char *p, size_t n)
{
	struct prov_classic_lb_list l = { 0 };
	struct prov_classic_lb lb = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t count = 0;

	check_result(awsp_elb_parse_load_balancers(p, n, &l, &next, &err),
		     &err);
	prov_classic_lb_list_release(&l);
	free(next);
	util_err_clear(&err);
	check_result(awsp_elb_parse_instance_health(p, n, &lb, &err), &err);
	prov_classic_lb_release(&lb);
	util_err_clear(&err);
	check_result(awsp_elb_parse_instances(
			     p, n, "RegisterInstancesWithLoadBalancerResponse",
			     &count, &err),
		     &err);
}

static void fuzz_target_groups(const char *p, size_t n)
{
	struct prov_target_group_list l = { 0 };
	struct prov_target_group tg = { .deregistration_delay_s = -1 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;

	check_result(awsp_elbv2_parse_target_groups(p, n, &l, &next, &err),
		     &err);
	prov_target_group_list_release(&l);
	free(next);
	util_err_clear(&err);
	check_result(awsp_elbv2_parse_target_health(p, n, &tg, &err), &err);
	util_err_clear(&err);
	check_result(awsp_elbv2_parse_attributes(p, n, &tg, &err), &err);
	prov_target_group_release(&tg);
	util_err_clear(&err);
	check_result(awsp_query_parse_empty(p, n, "RegisterTargetsResponse",
					    &err),
		     &err);
}

static void fuzz_sts_and_errors(const char *p, size_t n)
{
	struct prov_identity id = { 0 };
	struct awsp_aws_error e = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	check_result(awsp_sts_parse_caller_identity(p, n, &id, &err), &err);
	prov_identity_release(&id);
	awsp_xml_parse_error(p, n, &e);
	awsp_aws_error_release(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const parsers[])(const char *, size_t) = {
		fuzz_instances,	      fuzz_enis,
		fuzz_addresses,	      fuzz_allocate_associate,
		fuzz_instance_status, fuzz_classic,
		fuzz_target_groups,   fuzz_sts_and_errors,
	};
	const size_t n_parsers = ARRAY_SIZE(parsers);

	if (!size)
		return 0;
	parsers[data[0] % n_parsers]((const char *)data + 1, size - 1);
	return 0;
}
