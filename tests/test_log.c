/*
 * test_log.c - diagnostic lines are one line each, key=value, with the message quoted so that no
 * text (quotes, backslashes, newlines from a provider's error message) can break the line or
 * forge another key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* What log_msg() wrote to standard error for `msg`. */
static void logged(const char *level, const char *event, const char *msg, char *out, size_t n)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t got;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	log_msg(level, event, "%s", msg);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	got = fread(out, 1, n - 1, tmp);
	out[got] = '\0';
	fclose(tmp);
}

static void lines_are_key_value_with_the_message_escaped(void **state)
{
	static const struct { const char *msg, *want; } rows[] = {
		{ "recording message 12 failed: disk I/O error",
		  "level=error event=send_record msg=\"recording message 12 failed: disk I/O error\"\n" },
		{ "", "level=error event=send_record msg=\"\"\n" },
		{ "say \"hi\"", "level=error event=send_record msg=\"say \\\"hi\\\"\"\n" },
		{ "C:\\path", "level=error event=send_record msg=\"C:\\\\path\"\n" },
		{ "two\nlines level=ok", "level=error event=send_record msg=\"two\\x0alines level=ok\"\n" },
		{ "tab\there\r", "level=error event=send_record msg=\"tab\\x09here\\x0d\"\n" },
		{ "año ñ", "level=error event=send_record msg=\"año ñ\"\n" },
	};
	char out[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		logged("error", "send_record", rows[i].msg, out, sizeof(out));
		assert_string_equal(out, rows[i].want);
	}
}

static void a_huge_message_still_ends_its_line(void **state)
{
	char big[5000], out[8192];
	size_t len;

	(void)state;
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logged("warn", "x", big, out, sizeof(out));
	len = strlen(out);
	assert_true(len > 100);
	assert_int_equal(out[len - 1], '\n');
	assert_int_equal(out[len - 2], '"');
	assert_null(memchr(out, '\n', len - 1));
	assert_int_equal(strncmp(out, "level=warn event=x msg=\"\\\"", 26), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_are_key_value_with_the_message_escaped),
		cmocka_unit_test(a_huge_message_still_ends_its_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
