/* testutil — plumbing shared by the Check unit tests in tests/unit: running a
 * suite, an isolated temporary HOME with no AWS_* variables, files written
 * into it, and large blank documents for size-limit tests.
 *
 * Header-only (static inline): every tests/unit/test_*.c is its own binary,
 * built by the Makefile's pattern rule with -Itests/unit, so a .c file here
 * would be mistaken for a test. Nothing under engine/ or sandbox/ includes it.
 *
 * Ownership: the caller owns the HOME path buffer (filled by tu_home_create)
 * and the memory tu_blank_doc returns (free it). Every helper fails the
 * current test with a Check assertion instead of returning an error. */
#ifndef DEADBOLT_TESTUTIL_H
#define DEADBOLT_TESTUTIL_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* 1 in a build under AddressSanitizer (make check-asan), where everything
 * runs several times slower: tests that spend a budget take a smaller one. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_SANITIZED 1
#endif
#endif
#ifndef TU_SANITIZED
#define TU_SANITIZED 0
#endif

/* The number of rows of a case table, as Check's loop tests want it. */
#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Runs the suite (the runner frees it) and returns main's exit status. */
static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unsets every AWS_* variable, so nothing from the caller's shell leaks in.
 * The names are copied first: unsetenv changes environ under the loop. */
static inline void tu_clear_aws_env(void)
{
	char names[256][128];
	size_t n = 0;
	for (char **e = environ; *e && n < 256; e++) {
		size_t k = strcspn(*e, "=");
		if (strncmp(*e, "AWS_", 4) == 0 && k < sizeof(names[0])) {
			memcpy(names[n], *e, k);
			names[n++][k] = '\0';
		}
	}
	for (size_t i = 0; i < n; i++)
		unsetenv(names[i]);
}

/* Makes a fresh directory from tmpl (ending in XXXXXX) into dir, of size
 * bytes, and points HOME at it. */
static inline void tu_home_create(char *dir, size_t size, const char *tmpl)
{
	snprintf(dir, size, "%s", tmpl);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("HOME", dir, 1);
}

/* Makes the directory dir/rel, mode 0700 (e.g. ".aws"). */
static inline void tu_home_mkdir(const char *dir, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it (links are removed, not followed). */
static inline void tu_home_remove(const char *dir)
{
	nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes len bytes of content (NUL bytes included) to dir/rel, then sets
 * its mode. */
static inline void tu_put_file(const char *dir, const char *rel, const void *content, size_t len,
			       mode_t mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* tu_put_file for a C string. */
static inline void tu_put_text(const char *dir, const char *rel, const char *text, mode_t mode)
{
	tu_put_file(dir, rel, text, strlen(text), mode);
}

/* A document of len bytes: head, spaces, then tail (head and tail must fit).
 * Not NUL-terminated; the caller frees it. */
static inline char *tu_blank_doc(size_t len, const char *head, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	ck_assert_uint_ge(len, h + t);
	char *doc = malloc(len);
	ck_assert_ptr_nonnull(doc);
	memset(doc, ' ', len);
	memcpy(doc, head, h);
	memcpy(doc + len - t, tail, t);
	return doc;
}

#endif
