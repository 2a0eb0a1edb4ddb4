/* lint_rules — the allow-list's argument rules (sandbox/rules.c) applied to
 * the literal parameters of a call seen in a playbook's source, so that
 * `deadbolt check` reports, before any run, a call its rule would refuse
 * (an Allow in a policy, a public-access block turned off ...).
 *
 * Only the members written as literals are judged: the table is rebuilt
 * from the tokens (strings, numbers, booleans, nested literal tables) and
 * everything else is left out, so the rule treats it as absent. Nothing is
 * run. */
#ifndef DEADBOLT_LINT_RULES_H
#define DEADBOLT_LINT_RULES_H

#include <stddef.h>

#include "allowlist.h"
#include "lua_lex.h"

typedef struct lint_rules lint_rules;

lint_rules *lint_rules_new(void); /* NULL: out of memory */
void lint_rules_free(lint_rules *lr);

/* Judges the literal table whose "{" is token open against e's rule.
 * 0 when nothing is wrong as far as can be seen; -1 with "rule <name>:
 * <why>" in err. */
int lint_rules_check(lint_rules *lr, const allow_entry *e, const lua_toks *k, size_t open,
		     char *err, size_t errlen);

#endif
