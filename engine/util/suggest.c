/* suggest — "did you mean". See suggest.h. */
#include "suggest.h"

#include <ctype.h>
#include <strings.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Optimal string alignment distance of a[0..n) and b[0..m), folding case
 * when fold is set. Three rows of the dynamic-programming table suffice. */
static size_t osa(const char *a, size_t n, const char *b, size_t m, int fold)
{
	size_t rows[3][SUGGEST_MAX_WORD + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= m; j++)
		prev[j] = j;
	for (size_t i = 1; i <= n; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= m; j++) {
			int ca = fold ? tolower((unsigned char)a[i - 1]) : (unsigned char)a[i - 1];
			int cb = fold ? tolower((unsigned char)b[j - 1]) : (unsigned char)b[j - 1];
			size_t cost = ca != cb;
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1) {
				int pa = fold ? tolower((unsigned char)a[i - 2]) : (unsigned char)a[i - 2];
				int pb = fold ? tolower((unsigned char)b[j - 2]) : (unsigned char)b[j - 2];
				if (ca == pb && pa == cb && prev2[j - 2] + 1 < cur[j])
					cur[j] = prev2[j - 2] + 1;
			}
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

size_t suggest_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > SUGGEST_MAX_WORD || m > SUGGEST_MAX_WORD)
		return SUGGEST_MAX_WORD + 1;
	return osa(a, n, b, m, 0);
}

void suggest_init(suggest *s, const char *word)
{
	s->word = word;
	s->best = NULL;
	s->best_dist = s->best_exact = SUGGEST_MAX_WORD + 1;
}

void suggest_offer(suggest *s, const char *candidate)
{
	size_t n = strlen(s->word), m = strlen(candidate);
	if (n > SUGGEST_MAX_WORD || m > SUGGEST_MAX_WORD || strcmp(s->word, candidate) == 0)
		return;
	size_t d = osa(s->word, n, candidate, m, 1);
	size_t e = osa(s->word, n, candidate, m, 0);
	if (d < s->best_dist || (d == s->best_dist && e < s->best_exact)) {
		s->best = candidate;
		s->best_dist = d;
		s->best_exact = e;
	}
}

/* The edits allowed for a word of n characters. */
static size_t allowed(size_t n)
{
	return n <= 3 ? 1 : n <= 8 ? 2 : 3;
}

/* One word starts with the other, case folded, and the rest is at most 3
 * characters ("InstanceId" / "InstanceIds", "create_snapshot" / "_s"). */
static int extends(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	size_t k = n < m ? n : m, rest = n < m ? m - n : n - m;
	return k >= 4 && rest <= 3 && strncasecmp(a, b, k) == 0;
}

const char *suggest_best(const suggest *s)
{
	if (!s->best)
		return NULL;
	if (s->best_dist <= allowed(strlen(s->word)) || extends(s->word, s->best))
		return s->best;
	return NULL;
}

const char *suggest_among(const char *word, const char *const *candidates)
{
	suggest s;
	suggest_init(&s, word);
	for (size_t i = 0; candidates[i]; i++)
		suggest_offer(&s, candidates[i]);
	return suggest_best(&s);
}
