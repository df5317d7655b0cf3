#ifndef PROVIDERS_AWS_AWSCONFIG_H
#define PROVIDERS_AWS_AWSCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/env.h"
#include "util/err.h"

/*
 * The shared AWS config and credentials files (~/.aws/config,
 * ~/.aws/credentials), read the way botocore reads them:
 *
 *  - config file sections: [default], [profile NAME], [services NAME],
 *    [sso-session NAME]; any other section is ignored as a profile;
 *  - credentials file sections: [NAME] (NAME may be "default");
 *  - `key = value` lines; `#` and `;` start comments at line start (and
 *    after whitespace inside a value); keys are case-sensitive;
 *  - nested values: a key with an empty value followed by indented
 *    `sub = value` lines ("ec2 =\n  endpoint_url = ...").
 *
 * For one profile, a key in the credentials file wins over the same key in
 * the config file.
 */

struct awsp_ini;

/* Parse data; path is for messages.  Caller frees *ret with awsp_ini_free. */
int awsp_ini_parse(const char *data, size_t len, const char *path,
		   struct awsp_ini **ret, struct util_err *err);
/*
 * Read and parse a file.  A missing file is an empty ini (returns 0); an
 * unreadable or malformed one is an error naming the path and line.
 */
int awsp_ini_load(const char *path, struct awsp_ini **ret,
		  struct util_err *err);
void awsp_ini_free(struct awsp_ini *ini);

/* Raw section lookup: section is the full header text ("profile dev"). */
bool awsp_ini_has_section(const struct awsp_ini *ini, const char *section);
const char *awsp_ini_get(const struct awsp_ini *ini, const char *section,
			 const char *key);
const char *awsp_ini_get_nested(const struct awsp_ini *ini, const char *section,
				const char *key, const char *subkey);

/*
 * Both files, and which profile is selected.  Paths come from
 * AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/... under
 * HOME; the profile from the explicit argument, else AWS_PROFILE, else
 * AWS_DEFAULT_PROFILE, else "default".
 */
struct awsp_config {
	struct awsp_ini *config;
	struct awsp_ini *credentials;
	char *profile;	       /* selected profile name */
	bool profile_explicit; /* named by --profile or AWS_PROFILE */
};

/* Caller frees with awsp_config_free(). */
int awsp_config_load(const struct awsp_env *env, const char *profile,
		     struct awsp_config **ret, struct util_err *err);
void awsp_config_free(struct awsp_config *c);

/*
 * Value of key for profile (NULL = the selected one): credentials file
 * [NAME] first, then config [profile NAME] (or [default] for "default").
 * NULL when unset.  Valid as long as c.
 */
const char *awsp_profile_get(const struct awsp_config *c, const char *profile,
			     const char *key);
/* Whether the profile exists in either file. */
bool awsp_profile_exists(const struct awsp_config *c, const char *profile);

/*
 * The endpoint_url for a service key ("ec2", "sts",
 * "elastic_load_balancing_v2") from the [services NAME] section that the
 * profile's `services = NAME` names.  NULL when unset.
 */
const char *awsp_profile_service_endpoint(const struct awsp_config *c,
					  const char *profile,
					  const char *service_key);

#endif
