#ifndef RECONCILER_ENGINE_KEY_H
#define RECONCILER_ENGINE_KEY_H

#include <stdbool.h>

#include "spec/spec.h"
#include "util/err.h"

/*
 * Resource identity: a key names one observed resource in plans, saved
 * plan files (docs/plan-json.md), preconditions and fingerprints.  Its
 * string form is KIND-PREFIX VALUE:
 *
 *   classic:NAME                a Classic ELB, by name
 *   tg:NAME-OR-ARN              a target group, as the spec names it
 *   instance:i-0123...          an instance
 *   eni:eni-0123...             a network interface
 *   eip:alloc:eipalloc-...      an address by allocation id
 *   eip:ip:203.0.113.10         ... by public IP
 *   eip:name:vip-db             ... by its Name tag
 *
 * The value is everything after the prefix and may itself hold ':' (a
 * target group ARN).  It is never empty.
 *
 * This file is the only one that knows the grammar: rc_key_format() is the
 * one formatter, rc_key_parse() the one parser.  Everything else keeps
 * keys as opaque strings (struct fields stay `char *key`, compared with
 * strcmp) and asks this file what kind of resource a key names.
 */

enum rc_key_kind {
	RC_KEY_CLASSIC = 0,
	RC_KEY_TARGET_GROUP,
	RC_KEY_INSTANCE,
	RC_KEY_ENI,
	RC_KEY_EIP_ALLOC,
	RC_KEY_EIP_IP,
	RC_KEY_EIP_NAME,
};

/*
 * A key taken apart.  value is borrowed: after rc_key_parse() it points
 * into the string parsed (valid while that string lives); for
 * rc_key_format() it is the caller's.  struct rc_key never owns memory.
 */
struct rc_key {
	enum rc_key_kind kind;
	const char *value;
};

/* The string form of k (caller frees).  k.value must be non-NULL. */
char *rc_key_format(struct rc_key k);

/*
 * Take s apart into *ret (ret->value points into s).  An unknown kind or
 * an empty value is UTIL_EINVAL, "malformed resource key 's'" (err may be
 * NULL); *ret is then left untouched.
 */
int rc_key_parse(const char *s, struct rc_key *ret, struct util_err *err);

/* Classic ELB or target group. */
bool rc_key_kind_is_group(enum rc_key_kind kind);
/* An address, named any of the three ways. */
bool rc_key_kind_is_address(enum rc_key_kind kind);

/* Whether s parses and names a group / an address. */
bool rc_key_is_group(const char *s);
bool rc_key_is_address(const char *s);

/* For group kinds: which kind of load balancer. */
enum spec_lb_kind rc_key_lb_kind(enum rc_key_kind kind);
/* For address kinds: how the spec names the address. */
enum spec_eip_ref rc_key_eip_ref(enum rc_key_kind kind);

/* Keys from the spec's and the provider's terms (caller frees). */
char *rc_key_group(enum spec_lb_kind kind, const char *ref);
char *rc_key_address(enum spec_eip_ref ref, const char *value);
char *rc_key_instance(const char *id);
char *rc_key_eni(const char *id);

#endif
