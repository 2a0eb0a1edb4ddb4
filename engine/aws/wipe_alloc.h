/* wipe_alloc — a Lua allocator that cleanses every block before giving it
 * back, for the short-lived Lua states that hold secrets (the decoded STS
 * AssumeRole answer: a secret key and a session token as Lua strings).
 * lua_close then leaves none of them in freed memory.
 *
 * Ownership: the caller owns the wipe_heap and keeps it alive until
 * lua_close of the state made with it returns. */
#ifndef DEADBOLT_WIPE_ALLOC_H
#define DEADBOLT_WIPE_ALLOC_H

#include <lua.h>
#include <stddef.h>

typedef struct wipe_heap {
	size_t live;  /* bytes held by the state now */
	size_t cap;   /* 0: no cap; else an allocation past it fails (Lua: out of memory) */
	/* Called with each block after it was cleansed, instead of free(); for
	 * tests. NULL: free(). */
	void (*release)(void *ud, void *block, size_t n);
	void *release_ud;
} wipe_heap;

/* A lua_Alloc: ud is the wipe_heap. Blocks that move (a grown realloc) and
 * blocks freed are cleansed first; a shrunk block keeps its place with the
 * cut tail cleansed. */
void *wipe_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* A new state on heap (lua_newstate with wipe_alloc and the standard panic
 * function), or NULL when out of memory. */
lua_State *wipe_state_new(wipe_heap *heap);

#endif
