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
 *  - `key = value` (or `key: value`) lines; `#` and `;` start comments
 *    only at the start of a line: like botocore (Python configparser
 *    without inline_comment_prefixes), "region = x # note" has the value
 *    "x # note", and a credential_process command may hold " ; ";
 *  - keys are lowercased (configparser's optionxform), section names and
 *    nested sub-keys are taken as written;
 *  - a line indented deeper than its key continues the value;
 *  - nested values: a key with an empty value followed by indented
 *    `sub = value` lines ("ec2 =\n  endpoint_url = ...");
 *  - like botocore, a repeated section or a repeated key within a section
 *    is an error, as is a line that is not `key = value`;
 *  - profile sections in the config file are matched the way botocore's
 *    build_profile_map does: "[profile NAME]" with any spacing or shell
 *    quoting ("[profile \"my dev\"]"), and "[default]"; when two sections
 *    name the same profile, the later one wins.
 *
 * For one profile, a key in the credentials file wins over the same key in
 * the config file.  Error messages give the path and line number but never
 * quote a line (it may hold a secret).
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
	bool profile_explicit; /* named by --profile or AWS_[DEFAULT_]PROFILE */
	/*
	 * Named by the caller (--profile), not the environment: botocore then
	 * drops the environment's keys from the credential chain.
	 */
	bool profile_from_cli;
	char *config_path; /* the files read (or looked for), expanded */
	char *credentials_path;
};

/*
 * Caller frees with awsp_config_free().  Missing files are empty.  A
 * profile that was named explicitly but exists in neither file is
 * UTIL_ENOTFOUND, as botocore's ProfileNotFound.
 */
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
/*
 * A path as botocore expands AWS_CONFIG_FILE: $NAME / ${NAME} from env
 * (unset ones left as written), then a leading ~ as HOME.  Caller frees.
 */
char *awsp_expand_path(const struct awsp_env *env, const char *path);

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
