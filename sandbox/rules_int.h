/* rules_int — what the files of the allow-list's argument rules share, and
 * nothing else needs (sandbox_int.h declares what the sandbox calls).
 *
 *   rules.c          what each rule checks, the table rule -> name, check,
 *                    restore variant, and the judging (rules_check,
 *                    allow_rule_check_static, sandbox_set_run)
 *   rules_view.c     reading a call's plain parameters, and the checks the
 *                    rules share: the run's evidence and lock prefixes,
 *                    deadbolt's groups, the ENIs' first-seen groups
 *                    (rules_observe, rules_settle)
 *   rules_restore.c  restore mode's variants: back to the journal's state
 *                    before, nothing else (rules_set_facts)
 *
 * The shared functions are named rv_ (rules view): the binary links them
 * beside OpenSSL, curl and Lua. A view lives on the stack of one judgement and
 * borrows everything it points to; why is the caller's buffer. */
#ifndef DEADBOLT_RULES_INT_H
#define DEADBOLT_RULES_INT_H

#include <stddef.h>

#include "model_types.h"
#include "sandbox_int.h"

#define GROUP_TAG "deadbolt:group"
#define LOCK_ROOT "locks"
#define KEY_MAX 1024

enum { GROUP_UNKNOWN = 0, GROUP_ISOLATION, GROUP_UNTRACK };

typedef struct view {
	const aws_shape *input; /* the operation's input shape, or NULL */
	lua_State *L;
	sandbox *sb;            /* NULL: static analysis, no run */
	const sandbox_run *run; /* NULL: static analysis */
	char *why;
	size_t n;
} view;

/* ---- rules_view.c: the plain parameters (raw: no metamethod runs) ---- */
/* The refusals write why and return -1; the readers that push say so where
 * they are defined. */
int rv_refuse(view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rv_get(lua_State *L, int t, const char *k);
const char *rv_get_str(lua_State *L, int t, const char *k, int *bad);
int rv_only_members(view *v, int t, const char *what, const char *const *allowed);
int rv_is_static(const view *v);
int rv_restore_mode(const view *v);
int rv_need_str(view *v, int t, const char *k, const char **out);
int rv_sub_table(view *v, int t, const char *k);
int rv_value_is(view *v, int t, const char *k, int want_bool, const char *want_str);
int rv_each_item(view *v, int t, int (*each)(view *, int));

/* ---- rules_view.c: the run's evidence and lock prefixes ---- */
int rv_run_part_ok(const char *s);
int rv_under_prefix(view *v, const char *what, const char *key, const char *const *want, size_t n,
		 const char *shape);
int rv_under_run_prefix(view *v, const char *what, const char *key);
int rv_under_lock_prefix(view *v, const char *what, const char *key);

/* ---- rules_view.c: deadbolt's groups, the ENIs' first-seen groups ---- */
int rv_role_of_tag(const char *value);
const char *rv_group_tag_in(lua_State *L, int t);
const rules_eni *rv_known_eni(const sandbox *sb, const char *id);
int rv_group_role(view *v, const char *id);
int rv_not_ours(view *v, const char *id);

/* ---- rules_restore.c: the restore variants the table names ---- */
int restore_eni(view *v, int p);
int restore_protect(view *v, int p);
int restore_profile(view *v, int p);
int restore_bucket_block(view *v, int p);
int restore_account_block(view *v, int p);
int restore_no_block(view *v, int p);
int restore_put_policy(view *v, int p);
int restore_delete_policy(view *v, int p);
int restore_key(view *v, int p);
int restore_tag(view *v, int p);
int restore_member(view *v, int p);
int restore_delete_group(view *v, int p);
int restore_egress(view *v, int p);
int rule_restore_only(view *v, int p);

#endif
