/* ordered — text kept back with an order key and given out sorted: what a
 * run writes while calls overlap (inside aws.all), put in the order a
 * sequential run would have written it (sandbox_order_key's keys).
 *
 * Ownership: an ordered owns copies of every key and text added;
 * ordered_take hands them out one by one (the caller frees nothing) and
 * empties it; ordered_free releases what is left. */
#ifndef DEADBOLT_ORDERED_H
#define DEADBOLT_ORDERED_H

#include <stddef.h>

typedef struct ordered_item {
	char *key;
	char *text;
	size_t len;
	int kind; /* the caller's: which output the text goes to */
	size_t seq; /* arrival, for equal keys */
} ordered_item;

typedef struct ordered {
	ordered_item *items;
	size_t n, cap;
} ordered;

#define ORDERED_INIT {NULL, 0, 0}

/* Keeps a copy of text under key (NULL sorts first). 0, or -1 out of memory. */
int ordered_add(ordered *o, const char *key, int kind, const char *text, size_t len);
/* Calls out for every item, sorted by key (then arrival), and empties o. */
void ordered_take(ordered *o, void (*out)(void *ud, int kind, const char *text, size_t len), void *ud);
void ordered_free(ordered *o);

#endif
