/*
 * reply_json.c - reply_format_json(), see reply.h.
 */
#include "reply.h"

#include <string.h>

#include "utf8.h"

/* Output that counts every byte and stores those that fit. */
struct out_buf {
	char *buf;
	size_t cap, len;
};

static void put(struct out_buf *o, const char *p, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - o->len;

		memcpy(o->buf + o->len, p, n < room ? n : room);
	}
	o->len += n;
}

static void put_str(struct out_buf *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_int(struct out_buf *o, int v)
{
	char digits[16];
	size_t i = sizeof(digits);
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--i] = '-';
	put(o, digits + i, sizeof(digits) - i);
}

/* Length of the UTF-8 sequence its lead byte announces, 0 for a byte that leads none. */
static size_t utf8_lead_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	return c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

/* The n bytes at p as the inside of a JSON string; invalid UTF-8 becomes U+FFFD. */
static void put_json_string(struct out_buf *o, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, run, k;

	while (i < n) {
		unsigned char c = u[i];

		for (run = i; run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
			      u[run] != '\\'; run++)
			;
		if (run > i) {
			put(o, p + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			put(o, esc, 2);
		} else if (c == '\n') {
			put_str(o, "\\n");
		} else if (c == '\r') {
			put_str(o, "\\r");
		} else if (c == '\t') {
			put_str(o, "\\t");
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			put(o, esc, 6);
		} else if ((k = utf8_lead_len(c)) && k <= n - i && utf8_valid(p + i, k)) {
			put(o, p + i, k);
			i += k;
			continue;
		} else {
			put_str(o, "\xef\xbf\xbd");
		}
		i++;
	}
}

size_t reply_format_json(const struct reply *r, char *buf, size_t cap)
{
	struct out_buf o = { buf, cap, 0 };

	put_str(&o, "{\"outcome\":\"");
	put_str(&o, reply_outcome_name(r->outcome));
	put_str(&o, "\"");
	if (r->outcome == REPLY_SCORE) {
		put_str(&o, ",\"score\":");
		put_int(&o, r->score);
		put_str(&o, ",\"comment\":\"");
		if (r->comment)
			put_json_string(&o, r->comment, r->comment_len);
		put_str(&o, "\"");
	} else if (r->outcome == REPLY_INVALID) {
		put_str(&o, ",\"reason\":\"");
		put_str(&o, reply_reason_name(r->reason));
		put_str(&o, "\"");
	}
	put_str(&o, "}");
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}
