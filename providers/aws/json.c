#include "providers/aws/json.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/client.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/http.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

static const char *string_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int awsp_json_parse_error(const char *data, size_t len,
			  struct awsp_aws_error *ret)
{
	cJSON *doc;
	const char *type, *code, *msg;
	int rc = UTIL_EINVAL;

	memset(ret, 0, sizeof(*ret));
	if (!data)
		return UTIL_EINVAL;
	doc = cJSON_ParseWithLength(data, len);
	if (!cJSON_IsObject(doc))
		goto out;
	type = string_member(doc, "__type");
	if (!type)
		goto out;
	code = strrchr(type, '#');
	code = code ? code + 1 : type;
	if (!*code)
		goto out;
	msg = string_member(doc, "message");
	if (!msg)
		msg = string_member(doc, "Message");
	ret->code = util_xstrdup(code);
	ret->message = util_xstrdup_or_null(msg);
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

int awsp_json_call(struct awsp_client *c, enum awsp_service svc, const char *op,
		   const cJSON *body, unsigned flags, cJSON **ret,
		   struct awsp_call_info *info, struct util_err *err)
{
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	char *text = cJSON_PrintUnformatted(body);
	struct awsp_call call = { .svc = svc, .action = op, .flags = flags };
	cJSON *doc = NULL;
	int r;

	if (ret)
		*ret = NULL;
	if (!text)
		return util_err_set(err, UTIL_EFAIL,
				    "%s %s: cannot render the request",
				    awsp_service(svc)->name, op);
	call.json = text;
	call.json_len = strlen(text);
	r = awsp_client_call(c, &call, &resp, info, err);
	free(text);
	/* A write's 2xx is its answer, whatever the body says. */
	if (r < 0 || !ret)
		goto out;
	doc = cJSON_ParseWithLength(resp.body.buf ? resp.body.buf : "",
				    resp.body.len);
	if (!cJSON_IsObject(doc)) {
		r = util_err_set(err, UTIL_EINVAL,
				 "%s %s: the answer is not a JSON object",
				 awsp_service(svc)->name, op);
		goto out;
	}
	*ret = doc;
	doc = NULL;
out:
	cJSON_Delete(doc);
	awsp_http_response_release(&resp);
	return r;
}
