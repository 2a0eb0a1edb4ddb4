/* finding — GuardDuty findings in. See finding.h.
 *
 * Everything that touches the host lua_State runs inside one lua_pcall of
 * decode_main, so a memory cap hit or a validation error unwinds cleanly;
 * validation errors are raised with the message the user will see. */
#include "finding.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>

#include "journal.h"

/* A read's buffer, on the stack: the compiler probes every page of a frame
 * (stack clash protection), so 64 KiB here made 64 KiB of stack resident for
 * the process's life; 8 KiB reads cost a few more system calls per MiB. */
#define READ_CHUNK 8192
#define ADDITIONAL_INFO_MAX 65536

static const char decode_key = 'd'; /* registry: cjson.decode */

typedef struct cap_alloc {
	size_t used;
	size_t max;
} cap_alloc;

/* ---- the host state ---- */

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	cap_alloc *a = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		a->used -= old;
		return NULL;
	}
	if (nsize > old && nsize - old > a->max - a->used)
		return NULL;
	void *p = realloc(ptr, nsize);
	if (p)
		a->used = a->used - old + nsize;
	return p;
}

static int open_state(lua_State *H)
{
	luaL_requiref(H, "_G", luaopen_base, 1);
	luaL_requiref(H, "string", luaopen_string, 1);
	luaL_requiref(H, "cjson", luaopen_cjson, 1);
	lua_getfield(H, -1, "decode_max_depth");
	lua_pushinteger(H, FINDING_MAX_DEPTH);
	lua_call(H, 1, 0);
	lua_getfield(H, -1, "decode_invalid_numbers");
	lua_pushboolean(H, 0);
	lua_call(H, 1, 0);
	lua_getfield(H, -1, "decode");
	lua_rawsetp(H, LUA_REGISTRYINDEX, &decode_key);
	lua_settop(H, 0);
	return 0;
}

lua_State *finding_state_new(size_t max_bytes)
{
	cap_alloc *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->max = max_bytes ? max_bytes : FINDING_STATE_MEMORY;
	lua_State *H = lua_newstate(capped_alloc, a);
	if (!H) {
		free(a);
		return NULL;
	}
	lua_pushcfunction(H, open_state);
	if (lua_pcall(H, 0, 0, 0) != LUA_OK) {
		finding_state_free(H);
		return NULL;
	}
	return H;
}

void finding_state_free(lua_State *H)
{
	void *ud = NULL;
	if (!H)
		return;
	lua_getallocf(H, &ud);
	lua_close(H);
	free(ud);
}

/* ---- helpers on the host state (all may raise; run under decode_main) ---- */

typedef struct dctx {
	const char *json;
	size_t len;
	char where[32]; /* "finding[2]" or "finding" */
	char env_account[16]; /* the EventBridge envelope's account and region, */
	char env_region[40];  /* "" when absent or not an event */
} dctx;

static int is_null(lua_State *H, int idx)
{
	return lua_type(H, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(H, idx) == NULL;
}

static const char *json_type(lua_State *H, int idx)
{
	switch (lua_type(H, idx)) {
	case LUA_TNIL: return "missing";
	case LUA_TSTRING: return "a string";
	case LUA_TNUMBER: return "a number";
	case LUA_TBOOLEAN: return "a boolean";
	case LUA_TTABLE: return "an object or array";
	default: return is_null(H, idx) ? "null" : "something else";
	}
}

/* 1 when the table at t has exactly the keys 1..n, n > 0 (a JSON array). */
static int is_array(lua_State *H, int t)
{
	lua_Unsigned n = lua_rawlen(H, t), count = 0;
	lua_pushnil(H);
	while (lua_next(H, t)) {
		lua_pop(H, 1);
		if (!lua_isinteger(H, -1) || lua_tointeger(H, -1) < 1)
			count = n + 1;
		else
			count++;
		if (count > n) {
			lua_pop(H, 1);
			return 0;
		}
	}
	return n > 0 && count == n;
}

static int is_empty(lua_State *H, int t)
{
	lua_pushnil(H);
	if (!lua_next(H, t))
		return 1;
	lua_pop(H, 2);
	return 0;
}

/* ---- normalising ---- */

static int is_time_key(const char *k)
{
	static const char *const keys[] = {"createdAt",     "updatedAt", "eventFirstSeen",
					   "eventLastSeen", "launchTime", "firstSeen",
					   "lastSeen",      "time"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

/* Replaces the number at the top with what the finding means by it. */
static void normalise_number(lua_State *H, const char *key)
{
	double d = lua_tonumber(H, -1);
	if (key && is_time_key(key) && d > 0 && d < 1e14) {
		char iso[40];
		journal_format_time(d > 1e11 ? d / 1000.0 : d, iso, sizeof(iso));
		lua_pop(H, 1);
		lua_pushstring(H, iso);
	} else if (!lua_isinteger(H, -1) && d == floor(d) && fabs(d) < 9007199254740992.0) {
		lua_pop(H, 1);
		lua_pushinteger(H, (lua_Integer)d);
	}
}

static void normalise(lua_State *H, int t, int depth);

/* Normalises the value at the top; leaves it (maybe replaced) there. */
static void normalise_value(lua_State *H, const char *key, int depth)
{
	if (lua_type(H, -1) == LUA_TNUMBER)
		normalise_number(H, key);
	else if (lua_type(H, -1) == LUA_TTABLE)
		normalise(H, lua_gettop(H), depth + 1);
}

static void normalise_array(lua_State *H, int t, int depth)
{
	lua_Integer n = (lua_Integer)lua_rawlen(H, t), out = 0;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(H, t, i);
		if (is_null(H, -1)) {
			lua_pop(H, 1);
			continue;
		}
		normalise_value(H, NULL, depth);
		lua_rawseti(H, t, ++out);
	}
	for (lua_Integer i = out + 1; i <= n; i++) {
		lua_pushnil(H);
		lua_rawseti(H, t, i);
	}
}

/* Objects: existing fields are replaced or cleared during the traversal,
 * which lua_next allows; no field is added. */
static void normalise(lua_State *H, int t, int depth)
{
	luaL_checkstack(H, 8, "finding too deep");
	if (depth > FINDING_MAX_DEPTH)
		luaL_error(H, "nested more than %d levels", FINDING_MAX_DEPTH);
	if (is_array(H, t)) {
		normalise_array(H, t, depth);
		return;
	}
	lua_pushnil(H);
	while (lua_next(H, t)) {
		if (is_null(H, -1)) {
			lua_pop(H, 1);
			lua_pushvalue(H, -1);
			lua_pushnil(H);
			lua_rawset(H, t);
			continue;
		}
		const char *k = lua_type(H, -2) == LUA_TSTRING ? lua_tostring(H, -2) : NULL;
		normalise_value(H, k, depth);
		lua_pushvalue(H, -2);
		lua_insert(H, -2);
		lua_rawset(H, t); /* stack: key */
	}
}

/* boto3 / GetFindings output uses the model's PascalCase member names; the
 * finding format (EventBridge, console export) uses camelCase. */
static int camel_key(const char *k, char *out, size_t outlen)
{
	size_t n = strlen(k);
	if (n + 1 > outlen || !isupper((unsigned char)k[0]) ||
	    !(islower((unsigned char)k[1]) || isdigit((unsigned char)k[1])))
		return 0;
	memcpy(out, k, n + 1);
	out[0] = (char)tolower((unsigned char)k[0]);
	return 1;
}

/* Pushes a copy of the table at t with camelCase keys. */
static void camelise(lua_State *H, int t, int depth)
{
	char key[256];
	luaL_checkstack(H, 8, "finding too deep");
	if (depth > FINDING_MAX_DEPTH)
		luaL_error(H, "nested more than %d levels", FINDING_MAX_DEPTH);
	lua_newtable(H);
	lua_pushnil(H);
	while (lua_next(H, t)) { /* stack: copy, key, value */
		if (lua_type(H, -1) == LUA_TTABLE) {
			camelise(H, lua_gettop(H), depth + 1);
			lua_remove(H, -2);
		}
		if (lua_type(H, -2) == LUA_TSTRING && camel_key(lua_tostring(H, -2), key, sizeof(key)))
			lua_pushstring(H, key);
		else
			lua_pushvalue(H, -2);
		lua_insert(H, -2);
		lua_rawset(H, -4);
	}
}

/* ---- validating ---- */

/* Pushes t[k] (raw), nil when absent. */
static int field(lua_State *H, int t, const char *k)
{
	return lua_getfield(H, t, k) == LUA_TNIL ? LUA_TNIL : lua_type(H, -1);
}

static void check_text(lua_State *H, const dctx *d, const char *name, size_t max)
{
	size_t n;
	if (lua_type(H, -1) != LUA_TSTRING)
		luaL_error(H, "%s: %s %s", d->where, name,
			   lua_isnil(H, -1) ? "is missing" : "must be a string");
	const char *s = lua_tolstring(H, -1, &n);
	if (n == 0)
		luaL_error(H, "%s: %s is empty", d->where, name);
	if (n > max)
		luaL_error(H, "%s: %s is longer than %d characters", d->where, name, (int)max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			luaL_error(H, "%s: %s has a control character", d->where, name);
}

/* The string at the top has only characters that ok() accepts. */
static void check_charset(lua_State *H, const dctx *d, const char *name, const char *what,
			  int (*ok)(int))
{
	const char *s = lua_tostring(H, -1);
	for (const char *p = s; *p; p++)
		if (!ok((unsigned char)*p))
			luaL_error(H, "%s: %s \"%s\" is not %s", d->where, name, s, what);
}

static int region_char(int c) { return islower(c) || isdigit(c) || c == '-'; }
static int partition_char(int c) { return islower(c) || c == '-'; }
static int digit_char(int c) { return isdigit(c); }

static void check_required(lua_State *H, int f, const dctx *d)
{
	field(H, f, "id");
	check_text(H, d, "id", 128);
	field(H, f, "type");
	check_text(H, d, "type", 128);
	if (field(H, f, "severity") != LUA_TNUMBER)
		luaL_error(H, "%s: severity %s", d->where,
			   lua_isnil(H, -1) ? "is missing" : "must be a number");
	double sev = lua_tonumber(H, -1);
	if (!(sev >= 0 && sev <= 10)) {
		char num[32];
		snprintf(num, sizeof(num), "%g", sev);
		luaL_error(H, "%s: severity %s is outside 0 to 10", d->where, num);
	}
	field(H, f, "region");
	check_text(H, d, "region", 32);
	check_charset(H, d, "region", "a region name", region_char);
	field(H, f, "accountId");
	check_text(H, d, "accountId", 12);
	check_charset(H, d, "accountId", "a 12-digit account id", digit_char);
	if (lua_rawlen(H, -1) != 12)
		luaL_error(H, "%s: accountId \"%s\" is not a 12-digit account id", d->where,
			   lua_tostring(H, -1));
	lua_pop(H, 5);
}

static void check_resource(lua_State *H, int f, const dctx *d)
{
	int t = field(H, f, "resource");
	if (t != LUA_TTABLE || is_array(H, lua_gettop(H)))
		luaL_error(H, "%s: resource %s", d->where,
			   t == LUA_TNIL ? "is missing" : "must be an object");
	field(H, -1, "resourceType");
	check_text(H, d, "resource.resourceType", 64);
	if (field(H, f, "partition") != LUA_TNIL) {
		check_text(H, d, "partition", 16);
		check_charset(H, d, "partition", "a partition name", partition_char);
	}
	lua_pop(H, 3);
}

static int truthy_flag(lua_State *H, int idx)
{
	if (lua_type(H, idx) == LUA_TBOOLEAN)
		return lua_toboolean(H, idx);
	return lua_type(H, idx) == LUA_TSTRING && strcmp(lua_tostring(H, idx), "true") == 0;
}

/* GetFindings gives additionalInfo as {value = "<JSON text>", type = ...}:
 * lift "sample" out of the text so there is one place to look. */
static void lift_sample(lua_State *H, int info)
{
	size_t n;
	int sample = field(H, info, "sample"), value = field(H, info, "value");
	if (sample != LUA_TNIL || value != LUA_TSTRING) {
		lua_pop(H, 2);
		return;
	}
	const char *text = lua_tolstring(H, -1, &n);
	int found = 0;
	if (n <= ADDITIONAL_INFO_MAX && strstr(text, "sample")) {
		lua_rawgetp(H, LUA_REGISTRYINDEX, &decode_key);
		lua_pushvalue(H, -2);
		if (lua_pcall(H, 1, 1, 0) == LUA_OK && lua_type(H, -1) == LUA_TTABLE) {
			lua_getfield(H, -1, "sample");
			found = truthy_flag(H, -1);
			lua_pop(H, 1);
		}
		lua_pop(H, 1);
	}
	lua_pop(H, 2);
	if (found) {
		lua_pushboolean(H, 1);
		lua_setfield(H, info, "sample");
	}
}

static void check_service(lua_State *H, int f, const dctx *d)
{
	int t = field(H, f, "service");
	if (t == LUA_TNIL) {
		lua_pop(H, 1);
		return;
	}
	int svc = lua_gettop(H);
	if (t != LUA_TTABLE)
		luaL_error(H, "%s: service must be an object", d->where);
	t = field(H, svc, "additionalInfo");
	if (t == LUA_TTABLE)
		lift_sample(H, lua_gettop(H));
	t = field(H, svc, "resourceRole");
	if (t != LUA_TNIL && t != LUA_TSTRING)
		luaL_error(H, "%s: service.resourceRole must be a string", d->where);
	lua_pop(H, 3);
}

/* ---- the document ---- */

/* A string of the envelope, or "" (check_required judges what is used). */
static void envelope_field(lua_State *H, int item, const char *k, char *out, size_t n)
{
	lua_getfield(H, item, k);
	snprintf(out, n, "%s", lua_type(H, -1) == LUA_TSTRING ? lua_tostring(H, -1) : "");
	lua_pop(H, 1);
}

/* Leaves the bare finding at the top, in place of the item there. */
static void unwrap(lua_State *H, dctx *d)
{
	int item = lua_gettop(H);
	if (lua_type(H, item) != LUA_TTABLE || is_array(H, item))
		luaL_error(H, "%s: is %s, not a finding", d->where,
			   lua_type(H, item) == LUA_TTABLE ? "an array" : json_type(H, item));
	int src = field(H, item, "source"), dt = field(H, item, "detail-type");
	if (src == LUA_TNIL && dt == LUA_TNIL && field(H, item, "detail") == LUA_TNIL) {
		lua_settop(H, item);
		return;
	}
	if (src != LUA_TNIL && (src != LUA_TSTRING || strcmp(lua_tostring(H, item + 1), "aws.guardduty")))
		luaL_error(H, "%s: not a GuardDuty event (source is %s)", d->where,
			   src == LUA_TSTRING ? lua_tostring(H, item + 1) : json_type(H, item + 1));
	if (dt != LUA_TNIL && (dt != LUA_TSTRING || strcmp(lua_tostring(H, item + 2), "GuardDuty Finding")))
		luaL_error(H, "%s: not a GuardDuty finding event (detail-type is %s)", d->where,
			   dt == LUA_TSTRING ? lua_tostring(H, item + 2) : json_type(H, item + 2));
	if (field(H, item, "detail") != LUA_TTABLE)
		luaL_error(H, "%s: the event's detail %s", d->where,
			   lua_isnil(H, -1) ? "is missing" : "must be an object");
	envelope_field(H, item, "account", d->env_account, sizeof(d->env_account));
	envelope_field(H, item, "region", d->env_region, sizeof(d->env_region));
	lua_replace(H, item);
	lua_settop(H, item);
	if (is_array(H, item))
		luaL_error(H, "%s: the event's detail must be an object", d->where);
}

/* Field i (from 0) of "arn:partition:service:region:account:resource",
 * or "" when the string at idx is not such an ARN or the field is empty. */
static void arn_field(lua_State *H, int idx, int i, char *out, size_t n)
{
	const char *s = lua_type(H, idx) == LUA_TSTRING ? lua_tostring(H, idx) : "";
	out[0] = '\0';
	if (strncmp(s, "arn:", 4) != 0)
		return;
	for (int k = 0; k < i && s; k++) {
		s = strchr(s, ':');
		s = s ? s + 1 : NULL;
	}
	const char *end = s ? strchr(s, ':') : NULL;
	if (end && (size_t)(end - s) < n)
		snprintf(out, n, "%.*s", (int)(end - s), s);
}

/* A finding names its account as accountId, else in its arn
 * (arn:aws:guardduty:REGION:ACCOUNT:detector/...), else in the envelope of
 * the event it came in; its region likewise. What is found is set as the
 * field, so playbooks and the run layer read one place; check_required then
 * validates it like any other. */
static void fill_from(lua_State *H, int f, const char *k, int arn_i, const char *env)
{
	char v[40];
	if (field(H, f, k) != LUA_TNIL) {
		lua_pop(H, 1);
		return;
	}
	lua_pop(H, 1);
	field(H, f, "arn");
	arn_field(H, -1, arn_i, v, sizeof(v));
	lua_pop(H, 1);
	if (!v[0])
		snprintf(v, sizeof(v), "%s", env);
	if (v[0]) {
		lua_pushstring(H, v);
		lua_setfield(H, f, k);
	}
}

/* Turns the item at the top into a validated, normalised finding. */
static void prepare(lua_State *H, dctx *d)
{
	d->env_account[0] = d->env_region[0] = '\0';
	unwrap(H, d);
	int f = lua_gettop(H);
	if (field(H, f, "id") == LUA_TNIL && field(H, f, "Id") != LUA_TNIL) {
		camelise(H, f, 0);
		lua_replace(H, f);
	}
	lua_settop(H, f);
	normalise(H, f, 0);
	fill_from(H, f, "accountId", 4, d->env_account);
	fill_from(H, f, "region", 3, d->env_region);
	check_required(H, f, d);
	check_resource(H, f, d);
	check_service(H, f, d);
}

/* The items to read: the array itself, GetFindings' Findings, or one. */
static int items(lua_State *H, int doc)
{
	if (lua_type(H, doc) != LUA_TTABLE)
		luaL_error(H, "not a GuardDuty finding: the document is %s", json_type(H, doc));
	if (is_empty(H, doc))
		luaL_error(H, "not a GuardDuty finding: the document is empty");
	if (is_array(H, doc))
		return 1;
	if (lua_getfield(H, doc, "Findings") == LUA_TTABLE && is_array(H, lua_gettop(H))) {
		lua_replace(H, doc);
		return 1;
	}
	lua_pop(H, 1);
	return 0;
}

static int decode_main(lua_State *H)
{
	dctx *d = lua_touserdata(H, 1);
	lua_rawgetp(H, LUA_REGISTRYINDEX, &decode_key);
	lua_pushlstring(H, d->json, d->len);
	if (lua_pcall(H, 1, 1, 0) != LUA_OK)
		return luaL_error(H, "not valid JSON: %s", lua_tostring(H, -1));
	int doc = lua_gettop(H);
	lua_newtable(H); /* stack: d, doc, out */
	if (!items(H, doc)) {
		lua_pushvalue(H, doc);
		snprintf(d->where, sizeof(d->where), "finding");
		prepare(H, d);
		lua_rawseti(H, doc + 1, 1);
		return 1;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(H, doc);
	if (n > FINDING_MAX_COUNT)
		return luaL_error(H, "more than %d findings in one document", FINDING_MAX_COUNT);
	for (lua_Integer i = 1; i <= n; i++) {
		snprintf(d->where, sizeof(d->where), "finding[%lld]", (long long)(i - 1));
		lua_rawgeti(H, doc, i);
		prepare(H, d);
		lua_rawseti(H, doc + 1, i);
	}
	return 1;
}

/* Counts the objects and arrays outside strings: a document of a million
 * empty arrays would fill the state before it could be called invalid. */
static size_t count_containers(const char *s, size_t n)
{
	size_t count = 0;
	int in_string = 0;
	for (size_t i = 0; i < n; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '{' || s[i] == '[') {
			count++;
		}
	}
	return count;
}

int finding_decode(lua_State *H, const char *json, size_t len, char *err, size_t errlen)
{
	dctx d = {json, len, "finding", "", ""};
	int base = lua_gettop(H);
	if (len > FINDING_MAX_DOC) {
		snprintf(err, errlen, "too large: more than %zu MiB", FINDING_MAX_DOC >> 20);
		return -1;
	}
	if (count_containers(json, len) > FINDING_MAX_CONTAINERS) {
		snprintf(err, errlen, "too large: more than %d JSON objects and arrays",
			 FINDING_MAX_CONTAINERS);
		return -1;
	}
	lua_pushcfunction(H, decode_main);
	lua_pushlightuserdata(H, &d);
	int rc = lua_pcall(H, 1, 1, 0);
	if (rc != LUA_OK) {
		const char *m = lua_tostring(H, -1);
		snprintf(err, errlen, "%s",
			 rc == LUA_ERRMEM ? "too large to decode (memory limit)" : m ? m : "invalid");
		for (char *p = err; *p; p++) /* one line, whatever the input quoted */
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		lua_settop(H, base);
		lua_gc(H, LUA_GCCOLLECT);
		return -1;
	}
	return (int)lua_rawlen(H, -1);
}

/* ---- reading validated findings ---- */

static void copy_string(lua_State *H, int t, const char *k, char *out, size_t outlen)
{
	lua_getfield(H, t, k);
	snprintf(out, outlen, "%s", lua_type(H, -1) == LUA_TSTRING ? lua_tostring(H, -1) : "");
	lua_pop(H, 1);
}

static int service_flag(lua_State *H, int svc, const char *sub, const char *k)
{
	int v = 0;
	if (sub) {
		if (lua_getfield(H, svc, sub) == LUA_TTABLE) {
			lua_getfield(H, -1, k);
			v = truthy_flag(H, -1);
			lua_pop(H, 1);
		}
		lua_pop(H, 1);
		return v;
	}
	lua_getfield(H, svc, k);
	v = truthy_flag(H, -1);
	lua_pop(H, 1);
	return v;
}

void finding_info_get(lua_State *H, int idx, int index, finding_info *fi)
{
	int f = lua_absindex(H, idx);
	memset(fi, 0, sizeof(*fi));
	fi->index = index;
	copy_string(H, f, "id", fi->id, sizeof(fi->id));
	copy_string(H, f, "type", fi->type, sizeof(fi->type));
	copy_string(H, f, "region", fi->region, sizeof(fi->region));
	copy_string(H, f, "accountId", fi->account, sizeof(fi->account));
	copy_string(H, f, "partition", fi->partition, sizeof(fi->partition));
	if (!fi->partition[0])
		snprintf(fi->partition, sizeof(fi->partition), "aws");
	lua_getfield(H, f, "severity");
	fi->severity = lua_tonumber(H, -1);
	lua_pop(H, 1);
	if (lua_getfield(H, f, "resource") == LUA_TTABLE)
		copy_string(H, lua_gettop(H), "resourceType", fi->resource_type, sizeof(fi->resource_type));
	lua_pop(H, 1);
	if (lua_getfield(H, f, "service") == LUA_TTABLE) {
		int svc = lua_gettop(H);
		copy_string(H, svc, "resourceRole", fi->resource_role, sizeof(fi->resource_role));
		fi->archived = service_flag(H, svc, NULL, "archived");
		fi->sample = service_flag(H, svc, "additionalInfo", "sample");
	}
	lua_pop(H, 1);
}

static void copy_value(lua_State *H, int idx, lua_State *L, int depth);

static void copy_table(lua_State *H, int t, lua_State *L, int depth)
{
	if (depth > FINDING_MAX_DEPTH + 2)
		luaL_error(L, "finding nested too deeply");
	luaL_checkstack(L, 4, "finding too deep");
	if (!lua_checkstack(H, 4))
		luaL_error(L, "finding too deep");
	lua_createtable(L, (int)lua_rawlen(H, t), 0);
	lua_pushnil(H);
	while (lua_next(H, t)) {
		int kt = lua_type(H, -2);
		if (kt == LUA_TSTRING || lua_isinteger(H, -2)) {
			if (kt == LUA_TSTRING) {
				size_t n;
				const char *k = lua_tolstring(H, -2, &n);
				lua_pushlstring(L, k, n);
			} else {
				lua_pushinteger(L, lua_tointeger(H, -2));
			}
			copy_value(H, lua_gettop(H), L, depth + 1);
			lua_rawset(L, -3);
		}
		lua_pop(H, 1);
	}
}

static void copy_value(lua_State *H, int idx, lua_State *L, int depth)
{
	size_t n;
	const char *s;
	switch (lua_type(H, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(H, idx, &n);
		lua_pushlstring(L, s, n);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(H, idx))
			lua_pushinteger(L, lua_tointeger(H, idx));
		else
			lua_pushnumber(L, lua_tonumber(H, idx));
		break;
	case LUA_TBOOLEAN: lua_pushboolean(L, lua_toboolean(H, idx)); break;
	case LUA_TTABLE: copy_table(H, lua_absindex(H, idx), L, depth); break;
	default: lua_pushnil(L); break;
	}
}

void finding_copy(lua_State *H, int idx, lua_State *L)
{
	copy_value(H, lua_absindex(H, idx), L, 0);
}

/* ---- reading documents ---- */

int finding_read_fd(int fd, size_t max, buf *out, char *err, size_t errlen)
{
	struct stat st;
	char chunk[READ_CHUNK];
	if (!max)
		max = FINDING_MAX_DOC;
	buf_reset(out);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "too large: %lld bytes, more than %zu MiB", (long long)st.st_size,
			 max >> 20);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > max) {
			snprintf(err, errlen, "too large: more than %zu MiB", max >> 20);
			return -1;
		}
		if (buf_append(out, chunk, (size_t)n) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
}

int finding_read_file(const char *path, size_t max, buf *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	int rc = finding_read_fd(fd, max, out, err, errlen);
	close(fd);
	return rc;
}
