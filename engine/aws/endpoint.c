/* endpoint — which URL a service is reached at (see endpoint.h).
 *
 * Overrides, in botocore's order (configprovider.ConfiguredEndpointProvider),
 * after the --endpoint-url flag: AWS_ENDPOINT_URL_<SERVICE_ID>,
 * AWS_ENDPOINT_URL, the profile's "services" section (<service_id>.endpoint_url),
 * the profile's endpoint_url. Without one, the partition's host: the tables
 * below come from botocore's endpoints.json and the IAM endpoint rule set. */
#include "endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

typedef struct service_info {
	const char *name;   /* boto3 client name */
	const char *env_id; /* AWS_ENDPOINT_URL_<env_id>; lower-cased: services section key */
	const char *prefix; /* endpoint prefix in the default host */
} service_info;

static const service_info SERVICES[] = {
	{"ec2", "EC2", "ec2"},
	{"autoscaling", "AUTO_SCALING", "autoscaling"},
	{"elb", "ELASTIC_LOAD_BALANCING", "elasticloadbalancing"},
	{"elbv2", "ELASTIC_LOAD_BALANCING_V2", "elasticloadbalancing"},
	{"ssm", "SSM", "ssm"},
	{"s3", "S3", "s3"},
	{"s3control", "S3_CONTROL", "s3-control"},
	{"iam", "IAM", "iam"},
	{"sns", "SNS", "sns"},
	{"sts", "STS", "sts"},
};

typedef struct partition_info {
	const char *name;
	const char *const *prefixes; /* regions match "<prefix>-<word>-<digits>" */
	const char *suffix;          /* DNS suffix */
	const char *iam_host;        /* IAM's global endpoint */
	const char *iam_region;      /* and the region it is signed for */
} partition_info;

static const char *const AWS_PREFIXES[] = {"us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", NULL};
static const char *const CN_PREFIXES[] = {"cn", NULL};
static const char *const GOV_PREFIXES[] = {"us-gov", NULL};
static const char *const ISO_PREFIXES[] = {"us-iso", NULL};
static const char *const ISOB_PREFIXES[] = {"us-isob", NULL};
static const char *const ISOE_PREFIXES[] = {"eu-isoe", NULL};
static const char *const ISOF_PREFIXES[] = {"us-isof", NULL};
static const char *const EUSC_PREFIXES[] = {"eusc-de", NULL};

/* The first entry is the default for regions that match no pattern. */
static const partition_info PARTITIONS[] = {
	{"aws", AWS_PREFIXES, "amazonaws.com", "iam.amazonaws.com", "us-east-1"},
	{"aws-cn", CN_PREFIXES, "amazonaws.com.cn", "iam.cn-north-1.amazonaws.com.cn", "cn-north-1"},
	{"aws-us-gov", GOV_PREFIXES, "amazonaws.com", "iam.us-gov.amazonaws.com", "us-gov-west-1"},
	{"aws-iso", ISO_PREFIXES, "c2s.ic.gov", "iam.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"},
	{"aws-iso-b", ISOB_PREFIXES, "sc2s.sgov.gov", "iam.us-isob-east-1.sc2s.sgov.gov",
	 "us-isob-east-1"},
	{"aws-iso-e", ISOE_PREFIXES, "cloud.adc-e.uk", "iam.eu-isoe-west-1.cloud.adc-e.uk",
	 "eu-isoe-west-1"},
	{"aws-iso-f", ISOF_PREFIXES, "csp.hci.ic.gov", "iam.us-isof-south-1.csp.hci.ic.gov",
	 "us-isof-south-1"},
	{"aws-eusc", EUSC_PREFIXES, "amazonaws.eu", "iam.eusc-de-east-1.amazonaws.eu",
	 "eusc-de-east-1"},
};

#define NPARTITIONS (sizeof(PARTITIONS) / sizeof(PARTITIONS[0]))
#define REGION_MAX 31

static const service_info *find_service(const char *name)
{
	for (size_t i = 0; name && i < sizeof(SERVICES) / sizeof(SERVICES[0]); i++)
		if (strcmp(SERVICES[i].name, name) == 0)
			return &SERVICES[i];
	return NULL;
}

static int region_valid(const char *r)
{
	size_t n = r ? strlen(r) : 0;
	if (n == 0 || n > REGION_MAX || r[0] == '-' || r[n - 1] == '-')
		return 0;
	return strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* "<word>-<digits>" with word of [a-z0-9_]: the tail of a partition's regex. */
static int word_dash_digits(const char *s)
{
	size_t w = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (w == 0 || s[w] != '-')
		return 0;
	size_t d = strspn(s + w + 1, "0123456789");
	return d > 0 && s[w + 1 + d] == '\0';
}

static const partition_info *find_partition(const char *region)
{
	for (size_t i = 0; region && i < NPARTITIONS; i++) {
		for (const char *const *p = PARTITIONS[i].prefixes; *p; p++) {
			size_t n = strlen(*p);
			if (strncmp(region, *p, n) == 0 && region[n] == '-' && word_dash_digits(region + n + 1))
				return &PARTITIONS[i];
		}
	}
	return &PARTITIONS[0];
}

const char *endpoint_partition(const char *region)
{
	return find_partition(region)->name;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* host[:port] of an override: a DNS name or IPv4, or [IPv6]; port 1..65535. */
static int authority_valid(const char *a, size_t n)
{
	size_t i = 0;
	if (n && a[0] == '[') {
		for (i = 1; i < n && a[i] != ']'; i++)
			if (!strchr("0123456789abcdefABCDEF:.", a[i]))
				return 0;
		if (i >= n || i == 1)
			return 0;
		i++;
	} else {
		while (i < n && host_char(a[i]))
			i++;
		if (i == 0)
			return 0;
	}
	if (i == n)
		return 1;
	if (a[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return 0;
	long port = 0;
	for (size_t j = i + 1; j < n; j++) {
		if (a[j] < '0' || a[j] > '9')
			return 0;
		port = port * 10 + (a[j] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* Checks an override and copies it without trailing slashes, the scheme
 * lower-cased. 0, or -1 when it is not a plain http(s) URL. */
static int normalize_url(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), skip;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '@' || c == '\\')
			return -1;
	}
	if (strncasecmp(in, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(in, "http://", 7) == 0)
		skip = 7;
	else
		return -1;
	const char *auth = in + skip;
	size_t alen = strcspn(auth, "/");
	if (!authority_valid(auth, alen))
		return -1;
	while (n > skip + alen && in[n - 1] == '/')
		n--;
	if (n >= outlen)
		return -1;
	for (size_t i = 0; i < skip; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	memcpy(out + skip, in + skip, n - skip);
	out[n] = '\0';
	return 0;
}

static int ignore_configured(const char *profile)
{
	char v[16];
	const char *env = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (env && *env)
		return config_is_true(env);
	if (config_profile_get(profile, "ignore_configured_endpoint_urls", v, sizeof(v)) == 0)
		return config_is_true(v);
	return 0;
}

/* The services section's <service_id>.endpoint_url. 1: none, 0: found,
 * -1: the profile names a services section that does not exist. */
static int services_section_url(const service_info *s, const char *profile, char *out,
				size_t outlen, aws_error *err)
{
	char name[256], sect[300], key[96];
	if (config_profile_get(profile, "services", name, sizeof(name)) != 0 || !name[0])
		return 1;
	snprintf(sect, sizeof(sect), "services %s", name);
	if (config_get_section("config", sect, NULL, NULL, 0) != 0) {
		aws_error_set(err, "InvalidConfig",
			      "profile %s refers to services section \"%s\", which does not exist",
			      profile, name);
		return -1;
	}
	size_t i = 0;
	for (; s->env_id[i] && i + 1 < sizeof(key); i++)
		key[i] = (char)(s->env_id[i] >= 'A' && s->env_id[i] <= 'Z' ? s->env_id[i] + 32 : s->env_id[i]);
	snprintf(key + i, sizeof(key) - i, ".endpoint_url");
	return config_get_section("config", sect, key, out, outlen) == 0 && out[0] ? 0 : 1;
}

/* Copies v into out; an over-long value becomes "" (rejected later). */
static void copy_url(const char *v, char *out, size_t outlen)
{
	size_t n = strlen(v);
	if (n >= outlen)
		n = 0;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* Finds the configured override, if any. 1: none, 0: raw (unchecked) value
 * in out with *origin naming where it came from, -1: err set. env_name is
 * scratch space for the service's variable name, which *origin may point to. */
static int configured_url(const service_info *s, const char *profile, char *env_name,
			  size_t env_len, char *out, size_t outlen, const char **origin,
			  aws_error *err)
{
	snprintf(env_name, env_len, "AWS_ENDPOINT_URL_%s", s->env_id);
	const char *names[] = {env_name, "AWS_ENDPOINT_URL"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(names[i]);
		if (v && *v) {
			*origin = names[i];
			copy_url(v, out, outlen);
			return 0;
		}
	}
	int rc = services_section_url(s, profile, out, outlen, err);
	if (rc <= 0) {
		*origin = "the profile's services section";
		return rc;
	}
	if (config_profile_get(profile, "endpoint_url", out, outlen) == 0 && out[0]) {
		*origin = "the profile's endpoint_url";
		return 0;
	}
	return 1;
}

/* Bounded copy (the region is validated to fit before it gets here). */
static void copy_str(char *dst, size_t dstlen, const char *src)
{
	size_t n = strnlen(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int set_override(const char *url, const char *origin, const char *region,
			const partition_info *p, int iam, aws_endpoint *out, aws_error *err)
{
	if (normalize_url(url, out->url, sizeof(out->url)) != 0) {
		aws_error_set(err, "InvalidEndpoint", "%s is not a valid http(s) URL", origin);
		return -1;
	}
	out->custom = 1;
	copy_str(out->signing_region, sizeof(out->signing_region), iam ? p->iam_region : region);
	return 0;
}

static void set_default(const service_info *s, const char *region, const partition_info *p,
			aws_endpoint *out)
{
	if (strcmp(s->name, "iam") == 0) {
		snprintf(out->url, sizeof(out->url), "https://%s", p->iam_host);
		copy_str(out->signing_region, sizeof(out->signing_region), p->iam_region);
		return;
	}
	snprintf(out->url, sizeof(out->url), "https://%s.%s.%s", s->prefix, region, p->suffix);
	copy_str(out->signing_region, sizeof(out->signing_region), region);
}

/* The region to use: the argument, else the configured one. IAM may go
 * without (the aws partition). -1 with err set when missing or malformed. */
static int pick_region(const char *region, const char *profile, int iam, char *out,
		       size_t outlen, aws_error *err)
{
	out[0] = '\0';
	if (region && *region)
		snprintf(out, outlen, "%s", region);
	else if (config_region(NULL, profile, out, outlen) != 0)
		out[0] = '\0';
	if (!out[0]) {
		if (iam)
			return 0;
		aws_error_set(err, "NoRegion", "no region given: set --region, AWS_REGION or the profile's region");
		return -1;
	}
	if (!region_valid(out)) {
		aws_error_set(err, "InvalidRegion", "the region is not a valid name ([a-z0-9-], at most %d characters)", REGION_MAX);
		return -1;
	}
	return 0;
}

int endpoint_resolve(const char *service, const char *region, const char *profile,
		     const char *endpoint_url_flag, aws_endpoint *out, aws_error *err)
{
	char reg[64], url[1024], env_name[64];
	const char *origin = "--endpoint-url";
	const service_info *s = find_service(service);
	memset(out, 0, sizeof(*out));
	if (!s) {
		aws_error_set(err, "UnknownService", "unknown service \"%.40s\"", service ? service : "");
		return -1;
	}
	int iam = strcmp(s->name, "iam") == 0;
	profile = config_profile_name(profile);
	if (pick_region(region, profile, iam, reg, sizeof(reg), err) != 0)
		return -1;
	const partition_info *p = find_partition(reg[0] ? reg : NULL);
	copy_str(out->partition, sizeof(out->partition), p->name);
	if (endpoint_url_flag && *endpoint_url_flag)
		return set_override(endpoint_url_flag, origin, reg, p, iam, out, err);
	if (!ignore_configured(profile)) {
		int rc = configured_url(s, profile, env_name, sizeof(env_name), url, sizeof(url),
					&origin, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return set_override(url, origin, reg, p, iam, out, err);
	}
	set_default(s, reg, p, out);
	return 0;
}
