/* Check suite for engine/cmd/cli_text.c: the AWS CLI's --output text.
 * Each expected text was written by awscli's own formatter (awscli/text.py,
 * awscli 1.45.11: format_text(json.loads(input))); the integration test
 * test_client_cli.TestCallTextOutput compares against it live on moto's
 * answers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli_text.h"
#include "json_tree.h"

typedef struct text_case {
	const char *name, *json, *text;
} text_case;

static const text_case cases[] = {
	{"a dict of scalars, in key order",
	 "{\"D\": null, \"B\": 2, \"A\": \"x\", \"C\": true}",
	 "x\t2\tTrue\tNone\n"},
	{"nested lists of dicts under their keys",
	 "{\"Reservations\": [{\"ReservationId\": \"r-1\", \"Instances\": [{\"InstanceId\": \"i-1\", \"Tags\": [{\"Key\": \"Name\", \"Value\": \"web\"}]}, {\"InstanceId\": \"i-2\", \"State\": {\"Code\": 16, \"Name\": \"running\"}}]}]}",
	 "RESERVATIONS\tr-1\nINSTANCES\ti-1\nTAGS\tName\tweb\nINSTANCES\ti-2\nSTATE\t16\trunning\n"},
	{"a list of dicts over the keys of them all",
	 "{\"Items\": [{\"a\": 1}, {\"b\": 2}, {\"a\": 3, \"c\": \"z\"}]}",
	 "ITEMS\t1\t\t\nITEMS\t\t2\t\nITEMS\t3\t\tz\n"},
	{"a scalar list under its key",
	 "{\"Ids\": [\"i-1\", \"i-2\"], \"Count\": 2}",
	 "2\nIDS\ti-1\nIDS\ti-2\n"},
	{"a bare scalar list on one line",
	 "[\"a\", \"b\", \"c\"]",
	 "a\tb\tc\n"},
	{"a bare list of lists",
	 "[[\"a\", \"b\"], [\"c\"], \"d\"]",
	 "d\na\tb\nc\n"},
	{"lists of lists under a key",
	 "{\"Nested\": [[\"x\", \"y\"], [\"z\"]]}",
	 "NESTED\tx\nNESTED\ty\nNESTED\tz\n"},
	{"floats as Python repr",
	 "{\"F\": 1.5, \"G\": 100000.0, \"H\": 1e-05, \"I\": 1e+16, \"J\": 0.1, \"K\": -2.0}",
	 "1.5\t100000.0\t1e-05\t1e+16\t0.1\t-2.0\n"},
	{"empty containers write nothing",
	 "{\"Empty\": [], \"E2\": {}, \"Name\": \"n\"}",
	 "n\n"},
	{"a scalar",
	 "\"just a string\"",
	 "just a string\n"},
	{"keys sorted by code point",
	 "{\"b\": 1, \"a\": 2, \"B\": 3, \"_\": 4}",
	 "3\t4\t2\t1\n"},
	{"a repeated key: the last one",
	 "{\"a\": 1, \"a\": 2}",
	 "2\n"},
	{"tabs and newlines in values are written as they are",
	 "{\"T\": \"a\\tb\", \"N\": \"x\\ny\"}",
	 "x\ny\ta\tb\n"},
};

START_TEST(test_text_is_what_awscli_writes)
{
	const text_case *c = &cases[_i];
	char err[128];
	buf out = BUF_INIT;
	jt_doc *doc = json_tree_parse(c->json, strlen(c->json), NULL, err, sizeof(err));

	ck_assert_msg(doc != NULL, "%s: %s", c->name, err);
	ck_assert_int_eq(cli_text_write(json_tree_root(doc), &out), 0);
	ck_assert_msg(out.len == strlen(c->text) && memcmp(out.data, c->text, out.len) == 0,
		      "%s:\nwant [%s]\ngot  [%.*s]", c->name, c->text, (int)out.len,
		      out.data ? out.data : "");
	buf_free(&out);
	json_tree_free(doc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_text");
	TCase *t = tcase_create("awscli");
	tcase_add_loop_test(t, test_text_is_what_awscli_writes, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
