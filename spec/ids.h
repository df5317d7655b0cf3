#ifndef SPEC_IDS_H
#define SPEC_IDS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The shapes of AWS identifiers and names as a spec may write them.  These
 * check syntax only (whether the thing exists is for the planner to ask).
 * All take a NUL-terminated string and accept nothing around the value.
 */

/* "i-" and 8 or 17 lowercase hex digits. */
bool spec_is_instance_id(const char *s);
/* "eipalloc-" and 8 or 17 lowercase hex digits. */
bool spec_is_allocation_id(const char *s);
/* "eni-" and 8 or 17 lowercase hex digits. */
bool spec_is_eni_id(const char *s);
/* Dotted-quad IPv4, each part 0-255 without leading zeros. */
bool spec_is_ipv4(const char *s);
/*
 * A Classic ELB or target group name: 1-32 ASCII letters, digits and
 * hyphens, not starting or ending with a hyphen.
 */
bool spec_is_lb_name(const char *s);
/* A region name: us-east-1, eu-central-1, cn-north-1, us-gov-west-1. */
bool spec_is_region(const char *s);
/*
 * An availability zone name for an ip target: "all", a region and a letter
 * ("us-east-1a"), or a Local/Wavelength Zone ("us-west-2-lax-1a").  When
 * ret_region is non-NULL it receives the region part (size >= 32).
 */
bool spec_is_az(const char *s, char *ret_region, size_t size);
/* A DNS host name (RFC 1123 labels, at most 253 characters) or an IPv4. */
bool spec_is_host(const char *s);

/* The parts of arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID */
struct spec_arn {
	char region[32];
	char account[13];
	char name[33];
};

/*
 * Whether s is an ELBv2 target group ARN (partition aws, aws-cn or
 * aws-us-gov; a 12-digit account; a valid name; a 16-hex-digit id).  Fills
 * *ret (may be NULL) when it is.
 */
bool spec_parse_target_group_arn(const char *s, struct spec_arn *ret);

#endif
