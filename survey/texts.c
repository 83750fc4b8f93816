/* texts.c - see texts.h. */
#include "texts.h"

#include <stdlib.h>
#include <string.h>

#include "sms.h"

enum { L_ES, L_PT, L_EN, L__COUNT };

static const char *const locale_names[L__COUNT] = { "es", "pt", "en" };

/*
 * The built-in texts.  The questions name the scale's ends so nobody has to guess them.  Each text
 * is one GSM-7 SMS segment (160 septets) with a name and a brand of a dozen letters each: the
 * wording keeps to the letters GSM-7 has (é, ñ, ¿, ¡ but not á, í, ó, ú, ã, ç, ê), so that a survey
 * costs one message instead of three UCS-2 ones.  tests/test_texts.c checks every one.
 */
static const char *const builtin[L__COUNT][TEXT__COUNT] = {
	[L_ES] = {
		[TEXT_NPS] = "Hola {name}, ¿qué probabilidad hay de que recomiendes {brand} a un amigo "
			     "o colega? Responde del 0 (nada probable) al 10 (muy probable).",
		[TEXT_CES] = "Hola {name}, ¿qué tan sencillo fue resolver tu consulta con {brand}? "
			     "Responde del 1 (muy complicado) al 7 (muy sencillo).",
		[TEXT_CSAT] = "Hola {name}, ¿qué tan satisfecho quedaste con el servicio de {brand}? "
			      "Responde del 1 (nada satisfecho) al 5 (muy satisfecho).",
		[TEXT_THANKS] = "¡Gracias por tu respuesta, {name}!",
		[TEXT_FOLLOW_UP] = "¡Gracias, {name}! ¿Nos cuentas el motivo de tu nota?",
		[TEXT_REPROMPT] = "Perdona, no entendimos tu respuesta. Responde solo con una nota del "
				  "{min} al {max}.",
		[TEXT_OPT_OUT] = "Listo, ya no te enviaremos encuestas de {brand}. Si cambias de idea, "
				 "responde ALTA.",
		[TEXT_OPT_IN] = "Listo, te volveremos a enviar encuestas de {brand}. Responde BAJA para "
				"dejar de recibirlas.",
	},
	[L_PT] = {
		[TEXT_NPS] = "Oi {name}, qual a chance de recomendar a {brand} a um amigo ou colega? "
			     "Responda de 0 (nenhuma chance) a 10 (com certeza).",
		[TEXT_CES] = "Oi {name}, foi simples resolver seu pedido com a {brand}? "
			     "Responda de 1 (muito complicado) a 7 (muito simples).",
		[TEXT_CSAT] = "Oi {name}, ficou satisfeito com o atendimento da {brand}? "
			      "Responda de 1 (muito insatisfeito) a 5 (muito satisfeito).",
		[TEXT_THANKS] = "Obrigado pela sua resposta, {name}!",
		[TEXT_FOLLOW_UP] = "Obrigado, {name}! Qual o principal motivo da sua nota?",
		[TEXT_REPROMPT] = "Desculpe, ficamos sem entender sua resposta. Responda apenas com uma "
				  "nota de {min} a {max}.",
		[TEXT_OPT_OUT] = "Pronto, deixaremos de enviar pesquisas da {brand}. Se mudar de ideia, "
				 "responda START.",
		[TEXT_OPT_IN] = "Pronto, voltaremos a enviar pesquisas da {brand}. Se quiser parar, "
				"responda SAIR.",
	},
	[L_EN] = {
		[TEXT_NPS] = "Hi {name}, how likely are you to recommend {brand} to a friend or "
			     "colleague? Reply from 0 (not at all likely) to 10 (extremely likely).",
		[TEXT_CES] = "Hi {name}, how easy was it to get your issue resolved with {brand}? "
			     "Reply from 1 (very difficult) to 7 (very easy).",
		[TEXT_CSAT] = "Hi {name}, how satisfied are you with the support you got from {brand}? "
			      "Reply from 1 (very dissatisfied) to 5 (very satisfied).",
		[TEXT_THANKS] = "Thank you for your answer, {name}!",
		[TEXT_FOLLOW_UP] = "Thank you, {name}! What is the main reason for your score?",
		[TEXT_REPROMPT] = "Sorry, we didn't understand your answer. Please reply with just a "
				  "number from {min} to {max}.",
		[TEXT_OPT_OUT] = "Done: you will get no more surveys from {brand}. Reply START to opt "
				 "back in.",
		[TEXT_OPT_IN] = "Done: you will get surveys from {brand} again. Reply STOP to opt out.",
	},
};

struct texts {
	char *override[L__COUNT][TEXT__COUNT];  /* NULL: the built-in */
	struct sms_options sms;                 /* [sms] encoding, fold_accents */
};

/* The [sms] defaults, for t == NULL. */
static const struct sms_options default_sms = { .smart = 1, .fold_accents = 0 };

static int locale_index(const char *locale)
{
	for (int l = 0; locale && l < L__COUNT; l++)
		if (strcmp(locale, locale_names[l]) == 0)
			return l;
	return L_ES;
}

enum text_id text_question(enum survey_kind kind)
{
	return kind == KIND_CES ? TEXT_CES : kind == KIND_CSAT ? TEXT_CSAT : TEXT_NPS;
}

struct texts *texts_create(const struct config *cfg, struct gw_err *err)
{
	struct texts *t = calloc(1, sizeof(*t));

	if (!t) {
		gw_errf(err, "out of memory");
		return NULL;
	}
	t->sms.smart = !cfg->sms_encoding || strcmp(cfg->sms_encoding, "unicode") != 0;
	t->sms.fold_accents = cfg->sms_fold_accents;
	for (int l = 0; l < L__COUNT; l++) {
		char section[32];
		const struct config_section *sec;

		snprintf(section, sizeof(section), "templates.%s", locale_names[l]);
		sec = config_section_find(cfg, section);
		for (int id = 0; id < TEXT__COUNT; id++) {
			const char *v = config_get(sec, config_template_keys[id]);

			if (v && *v && !(t->override[l][id] = strdup(v))) {
				texts_free(t);
				gw_errf(err, "out of memory");
				return NULL;
			}
		}
	}
	return t;
}

void texts_free(struct texts *t)
{
	if (!t)
		return;
	for (int l = 0; l < L__COUNT; l++)
		for (int id = 0; id < TEXT__COUNT; id++)
			free(t->override[l][id]);
	free(t);
}

const char *texts_template(const struct texts *t, const char *locale, enum text_id id)
{
	int l = locale_index(locale);

	return t && t->override[l][id] ? t->override[l][id] : builtin[l][id];
}

int texts_render(const struct texts *t, struct buf *out, const char *locale, enum text_id id,
		 const struct text_vars *v)
{
	const char *p = texts_template(t, locale, id);
	int have_name = v->name && *v->name;
	char num[16];

	while (*p) {
		const char *close;
		int rc = 0;

		/* Without a name, "Hola {name}," reads "Hola,": skip the separator before it too. */
		if (!have_name && (strncmp(p, ", {name}", 8) == 0 || strncmp(p, " {name}", 7) == 0)) {
			p = strchr(p, '}') + 1;
			continue;
		}
		if (*p != '{' || !(close = strchr(p, '}'))) {
			if (buf_putc(out, *p++) < 0)
				return -1;
			continue;
		}
		if (strncmp(p, "{name}", 6) == 0) {
			if (have_name)
				rc = buf_puts(out, v->name);
		} else if (strncmp(p, "{brand}", 7) == 0) {
			rc = buf_puts(out, v->brand ? v->brand : "");
		} else if (strncmp(p, "{min}", 5) == 0 || strncmp(p, "{max}", 5) == 0) {
			snprintf(num, sizeof(num), "%d", p[2] == 'i' ? kind_min(v->kind) : kind_max(v->kind));
			rc = buf_puts(out, num);
		} else {
			/* Not a placeholder: the brace is text, and what follows is read again. */
			if (buf_putc(out, *p++) < 0)
				return -1;
			continue;
		}
		if (rc < 0)
			return -1;
		p = close + 1;
	}
	return 0;
}

int texts_compose(const struct texts *t, struct buf *out, const char *locale, enum text_id id,
		  const struct text_vars *v, enum channel channel)
{
	const struct sms_options *o = t ? &t->sms : &default_sms;
	struct buf raw;
	int rc;

	if (channel != CHANNEL_SMS || !o->smart)
		return texts_render(t, out, locale, id, v);
	/* The name is only known here, and may need replacing as much as the template.  The text
	 * before replacing may be longer than `out` takes (’ is 3 bytes, ' one). */
	buf_init(&raw, 4 * out->cap_limit);
	rc = texts_render(t, &raw, locale, id, v);
	if (rc == 0)
		rc = sms_smart_encode(buf_cstr(&raw), raw.len, o, out);
	buf_release(&raw);
	return rc;
}

/* Composes text `id` of locale index `l` for SMS with `name`, `brand` and the NPS scale (the
 * widest) into `b`, and counts it into `c`.  Returns texts_compose()'s result. */
static int sms_cost(const struct texts *t, int l, int id, const char *name, const char *brand,
		    struct buf *b, struct sms_count *c)
{
	struct text_vars v = { .name = name, .brand = brand, .kind = KIND_NPS };
	int rc = texts_compose(t, b, locale_names[l], (enum text_id)id, &v, CHANNEL_SMS);

	sms_count(buf_cstr(b), b->len, c);
	return rc;
}

/*
 * One line per overridden template that needs more than one segment, and one line listing the
 * built-in texts that do (each is one segment with a name and brand of a dozen letters; a long
 * brand can still push one over, and an operator who pays per segment then overrides it).
 */
int texts_warn_segments(const struct texts *t, const char *brand, FILE *f)
{
	struct buf builtins;
	int warned = 0;

	buf_init(&builtins, 4096);
	for (int l = 0; l < L__COUNT; l++) {
		for (int id = 0; id < TEXT__COUNT; id++) {
			int overridden = t && t->override[l][id];
			struct sms_count c;
			struct buf b;

			buf_init(&b, 64 * 1024);
			if (sms_cost(t, l, id, TEXTS_SAMPLE_NAME, brand, &b, &c) >= 0) {
				if (c.segments > 1 && overridden)
					fprintf(f, "warning: template %s.%s needs %d SMS segments (%s, %zu "
						"characters)\n", locale_names[l], config_template_keys[id],
						c.segments, c.ucs2 ? "UCS-2" : "GSM-7", c.units);
				else if (c.segments > 1)
					buf_printf(&builtins, "%s%s.%s %d", builtins.len ? ", " : "",
						   locale_names[l], config_template_keys[id], c.segments);
				warned += c.segments > 1;
			}
			buf_release(&b);
		}
	}
	if (builtins.len)
		fprintf(f, "warning: built-in texts that need more than one SMS segment (text, "
			"segments): %s; override them in [templates.<locale>] to send fewer\n",
			buf_cstr(&builtins));
	buf_release(&builtins);
	return warned;
}

int texts_write_costs(const struct texts *t, const char *brand, const char *name, FILE *f)
{
	const struct sms_options *o = t ? &t->sms : &default_sms;
	int over = 0, total = 0;

	fprintf(f, "Each text as sent by SMS, with name \"%s\", brand \"%s\" and the NPS scale\n"
		"([sms] encoding = %s, fold_accents = %s).  A segment holds 160 GSM-7 characters or\n"
		"70 UCS-2 ones (153 and 67 once split); \"replaced\" counts the characters the "
		"encoding replaced.\n\n", name, brand, o->smart ? "gsm7-smart" : "unicode",
		o->fold_accents ? "on" : "off");
	fprintf(f, "%-13s %-8s %-8s %5s %8s %8s  %s\n", "text", "source", "encoding", "chars",
		"segments", "replaced", "text as sent");
	for (int l = 0; l < L__COUNT; l++) {
		for (int id = 0; id < TEXT__COUNT; id++) {
			char key[32];
			struct sms_count c;
			struct buf b;
			int n;

			snprintf(key, sizeof(key), "%s.%s", locale_names[l], config_template_keys[id]);
			buf_init(&b, 64 * 1024);
			n = sms_cost(t, l, id, name, brand, &b, &c);
			if (n < 0)
				fprintf(f, "%-13s longer than %d bytes\n", key, 64 * 1024);
			else
				fprintf(f, "%-13s %-8s %-8s %5zu %8d %8d  %s\n", key,
					t && t->override[l][id] ? "config" : "built-in",
					c.ucs2 ? "UCS-2" : "GSM-7", c.units, c.segments, n, buf_cstr(&b));
			over += n < 0 || c.segments > 1;
			total++;
			buf_release(&b);
		}
	}
	if (over)
		fprintf(f, "\n%d of %d texts need more than one SMS segment.\n", over, total);
	else
		fprintf(f, "\nEvery text fits one SMS segment.\n");
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
