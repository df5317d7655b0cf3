#ifndef MOOR_PROVIDERS_AWS_JSON_H
#define MOOR_PROVIDERS_AWS_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "providers/aws/client.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/xml.h"
#include "util/err.h"

/*
 * The AWS JSON 1.0 protocol's error body (DynamoDB):
 * {"__type":"com.amazonaws.dynamodb.v20120810#Code","message":"..."}.
 * The code is the part after the last '#' (the whole __type without one);
 * the message is "message" or "Message" (services differ).  0 when data
 * is such an object with a non-empty code, filling ret (the caller owns
 * it: awsp_aws_error_release(); type and request_id stay NULL, the
 * request id comes from the x-amzn-RequestId header); UTIL_EINVAL (ret
 * zeroed) for anything else, including malformed JSON.
 */
int awsp_json_parse_error(const char *data, size_t len,
			  struct awsp_aws_error *ret);

/*
 * One call of a JSON 1.0 service (DynamoDB): body (borrowed) serialised
 * and sent by awsp_client_call() as operation op with flags, the 2xx
 * answer parsed into *ret (a JSON object, the caller's: cJSON_Delete();
 * ret may be NULL when the answer is not wanted: it is then not read).
 * Errors are awsp_client_call()'s, and UTIL_EINVAL for a wanted answer
 * that is not a JSON object; *ret is NULL on failure.  info as
 * awsp_client_call()'s.
 */
int awsp_json_call(struct awsp_client *c, enum awsp_service svc, const char *op,
		   const cJSON *body, unsigned flags, cJSON **ret,
		   struct awsp_call_info *info, struct util_err *err);

#endif
