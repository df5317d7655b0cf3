#include "providers/aws/json.h"

#include <cjson/cJSON.h>
#include <string.h>

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
