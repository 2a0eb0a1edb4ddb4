/* finding — GuardDuty findings in: read a document (bounded), decode it,
 * unwrap EventBridge envelopes, normalise and validate every finding.
 *
 * A document is an EventBridge
 * event ({"source":"aws.guardduty","detail-type":"GuardDuty Finding",
 * "detail":{...}}), a bare finding, {"Findings":[...]} (GetFindings), or a
 * JSON array of any of these. Normalised means: the bare form, JSON nulls
 * removed (arrays compacted), timestamps given as epoch numbers turned into
 * ISO-8601 UTC strings, and boto3-style PascalCase keys turned into the
 * finding format's camelCase.
 *
 * Ownership: findings live as tables in a host lua_State made by
 * finding_state_new (capped allocator, lua-cjson); the caller owns it and
 * frees it with finding_state_free. Nothing else here allocates for the caller except
 * finding_read_*, which fill a caller-owned buf. */
#ifndef DEADBOLT_FINDING_H
#define DEADBOLT_FINDING_H

#include <lua.h>
#include <stddef.h>

#include "buf.h"

#define FINDING_MAX_DOC ((size_t)8 << 20)    /* bytes in one document */
#define FINDING_MAX_DEPTH 64                  /* JSON nesting */
#define FINDING_MAX_COUNT 10000               /* findings in one document */
#define FINDING_MAX_CONTAINERS 500000         /* JSON objects and arrays in one document */
#define FINDING_STATE_MEMORY ((size_t)192 << 20) /* a backstop: the limits above stay under it */

typedef struct finding_info {
	int index;               /* position in the document, from 0 */
	char id[129];
	char type[129];
	char resource_type[65];
	char resource_role[17];  /* "TARGET", "ACTOR" or "" */
	char region[33];
	char account[33];
	char partition[17];      /* "aws" when absent */
	double severity;
	int sample;              /* service.additionalInfo.sample */
	int archived;            /* service.archived */
} finding_info;

/* A host state for decoding: base and string libraries, cjson configured
 * (depth cap, strict numbers), allocator capped at max_bytes (0: default). */
lua_State *finding_state_new(size_t max_bytes);
void finding_state_free(lua_State *H);

/* Decodes json into H and pushes an array of the document's findings,
 * normalised and validated. Returns how many, or -1 with one line in err
 * naming what is wrong ("finding[2]: resource.resourceType is missing";
 * "finding: severity must be a number, not a string") and nothing pushed. */
int finding_decode(lua_State *H, const char *json, size_t len, char *err, size_t errlen);

/* Fills fi from the normalised finding at idx of H (validated by
 * finding_decode, so this cannot fail on what it returned). */
void finding_info_get(lua_State *H, int idx, int index, finding_info *fi);

/* Pushes onto L a deep copy of the table at idx of H (raw access, string and
 * integer keys). May raise in L (memory): call it in a protected call. */
void finding_copy(lua_State *H, int idx, lua_State *L);

/* Reads at most max bytes (0: FINDING_MAX_DOC) from fd or path into out
 * (reset first). A regular file larger than max is refused before reading.
 * Returns 0, or -1 with err ("too large: more than 8 MiB"). */
int finding_read_fd(int fd, size_t max, buf *out, char *err, size_t errlen);
int finding_read_file(const char *path, size_t max, buf *out, char *err, size_t errlen);

#endif
