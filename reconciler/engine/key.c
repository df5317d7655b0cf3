#include "reconciler/engine/key.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "spec/spec.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/err.h"
#include "util/str.h"
#include "util/banned.h"

/* Indexed by enum rc_key_kind; no prefix is a prefix of another. */
static const char *const prefixes[] = {
	[RC_KEY_CLASSIC] = "classic:",	   [RC_KEY_TARGET_GROUP] = "tg:",
	[RC_KEY_INSTANCE] = "instance:",   [RC_KEY_ENI] = "eni:",
	[RC_KEY_EIP_ALLOC] = "eip:alloc:", [RC_KEY_EIP_IP] = "eip:ip:",
	[RC_KEY_EIP_NAME] = "eip:name:",
};

char *rc_key_format(struct rc_key k)
{
	return util_xasprintf("%s%s", prefixes[k.kind], k.value);
}

int rc_key_parse(const char *s, struct rc_key *ret, struct util_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);

		if (util_starts_with(s, prefixes[i]) && s[n]) {
			ret->kind = (enum rc_key_kind)i;
			ret->value = s + n;
			return 0;
		}
	}
	return util_err_set(err, UTIL_EINVAL, "malformed resource key '%s'", s);
}

bool rc_key_kind_is_group(enum rc_key_kind kind)
{
	return kind == RC_KEY_CLASSIC || kind == RC_KEY_TARGET_GROUP;
}

bool rc_key_kind_is_address(enum rc_key_kind kind)
{
	return kind == RC_KEY_EIP_ALLOC || kind == RC_KEY_EIP_IP ||
	       kind == RC_KEY_EIP_NAME;
}

bool rc_key_is_group(const char *s)
{
	struct rc_key k;

	return rc_key_parse(s, &k, NULL) == 0 && rc_key_kind_is_group(k.kind);
}

bool rc_key_is_address(const char *s)
{
	struct rc_key k;

	return rc_key_parse(s, &k, NULL) == 0 && rc_key_kind_is_address(k.kind);
}

enum spec_lb_kind rc_key_lb_kind(enum rc_key_kind kind)
{
	return kind == RC_KEY_CLASSIC ? SPEC_LB_CLASSIC : SPEC_LB_TARGET_GROUP;
}

enum spec_eip_ref rc_key_eip_ref(enum rc_key_kind kind)
{
	if (kind == RC_KEY_EIP_ALLOC)
		return SPEC_EIP_BY_ALLOCATION_ID;
	if (kind == RC_KEY_EIP_IP)
		return SPEC_EIP_BY_PUBLIC_IP;
	return SPEC_EIP_BY_NAME;
}

char *rc_key_group(enum spec_lb_kind kind, const char *ref)
{
	return rc_key_format((struct rc_key){
		.kind = kind == SPEC_LB_CLASSIC ? RC_KEY_CLASSIC
						: RC_KEY_TARGET_GROUP,
		.value = ref,
	});
}

char *rc_key_address(enum spec_eip_ref ref, const char *value)
{
	static const enum rc_key_kind kinds[] = {
		[SPEC_EIP_BY_ALLOCATION_ID] = RC_KEY_EIP_ALLOC,
		[SPEC_EIP_BY_PUBLIC_IP] = RC_KEY_EIP_IP,
		[SPEC_EIP_BY_NAME] = RC_KEY_EIP_NAME,
	};

	return rc_key_format(
		(struct rc_key){ .kind = kinds[ref], .value = value });
}

char *rc_key_instance(const char *id)
{
	return rc_key_format(
		(struct rc_key){ .kind = RC_KEY_INSTANCE, .value = id });
}

char *rc_key_eni(const char *id)
{
	return rc_key_format(
		(struct rc_key){ .kind = RC_KEY_ENI, .value = id });
}
