#include "spec/spec.h"

#include <stddef.h>

#include "util/array.h"
#include "util/banned.h"

/*
 * The spec's failback words, in enum spec_failback's order: decode.c reads
 * them, the daemon shows them (status file, SIGUSR1).
 */
const char *const spec_failback_words[] = {
	[SPEC_FAILBACK_STAY] = "stay",
	[SPEC_FAILBACK_PREFER_FIRST] = "prefer_first",
	NULL,
};

const char *spec_failback_name(enum spec_failback f)
{
	/* The table ends with NULL. */
	if ((size_t)f < ARRAY_SIZE(spec_failback_words) - 1)
		return spec_failback_words[f];
	return "?";
}
