#include "arena.h"

#include <openssl/crypto.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK ((size_t)32 << 10)

struct arena_block {
	struct arena_block *next;
	size_t cap, used;
	max_align_t data[]; /* cap bytes */
};

void *arena_alloc(arena *a, size_t n)
{
	size_t align = alignof(max_align_t);
	if (n > SIZE_MAX - align)
		return NULL;
	n = (n + align - 1) / align * align;
	struct arena_block *b = a->blocks;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = a->blocks;
		a->blocks = b;
	}
	void *p = (unsigned char *)b->data + b->used;
	b->used += n;
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = n < SIZE_MAX ? arena_alloc(a, n + 1) : NULL;
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Cleansed before freeing: parse trees of AWS answers (an STS AssumeRole
 * answer, a credential process's JSON) hold secrets. */
void arena_free(arena *a)
{
	struct arena_block *b = a->blocks;
	while (b) {
		struct arena_block *next = b->next;
		OPENSSL_cleanse(b->data, b->used);
		free(b);
		b = next;
	}
	a->blocks = NULL;
}
