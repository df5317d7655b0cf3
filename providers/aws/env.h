#ifndef PROVIDERS_AWS_ENV_H
#define PROVIDERS_AWS_ENV_H

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

#endif
