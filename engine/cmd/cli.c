/* cli — see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "ca_bundle.h"
#include "config.h"

const char CLI_AWS_ENVIRONMENT[] =
	"\n"
	"AWS settings, read as the AWS CLI reads them:\n"
	"  AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE\n"
	"                     the profile and the files it is read from (default ~/.aws)\n"
	"  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or AWS_SECURITY_TOKEN),\n"
	"  AWS_CREDENTIAL_EXPIRATION\n"
	"                     credentials, before the profile's\n"
	"  AWS_REGION, AWS_DEFAULT_REGION\n"
	"                     the region, before the profile's\n"
	"  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS\n"
	"                     endpoints (<SERVICE>: EC2, S3, S3_CONTROL, IAM, STS, SSM, SNS,\n"
	"                     AUTO_SCALING, ELASTIC_LOAD_BALANCING, ELASTIC_LOAD_BALANCING_V2)\n"
	"  AWS_MAX_ATTEMPTS   attempts per call (default 3)\n"
	"  DEADBOLT_MAX_CONCURRENT\n"
	"                     requests to one service in flight at once, inside aws.all (default 8)\n"
	"  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI,\n"
	"  AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\n"
	"                     container credentials (ECS, Lambda SnapStart, EKS Pod Identity)\n"
	"  AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT,\n"
	"  AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE\n"
	"                     instance metadata credentials (IMDSv2)\n"
	"  DEADBOLT_CA_BUNDLE, SSL_CERT_FILE\n"
	"                     a CA bundle file instead of the system's (a missing file stops the\n"
	"                     run at start)\n"
	"  _X_AMZN_TRACE_ID   sent as X-Amzn-Trace-Id (Lambda sets it)\n";

int cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_check_profile(const char *cmd, const char *explicit_profile)
{
	const char *p = config_profile_name(explicit_profile);
	if (strcmp(p, "default") == 0 || config_profile_exists(p))
		return 0;
	fprintf(stderr,
		"deadbolt %s: the config profile (%s) could not be found in the AWS config or "
		"credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, ~/.aws)%s\n",
		cmd, p, explicit_profile && *explicit_profile ? "" : "; it comes from AWS_PROFILE");
	return -1;
}

int cli_check_ca_bundle(const char *cmd)
{
	char path[4096], err[512];
	const char *from;
	if (ca_bundle_resolve(path, sizeof(path), &from, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "deadbolt %s: %s\n", cmd, err);
	return -1;
}
