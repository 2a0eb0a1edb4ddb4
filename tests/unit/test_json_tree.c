/* test_json_tree — the strict JSON reader behind the json-1.1 decoder
 * (engine/aws/json_tree.h): integers kept apart from floats, escapes, limits,
 * and everything RFC 8259 forbids refused with a reason. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_tree.h"
#include "testutil.h"

static jt_doc *parse_ok(const char *s)
{
	char why[128];
	jt_doc *d = json_tree_parse(s, strlen(s), NULL, why, sizeof(why));
	ck_assert_msg(d != NULL, "\"%s\": %s", s, why);
	return d;
}

static void refused(const char *s, size_t len, const jt_limits *lim, const char *part)
{
	char why[128];
	jt_doc *d = json_tree_parse(s, len, lim, why, sizeof(why));
	ck_assert_msg(d == NULL, "accepted \"%.40s\"", s);
	ck_assert_msg(strstr(why, part) != NULL, "\"%.40s\": reason \"%s\" lacks \"%s\"", s, why, part);
}

START_TEST(test_integers_and_floats_kept_apart)
{
	jt_doc *d = parse_ok("[5, 5.0, 1e3, -0, 9223372036854775807, 9223372036854775808, "
			     "-9223372036854775808, 1.700000000123E9]");
	const jt_node *e = json_tree_root(d)->first;
	ck_assert_int_eq(e->type, JT_INT);
	ck_assert_int_eq(e->i, 5);
	e = e->next;
	ck_assert_int_eq(e->type, JT_NUMBER);
	ck_assert(e->d == 5.0);
	e = e->next;
	ck_assert_int_eq(e->type, JT_NUMBER);
	ck_assert(e->d == 1000.0);
	e = e->next;
	ck_assert_int_eq(e->type, JT_INT);
	ck_assert_int_eq(e->i, 0);
	e = e->next;
	ck_assert_int_eq(e->type, JT_INT);
	ck_assert(e->i == 9223372036854775807LL);
	e = e->next;
	ck_assert_int_eq(e->type, JT_NUMBER); /* past int64: a float */
	ck_assert(e->d == 9223372036854775808.0);
	e = e->next;
	ck_assert_int_eq(e->type, JT_INT);
	ck_assert(e->i == (-9223372036854775807LL - 1));
	e = e->next;
	ck_assert(fabs(e->d - 1700000000.123) < 1e-6);
	ck_assert_ptr_null(e->next);
	json_tree_free(d);
}
END_TEST

START_TEST(test_objects_literals_and_lookup)
{
	jt_doc *d = parse_ok(" {\"a\": true, \"b\": false, \"c\": null, \"a\": [ ], \"o\": {}}\r\n");
	const jt_node *r = json_tree_root(d);
	ck_assert_int_eq(r->type, JT_OBJECT);
	ck_assert_uint_eq(r->n, 5);
	const jt_node *a = json_tree_get(r, "a");
	ck_assert_int_eq(a->type, JT_ARRAY); /* the last duplicate wins */
	ck_assert_uint_eq(a->n, 0);
	ck_assert_int_eq(json_tree_get(r, "b")->type, JT_FALSE);
	ck_assert_int_eq(json_tree_get(r, "c")->type, JT_NULL);
	ck_assert_int_eq(json_tree_get(r, "o")->type, JT_OBJECT);
	ck_assert_ptr_null(json_tree_get(r, "A"));
	ck_assert_ptr_null(json_tree_get(a, "x")); /* not an object */
	json_tree_free(d);
}
END_TEST

START_TEST(test_string_escapes)
{
	jt_doc *d = parse_ok("[\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\", \"\\u00e9\\u2603\", "
			     "\"\\ud83d\\ude00\", \"\\ud800x\", \"a\\u0000b\", \"caf\xc3\xa9\"]");
	const jt_node *e = json_tree_root(d)->first;
	ck_assert_str_eq(e->str, "q\"b\\s/n\nt\tr\rb\bf\f");
	e = e->next;
	ck_assert_str_eq(e->str, "\xc3\xa9\xe2\x98\x83");
	e = e->next;
	ck_assert_str_eq(e->str, "\xf0\x9f\x98\x80"); /* a surrogate pair joined */
	e = e->next;
	ck_assert_str_eq(e->str, "\xef\xbf\xbdx"); /* a lone surrogate: U+FFFD */
	e = e->next;
	ck_assert_uint_eq(e->len, 3);
	ck_assert(memcmp(e->str, "a\0b", 3) == 0);
	e = e->next;
	ck_assert_str_eq(e->str, "caf\xc3\xa9");
	json_tree_free(d);
}
END_TEST

START_TEST(test_not_json_refused)
{
	refused("", 0, NULL, "end of document");
	refused("[1,]", 4, NULL, "unexpected character");
	refused("{\"a\":1,}", 8, NULL, "member name");
	refused("[01]", 4, NULL, "bad number");
	refused("[1.]", 4, NULL, "bad number");
	refused("[-]", 3, NULL, "bad number");
	refused("[NaN]", 5, NULL, "unexpected character");
	refused("[Infinity]", 10, NULL, "unexpected character");
	refused("[tru]", 5, NULL, "unexpected character");
	refused("\"a\nb\"", 5, NULL, "control character");
	refused("\"abc", 4, NULL, "unterminated");
	refused("\"\\x\"", 4, NULL, "bad escape");
	refused("\"\\u12\"", 6, NULL, "\\u escape");
	refused("{\"a\" 1}", 7, NULL, "expected ':'");
	refused("[1 2]", 5, NULL, "expected ',' or ']'");
	refused("{} {}", 5, NULL, "trailing data");
	refused("// c\n{}", 7, NULL, "unexpected character");
	refused("<html>", 6, NULL, "offset 0");
}
END_TEST

static char *brackets(size_t depth)
{
	char *s = malloc(2 * depth + 1);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

START_TEST(test_depth_limit)
{
	char *s = brackets(64);
	jt_doc *d = parse_ok(s);
	json_tree_free(d);
	free(s);
	s = brackets(65);
	refused(s, strlen(s), NULL, "nesting deeper than 64");
	free(s);
	s = brackets(100000);
	refused(s, strlen(s), NULL, "nesting deeper than 64");
	free(s);
}
END_TEST

START_TEST(test_size_and_node_limits)
{
	jt_limits lim = { .max_bytes = 10 };
	refused("[1,2,3,4,5,6]", 13, &lim, "larger than 10");
	jt_limits few = { .max_nodes = 3 };
	refused("[1,2,3]", 7, &few, "too many values");
	char why[64];
	jt_doc *d = json_tree_parse("[1,2]", 5, &few, why, sizeof(why));
	ck_assert_ptr_nonnull(d);
	json_tree_free(d);
	json_tree_free(NULL);
	ck_assert_ptr_null(json_tree_root(NULL));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("json_tree");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_integers_and_floats_kept_apart);
	tcase_add_test(tc, test_objects_literals_and_lookup);
	tcase_add_test(tc, test_string_escapes);
	tcase_add_test(tc, test_not_json_refused);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_size_and_node_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
