/* ordered — see ordered.h. */
#include "ordered.h"

#include <stdlib.h>
#include <string.h>

#define ORDERED_MAX_ITEMS 100000 /* a run makes at most a few thousand */

static char *dup_bytes(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

int ordered_add(ordered *o, const char *key, int kind, const char *text, size_t len)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 32;
		ordered_item *a = cap <= ORDERED_MAX_ITEMS ? realloc(o->items, cap * sizeof(*a)) : NULL;
		if (!a)
			return -1;
		o->items = a;
		o->cap = cap;
	}
	ordered_item *it = &o->items[o->n];
	it->key = dup_bytes(key ? key : "", key ? strlen(key) : 0);
	it->text = dup_bytes(text, len);
	if (!it->key || !it->text) {
		free(it->key);
		free(it->text);
		return -1;
	}
	it->len = len;
	it->kind = kind;
	it->seq = o->n++;
	return 0;
}

static int by_key(const void *a, const void *b)
{
	const ordered_item *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

void ordered_take(ordered *o, void (*out)(void *ud, int kind, const char *text, size_t len), void *ud)
{
	if (o->n)
		qsort(o->items, o->n, sizeof(*o->items), by_key);
	for (size_t i = 0; i < o->n; i++) {
		out(ud, o->items[i].kind, o->items[i].text, o->items[i].len);
		free(o->items[i].key);
		free(o->items[i].text);
	}
	o->n = 0;
}

void ordered_free(ordered *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->items[i].key);
		free(o->items[i].text);
	}
	free(o->items);
	o->items = NULL;
	o->n = o->cap = 0;
}
