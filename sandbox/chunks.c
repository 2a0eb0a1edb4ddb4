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
 *     compiled from the text of the file; they are never read from disk,
 *     from the environment or from a playbook;
 *   - they live in host memory (malloc'd here, never handed to Lua as a
 *     value) and are never written after they are stored;
 *   - mode "b" is passed only by sandbox_load_file, which the host calls for
 *     a playbook it names (sandbox_load_playbook) and require calls for a
 *     validated module name inside playbook_dir; the playbook's own load()
 *     stays text-only and string.dump does not exist.
 * A cache keeps what it compiled first: a file edited afterwards is seen by
 * a new cache (a new runner), as the catalog's hashes are. */
#include "sandbox_int.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CHUNKS_MAX 256                      /* files kept */
#define CHUNKS_MAX_BYTES ((size_t)32 << 20) /* bytecode kept, in all */

typedef struct chunk {
	char *path;
	char *code;
	size_t len;
} chunk;

struct sandbox_chunks {
	chunk *items;
	size_t n;
	size_t bytes;
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
	free(c->items);
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
	c->items[c->n++] = (chunk){key, code.data, code.len};
	c->bytes += code.len;
	return;
out:
	free(key);
	buf_free(&code);
}

int sandbox_load_file(lua_State *L, const char *path)
{
	sandbox *sb = sandbox_of(L);
	const chunk *ch = sb->chunks ? find(sb->chunks, path) : NULL;
	int status;

	if (ch) /* bytes this process made from the file's text: see the top */
		return luaL_loadbufferx(L, ch->code, ch->len, path, "b");
	status = luaL_loadfilex(L, path, "t");
	if (status == LUA_OK && sb->chunks)
		keep(sb->chunks, L, path);
	return status;
}
