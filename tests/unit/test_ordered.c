/* test_ordered — text kept back by order key (engine/util/ordered.c) and
 * the journal's held lines (journal_hold / journal_release): what a run
 * writes while calls overlap comes out in a sequential run's order. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "ordered.h"
#include "testutil.h"

static void collect(void *ud, int kind, const char *text, size_t len)
{
	char *out = ud;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%d:%.*s ", kind, (int)len, text);
}

START_TEST(items_come_out_by_key_then_arrival)
{
	ordered o = ORDERED_INIT;
	char out[256] = "";
	/* keys as sandbox_order_key makes them: function 2's call arrived first */
	ck_assert_int_eq(ordered_add(&o, "00000002.00000001", 0, "b1", 2), 0);
	ck_assert_int_eq(ordered_add(&o, "00000001.00000002", 1, "a2", 2), 0);
	ck_assert_int_eq(ordered_add(&o, "00000001.00000001.00000001.00000001", 0, "x", 1), 0);
	ck_assert_int_eq(ordered_add(&o, "00000001.00000001", 0, "a1", 2), 0);
	ck_assert_int_eq(ordered_add(&o, "00000001.00000002", 0, "a2bis", 5), 0);
	ck_assert_int_eq(ordered_add(&o, NULL, 0, "none", 4), 0);
	ordered_take(&o, collect, out);
	ck_assert_str_eq(out, "0:none 0:a1 0:x 1:a2 0:a2bis 0:b1 ");
	ck_assert_int_eq((int)o.n, 0);
	ordered_free(&o);
}
END_TEST

START_TEST(free_releases_what_was_not_taken)
{
	ordered o = ORDERED_INIT;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(ordered_add(&o, "k", 0, "text", 4), 0);
	ordered_free(&o);
	ck_assert_ptr_null(o.items);
}
END_TEST

START_TEST(journal_lines_held_are_written_sorted_on_release)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	journal *j = journal_new(f);
	jw *w = journal_line(j, "before");
	journal_emit(j);
	journal_hold(j);
	journal_set_order(j, "00000002.00000001");
	w = journal_line(j, "second");
	journal_emit(j);
	journal_set_order(j, "00000001.00000001");
	w = journal_line(j, "first");
	jw_field_str(w, "k", "v");
	journal_emit(j);
	fflush(f);
	ck_assert_ptr_null(strstr(text, "second")); /* nothing written while held */
	ck_assert_int_eq(journal_release(j), 0);
	w = journal_line(j, "after");
	journal_emit(j);
	fflush(f);
	const char *b = strstr(text, "\"before\""), *p1 = strstr(text, "\"first\""),
		   *p2 = strstr(text, "\"second\""), *a = strstr(text, "\"after\"");
	ck_assert_msg(b && p1 && p2 && a && b < p1 && p1 < p2 && p2 < a, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\"k\":\"v\"}\n"));
	journal_free(j);
	fclose(f);
	free(text);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ordered");
	TCase *tc = tcase_create("ordered");
	tcase_add_test(tc, items_come_out_by_key_then_arrival);
	tcase_add_test(tc, free_releases_what_was_not_taken);
	tcase_add_test(tc, journal_lines_held_are_written_sorted_on_release);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
