/*
 * test_texts.c - what customers read (gateway/texts.h).
 *
 * Every locale x kind question names the brand, the customer and both ends of the scale; an empty
 * or missing name drops the placeholder with the separator before it; unknown locales read as
 * Spanish; thanks and re-prompts exist in every locale; no placeholder survives rendering; and a
 * buffer too small for the text makes texts_render() fail with -1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "survey.h"
#include "texts.h"
#include "utf8.h"

#define BIG 4096

static const char *const locales[] = { "es", "pt", "en" };
static const enum survey_kind kinds[] = { KIND_NPS, KIND_CES, KIND_CSAT };
static const char *const text_names[TEXT__COUNT] = { "question", "thanks", "re-prompt" };

/* Renders into a fresh buffer capped at `cap`; returns texts_render()'s result. */
static int render(struct buf *b, size_t cap, const char *locale, enum text_id id,
		  enum survey_kind kind, const char *name, const char *brand)
{
	struct text_vars v = { .name = name, .brand = brand, .kind = kind };

	buf_init(b, cap);
	return texts_render(b, locale, id, &v);
}

static void assert_contains(const char *text, const char *want, const char *what)
{
	if (!strstr(text, want))
		print_message("%s: \"%s\" does not contain \"%s\"\n", what, text, want);
	assert_non_null(strstr(text, want));
}

static void assert_lacks(const char *text, const char *unwanted, const char *what)
{
	if (strstr(text, unwanted))
		print_message("%s: \"%s\" contains \"%s\"\n", what, text, unwanted);
	assert_null(strstr(text, unwanted));
}

static void assert_starts_with(const char *text, const char *prefix, const char *what)
{
	if (strncmp(text, prefix, strlen(prefix)) != 0)
		print_message("%s: \"%s\" does not start with \"%s\"\n", what, text, prefix);
	assert_int_equal(strncmp(text, prefix, strlen(prefix)), 0);
}

/* ---- questions -------------------------------------------------------------------------- */

struct question_row {
	const char *locale;
	enum survey_kind kind;
	const char *low, *high;         /* the scale's ends, as written before their labels */
	const char *greeting;           /* the start, with name "Ana" */
	const char *greeting_no_name;   /* the start, without a name */
};

static const struct question_row question_rows[] = {
	{ "es", KIND_NPS, " 0 (", " 10 (", "Hola Ana, \xC2\xBFqu\xC3\xA9", "Hola, \xC2\xBFqu\xC3\xA9" },
	{ "es", KIND_CES, " 1 (", " 7 (", "Hola Ana, \xC2\xBFqu\xC3\xA9", "Hola, \xC2\xBFqu\xC3\xA9" },
	{ "es", KIND_CSAT, " 1 (", " 5 (", "Hola Ana, \xC2\xBFqu\xC3\xA9", "Hola, \xC2\xBFqu\xC3\xA9" },
	{ "pt", KIND_NPS, " 0 (", " 10 (", "Ol\xC3\xA1 Ana, qual", "Ol\xC3\xA1, qual" },
	{ "pt", KIND_CES, " 1 (", " 7 (", "Ol\xC3\xA1 Ana, qu\xC3\xA3o", "Ol\xC3\xA1, qu\xC3\xA3o" },
	{ "pt", KIND_CSAT, " 1 (", " 5 (", "Ol\xC3\xA1 Ana, qual", "Ol\xC3\xA1, qual" },
	{ "en", KIND_NPS, " 0 (", " 10 (", "Hi Ana, how", "Hi, how" },
	{ "en", KIND_CES, " 1 (", " 7 (", "Hi Ana, how", "Hi, how" },
	{ "en", KIND_CSAT, " 1 (", " 5 (", "Hi Ana, how", "Hi, how" },
};

#define N_QUESTIONS (sizeof(question_rows) / sizeof(question_rows[0]))

static void test_question_names_brand_name_and_scale(void **state)
{
	for (size_t i = 0; i < N_QUESTIONS; i++) {
		const struct question_row *r = &question_rows[i];
		struct buf b;
		char what[64];
		const char *t;

		snprintf(what, sizeof(what), "%s %s question", r->locale, kind_name(r->kind));
		assert_int_equal(render(&b, BIG, r->locale, TEXT_QUESTION, r->kind, "Ana", "Acme Telecom"),
				 0);
		t = buf_cstr(&b);
		assert_starts_with(t, r->greeting, what);
		assert_contains(t, "Acme Telecom", what);
		assert_contains(t, r->low, what);
		assert_contains(t, r->high, what);
		assert_lacks(t, "{", what);
		assert_lacks(t, "}", what);
		assert_int_equal(utf8_valid(t, b.len), 1);
		buf_release(&b);
	}
}

/* "Hola {name}, ¿qué..." with no name reads "Hola, ¿qué...", never "Hola , " or "Hola {name}". */
static void test_question_without_name_drops_placeholder_and_separator(void **state)
{
	static const char *const no_names[] = { "", NULL };

	for (size_t i = 0; i < N_QUESTIONS; i++) {
		const struct question_row *r = &question_rows[i];

		for (size_t n = 0; n < 2; n++) {
			struct buf b;
			char what[64];
			const char *t;

			snprintf(what, sizeof(what), "%s %s question, name %s", r->locale,
				 kind_name(r->kind), no_names[n] ? "\"\"" : "NULL");
			assert_int_equal(render(&b, BIG, r->locale, TEXT_QUESTION, r->kind, no_names[n],
						"Acme"), 0);
			t = buf_cstr(&b);
			assert_starts_with(t, r->greeting_no_name, what);
			assert_lacks(t, " ,", what);
			assert_lacks(t, "  ", what);
			assert_lacks(t, "{", what);
			assert_lacks(t, "(null)", what);
			assert_contains(t, "Acme", what);
			assert_contains(t, r->low, what);
			assert_contains(t, r->high, what);
			buf_release(&b);
		}
	}
}

/* ---- locales ---------------------------------------------------------------------------- */

/* Any locale other than es, pt and en renders exactly as es. */
static void test_unknown_locale_reads_as_spanish(void **state)
{
	static const char *const others[] = { "fr", "de", "", "xx", NULL };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (int id = 0; id < TEXT__COUNT; id++) {
			struct buf es;

			assert_int_equal(render(&es, BIG, "es", (enum text_id)id, kinds[k], "Ana", "Acme"),
					 0);
			for (size_t l = 0; l < sizeof(others) / sizeof(others[0]); l++) {
				struct buf b;

				assert_int_equal(render(&b, BIG, others[l], (enum text_id)id, kinds[k], "Ana",
							"Acme"), 0);
				assert_string_equal(buf_cstr(&b), buf_cstr(&es));
				buf_release(&b);
			}
			buf_release(&es);
		}
	}
}

/* The three locales really are three languages: no two render the same question. */
static void test_locales_differ(void **state)
{
	for (int id = 0; id < TEXT__COUNT; id++) {
		struct buf es, pt, en;

		assert_int_equal(render(&es, BIG, "es", (enum text_id)id, KIND_NPS, "Ana", "Acme"), 0);
		assert_int_equal(render(&pt, BIG, "pt", (enum text_id)id, KIND_NPS, "Ana", "Acme"), 0);
		assert_int_equal(render(&en, BIG, "en", (enum text_id)id, KIND_NPS, "Ana", "Acme"), 0);
		assert_string_not_equal(buf_cstr(&es), buf_cstr(&pt));
		assert_string_not_equal(buf_cstr(&es), buf_cstr(&en));
		assert_string_not_equal(buf_cstr(&pt), buf_cstr(&en));
		buf_release(&es);
		buf_release(&pt);
		buf_release(&en);
	}
}

/* ---- thanks ----------------------------------------------------------------------------- */

struct thanks_row {
	const char *locale;
	const char *name;
	const char *want;
};

static const struct thanks_row thanks_rows[] = {
	{ "es", "Ana", "\xC2\xA1Gracias por tu respuesta, Ana!" },
	{ "es", "", "\xC2\xA1Gracias por tu respuesta!" },
	{ "es", NULL, "\xC2\xA1Gracias por tu respuesta!" },
	{ "pt", "Jo\xC3\xA3o", "Obrigado pela sua resposta, Jo\xC3\xA3o!" },
	{ "pt", "", "Obrigado pela sua resposta!" },
	{ "pt", NULL, "Obrigado pela sua resposta!" },
	{ "en", "Ann", "Thank you for your answer, Ann!" },
	{ "en", "", "Thank you for your answer!" },
	{ "en", NULL, "Thank you for your answer!" },
};

static void test_thanks(void **state)
{
	for (size_t i = 0; i < sizeof(thanks_rows) / sizeof(thanks_rows[0]); i++) {
		const struct thanks_row *r = &thanks_rows[i];

		/* the same for every kind */
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			struct buf b;

			assert_int_equal(render(&b, BIG, r->locale, TEXT_THANKS, kinds[k], r->name, "Acme"),
					 0);
			if (strcmp(buf_cstr(&b), r->want) != 0)
				print_message("thanks row %zu: \"%s\", want \"%s\"\n", i, buf_cstr(&b),
					      r->want);
			assert_string_equal(buf_cstr(&b), r->want);
			buf_release(&b);
		}
	}
}

/* ---- re-prompt -------------------------------------------------------------------------- */

struct reprompt_row {
	const char *locale;
	enum survey_kind kind;
	const char *range;      /* how the text names min and max */
};

static const struct reprompt_row reprompt_rows[] = {
	{ "es", KIND_NPS, "del 0 al 10" },
	{ "es", KIND_CES, "del 1 al 7" },
	{ "es", KIND_CSAT, "del 1 al 5" },
	{ "pt", KIND_NPS, "de 0 a 10" },
	{ "pt", KIND_CES, "de 1 a 7" },
	{ "pt", KIND_CSAT, "de 1 a 5" },
	{ "en", KIND_NPS, "from 0 to 10" },
	{ "en", KIND_CES, "from 1 to 7" },
	{ "en", KIND_CSAT, "from 1 to 5" },
};

static void test_reprompt_names_min_and_max(void **state)
{
	for (size_t i = 0; i < sizeof(reprompt_rows) / sizeof(reprompt_rows[0]); i++) {
		const struct reprompt_row *r = &reprompt_rows[i];
		struct buf b;
		char what[64];

		snprintf(what, sizeof(what), "%s %s re-prompt", r->locale, kind_name(r->kind));
		assert_int_equal(render(&b, BIG, r->locale, TEXT_REPROMPT, r->kind, "Ana", "Acme"), 0);
		assert_contains(buf_cstr(&b), r->range, what);
		assert_lacks(buf_cstr(&b), "{", what);
		assert_int_equal(utf8_valid(buf_cstr(&b), b.len), 1);
		buf_release(&b);
	}
}

/* ---- templates and placeholders --------------------------------------------------------- */

static void test_templates_carry_their_placeholders(void **state)
{
	for (size_t l = 0; l < sizeof(locales) / sizeof(locales[0]); l++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			const char *q = texts_template(locales[l], TEXT_QUESTION, kinds[k]);
			const char *t = texts_template(locales[l], TEXT_THANKS, kinds[k]);
			const char *r = texts_template(locales[l], TEXT_REPROMPT, kinds[k]);

			assert_non_null(q);
			assert_non_null(t);
			assert_non_null(r);
			assert_non_null(strstr(q, "{name}"));
			assert_non_null(strstr(q, "{brand}"));
			assert_non_null(strstr(t, "{name}"));
			assert_non_null(strstr(r, "{min}"));
			assert_non_null(strstr(r, "{max}"));
		}
	}
}

/* No template leaves a placeholder behind, whatever the locale, kind and name. */
static void test_no_placeholder_survives(void **state)
{
	static const char *const names[] = { "Ana", "", NULL };

	for (size_t l = 0; l < sizeof(locales) / sizeof(locales[0]); l++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			for (int id = 0; id < TEXT__COUNT; id++)
				for (size_t n = 0; n < 3; n++) {
					struct buf b;

					assert_int_equal(render(&b, BIG, locales[l], (enum text_id)id, kinds[k],
								names[n], "Acme"), 0);
					assert_null(strchr(buf_cstr(&b), '{'));
					assert_null(strchr(buf_cstr(&b), '}'));
					assert_true(b.len > 0);
					buf_release(&b);
				}
}

/* The customer's name is inserted as it is, never read as a template itself. */
static void test_name_is_not_expanded(void **state)
{
	struct buf b;

	assert_int_equal(render(&b, BIG, "en", TEXT_QUESTION, KIND_NPS, "{brand} {min}", "Acme"), 0);
	assert_starts_with(buf_cstr(&b), "Hi {brand} {min}, how", "name with braces");
	buf_release(&b);
}

/* ---- a full buffer ---------------------------------------------------------------------- */

/*
 * For every text, with and without a name: every cap smaller than the rendered length + 1 fails
 * with -1 (the cap counts the NUL), leaving no more than the cap allows.  With a name, a cap of
 * exactly length + 1 renders the text.
 */
static void test_full_buffer_fails(void **state)
{
	static const char *const names[] = { "Ana", "" };

	for (size_t l = 0; l < sizeof(locales) / sizeof(locales[0]); l++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			for (int id = 0; id < TEXT__COUNT; id++)
				for (size_t n = 0; n < 2; n++) {
					struct buf full, b;
					size_t need;

					assert_int_equal(render(&full, BIG, locales[l], (enum text_id)id, kinds[k],
								names[n], "Acme"), 0);
					need = full.len;
					for (size_t cap = 1; cap <= need; cap++) {
						if (render(&b, cap, locales[l], (enum text_id)id, kinds[k], names[n],
							   "Acme") != -1)
							fail_msg("%s %s %s fit in cap %zu but needs %zu bytes",
								 locales[l], kind_name(kinds[k]), text_names[id], cap, need);
						assert_true(b.len < cap);
						buf_release(&b);
					}
					if (*names[n]) {
						assert_int_equal(render(&b, need + 1, locales[l], (enum text_id)id,
									kinds[k], names[n], "Acme"), 0);
						assert_string_equal(buf_cstr(&b), buf_cstr(&full));
						buf_release(&b);
					}
					buf_release(&full);
				}
}

/*
 * Without a name the text is shorter (the placeholder and its separator are dropped), and it too
 * renders into a cap of exactly its length + 1: -1 means "out is full", and this text fits.
 */
static void test_text_without_name_fits_exactly(void **state)
{
	for (size_t l = 0; l < sizeof(locales) / sizeof(locales[0]); l++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			for (int id = 0; id < TEXT__COUNT; id++) {
				struct buf full, b;
				size_t need;
				int rc, same;

				assert_int_equal(render(&full, BIG, locales[l], (enum text_id)id, kinds[k], "",
							"Acme"), 0);
				need = full.len;
				rc = render(&b, need + 1, locales[l], (enum text_id)id, kinds[k], "", "Acme");
				same = strcmp(buf_cstr(&b), buf_cstr(&full)) == 0;
				buf_release(&b);
				buf_release(&full);
				if (rc != 0)
					fail_msg("%s %s %s without a name: %zu bytes, cap %zu, rc %d", locales[l],
						 kind_name(kinds[k]), text_names[id], need, need + 1, rc);
				assert_true(same);
			}
}

/* A long name or brand that does not fit fails too, rather than being cut. */
static void test_long_name_fails(void **state)
{
	char name[300];
	struct buf b;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(render(&b, 256, "es", TEXT_THANKS, KIND_NPS, name, "Acme"), -1);
	buf_release(&b);
	assert_int_equal(render(&b, 256, "es", TEXT_QUESTION, KIND_NPS, "Ana", name), -1);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_question_names_brand_name_and_scale),
		cmocka_unit_test(test_question_without_name_drops_placeholder_and_separator),
		cmocka_unit_test(test_unknown_locale_reads_as_spanish),
		cmocka_unit_test(test_locales_differ),
		cmocka_unit_test(test_thanks),
		cmocka_unit_test(test_reprompt_names_min_and_max),
		cmocka_unit_test(test_templates_carry_their_placeholders),
		cmocka_unit_test(test_no_placeholder_survives),
		cmocka_unit_test(test_name_is_not_expanded),
		cmocka_unit_test(test_full_buffer_fails),
		cmocka_unit_test(test_text_without_name_fits_exactly),
		cmocka_unit_test(test_long_name_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
