/*
 * shared.h - what the two backends (store/sqlite/, store/postgres/) decide alike and is not SQL
 * (private to store/).
 */
#ifndef GW_STORE_SHARED_H
#define GW_STORE_SHARED_H

#include "store.h"

/* The outbound event that decision `d` about a text reports, the text matched to survey `m`
 * (NULL: none) from a number that was suppressed before it or not: 1 with *type, 0 when it
 * reports none.  A response event is reported with its survey (m is then not NULL); an opt-out
 * or opt-in, only when it changes the number's state, with its survey when one matched. */
int evt_after_inbound(const struct matched_survey *m, int was_suppressed,
		      const struct inbound_decision *d, enum evt_type *type);

#endif
