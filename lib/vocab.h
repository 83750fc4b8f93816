/*
 * vocab.h - the vocabulary every module shares: survey kinds and their scales, channels.
 */
#ifndef GW_VOCAB_H
#define GW_VOCAB_H

enum survey_kind { KIND_NPS, KIND_CES, KIND_CSAT, KIND__COUNT };
enum channel { CHANNEL_SMS, CHANNEL_WHATSAPP, CHANNEL__COUNT };

/* "nps", "ces", "csat". */
const char *kind_name(enum survey_kind k);
/* 0 and the kind in *out when `s` names one, -1 otherwise. */
int kind_from_name(const char *s, enum survey_kind *out);
/* The scale: NPS 0-10, CES 1-7, CSAT 1-5. */
int kind_min(enum survey_kind k);
int kind_max(enum survey_kind k);

/*
 * The category a score falls in, as reports and exports name it:
 *   NPS  promoter 9-10, passive 7-8, detractor 0-6;
 *   CSAT satisfied 4-5, neutral 3, dissatisfied 1-2;
 *   CES  easy 5-7, neutral 4, difficult 1-3.
 * "" for a score outside the kind's scale.
 */
const char *score_category(enum survey_kind k, int score);

/* Seconds from an interaction's opened_at to its closed_at (both "2026-11-22T10:00:00Z", as
 * POST /v1/surveys accepts them; fractions of a second are ignored), or -1 when either is missing
 * or unreadable, or closed_at comes first. */
long long interaction_ttr_seconds(const char *opened_at, const char *closed_at);

/* "sms", "whatsapp". */
const char *channel_name(enum channel c);
int channel_from_name(const char *s, enum channel *out);

#endif
