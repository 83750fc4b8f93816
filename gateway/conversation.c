/* conversation.c - see conversation.h. */
#include "conversation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "texts.h"
#include "utf8.h"

struct decide_ctx {
	const struct gateway *gw;
	const char *text;
	size_t text_len;
	struct buf reply;       /* the rendered reply text */
};

/*
 * The conversation rules for one inbound text (called inside the store's transaction):
 *   no open survey        -> stored, not answered
 *   a score in the scale  -> the response; a thank-you
 *   opt-out / opt-in word -> stored, not answered (the stop word itself is never re-prompted)
 *   anything else         -> one re-prompt naming the scale; afterwards stored, not answered
 */
static void decide(void *arg, const struct matched_survey *s, struct inbound_decision *d)
{
	struct decide_ctx *ctx = arg;
	struct text_vars vars;
	struct reply r;

	d->action = INBOUND_STORE_ONLY;
	if (!s || kind_from_name(s->kind, &vars.kind) < 0)
		return;
	vars.name = s->name;
	vars.brand = ctx->gw->cfg.brand;
	reply_parse(vars.kind, ctx->text, ctx->text_len, &r);
	buf_reset(&ctx->reply);
	if (r.outcome == REPLY_SCORE) {
		d->action = INBOUND_ANSWER;
		d->score = r.score;
		d->comment = r.comment;
		d->comment_len = r.comment_len;
		if (texts_render(&ctx->reply, s->locale, TEXT_THANKS, &vars) == 0) {
			d->reply = buf_cstr(&ctx->reply);
			d->reply_purpose = "thanks";
		}
	} else if (r.outcome == REPLY_INVALID && !s->reprompted) {
		d->action = INBOUND_REPROMPT;
		if (texts_render(&ctx->reply, s->locale, TEXT_REPROMPT, &vars) == 0) {
			d->reply = buf_cstr(&ctx->reply);
			d->reply_purpose = "reprompt";
		}
	}
}

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
	in.provider = provider_name(p);
	in.provider_message_id = ev->provider_message_id;
	in.channel = ev->channel == CHANNEL_ANY ? NULL : channel_name(ev->channel);
	in.from = ev->from;
	in.text = text;
	in.text_len = len;
	in.now = gateway_now(gw);
	if (store_record_inbound(gw->store, &in, decide, &ctx, &res, err) < 0)
		goto out;
	*queued = res.matched && res.action != INBOUND_STORE_ONLY;
	mask_phone(ev->from, masked, sizeof(masked));
	printf("event=inbound provider=%s from=%s survey=%s duplicate=%d action=%s\n",
	       in.provider, masked, res.matched ? res.survey_id : "-", res.duplicate,
	       res.action == INBOUND_ANSWER ? "answer" :
	       res.action == INBOUND_REPROMPT ? "reprompt" : "store");
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
