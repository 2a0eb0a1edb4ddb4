/* test_xml — the XML tree (engine/aws/xml.h): what AWS bodies need, and every
 * hostile-document trick refused with a reason. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"
#include "testutil.h"

static xml_doc *parse_ok(const char *s)
{
	char why[160];
	xml_doc *d = xml_parse(s, strlen(s), NULL, why, sizeof(why));
	ck_assert_msg(d != NULL, "parse failed: %s", why);
	ck_assert_str_eq(why, "");
	return d;
}

/* Asserts the document is refused and the reason mentions part. */
static void parse_refused(const char *s, size_t len, const xml_limits *lim, const char *part)
{
	char why[160];
	xml_doc *d = xml_parse(s, len, lim, why, sizeof(why));
	ck_assert_msg(d == NULL, "accepted a document that should be refused (%s)", part);
	ck_assert_msg(strstr(why, part) != NULL, "reason \"%s\" lacks \"%s\"", why, part);
}

START_TEST(test_tree_names_text_and_children)
{
	xml_doc *d = parse_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			      "<R xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
			      "<requestId>abc</requestId><set><item>1</item><item>2</item>"
			      "<other/><item>3</item></set></R>");
	const xml_node *r = xml_root(d);
	ck_assert_str_eq(r->name, "R");
	ck_assert_ptr_null(r->parent);
	ck_assert_uint_eq(r->nchildren, 2);
	ck_assert_str_eq(xml_child_text(r, "requestId"), "abc");
	ck_assert_ptr_null(xml_child_text(r, "RequestId")); /* exact case */
	const xml_node *set = xml_child(r, "set");
	ck_assert_uint_eq(set->nchildren, 4);
	ck_assert_ptr_eq(set->parent, r);
	const xml_node *it = xml_child(set, "item");
	ck_assert_str_eq(it->text, "1");
	it = xml_next_named(it);
	ck_assert_str_eq(it->text, "2");
	it = xml_next_named(it);
	ck_assert_str_eq(it->text, "3"); /* skips <other/> */
	ck_assert_ptr_null(xml_next_named(it));
	ck_assert_str_eq(xml_child(set, "other")->text, "");
	xml_free(d);
}
END_TEST

START_TEST(test_namespace_prefixes_are_stripped)
{
	xml_doc *d = parse_ok("<a:Error xmlns:a=\"urn:x\" xmlns:b=\"urn:y\" b:kind=\"k\" plain=\"p\">"
			      "<a:Code>Denied</a:Code><b:Code>Other</b:Code></a:Error>");
	const xml_node *r = xml_root(d);
	ck_assert_str_eq(r->name, "Error");
	ck_assert_str_eq(xml_child_text(r, "Code"), "Denied"); /* first of the two */
	ck_assert_str_eq(xml_attr(r, "kind"), "k");
	ck_assert_str_eq(xml_attr(r, "plain"), "p");
	ck_assert_ptr_null(xml_attr(r, "xmlns"));
	ck_assert_ptr_null(xml_attr(r, "missing"));
	xml_free(d);
	d = parse_ok("<u:a xmlns=\"urn:only\"/>"); /* unbound prefix: cut all the same */
	ck_assert_str_eq(xml_root(d)->name, "a");
	ck_assert_ptr_null(xml_root(d)->attrs); /* xmlns declarations are not attributes */
	xml_free(d);
}
END_TEST

START_TEST(test_text_is_elementtree_text)
{
	/* .text is what comes before the first child; the tail is dropped. */
	xml_doc *d = parse_ok("<a>  head <b>x</b> tail <c/>more</a>");
	const xml_node *a = xml_root(d);
	ck_assert_str_eq(a->text, "  head ");
	ck_assert_uint_eq(a->text_len, 7);
	ck_assert_str_eq(xml_child_text(a, "b"), "x");
	xml_free(d);
}
END_TEST

START_TEST(test_entities_cdata_and_utf8)
{
	xml_doc *d = parse_ok("<a><e>&amp;&lt;&gt;&quot;&apos;&#x1F600;&#233;</e>"
			      "<c><![CDATA[<not> & markup]]></c><u>caf\xc3\xa9</u></a>");
	const xml_node *a = xml_root(d);
	ck_assert_str_eq(xml_child_text(a, "e"), "&<>\"'\xf0\x9f\x98\x80\xc3\xa9");
	ck_assert_str_eq(xml_child_text(a, "c"), "<not> & markup");
	ck_assert_str_eq(xml_child_text(a, "u"), "caf\xc3\xa9");
	xml_free(d);
}
END_TEST

START_TEST(test_long_text_arrives_in_pieces)
{
	size_t n = 300000;
	char *s = malloc(n + 32);
	memcpy(s, "<a>", 3);
	memset(s + 3, 'x', n);
	memcpy(s + 3 + n, "</a>", 5);
	xml_doc *d = parse_ok(s);
	ck_assert_uint_eq(xml_root(d)->text_len, n);
	ck_assert_int_eq(xml_root(d)->text[n - 1], 'x');
	xml_free(d);
	xml_limits lim = { .max_text = 1000 };
	parse_refused(s, strlen(s), &lim, "text too long");
	free(s);
}
END_TEST

START_TEST(test_billion_laughs_refused)
{
	static const char doc[] =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n<lolz>&lol9;</lolz>";
	parse_refused(doc, sizeof(doc) - 1, NULL, "DOCTYPE not allowed");
}
END_TEST

START_TEST(test_external_entity_refused)
{
	static const char doc[] = "<?xml version=\"1.0\"?>\n"
				  "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
				  "<r>&xxe;</r>";
	parse_refused(doc, sizeof(doc) - 1, NULL, "DOCTYPE not allowed");
	static const char ext[] = "<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/evil.dtd\"><r/>";
	parse_refused(ext, sizeof(ext) - 1, NULL, "DOCTYPE not allowed");
	static const char bare[] = "<!DOCTYPE r><r/>";
	parse_refused(bare, sizeof(bare) - 1, NULL, "DOCTYPE not allowed");
}
END_TEST

START_TEST(test_undeclared_entity_refused)
{
	static const char doc[] = "<r>&nope;</r>";
	parse_refused(doc, sizeof(doc) - 1, NULL, "undefined entity");
}
END_TEST

static char *nested(size_t depth, size_t *len)
{
	char *s = malloc(depth * 7 + 1);
	size_t n = 0;
	for (size_t i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, 4, "<a>");
	for (size_t i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, 5, "</a>");
	*len = n;
	return s;
}

START_TEST(test_depth_limit)
{
	size_t len;
	char *s = nested(64, &len);
	char why[160];
	xml_doc *d = xml_parse(s, len, NULL, why, sizeof(why));
	ck_assert_msg(d != NULL, "%s", why); /* exactly the limit: fine */
	xml_free(d);
	free(s);
	s = nested(65, &len);
	parse_refused(s, len, NULL, "nesting deeper than 64");
	free(s);
	s = nested(10000, &len);
	parse_refused(s, len, NULL, "nesting deeper than 64");
	free(s);
}
END_TEST

START_TEST(test_size_limit_20mb)
{
	size_t len = (size_t)20 << 20;
	char *s = tu_blank_doc(len, "<a>", "</a>");
	parse_refused(s, len, NULL, "larger than");
	xml_limits lim = { .max_bytes = (size_t)32 << 20, .max_text = (size_t)32 << 20 };
	char why[160];
	xml_doc *d = xml_parse(s, len, &lim, why, sizeof(why));
	ck_assert_msg(d != NULL, "%s", why);
	xml_free(d);
	free(s);
}
END_TEST

START_TEST(test_node_limit)
{
	size_t n = 1000, len = 0;
	char *s = malloc(n * 4 + 16);
	len += (size_t)snprintf(s, 4, "<r>");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, 5, "<i/>");
	len += (size_t)snprintf(s + len, 5, "</r>");
	xml_limits lim = { .max_nodes = 500 };
	parse_refused(s, len, &lim, "too many elements");
	lim.max_nodes = 1001;
	char why[160];
	xml_doc *d = xml_parse(s, len, &lim, why, sizeof(why));
	ck_assert_msg(d != NULL, "%s", why);
	ck_assert_uint_eq(xml_root(d)->nchildren, n);
	xml_free(d);
	free(s);
}
END_TEST

START_TEST(test_broken_documents)
{
	parse_refused("", 0, NULL, "no element found");
	parse_refused("   ", 3, NULL, "no element found");
	parse_refused("<a><b></a>", 10, NULL, "mismatched tag");
	parse_refused("<a>", 3, NULL, "line 1");
	parse_refused("<a/><b/>", 8, NULL, "junk after document element");
	parse_refused("<html><body>Service Unavailable", 31, NULL, "line 1");
	parse_refused("<p:a>", 5, NULL, "line 1");
	char why[8];
	ck_assert_ptr_null(xml_parse("<a>", 3, NULL, why, sizeof(why))); /* short errbuf is fine */
	ck_assert_uint_lt(strlen(why), sizeof(why));
}
END_TEST

START_TEST(test_line_breaks_are_normalised)
{
	/* XML 1.0 2.11 and 3.3.3, as expat did: CR LF and CR are LF in text;
	 * tab, CR and LF are a space in attribute values (a reference is kept). */
	xml_doc *d = parse_ok("<a x=\"1\r\n2\t3&#10;\">p\r\nq\rr<![CDATA[\r\n]]></a>");
	ck_assert_str_eq(xml_attr(xml_root(d), "x"), "1 2 3\n");
	ck_assert_str_eq(xml_root(d)->text, "p\nq\nr\n");
	xml_free(d);
}
END_TEST

START_TEST(test_name_hashes_find_children)
{
	xml_doc *d = parse_ok("<p:R xmlns:p=\"urn:x\"><a/><b:item>1</b:item><item>2</item>"
			      "<c/><d/><e/><f/><g/><h/></p:R>");
	const xml_node *r = xml_root(d);
	for (const xml_node *c = r; c; c = c == r ? r->first : c->next)
		ck_assert_uint_eq(c->name_hash, xml_name_hash(c->name));
	const xml_node *it = xml_child_hashed(r, "item", xml_name_hash("item"));
	ck_assert_ptr_nonnull(it);
	ck_assert_str_eq(it->text, "1"); /* the first, its prefix cut */
	ck_assert_ptr_null(xml_child_hashed(r, "item", xml_name_hash("item") + 1));
	ck_assert_ptr_null(xml_child_hashed(r, "nope", xml_name_hash("nope")));
	ck_assert_uint_ne(xml_name_hash("abcdefgh1"), xml_name_hash("abcdefgh2"));
	xml_child_index ix; /* nine children: indexed */
	xml_index_children(&ix, r);
	ck_assert_int_eq(ix.used, 1);
	ck_assert_ptr_eq(xml_index_find(&ix, "item", xml_name_hash("item")), it);
	ck_assert_ptr_eq(xml_index_find(&ix, "h", xml_name_hash("h")), xml_child(r, "h"));
	ck_assert_ptr_null(xml_index_find(&ix, "nope", xml_name_hash("nope")));
	xml_index_children(&ix, r->first); /* no children: walked */
	ck_assert_int_eq(ix.used, 0);
	ck_assert_ptr_null(xml_index_find(&ix, "a", xml_name_hash("a")));
	xml_free(d);
}
END_TEST

static void refused(const char *s, const char *part)
{
	parse_refused(s, strlen(s), NULL, part);
}

START_TEST(test_characters_are_checked)
{
	refused("<a>\x01</a>", "not well-formed");
	refused("<a>\xc3\x28</a>", "not well-formed");     /* bad UTF-8 */
	refused("<a>\xed\xa0\x80</a>", "not well-formed"); /* a surrogate */
	refused("<a>\xc0\xaf</a>", "not well-formed");     /* overlong '/' */
	refused("<a>&#0;</a>", "invalid character number");
	refused("<a>&#xD800;</a>", "invalid character number");
	refused("<a>]]></a>", "not well-formed");
	refused("<a b=\"1\" b=\"2\"/>", "duplicate attribute");
	refused("<a b=\"<\"/>", "not well-formed");
	refused("<a><!-- x -- y --></a>", "not well-formed");
	refused("<a/><?xml version=\"1.0\"?>", "junk after document element");
	refused("<a><?xml version=\"1.0\"?></a>", "not at start");
	refused("<?xml version=\"1.0\" bogus=\"1\"?><a/>", "declaration not well-formed");
	xml_free(parse_ok("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
			  "<!-- c --><?pi data?><a>\xe2\x82\xac \xf0\x9f\x98\x80</a><!-- d --> "));
}
END_TEST

START_TEST(test_null_safe_queries)
{
	ck_assert_ptr_null(xml_root(NULL));
	ck_assert_ptr_null(xml_child(NULL, "a"));
	ck_assert_ptr_null(xml_child_text(NULL, "a"));
	ck_assert_ptr_null(xml_attr(NULL, "a"));
	ck_assert_ptr_null(xml_next_named(NULL));
	xml_free(NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("tree");
	tcase_add_test(tc, test_tree_names_text_and_children);
	tcase_add_test(tc, test_namespace_prefixes_are_stripped);
	tcase_add_test(tc, test_text_is_elementtree_text);
	tcase_add_test(tc, test_entities_cdata_and_utf8);
	tcase_add_test(tc, test_long_text_arrives_in_pieces);
	tcase_add_test(tc, test_line_breaks_are_normalised);
	tcase_add_test(tc, test_name_hashes_find_children);
	tcase_add_test(tc, test_null_safe_queries);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_billion_laughs_refused);
	tcase_add_test(tc, test_external_entity_refused);
	tcase_add_test(tc, test_undeclared_entity_refused);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_size_limit_20mb);
	tcase_add_test(tc, test_node_limit);
	tcase_add_test(tc, test_broken_documents);
	tcase_add_test(tc, test_characters_are_checked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
