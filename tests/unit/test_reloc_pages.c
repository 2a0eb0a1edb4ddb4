/* test_reloc_pages — the executable's relocation table leaves the resident
 * set once released, and reads back unchanged (engine/util/reloc_pages.c).
 * The test binary is a PIE as deadbolt is; it links the generated AWS model
 * (model_find_operation below), whose tables of pointers give it thousands
 * of relative relocations, as in deadbolt. Residency is read from
 * /proc/self/pagemap (bit 63: page present; readable without privileges). */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "reloc_pages.h"
#include "testutil.h"

/* Pages of [start, start + len) present in memory, from pagemap. */
static size_t resident_pages(const void *start, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t n = 0;
	ck_assert_int_ge(fd, 0);
	for (uintptr_t p = (uintptr_t)start; p < (uintptr_t)start + len; p += (uintptr_t)page) {
		uint64_t e = 0;
		ck_assert_int_eq(pread(fd, &e, sizeof(e), (off_t)(p / (uintptr_t)page * sizeof(e))), (ssize_t)sizeof(e));
		n += (size_t)(e >> 63);
	}
	close(fd);
	return n;
}

START_TEST(a_pie_has_relocation_pages_to_release)
{
	void *start;
	size_t len;
	ck_assert_ptr_nonnull(model_find_operation("ec2", "DescribeInstances"));
	ck_assert_int_eq(reloc_pages_find(&start, &len), 0);
	ck_assert_uint_eq((uintptr_t)start % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_uint_ge(len, 16 * (size_t)sysconf(_SC_PAGESIZE)); /* thousands of relocations */
}
END_TEST

START_TEST(released_pages_leave_the_resident_set_and_read_back_unchanged)
{
	void *start;
	size_t len;
	char *copy;
	ck_assert_int_eq(reloc_pages_find(&start, &len), 0);
	ck_assert_ptr_nonnull(copy = malloc(len));
	memcpy(copy, start, len); /* faults every page in */
	ck_assert_uint_eq(resident_pages(start, len), len / (size_t)sysconf(_SC_PAGESIZE));

	ck_assert_uint_eq(reloc_pages_release(), len);
	ck_assert_uint_eq(resident_pages(start, len), 0);
	ck_assert_int_eq(memcmp(copy, start, len), 0); /* back from the file, as it was */
	free(copy);
}
END_TEST

START_TEST(releasing_twice_is_harmless)
{
	size_t first = reloc_pages_release();
	ck_assert_uint_gt(first, 0);
	ck_assert_uint_eq(reloc_pages_release(), first);
	/* what the table relocated still reads right */
	ck_assert_str_eq(model_op_service(model_find_operation("ec2", "DescribeInstances")), "ec2");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("reloc_pages");
	TCase *tc = tcase_create("reloc_pages");
	tcase_add_test(tc, a_pie_has_relocation_pages_to_release);
	tcase_add_test(tc, released_pages_leave_the_resident_set_and_read_back_unchanged);
	tcase_add_test(tc, releasing_twice_is_harmless);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
