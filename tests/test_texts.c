/*
 * test_texts.c - what customers read (survey/texts.h).
 *
 * Built-ins (t == NULL, or a `struct texts` from a config without [templates.*]): every locale x
 * kind question names the brand, the customer and both ends of the scale; an empty or missing
 * name drops the placeholder with the separator before it; unknown locales read as Spanish; every
 * text exists in every locale; no placeholder survives rendering; a buffer too small for the text
 * makes texts_render() fail with -1 and one of exactly the right size works; the opt-out and
 * opt-in confirmations name a word the reply parser reads the other way round.
 *
 * Overrides: a temp INI file loaded with config_load(); an override replaces only its locale and
 * key, takes the same placeholders, and an empty value keeps the built-in.
 *
 * One SMS segment: every built-in is GSM-7 as written and one segment with a long name and brand.
 *
 * texts_compose(): for SMS the [sms] encoding replacements, the customer's name included; for
 * WhatsApp, and under encoding = unicode, the text as rendered.
 *
 * texts_warn_segments(): one line per long override, one summary line for the built-ins a long
 * brand makes long, nothing for short texts; texts are counted as they are sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "provider.h"
#include "reply.h"
#include "sms.h"
#include "vocab.h"
#include "texts.h"
#include "utf8.h"

#define BIG 4096
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const locales[] = { "es", "pt", "en" };
static const enum survey_kind kinds[] = { KIND_NPS, KIND_CES, KIND_CSAT };

/* Renders text `id` of `t` into a fresh buffer capped at `cap`; returns texts_render()'s result. */
static int render_t(const struct texts *t, struct buf *b, size_t cap, const char *locale,
		    enum text_id id, enum survey_kind kind, const char *name, const char *brand)
{
	struct text_vars v = { .name = name, .brand = brand, .kind = kind };

	buf_init(b, cap);
	return texts_render(t, b, locale, id, &v);
}

/* The same with the built-ins. */
static int render(struct buf *b, size_t cap, const char *locale, enum text_id id,
		  enum survey_kind kind, const char *name, const char *brand)
{
	return render_t(NULL, b, cap, locale, id, kind, name, brand);
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

/* ---- a config file with [templates.*] ---------------------------------------------------- */

/* Writes `ini` to a temp file, loads it, and builds texts from it.  The config is released
 * before returning: the texts must hold copies. */
static struct texts *texts_from_ini(const char *ini)
{
	char path[] = "/tmp/test_texts_XXXXXX";
	struct gw_err err = { 0 };
	struct config cfg;
	struct texts *t;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	assert_int_equal(close(fd), 0);
	memset(&cfg, 0, sizeof(cfg));
	if (provider_config_load(&cfg, path, &err) != 0) {
		unlink(path);
		fail_msg("config_load: %s", err.msg);
	}
	unlink(path);
	t = texts_create(&cfg, &err);
	config_release(&cfg);
	if (!t)
		fail_msg("texts_create: %s", err.msg);
	return t;
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
	{ "pt", KIND_NPS, " 0 (", " 10 (", "Oi Ana, qual", "Oi, qual" },
	{ "pt", KIND_CES, " 1 (", " 7 (", "Oi Ana, foi", "Oi, foi" },
	{ "pt", KIND_CSAT, " 1 (", " 5 (", "Oi Ana, ficou", "Oi, ficou" },
	{ "en", KIND_NPS, " 0 (", " 10 (", "Hi Ana, how", "Hi, how" },
	{ "en", KIND_CES, " 1 (", " 7 (", "Hi Ana, how", "Hi, how" },
	{ "en", KIND_CSAT, " 1 (", " 5 (", "Hi Ana, how", "Hi, how" },
};

static void test_text_question_maps_kinds(void **state)
{
	assert_int_equal(text_question(KIND_NPS), TEXT_NPS);
	assert_int_equal(text_question(KIND_CES), TEXT_CES);
	assert_int_equal(text_question(KIND_CSAT), TEXT_CSAT);
}

static void test_question_names_brand_name_and_scale(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(question_rows); i++) {
		const struct question_row *r = &question_rows[i];
		struct buf b;
		char what[64];
		const char *t;

		snprintf(what, sizeof(what), "%s %s question", r->locale, kind_name(r->kind));
		assert_int_equal(render(&b, BIG, r->locale, text_question(r->kind), r->kind, "Ana",
					"Acme Telecom"), 0);
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

	for (size_t i = 0; i < ARRAY_LEN(question_rows); i++) {
		const struct question_row *r = &question_rows[i];

		for (size_t n = 0; n < 2; n++) {
			struct buf b;
			char what[64];
			const char *t;

			snprintf(what, sizeof(what), "%s %s question, name %s", r->locale,
				 kind_name(r->kind), no_names[n] ? "\"\"" : "NULL");
			assert_int_equal(render(&b, BIG, r->locale, text_question(r->kind), r->kind,
						no_names[n], "Acme"), 0);
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

/* Any locale other than es, pt and en renders exactly as es, for every text. */
static void test_unknown_locale_reads_as_spanish(void **state)
{
	static const char *const others[] = { "fr", "de", "", "xx", "ES", "es-MX", NULL };

	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		for (int id = 0; id < TEXT__COUNT; id++) {
			struct buf es;

			assert_int_equal(render(&es, BIG, "es", (enum text_id)id, kinds[k], "Ana", "Acme"),
					 0);
			for (size_t l = 0; l < ARRAY_LEN(others); l++) {
				struct buf b;

				assert_int_equal(render(&b, BIG, others[l], (enum text_id)id, kinds[k], "Ana",
							"Acme"), 0);
				assert_string_equal(buf_cstr(&b), buf_cstr(&es));
				buf_release(&b);
				assert_string_equal(texts_template(NULL, others[l], (enum text_id)id),
						    texts_template(NULL, "es", (enum text_id)id));
			}
			buf_release(&es);
		}
	}
}

/* The three locales really are three languages: no two render the same text. */
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

/* ---- thanks, follow-up, opt-out, opt-in ------------------------------------------------- */

struct exact_row {
	const char *locale;
	enum text_id id;
	const char *name;
	const char *want;       /* brand "Acme" */
};

static const struct exact_row exact_rows[] = {
	{ "es", TEXT_THANKS, "Ana", "\xC2\xA1Gracias por tu respuesta, Ana!" },
	{ "es", TEXT_THANKS, "", "\xC2\xA1Gracias por tu respuesta!" },
	{ "es", TEXT_THANKS, NULL, "\xC2\xA1Gracias por tu respuesta!" },
	{ "pt", TEXT_THANKS, "Jo\xC3\xA3o", "Obrigado pela sua resposta, Jo\xC3\xA3o!" },
	{ "pt", TEXT_THANKS, "", "Obrigado pela sua resposta!" },
	{ "pt", TEXT_THANKS, NULL, "Obrigado pela sua resposta!" },
	{ "en", TEXT_THANKS, "Ann", "Thank you for your answer, Ann!" },
	{ "en", TEXT_THANKS, "", "Thank you for your answer!" },
	{ "en", TEXT_THANKS, NULL, "Thank you for your answer!" },

	{ "es", TEXT_FOLLOW_UP, "Ana", "\xC2\xA1Gracias, Ana! \xC2\xBFNos cuentas el motivo de tu nota?" },
	{ "es", TEXT_FOLLOW_UP, "", "\xC2\xA1Gracias! \xC2\xBFNos cuentas el motivo de tu nota?" },
	{ "es", TEXT_FOLLOW_UP, NULL, "\xC2\xA1Gracias! \xC2\xBFNos cuentas el motivo de tu nota?" },
	{ "pt", TEXT_FOLLOW_UP, "Jo\xC3\xA3o",
	  "Obrigado, Jo\xC3\xA3o! Qual o principal motivo da sua nota?" },
	{ "pt", TEXT_FOLLOW_UP, "", "Obrigado! Qual o principal motivo da sua nota?" },
	{ "pt", TEXT_FOLLOW_UP, NULL, "Obrigado! Qual o principal motivo da sua nota?" },
	{ "en", TEXT_FOLLOW_UP, "Ann", "Thank you, Ann! What is the main reason for your score?" },
	{ "en", TEXT_FOLLOW_UP, "", "Thank you! What is the main reason for your score?" },
	{ "en", TEXT_FOLLOW_UP, NULL, "Thank you! What is the main reason for your score?" },

	{ "es", TEXT_OPT_OUT, "Ana", "Listo, ya no te enviaremos encuestas de Acme. Si cambias de idea,"
	  " responde ALTA." },
	{ "es", TEXT_OPT_OUT, NULL, "Listo, ya no te enviaremos encuestas de Acme. Si cambias de idea,"
	  " responde ALTA." },
	{ "pt", TEXT_OPT_OUT, "Jo\xC3\xA3o", "Pronto, deixaremos de enviar pesquisas da Acme. Se mudar"
	  " de ideia, responda START." },
	{ "en", TEXT_OPT_OUT, "Ann", "Done: you will get no more surveys from Acme. Reply START to opt"
	  " back in." },
	{ "es", TEXT_OPT_IN, "Ana", "Listo, te volveremos a enviar encuestas de Acme. Responde BAJA"
	  " para dejar de recibirlas." },
	{ "pt", TEXT_OPT_IN, "", "Pronto, voltaremos a enviar pesquisas da Acme. Se quiser parar,"
	  " responda SAIR." },
	{ "en", TEXT_OPT_IN, NULL, "Done: you will get surveys from Acme again. Reply STOP to opt"
	  " out." },
};

/* The same for every kind: only re-prompts and questions name the scale. */
static void test_exact_texts(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(exact_rows); i++) {
		const struct exact_row *r = &exact_rows[i];

		for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
			struct buf b;

			assert_int_equal(render(&b, BIG, r->locale, r->id, kinds[k], r->name, "Acme"), 0);
			if (strcmp(buf_cstr(&b), r->want) != 0)
				print_message("row %zu (%s %s): \"%s\", want \"%s\"\n", i, r->locale,
					      config_template_keys[r->id], buf_cstr(&b), r->want);
			assert_string_equal(buf_cstr(&b), r->want);
			buf_release(&b);
		}
	}
}

/*
 * The opt-out confirmation tells the customer which word opts back in, and the opt-in
 * confirmation which word opts out: every upper-case word of 3+ letters in them must be read by
 * reply_parse() as that, or the customer is told to send a word the gateway ignores.
 */
static void test_opt_texts_name_words_the_parser_knows(void **state)
{
	for (size_t l = 0; l < ARRAY_LEN(locales); l++) {
		for (int which = 0; which < 2; which++) {
			enum text_id id = which ? TEXT_OPT_IN : TEXT_OPT_OUT;
			enum reply_outcome want = which ? REPLY_OPT_OUT : REPLY_OPT_IN;
			struct buf b;
			const char *p;
			int words = 0;

			assert_int_equal(render(&b, BIG, locales[l], id, KIND_NPS, "Ana", "Acme"), 0);
			for (p = buf_cstr(&b); *p; ) {
				size_t n = 0;

				while (isupper((unsigned char)p[n]))
					n++;
				if (n >= 3 && !isalpha((unsigned char)p[n]) &&
				    (p == buf_cstr(&b) || !isalpha((unsigned char)p[-1]))) {
					struct reply r;

					reply_parse(KIND_NPS, p, n, &r);
					if (r.outcome != want)
						print_message("%s %s: \"%.*s\" reads as %s\n", locales[l],
							      config_template_keys[id], (int)n, p,
							      reply_outcome_name(r.outcome));
					assert_int_equal(r.outcome, want);
					words++;
				}
				p += n ? n : 1;
			}
			if (!words)
				print_message("%s %s names no keyword: \"%s\"\n", locales[l],
					      config_template_keys[id], buf_cstr(&b));
			assert_true(words >= 1);
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
	for (size_t i = 0; i < ARRAY_LEN(reprompt_rows); i++) {
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

/* Which placeholders each built-in carries. */
static const struct {
	enum text_id id;
	const char *need[3];
} placeholder_rows[] = {
	{ TEXT_NPS, { "{name}", "{brand}" } },
	{ TEXT_CES, { "{name}", "{brand}" } },
	{ TEXT_CSAT, { "{name}", "{brand}" } },
	{ TEXT_THANKS, { "{name}" } },
	{ TEXT_FOLLOW_UP, { "{name}" } },
	{ TEXT_REPROMPT, { "{min}", "{max}" } },
	{ TEXT_OPT_OUT, { "{brand}" } },
	{ TEXT_OPT_IN, { "{brand}" } },
};

static void test_templates_carry_their_placeholders(void **state)
{
	assert_int_equal(ARRAY_LEN(placeholder_rows), TEXT__COUNT);
	for (size_t l = 0; l < ARRAY_LEN(locales); l++) {
		for (size_t i = 0; i < ARRAY_LEN(placeholder_rows); i++) {
			const char *t = texts_template(NULL, locales[l], placeholder_rows[i].id);

			assert_non_null(t);
			assert_true(utf8_valid(t, strlen(t)));
			for (size_t p = 0; placeholder_rows[i].need[p]; p++) {
				if (!strstr(t, placeholder_rows[i].need[p]))
					print_message("%s.%s lacks %s: \"%s\"\n", locales[l],
						      config_template_keys[placeholder_rows[i].id],
						      placeholder_rows[i].need[p], t);
				assert_non_null(strstr(t, placeholder_rows[i].need[p]));
			}
		}
	}
}

/* No template leaves a placeholder behind, whatever the locale, kind and name. */
static void test_no_placeholder_survives(void **state)
{
	static const char *const names[] = { "Ana", "", NULL };

	for (size_t l = 0; l < ARRAY_LEN(locales); l++)
		for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
			for (int id = 0; id < TEXT__COUNT; id++)
				for (size_t n = 0; n < ARRAY_LEN(names); n++) {
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

	assert_int_equal(render(&b, BIG, "en", TEXT_NPS, KIND_NPS, "{brand} {min}", "Acme"), 0);
	assert_starts_with(buf_cstr(&b), "Hi {brand} {min}, how", "name with braces");
	buf_release(&b);
}

/* A config without [templates.*] gives exactly the built-ins. */
static void test_texts_without_overrides_are_the_builtins(void **state)
{
	struct texts *t = texts_from_ini("[survey]\nbrand = Acme\n");

	for (size_t l = 0; l < ARRAY_LEN(locales); l++)
		for (int id = 0; id < TEXT__COUNT; id++) {
			struct buf a, b;

			assert_string_equal(texts_template(t, locales[l], (enum text_id)id),
					    texts_template(NULL, locales[l], (enum text_id)id));
			assert_int_equal(render_t(t, &a, BIG, locales[l], (enum text_id)id, KIND_CES,
						  "Ana", "Acme"), 0);
			assert_int_equal(render(&b, BIG, locales[l], (enum text_id)id, KIND_CES, "Ana",
						"Acme"), 0);
			assert_string_equal(buf_cstr(&a), buf_cstr(&b));
			buf_release(&a);
			buf_release(&b);
		}
	texts_free(t);
	texts_free(NULL);       /* freeing nothing is allowed */
}

/* ---- overrides ---------------------------------------------------------------------------- */

static const char override_ini[] =
	"[survey]\n"
	"brand = Acme\n"
	"[templates.pt]\n"
	"nps = Oi {name}! De {min} a {max}, indicaria a {brand}?\n"
	"thanks =\n"
	"[templates.en]\n"
	"opt_out = Bye from {brand}, {name}.\n"
	"reprompt = Just {min}-{max}, {name}\n"
	"[templates.es]\n"
	"follow_up = \xC2\xBFPor qu\xC3\xA9, {name}?\n";

/* The (locale, id) pairs override_ini overrides, with their templates. */
static const struct {
	const char *locale;
	enum text_id id;
	const char *tmpl;
} overridden[] = {
	{ "pt", TEXT_NPS, "Oi {name}! De {min} a {max}, indicaria a {brand}?" },
	{ "en", TEXT_OPT_OUT, "Bye from {brand}, {name}." },
	{ "en", TEXT_REPROMPT, "Just {min}-{max}, {name}" },
	{ "es", TEXT_FOLLOW_UP, "\xC2\xBFPor qu\xC3\xA9, {name}?" },
};

static const char *override_of(const char *locale, enum text_id id)
{
	for (size_t i = 0; i < ARRAY_LEN(overridden); i++)
		if (strcmp(overridden[i].locale, locale) == 0 && overridden[i].id == id)
			return overridden[i].tmpl;
	return NULL;
}

/* Each override replaces its own locale and key; every other text stays the built-in, and an
 * empty value (pt thanks) keeps the built-in too. */
static void test_override_replaces_only_its_locale_and_key(void **state)
{
	struct texts *t = texts_from_ini(override_ini);

	for (size_t l = 0; l < ARRAY_LEN(locales); l++)
		for (int id = 0; id < TEXT__COUNT; id++) {
			const char *want = override_of(locales[l], (enum text_id)id);
			const char *got = texts_template(t, locales[l], (enum text_id)id);

			if (!want)
				want = texts_template(NULL, locales[l], (enum text_id)id);
			if (strcmp(got, want) != 0)
				print_message("%s.%s: \"%s\", want \"%s\"\n", locales[l],
					      config_template_keys[id], got, want);
			assert_string_equal(got, want);
		}
	assert_string_equal(texts_template(t, "pt", TEXT_THANKS),
			    texts_template(NULL, "pt", TEXT_THANKS));
	texts_free(t);
}

struct override_row {
	const char *locale;
	enum text_id id;
	enum survey_kind kind;
	const char *name;
	const char *want;       /* brand "Acme" */
};

static const struct override_row override_rows[] = {
	{ "pt", TEXT_NPS, KIND_NPS, "Bea", "Oi Bea! De 0 a 10, indicaria a Acme?" },
	{ "pt", TEXT_NPS, KIND_NPS, "", "Oi! De 0 a 10, indicaria a Acme?" },
	{ "pt", TEXT_NPS, KIND_NPS, NULL, "Oi! De 0 a 10, indicaria a Acme?" },
	{ "pt", TEXT_NPS, KIND_CSAT, "Bea", "Oi Bea! De 1 a 5, indicaria a Acme?" },
	{ "en", TEXT_OPT_OUT, KIND_NPS, "Ann", "Bye from Acme, Ann." },
	{ "en", TEXT_OPT_OUT, KIND_NPS, NULL, "Bye from Acme." },
	{ "en", TEXT_REPROMPT, KIND_CES, "Ann", "Just 1-7, Ann" },
	{ "en", TEXT_REPROMPT, KIND_CES, "", "Just 1-7" },
	{ "es", TEXT_FOLLOW_UP, KIND_NPS, "Ana", "\xC2\xBFPor qu\xC3\xA9, Ana?" },
	{ "es", TEXT_FOLLOW_UP, KIND_NPS, NULL, "\xC2\xBFPor qu\xC3\xA9?" },
	/* unknown locales read the Spanish override */
	{ "fr", TEXT_FOLLOW_UP, KIND_NPS, "Ana", "\xC2\xBFPor qu\xC3\xA9, Ana?" },
	/* the empty override: the built-in */
	{ "pt", TEXT_THANKS, KIND_NPS, "Bea", "Obrigado pela sua resposta, Bea!" },
	/* untouched neighbours */
	{ "es", TEXT_OPT_OUT, KIND_NPS, "Ana", "Listo, ya no te enviaremos encuestas de Acme. Si"
	  " cambias de idea, responde ALTA." },
	{ "en", TEXT_FOLLOW_UP, KIND_NPS, "Ann",
	  "Thank you, Ann! What is the main reason for your score?" },
};

/* Placeholders in overrides work as in the built-ins, name dropping included. */
static void test_override_placeholders(void **state)
{
	struct texts *t = texts_from_ini(override_ini);

	for (size_t i = 0; i < ARRAY_LEN(override_rows); i++) {
		const struct override_row *r = &override_rows[i];
		struct buf b;

		assert_int_equal(render_t(t, &b, BIG, r->locale, r->id, r->kind, r->name, "Acme"), 0);
		if (strcmp(buf_cstr(&b), r->want) != 0)
			print_message("row %zu (%s.%s): \"%s\", want \"%s\"\n", i, r->locale,
				      config_template_keys[r->id], buf_cstr(&b), r->want);
		assert_string_equal(buf_cstr(&b), r->want);
		buf_release(&b);
	}
	texts_free(t);
}

/* An override renders into a buffer of exactly its size, and fails with -1 in one byte less. */
static void test_override_full_buffer(void **state)
{
	static const char want[] = "Oi Bea! De 0 a 10, indicaria a Acme?";
	struct texts *t = texts_from_ini(override_ini);
	struct buf b;

	assert_int_equal(render_t(t, &b, sizeof(want), "pt", TEXT_NPS, KIND_NPS, "Bea", "Acme"), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
	assert_int_equal(render_t(t, &b, sizeof(want) - 1, "pt", TEXT_NPS, KIND_NPS, "Bea", "Acme"),
			 -1);
	buf_release(&b);
	texts_free(t);
}

/*
 * A brace that opens no placeholder is text, and must not hide the placeholder after it: an
 * operator's "Gracias :-{ {name}" reads "Gracias :-{ Ana", never "Gracias :-{ {name}" (which the
 * customer would receive as is).  Unknown placeholders such as "{promo}" stay as written.
 */
static void test_stray_brace_does_not_hide_a_placeholder(void **state)
{
	static const struct {
		const char *name;
		const char *want;
	} rows[] = {
		{ "Ana", "Gracias :-{ Ana, de Acme {promo}" },
		{ NULL, "Gracias :-{, de Acme {promo}" },
	};
	struct texts *t = texts_from_ini("[templates.es]\n"
					 "thanks = Gracias :-{ {name}, de {brand} {promo}\n");
	char got[ARRAY_LEN(rows)][64];
	int rc[ARRAY_LEN(rows)];

	/* everything is freed before asserting, so a failure leaks nothing */
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct buf b;

		rc[i] = render_t(t, &b, BIG, "es", TEXT_THANKS, KIND_NPS, rows[i].name, "Acme");
		snprintf(got[i], sizeof(got[i]), "%s", buf_cstr(&b));
		buf_release(&b);
	}
	texts_free(t);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		if (strcmp(got[i], rows[i].want) != 0)
			print_message("name %s: \"%s\", want \"%s\"\n",
				      rows[i].name ? rows[i].name : "NULL", got[i], rows[i].want);
		assert_int_equal(rc[i], 0);
		assert_string_equal(got[i], rows[i].want);
	}
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

	for (size_t l = 0; l < ARRAY_LEN(locales); l++)
		for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
			for (int id = 0; id < TEXT__COUNT; id++)
				for (size_t n = 0; n < ARRAY_LEN(names); n++) {
					struct buf full, b;
					size_t need;

					assert_int_equal(render(&full, BIG, locales[l], (enum text_id)id, kinds[k],
								names[n], "Acme"), 0);
					need = full.len;
					for (size_t cap = 1; cap <= need; cap++) {
						if (render(&b, cap, locales[l], (enum text_id)id, kinds[k], names[n],
							   "Acme") != -1)
							fail_msg("%s %s %s fit in cap %zu but needs %zu bytes",
								 locales[l], kind_name(kinds[k]),
								 config_template_keys[id], cap, need);
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
	for (size_t l = 0; l < ARRAY_LEN(locales); l++)
		for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
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
						 kind_name(kinds[k]), config_template_keys[id], need, need + 1,
						 rc);
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
	assert_int_equal(render(&b, 256, "es", TEXT_NPS, KIND_NPS, "Ana", name), -1);
	buf_release(&b);
	assert_int_equal(render(&b, 256, "es", TEXT_OPT_IN, KIND_NPS, "Ana", name), -1);
	buf_release(&b);
}

/* ---- composing for a channel ([sms] encoding) ------------------------------------------------ */

#define RSQ "\xE2\x80\x99"      /* ’ */
#define EM_DASH "\xE2\x80\x94"  /* — */
#define I_ACUTE "\xC3\xAD"      /* í, not GSM-7 */

struct compose_row {
	const char *ini;        /* the config: [sms] and [templates.*] */
	const char *locale;
	enum text_id id;
	const char *name;
	enum channel channel;
	const char *want;       /* brand "Acme" */
	int replaced;
};

static const char curly_ini[] = "[templates.en]\nthanks = Thanks, {name} " EM_DASH " it" RSQ "s noted\n";
static const char curly_unicode_ini[] = "[sms]\nencoding = unicode\n"
	"[templates.en]\nthanks = Thanks, {name} " EM_DASH " it" RSQ "s noted\n";
static const char fold_ini[] = "[sms]\nfold_accents = on\n";
static const char fold_unicode_ini[] = "[sms]\nencoding = unicode\nfold_accents = on\n";

static const struct compose_row compose_rows[] = {
	/* an override's look-alikes are replaced for SMS, never for WhatsApp */
	{ curly_ini, "en", TEXT_THANKS, "Ann", CHANNEL_SMS, "Thanks, Ann - it's noted", 2 },
	{ curly_ini, "en", TEXT_THANKS, "Ann", CHANNEL_WHATSAPP,
	  "Thanks, Ann " EM_DASH " it" RSQ "s noted", 0 },
	{ curly_unicode_ini, "en", TEXT_THANKS, "Ann", CHANNEL_SMS,
	  "Thanks, Ann " EM_DASH " it" RSQ "s noted", 0 },
	/* the customer's name counts as much as the template */
	{ "", "en", TEXT_THANKS, "Ann O" RSQ "Neil", CHANNEL_SMS,
	  "Thank you for your answer, Ann O'Neil!", 1 },
	{ "", "en", TEXT_THANKS, "Ann O" RSQ "Neil", CHANNEL_WHATSAPP,
	  "Thank you for your answer, Ann O" RSQ "Neil!", 0 },
	/* an accent GSM-7 lacks stays unless fold_accents is on (and the encoding gsm7-smart) */
	{ "", "es", TEXT_THANKS, "Mar" I_ACUTE "a", CHANNEL_SMS,
	  "\xC2\xA1Gracias por tu respuesta, Mar" I_ACUTE "a!", 0 },
	{ fold_ini, "es", TEXT_THANKS, "Mar" I_ACUTE "a", CHANNEL_SMS,
	  "\xC2\xA1Gracias por tu respuesta, Maria!", 1 },
	{ fold_ini, "es", TEXT_THANKS, "Mar" I_ACUTE "a", CHANNEL_WHATSAPP,
	  "\xC2\xA1Gracias por tu respuesta, Mar" I_ACUTE "a!", 0 },
	{ fold_unicode_ini, "es", TEXT_THANKS, "Mar" I_ACUTE "a", CHANNEL_SMS,
	  "\xC2\xA1Gracias por tu respuesta, Mar" I_ACUTE "a!", 0 },
	/* letters GSM-7 has are kept, fold_accents or not */
	{ fold_ini, "es", TEXT_THANKS, "Jos\xC3\xA9 Nu\xC3\xB1" "ez", CHANNEL_SMS,
	  "\xC2\xA1Gracias por tu respuesta, Jos\xC3\xA9 Nu\xC3\xB1" "ez!", 0 },
};

static void test_compose_for_channel(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(compose_rows); i++) {
		const struct compose_row *r = &compose_rows[i];
		struct texts *t = texts_from_ini(r->ini);
		struct text_vars v = { .name = r->name, .brand = "Acme", .kind = KIND_NPS };
		struct buf b;
		int n;

		buf_init(&b, BIG);
		n = texts_compose(t, &b, r->locale, r->id, &v, r->channel);
		if (n != r->replaced || strcmp(buf_cstr(&b), r->want) != 0)
			print_message("row %zu: \"%s\" (%d replaced), want \"%s\" (%d)\n", i,
				      buf_cstr(&b), n, r->want, r->replaced);
		assert_int_equal(n, r->replaced);
		assert_string_equal(buf_cstr(&b), r->want);
		buf_release(&b);
		texts_free(t);
	}
}

/* Without a config (t == NULL) the defaults apply: gsm7-smart, accents kept. */
static void test_compose_defaults_without_config(void **state)
{
	struct text_vars v = { .name = "O" RSQ "Neil Mar" I_ACUTE "a", .brand = "Acme", .kind = KIND_NPS };
	struct buf b;

	buf_init(&b, BIG);
	assert_int_equal(texts_compose(NULL, &b, "en", TEXT_THANKS, &v, CHANNEL_SMS), 0);
	assert_string_equal(buf_cstr(&b), "Thank you for your answer, O" RSQ "Neil Mar" I_ACUTE "a!");
	buf_reset(&b);
	v.name = "O" RSQ "Neil";
	assert_int_equal(texts_compose(NULL, &b, "en", TEXT_THANKS, &v, CHANNEL_SMS), 1);
	assert_string_equal(buf_cstr(&b), "Thank you for your answer, O'Neil!");
	buf_release(&b);
}

/* A composed text that does not fit fails with -1, for either channel. */
static void test_compose_full_buffer(void **state)
{
	static const char want[] = "Thank you for your answer, O'Neil!";
	struct text_vars v = { .name = "O" RSQ "Neil", .brand = "Acme", .kind = KIND_NPS };
	struct buf b;

	buf_init(&b, sizeof(want));
	assert_int_equal(texts_compose(NULL, &b, "en", TEXT_THANKS, &v, CHANNEL_SMS), 1);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
	buf_init(&b, sizeof(want) - 1);
	assert_int_equal(texts_compose(NULL, &b, "en", TEXT_THANKS, &v, CHANNEL_SMS), -1);
	buf_release(&b);
	buf_init(&b, sizeof(want) + 1);         /* the name as written is 2 bytes longer */
	assert_int_equal(texts_compose(NULL, &b, "en", TEXT_THANKS, &v, CHANNEL_WHATSAPP), -1);
	buf_release(&b);
}

/* ---- one SMS segment each -------------------------------------------------------------------- */

/* A realistic name and brand, longer than most: every built-in must still be one segment. */
#define LONG_NAME "Maria Fernanda"
#define LONG_BRAND "Acme Telecom"

/*
 * Every built-in text, in every locale, for every kind, is GSM-7 as written (it does not lean on
 * [sms] encoding = gsm7-smart: it costs one segment under unicode too) and one segment once
 * composed for SMS with LONG_NAME and LONG_BRAND; without a name it is shorter still.
 */
static void test_builtins_are_one_gsm7_segment(void **state)
{
	for (size_t l = 0; l < ARRAY_LEN(locales); l++)
		for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
			for (int id = 0; id < TEXT__COUNT; id++) {
				const char *tmpl = texts_template(NULL, locales[l], (enum text_id)id);
				struct text_vars v = { .name = LONG_NAME, .brand = LONG_BRAND,
						       .kind = kinds[k] };
				struct sms_count c;
				struct buf b;
				int n;

				sms_count(tmpl, strlen(tmpl), &c);
				if (c.ucs2)
					print_message("%s.%s leaves GSM-7: \"%s\"\n", locales[l],
						      config_template_keys[id], tmpl);
				assert_int_equal(c.ucs2, 0);
				buf_init(&b, BIG);
				n = texts_compose(NULL, &b, locales[l], (enum text_id)id, &v, CHANNEL_SMS);
				assert_int_equal(n, 0);         /* nothing to replace */
				sms_count(buf_cstr(&b), b.len, &c);
				if (c.ucs2 || c.segments != 1 || c.units > 160)
					print_message("%s.%s (%s): %s, %zu units, %d segments: \"%s\"\n",
						      locales[l], config_template_keys[id],
						      kind_name(kinds[k]), c.ucs2 ? "UCS-2" : "GSM-7",
						      c.units, c.segments, buf_cstr(&b));
				assert_int_equal(c.ucs2, 0);
				assert_int_equal(c.segments, 1);
				buf_release(&b);
			}
}

/* ---- SMS segment warnings ------------------------------------------------------------------ */

/* Runs texts_warn_segments() with `brand` into memory; returns its result, the output in *out
 * (free()). */
static int warn_brand_into(const struct texts *t, const char *brand, char **out)
{
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	int n;

	assert_non_null(f);
	n = texts_warn_segments(t, brand, f);
	assert_int_equal(fclose(f), 0);
	return n;
}

static int warn_into(const struct texts *t, char **out)
{
	return warn_brand_into(t, "Acme", out);
}

/* The lines of `text` that start with `prefix`. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

/* The entries of the summary line ("es.nps 2", ...), split into `items`; how many. */
static size_t summary_items(const char *text, char items[][32], size_t max)
{
	static const char head[] = "warning: built-in texts that need more than one SMS segment"
				   " (text, segments): ";
	const char *p = strstr(text, head), *end;
	size_t n = 0;

	if (!p)
		return 0;
	p += sizeof(head) - 1;
	end = strchr(p, ';');
	assert_non_null(end);
	while (p < end && n < max) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t len = (size_t)((comma ? comma : end) - p);

		assert_true(len < 32);
		memcpy(items[n], p, len);
		items[n++][len] = '\0';
		p += len + (comma ? 2 : 0);     /* ", " */
	}
	return n;
}

static int listed(char items[][32], size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i], want) == 0)
			return 1;
	return 0;
}

/* With the built-ins and an ordinary brand, the gateway starts without a word. */
static void test_warn_segments_builtins_fit(void **state)
{
	char *out = NULL;

	assert_int_equal(warn_into(NULL, &out), 0);
	assert_string_equal(out, "");
	free(out);
}

/*
 * A brand of 100 letters makes every built-in that names it two segments (every question,
 * opt-out and opt-in), listed on one summary line; the thanks, follow-ups and re-prompts, which
 * do not name it, stay off it.
 */
static const char *const long_brand_builtins[] = {
	"es.nps 2", "es.ces 2", "es.csat 2", "es.opt_out 2", "es.opt_in 2",
	"pt.nps 2", "pt.ces 2", "pt.csat 2", "pt.opt_out 2", "pt.opt_in 2",
	"en.nps 2", "en.ces 2", "en.csat 2", "en.opt_out 2", "en.opt_in 2",
};

static void test_warn_segments_long_brand(void **state)
{
	char brand[101], items[32][32];
	char *out = NULL;
	size_t n;
	int warned;

	memset(brand, 'b', 100);
	brand[100] = '\0';
	warned = warn_brand_into(NULL, brand, &out);
	assert_int_equal(count_lines(out, "warning: template "), 0);
	assert_int_equal(count_lines(out, "warning: built-in texts "), 1);
	assert_int_equal(count_lines(out, ""), 1);      /* nothing else */
	n = summary_items(out, items, ARRAY_LEN(items));
	for (size_t i = 0; i < ARRAY_LEN(long_brand_builtins); i++) {
		if (!listed(items, n, long_brand_builtins[i]))
			print_message("summary lacks \"%s\": %s", long_brand_builtins[i], out);
		assert_true(listed(items, n, long_brand_builtins[i]));
	}
	assert_int_equal(n, ARRAY_LEN(long_brand_builtins));
	assert_int_equal(warned, (int)ARRAY_LEN(long_brand_builtins));
	assert_non_null(strstr(out, "[templates.<locale>]"));
	free(out);
}

/*
 * es.nps: 16 + 300 GSM-7 characters with "Alejandra" = 316 = 3 segments; pt.thanks: 11 + 70
 * UCS-2 = 81 = 2 segments; en.opt_in and es.reprompt: short.  One line each for the long
 * overrides, none for the short ones or the built-ins.
 */
static void test_warn_segments_overrides(void **state)
{
	char ini[2048];
	char *out = NULL;
	size_t at;
	int warned;
	struct texts *t;

	at = (size_t)snprintf(ini, sizeof(ini), "[templates.es]\nnps = Hola {name}, ");
	memset(ini + at, 'a', 300);
	at += 300;
	at += (size_t)snprintf(ini + at, sizeof(ini) - at, "\nreprompt = Del {min} al {max}\n"
			       "[templates.pt]\nthanks = {name}: ");
	for (int i = 0; i < 70; i++)
		at += (size_t)snprintf(ini + at, sizeof(ini) - at, "\xC3\xA1");
	snprintf(ini + at, sizeof(ini) - at, "\n[templates.en]\nopt_in = Welcome back to {brand}\n");
	t = texts_from_ini(ini);
	warned = warn_into(t, &out);

	assert_int_equal(count_lines(out, "warning: template es.nps needs 3 SMS segments "
				     "(GSM-7, 316 characters)"), 1);
	assert_int_equal(count_lines(out, "warning: template pt.thanks needs 2 SMS segments "
				     "(UCS-2, 81 characters)"), 1);
	assert_int_equal(count_lines(out, ""), 2);
	assert_null(strstr(out, "en.opt_in"));
	assert_null(strstr(out, "es.reprompt"));
	assert_int_equal(warned, 2);
	free(out);
	texts_free(t);
}

/* Short overrides print nothing at all. */
static void test_warn_segments_all_short(void **state)
{
	static const char ini[] =
		"[templates.es]\nnps = {name} {brand} {min}-{max}\nces = {name} {min}-{max}\n"
		"csat = {name} {min}-{max}\nreprompt = {min}-{max}\nopt_out = Bye {brand}\n"
		"opt_in = Hi {brand}\n"
		"[templates.pt]\nnps = {name} {min}-{max}\nces = {name} {min}-{max}\n"
		"csat = {name} {min}-{max}\nreprompt = {min}-{max}\nopt_out = Bye {brand}\n"
		"opt_in = Hi {brand}\n";
	struct texts *t = texts_from_ini(ini);
	char *out = NULL;

	assert_int_equal(warn_into(t, &out), 0);
	assert_string_equal(out, "");
	free(out);
	texts_free(t);
}

/*
 * The warning counts a text as it is sent: 150 letters and a curly apostrophe are one GSM-7
 * segment under gsm7-smart (no warning), three UCS-2 ones under unicode.
 */
static void test_warn_segments_counts_as_sent(void **state)
{
	static const char *const encodings[] = { "gsm7-smart", "unicode" };

	for (size_t e = 0; e < ARRAY_LEN(encodings); e++) {
		char ini[512], *out = NULL;
		size_t at;
		struct texts *t;
		int warned;

		at = (size_t)snprintf(ini, sizeof(ini), "[sms]\nencoding = %s\n[templates.en]\n"
				      "thanks = it" RSQ "s ", encodings[e]);
		memset(ini + at, 'a', 150);
		snprintf(ini + at + 150, sizeof(ini) - at - 150, "\n");
		t = texts_from_ini(ini);
		warned = warn_into(t, &out);
		if (e == 0) {
			assert_string_equal(out, "");
			assert_int_equal(warned, 0);
		} else {
			assert_int_equal(count_lines(out, "warning: template en.thanks needs 3 SMS "
						     "segments (UCS-2, 155 characters)"), 1);
			assert_int_equal(count_lines(out, ""), 1);
			assert_int_equal(warned, 1);
		}
		free(out);
		texts_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_question_maps_kinds),
		cmocka_unit_test(test_question_names_brand_name_and_scale),
		cmocka_unit_test(test_question_without_name_drops_placeholder_and_separator),
		cmocka_unit_test(test_unknown_locale_reads_as_spanish),
		cmocka_unit_test(test_locales_differ),
		cmocka_unit_test(test_exact_texts),
		cmocka_unit_test(test_opt_texts_name_words_the_parser_knows),
		cmocka_unit_test(test_reprompt_names_min_and_max),
		cmocka_unit_test(test_templates_carry_their_placeholders),
		cmocka_unit_test(test_no_placeholder_survives),
		cmocka_unit_test(test_name_is_not_expanded),
		cmocka_unit_test(test_texts_without_overrides_are_the_builtins),
		cmocka_unit_test(test_override_replaces_only_its_locale_and_key),
		cmocka_unit_test(test_override_placeholders),
		cmocka_unit_test(test_override_full_buffer),
		cmocka_unit_test(test_stray_brace_does_not_hide_a_placeholder),
		cmocka_unit_test(test_full_buffer_fails),
		cmocka_unit_test(test_text_without_name_fits_exactly),
		cmocka_unit_test(test_long_name_fails),
		cmocka_unit_test(test_compose_for_channel),
		cmocka_unit_test(test_compose_defaults_without_config),
		cmocka_unit_test(test_compose_full_buffer),
		cmocka_unit_test(test_builtins_are_one_gsm7_segment),
		cmocka_unit_test(test_warn_segments_builtins_fit),
		cmocka_unit_test(test_warn_segments_long_brand),
		cmocka_unit_test(test_warn_segments_overrides),
		cmocka_unit_test(test_warn_segments_all_short),
		cmocka_unit_test(test_warn_segments_counts_as_sent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
