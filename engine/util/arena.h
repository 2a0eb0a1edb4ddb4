/* arena — bump allocation in 32 KiB blocks, freed all at once.
 *
 * Ownership: an arena owns every block and everything allocated from it;
 * arena_free cleanses and releases them together (parse trees of AWS
 * answers hold secrets). A zeroed arena (ARENA_INIT) is empty. */
#ifndef DEADBOLT_ARENA_H
#define DEADBOLT_ARENA_H

#include <stddef.h>

typedef struct arena {
	struct arena_block *blocks;
} arena;

#define ARENA_INIT {0}

/* n bytes aligned for any type, or NULL when memory ran out. */
void *arena_alloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL. */
char *arena_strndup(arena *a, const char *s, size_t n);
void arena_free(arena *a);

#endif
