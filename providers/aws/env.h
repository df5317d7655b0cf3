#ifndef PROVIDERS_AWS_ENV_H
#define PROVIDERS_AWS_ENV_H

#include <stdbool.h>

/*
 * Environment lookup, injected so tests can resolve credentials, regions
 * and endpoints from a table instead of the process environment.
 * awsp_env_process reads getenv().  get returns NULL for unset; the string
 * stays valid for as long as the environment does.
 */
struct awsp_env {
	const char *(*get)(void *ctx, const char *name);
	void *ctx;
};

extern const struct awsp_env awsp_env_process;

static inline const char *awsp_getenv(const struct awsp_env *env,
				      const char *name)
{
	return env->get(env->ctx, name);
}

/*
 * A get function over a NULL-terminated array of "NAME=value" strings
 * (ctx), for tests: struct awsp_env e = { awsp_env_table_get, vars }.
 * When a name appears twice, the later entry wins.
 */
const char *awsp_env_table_get(void *ctx, const char *name);

/* Like awsp_getenv, but an empty value counts as unset (as in the SDKs). */
const char *awsp_getenv_nonempty(const struct awsp_env *env, const char *name);

/* Whether name is set to "true", case-insensitively (botocore's rule). */
bool awsp_env_true(const struct awsp_env *env, const char *name);

#endif
