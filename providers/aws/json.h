#ifndef MOOR_PROVIDERS_AWS_JSON_H
#define MOOR_PROVIDERS_AWS_JSON_H

#include <stddef.h>

#include "providers/aws/xml.h"

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

#endif
