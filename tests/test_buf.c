/*
 * test_buf.c - the capped byte buffer (lib/buf.h).
 *
 * The contract under test: `len < cap_limit` always (the cap counts the terminating NUL), the
 * content is always NUL-terminated, an append that would pass the cap returns -1 and leaves the
 * buffer exactly as it was (same bytes, same length, same storage), and the life-cycle verbs
 * release / reset / detach do what buf.h says with the storage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

enum op { OP_APPEND, OP_PUTS, OP_PUTC, OP_PRINTF };

/*
 * One append on a buffer capped at `cap` that already holds `before`.  For OP_PRINTF the call is
 * buf_printf(b, "%s", arg); for OP_PUTC it is buf_putc(b, arg[0]).
 */
struct row {
	enum op op;
	size_t cap;
	const char *before;
	const char *arg;
	int want_rc;
	const char *want;       /* content afterwards */
};

static const struct row rows[] = {
	/* within the cap */
	{ OP_APPEND, 16, "", "hello", 0, "hello" },
	{ OP_PUTS, 16, "", "hello", 0, "hello" },
	{ OP_PRINTF, 16, "", "hello", 0, "hello" },
	{ OP_PUTC, 16, "", "h", 0, "h" },
	{ OP_APPEND, 16, "ab", "cd", 0, "abcd" },
	{ OP_PUTS, 16, "ab", "cd", 0, "abcd" },
	{ OP_PRINTF, 16, "ab", "cd", 0, "abcd" },
	{ OP_PUTC, 16, "ab", "c", 0, "abc" },
	/* filling the buffer exactly: cap - 1 bytes of content, then the NUL */
	{ OP_APPEND, 8, "", "1234567", 0, "1234567" },
	{ OP_PUTS, 8, "123", "4567", 0, "1234567" },
	{ OP_PRINTF, 8, "1234", "567", 0, "1234567" },
	{ OP_PUTC, 8, "123456", "7", 0, "1234567" },
	/* one byte past the cap: refused, buffer as it was */
	{ OP_APPEND, 8, "", "12345678", -1, "" },
	{ OP_PUTS, 8, "123", "45678", -1, "123" },
	{ OP_PRINTF, 8, "1234", "5678", -1, "1234" },
	{ OP_PUTC, 8, "1234567", "8", -1, "1234567" },
	/* far past the cap */
	{ OP_APPEND, 8, "ab", "0123456789abcdef0123456789", -1, "ab" },
	{ OP_PRINTF, 8, "ab", "0123456789abcdef0123456789", -1, "ab" },
	/* appending nothing always fits */
	{ OP_APPEND, 8, "", "", 0, "" },
	{ OP_APPEND, 8, "1234567", "", 0, "1234567" },
	{ OP_PUTS, 8, "1234567", "", 0, "1234567" },
	{ OP_PRINTF, 8, "1234567", "", 0, "1234567" },
	/* a cap of 1 holds only the NUL */
	{ OP_APPEND, 1, "", "x", -1, "" },
	{ OP_PUTS, 1, "", "x", -1, "" },
	{ OP_PUTC, 1, "", "x", -1, "" },
	{ OP_PRINTF, 1, "", "x", -1, "" },
	{ OP_APPEND, 1, "", "", 0, "" },
	{ OP_PUTS, 1, "", "", 0, "" },
	{ OP_PRINTF, 1, "", "", 0, "" },
	/* growth past the first allocation (64 bytes) */
	{ OP_PUTS, 4096, "", "0123456789012345678901234567890123456789012345678901234567890123456789",
	  0, "0123456789012345678901234567890123456789012345678901234567890123456789" },
	{ OP_PUTS, 100, "0123456789012345678901234567890123456789012345678901234567890",
	  "0123456789012345678901234567890123456789", -1,
	  "0123456789012345678901234567890123456789012345678901234567890" },
};

static const char *const op_names[] = { "buf_append", "buf_puts", "buf_putc", "buf_printf" };

static int do_op(struct buf *b, const struct row *r)
{
	switch (r->op) {
	case OP_APPEND:
		return buf_append(b, r->arg, strlen(r->arg));
	case OP_PUTS:
		return buf_puts(b, r->arg);
	case OP_PUTC:
		return buf_putc(b, r->arg[0]);
	case OP_PRINTF:
		return buf_printf(b, "%s", r->arg);
	}
	return -2;
}

static void test_append_rows(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct buf b;
		char *data_before;
		size_t alloc_before;
		int rc;

		buf_init(&b, r->cap);
		if (*r->before)
			assert_int_equal(buf_puts(&b, r->before), 0);
		data_before = b.data;
		alloc_before = b.alloc;
		rc = do_op(&b, r);
		if (rc != r->want_rc || strcmp(buf_cstr(&b), r->want) != 0)
			print_message("row %zu: %s(cap %zu, \"%s\" + \"%s\") = %d \"%s\", want %d \"%s\"\n",
				      i, op_names[r->op], r->cap, r->before, r->arg, rc, buf_cstr(&b),
				      r->want_rc, r->want);
		assert_int_equal(rc, r->want_rc);
		assert_string_equal(buf_cstr(&b), r->want);
		assert_int_equal(b.len, strlen(r->want));
		assert_true(b.len < b.cap_limit);
		assert_true(b.alloc <= b.cap_limit);
		if (b.data)
			assert_int_equal(b.data[b.len], '\0');
		if (rc < 0) {
			/* unchanged means the storage too, not only the visible text */
			assert_ptr_equal(b.data, data_before);
			assert_int_equal(b.alloc, alloc_before);
		}
		buf_release(&b);
	}
}

static void test_init_is_empty_and_allocates_nothing(void **state)
{
	struct buf b;

	buf_init(&b, 32);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap_limit, 32);
	assert_string_equal(buf_cstr(&b), "");
	buf_release(&b);
}

static void test_printf_formats(void **state)
{
	struct buf b;

	buf_init(&b, 64);
	assert_int_equal(buf_printf(&b, "%d-%s-%05.1f", 42, "x", 2.5), 0);
	assert_int_equal(buf_printf(&b, "|%zu|", (size_t)7), 0);
	assert_string_equal(buf_cstr(&b), "42-x-002.5|7|");
	assert_int_equal(b.len, 13);
	buf_release(&b);
}

/* Embedded NUL bytes are content like any other; cstr then shows only the part before them. */
static void test_binary_content(void **state)
{
	struct buf b;

	buf_init(&b, 16);
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(buf_putc(&b, '\0'), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "a\0b\0", 5);
	buf_release(&b);
}

/* Many small appends: the storage grows and the content stays exact. */
static void test_many_appends_grow(void **state)
{
	struct buf b;
	size_t i;

	buf_init(&b, 20000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(b.data[i], (char)('a' + i % 26));
	assert_int_equal(b.data[10000], '\0');
	assert_true(b.alloc <= b.cap_limit);
	buf_release(&b);
}

/* Byte by byte up to the cap: exactly cap - 1 appends succeed, then every one fails. */
static void test_fill_to_cap_byte_by_byte(void **state)
{
	static const size_t caps[] = { 1, 2, 63, 64, 65, 100, 129 };

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct buf b;
		size_t ok = 0;

		buf_init(&b, caps[c]);
		for (size_t i = 0; i < caps[c] + 3; i++)
			if (buf_putc(&b, 'x') == 0)
				ok++;
		assert_int_equal(ok, caps[c] - 1);
		assert_int_equal(b.len, caps[c] - 1);
		assert_true(b.alloc <= caps[c]);
		buf_release(&b);
	}
}

static void test_release_frees_and_keeps_cap(void **state)
{
	struct buf b;

	buf_init(&b, 32);
	assert_int_equal(buf_puts(&b, "content"), 0);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap_limit, 32);
	assert_string_equal(buf_cstr(&b), "");
	/* usable again, with the same cap */
	assert_int_equal(buf_puts(&b, "0123456789012345678901234567890"), 0);
	assert_int_equal(buf_putc(&b, 'x'), -1);
	buf_release(&b);
	/* releasing an empty buffer is harmless */
	buf_release(&b);
	assert_null(b.data);
}

static void test_reset_keeps_storage(void **state)
{
	struct buf b;
	char *data;
	size_t alloc;

	buf_init(&b, 32);
	buf_reset(&b);          /* on a buffer that never allocated */
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_puts(&b, "first"), 0);
	data = b.data;
	alloc = b.alloc;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.alloc, alloc);
	assert_int_equal(b.cap_limit, 32);
	assert_int_equal(buf_puts(&b, "second"), 0);
	assert_string_equal(buf_cstr(&b), "second");
	buf_release(&b);
}

/* Truncating keeps the first bytes, NUL-terminated, and the storage; a length at or past the
 * content's changes nothing, on an empty buffer too. */
static void test_truncate_keeps_a_prefix(void **state)
{
	struct buf b;
	const char *data;

	buf_init(&b, 64);
	buf_truncate(&b, 0);
	buf_truncate(&b, 5);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_puts(&b, "hello world"), 0);
	data = b.data;
	buf_truncate(&b, 20);
	assert_string_equal(buf_cstr(&b), "hello world");
	buf_truncate(&b, 11);
	assert_string_equal(buf_cstr(&b), "hello world");
	buf_truncate(&b, 5);
	assert_int_equal(b.len, 5);
	assert_string_equal(buf_cstr(&b), "hello");
	assert_ptr_equal(b.data, data);
	assert_int_equal(buf_puts(&b, "!"), 0);
	assert_string_equal(buf_cstr(&b), "hello!");
	buf_release(&b);
}

static void test_detach_hands_over_storage(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p;

	buf_init(&b, 32);
	assert_int_equal(buf_puts(&b, "survey"), 0);
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "survey");
	assert_int_equal(len, 6);
	/* the buffer is empty again, same cap, and no longer owns p */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap_limit, 32);
	assert_int_equal(buf_puts(&b, "next"), 0);
	assert_string_equal(p, "survey");
	free(p);
	buf_release(&b);
}

static void test_detach_empty_gives_empty_string(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p;

	buf_init(&b, 8);
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);

	/* after a reset the storage exists but is empty */
	assert_int_equal(buf_puts(&b, "abc"), 0);
	buf_reset(&b);
	p = buf_detach(&b, NULL);       /* len may be NULL */
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
	assert_null(b.data);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_rows),
		cmocka_unit_test(test_init_is_empty_and_allocates_nothing),
		cmocka_unit_test(test_printf_formats),
		cmocka_unit_test(test_binary_content),
		cmocka_unit_test(test_many_appends_grow),
		cmocka_unit_test(test_fill_to_cap_byte_by_byte),
		cmocka_unit_test(test_release_frees_and_keeps_cap),
		cmocka_unit_test(test_reset_keeps_storage),
		cmocka_unit_test(test_truncate_keeps_a_prefix),
		cmocka_unit_test(test_detach_hands_over_storage),
		cmocka_unit_test(test_detach_empty_gives_empty_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
