/* conversation.c - see conversation.h. */
#include "conversation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "reply.h"
#include "texts.h"
#include "utf8.h"

struct decide_ctx {
	const struct gateway *gw;
	const char *text;
	size_t text_len;
	const char *channel;    /* the text's channel, NULL: any channel of its provider */
	int64_t now;
	int not_text;           /* an image, a location...: kept, never answered */
	struct buf reply;       /* the rendered reply text */
};

/* Composes text `id` as the decision's reply, sent for `purpose` on the channel the store queues
 * it on (store_record_inbound(): the survey's, else the text's, else sms). */
static void set_reply(struct decide_ctx *ctx, const struct inbound_view *v,
		      struct inbound_decision *d, enum text_id id, const char *purpose,
		      const char *locale, const struct text_vars *vars)
{
	const char *name = v->survey ? v->survey->channel : ctx->channel ? ctx->channel : "sms";
	enum channel channel;

	if (channel_from_name(name, &channel) < 0)
		channel = CHANNEL_SMS;
	buf_reset(&ctx->reply);
	if (texts_compose(ctx->gw->texts, &ctx->reply, locale, id, vars, channel) >= 0) {
		d->reply = buf_cstr(&ctx->reply);
		d->reply_purpose = purpose;
	}
}

/* The text without the white space around it. */
static void trimmed(const char *s, size_t len, const char **out, size_t *out_len)
{
	while (len && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
		       s[len - 1] == '\n'))
		len--;
	*out = s;
	*out_len = len;
}

/*
 * The conversation rules for one inbound text (called inside the store's transaction), in order
 * (a message that is not text, such as a photo, is only kept):
 *   stop word              -> opt-out and one confirmation (none when already opted out)
 *   start word             -> opt-in and one confirmation (only when opted out)
 *   number opted out       -> stored, not answered
 *   no open survey         -> stored, not answered
 *   follow-up window open  -> the text is the response's comment, not answered
 *   survey answered        -> a new score replaces the old one, with a thank-you; anything
 *                             else is stored, not answered
 *   a score in the scale   -> the response; a thank-you (or the follow-up question)
 *   anything else          -> one re-prompt naming the scale; afterwards stored, not answered
 */
static void decide(void *arg, const struct inbound_view *v, struct inbound_decision *d)
{
	struct decide_ctx *ctx = arg;
	const struct matched_survey *s = v->survey;
	const struct config *cfg = &ctx->gw->cfg;
	const char *locale = s ? s->locale : v->locale[0] ? v->locale : cfg->default_locale;
	struct text_vars vars = { .name = s ? s->name : v->name, .brand = cfg->brand,
				  .kind = KIND_NPS };
	struct reply r;

	d->action = INBOUND_STORE_ONLY;
	if (ctx->not_text)
		return;
	if (s && kind_from_name(s->kind, &vars.kind) < 0)
		s = NULL;
	reply_parse(vars.kind, ctx->text, ctx->text_len, &r);
	if (r.outcome == REPLY_OPT_OUT || r.outcome == REPLY_OPT_IN) {
		int out = r.outcome == REPLY_OPT_OUT;

		if (out == v->suppressed)
			return;         /* nothing changes: no second confirmation */
		d->action = out ? INBOUND_OPT_OUT : INBOUND_OPT_IN;
		set_reply(ctx, v, d, out ? TEXT_OPT_OUT : TEXT_OPT_IN, out ? "opt_out" : "opt_in",
			  locale, &vars);
		return;
	}
	if (v->suppressed || !s)
		return;
	if (s->follow_up_pending) {
		d->action = INBOUND_COMMENT;
		trimmed(ctx->text, ctx->text_len, &d->comment, &d->comment_len);
		return;
	}
	if (r.outcome != REPLY_SCORE) {
		if (strcmp(s->status, "answered") != 0 && !s->reprompted) {
			d->action = INBOUND_REPROMPT;
			set_reply(ctx, v, d, TEXT_REPROMPT, "reprompt", locale, &vars);
		}
		return;
	}
	d->action = INBOUND_ANSWER;
	d->score = r.score;
	d->comment = r.comment;
	d->comment_len = r.comment_len;
	if (cfg->follow_up && strcmp(s->status, "answered") != 0) {
		d->follow_up_until = ctx->now + cfg->follow_up_window_ms / 1000;
		set_reply(ctx, v, d, TEXT_FOLLOW_UP, "follow_up", locale, &vars);
	} else {
		set_reply(ctx, v, d, TEXT_THANKS, "thanks", locale, &vars);
	}
}

/* metrics_reply() takes an inbound action as its outcome. */
_Static_assert((int)MR_STORE == (int)INBOUND_STORE_ONLY && (int)MR_ANSWER == (int)INBOUND_ANSWER &&
	       (int)MR_REPROMPT == (int)INBOUND_REPROMPT && (int)MR_COMMENT == (int)INBOUND_COMMENT &&
	       (int)MR_OPT_OUT == (int)INBOUND_OPT_OUT && (int)MR_OPT_IN == (int)INBOUND_OPT_IN,
	       "enum metric_reply follows enum inbound_action");

static const char *const action_names[] = {
	[INBOUND_STORE_ONLY] = "store",
	[INBOUND_ANSWER] = "answer",
	[INBOUND_REPROMPT] = "reprompt",
	[INBOUND_COMMENT] = "comment",
	[INBOUND_OPT_OUT] = "opt_out",
	[INBOUND_OPT_IN] = "opt_in",
};

static const char *const status_words[] = {
	[DELIVERY_SENT] = "sent",
	[DELIVERY_DELIVERED] = "delivered",
	[DELIVERY_READ] = "read",
	[DELIVERY_FAILED] = "failed",
};

struct conversation {
	struct gateway *gw;
	struct provider *p;
	size_t n;
	struct store_event *se;  /* what the store records, one per event */
	struct decide_ctx *dctx; /* the inbound ones' decide() contexts */
	char **texts;            /* their texts, made valid UTF-8 */
};

struct conversation *conversation_begin(struct gateway *gw, struct provider *p,
					const struct event_list *events, struct gw_err *err)
{
	struct conversation *c = calloc(1, sizeof(*c));
	size_t n = events->n, len;
	int64_t now = gateway_now(gw);

	if (!c || !(c->se = calloc(n ? n : 1, sizeof(*c->se))) ||
	    !(c->dctx = calloc(n ? n : 1, sizeof(*c->dctx))) ||
	    !(c->texts = calloc(n ? n : 1, sizeof(*c->texts))))
		goto oom;
	c->gw = gw;
	c->p = p;
	for (size_t i = 0; i < n; i++) {
		const struct event *ev = &events->items[i];
		struct store_event *se = &c->se[i];
		struct decide_ctx *d = &c->dctx[i];

		c->n++;
		buf_init(&d->reply, 4096);
		if (ev->type != EVENT_INBOUND) {
			se->is_status = 1;
			se->provider = provider_name(p);
			se->provider_message_id = ev->provider_message_id;
			se->status = status_words[ev->status];
			se->code = ev->error_code[0] ? ev->error_code : NULL;
			se->message = ev->error_message[0] ? ev->error_message : NULL;
			se->now = now;
			continue;
		}
		/* Stored texts are valid UTF-8 (invalid bytes become U+FFFD), so every export and
		 * JSON answer can carry them as they are. */
		if (!(c->texts[i] = utf8_sanitize(ev->text ? ev->text : "", ev->text_len, &len)))
			goto oom;
		d->gw = gw;
		d->text = c->texts[i];
		d->text_len = len;
		d->now = now;
		d->not_text = ev->not_text;
		d->channel = ev->channel == CHANNEL_ANY ? NULL : channel_name(ev->channel);
		se->in.provider = provider_name(p);
		se->in.provider_message_id = ev->provider_message_id;
		se->in.channel = d->channel;
		se->in.from = ev->from;
		se->in.text = c->texts[i];
		se->in.text_len = len;
		se->in.now = now;
		se->decide = decide;
		se->decide_ctx = d;
	}
	return c;
oom:
	conversation_end(c, 0, NULL);
	gw_err_set(err, 503, "unavailable", "", "out of memory");
	return NULL;
}

int conversation_record(struct conversation *c, struct gw_err *err)
{
	return store_record_events(c->gw->store, c->se, c->n, err);
}

int conversation_record_async(struct conversation *c, struct gw_err *err,
			      void (*done)(void *ctx, int rc), void *ctx)
{
	return store_record_events_async(c->gw->store, c->se, c->n, err, done, ctx);
}

void conversation_end(struct conversation *c, int recorded, int *queued)
{
	char masked[32];

	if (!c)
		return;
	for (size_t i = 0; recorded && i < c->n; i++) {
		const struct store_event *se = &c->se[i];

		if (se->is_status)
			continue;
		*queued |= se->res.action != INBOUND_STORE_ONLY;
		for (size_t k = 0; k < c->gw->n_providers; k++)
			if (c->gw->providers[k] == c->p)
				metrics_reply(c->gw->metrics, k,
					      se->res.duplicate ?
						      MR_DUPLICATE :
						      (enum metric_reply)se->res.action);
		mask_phone(se->in.from, masked, sizeof(masked));
		printf("event=inbound provider=%s from=%s survey=%s duplicate=%d action=%s\n",
		       se->in.provider, masked, se->res.matched ? se->res.survey_id : "-",
		       se->res.duplicate, action_names[se->res.action]);
	}
	if (recorded)
		fflush(stdout);
	for (size_t i = 0; c->dctx && i < c->n; i++) {
		buf_release(&c->dctx[i].reply);
		free(c->texts[i]);
	}
	free(c->se);
	free(c->dctx);
	free(c->texts);
	free(c);
}
