/*
 * fuzz_reply.c - reply_parse() and reply_format_json() (survey/reply.h) on any bytes.
 *
 * The input is the customer's text, read as a reply to each kind in turn.  Checked for each:
 *   - the outcome and reason agree (a reason only for REPLY_INVALID), a score is inside the kind's
 *     scale, and a comment points into the input;
 *   - reply_format_json() writes nothing when cap is 0, returns the same length for every cap,
 *     and a short buffer holds a NUL-terminated prefix of what a large one holds;
 *   - when the object fits, jansson reads it back as exactly the reply: its outcome, reason,
 *     score, and the comment's very bytes when they are valid UTF-8 (NULs included).
 */
#include <jansson.h>

#include "fuzz.h"
#include "reply.h"
#include "utf8.h"

/* 1 when every NUL-free run of s[0, len) is valid UTF-8: then the JSON comment must give the
 * bytes back exactly (a NUL travels as \u0000). */
static int utf8_valid_with_nuls(const char *s, size_t len)
{
	while (len) {
		const char *nul = memchr(s, '\0', len);
		size_t run = nul ? (size_t)(nul - s) : len;

		if (run && !utf8_valid(s, run))
			return 0;
		if (!nul)
			break;
		s += run + 1;
		len -= run + 1;
	}
	return 1;
}

static void check_reply(enum survey_kind kind, const char *text, size_t len, const struct reply *r)
{
	switch (r->outcome) {
	case REPLY_SCORE:
		FUZZ_CHECK(r->reason == REASON_NONE);
		FUZZ_CHECK(r->score >= kind_min(kind) && r->score <= kind_max(kind));
		if (r->comment_len) {
			FUZZ_CHECK(r->comment >= text && r->comment_len <= len);
			FUZZ_CHECK((size_t)(r->comment - text) <= len - r->comment_len);
		}
		break;
	case REPLY_INVALID:
		FUZZ_CHECK(r->reason == REASON_OUT_OF_RANGE || r->reason == REASON_AMBIGUOUS ||
			   r->reason == REASON_NO_NUMBER || r->reason == REASON_NOT_INTEGER);
		break;
	case REPLY_OPT_OUT:
	case REPLY_OPT_IN:
		FUZZ_CHECK(r->reason == REASON_NONE);
		break;
	default:
		FUZZ_CHECK(!"outcome out of range");
	}
}

/* The JSON written for `r` (n bytes at js) read back with jansson. */
static void check_json(const struct reply *r, const char *js, size_t n)
{
	json_error_t jerr;
	json_t *root = json_loadb(js, n, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
	json_t *comment;

	if (!root)
		fprintf(stderr, "not JSON: %s: %.*s\n", jerr.text, (int)n, js);
	FUZZ_CHECK(json_is_object(root));
	FUZZ_CHECK(json_is_string(json_object_get(root, "outcome")));
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(root, "outcome")),
			  reply_outcome_name(r->outcome)) == 0);
	switch (r->outcome) {
	case REPLY_SCORE:
		FUZZ_CHECK(json_object_size(root) == 3);
		FUZZ_CHECK(json_integer_value(json_object_get(root, "score")) == r->score);
		comment = json_object_get(root, "comment");
		FUZZ_CHECK(json_is_string(comment));
		if (r->comment_len && utf8_valid_with_nuls(r->comment, r->comment_len)) {
			FUZZ_CHECK(json_string_length(comment) == r->comment_len);
			FUZZ_CHECK(memcmp(json_string_value(comment), r->comment, r->comment_len) == 0);
		} else if (!r->comment_len) {
			FUZZ_CHECK(json_string_length(comment) == 0);
		}
		break;
	case REPLY_INVALID:
		FUZZ_CHECK(json_object_size(root) == 2);
		FUZZ_CHECK(json_is_string(json_object_get(root, "reason")));
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(root, "reason")),
				  reply_reason_name(r->reason)) == 0);
		break;
	default:
		FUZZ_CHECK(json_object_size(root) == 1);
		break;
	}
	json_decref(root);
}

static void check_format(const struct reply *r, size_t text_len)
{
	/* Each comment byte becomes at most 6 (\u00XX); the rest is under 64. */
	size_t big_cap = 6 * text_len + 64, small_cap = text_len % 48 + 1, n, m;
	char *big = malloc(big_cap), *small = malloc(small_cap), sentinel[4] = "abc";

	FUZZ_CHECK(big && small);
	n = reply_format_json(r, big, big_cap);
	FUZZ_CHECK(n < big_cap);
	FUZZ_CHECK(big[n] == '\0');

	FUZZ_CHECK(reply_format_json(r, sentinel, 0) == n);
	FUZZ_CHECK(memcmp(sentinel, "abc", 4) == 0);

	m = reply_format_json(r, small, small_cap);
	FUZZ_CHECK(m == n);
	m = n < small_cap ? n : small_cap - 1;
	FUZZ_CHECK(small[m] == '\0');
	FUZZ_CHECK(memcmp(small, big, m) == 0);

	check_json(r, big, n);
	free(small);
	free(big);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size);

	for (int k = 0; k < KIND__COUNT; k++) {
		struct reply r;

		memset(&r, 0xa5, sizeof(r));
		reply_parse((enum survey_kind)k, text, size, &r);
		check_reply((enum survey_kind)k, text, size, &r);
		check_format(&r, size);
	}
	free(text);
	return 0;
}
