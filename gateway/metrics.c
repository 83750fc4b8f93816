/* metrics.c - see metrics.h. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>


typedef _Atomic unsigned long long counter;

/* Upper bounds of the send-duration histogram, in seconds (then +Inf). */
static const double send_buckets[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define N_BUCKETS (sizeof(send_buckets) / sizeof(send_buckets[0]))

static const char *const trigger_names[MT__COUNT] = {
	[MT_QUEUED] = "queued", [MT_EXISTING] = "existing", [MT_SKIPPED] = "skipped",
	[MT_OPTED_OUT] = "opted_out",
};
static const char *const send_names[MS__COUNT] = {
	[MS_ACCEPTED] = "accepted", [MS_RETRY] = "retry", [MS_FAILED] = "failed",
	[MS_TEMPLATE] = "template", [MS_PAUSED] = "paused",
};
const char *metrics_send_name(enum metric_send r)
{
	return send_names[r];
}

static const char *const reply_names[MR__COUNT] = {
	[MR_STORE] = "stored", [MR_ANSWER] = "answer", [MR_REPROMPT] = "reprompt",
	[MR_COMMENT] = "comment", [MR_OPT_OUT] = "opt_out", [MR_OPT_IN] = "opt_in",
	[MR_DUPLICATE] = "duplicate",
};

struct metrics {
	counter triggers[KIND__COUNT][CHANNEL__COUNT][MT__COUNT];
	counter sends[METRICS_MAX_PROVIDERS][MS__COUNT];
	counter send_le[METRICS_MAX_PROVIDERS][N_BUCKETS + 1];    /* per bucket, not cumulative */
	counter send_us[METRICS_MAX_PROVIDERS];                    /* sum of durations */
	counter replies[METRICS_MAX_PROVIDERS][MR__COUNT];
	counter sms_segments[METRICS_MAX_PROVIDERS][2];            /* [0] GSM-7, [1] UCS-2 */
	counter http[6];                                           /* by status class, 1xx..5xx */
	counter health_probes;
};

static void bump(counter *c, unsigned long long by)
{
	atomic_fetch_add_explicit(c, by, memory_order_relaxed);
}

static unsigned long long get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

struct metrics *metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
	free(m);
}

void metrics_trigger(struct metrics *m, enum survey_kind k, enum channel c, enum metric_trigger t)
{
	if (m && k < KIND__COUNT && c < CHANNEL__COUNT && t < MT__COUNT)
		bump(&m->triggers[k][c][t], 1);
}

void metrics_send(struct metrics *m, size_t provider, enum metric_send r, double seconds)
{
	size_t b = 0;

	if (!m || provider >= METRICS_MAX_PROVIDERS || r >= MS__COUNT)
		return;
	bump(&m->sends[provider][r], 1);
	if (seconds < 0)
		return;
	while (b < N_BUCKETS && seconds > send_buckets[b])
		b++;
	bump(&m->send_le[provider][b], 1);
	bump(&m->send_us[provider], (unsigned long long)(seconds * 1e6));
}

void metrics_reply(struct metrics *m, size_t provider, enum metric_reply r)
{
	if (m && provider < METRICS_MAX_PROVIDERS && r < MR__COUNT)
		bump(&m->replies[provider][r], 1);
}

void metrics_sms_segments(struct metrics *m, size_t provider, int ucs2, int segments)
{
	if (m && provider < METRICS_MAX_PROVIDERS && segments > 0)
		bump(&m->sms_segments[provider][ucs2 != 0], (unsigned long long)segments);
}

void metrics_http(struct metrics *m, int status)
{
	if (m && status >= 100 && status < 600)
		bump(&m->http[status / 100], 1);
}

void metrics_health_probe(struct metrics *m)
{
	if (m)
		bump(&m->health_probes, 1);
}

void metrics_head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_render_counters(struct metrics *m, const char *const *providers, size_t np,
			     struct buf *out)
{
	if (np > METRICS_MAX_PROVIDERS)
		np = METRICS_MAX_PROVIDERS;

	metrics_head(out, "gateway_surveys_triggered_total", "counter",
		     "Surveys asked for with POST /v1/surveys, by what became of the request.");
	for (int k = 0; k < KIND__COUNT; k++)
		for (int c = 0; c < CHANNEL__COUNT; c++)
			for (int t = 0; t < MT__COUNT; t++)
				buf_printf(out, "gateway_surveys_triggered_total{kind=\"%s\","
					   "channel=\"%s\",outcome=\"%s\"} %llu\n",
					   kind_name((enum survey_kind)k),
					   channel_name((enum channel)c), trigger_names[t],
					   get(&m->triggers[k][c][t]));

	metrics_head(out, "gateway_messages_sent_total", "counter",
		     "Send attempts handed to a provider, by the provider's answer.");
	for (size_t p = 0; p < np; p++)
		for (int r = 0; r < MS__COUNT; r++)
			buf_printf(out, "gateway_messages_sent_total{provider=\"%s\",result=\"%s\"} "
				   "%llu\n", providers[p], send_names[r],
				   get(&m->sends[p][r]));

	metrics_head(out, "gateway_send_duration_seconds", "histogram",
		     "Time from a send request to the provider's answer (HTTP providers).");
	for (size_t p = 0; p < np; p++) {
		const char *name = providers[p];
		unsigned long long cum = 0;

		for (size_t b = 0; b <= N_BUCKETS; b++) {
			char le[16];

			cum += get(&m->send_le[p][b]);
			if (b < N_BUCKETS)
				snprintf(le, sizeof(le), "%g", send_buckets[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			buf_printf(out, "gateway_send_duration_seconds_bucket{provider=\"%s\","
				   "le=\"%s\"} %llu\n", name, le, cum);
		}
		buf_printf(out, "gateway_send_duration_seconds_sum{provider=\"%s\"} %.6f\n", name,
			   (double)get(&m->send_us[p]) / 1e6);
		buf_printf(out, "gateway_send_duration_seconds_count{provider=\"%s\"} %llu\n", name,
			   cum);
	}

	metrics_head(out, "gateway_replies_total", "counter",
		     "Inbound texts from customers, by what the conversation rules did with them.");
	for (size_t p = 0; p < np; p++)
		for (int r = 0; r < MR__COUNT; r++)
			buf_printf(out, "gateway_replies_total{provider=\"%s\",outcome=\"%s\"} %llu\n",
				   providers[p], reply_names[r],
				   get(&m->replies[p][r]));

	metrics_head(out, "gateway_sms_segments_total", "counter",
		     "Segments of the SMS providers accepted (what they bill), by encoding.");
	for (size_t p = 0; p < np; p++)
		for (int u = 0; u < 2; u++)
			buf_printf(out, "gateway_sms_segments_total{provider=\"%s\",encoding=\"%s\"} "
				   "%llu\n", providers[p], u ? "ucs2" : "gsm7",
				   get(&m->sms_segments[p][u]));

	metrics_head(out, "gateway_http_responses_total", "counter", "HTTP answers, by status class.");
	for (int c = 1; c <= 5; c++)
		buf_printf(out, "gateway_http_responses_total{class=\"%dxx\"} %llu\n", c,
			   get(&m->http[c]));

	metrics_head(out, "gateway_health_probes_total", "counter",
		     "Write probes GET /healthz ran (at most one per [server] health_check_interval).");
	buf_printf(out, "gateway_health_probes_total %llu\n", get(&m->health_probes));
}
