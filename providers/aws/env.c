#include "providers/aws/env.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

static const char *process_get(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

const struct awsp_env awsp_env_process = {
	.get = process_get,
	.ctx = NULL,
};

const char *awsp_env_table_get(void *ctx, const char *name)
{
	const char *const *v = ctx;
	size_t n = strlen(name);
	const char *found = NULL;

	/* The last assignment of a name wins, as with repeated putenv(). */
	for (; v && *v; v++)
		if (!strncmp(*v, name, n) && (*v)[n] == '=')
			found = *v + n + 1;
	return found;
}

const char *awsp_getenv_nonempty(const struct awsp_env *env, const char *name)
{
	const char *v = awsp_getenv(env, name);

	return v && *v ? v : NULL;
}

bool awsp_env_true(const struct awsp_env *env, const char *name)
{
	const char *v = awsp_getenv(env, name);

	return v && !strcasecmp(v, "true");
}
