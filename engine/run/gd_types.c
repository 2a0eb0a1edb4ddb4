/* gd_types — GuardDuty's finding-type parts and resource types. See gd_types.h. */
#include "gd_types.h"

#include <stdio.h>
#include <string.h>

#include "suggest.h"

/* ThreatPurpose: the first part of every finding type (GuardDuty finding
 * format, "Threat purposes"; Object is the purpose of Malware Protection for
 * S3, AttackSequence of Extended Threat Detection). */
static const char *const purposes[] = {
	"AttackSequence", "Backdoor", "Behavior", "CredentialAccess", "CryptoCurrency",
	"DefenseEvasion", "Discovery", "Execution", "Exfiltration", "Impact", "InitialAccess",
	"Object", "PenTest", "Persistence", "Policy", "PrivilegeEscalation", "Recon", "Stealth",
	"Trojan", "UnauthorizedAccess", NULL,
};

/* ResourceTypeAffected: the part between ":" and "/" in the active finding
 * types (EC2, IAM and S3 Protection, EKS Protection, Runtime Monitoring,
 * Malware Protection, RDS and Lambda Protection, attack sequences). */
static const char *const affected[] = {
	"Container", "EC2", "ECS", "EKS", "IAM", "IAMUser", "Kubernetes", "Lambda", "RDS",
	"Runtime", "S3", NULL,
};

/* resource.resourceType of a finding ("Finding details": the resource types
 * GuardDuty generates findings for, as they are spelt in the finding JSON). */
static const char *const resource_types[] = {
	"AccessKey", "Container", "ECSCluster", "EKSCluster", "Instance", "Lambda",
	"RDSDBInstance", "RDSLimitlessDB", "S3Bucket", "S3Object", NULL,
};

static int in_list(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && strncmp(list[i], s, n) == 0)
			return 1;
	return 0;
}

/* 1 when some entry of list starts with s[0..n). */
static int prefix_of_any(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i]; i++)
		if (strncmp(list[i], s, n) == 0)
			return 1;
	return 0;
}

static void join(const char *const *list, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; list[i] && used + 1 < len; i++) {
		int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", list[i]);
		used += w > 0 ? (size_t)w : 0;
	}
}

static void unknown(const char *what, const char *word, const char *const *list, char *msg,
		    size_t len)
{
	char all[400];
	const char *near = suggest_among(word, list);
	if (near) {
		snprintf(msg, len, "%s \"%s\" is not one GuardDuty sends: did you mean \"%s\"?", what,
			 word, near);
		return;
	}
	join(list, all, sizeof(all));
	snprintf(msg, len, "%s \"%s\" is not one GuardDuty sends (it sends %s)", what, word, all);
}

int gd_check_resource_type(const char *type, char *msg, size_t len)
{
	if (in_list(resource_types, type, strlen(type)))
		return 0;
	unknown("resource_type", type, resource_types, msg, len);
	return 1;
}

/* The literal text of a Lua pattern, with a NUL where anything magic was
 * (a class, a set, a quantified character, an anchor). */
static void literal_runs(const char *p, char *out, size_t len)
{
	size_t o = 0;
	for (; *p && o + 1 < len; p++) {
		char c = *p;
		if (c == '%' && p[1]) {
			char e = *++p;
			if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
				c = '\0'; /* a class (%w) or a capture back-reference */
			else
				c = e;
		} else if (c == '[') {
			while (p[1] && p[1] != ']')
				p++;
			if (p[1])
				p++;
			c = '\0';
		} else if (strchr("^$().", c)) {
			c = '\0';
		}
		if (p[1] && strchr("*+-?", p[1])) { /* optional or repeated: not literal */
			p++;
			c = '\0';
		}
		out[o++] = c;
	}
	out[o] = '\0';
	out[o + 1 < len ? o + 1 : o] = '\0';
}

/* The anchored start: "Recon:EC2/..." must start with a purpose. */
static int check_anchored(const char *lit, char *msg, size_t len)
{
	const char *colon = strchr(lit, ':');
	size_t n = colon ? (size_t)(colon - lit) : strlen(lit);
	char word[64];
	if (n == 0 || n >= sizeof(word))
		return 0;
	if (colon ? in_list(purposes, lit, n) : prefix_of_any(purposes, lit, n))
		return 0;
	snprintf(word, sizeof(word), "%.*s", (int)n, lit);
	unknown("the threat purpose", word, purposes, msg, len);
	return 1;
}

/* Every literal ":Name/" must name an affected-resource segment. */
static int check_segments(const char *run, char *msg, size_t len)
{
	char word[64];
	for (const char *c = strchr(run, ':'); c; c = strchr(c + 1, ':')) {
		const char *slash = strchr(c + 1, '/');
		size_t n = slash ? (size_t)(slash - c - 1) : 0;
		if (!slash || n == 0 || n >= sizeof(word) || in_list(affected, c + 1, n))
			continue;
		snprintf(word, sizeof(word), "%.*s", (int)n, c + 1);
		unknown("the resource part", word, affected, msg, len);
		return 1;
	}
	return 0;
}

int gd_check_type_pattern(const char *pattern, char *msg, size_t len)
{
	char lit[512];
	size_t plen = strlen(pattern);
	if (plen + 2 > sizeof(lit))
		return 0;
	literal_runs(pattern, lit, sizeof(lit));
	if (pattern[0] == '^' && check_anchored(lit + 1, msg, len))
		return 1;
	for (size_t i = 0; i < plen; i += strlen(lit + i) + 1)
		if (check_segments(lit + i, msg, len))
			return 1;
	return 0;
}
