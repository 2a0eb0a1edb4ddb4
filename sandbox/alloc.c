/* alloc — the sandbox's capped allocator, its lua_Alloc.
 *
 * Small blocks (up to POOL_MAX bytes: most strings, tables, closures,
 * upvalues and prototypes) come from the sandbox's own slabs, with one free
 * list per 8-byte size class; larger blocks from malloc. Blocks are 8-byte
 * aligned: what Lua needs (LUAI_MAXALIGN), and our C libraries keep no
 * wider types in userdata. Building a
 * sandbox and loading the three playbooks makes some 2,500 small blocks,
 * and lua_close frees them one by one: through malloc and free that was a
 * third of the time. Here a block is a pointer bump or a list pop, and
 * sandbox_free hands the slabs back at once.
 *
 * The cap bounds what the process holds for the sandbox: large blocks count
 * their size, slabs their whole size (a freed small block stays in its list
 * for the next block of its class, until the sandbox is freed). Growth past
 * the cap is refused before malloc sees it, so a string.rep bomb never
 * reaches the system allocator. A shrink never fails (Lua relies on that):
 * if it needs a new slab at the cap, the slab is taken anyway, at most
 * SLAB_BYTES over.
 *
 * Every growth that succeeds is charged to the instruction budget, one unit per
 * ALLOC_BYTES_PER_UNIT bytes asked for: the C functions that build strings
 * or tables (string.rep, format, concat, gsub, json.decode, ...) cost what
 * they copy. The allocator must not raise, so it only adds to the count;
 * the next sandbox_charge (the hook, within 1000 instructions or at the next
 * call) raises the budget error.
 *
 * Under AddressSanitizer every block is malloc'd, so that ASan still sees
 * each of Lua's blocks. */
#include "sandbox_int.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define POOL_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_MAX 0
#endif
#endif
#ifndef POOL_MAX
#define POOL_MAX (SANDBOX_POOL_CLASSES * GRAIN) /* bytes of the largest small block */
#endif
#define GRAIN 8 /* size classes and alignment */
#define SLAB_BYTES ((size_t)32 << 10)
#define SLAB_HEADER 16
#define ALLOC_BYTES_PER_UNIT 4 /* the link to the next slab */

_Static_assert(GRAIN >= _Alignof(lua_Number) && GRAIN >= _Alignof(lua_Integer) &&
		       GRAIN >= _Alignof(void *) && GRAIN >= _Alignof(long) &&
		       GRAIN >= _Alignof(double) && SLAB_HEADER % GRAIN == 0,
	       "small blocks must be aligned as Lua needs");

static int is_small(size_t n)
{
	return n > 0 && n <= POOL_MAX;
}

static size_t class_of(size_t n)
{
	return (n + GRAIN - 1) / GRAIN - 1;
}

/* Adds n to what the sandbox holds; -1 when that would pass the cap
 * (unless force). */
static int take(sandbox *sb, size_t n, int force)
{
	if (!force && n > sb->lim.memory_bytes - sb->mem_used)
		return -1;
	sb->mem_used += n;
	return 0;
}

static int new_slab(sandbox *sb, int force)
{
	char *slab;
	if (take(sb, SLAB_BYTES, force) != 0)
		return -1;
	if (!(slab = malloc(SLAB_BYTES))) {
		sb->mem_used -= SLAB_BYTES;
		return -1;
	}
	*(void **)slab = sb->pool.slabs;
	sb->pool.slabs = slab;
	sb->pool.next = slab + SLAB_HEADER;
	sb->pool.end = slab + SLAB_BYTES;
	return 0;
}

static void *small_get(sandbox *sb, size_t n, int force)
{
	size_t c = class_of(n), size = (c + 1) * GRAIN;
	void *p = sb->pool.free[c];
	if (p) {
		sb->pool.free[c] = *(void **)p;
		return p;
	}
	if ((size_t)(sb->pool.end - sb->pool.next) < size && new_slab(sb, force) != 0)
		return NULL;
	p = sb->pool.next;
	sb->pool.next += size;
	return p;
}

/* A new block of n bytes (n > 0). */
static void *get(sandbox *sb, size_t n, int force)
{
	void *p;
	if (is_small(n))
		return small_get(sb, n, force);
	if (take(sb, n, force) != 0)
		return NULL;
	if (!(p = malloc(n)))
		sb->mem_used -= n;
	return p;
}

/* Gives back the block p of n bytes (p may be NULL). */
static void release(sandbox *sb, void *p, size_t n)
{
	if (!p)
		return;
	if (is_small(n)) {
		size_t c = class_of(n);
		*(void **)p = sb->pool.free[c];
		sb->pool.free[c] = p;
		return;
	}
	free(p);
	sb->mem_used -= n;
}

/* Both sizes large: realloc in place where malloc can. */
static void *large_resize(sandbox *sb, void *ptr, size_t old, size_t nsize)
{
	void *p;
	if (nsize > old && nsize - old > sb->lim.memory_bytes - sb->mem_used)
		return NULL;
	p = realloc(ptr, nsize);
	if (p)
		sb->mem_used = sb->mem_used - old + nsize;
	return p;
}

/* Charges a growth from old to nsize bytes that succeeded (p set), one
 * unit per ALLOC_BYTES_PER_UNIT, saturating at the limit. Returns p. */
static void *charge(sandbox *sb, void *p, size_t old, size_t nsize)
{
	uint64_t units = nsize > old ? (nsize - old) / ALLOC_BYTES_PER_UNIT : 0;
	if (p)
		sb->instructions = units > sb->lim.instructions - sb->instructions
					   ? sb->lim.instructions : sb->instructions + units;
	return p;
}

void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	sandbox *sb = ud;
	size_t old = ptr ? osize : 0; /* for a new block osize is a type tag */
	void *p;

	if (nsize == 0) {
		release(sb, ptr, old);
		return NULL;
	}
	if (is_small(old) && is_small(nsize) && class_of(old) == class_of(nsize))
		return ptr;
	if (old && !is_small(old) && !is_small(nsize))
		return charge(sb, large_resize(sb, ptr, old, nsize), old, nsize);
	if (!(p = charge(sb, get(sb, nsize, nsize < old), old, nsize)))
		return NULL;
	if (old)
		memcpy(p, ptr, old < nsize ? old : nsize);
	release(sb, ptr, old);
	return p;
}

void sandbox_pool_free(sandbox *sb)
{
	void *slab = sb->pool.slabs;
	while (slab) {
		void *next = *(void **)slab;
		free(slab);
		sb->mem_used -= SLAB_BYTES;
		slab = next;
	}
	memset(&sb->pool, 0, sizeof(sb->pool));
}
