/*
 * csv.h - RFC 4180 CSV cells and rows, safe to open in a spreadsheet.
 *
 * A cell is quoted when it holds a comma, a double quote, CR or LF (quotes doubled inside).  A
 * free-text cell (guard = 1) whose first byte is '=', '+', '-', '@', TAB or CR gets a leading
 * apostrophe so that spreadsheet programs show it as text instead of running it as a formula
 * (OWASP "CSV injection").  Rows end with CRLF.  Bytes are copied as they are (UTF-8 in, UTF-8 out).
 */
#ifndef GW_CSV_H
#define GW_CSV_H

#include <stddef.h>

#include "buf.h"

/* Appends one cell (a ',' first unless it is the row's first cell, i.e. `first` is non-zero).
 * NULL writes an empty cell.  0, or -1 when `out` is full. */
int csv_cell(struct buf *out, int first, const char *s, size_t len, int guard);

/* csv_cell() for a NUL-terminated string (or NULL). */
int csv_cell_str(struct buf *out, int first, const char *s, int guard);

/* Appends the row terminator "\r\n". */
int csv_row_end(struct buf *out);

#endif
