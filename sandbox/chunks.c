/* chunks — playbooks and modules compiled once per process, loaded into
 * each fresh sandbox from their compiled form. See sandbox.h.
 *
 * The first sandbox that loads a file compiles its text (mode "t", in that
 * sandbox, under its memory cap, as without a cache) and keeps the function
 * as Lua bytecode (lua_dump, debug information kept: error messages and
 * tracebacks still name the file and line). Later sandboxes load those
 * bytes with mode "b": about 7 times cheaper than compiling the text.
 *
 * Why loading bytecode here is safe, when the sandbox refuses it to a
 * playbook (Lua's undump does not verify code; crafted bytecode escapes any
 * sandbox):
 *   - the bytes are made in this process, by lua_dump, from a function Lua
 *     compiled from the text of the file; they are never read from the
 *     environment or from a playbook, and from disk only as the shipped
 *     chunks below, from the package beside the binary;
 *   - they live in host memory (malloc'd here, never handed to Lua as a
 *     value) and are never written after they are stored;
 *   - mode "b" is passed only by sandbox_load_file, which the host calls for
 *     a playbook it names (sandbox_load_playbook) and require calls for a
 *     validated module name inside playbook_dir; the playbook's own load()
 *     stays text-only and string.dump does not exist.
 * A cache keeps what it compiled first: a file edited afterwards is seen by
 * a new cache (a new runner), as the catalog's hashes are.
 *
 * Shipped chunks (sandbox_chunks_read, sandbox.h) are the one exception to
 * "made in this process": bytecode written by `deadbolt chunks` when the
 * Lambda package was built, read by the host from the package, beside the
 * binary and as trusted as it. Each is taken only while its file's text
 * still hashes to the SHA-256 recorded with it (checked at the first load
 * of the file: one read and one hash instead of a compile), and then joins
 * the cache as if compiled here. A chunk that does not match, or that Lua
 * refuses to load, is dropped and the text compiled.
 *
 * The file: a first line "deadbolt-chunks 1 <LUA_RELEASE>", then for each
 * file a line "<name> <sha256 hex> <bytes>" followed by that many bytes of
 * bytecode and a newline. */
#include "sandbox_int.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "digest.h"

#define CHUNKS_MAX 256                      /* files kept */
#define CHUNKS_MAX_BYTES ((size_t)32 << 20) /* bytecode kept, in all */
#define SOURCE_MAX_BYTES ((size_t)4 << 20)  /* a playbook's text, to hash it */
#define SHIPPED_MAGIC "deadbolt-chunks 1 " LUA_RELEASE "\n"

typedef struct chunk {
	char *path;
	char *code;
	size_t len;
	char sha256[65]; /* shipped: of the text the code was compiled from */
	int known;       /* shipped: 1 the host read that text, -1 another, 0 not told */
} chunk;

struct sandbox_chunks {
	chunk *items;
	size_t n;
	size_t bytes;
	chunk *shipped; /* not yet checked against their files */
	size_t nshipped;
};

sandbox_chunks *sandbox_chunks_new(void)
{
	return calloc(1, sizeof(sandbox_chunks));
}

void sandbox_chunks_free(sandbox_chunks *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].path);
		free(c->items[i].code);
	}
	for (size_t i = 0; i < c->nshipped; i++) {
		free(c->shipped[i].path);
		free(c->shipped[i].code);
	}
	free(c->items);
	free(c->shipped);
	free(c);
}

void sandbox_set_chunks(sandbox *sb, sandbox_chunks *c)
{
	sb->chunks = c;
}

static const chunk *find(const sandbox_chunks *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->items[i].path, path) == 0)
			return &c->items[i];
	return NULL;
}

/* lua_Writer: appends to a buf; a non-zero return stops lua_dump. */
static int dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
	return buf_append(ud, p, n);
}

/* Keeps the function at the top of L as bytecode for path. Best effort: a
 * full cache, a failed dump or no memory only means no entry. */
static void keep(sandbox_chunks *c, lua_State *L, const char *path)
{
	buf code;
	chunk *items;
	char *key = NULL;

	if (c->n >= CHUNKS_MAX || c->bytes >= CHUNKS_MAX_BYTES)
		return;
	buf_init(&code, CHUNKS_MAX_BYTES - c->bytes);
	if (lua_dump(L, dump_writer, &code, 0) != 0 || code.len == 0)
		goto out;
	if (!(key = strdup(path)) || !(items = realloc(c->items, (c->n + 1) * sizeof(*items))))
		goto out;
	c->items = items;
	c->items[c->n++] = (chunk){.path = key, .code = code.data, .len = code.len};
	c->bytes += code.len;
	return;
out:
	free(key);
	buf_free(&code);
}

/* Reads path whole (at most max bytes) into b. 0, or -1. */
static int read_whole(const char *path, buf *b, size_t max)
{
	char block[8192];
	size_t n;
	int rc = -1;
	FILE *f = fopen(path, "rb");

	buf_init(b, max);
	if (!f)
		return -1;
	while ((n = fread(block, 1, sizeof(block), f)) > 0)
		if (buf_append(b, block, n) != 0)
			goto out;
	rc = ferror(f) ? -1 : 0;
out:
	fclose(f);
	return rc;
}

/* Removes shipped chunk i from the list, giving its memory to the caller. */
static chunk take_shipped_at(sandbox_chunks *c, size_t i)
{
	chunk ch = c->shipped[i];
	c->shipped[i] = c->shipped[--c->nshipped];
	return ch;
}

/* The shipped chunk of path, moved into the cache when path's text still
 * hashes as recorded; NULL when there is none or it is stale (dropped). */
static const chunk *use_shipped(sandbox_chunks *c, const char *path)
{
	char sha[65];
	buf text;
	chunk ch, *items;
	size_t i;

	for (i = 0; i < c->nshipped && strcmp(c->shipped[i].path, path) != 0; i++)
		;
	if (i == c->nshipped)
		return NULL;
	ch = take_shipped_at(c, i);
	buf_init(&text, 0);
	if (ch.known == 0) {
		if (read_whole(path, &text, SOURCE_MAX_BYTES) != 0)
			goto drop;
		digest_sha256_hex(text.data ? text.data : "", text.len, sha);
		buf_free(&text);
		ch.known = strcmp(sha, ch.sha256) == 0 ? 1 : -1;
	}
	if (ch.known != 1 || c->n >= CHUNKS_MAX ||
	    !(items = realloc(c->items, (c->n + 1) * sizeof(*items))))
		goto drop;
	c->items = items;
	c->items[c->n++] = ch;
	c->bytes += ch.len;
	return &c->items[c->n - 1];
drop:
	buf_free(&text);
	free(ch.path);
	free(ch.code);
	return NULL;
}

void sandbox_chunks_text_hash(sandbox_chunks *c, const char *playbook_dir, const char *name, const char *sha256)
{
	size_t dl = strlen(playbook_dir);
	for (size_t i = 0; i < c->nshipped; i++) {
		const char *p = c->shipped[i].path;
		if (strncmp(p, playbook_dir, dl) == 0 && p[dl] == '/' && strcmp(p + dl + 1, name) == 0)
			c->shipped[i].known = strcmp(sha256, c->shipped[i].sha256) == 0 ? 1 : -1;
	}
}

/* Forgets the cache entry of path (a shipped chunk Lua refused). */
static void forget(sandbox_chunks *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->items[i].path, path) != 0)
			continue;
		c->bytes -= c->items[i].len;
		free(c->items[i].path);
		free(c->items[i].code);
		c->items[i] = c->items[--c->n];
		return;
	}
}

int sandbox_load_file(lua_State *L, const char *path)
{
	sandbox *sb = sandbox_of(L);
	const chunk *ch = sb->chunks ? find(sb->chunks, path) : NULL;
	int status;

	if (ch) /* bytes this process made from the file's text: see the top */
		return luaL_loadbufferx(L, ch->code, ch->len, path, "b");
	if (sb->chunks && (ch = use_shipped(sb->chunks, path)) != NULL) {
		if (luaL_loadbufferx(L, ch->code, ch->len, path, "b") == LUA_OK)
			return LUA_OK;
		lua_pop(L, 1); /* another Lua's bytecode: the text instead */
		forget(sb->chunks, path);
	}
	status = luaL_loadfilex(L, path, "t");
	if (status == LUA_OK && sb->chunks)
		keep(sb->chunks, L, path);
	return status;
}

/* ---- shipped chunks: the file ---- */

/* Parses one entry's line "<name> <sha256> <bytes>\n" at p (n bytes left):
 * fills name (NUL-terminated, at most namelen), sha and *len; returns the
 * bytes the line took, or 0 when it is malformed. */
static size_t parse_entry_line(const char *p, size_t n, char *name, size_t namelen, char *sha, size_t *len)
{
	const char *nl = memchr(p, '\n', n < 1024 ? n : 1024);
	const char *sp1, *sp2;
	char *end;
	unsigned long long v;

	if (!nl || !(sp1 = memchr(p, ' ', (size_t)(nl - p))) || sp1 == p || (size_t)(sp1 - p) >= namelen)
		return 0;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1));
	if (!sp2 || sp2 - sp1 - 1 != 64 || strspn(sp1 + 1, "0123456789abcdef") < 64 ||
	    sp2[1] < '0' || sp2[1] > '9')
		return 0;
	v = strtoull(sp2 + 1, &end, 10);
	if (end != nl || v > CHUNKS_MAX_BYTES)
		return 0;
	memcpy(name, p, (size_t)(sp1 - p));
	name[sp1 - p] = '\0';
	memcpy(sha, sp1 + 1, 64);
	sha[64] = '\0';
	*len = (size_t)v;
	return (size_t)(nl - p) + 1;
}

/* A relative name inside the playbook directory: no "..", not absolute. */
static int valid_name(const char *name)
{
	return name[0] != '/' && strstr(name, "..") == NULL && strchr(name, '\\') == NULL;
}

/* Adds one shipped chunk for dir/name. 0, or -1 (out of memory, too many). */
static int add_shipped(sandbox_chunks *c, const char *dir, const char *name, const char *sha, const char *code,
		       size_t len)
{
	size_t plen = strlen(dir) + strlen(name) + 2;
	chunk ch = {0}, *list;

	if (c->nshipped >= CHUNKS_MAX || !(ch.path = malloc(plen)) || !(ch.code = malloc(len ? len : 1)))
		goto fail;
	snprintf(ch.path, plen, "%s/%s", dir, name);
	memcpy(ch.code, code, len);
	ch.len = len;
	memcpy(ch.sha256, sha, sizeof(ch.sha256));
	if (!(list = realloc(c->shipped, (c->nshipped + 1) * sizeof(*list))))
		goto fail;
	c->shipped = list;
	c->shipped[c->nshipped++] = ch;
	return 0;
fail:
	free(ch.path);
	free(ch.code);
	return -1;
}

int sandbox_chunks_read(sandbox_chunks *c, const char *file, const char *playbook_dir, char *err, size_t errlen)
{
	buf data;
	size_t at, used, len, magic = strlen(SHIPPED_MAGIC);
	char name[512], sha[65];
	int rc = -1;

	if (read_whole(file, &data, CHUNKS_MAX_BYTES) != 0) {
		snprintf(err, errlen, "%s: cannot be read (or is over %zu bytes)", file, CHUNKS_MAX_BYTES);
		goto out;
	}
	if (data.len < magic || memcmp(data.data, SHIPPED_MAGIC, magic) != 0) {
		snprintf(err, errlen, "%s: not a chunks file for %s (deadbolt chunks writes one)", file, LUA_RELEASE);
		goto out;
	}
	for (at = magic; at < data.len; at += used + len + 1) {
		used = parse_entry_line(data.data + at, data.len - at, name, sizeof(name), sha, &len);
		if (!used || !valid_name(name) || len + 1 > data.len - at - used ||
		    data.data[at + used + len] != '\n') {
			snprintf(err, errlen, "%s: malformed at byte %zu", file, at);
			goto out;
		}
		if (add_shipped(c, playbook_dir, name, sha, data.data + at + used, len) != 0) {
			snprintf(err, errlen, "%s: too many chunks, or out of memory", file);
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&data);
	return rc;
}

/* Compiles playbook_dir/name as runtime_dir/name and writes its entry. */
static int write_one(FILE *out, lua_State *L, const char *playbook_dir, const char *runtime_dir, const char *name,
		     char *err, size_t errlen)
{
	char path[4096], chunkname[4096], sha[65];
	buf text, code;
	int rc = -1;

	buf_init(&code, CHUNKS_MAX_BYTES);
	buf_init(&text, 0);
	snprintf(path, sizeof(path), "%s/%s", playbook_dir, name);
	snprintf(chunkname, sizeof(chunkname), "@%s/%s", runtime_dir, name);
	if (!valid_name(name) || strchr(name, ' ') || strchr(name, '\n') ||
	    read_whole(path, &text, SOURCE_MAX_BYTES) != 0) {
		snprintf(err, errlen, "%s: cannot be read", path);
		goto out;
	}
	digest_sha256_hex(text.data ? text.data : "", text.len, sha);
	if (luaL_loadbufferx(L, text.data ? text.data : "", text.len, chunkname, "t") != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		goto out;
	}
	if (lua_dump(L, dump_writer, &code, 0) != 0 || code.len == 0) {
		snprintf(err, errlen, "%s: cannot be dumped", path);
		goto out;
	}
	if (fprintf(out, "%s %s %zu\n", name, sha, code.len) < 0 || fwrite(code.data, 1, code.len, out) != code.len ||
	    fputc('\n', out) == EOF) {
		snprintf(err, errlen, "write error");
		goto out;
	}
	rc = 0;
out:
	lua_settop(L, 0);
	buf_free(&text);
	buf_free(&code);
	return rc;
}

int sandbox_chunks_write(FILE *out, const char *playbook_dir, const char *runtime_dir, const char *const *names,
			 size_t n, char *err, size_t errlen)
{
	lua_State *L = luaL_newstate(); /* compiles only: nothing runs */
	int rc = -1;

	if (!L) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (fputs(SHIPPED_MAGIC, out) == EOF) {
		snprintf(err, errlen, "write error");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (write_one(out, L, playbook_dir, runtime_dir, names[i], err, errlen) != 0)
			goto out;
	rc = 0;
out:
	lua_close(L);
	return rc;
}
