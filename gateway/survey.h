/*
 * survey.h - the vocabulary every module shares: survey kinds and their scales, channels.
 */
#ifndef GW_SURVEY_H
#define GW_SURVEY_H

enum survey_kind { KIND_NPS, KIND_CES, KIND_CSAT, KIND__COUNT };
enum channel { CHANNEL_SMS, CHANNEL_WHATSAPP, CHANNEL__COUNT };

/* "nps", "ces", "csat". */
const char *kind_name(enum survey_kind k);
/* 0 and the kind in *out when `s` names one, -1 otherwise. */
int kind_from_name(const char *s, enum survey_kind *out);
/* The scale: NPS 0-10, CES 1-7, CSAT 1-5. */
int kind_min(enum survey_kind k);
int kind_max(enum survey_kind k);

/* "sms", "whatsapp". */
const char *channel_name(enum channel c);
int channel_from_name(const char *s, enum channel *out);

#endif
