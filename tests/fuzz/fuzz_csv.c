/*
 * fuzz_csv.c - csv_cell() and csv_row_end() (lib/csv.h) on any cells, into a capped buffer.
 *
 * Input: one byte choosing the buffer's cap (0: 1 MiB, else 8 times the byte), then cells, each a
 * header byte and its bytes.  Header: bit 0 the formula guard, bit 1 a NULL cell, bits 2-7 the
 * length (63: the rest of the input).  The cells are appended as one row, each new cell `first`
 * until one has been written; a cell that does not fit is skipped.  Checked:
 *   - an append that fails leaves the buffer exactly as it was (length and content);
 *   - the row, read back by the strict RFC 4180 reader below, gives exactly the cells that were
 *     written, each as it was given, but for the apostrophe the guard puts before a cell starting
 *     with = + - @ TAB or CR;
 *   - the row ends with CRLF when csv_row_end() succeeds.
 */
#include <stdbool.h>

#include "buf.h"
#include "csv.h"
#include "fuzz.h"

#define MAX_CELLS 4096

struct cell {
	const char *s;          /* NULL: a NULL cell */
	size_t len;
	bool guard;
};

/* What the reader must give back for `c`. */
static bool cell_matches(const struct cell *c, const char *got, size_t got_len)
{
	size_t len = c->s ? c->len : 0;
	bool guarded = c->guard && len && strchr("=+-@\t\r", c->s[0]) && c->s[0] != '\0';

	if (guarded)
		return got_len == len + 1 && got[0] == '\'' && memcmp(got + 1, c->s, len) == 0;
	return got_len == len && (!len || memcmp(got, c->s, len) == 0);
}

/*
 * A strict RFC 4180 reader of one record in s[0, len) (the CRLF that ends it already removed):
 * a field is either bytes other than , " CR LF, or '"' ... '"' with "" for a quote inside and
 * nothing but ',' or the end after the closing quote.  Each field is decoded into `out` (room for
 * len bytes) and compared with cells[k].  Returns the number of fields, or -1 when the record is
 * malformed or a field differs from its cell.
 */
static long read_record(const char *s, size_t len, const struct cell *const *cells, size_t n,
			char *out)
{
	size_t i = 0, k = 0, o;

	for (;;) {
		o = 0;
		if (i < len && s[i] == '"') {
			for (i++;; i++) {
				if (i >= len)
					return -1;              /* unterminated quote */
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						out[o++] = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				out[o++] = s[i];
			}
			if (i < len && s[i] != ',')
				return -1;              /* bytes after the closing quote */
		} else {
			for (; i < len && s[i] != ','; i++) {
				if (s[i] == '"' || s[i] == '\r' || s[i] == '\n')
					return -1;      /* must have been quoted */
				out[o++] = s[i];
			}
		}
		if (k >= n || !cell_matches(cells[k], out, o))
			return -1;
		k++;
		if (i >= len)
			return (long)k;
		i++;                                    /* the ',' */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cell cells[MAX_CELLS];
	static const struct cell *written[MAX_CELLS];
	char *in = fuzz_copy(data, size), *before, *decoded;
	size_t pos = 1, n = 0, n_written = 0, cap;
	struct buf out;
	int ended;

	if (!size) {
		free(in);
		return 0;
	}
	cap = data[0] ? (size_t)data[0] * 8 : 1024 * 1024;
	while (pos < size && n < MAX_CELLS) {
		uint8_t h = (uint8_t)in[pos++];
		size_t len = h >> 2;

		if (len == 63 || len > size - pos)
			len = size - pos;
		cells[n].s = h & 2 ? NULL : in + pos;
		cells[n].len = len;
		cells[n].guard = h & 1;
		n++;
		pos += len;
	}

	buf_init(&out, cap);
	FUZZ_CHECK(buf_putc(&out, 'x') == 0 || cap <= 1);
	before = malloc(cap + 1);
	FUZZ_CHECK(before);
	for (size_t i = 0; i < n; i++) {
		size_t mark = out.len;

		if (out.data)
			memcpy(before, out.data, mark + 1);
		if (csv_cell(&out, n_written == 0, cells[i].s, cells[i].len, cells[i].guard) == 0) {
			written[n_written++] = &cells[i];
		} else {
			FUZZ_CHECK(out.len == mark);
			FUZZ_CHECK(!out.data || memcmp(before, out.data, mark + 1) == 0);
		}
	}
	ended = csv_row_end(&out) == 0;

	/* The leading 'x' keeps the buffer allocated and is not part of the row. */
	if (out.len) {
		const char *row = out.data + 1;
		size_t row_len = out.len - 1;

		if (ended) {
			FUZZ_CHECK(row_len >= 2 && row[row_len - 2] == '\r' && row[row_len - 1] == '\n');
			row_len -= 2;
		}
		decoded = malloc(row_len + 1);
		FUZZ_CHECK(decoded);
		/* A row of no cells is empty and reads as one empty field: only when nothing fit. */
		if (n_written)
			FUZZ_CHECK(read_record(row, row_len, written, n_written, decoded) ==
				   (long)n_written);
		else
			FUZZ_CHECK(row_len == 0);
		free(decoded);
	}
	free(before);
	buf_release(&out);
	free(in);
	return 0;
}
