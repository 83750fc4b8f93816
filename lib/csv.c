/* csv.c - see csv.h. */
#include "csv.h"

#include <string.h>

/* Whether RFC 4180 requires the cell to be quoted. */
static int csv_needs_quotes(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return 1;
	return 0;
}

/* Whether a spreadsheet could read a cell starting with `c` as a formula (OWASP CSV injection). */
static int csv_is_formula_start(char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* Appends s[0, len) with every '"' doubled. */
static int csv_put_quoted_body(struct buf *out, const char *s, size_t len)
{
	const char *q;

	while ((q = memchr(s, '"', len))) {
		size_t n = (size_t)(q - s) + 1;    /* up to and including the quote */

		if (buf_append(out, s, n) < 0 || buf_putc(out, '"') < 0)
			return -1;
		s += n;
		len -= n;
	}
	return buf_append(out, s, len);
}

/*
 * Writes the separator, the optional opening quote, the guard apostrophe and the bytes.  The
 * pieces are appended one by one, so a failure part-way is undone by truncating back to the
 * length the buffer had on entry: the caller sees the buffer exactly as it was.
 */
int csv_cell(struct buf *out, int first, const char *s, size_t len, int guard)
{
	size_t mark = out->len;
	int quote, rc = -1;

	if (!s)
		len = 0;
	quote = len && csv_needs_quotes(s, len);
	if (!first && buf_putc(out, ',') < 0)
		goto out;
	if (quote && buf_putc(out, '"') < 0)
		goto out;
	if (guard && len && csv_is_formula_start(s[0]) && buf_putc(out, '\'') < 0)
		goto out;
	if (quote) {
		if (csv_put_quoted_body(out, s, len) < 0 || buf_putc(out, '"') < 0)
			goto out;
	} else if (len && buf_append(out, s, len) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && out->len != mark) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return rc;
}

int csv_cell_str(struct buf *out, int first, const char *s, int guard)
{
	return csv_cell(out, first, s, s ? strlen(s) : 0, guard);
}

int csv_row_end(struct buf *out)
{
	return buf_append(out, "\r\n", 2);
}
