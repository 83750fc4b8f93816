/*
 * test_csv.c - CSV cells: one row per cell (bytes, guard on or off, expected output), then every
 * buffer cap from too small to large enough, proving a failed append leaves the buffer as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "csv.h"

struct row {
	const char *in;         /* NULL: a NULL cell */
	size_t len;
	int guard;
	const char *want;       /* the cell as written when it is the row's first cell */
	size_t want_len;
};

#define ROW(s, g, w)    { s, sizeof(s) - 1, g, w, sizeof(w) - 1 }
#define ROW_NULL(g)     { NULL, 0, g, "", 0 }

static const struct row rows[] = {
	ROW("", 0, ""),
	ROW("", 1, ""),
	ROW_NULL(0),
	ROW_NULL(1),
	ROW("plain", 0, "plain"),
	ROW("plain", 1, "plain"),
	ROW("cust-42", 1, "cust-42"),                   /* '-' inside is harmless */
	ROW("a,b", 0, "\"a,b\""),
	ROW(",", 1, "\",\""),
	ROW("say \"hi\"", 0, "\"say \"\"hi\"\"\""),
	ROW("\"", 0, "\"\"\"\""),
	ROW("\"\"", 1, "\"\"\"\"\"\""),
	ROW("line1\nline2", 0, "\"line1\nline2\""),
	ROW("line1\r\nline2", 1, "\"line1\r\nline2\""),
	ROW("ends\r\n", 0, "\"ends\r\n\""),
	ROW(" spaced ", 1, " spaced "),

	/* formula triggers, guard on and off */
	ROW("=1+1", 1, "'=1+1"),
	ROW("=1+1", 0, "=1+1"),
	ROW("+34600111222", 1, "'+34600111222"),
	ROW("+34600111222", 0, "+34600111222"),
	ROW("-2", 1, "'-2"),
	ROW("-2", 0, "-2"),
	ROW("@SUM(A1)", 1, "'@SUM(A1)"),
	ROW("@SUM(A1)", 0, "@SUM(A1)"),
	ROW("\tx", 1, "'\tx"),
	ROW("\tx", 0, "\tx"),
	ROW("\rx", 1, "\"'\rx\""),
	ROW("\rx", 0, "\"\rx\""),
	ROW("=", 1, "'="),
	ROW("'=already", 1, "'=already"),

	/* triggers that also need quoting: the apostrophe goes inside the quotes */
	ROW("=1,2", 1, "\"'=1,2\""),
	ROW("=1,2", 0, "\"=1,2\""),
	ROW("=HYPERLINK(\"http://x\")", 1, "\"'=HYPERLINK(\"\"http://x\"\")\""),
	ROW("-\n", 1, "\"'-\n\""),

	/* bytes pass through untouched */
	ROW("lleg\xc3\xb3 tarde \xf0\x9f\x91\x8d", 1, "lleg\xc3\xb3 tarde \xf0\x9f\x91\x8d"),
	ROW("S\xc3\xa3o Paulo, SP", 1, "\"S\xc3\xa3o Paulo, SP\""),
	ROW("\xff\xfe", 0, "\xff\xfe"),
	ROW("a\0b", 1, "a\0b"),
};

/* Writes one row's cell after `prefix` into a buffer capped at `cap`; returns csv_cell()'s result. */
static int write_cell(struct buf *b, size_t cap, const char *prefix, int first,
		      const struct row *r)
{
	buf_init(b, cap);
	if (prefix)
		assert_int_equal(buf_puts(b, prefix), 0);
	return csv_cell(b, first, r->in, r->len, r->guard);
}

/* Checks the bytes written; names the row when they differ. */
static void assert_bytes(size_t row, const char *got, size_t got_len, const char *want,
			 size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		print_message("row %zu: wrote %zu bytes \"%.*s\", want %zu \"%.*s\"\n", row, got_len,
			      (int)got_len, got, want_len, (int)want_len, want);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
}

static void test_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char want[128];
		struct buf b;

		/* as the first cell */
		assert_int_equal(write_cell(&b, 4096, NULL, 1, r), 0);
		assert_bytes(i, buf_cstr(&b), b.len, r->want, r->want_len);
		buf_release(&b);
		/* after another cell: a comma first */
		assert_true(r->want_len + 3 < sizeof(want));
		memcpy(want, "x,", 2);
		memcpy(want + 2, r->want, r->want_len);
		assert_int_equal(write_cell(&b, 4096, "x", 0, r), 0);
		assert_bytes(i, buf_cstr(&b), b.len, want, r->want_len + 2);
		buf_release(&b);
	}
}

/*
 * For every cap from 1 byte to enough: the cell either fits and is written exactly, or does not
 * and the buffer holds the prefix it had, byte for byte.  The prefix makes the buffer non-empty
 * and allocated, so that truncation after a part-way failure is what is being tested.
 */
static void test_buffer_full(void **state)
{
	static const char prefix[] = "id";
	size_t i, cap;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t need = sizeof(prefix) - 1 + 1 + r->want_len;    /* prefix ',' cell */
		int failures = 0;

		for (cap = sizeof(prefix); cap <= need + 2; cap++) {
			struct buf b;
			int rc = write_cell(&b, cap, prefix, 0, r);

			if (cap <= need) {
				/* the cap counts the NUL: `need` bytes need a cap of need + 1 */
				assert_int_equal(rc, -1);
				assert_bytes(i, buf_cstr(&b), b.len, prefix, sizeof(prefix) - 1);
				assert_int_equal(buf_cstr(&b)[b.len], '\0');
				failures++;
			} else {
				assert_int_equal(rc, 0);
				assert_bytes(i, b.data + sizeof(prefix), b.len - sizeof(prefix), r->want,
					     r->want_len);
			}
			buf_release(&b);
		}
		assert_int_equal(failures, (int)(need + 1 - sizeof(prefix)));
	}
}

static void test_cell_str_and_row_end(void **state)
{
	static const char want[] = "survey_id,comment,score\r\n'=cmd,\"a \"\"b\"\"\",,9\r\n";
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(csv_cell_str(&b, 1, "survey_id", 1), 0);
	assert_int_equal(csv_cell_str(&b, 0, "comment", 1), 0);
	assert_int_equal(csv_cell_str(&b, 0, "score", 0), 0);
	assert_int_equal(csv_row_end(&b), 0);
	assert_int_equal(csv_cell_str(&b, 1, "=cmd", 1), 0);
	assert_int_equal(csv_cell_str(&b, 0, "a \"b\"", 1), 0);
	assert_int_equal(csv_cell_str(&b, 0, NULL, 1), 0);
	assert_int_equal(csv_cell(&b, 0, "9x", 1, 0), 0);
	assert_int_equal(csv_row_end(&b), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);

	/* the row end fails cleanly too */
	buf_init(&b, 3);
	assert_int_equal(csv_cell_str(&b, 1, "ab", 0), 0);
	assert_int_equal(csv_row_end(&b), -1);
	assert_string_equal(buf_cstr(&b), "ab");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_buffer_full),
		cmocka_unit_test(test_cell_str_and_row_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
