/* suggest — "did you mean": the candidate nearest to a misspelt word.
 *
 * Distance is Damerau-Levenshtein (optimal string alignment: insertions,
 * deletions, substitutions and swaps of two neighbours each cost 1) on the
 * lowercased words, so "InstanceID" is 0 away from "InstanceId"; among equal
 * distances the candidate that also matches in case wins, then the first
 * offered. A candidate is suggested only when it is close enough for the
 * word's length (1 edit up to 3 characters, 2 up to 8, 3 beyond), or when one
 * of the two words starts with the other (plural, "_" suffix) and the rest is
 * short.
 *
 * Usage: suggest_init, suggest_offer each candidate, suggest_best. Borrows
 * every string (the candidates must outlive the suggest); nothing allocates. */
#ifndef DEADBOLT_SUGGEST_H
#define DEADBOLT_SUGGEST_H

#include <stddef.h>

#define SUGGEST_MAX_WORD 128 /* longer words and candidates are never suggested */

typedef struct suggest {
	const char *word;
	const char *best;
	size_t best_dist;   /* on lowercased words */
	size_t best_exact;  /* on the words as they are (ties) */
} suggest;

void suggest_init(suggest *s, const char *word);
void suggest_offer(suggest *s, const char *candidate);
/* The nearest candidate close enough, or NULL. Never the word itself. */
const char *suggest_best(const suggest *s);

/* The distance between two words (case-sensitive), or SUGGEST_MAX_WORD + 1
 * when one of them is longer than SUGGEST_MAX_WORD. */
size_t suggest_distance(const char *a, const char *b);

/* suggest_best over a NULL-terminated array of candidates. */
const char *suggest_among(const char *word, const char *const *candidates);

#endif
