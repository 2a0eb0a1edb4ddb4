/* cli_text — see cli_text.h. Each function is the one of the same name in
 * awscli/text.py (format_text, _format_list, _format_dict, ...). */
#include "cli_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tw {
	buf *out;
	int failed;
} tw;

static void put(tw *w, const char *s, size_t n)
{
	if (!w->failed && buf_append(w->out, s, n) != 0)
		w->failed = 1;
}

static void puts_(tw *w, const char *s)
{
	put(w, s, strlen(s));
}

static int is_container(const jt_node *n)
{
	return n->type == JT_ARRAY || n->type == JT_OBJECT;
}

/* The exponent of a "%e" rendering: "1.5e-05" -> -5. */
static int exponent_of(const char *s)
{
	const char *e = strchr(s, 'e');
	return e ? (int)strtol(e + 1, NULL, 10) : 0;
}

/* Python's repr of a float: the shortest digits that read back the same,
 * fixed notation for exponents -4..15, else d.ddde+XX. */
static void put_float(tw *w, double d)
{
	char s[64], digits[40];
	int prec = 1;

	if (isnan(d) || isinf(d)) {
		puts_(w, isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
		return;
	}
	for (; prec < 17; prec++) {
		snprintf(digits, sizeof(digits), "%.*e", prec - 1, d);
		if (strtod(digits, NULL) == d)
			break;
	}
	snprintf(digits, sizeof(digits), "%.*e", prec - 1, d);
	int exp = exponent_of(digits);
	if (exp < -4 || exp >= 16) {
		puts_(w, digits);
		return;
	}
	int decimals = prec - 1 - exp > 0 ? prec - 1 - exp : 0;
	snprintf(s, sizeof(s), "%.*f", decimals, d);
	puts_(w, s);
	if (!strchr(s, '.'))
		puts_(w, ".0");
}

static void put_scalar(tw *w, const jt_node *n)
{
	char num[32];

	switch (n->type) {
	case JT_NULL:
		puts_(w, "None");
		break;
	case JT_TRUE:
		puts_(w, "True");
		break;
	case JT_FALSE:
		puts_(w, "False");
		break;
	case JT_INT:
		snprintf(num, sizeof(num), "%lld", n->i);
		puts_(w, num);
		break;
	case JT_NUMBER:
		put_float(w, n->d);
		break;
	case JT_STRING:
		put(w, n->str, n->len);
		break;
	default:
		break; /* containers are never written as scalars here */
	}
}

static void put_upper(tw *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
		put(w, &c, 1);
	}
}

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : (alen > blen) - (alen < blen);
}

static int node_cmp(const void *x, const void *y)
{
	const jt_node *a = *(const jt_node *const *)x, *b = *(const jt_node *const *)y;
	return key_cmp(a->key, a->key_len, b->key, b->key_len);
}

/* An object's members sorted by key, last one of a repeated key winning (as
 * Python's json does); NULL and *n = 0 when empty or out of memory. */
static const jt_node **sorted_members(tw *w, const jt_node *obj, size_t *n)
{
	const jt_node **v = obj->n ? calloc(obj->n, sizeof(*v)) : NULL;
	size_t k = 0;

	*n = 0;
	if (obj->n && !v) {
		w->failed = 1;
		return NULL;
	}
	for (const jt_node *m = obj->first; m; m = m->next)
		if (json_tree_get(obj, m->key) == m) /* the last of its key */
			v[k++] = m;
	if (k > 1)
		qsort(v, k, sizeof(*v), node_cmp);
	*n = k;
	return v;
}

/* The sorted scalar keys of a list's dicts, as (key, len) nodes of any of
 * them: _all_scalar_keys. Duplicates removed. */
static const jt_node **all_scalar_keys(tw *w, const jt_node *list, size_t *n)
{
	size_t cap = 0, k = 0;
	const jt_node **v;

	for (const jt_node *e = list->first; e; e = e->next)
		if (e->type == JT_OBJECT)
			cap += e->n;
	v = cap ? calloc(cap, sizeof(*v)) : NULL;
	*n = 0;
	if (cap && !v) {
		w->failed = 1;
		return NULL;
	}
	for (const jt_node *e = list->first; e; e = e->next)
		for (const jt_node *m = e->type == JT_OBJECT ? e->first : NULL; m; m = m->next)
			if (!is_container(m))
				v[k++] = m;
	if (k > 1)
		qsort(v, k, sizeof(*v), node_cmp);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || node_cmp(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	*n = u;
	return v;
}

static void format_text(tw *w, const jt_node *item, const jt_node *ident,
			const jt_node **scalar_keys, size_t nkeys, int have_keys);

static void format_scalar_list(tw *w, const jt_node *list, const jt_node *ident)
{
	int first = 1;

	for (const jt_node *e = list->first; e; e = e->next) {
		if (is_container(e))
			continue;
		if (ident) {
			put_upper(w, ident->key, ident->key_len);
			put(w, "\t", 1);
			put_scalar(w, e);
			put(w, "\n", 1);
		} else {
			if (!first)
				put(w, "\t", 1);
			put_scalar(w, e);
		}
		first = 0;
	}
	if (!ident)
		put(w, "\n", 1);
}

static void format_list(tw *w, const jt_node *list, const jt_node *ident)
{
	int dicts = 0, lists = 0, scalars = 0;

	if (list->n == 0)
		return;
	for (const jt_node *e = list->first; e; e = e->next) {
		dicts |= e->type == JT_OBJECT;
		lists |= e->type == JT_ARRAY;
		scalars |= !is_container(e);
	}
	if (dicts) {
		size_t nkeys = 0;
		const jt_node **keys = all_scalar_keys(w, list, &nkeys);
		for (const jt_node *e = list->first; e && !w->failed; e = e->next)
			format_text(w, e, ident, keys, nkeys, 1);
		free(keys);
		return;
	}
	if (lists && scalars)
		format_scalar_list(w, list, ident);
	if (lists) {
		for (const jt_node *e = list->first; e; e = e->next)
			if (is_container(e))
				format_text(w, e, ident, NULL, 0, 0);
		return;
	}
	format_scalar_list(w, list, ident);
}

/* A member of obj named like key (a node of another dict), or NULL. */
static const jt_node *member_like(const jt_node *obj, const jt_node *key)
{
	const jt_node *found = NULL;
	for (const jt_node *m = obj->first; m; m = m->next)
		if (key_cmp(m->key, m->key_len, key->key, key->key_len) == 0)
			found = m;
	return found;
}

static int in_keys(const jt_node *m, const jt_node **keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		if (key_cmp(m->key, m->key_len, keys[i]->key, keys[i]->key_len) == 0)
			return 1;
	return 0;
}

/* _format_dict: scalars on one line, then each non-scalar under its key.
 * With scalar keys (a dict in a list), every one of them is a column. */
static void format_dict(tw *w, const jt_node *obj, const jt_node *ident,
			const jt_node **keys, size_t nkeys, int have_keys)
{
	size_t n = 0, written = 0;
	const jt_node **members = sorted_members(w, obj, &n);

	for (size_t i = 0; have_keys && i < nkeys; i++) {
		const jt_node *m = member_like(obj, keys[i]);
		if (written++ == 0 && ident) {
			put_upper(w, ident->key, ident->key_len);
			put(w, "\t", 1);
		} else if (written > 1) {
			put(w, "\t", 1);
		}
		if (m && !is_container(m))
			put_scalar(w, m);
	}
	for (size_t i = 0; !have_keys && i < n; i++) {
		if (is_container(members[i]))
			continue;
		if (written++ == 0 && ident) {
			put_upper(w, ident->key, ident->key_len);
			put(w, "\t", 1);
		} else if (written > 1) {
			put(w, "\t", 1);
		}
		put_scalar(w, members[i]);
	}
	if (written)
		put(w, "\n", 1);
	for (size_t i = 0; i < n && !w->failed; i++) {
		const jt_node *m = members[i];
		if (have_keys ? !in_keys(m, keys, nkeys) : is_container(m))
			format_text(w, m, m, NULL, 0, 0);
	}
	free(members);
}

static void format_text(tw *w, const jt_node *item, const jt_node *ident,
			const jt_node **scalar_keys, size_t nkeys, int have_keys)
{
	if (item->type == JT_OBJECT) {
		format_dict(w, item, ident, scalar_keys, nkeys, have_keys);
	} else if (item->type == JT_ARRAY) {
		format_list(w, item, ident);
	} else {
		put_scalar(w, item);
		put(w, "\n", 1);
	}
}

int cli_text_write(const jt_node *root, buf *out)
{
	tw w = {out, 0};
	format_text(&w, root, NULL, NULL, 0, 0);
	return w.failed ? -1 : 0;
}
