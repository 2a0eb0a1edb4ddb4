/* config — the shared AWS config and credentials files, and the settings that
 * come from the environment the way the AWS CLI reads them.
 *
 * Files: AWS_CONFIG_FILE (default ~/.aws/config, sections "[default]" and
 * "[profile NAME]") and AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials, sections "[NAME]"). Values are copied out; nothing is
 * kept between calls. */
#ifndef DEADBOLT_AWS_CONFIG_H
#define DEADBOLT_AWS_CONFIG_H

#include <stddef.h>

/* The profile in force: explicit (the --profile flag) if not NULL/"", else
 * AWS_PROFILE, else "default". Returns a static or borrowed string. */
const char *config_profile_name(const char *explicit_profile);

/* Looks key up in profile's section of the config file (which="config") or of
 * the credentials file (which="credentials"). Copies the value into out and
 * returns 0, or returns -1 when absent or unreadable. */
int config_get(const char *which, const char *profile, const char *key, char *out, size_t outlen);

/* The region: explicit if set, else AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's "region". Returns 0 with out filled, or -1 when none is set. */
int config_region(const char *explicit_region, const char *profile, char *out, size_t outlen);

/* Added with config.c (backward-compatible):
 *
 * key may name a nested value as "parent.child" ("s3 =" followed by indented
 * "addressing_style = path" is "s3.addressing_style") in config_get and below.
 *
 * config_get_section: key in the section whose header is exactly section
 * ("services my-endpoints"; "profile  x" and 'profile "x"' normalize to
 * "profile x"). key NULL: 0 when the section exists, else -1.
 *
 * config_profile_get: the profile's key as botocore merges the files: the
 * credentials file's value, else the config file's.
 *
 * config_profile_exists: 1 when either file has a section for profile.
 *
 * config_is_true: 1 for "true" in any case (botocore's boolean settings). */
int config_get_section(const char *which, const char *section, const char *key, char *out,
		       size_t outlen);
int config_profile_get(const char *profile, const char *key, char *out, size_t outlen);
int config_profile_exists(const char *profile);
int config_is_true(const char *v);

#endif
