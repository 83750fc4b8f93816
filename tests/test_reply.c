/*
 * test_reply.c - the reply grammar, one row per reply: kind, exact bytes, expected outcome.
 *
 * Every input is copied into a heap block of exactly its length (no NUL after it), so that a
 * parser reading one byte too far is caught by AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "utf8.h"

struct row {
	enum survey_kind kind;
	const char *text;
	size_t len;
	enum reply_outcome outcome;
	enum reply_reason reason;
	int score;
	const char *comment;    /* expected comment bytes ("" when none) */
	size_t comment_len;
};

/* String literals only: the lengths come from sizeof, so rows may hold NUL bytes. */
#define ROW(k, s, o, r, sc, c) { KIND_##k, s, sizeof(s) - 1, o, r, sc, c, sizeof(c) - 1 }
#define SCORE(k, s, sc, c)     ROW(k, s, REPLY_SCORE, REASON_NONE, sc, c)
#define INVALID(k, s, r)       ROW(k, s, REPLY_INVALID, REASON_##r, 0, "")
#define OPT_OUT(k, s)          ROW(k, s, REPLY_OPT_OUT, REASON_NONE, 0, "")
#define OPT_IN(k, s)           ROW(k, s, REPLY_OPT_IN, REASON_NONE, 0, "")

/* Careful with hex escapes: "\xa0" "9" is NBSP then '9', whereas "\xa09" would be one escape. */
#define NBSP "\xc2\xa0"
#define INV_EXCL "\xc2\xa1"     /* ¡ */
#define INV_QUEST "\xc2\xbf"    /* ¿ */
#define KEYCAP "\xef\xb8\x8f\xe2\x83\xa3"    /* VS16 + combining keycap: "9" KEYCAP is 9️⃣ */
#define KEYCAP_BARE "\xe2\x83\xa3"            /* the keycap without VS16: 9⃣ */
#define VS16 "\xef\xb8\x8f"
#define VS15 "\xef\xb8\x8e"                  /* text presentation: "★" VS15 */
#define MINUS "\xe2\x88\x92"                  /* U+2212 */
#define EN_DASH "\xe2\x80\x93"

static const struct row rows[] = {
	/* NPS 0-10: borders, leading zeros */
	SCORE(NPS, "0", 0, ""),
	SCORE(NPS, "10", 10, ""),
	SCORE(NPS, "5", 5, ""),
	SCORE(NPS, "09", 9, ""),
	SCORE(NPS, "00", 0, ""),
	SCORE(NPS, "010", 10, ""),
	SCORE(NPS, "0000000000000000000000000000010", 10, ""),
	INVALID(NPS, "11", OUT_OF_RANGE),
	INVALID(NPS, "100", OUT_OF_RANGE),
	INVALID(NPS, "99999999999999999999", OUT_OF_RANGE),
	INVALID(NPS, "18446744073709551626", OUT_OF_RANGE),     /* 2^64 + 10 */
	INVALID(NPS, "4294967306", OUT_OF_RANGE),               /* 2^32 + 10 */
	INVALID(NPS, "-1", OUT_OF_RANGE),

	/* whitespace, CR/LF, NBSP, punctuation, Spanish openers */
	SCORE(NPS, " 9 ", 9, ""),
	SCORE(NPS, "\t9\t", 9, ""),
	SCORE(NPS, "9\r\n", 9, ""),
	SCORE(NPS, "\r\n 9 \r\n", 9, ""),
	SCORE(NPS, NBSP "9" NBSP, 9, ""),
	SCORE(NPS, NBSP NBSP " 10 " NBSP, 10, ""),
	SCORE(NPS, "9.", 9, ""),
	SCORE(NPS, "9!", 9, ""),
	SCORE(NPS, "9?", 9, ""),
	SCORE(NPS, "9,", 9, ""),
	SCORE(NPS, "9;", 9, ""),
	SCORE(NPS, "10!!!", 10, ""),
	SCORE(NPS, "10 !", 10, ""),
	SCORE(NPS, "10...", 10, ""),
	SCORE(NPS, INV_EXCL "10!", 10, ""),
	SCORE(NPS, INV_QUEST "8?", 8, ""),
	SCORE(NPS, " " INV_EXCL " 10 !\r\n", 10, ""),

	/* a score then a comment (es, pt, en) */
	SCORE(NPS, "10 pero el pedido 12345 lleg\xc3\xb3 tarde", 10,
	      "pero el pedido 12345 lleg\xc3\xb3 tarde"),
	SCORE(NPS, "9 muy amables", 9, "muy amables"),
	SCORE(NPS, "10. Muy buen servicio!", 10, "Muy buen servicio!"),
	SCORE(NPS, "10,  excelente  ", 10, "excelente"),
	SCORE(NPS, "8\r\nGracias\r\n", 8, "Gracias"),
	SCORE(NPS, "7" NBSP "regular" NBSP, 7, "regular"),
	SCORE(NPS, "10 10 10", 10, ""),
	SCORE(NPS, "10 10 10 muy bien", 10, "muy bien"),
	SCORE(NPS, "10, 10!", 10, ""),
	SCORE(NPS, "10 12345 es mi pedido", 10, "12345 es mi pedido"),
	SCORE(NPS, "6 o atendimento foi lento", 6, "o atendimento foi lento"),
	SCORE(NPS, "9 great service, thanks!", 9, "great service, thanks!"),
	SCORE(NPS, "0 nunca m\xc3\xa1s", 0, "nunca m\xc3\xa1s"),
	SCORE(NPS, "10 stop", 10, "stop"),
	INVALID(NPS, "11 muy bueno", OUT_OF_RANGE),

	/* two different candidate scores */
	INVALID(NPS, "7 8", AMBIGUOUS),
	INVALID(NPS, "7 u 8", AMBIGUOUS),
	INVALID(NPS, "7 o 8", AMBIGUOUS),
	INVALID(NPS, "7 or 8", AMBIGUOUS),
	INVALID(NPS, "7, 8", AMBIGUOUS),
	INVALID(NPS, "7 \xc3\xb3 8", AMBIGUOUS),
	SCORE(NPS, "7 o 7", 7, "o 7"),                  /* the same score is no alternative */

	/* fractions */
	INVALID(NPS, "9.5", NOT_INTEGER),
	INVALID(NPS, "9,5", NOT_INTEGER),
	INVALID(NPS, "9,5 muy bien", NOT_INTEGER),
	INVALID(NPS, "10.0", NOT_INTEGER),
	INVALID(NPS, " 9.5! ", NOT_INTEGER),

	/* nothing understood (yet) */
	INVALID(NPS, "", NO_NUMBER),
	INVALID(NPS, "   ", NO_NUMBER),
	INVALID(NPS, "\r\n", NO_NUMBER),
	INVALID(NPS, NBSP, NO_NUMBER),
	INVALID(NPS, "...", NO_NUMBER),
	INVALID(NPS, "gracias", NO_NUMBER),
	INVALID(NPS, "10%", NO_NUMBER),
	INVALID(NPS, "9abc", NO_NUMBER),
	INVALID(NPS, "\xf0\x9f\x91\x8d", NO_NUMBER),                       /* thumbs up */

	/* NUL bytes */
	INVALID(NPS, "\0", NO_NUMBER),
	INVALID(NPS, "1\0" "0", NO_NUMBER),
	INVALID(NPS, "\0" "9", NO_NUMBER),
	INVALID(NPS, "9\0", NO_NUMBER),
	SCORE(NPS, "9 \0", 9, "\0"),
	SCORE(NPS, "10 muy\0bien", 10, "muy\0bien"),

	/* invalid UTF-8, truncated sequences */
	SCORE(NPS, "9 \xff\xfe", 9, "\xff\xfe"),
	SCORE(NPS, "9 \xc2", 9, "\xc2"),
	INVALID(NPS, "\xff" "9", NO_NUMBER),
	INVALID(NPS, "9\xc2", NO_NUMBER),
	INVALID(NPS, "\xc2", NO_NUMBER),
	INVALID(NPS, "9\xc3\x28", NO_NUMBER),
	INVALID(NPS, "\xa0" "9", NO_NUMBER),
	INVALID(NPS, "\xd9", NO_NUMBER),                     /* a digit or a star cut short */
	INVALID(NPS, "\xd9\xa9\xd9", NO_NUMBER),
	INVALID(NPS, "\xf0\x9d\x9f", NO_NUMBER),
	INVALID(NPS, "9\xf0\x9d\x9f", NO_NUMBER),
	INVALID(CSAT, "\xe2\xad", NO_NUMBER),
	INVALID(CSAT, "\xe2\xad\x90\xef\xb8", NO_NUMBER),
	INVALID(CSAT, "\xe2\xad\x90\xe2\x98", NO_NUMBER),

	/* CES 1-7 */
	SCORE(CES, "1", 1, ""),
	SCORE(CES, "7", 7, ""),
	SCORE(CES, "07", 7, ""),
	SCORE(CES, "7.", 7, ""),
	SCORE(CES, "1 1", 1, ""),
	SCORE(CES, "4 fue f\xc3\xa1" "cil", 4, "fue f\xc3\xa1" "cil"),
	SCORE(CES, "6 muito f\xc3\xa1" "cil", 6, "muito f\xc3\xa1" "cil"),
	SCORE(CES, "2 it took three calls", 2, "it took three calls"),
	INVALID(CES, "0", OUT_OF_RANGE),
	INVALID(CES, "00", OUT_OF_RANGE),
	INVALID(CES, "8", OUT_OF_RANGE),
	INVALID(CES, "0 0", OUT_OF_RANGE),
	INVALID(CES, "10", OUT_OF_RANGE),
	INVALID(CES, "3 o 4", AMBIGUOUS),
	INVALID(CES, "6,5", NOT_INTEGER),
	SCORE(CES, "Nota 5", 5, ""),

	/* CSAT 1-5 */
	SCORE(CSAT, "1", 1, ""),
	SCORE(CSAT, "5", 5, ""),
	SCORE(CSAT, "5!!", 5, ""),
	SCORE(CSAT, "  2  ", 2, ""),
	SCORE(CSAT, "3 3 3", 3, ""),
	SCORE(CSAT, "5 estrelas", 5, ""),                       /* a unit is not the comment */
	SCORE(CSAT, "4 bom atendimento", 4, "bom atendimento"),
	SCORE(CSAT, "5 stars, great service", 5, "great service"),
	SCORE(CSAT, "5 10 minutos de espera", 5, "10 minutos de espera"),
	INVALID(CSAT, "0", OUT_OF_RANGE),
	INVALID(CSAT, "6", OUT_OF_RANGE),
	INVALID(CSAT, "10", OUT_OF_RANGE),
	INVALID(CSAT, "4,5", NOT_INTEGER),
	SCORE(CSAT, "4/5", 4, ""),
	INVALID(CSAT, "1 2 3 4 5", AMBIGUOUS),

	/* opt-out words, any case, trailing ASCII punctuation */
	OPT_OUT(NPS, "STOP"),
	OPT_OUT(NPS, "stop"),
	OPT_OUT(NPS, "Stop."),
	OPT_OUT(NPS, " StOp!! \r\n"),
	OPT_OUT(NPS, "STOPALL"),
	OPT_OUT(CES, "unsubscribe"),
	OPT_OUT(CES, "Cancel"),
	OPT_OUT(CES, "end"),
	OPT_OUT(CES, "QUIT"),
	OPT_OUT(NPS, "baja"),
	OPT_OUT(NPS, "Baja."),
	OPT_OUT(NPS, INV_EXCL "BAJA!"),
	OPT_OUT(NPS, "parar"),
	OPT_OUT(CSAT, "CANCELAR"),
	OPT_OUT(CSAT, "sair"),
	OPT_OUT(CSAT, "Sair!"),
	OPT_OUT(CSAT, "PARE"),
	OPT_OUT(CSAT, "pare\r\n"),
	OPT_OUT(NPS, NBSP "Stop" NBSP),

	/* opt-in words */
	OPT_IN(NPS, "START"),
	OPT_IN(NPS, "start"),
	OPT_IN(CES, "Unstop"),
	OPT_IN(CSAT, "alta"),
	OPT_IN(NPS, "ALTA!"),

	/* near misses: not the whole reply, or not exactly the word */
	INVALID(NPS, "stop please", NO_NUMBER),
	INVALID(NPS, "no stop", NO_NUMBER),
	INVALID(NPS, "STOPP", NO_NUMBER),
	INVALID(NPS, "STOP\0", NO_NUMBER),
	INVALID(NPS, "ST\0OP", NO_NUMBER),
	INVALID(NPS, "\0STOP", NO_NUMBER),
	INVALID(NPS, "STO", NO_NUMBER),
	SCORE(NPS, "stop 10", 10, "stop"),              /* a score at the end; not an opt-out */
	INVALID(NPS, "dar de baja", NO_NUMBER),
	INVALID(NPS, "startx", NO_NUMBER),

	/* digits with decorations, keycaps and fullwidth digits */
	SCORE(NPS, "10.", 10, ""),
	SCORE(NPS, "*8*", 8, ""),
	SCORE(NPS, "_9_", 9, ""),
	SCORE(NPS, "#9", 9, ""),
	SCORE(NPS, "(9)", 9, ""),
	SCORE(NPS, "\"10\"", 10, ""),
	SCORE(NPS, "«10»", 10, ""),
	SCORE(NPS, "~9~", 9, ""),
	SCORE(NPS, "*10* muy bien", 10, "muy bien"),
	SCORE(NPS, "- 9", 9, ""),                       /* a bullet, not a minus */
	SCORE(NPS, "10 - excelente", 10, "excelente"),
	SCORE(NPS, "10: excelente", 10, "excelente"),
	SCORE(NPS, "10.Excelente", 10, "Excelente"),
	SCORE(NPS, "9" KEYCAP, 9, ""),
	SCORE(NPS, "9" KEYCAP_BARE, 9, ""),
	SCORE(NPS, "9" VS16, 9, ""),
	SCORE(NPS, "🔟", 10, ""),
	SCORE(NPS, "🔟🔟", 10, ""),
	SCORE(NPS, "🔟 excelente", 10, "excelente"),
	SCORE(NPS, "1" KEYCAP "0" KEYCAP, 10, ""),
	SCORE(NPS, "0" KEYCAP, 0, ""),
	SCORE(NPS, "１０", 10, ""),
	SCORE(NPS, "９", 9, ""),
	SCORE(NPS, "８ muy bien", 8, "muy bien"),
	SCORE(CSAT, "5" KEYCAP, 5, ""),
	INVALID(CSAT, "🔟", OUT_OF_RANGE),
	INVALID(NPS, "1" KEYCAP "1" KEYCAP, OUT_OF_RANGE),

	/* the decimal digits of every script (Unicode Nd), one script a number */
	SCORE(NPS, "٩", 9, ""),                         /* Arabic-Indic */
	SCORE(NPS, "٠", 0, ""),
	SCORE(NPS, "١٠", 10, ""),
	SCORE(NPS, "٠٩", 9, ""),
	SCORE(NPS, "۹", 9, ""),                         /* Extended Arabic-Indic (Persian, Urdu) */
	SCORE(NPS, "۱۰", 10, ""),
	SCORE(NPS, "९", 9, ""),                         /* Devanagari */
	SCORE(NPS, "१०", 10, ""),
	SCORE(NPS, "৯", 9, ""),                         /* Bengali */
	SCORE(NPS, "๙", 9, ""),                         /* Thai */
	SCORE(NPS, "၉", 9, ""),                         /* Myanmar */
	SCORE(NPS, "𝟗", 9, ""),                         /* mathematical bold, four bytes */
	SCORE(NPS, "𝟏𝟎", 10, ""),
	SCORE(NPS, "🯹", 9, ""),                         /* segmented */
	SCORE(NPS, "1" KEYCAP "0", 10, ""),             /* keycaps are ASCII digits */
	SCORE(NPS, "٩ muy amables", 9, "muy amables"),
	SCORE(NPS, "٩ شكرا", 9, "شكرا"),
	SCORE(NPS, "le doy un ٨", 8, ""),
	SCORE(NPS, "Muy bien, ٩", 9, "Muy bien"),
	SCORE(NPS, "*٩*", 9, ""),
	SCORE(NPS, "٩/١٠", 9, ""),
	SCORE(NPS, "١٠ ١٠", 10, ""),
	SCORE(NPS, "10 ١٠", 10, ""),                    /* one number in two scripts: a repeat */
	SCORE(CES, "٧", 7, ""),
	SCORE(CSAT, "٥", 5, ""),
	INVALID(CSAT, "٦", OUT_OF_RANGE),
	INVALID(NPS, "١١", OUT_OF_RANGE),
	INVALID(NPS, "-١", OUT_OF_RANGE),
	INVALID(NPS, "٧ u ٨", AMBIGUOUS),
	INVALID(NPS, "٧-٨", AMBIGUOUS),
	INVALID(NPS, "٩,٥", NOT_INTEGER),
	INVALID(NPS, "٩٫٥", NOT_INTEGER),              /* the Arabic decimal separator */
	INVALID(NPS, "٩abc", NO_NUMBER),
	INVALID(NPS, "1٠", NO_NUMBER),                  /* digits of two scripts in one number */
	INVALID(NPS, "١0", NO_NUMBER),
	INVALID(NPS, "1０", NO_NUMBER),
	INVALID(NPS, "𝟏0", NO_NUMBER),
	INVALID(NPS, "९٠", NO_NUMBER),
	INVALID(NPS, "Muy bien 1٠", NO_NUMBER),
	SCORE(NPS, "tardaron 1٠ días, 9", 9, "tardaron 1٠ días"),     /* nor another candidate */
	INVALID(NPS, "⑨", NO_NUMBER),                   /* digits that are not decimal ones */
	INVALID(NPS, "²", NO_NUMBER),
	INVALID(NPS, "Ⅸ", NO_NUMBER),
	INVALID(NPS, "九", NO_NUMBER),

	/* signature lines after the reply are dropped; other lines are the comment */
	SCORE(NPS, "9\nEnviado desde mi iPhone", 9, ""),
	SCORE(NPS, "9\r\nSent from my iPhone\r\n", 9, ""),
	SCORE(NPS, "8 muy bien\nEnviado do meu iPhone", 8, "muy bien"),
	SCORE(NPS, "10\n\nGet Outlook for Android", 10, ""),
	SCORE(NPS, "7\nGracias\nEnviado desde mi Samsung Galaxy", 7, "Gracias"),
	SCORE(NPS, "10\n--\nSent from my iPad", 10, ""),
	SCORE(NPS, "Muy bien, 9\nEnviado desde mi iPhone", 9, "Muy bien"),
	SCORE(NPS, "9 Enviado desde mi iPhone", 9, "Enviado desde mi iPhone"),  /* same line */
	INVALID(NPS, "Enviado desde mi iPhone", NO_NUMBER),
	INVALID(NPS, "\nSent from my iPhone", NO_NUMBER),
	OPT_OUT(NPS, "STOP\nSent from my iPhone"),

	/* Spanish number words, any case, with or without accents */
	SCORE(NPS, "cero", 0, ""),
	SCORE(NPS, "uno", 1, ""),
	SCORE(NPS, "una", 1, ""),
	SCORE(NPS, "dos", 2, ""),
	SCORE(NPS, "tres", 3, ""),
	SCORE(NPS, "cuatro", 4, ""),
	SCORE(NPS, "cinco", 5, ""),
	SCORE(NPS, "seis", 6, ""),
	SCORE(NPS, "siete", 7, ""),
	SCORE(NPS, "ocho", 8, ""),
	SCORE(NPS, "nueve", 9, ""),
	SCORE(NPS, "diez", 10, ""),
	SCORE(NPS, "Diez", 10, ""),
	SCORE(NPS, "DIEZ!!!", 10, ""),
	SCORE(NPS, "ocho.", 8, ""),
	SCORE(NPS, "CERO", 0, ""),
	SCORE(NPS, "tRes", 3, ""),
	SCORE(NPS, INV_EXCL "Nueve!", 9, ""),
	SCORE(NPS, "*diez*", 10, ""),

	/* English number words */
	SCORE(NPS, "zero", 0, ""),
	SCORE(NPS, "one", 1, ""),
	SCORE(NPS, "two", 2, ""),
	SCORE(NPS, "three", 3, ""),
	SCORE(NPS, "four", 4, ""),
	SCORE(NPS, "five", 5, ""),
	SCORE(NPS, "six", 6, ""),
	SCORE(NPS, "seven", 7, ""),
	SCORE(NPS, "eight", 8, ""),
	SCORE(NPS, "nine", 9, ""),
	SCORE(NPS, "ten", 10, ""),
	SCORE(NPS, "Ten!", 10, ""),

	/* Portuguese number words */
	SCORE(NPS, "um", 1, ""),
	SCORE(NPS, "uma", 1, ""),
	SCORE(NPS, "dois", 2, ""),
	SCORE(NPS, "duas", 2, ""),
	SCORE(NPS, "três", 3, ""),
	SCORE(NPS, "TRÊS", 3, ""),
	SCORE(NPS, "quatro", 4, ""),
	SCORE(NPS, "sete", 7, ""),
	SCORE(NPS, "oito", 8, ""),
	SCORE(NPS, "nove", 9, ""),
	SCORE(NPS, "dez", 10, ""),
	SCORE(NPS, "Dez!", 10, ""),

	/* a number word with nothing leading up to it must stand apart from the text after it */
	SCORE(NPS, "Diez, muy amables", 10, "muy amables"),
	SCORE(NPS, "Diez\nmuy amables", 10, "muy amables"),
	SCORE(NPS, "Ocho. Rápido y amable", 8, "Rápido y amable"),
	SCORE(NPS, "Diez 👍", 10, "👍"),
	SCORE(NPS, "Muy amables, diez", 10, "Muy amables"),
	INVALID(NPS, "Diez muy amables", NO_NUMBER),
	INVALID(NPS, "Dos veces llamé y nada", NO_NUMBER),
	INVALID(NPS, "Una maravilla", NO_NUMBER),
	INVALID(NPS, "Cero problemas", NO_NUMBER),
	INVALID(NPS, "Um absurdo", NO_NUMBER),
	INVALID(NPS, "One word: slow", NO_NUMBER),
	INVALID(NPS, "Once upon a time", NO_NUMBER),
	INVALID(NPS, "Me atendió uno", NO_NUMBER),
	INVALID(NPS, "Zero complaints", NO_NUMBER),

	/* articles before a number are not numbers */
	SCORE(NPS, "un 8", 8, ""),
	SCORE(NPS, "Un 9, muy buena atención", 9, "muy buena atención"),
	SCORE(NPS, "uma nota 7", 7, ""),
	SCORE(NPS, "um 10", 10, ""),
	SCORE(NPS, "una nota de 9", 9, ""),
	SCORE(NPS, "a 10", 10, ""),
	SCORE(NPS, "un nueve", 9, ""),
	INVALID(NPS, "un", NO_NUMBER),

	/* phrases leading up to the number */
	SCORE(NPS, "le doy un 9", 9, ""),
	SCORE(NPS, "le doy 9", 9, ""),
	SCORE(NPS, "le pongo un 7 porque…", 7, "porque…"),
	SCORE(NPS, "Le doy un 10 pero tardaron", 10, "pero tardaron"),
	SCORE(NPS, "le doy un nueve", 9, ""),
	SCORE(NPS, "le doy un nueve porque tardaron", 9, "porque tardaron"),
	SCORE(NPS, "Yo le pondría un 8", 8, ""),
	SCORE(NPS, "Le daría un 9", 9, ""),
	SCORE(NPS, "lo califico con un 10", 10, ""),
	SCORE(NPS, "Merecen un 10", 10, ""),
	SCORE(NPS, "nota 10", 10, ""),
	SCORE(NPS, "Nota: 9", 9, ""),
	SCORE(NPS, "nota:9", 9, ""),
	SCORE(NPS, "Mi nota es 9", 9, ""),
	SCORE(NPS, "Calificación: 10", 10, ""),
	SCORE(NPS, "es un 10", 10, ""),
	SCORE(NPS, "dou 7", 7, ""),
	SCORE(NPS, "nota dez!", 10, ""),
	SCORE(NPS, "Eu daria 8", 8, ""),
	SCORE(NPS, "Eu dou nota 10 pro atendimento", 10, "pro atendimento"),
	SCORE(NPS, "Minha nota é 9", 9, ""),
	SCORE(NPS, "Vou dar 9", 9, ""),
	SCORE(NPS, "I'd give it a 10", 10, ""),
	SCORE(NPS, "I\xe2\x80\x99" "d give it a 10", 10, ""),     /* typographic apostrophe */
	SCORE(NPS, "I would give it 8", 8, ""),
	SCORE(NPS, "I'd give them a 9 out of 10", 9, ""),
	SCORE(NPS, "My score is 9", 9, ""),
	SCORE(NPS, "a solid 8", 8, ""),
	SCORE(NPS, "I'd say 7 out of 10", 7, ""),
	SCORE(NPS, "Rating: 9, great service", 9, "great service"),
	INVALID(NPS, "le doy las gracias", NO_NUMBER),
	INVALID(NPS, "dar de baja", NO_NUMBER),

	/* the scale's top as a denominator */
	SCORE(NPS, "9/10", 9, ""),
	SCORE(NPS, "9 / 10", 9, ""),
	SCORE(NPS, "8 de 10", 8, ""),
	SCORE(NPS, "ocho de diez", 8, ""),
	SCORE(NPS, "8 out of 10", 8, ""),
	SCORE(NPS, "7 of 10", 7, ""),
	SCORE(NPS, "9 sobre 10", 9, ""),
	SCORE(NPS, "10/10", 10, ""),
	SCORE(NPS, "10/10 excelente", 10, "excelente"),
	SCORE(NPS, "0/10", 0, ""),
	SCORE(NPS, "nota 9/10", 9, ""),
	SCORE(NPS, "*9/10*", 9, ""),
	SCORE(NPS, "10 de verdad", 10, "de verdad"),    /* "de" without a number: comment */
	INVALID(NPS, "9/12", AMBIGUOUS),                /* a top that is not the scale's */
	INVALID(NPS, "5 de 5", AMBIGUOUS),
	INVALID(NPS, "11/10", OUT_OF_RANGE),
	INVALID(NPS, "10.5/10", NOT_INTEGER),
	INVALID(NPS, "9/12/2024", NO_NUMBER),           /* a date */
	INVALID(NPS, "9:30", NO_NUMBER),                /* a time */
	INVALID(NPS, "1.234.567", NO_NUMBER),

	/* a leading score keeps the rest as its comment, numbers included */
	SCORE(NPS, "9 aunque tardaron 2 días", 9, "aunque tardaron 2 días"),
	SCORE(NPS, "8, tardaron 3 días en responder", 8, "tardaron 3 días en responder"),
	SCORE(NPS, "10 o más", 10, "o más"),
	SCORE(NPS, "10 <3", 10, "<3"),
	SCORE(NPS, "10 diez", 10, "diez"),
	SCORE(NPS, "10 😀", 10, "😀"),

	/* repeats */
	SCORE(NPS, "9, 9", 9, ""),
	SCORE(NPS, "diez diez", 10, ""),
	SCORE(NPS, "10/10 10/10", 10, ""),
	SCORE(NPS, "10 - 10", 10, ""),

	/* alternatives and ranges */
	INVALID(NPS, "entre 7 y 8", AMBIGUOUS),
	INVALID(NPS, "Entre 8 e 9", AMBIGUOUS),
	INVALID(NPS, "between 7 and 8", AMBIGUOUS),
	INVALID(NPS, "7 ou 8", AMBIGUOUS),
	INVALID(NPS, "7-8", AMBIGUOUS),
	INVALID(NPS, "7 - 8", AMBIGUOUS),
	INVALID(NPS, "7" EN_DASH "8", AMBIGUOUS),
	INVALID(NPS, "7/8", AMBIGUOUS),
	INVALID(NPS, "7 a 8", AMBIGUOUS),
	INVALID(NPS, "siete u ocho", AMBIGUOUS),
	INVALID(NPS, "un 7 o un 8", AMBIGUOUS),
	INVALID(NPS, "del 7 al 8", AMBIGUOUS),
	INVALID(NPS, "Creo que 7 u 8", AMBIGUOUS),
	INVALID(NPS, "9 9 8", AMBIGUOUS),
	INVALID(NPS, "tardaron 3 días, 10", AMBIGUOUS),

	/* fractions */
	INVALID(NPS, "nueve y medio", NOT_INTEGER),
	INVALID(NPS, "9 y medio", NOT_INTEGER),
	INVALID(NPS, "nove e meio", NOT_INTEGER),
	INVALID(NPS, "nine and a half", NOT_INTEGER),
	INVALID(NPS, "9½", NOT_INTEGER),
	INVALID(NPS, "le doy un 8,5", NOT_INTEGER),

	/* out of range */
	INVALID(NPS, "-5", OUT_OF_RANGE),
	INVALID(NPS, MINUS "1", OUT_OF_RANGE),
	INVALID(NPS, "once", OUT_OF_RANGE),            /* Spanish 11 */
	INVALID(NPS, "onze", OUT_OF_RANGE),
	INVALID(NPS, "eleven", OUT_OF_RANGE),
	INVALID(NPS, "le doy un 11", OUT_OF_RANGE),
	INVALID(NPS, "12 muy bueno", OUT_OF_RANGE),
	INVALID(NPS, "gracias, le doy un 11", OUT_OF_RANGE),

	/* a score at the end of the text: the text before it is the comment */
	SCORE(NPS, "Muy buena atención, 10", 10, "Muy buena atención"),
	SCORE(NPS, "Excelente servicio le doy un 10", 10, "Excelente servicio"),
	SCORE(NPS, INV_EXCL "Excelente! 10", 10, INV_EXCL "Excelente!"),
	SCORE(NPS, "Muy bien 10 👍👍", 10, "Muy bien"),
	SCORE(NPS, "Uno de los mejores, 10", 10, "Uno de los mejores"),
	SCORE(NPS, "tardaron 3 días, le doy un 6", 6, "tardaron 3 días"),
	SCORE(NPS, "Great service, 9/10", 9, "Great service"),
	SCORE(NPS, "Atendimento ótimo, nota 10", 10, "Atendimento ótimo"),
	SCORE(NPS, "Le doy las gracias, 10", 10, "Le doy las gracias"),
	SCORE(NPS, "Todo bien, es un 8", 8, "Todo bien"),
	SCORE(NPS, "👍 10", 10, "👍"),
	INVALID(NPS, "mi pedido 12345", NO_NUMBER),    /* not out_of_range: no score meant */
	INVALID(NPS, "Llegó el 9/12", NO_NUMBER),
	INVALID(NPS, "gracias 11", NO_NUMBER),

	/* a rating phrase in the middle: the whole reply is the comment */
	SCORE(NPS, "Gracias, le doy un 9 pero tardaron", 9, "Gracias, le doy un 9 pero tardaron"),
	SCORE(NPS, "Muy amables, nota 9 aunque tardaron", 9,
	      "Muy amables, nota 9 aunque tardaron"),
	INVALID(NPS, "Bueno, le doy un 7 u 8 la verdad", AMBIGUOUS),

	/* nothing that reads as a number */
	INVALID(NPS, "Muchas gracias por todo", NO_NUMBER),
	INVALID(NPS, "ok", NO_NUMBER),
	INVALID(NPS, "👍👍👍", NO_NUMBER),
	INVALID(NPS, "😡", NO_NUMBER),
	INVALID(NPS, "100%", NO_NUMBER),
	INVALID(NPS, "<3", NO_NUMBER),
	INVALID(NPS, "ID 12345", NO_NUMBER),
	INVALID(NPS, "nota10", NO_NUMBER),

	/* CES 1-7 */
	SCORE(CES, "siete", 7, ""),
	SCORE(CES, "sete", 7, ""),
	SCORE(CES, "seven", 7, ""),
	SCORE(CES, "uno", 1, ""),
	SCORE(CES, "Le doy un 6", 6, ""),
	SCORE(CES, "6/7", 6, ""),
	SCORE(CES, "7/7", 7, ""),
	SCORE(CES, "6 de 7", 6, ""),
	SCORE(CES, "5 out of 7", 5, ""),
	SCORE(CES, "Muito fácil, 7", 7, "Muito fácil"),
	SCORE(CES, "I'd say 2, took forever", 2, "took forever"),
	SCORE(CES, "*6*", 6, ""),
	SCORE(CES, "7" KEYCAP, 7, ""),
	INVALID(CES, "ocho", OUT_OF_RANGE),
	INVALID(CES, "diez", OUT_OF_RANGE),
	INVALID(CES, "cero", OUT_OF_RANGE),
	INVALID(CES, "zero", OUT_OF_RANGE),
	INVALID(CES, "9/10", AMBIGUOUS),
	INVALID(CES, "6 o 7", AMBIGUOUS),
	INVALID(CES, "fácil", NO_NUMBER),

	/* CSAT 1-5 */
	SCORE(CSAT, "Le doy 5 estrellas", 5, ""),
	SCORE(CSAT, "5 ⭐", 5, ""),
	SCORE(CSAT, "5⭐", 5, ""),
	SCORE(CSAT, "5 ⭐" VS16 "⭐" VS16 "⭐" VS16 "⭐" VS16 "⭐" VS16, 5, ""),
	SCORE(CSAT, "4 estrellas, muy bien", 4, "muy bien"),
	SCORE(CSAT, "5 stars", 5, ""),
	SCORE(CSAT, "cinco", 5, ""),
	SCORE(CSAT, "five", 5, ""),
	SCORE(CSAT, "cinco estrelas", 5, ""),
	SCORE(CSAT, "Dou 5 estrelas", 5, ""),
	SCORE(CSAT, "3/5", 3, ""),
	SCORE(CSAT, "4 de 5", 4, ""),
	SCORE(CSAT, "5 out of 5", 5, ""),
	SCORE(CSAT, "5 de 5 estrellas", 5, ""),
	SCORE(CSAT, "Nota 4, bom atendimento", 4, "bom atendimento"),
	SCORE(CSAT, "Un 4", 4, ""),
	INVALID(CSAT, "diez", OUT_OF_RANGE),
	INVALID(CSAT, "seis", OUT_OF_RANGE),
	INVALID(CSAT, "DEZ", OUT_OF_RANGE),
	INVALID(CSAT, "Cero", OUT_OF_RANGE),
	INVALID(CSAT, "10/10", AMBIGUOUS),
	INVALID(CSAT, "8/10", AMBIGUOUS),
	INVALID(CSAT, "4 o 5", AMBIGUOUS),
	INVALID(CSAT, "4,5 estrellas", NOT_INTEGER),

	/* a row of stars is a five-star rating: on its own it reads on a scale of 1-5 (CSAT) */
	SCORE(CSAT, "⭐⭐⭐⭐⭐", 5, ""),
	SCORE(CSAT, "⭐⭐⭐⭐", 4, ""),
	SCORE(CSAT, "★★★★", 4, ""),
	SCORE(CSAT, "🌟🌟🌟", 3, ""),
	SCORE(CSAT, "⭐★🌟", 3, ""),                    /* any mix of filled stars */
	SCORE(CSAT, "⭐" VS16 "⭐" VS16 "⭐" VS16 "⭐" VS16, 4, ""),
	SCORE(CSAT, "★" VS15 "★" VS15, 2, ""),          /* the text look */
	SCORE(CSAT, "⭐ ⭐ ⭐", 3, ""),
	SCORE(CSAT, "⭐⭐\n⭐⭐", 4, ""),
	SCORE(CSAT, "⭐", 1, ""),                       /* one star as the whole reply */
	SCORE(CSAT, "⭐!", 1, ""),
	SCORE(CSAT, "*⭐⭐⭐*", 3, ""),
	SCORE(CSAT, "le doy ⭐⭐⭐⭐", 4, ""),
	SCORE(CSAT, "Le doy ⭐", 1, ""),
	INVALID(CSAT, "⭐⭐⭐⭐⭐⭐", OUT_OF_RANGE),      /* more stars than the scale */
	INVALID(CSAT, "⭐⭐⭐½", NOT_INTEGER),
	/* ... with a number, which it must agree with: one star is a unit, more count */
	SCORE(CSAT, "4⭐", 4, ""),
	SCORE(CSAT, "⭐ 4", 4, ""),
	SCORE(CSAT, "⭐4", 4, ""),
	SCORE(CSAT, "⭐⭐⭐⭐ 4", 4, ""),
	SCORE(CSAT, "4 ⭐⭐⭐⭐", 4, ""),
	SCORE(CSAT, "cuatro ⭐⭐⭐⭐", 4, ""),
	SCORE(CSAT, "4/5 ⭐⭐⭐⭐", 4, ""),
	SCORE(CSAT, "⭐⭐⭐⭐ 4/5", 4, ""),
	SCORE(CSAT, "4, ⭐⭐⭐⭐", 4, ""),                /* a repeat */
	SCORE(CSAT, "5, ⭐", 5, "⭐"),                  /* one star after it: a decoration */
	SCORE(CSAT, "1, ⭐", 1, "⭐"),                  /* ... and no repeat */
	SCORE(CSAT, "⭐ 4 muy bien", 4, "muy bien"),
	INVALID(CSAT, "5 ⭐⭐", AMBIGUOUS),
	INVALID(CSAT, "⭐⭐ 5", AMBIGUOUS),
	INVALID(CSAT, "4, ⭐⭐", AMBIGUOUS),
	INVALID(CSAT, "⭐ 6", OUT_OF_RANGE),
	INVALID(CSAT, "6 ⭐⭐⭐⭐⭐⭐", OUT_OF_RANGE),
	/* ... empty stars show the scale, which must be the kind's */
	SCORE(CSAT, "★★★☆☆", 3, ""),
	SCORE(CSAT, "★★★★☆ bien", 4, "bien"),
	SCORE(CSAT, "3 ★★★☆☆", 3, ""),
	INVALID(CSAT, "★★★☆", AMBIGUOUS),
	INVALID(CSAT, "3 ★★★☆", AMBIGUOUS),
	INVALID(CSAT, "☆", AMBIGUOUS),
	INVALID(CSAT, "☆☆☆☆☆", OUT_OF_RANGE),
	/* ... with a comment, where a number would be: at the start or the end */
	SCORE(CSAT, "⭐⭐⭐⭐ muy bien", 4, "muy bien"),
	SCORE(CSAT, "Muy bien ⭐⭐⭐⭐", 4, "Muy bien"),
	SCORE(CSAT, "Excelente⭐⭐⭐⭐⭐", 5, "Excelente"),
	SCORE(CSAT, "⭐⭐⭐ excelente, 5", 3, "excelente, 5"),   /* like "5 10 minutos" */
	INVALID(CSAT, "Muy bien ⭐⭐⭐⭐⭐⭐", OUT_OF_RANGE),
	INVALID(CSAT, "tardaron 3 días ⭐⭐⭐⭐⭐", AMBIGUOUS),
	INVALID(CSAT, "Muy bien ⭐⭐⭐⭐ gracias", NO_NUMBER),   /* inside the text */
	INVALID(CSAT, "Gracias ⭐", NO_NUMBER),          /* one star beside words: a decoration */
	INVALID(CSAT, "⭐ Excelente", NO_NUMBER),
	/* ... on a scale of 0-10 or 1-7 a row of stars alone is no score; a number is */
	INVALID(NPS, "⭐⭐⭐⭐⭐", AMBIGUOUS),
	INVALID(NPS, "⭐", AMBIGUOUS),
	INVALID(NPS, "★★★☆☆", AMBIGUOUS),
	INVALID(NPS, "Excelente ⭐⭐⭐⭐⭐", AMBIGUOUS),
	INVALID(CES, "⭐⭐⭐⭐⭐⭐⭐", AMBIGUOUS),
	INVALID(NPS, "Gracias ⭐", NO_NUMBER),
	SCORE(NPS, "⭐⭐⭐⭐⭐ excelente, 10", 10, "⭐⭐⭐⭐⭐ excelente"),
	SCORE(NPS, "9 ⭐", 9, ""),
	SCORE(NPS, "⭐ 9", 9, ""),
	SCORE(NPS, "10 ⭐⭐⭐⭐⭐⭐⭐⭐⭐⭐", 10, ""),
	SCORE(NPS, "5 ⭐⭐⭐⭐⭐", 5, ""),                /* like "5 estrellas" */
	SCORE(CES, "7 ⭐⭐⭐⭐⭐⭐⭐", 7, ""),
	INVALID(NPS, "10 ⭐⭐⭐⭐⭐", AMBIGUOUS),
	INVALID(NPS, "3 ★★★☆☆", AMBIGUOUS),

	/* more keywords and near misses */
	OPT_OUT(NPS, "Pare!"),
	OPT_OUT(CES, "Quit."),
	OPT_OUT(CSAT, "Sair."),
	OPT_OUT(NPS, "  Cancelar  "),
	OPT_IN(NPS, "Start."),
	OPT_IN(CSAT, INV_EXCL "Alta!"),
	INVALID(NPS, "no quiero parar", NO_NUMBER),
	INVALID(NPS, "baja por favor", NO_NUMBER),
	INVALID(NPS, "stop all", NO_NUMBER),
	INVALID(NPS, "quiero darme de baja", NO_NUMBER),
};

/* Prints bytes with C escapes so that a failing row can be read. */
static void print_bytes(const char *label, const char *s, size_t n)
{
	size_t i;

	print_message("%s\"", label);
	for (i = 0; i < n && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			print_message("%c", c);
		else
			print_message("\\x%02x", c);
	}
	print_message("\"%s\n", n > 80 ? "..." : "");
}

/* Parses `text` from an exact-size heap copy and checks the answer's invariants. */
static void parse_copy(enum survey_kind kind, const char *text, size_t len, struct reply *out,
		       char **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	if (len)
		memcpy(*copy, text, len);
	reply_parse(kind, *copy, len, out);
	assert_true(out->comment_len <= len);
	if (out->comment_len) {
		assert_true(out->comment >= *copy);
		assert_true(out->comment + out->comment_len <= *copy + len);
	}
	assert_true((out->outcome == REPLY_INVALID) == (out->reason != REASON_NONE));
	if (out->outcome == REPLY_SCORE) {
		assert_true(out->score >= kind_min(kind));
		assert_true(out->score <= kind_max(kind));
	} else {
		assert_int_equal(out->comment_len, 0);
	}
}

static int row_matches(const struct row *r, const struct reply *got)
{
	if (got->outcome != r->outcome || got->reason != r->reason)
		return 0;
	if (r->outcome != REPLY_SCORE)
		return 1;
	return got->score == r->score && got->comment_len == r->comment_len &&
	       memcmp(got->comment, r->comment, r->comment_len) == 0;
}

/*
 * Formats `r` and reads the JSON back with jansson: it must parse and say the
 * same thing; a comment that is valid UTF-8 must come back byte for byte, any other one as
 * utf8_sanitize() would make it (NULs aside, which JSON escapes).
 */
static void check_json(const struct reply *r)
{
	size_t n = reply_format_json(r, NULL, 0), len;
	char *buf = malloc(n + 1), *want;
	json_error_t jerr;
	json_t *j, *comment;

	assert_non_null(buf);
	assert_int_equal(reply_format_json(r, buf, n + 1), n);
	j = json_loadb(buf, n, JSON_ALLOW_NUL, &jerr);
	if (!j)
		print_message("not JSON (%s): %.200s\n", jerr.text, buf);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "outcome")),
			    reply_outcome_name(r->outcome));
	if (r->outcome == REPLY_INVALID)
		assert_string_equal(json_string_value(json_object_get(j, "reason")),
				    reply_reason_name(r->reason));
	if (r->outcome == REPLY_SCORE) {
		assert_int_equal(json_integer_value(json_object_get(j, "score")), r->score);
		comment = json_object_get(j, "comment");
		assert_non_null(comment);
		if (!memchr(r->comment, '\0', r->comment_len)) {
			want = utf8_sanitize(r->comment, r->comment_len, &len);
			assert_non_null(want);
			assert_int_equal(json_string_length(comment), len);
			assert_memory_equal(json_string_value(comment), want, len);
			free(want);
		}
	}
	json_decref(j);
	free(buf);
}

/* Runs every row and reports all mismatches before failing, not just the first. */
static void test_rows(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct reply got;
		char *copy;

		parse_copy(r->kind, r->text, r->len, &got, &copy);
		check_json(&got);
		if (!row_matches(r, &got)) {
			failed++;
			print_message("row %zu (%s):\n", i, kind_name(r->kind));
			print_bytes("  input:    ", r->text, r->len);
			print_message("  expected: %s %s %d\n", reply_outcome_name(r->outcome),
				      reply_reason_name(r->reason), r->score);
			print_bytes("            comment ", r->comment, r->comment_len);
			print_message("  got:      %s %s %d\n", reply_outcome_name(got.outcome),
				      reply_reason_name(got.reason), got.score);
			print_bytes("            comment ", got.comment, got.comment_len);
		}
		free(copy);
	}
	print_message("%zu rows, %zu failed\n", i, failed);
	assert_int_equal(failed, 0);
}

static void test_names(void **state)
{
	static const struct { enum reply_outcome o; const char *name; } outcomes[] = {
		{ REPLY_SCORE, "score" },
		{ REPLY_INVALID, "invalid" },
		{ REPLY_OPT_OUT, "opt_out" },
		{ REPLY_OPT_IN, "opt_in" },
	};
	static const struct { enum reply_reason r; const char *name; } reasons[] = {
		{ REASON_NONE, "" },
		{ REASON_OUT_OF_RANGE, "out_of_range" },
		{ REASON_AMBIGUOUS, "ambiguous" },
		{ REASON_NO_NUMBER, "no_number" },
		{ REASON_NOT_INTEGER, "not_integer" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		assert_string_equal(reply_outcome_name(outcomes[i].o), outcomes[i].name);
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		assert_string_equal(reply_reason_name(reasons[i].r), reasons[i].name);
}

static void test_null_text(void **state)
{
	struct reply got;

	(void)state;
	reply_parse(KIND_NPS, NULL, 0, &got);
	assert_int_equal(got.outcome, REPLY_INVALID);
	assert_int_equal(got.reason, REASON_NO_NUMBER);
	assert_int_equal(got.comment_len, 0);
}

/* reply_format_json(): a reply and the exact text expected. */
#define JSCORE(sc, c, json) { { REPLY_SCORE, REASON_NONE, sc, c, sizeof(c) - 1 }, json }
#define JINVALID(r, json)   { { REPLY_INVALID, REASON_##r, 0, "", 0 }, json }
#define FFFD "\xef\xbf\xbd"

static const struct json_row {
	struct reply r;
	const char *json;
} json_rows[] = {
	JSCORE(9, "muy amables", "{\"outcome\":\"score\",\"score\":9,\"comment\":\"muy amables\"}"),
	JSCORE(0, "", "{\"outcome\":\"score\",\"score\":0,\"comment\":\"\"}"),
	JSCORE(10, "dijo \"hola\" \\ adiós", "{\"outcome\":\"score\",\"score\":10,"
	       "\"comment\":\"dijo \\\"hola\\\" \\\\ adiós\"}"),
	JSCORE(10, "a\nb\rc\td", "{\"outcome\":\"score\",\"score\":10,\"comment\":\"a\\nb\\rc\\td\"}"),
	JSCORE(10, "\x01\x1f\x7f/", "{\"outcome\":\"score\",\"score\":10,"
	       "\"comment\":\"\\u0001\\u001f\x7f/\"}"),
	JSCORE(10, "a\0b", "{\"outcome\":\"score\",\"score\":10,\"comment\":\"a\\u0000b\"}"),
	JSCORE(10, "\xf0\x9f\x91\x8d ñ", "{\"outcome\":\"score\",\"score\":10,"
	       "\"comment\":\"\xf0\x9f\x91\x8d ñ\"}"),
	/* invalid UTF-8: each byte that starts no valid sequence becomes U+FFFD */
	JSCORE(10, "\xff", "{\"outcome\":\"score\",\"score\":10,\"comment\":\"" FFFD "\"}"),
	JSCORE(10, "x\xc3", "{\"outcome\":\"score\",\"score\":10,\"comment\":\"x" FFFD "\"}"),
	JSCORE(10, "\xc0\xaf", "{\"outcome\":\"score\",\"score\":10,\"comment\":\"" FFFD FFFD "\"}"),
	JSCORE(10, "\xed\xa0\x80", "{\"outcome\":\"score\",\"score\":10,"
	       "\"comment\":\"" FFFD FFFD FFFD "\"}"),
	JSCORE(10, "\xf0\x9f\x91", "{\"outcome\":\"score\",\"score\":10,"
	       "\"comment\":\"" FFFD FFFD FFFD "\"}"),
	JINVALID(OUT_OF_RANGE, "{\"outcome\":\"invalid\",\"reason\":\"out_of_range\"}"),
	JINVALID(AMBIGUOUS, "{\"outcome\":\"invalid\",\"reason\":\"ambiguous\"}"),
	JINVALID(NO_NUMBER, "{\"outcome\":\"invalid\",\"reason\":\"no_number\"}"),
	JINVALID(NOT_INTEGER, "{\"outcome\":\"invalid\",\"reason\":\"not_integer\"}"),
	{ { REPLY_OPT_OUT, REASON_NONE, 0, "", 0 }, "{\"outcome\":\"opt_out\"}" },
	{ { REPLY_OPT_IN, REASON_NONE, 0, "", 0 }, "{\"outcome\":\"opt_in\"}" },
	{ { REPLY_SCORE, REASON_NONE, 7, NULL, 0 }, "{\"outcome\":\"score\",\"score\":7,\"comment\":\"\"}" },
};

static void test_json(void **state)
{
	char buf[256];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(json_rows) / sizeof(json_rows[0]); i++) {
		n = reply_format_json(&json_rows[i].r, buf, sizeof(buf));
		assert_string_equal(buf, json_rows[i].json);
		assert_int_equal(n, strlen(json_rows[i].json));
	}
}

/* A buffer too small gets a NUL-terminated prefix, and the length the whole text needs. */
static void test_json_truncated(void **state)
{
	const struct json_row *row = &json_rows[0];
	size_t full = strlen(row->json), cap;
	char buf[128];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(reply_format_json(&row->r, buf, 0), full);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(reply_format_json(&row->r, NULL, 0), full);
	for (cap = 1; cap <= full + 1; cap++) {
		size_t kept = cap - 1 < full ? cap - 1 : full;

		memset(buf, 'x', sizeof(buf));
		assert_int_equal(reply_format_json(&row->r, buf, cap), full);
		assert_memory_equal(buf, row->json, kept);
		assert_int_equal(buf[kept], '\0');
		assert_int_equal(buf[cap], 'x');
	}
}

#define MB (1024 * 1024)

/* 1 MB replies, built as `head`, then `fill` bytes of the repeated `unit`, then `tail`. */
static const struct big_row {
	const char *head, *unit, *tail;
	size_t fill;
	enum survey_kind kind;
	enum reply_outcome outcome;
	enum reply_reason reason;
	int score;
	size_t comment_len;     /* expected comment length */
} big_rows[] = {
	{ "10 ", "a", "", MB, KIND_NPS, REPLY_SCORE, REASON_NONE, 10, MB },
	{ "", " ", "7", MB, KIND_CES, REPLY_SCORE, REASON_NONE, 7, 0 },
	{ "", "\r\n", "5\r\n", MB, KIND_CSAT, REPLY_SCORE, REASON_NONE, 5, 0 },
	{ "", "9", "", MB, KIND_NPS, REPLY_INVALID, REASON_OUT_OF_RANGE, 0, 0 },
	{ "", "0", "5", MB, KIND_CSAT, REPLY_SCORE, REASON_NONE, 5, 0 },
	{ "", "10 ", "", MB - 1, KIND_NPS, REPLY_SCORE, REASON_NONE, 10, 0 },
	{ "", "", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },   /* NULs */
	{ "", NBSP, "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "\xc2", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "STOP", "!", "", MB, KIND_NPS, REPLY_OPT_OUT, REASON_NONE, 0, 0 },
	{ "9", ".5", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	/* every token a candidate, or a long lookahead: each must stay linear */
	{ "", "gracias ", "10", MB, KIND_NPS, REPLY_SCORE, REASON_NONE, 10, MB - 1 },
	{ "", "\xf0\x9f\x91\x8d ", "10", MB - 1, KIND_NPS, REPLY_SCORE, REASON_NONE, 10, MB - 2 },
	{ "", "le ", " gracias", MB - 1, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "le doy ", "x", MB - 4, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "una ", "x", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "diez ", "muy", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "x ", "9 ", "y", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "x ", "*", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "x ", "9 \xf0\x9f\x91\x8d ", "y", MB - 4, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "x ", "le *", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "a ", "b", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "1/", "1", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "9/", "10", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "-", "1", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "x ", "9!", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "9 ", "", MB, KIND_NPS, REPLY_SCORE, REASON_NONE, 9, 0 },
	{ "", "7 u 8 ", "", MB - 4, KIND_NPS, REPLY_INVALID, REASON_AMBIGUOUS, 0, 0 },
	{ "", "*", "9", MB, KIND_NPS, REPLY_SCORE, REASON_NONE, 9, 0 },
	{ "", "\xe2\xad\x90", "", MB - 1, KIND_CSAT, REPLY_INVALID, REASON_OUT_OF_RANGE, 0, 0 },
	{ "", "\xe2\xad\x90 ", "", MB, KIND_NPS, REPLY_INVALID, REASON_AMBIGUOUS, 0, 0 },
	{ "x ", "\xe2\xad\x90 x ", "", MB, KIND_CSAT, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "\xe2\xad\x90 9x ", "", MB - 2, KIND_CSAT, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "4 \xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90, ", "", MB, KIND_CSAT,
	  REPLY_SCORE, REASON_NONE, 4, 0 },
	{ "", "le \xe2\xad\x90 ", "", MB - 4, KIND_CSAT, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "9", "\nSent from my iPhone", "", MB - 16, KIND_NPS, REPLY_SCORE, REASON_NONE, 9, 0 },
};

static void test_big(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big_rows) / sizeof(big_rows[0]); i++) {
		const struct big_row *b = &big_rows[i];
		size_t hl = strlen(b->head), ul = strlen(b->unit), tl = strlen(b->tail);
		size_t len = hl + b->fill + tl, pos;
		char *text = malloc(len), *copy;
		struct reply got;

		assert_non_null(text);
		memcpy(text, b->head, hl);
		if (ul == 0)
			memset(text + hl, 0, b->fill);
		for (pos = 0; ul && pos < b->fill; pos++)
			text[hl + pos] = b->unit[pos % ul];
		memcpy(text + hl + b->fill, b->tail, tl);
		parse_copy(b->kind, text, len, &got, &copy);
		print_message("big row %zu: %s %s %d, comment %zu bytes\n", i,
			      reply_outcome_name(got.outcome), reply_reason_name(got.reason),
			      got.score, got.comment_len);
		assert_int_equal(got.outcome, b->outcome);
		assert_int_equal(got.reason, b->reason);
		assert_int_equal(got.score, b->score);
		assert_int_equal(got.comment_len, b->comment_len);
		check_json(&got);
		free(copy);
		free(text);
	}
}

/*
 * Every input of one and two bytes, for every kind: the parser must keep its invariants (checked
 * in parse_copy), print valid JSON, and read a lone in-scale digit as that score.
 */
static void test_every_short_input(void **state)
{
	int k, a, b;

	(void)state;
	for (k = 0; k < KIND__COUNT; k++) {
		for (a = 0; a < 256; a++) {
			char in[2] = { (char)a, 0 };
			struct reply got;
			char *copy;

			parse_copy((enum survey_kind)k, in, 1, &got, &copy);
			check_json(&got);
			free(copy);
			if (a >= '0' && a <= '9' && a - '0' >= kind_min(k) && a - '0' <= kind_max(k)) {
				assert_int_equal(got.outcome, REPLY_SCORE);
				assert_int_equal(got.score, a - '0');
			} else if (a >= '0' && a <= '9') {
				assert_int_equal(got.reason, REASON_OUT_OF_RANGE);
			} else {
				assert_int_equal(got.reason, REASON_NO_NUMBER);
			}
			for (b = 0; b < 256; b++) {
				in[1] = (char)b;
				parse_copy((enum survey_kind)k, in, 2, &got, &copy);
				check_json(&got);
				free(copy);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_null_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_every_short_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
