/* test_finding — engine/finding.c: every finding in tests/findings (checked
 * against tests/findings/MANIFEST), the normalising, and malformed input
 * that must end in one clear error line, never a crash.
 *
 * Run from the repository root (or set DEADBOLT_FINDINGS to the directory). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "finding.h"
#include "testutil.h"

#define MAX_ROWS 256

typedef struct row {
	char file[128];
	int index;
	char id[129], type[129], resource_type[65], region[33], role[17], route[16];
	double severity;
	int sample, archived;
} row;

static row rows[MAX_ROWS];
static int nrows;

static const char *dir(void)
{
	const char *d = getenv("DEADBOLT_FINDINGS");
	return d && *d ? d : "tests/findings";
}

static int parse_row(char *line, row *r)
{
	char *f[11];
	int n = 0;
	for (char *tok = strtok(line, "\t\n"); tok && n < 11; tok = strtok(NULL, "\t\n"))
		f[n++] = tok;
	if (n != 11)
		return -1;
	snprintf(r->file, sizeof(r->file), "%s", f[0]);
	r->index = (int)strtol(f[1], NULL, 10);
	snprintf(r->id, sizeof(r->id), "%s", f[2]);
	snprintf(r->type, sizeof(r->type), "%s", f[3]);
	snprintf(r->resource_type, sizeof(r->resource_type), "%s", f[4]);
	r->severity = strtod(f[5], NULL);
	r->sample = (int)strtol(f[6], NULL, 10);
	r->archived = (int)strtol(f[7], NULL, 10);
	snprintf(r->region, sizeof(r->region), "%s", f[8]);
	snprintf(r->role, sizeof(r->role), "%s", strcmp(f[9], "-") == 0 ? "" : f[9]);
	snprintf(r->route, sizeof(r->route), "%s", f[10]);
	return 0;
}

static void load_manifest(void)
{
	char path[512], line[1024];
	snprintf(path, sizeof(path), "%s/MANIFEST", dir());
	FILE *fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s (run from the repository root)", path);
	nrows = 0;
	while (fgets(line, sizeof(line), fp))
		if (line[0] != '#' && line[0] != '\n') {
			ck_assert_int_lt(nrows, MAX_ROWS);
			ck_assert_msg(parse_row(line, &rows[nrows]) == 0, "bad MANIFEST line %d", nrows + 1);
			nrows++;
		}
	fclose(fp);
	ck_assert_int_gt(nrows, 20);
}

/* Decodes a whole file into H; returns the count (or -1, err filled). */
static int decode_file(lua_State *H, const char *name, char *err, size_t errlen)
{
	char path[512];
	buf b = BUF_INIT;
	snprintf(path, sizeof(path), "%s/%s", dir(), name);
	int n = finding_read_file(path, 0, &b, err, errlen);
	if (n == 0)
		n = finding_decode(H, b.data, b.len, err, errlen);
	buf_free(&b);
	return n;
}

static int rows_for(const char *file)
{
	int n = 0;
	for (int i = 0; i < nrows; i++)
		n += strcmp(rows[i].file, file) == 0;
	return n;
}

START_TEST(test_every_manifest_finding_decodes_as_listed)
{
	load_manifest();
	lua_State *H = finding_state_new(0);
	char err[512];
	for (int i = 0; i < nrows; i++) {
		const row *r = &rows[i];
		int n = decode_file(H, r->file, err, sizeof(err));
		ck_assert_msg(n == rows_for(r->file), "%s: %d findings (%s), MANIFEST says %d", r->file,
			      n, n < 0 ? err : "", rows_for(r->file));
		finding_info fi;
		lua_rawgeti(H, -1, r->index + 1);
		finding_info_get(H, -1, r->index, &fi);
		ck_assert_str_eq(fi.id, r->id);
		ck_assert_str_eq(fi.type, r->type);
		ck_assert_str_eq(fi.resource_type, r->resource_type);
		ck_assert_str_eq(fi.region, r->region);
		ck_assert_str_eq(fi.resource_role, r->role);
		ck_assert_str_eq(fi.account, "123456789012");
		ck_assert_str_eq(fi.partition, "aws");
		ck_assert_double_eq(fi.severity, r->severity);
		ck_assert_msg(fi.sample == r->sample, "%s: sample %d", r->file, fi.sample);
		ck_assert_msg(fi.archived == r->archived, "%s: archived %d", r->file, fi.archived);
		lua_settop(H, 0);
	}
	finding_state_free(H);
}
END_TEST

START_TEST(test_every_file_in_the_directory_is_in_the_manifest)
{
	load_manifest();
	DIR *d = opendir(dir());
	struct dirent *e;
	int files = 0;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		files++;
		ck_assert_msg(rows_for(e->d_name) > 0, "%s is not in MANIFEST", e->d_name);
	}
	closedir(d);
	ck_assert_int_gt(files, 20);
}
END_TEST

/* Runs a Lua expression against the first decoded finding `f`. */
static const char *lua_eval(lua_State *H, const char *expr, char *out, size_t outlen)
{
	char chunk[512];
	luaL_requiref(H, "math", luaopen_math, 1);
	lua_pop(H, 1);
	snprintf(chunk, sizeof(chunk), "local f = ... return tostring(%s)", expr);
	ck_assert_int_eq(luaL_loadstring(H, chunk), LUA_OK);
	lua_rawgeti(H, -2, 1);
	ck_assert_msg(lua_pcall(H, 1, 1, 0) == LUA_OK, "%s: %s", expr, lua_tostring(H, -1));
	snprintf(out, outlen, "%s", lua_tostring(H, -1));
	lua_pop(H, 1);
	return out;
}

typedef struct norm_case {
	const char *file, *expr, *want;
} norm_case;

static const norm_case norm_cases[] = {
	/* epoch seconds, fractional seconds and milliseconds become ISO-8601 */
	{"ec2-dns-exfiltration.event.json", "f.service.eventFirstSeen", "2024-03-11T08:12:40.000Z"},
	{"ec2-dns-exfiltration.event.json", "f.service.eventLastSeen", "2024-03-11T09:47:02.500Z"},
	{"ec2-dns-exfiltration.event.json", "f.createdAt", "2024-03-11T08:12:51.419Z"},
	{"ec2-dns-exfiltration.event.json", "f.resource.instanceDetails.launchTime", "2024-01-23T08:53:20.000Z"},
	{"ec2-backdoor-cc-dns.event.json", "f.resource.instanceDetails.launchTime", "2024-02-26T14:03:11.000Z"},
	{"s3-anonymous-access-granted.bare.json", "f.resource.s3BucketDetails[1].createdAt", "2023-08-31T08:00:00.123Z"},
	/* ISO strings are kept as they are, with or without milliseconds */
	{"ec2-ssh-bruteforce.bare.json", "f.service.eventFirstSeen", "2024-03-11T08:12:40Z"},
	{"ec2-ssh-bruteforce.bare.json", "f.createdAt", "2024-03-11T08:19:31.419Z"},
	/* the envelope is gone; the finding is the bare form */
	{"ec2-ssh-bruteforce.event.json", "f.detail", "nil"},
	{"ec2-ssh-bruteforce.event.json", "f.resource.instanceDetails.instanceId", "i-0a1b2c3d4e5f67890"},
	/* JSON null is absent; lists keep their elements */
	{"ec2-bitcointool.bare.json", "f.resource.instanceDetails.productCodes", "nil"},
	{"ec2-bitcointool.bare.json", "f.resource.instanceDetails.platform", "nil"},
	{"ec2-bitcointool.bare.json", "#f.resource.instanceDetails.networkInterfaces", "3"},
	{"ec2-bitcointool.bare.json", "#f.resource.instanceDetails.tags", "0"},
	{"s3-malicious-ip-caller.event.json", "#f.resource.s3BucketDetails", "3"},
	/* JSON integers are Lua integers */
	{"ec2-backdoor-cc-dns.event.json", "math.type(f.severity)", "integer"},
	{"ec2-ssh-bruteforce.bare.json",
	 "math.type(f.service.action.networkConnectionAction.localPortDetails.port)", "integer"},
	/* boto3's PascalCase becomes the finding format's camelCase */
	{"iam-recon-malicious-ip.boto3.json", "f.resource.accessKeyDetails.userName", "legacy-backup"},
	{"iam-recon-malicious-ip.boto3.json", "f.service.additionalInfo.type", "default"},
	/* GetFindings' additionalInfo text gives up its sample flag */
	{"iam-sample.getfindings.json", "f.service.additionalInfo.sample", "true"},
};

START_TEST(test_normalising)
{
	const norm_case *c = &norm_cases[_i];
	lua_State *H = finding_state_new(0);
	char err[512], got[256];
	ck_assert_msg(decode_file(H, c->file, err, sizeof(err)) > 0, "%s: %s", c->file, err);
	ck_assert_str_eq(lua_eval(H, c->expr, got, sizeof(got)), c->want);
	finding_state_free(H);
}
END_TEST

#define GOOD "\"id\":\"abc123\",\"type\":\"Recon:EC2/Portscan\",\"severity\":5," \
	     "\"region\":\"us-east-1\",\"accountId\":\"123456789012\"," \
	     "\"resource\":{\"resourceType\":\"Instance\"}"

typedef struct bad_case {
	const char *json, *want;
} bad_case;

static const bad_case bad_cases[] = {
	{"", "not valid JSON"},
	{"not json", "not valid JSON"},
	{"{\"id\": \"x\",", "not valid JSON"},
	{"{" GOOD ",\"severity\":NaN}", "not valid JSON"},
	{"42", "the document is a number"},
	{"\"finding\"", "the document is a string"},
	{"null", "not a GuardDuty finding"},
	{"[]", "the document is empty"},
	{"{}", "the document is empty"},
	{"{\"foo\":1}", "finding: id is missing"},
	{"{\"id\":7,\"type\":\"x\"}", "finding: id must be a string"},
	{"{\"id\":\"\",\"type\":\"x\"}", "finding: id is empty"},
	{"{\"id\":\"a\\u0001b\",\"type\":\"x\"}", "finding: id has a control character"},
	{"{\"id\":\"a\"}", "finding: type is missing"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":\"8\"}", "finding: severity must be a number"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":11}", "severity 11 is outside 0 to 10"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2}", "finding: region is missing"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1/../x\"}", "is not a region name"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":123456789012}",
	 "accountId must be a string"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":\"1234\"}",
	 "is not a 12-digit account id"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":\"123456789012\"}",
	 "finding: resource is missing"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":\"123456789012\","
	 "\"resource\":[1]}", "finding: resource must be an object"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":\"123456789012\","
	 "\"resource\":{}}", "finding: resource.resourceType is missing"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":\"123456789012\","
	 "\"resource\":{\"resourceType\":null}}", "finding: resource.resourceType is missing"},
	{"{\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\",\"accountId\":\"123456789012\","
	 "\"resource\":{\"resourceType\":true}}", "resource.resourceType must be a string"},
	{"{" GOOD ",\"partition\":\"AWS!\"}", "is not a partition name"},
	{"{" GOOD ",\"service\":\"guardduty\"}", "finding: service must be an object"},
	{"[{" GOOD "},{" GOOD "},{\"id\":\"c\",\"type\":\"T\",\"severity\":2,\"region\":\"us-east-1\","
	 "\"accountId\":\"123456789012\",\"resource\":{}}]",
	 "finding[2]: resource.resourceType is missing"},
	{"[{" GOOD "},\"x\"]", "finding[1]: is a string, not a finding"},
	{"[[{" GOOD "}]]", "finding[0]: is an array, not a finding"},
	{"{\"source\":\"aws.ec2\",\"detail-type\":\"GuardDuty Finding\",\"detail\":{" GOOD "}}",
	 "not a GuardDuty event (source is aws.ec2)"},
	{"{\"source\":\"aws.guardduty\",\"detail-type\":\"GuardDuty Malware Protection Object Scan Result\","
	 "\"detail\":{" GOOD "}}", "detail-type is GuardDuty Malware Protection Object Scan Result"},
	{"{\"source\":\"aws.guardduty\",\"detail-type\":\"GuardDuty Finding\"}", "the event's detail is missing"},
	{"{\"source\":\"aws.\\nevil\\u001b[2J\",\"detail\":{" GOOD "}}", "(source is aws.?evil?[2J)"},
	{"{\"source\":\"aws.guardduty\",\"detail-type\":\"GuardDuty Finding\",\"detail\":\"x\"}",
	 "the event's detail must be an object"},
	{"{\"source\":\"aws.guardduty\",\"detail-type\":\"GuardDuty Finding\",\"detail\":{\"id\":\"a\"}}",
	 "finding: type is missing"},
};

START_TEST(test_malformed_input_gets_one_clear_error)
{
	const bad_case *c = &bad_cases[_i];
	lua_State *H = finding_state_new(0);
	char err[512] = "";
	int top = lua_gettop(H);
	ck_assert_int_eq(finding_decode(H, c->json, strlen(c->json), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, c->want) != NULL, "input %s: got \"%s\", want \"%s\"", c->json, err,
		      c->want);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_int_eq(lua_gettop(H), top);
	/* the state is still good for the next document */
	const char *ok = "{" GOOD "}";
	ck_assert_int_eq(finding_decode(H, ok, strlen(ok), err, sizeof(err)), 1);
	finding_state_free(H);
}
END_TEST

START_TEST(test_good_minimal_finding_and_flags)
{
	static const char *docs[] = {
		"{" GOOD ",\"service\":{\"additionalInfo\":{\"sample\":\"true\"},\"archived\":\"true\"}}",
		"{" GOOD ",\"service\":{\"additionalInfo\":{\"sample\":true},\"archived\":true}}",
		"{" GOOD ",\"service\":{\"additionalInfo\":{\"sample\":false},\"archived\":false}}",
		"{" GOOD ",\"service\":{\"additionalInfo\":null,\"archived\":null}}",
	};
	static const int want[] = {1, 1, 0, 0};
	lua_State *H = finding_state_new(0);
	char err[256];
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		finding_info fi;
		ck_assert_int_eq(finding_decode(H, docs[i], strlen(docs[i]), err, sizeof(err)), 1);
		lua_rawgeti(H, -1, 1);
		finding_info_get(H, -1, 0, &fi);
		ck_assert_int_eq(fi.sample, want[i]);
		ck_assert_int_eq(fi.archived, want[i]);
		ck_assert_str_eq(fi.partition, "aws");
		ck_assert_str_eq(fi.resource_role, "");
		lua_settop(H, 0);
	}
	finding_state_free(H);
}
END_TEST

/* Where the account (and region) come from: accountId, else the arn, else
 * the EventBridge envelope. */
#define BASE "\"id\":\"a\",\"type\":\"T\",\"severity\":2,\"resource\":{\"resourceType\":\"Instance\"}"
#define ARN "\"arn\":\"arn:aws:guardduty:eu-west-1:210987654321:detector/d/finding/a\""
#define ENV_OPEN "{\"source\":\"aws.guardduty\",\"account\":\"333333333333\",\"region\":\"ap-south-1\",\"detail\":{"
static const struct {
	const char *doc, *account, *region;
} account_cases[] = {
	{"{" BASE ",\"region\":\"us-east-1\",\"accountId\":\"111111111111\"," ARN "}", "111111111111", "us-east-1"},
	{"{" BASE "," ARN "}", "210987654321", "eu-west-1"},
	{ENV_OPEN BASE "," ARN "}}", "210987654321", "eu-west-1"},
	{ENV_OPEN BASE "}}", "333333333333", "ap-south-1"},
	{ENV_OPEN BASE ",\"accountId\":\"111111111111\",\"region\":\"us-east-1\"}}", "111111111111", "us-east-1"},
	{ENV_OPEN BASE ",\"arn\":\"arn:aws:guardduty:::detector\"}}", "333333333333", "ap-south-1"},
};

START_TEST(test_account_from_accountid_else_arn_else_envelope)
{
	lua_State *H = finding_state_new(0);
	char err[256];
	finding_info fi;
	const char *doc = account_cases[_i].doc;
	ck_assert_msg(finding_decode(H, doc, strlen(doc), err, sizeof(err)) == 1, "%s: %s", doc, err);
	lua_rawgeti(H, -1, 1);
	finding_info_get(H, -1, 0, &fi);
	ck_assert_str_eq(fi.account, account_cases[_i].account);
	ck_assert_str_eq(fi.region, account_cases[_i].region);
	lua_getfield(H, -1, "accountId"); /* what ctx.finding shows the playbooks */
	ck_assert_str_eq(lua_tostring(H, -1), account_cases[_i].account);
	finding_state_free(H);
}
END_TEST

START_TEST(test_a_bad_account_in_the_arn_is_refused)
{
	lua_State *H = finding_state_new(0);
	char err[256];
	const char *doc = "{" BASE ",\"arn\":\"arn:aws:guardduty:us-east-1:12x:detector/d\"}";
	ck_assert_int_eq(finding_decode(H, doc, strlen(doc), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "accountId \"12x\""), "%s", err);
	finding_state_free(H);
}
END_TEST

static char *repeat(const char *open, size_t n, const char *middle, const char *close)
{
	size_t lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + lm + 1), *p = s;
	for (size_t i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, middle, lm);
	p += lm;
	for (size_t i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

START_TEST(test_deep_nesting_is_refused)
{
	lua_State *H = finding_state_new(0);
	char err[512];
	char *arrays = repeat("[", 100000, "1", "]");
	char *objects = repeat("{\"a\":", 100000, "1", "}");
	ck_assert_int_eq(finding_decode(H, arrays, strlen(arrays), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "nested") != NULL, "%s", err);
	ck_assert_int_eq(finding_decode(H, objects, strlen(objects), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "nested") != NULL, "%s", err);
	/* 60 levels inside a real finding are still fine */
	char *deep = repeat("{\"a\":", 55, "1", "}");
	char *doc = malloc(strlen(deep) + 256);
	snprintf(doc, strlen(deep) + 256, "{" GOOD ",\"extra\":%s}", deep);
	ck_assert_int_eq(finding_decode(H, doc, strlen(doc), err, sizeof(err)), 1);
	free(arrays);
	free(objects);
	free(deep);
	free(doc);
	finding_state_free(H);
}
END_TEST

START_TEST(test_100_mib_file_is_refused_before_reading)
{
	char path[] = "/tmp/deadbolt-test-finding-XXXXXX";
	char err[256];
	buf b = BUF_INIT;
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)100 << 20), 0); /* sparse: no disk used */
	close(fd);
	clock_t t = clock();
	ck_assert_int_eq(finding_read_file(path, 0, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
	ck_assert_msg(b.len == 0, "read %zu bytes of a file it should have refused", b.len);
	ck_assert_msg((double)(clock() - t) / CLOCKS_PER_SEC < 0.1, "refusing took too long");
	unlink(path);
	buf_free(&b);
}
END_TEST

START_TEST(test_oversized_stream_stops_at_the_cap)
{
	int p[2];
	char err[256];
	buf b = BUF_INIT;
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static char chunk[65536];
		close(p[0]);
		memset(chunk, ' ', sizeof(chunk));
		for (int i = 0; i < 160; i++) /* 10 MiB */
			if (write(p[1], chunk, sizeof(chunk)) < 0)
				_exit(0);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(finding_read_fd(p[0], 0, &b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
	ck_assert_uint_le(b.len, FINDING_MAX_DOC);
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_oversized_documents_are_refused)
{
	char err[256];
	lua_State *H = finding_state_new(0);
	size_t big = FINDING_MAX_DOC + 1;
	char *doc = malloc(big);
	memset(doc, ' ', big);
	ck_assert_int_eq(finding_decode(H, doc, big, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
	finding_state_free(H);
	/* a million empty arrays (3 MiB) are refused before they fill the state */
	size_t n = 1000000;
	char *arr = malloc(n * 3 + 2), *p = arr;
	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(p, "[],", 3);
		p += 3;
	}
	p[-1] = ']';
	*p = '\0';
	H = finding_state_new(0);
	ck_assert_int_eq(finding_decode(H, arr, strlen(arr), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "objects and arrays") != NULL, "%s", err);
	/* brackets inside strings do not count */
	char *brackets = repeat("[", 600000, "", "");
	char *str = malloc(strlen(brackets) + 64);
	snprintf(str, strlen(brackets) + 64, "{\"id\":\"%s\"}", brackets);
	ck_assert_int_eq(finding_decode(H, str, strlen(str), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "id is longer than 128") != NULL, "%s", err);
	free(brackets);
	free(str);
	free(arr);
	free(doc);
	finding_state_free(H);
}
END_TEST

START_TEST(test_copy_into_another_state)
{
	lua_State *H = finding_state_new(0), *L = luaL_newstate();
	char err[256];
	luaL_openlibs(L);
	ck_assert_int_eq(decode_file(H, "ec2-ssh-bruteforce.event.json", err, sizeof(err)), 1);
	lua_rawgeti(H, -1, 1);
	finding_copy(H, -1, L);
	lua_setglobal(L, "f");
	ck_assert_int_eq(luaL_dostring(L, "return #f.resource.instanceDetails.networkInterfaces == 2 and "
					  "f.resource.instanceDetails.networkInterfaces[2].securityGroups[2].groupName == 'mgmt' and "
					  "math.type(f.severity) == 'integer' and f.service.archived == false"),
			 LUA_OK);
	ck_assert_msg(lua_toboolean(L, -1), "the copy differs");
	lua_close(L);
	finding_state_free(H);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("finding");
	TCase *tc = tcase_create("finding");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_every_manifest_finding_decodes_as_listed);
	tcase_add_test(tc, test_every_file_in_the_directory_is_in_the_manifest);
	tcase_add_loop_test(tc, test_normalising, 0, sizeof(norm_cases) / sizeof(norm_cases[0]));
	tcase_add_loop_test(tc, test_malformed_input_gets_one_clear_error, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_good_minimal_finding_and_flags);
	tcase_add_loop_test(tc, test_account_from_accountid_else_arn_else_envelope, 0,
			    sizeof(account_cases) / sizeof(account_cases[0]));
	tcase_add_test(tc, test_a_bad_account_in_the_arn_is_refused);
	tcase_add_test(tc, test_deep_nesting_is_refused);
	tcase_add_test(tc, test_100_mib_file_is_refused_before_reading);
	tcase_add_test(tc, test_oversized_stream_stops_at_the_cap);
	tcase_add_test(tc, test_oversized_documents_are_refused);
	tcase_add_test(tc, test_copy_into_another_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
