/*
 * customers.h - a customer's history and the erasure of their personal data
 * (GET and DELETE /v1/customers/{id}), and the [store] retain_days purge of old texts.
 *
 * The {id} is the CRM's customer.id as given to POST /v1/surveys.  GET answers the customer (their
 * number and name until erased), the newest NPS response and every survey with its response,
 * newest first.  DELETE erases what identifies the customer (store_erase_customer()), then empties
 * the database's log so no old copy remains on disk; it answers 200 with what it changed, and
 * again 200 (with zero counts) for a customer already erased.
 */
#ifndef GW_CUSTOMERS_H
#define GW_CUSTOMERS_H

#include <stdint.h>

#include "gateway.h"
#include "http.h"

/* GET or DELETE /v1/customers/{id}: fills `resp` (405 with Allow: GET, DELETE for any other
 * method).  `id` is the path segment after /v1/customers/, never "" and without '/'. */
void customers_route(struct gateway *gw, const struct request *req, const char *id,
		     struct response *resp);

/* Once an hour of gateway time (the first call at once): with [store] retain_days set, blanks
 * the texts older than that.  *last_run is the caller's memory of the last purge (start at 0).
 * Failures are logged; the next hour tries again. */

#endif
