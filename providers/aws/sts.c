#include "providers/aws/ops.h"

#include <stdlib.h>
#include <string.h>

#include "providers/aws/xml.h"
#include "util/banned.h"

/*
 * STS GetCallerIdentity (API 2011-06-15, Query protocol).  AssumeRole and
 * AssumeRoleWithWebIdentity live with the credential chain (creds_sts.c).
 */

#define P_ID "GetCallerIdentityResult"

static int id_text(void *ctx, const char *path, const char *text, size_t len,
		   struct util_err *err)
{
	struct prov_identity *id = ctx;
	const char *rel = awsp_xml_under(path, P_ID);

	(void)len;
	(void)err;
	if (!rel)
		return 0;
	if (!strcmp(rel, "Account"))
		awsp_set_str(&id->account, text);
	else if (!strcmp(rel, "Arn"))
		awsp_set_str(&id->arn, text);
	else if (!strcmp(rel, "UserId"))
		awsp_set_str(&id->user_id, text);
	return 0;
}

int awsp_sts_parse_caller_identity(const char *xml, size_t len,
				   struct prov_identity *out,
				   struct util_err *err)
{
	static const struct awsp_xml_handler h = { .text = id_text };
	struct prov_identity id = { 0 };
	int r;

	r = awsp_xml_parse(xml, len, "GetCallerIdentityResponse", &h, &id, err);
	if (r == 0 && (!id.account || !id.arn))
		r = util_err_set(err, UTIL_EINVAL,
				 "GetCallerIdentity response without Account "
				 "or Arn");
	if (r < 0) {
		prov_identity_release(&id);
		return r;
	}
	prov_identity_release(out);
	*out = id;
	return 0;
}

static int id_parse_cb(void *ctx, const char *xml, size_t len,
		       struct util_err *err)
{
	return awsp_sts_parse_caller_identity(xml, len, ctx, err);
}

int awsp_sts_caller_identity(struct awsp_client *c, struct prov_identity *ret,
			     struct util_err *err)
{
	struct awsp_query q;
	int r;

	memset(ret, 0, sizeof(*ret));
	awsp_query_init(&q, "GetCallerIdentity",
			awsp_service(AWSP_SVC_STS)->api_version);
	r = awsp_call_parse(c, AWSP_SVC_STS, &q, "GetCallerIdentity", 0,
			    id_parse_cb, ret, NULL, err);
	awsp_query_release(&q);
	return r;
}
