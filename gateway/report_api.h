/*
 * report_api.h - GET /v1/reports?kind=nps|ces|csat&since=&until=&group_by=: a report as JSON
 * (report.h has the definitions and the shape).
 */
#ifndef GW_REPORT_API_H
#define GW_REPORT_API_H

#include "gateway.h"
#include "http.h"

/* Answers one request to /v1/reports (already authorised): 405 for a method other than GET,
 * 422 naming the field for a bad or unknown query argument, 503 when the store cannot be read,
 * else 200 with the report. */
void report_api_get(struct gateway *gw, const struct request *req, struct response *resp);

#endif
