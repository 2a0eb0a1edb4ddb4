/* wipe_alloc — see wipe_alloc.h. */
#include "wipe_alloc.h"

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void release(wipe_heap *h, void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
	h->live -= n;
	if (h->release)
		h->release(h->release_ud, p, n);
	else
		free(p);
}

void *wipe_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	wipe_heap *h = ud;
	size_t old = ptr ? osize : 0; /* without ptr, osize is a type tag */
	if (nsize == 0) {
		if (ptr)
			release(h, ptr, old);
		return NULL;
	}
	if (ptr && nsize <= old) { /* shrink in place: never fails */
		OPENSSL_cleanse((char *)ptr + nsize, old - nsize);
		h->live -= old - nsize;
		return ptr;
	}
	if (h->cap && (nsize - old > h->cap || h->live + (nsize - old) > h->cap))
		return NULL;
	void *fresh = malloc(nsize);
	if (!fresh)
		return NULL;
	h->live += nsize;
	if (ptr) {
		memcpy(fresh, ptr, old);
		release(h, ptr, old);
	}
	return fresh;
}

static int panic(lua_State *L)
{
	(void)L;
	abort(); /* only reached for an error outside any pcall: a bug here */
}

lua_State *wipe_state_new(wipe_heap *heap)
{
	lua_State *L = lua_newstate(wipe_alloc, heap);
	if (L)
		lua_atpanic(L, panic);
	return L;
}
