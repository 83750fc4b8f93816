/* texts.c - see texts.h. */
#include "texts.h"

#include <stdio.h>
#include <string.h>

enum { L_ES, L_PT, L_EN, L__COUNT };

/* Questions per locale and kind; the scale's ends are named so nobody has to guess them. */
static const char *const questions[L__COUNT][KIND__COUNT] = {
	[L_ES] = {
		[KIND_NPS] = "Hola {name}, ¿qué probabilidad hay de que recomiendes {brand} a un amigo "
			     "o colega? Responde con un número del 0 (nada probable) al 10 (muy probable).",
		[KIND_CES] = "Hola {name}, ¿qué tan fácil fue resolver tu consulta con {brand}? "
			     "Responde con un número del 1 (muy difícil) al 7 (muy fácil).",
		[KIND_CSAT] = "Hola {name}, ¿qué tan satisfecho estás con la atención de {brand}? "
			      "Responde con un número del 1 (nada satisfecho) al 5 (muy satisfecho).",
	},
	[L_PT] = {
		[KIND_NPS] = "Olá {name}, qual a probabilidade de você recomendar a {brand} a um amigo "
			     "ou colega? Responda com um número de 0 (nada provável) a 10 (muito provável).",
		[KIND_CES] = "Olá {name}, quão fácil foi resolver sua solicitação com a {brand}? "
			     "Responda com um número de 1 (muito difícil) a 7 (muito fácil).",
		[KIND_CSAT] = "Olá {name}, qual a sua satisfação com o atendimento da {brand}? "
			      "Responda com um número de 1 (muito insatisfeito) a 5 (muito satisfeito).",
	},
	[L_EN] = {
		[KIND_NPS] = "Hi {name}, how likely are you to recommend {brand} to a friend or "
			     "colleague? Reply with a number from 0 (not at all likely) to 10 (extremely likely).",
		[KIND_CES] = "Hi {name}, how easy was it to get your issue resolved with {brand}? "
			     "Reply with a number from 1 (very difficult) to 7 (very easy).",
		[KIND_CSAT] = "Hi {name}, how satisfied are you with the support you got from {brand}? "
			      "Reply with a number from 1 (very unsatisfied) to 5 (very satisfied).",
	},
};

static const char *const thanks[L__COUNT] = {
	[L_ES] = "¡Gracias por tu respuesta, {name}!",
	[L_PT] = "Obrigado pela sua resposta, {name}!",
	[L_EN] = "Thank you for your answer, {name}!",
};

static const char *const reprompts[L__COUNT] = {
	[L_ES] = "Perdona, no entendimos tu respuesta. Responde solo con un número del {min} al {max}.",
	[L_PT] = "Desculpe, não entendemos sua resposta. Responda apenas com um número de {min} a {max}.",
	[L_EN] = "Sorry, we didn't understand your answer. Please reply with just a number from {min} "
		 "to {max}.",
};

static int locale_index(const char *locale)
{
	if (locale && strcmp(locale, "pt") == 0)
		return L_PT;
	if (locale && strcmp(locale, "en") == 0)
		return L_EN;
	return L_ES;
}

const char *texts_template(const char *locale, enum text_id id, enum survey_kind kind)
{
	int l = locale_index(locale);

	switch (id) {
	case TEXT_QUESTION:
		return questions[l][kind];
	case TEXT_THANKS:
		return thanks[l];
	default:
		return reprompts[l];
	}
}

int texts_render(struct buf *out, const char *locale, enum text_id id, const struct text_vars *v)
{
	const char *t = texts_template(locale, id, v->kind);
	char num[16];

	while (*t) {
		const char *close;
		int rc = 0;

		/* Without a name, "Hola {name}," reads "Hola,": skip the separator before it too. */
		if (!(v->name && *v->name)) {
			if (strncmp(t, ", {name}", 8) == 0 || strncmp(t, " {name}", 7) == 0) {
				t = strchr(t, '}') + 1;
				continue;
			}
		}
		if (*t != '{' || !(close = strchr(t, '}'))) {
			if (buf_putc(out, *t++) < 0)
				return -1;
			continue;
		}
		if (strncmp(t, "{name}", 6) == 0) {
			if (v->name && *v->name)
				rc = buf_puts(out, v->name);
		} else if (strncmp(t, "{brand}", 7) == 0) {
			rc = buf_puts(out, v->brand ? v->brand : "");
		} else if (strncmp(t, "{min}", 5) == 0 || strncmp(t, "{max}", 5) == 0) {
			snprintf(num, sizeof(num), "%d", t[2] == 'i' ? kind_min(v->kind) : kind_max(v->kind));
			rc = buf_puts(out, num);
		} else {
			rc = buf_append(out, t, (size_t)(close - t + 1));
		}
		if (rc < 0)
			return -1;
		t = close + 1;
	}
	return 0;
}
