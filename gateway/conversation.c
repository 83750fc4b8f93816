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

static int handle_inbound(struct gateway *gw, struct provider *p, const struct event *ev,
			  int *queued, struct gw_err *err)
{
	struct decide_ctx ctx = { .gw = gw };
	struct inbound_in in;
	struct inbound_result res;
	char masked[32];
	char *text = NULL;
	size_t len;
	int rc = -1;

	/* Stored texts are valid UTF-8 (invalid bytes become U+FFFD), so every export and JSON
	 * answer can carry them as they are. */
	if (!(text = utf8_sanitize(ev->text ? ev->text : "", ev->text_len, &len))) {
		gw_err_set(err, 503, "unavailable", "", "out of memory");
		goto out;
	}
	buf_init(&ctx.reply, 4096);
	ctx.text = text;
	ctx.text_len = len;
	ctx.now = gateway_now(gw);
	ctx.not_text = ev->not_text;
	in.provider = provider_name(p);
	in.provider_message_id = ev->provider_message_id;
	in.channel = ev->channel == CHANNEL_ANY ? NULL : channel_name(ev->channel);
	ctx.channel = in.channel;
	in.from = ev->from;
	in.text = text;
	in.text_len = len;
	in.now = ctx.now;
	if (store_record_inbound(gw->store, &in, decide, &ctx, &res, err) < 0)
		goto out;
	*queued = res.action != INBOUND_STORE_ONLY;
	for (size_t i = 0; i < gw->n_providers; i++)
		if (gw->providers[i] == p)
			metrics_reply(gw->metrics, i, res.duplicate ? MR_DUPLICATE :
						      (enum metric_reply)res.action);
	mask_phone(ev->from, masked, sizeof(masked));
	printf("event=inbound provider=%s from=%s survey=%s duplicate=%d action=%s\n",
	       in.provider, masked, res.matched ? res.survey_id : "-", res.duplicate,
	       action_names[res.action]);
	fflush(stdout);
	rc = 0;
out:
	buf_release(&ctx.reply);
	free(text);
	return rc;
}

int conversation_handle_event(struct gateway *gw, struct provider *p, const struct event *ev,
			      int *queued, struct gw_err *err)
{
	int found;

	*queued = 0;
	if (ev->type == EVENT_INBOUND)
		return handle_inbound(gw, p, ev, queued, err);
	return store_record_status(gw->store, provider_name(p), ev->provider_message_id,
				   status_words[ev->status], ev->error_code[0] ? ev->error_code : NULL,
				   ev->error_message[0] ? ev->error_message : NULL, gateway_now(gw),
				   &found, err);
}
