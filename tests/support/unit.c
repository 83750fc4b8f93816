/* unit.c - see unit.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

/* The whole fixture `name` as a malloc'd NUL-terminated string; its length in *len. */
char *fixture_read(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char path[512];
	FILE *f;
	long size;
	char *s;

	if (!dir || !*dir)
		dir = "tests/fixtures";
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	if (!(f = fopen(path, "rb")))
		fail_msg("%s: cannot open (set FIXTURES to the fixtures directory)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	s = malloc((size_t)size + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)size, f), (size_t)size);
	s[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return s;
}
