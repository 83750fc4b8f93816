/* shared.c - see shared.h. */
#include "shared.h"

#include <string.h>

int evt_after_inbound(const struct matched_survey *m, int was_suppressed,
		      const struct inbound_decision *d, enum evt_type *type)
{
	switch (d->action) {
	case INBOUND_ANSWER:
		/* The matched survey's status is the one before this text was applied. */
		*type = m && strcmp(m->status, "answered") == 0 ? EVT_RESPONSE_UPDATED :
								  EVT_RESPONSE_CREATED;
		return m != NULL;
	case INBOUND_COMMENT:
		*type = EVT_RESPONSE_COMMENTED;
		return m != NULL;
	case INBOUND_OPT_OUT:
		/* Only a change is news: a second STOP changes nothing. */
		*type = EVT_OPTED_OUT;
		return !was_suppressed;
	case INBOUND_OPT_IN:
		*type = EVT_OPTED_IN;
		return was_suppressed;
	case INBOUND_STORE_ONLY:
	case INBOUND_REPROMPT:
		break;
	}
	return 0;
}
