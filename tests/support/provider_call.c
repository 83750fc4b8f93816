/* provider_call.c - see provider_call.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "form.h"
#include "twilio_sign.h"
#include "fake_meta.h"
#include "provider_call.h"
#include "unit.h"

/* ---- fixtures and their variants ----------------------------------------------------------- */

json_t *fixture_json(const char *name)
{
	size_t len;
	char *text = fixture_read(name, &len);
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);

	if (!root)
		fail_msg("%s: not JSON: %s", name, jerr.text);
	free(text);
	return root;
}

char *text_replace(const char *s, const char *old, const char *new)
{
	const char *hit = strstr(s, old);
	size_t n;
	char *out;

	if (!hit)
		fail_msg("'%s' is not in the fixture", old);
	if (strstr(hit + 1, old))
		fail_msg("'%s' occurs more than once in the fixture", old);
	n = strlen(s) - strlen(old) + strlen(new);
	out = malloc(n + 1);
	assert_non_null(out);
	snprintf(out, n + 1, "%.*s%s%s", (int)(hit - s), s, new, hit + strlen(old));
	return out;
}

/* The one place `"member"` stands as a member name (followed by a colon). */
static const char *member_name(const char *s, const char *key, const char *member)
{
	const char *p, *hit = NULL;

	for (p = s; (p = strstr(p, key)); p += strlen(key)) {
		const char *q = p + strlen(key);

		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q != ':')
			continue;
		if (hit)
			fail_msg("member %s occurs twice in the fixture", member);
		hit = p;
	}
	if (!hit)
		fail_msg("member %s is not in the fixture", member);
	return hit;
}

char *json_rewrite(const char *s, const char *member, const char *value)
{
	char key[64];
	const char *v, *end;
	size_t n;
	char *out;

	snprintf(key, sizeof(key), "\"%s\"", member);
	v = strchr(member_name(s, key, member) + strlen(key), ':') + 1;
	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	if (*v == '"') {
		for (end = v + 1; *end && *end != '"'; end++)
			if (*end == '\\' && end[1])
				end++;
		assert_int_equal(*end, '"');
		end++;
	} else {
		end = v + strcspn(v, ",}] \t\r\n");
	}
	n = (size_t)(v - s) + strlen(value) + strlen(end);
	out = malloc(n + 1);
	assert_non_null(out);
	snprintf(out, n + 1, "%.*s%s%s", (int)(v - s), s, value, end);
	return out;
}

char *exact_copy(const char *s, size_t len)
{
	char *copy;

	if (!s)
		return NULL;
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, s, len);
	return copy;
}

/* ---- configs ------------------------------------------------------------------------------- */

const struct config_section *hand_section(struct hand_section *h, const char *name,
					  const char *const keys[], const char *const values[],
					  size_t n)
{
	memset(h, 0, sizeof(*h));
	h->sec.name = (char *)name;
	h->sec.entries = h->e;
	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			continue;
		assert_true(h->sec.n < HAND_SECTION_MAX);
		h->e[h->sec.n].key = (char *)keys[i];
		h->e[h->sec.n].value = (char *)values[i];
		h->e[h->sec.n].origin = (char *)"test";
		h->sec.n++;
	}
	return &h->sec;
}

int config_load_text(struct config *cfg, const char *ini, struct gw_err *err)
{
	char path[] = "/tmp/test_provider-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	rc = provider_config_load(cfg, path, err);
	unlink(path);
	return rc;
}

void expect_init(const char *row, const char *provider, const struct config_section *sec,
		 const char *want_key)
{
	struct gw_err err = { 0 };
	struct provider *p = provider_create(provider_find(provider), sec, NULL,
					     WEBHOOK_PUBLIC_URL, &err);

	if (!want_key) {
		if (!p)
			fail_msg("%s: init failed: %s", row, err.msg);
		provider_free(p);
		return;
	}
	if (p)
		fail_msg("%s: init succeeded, want an error naming %s", row, want_key);
	if (!strstr(err.msg, want_key))
		fail_msg("%s: error \"%s\" does not name %s", row, err.msg, want_key);
	if (!strstr(err.msg, sec->name))
		fail_msg("%s: error \"%s\" does not name the section", row, err.msg);
}

/* ---- webhook signatures --------------------------------------------------------------------- */

void webhook_sign_twilio(const char *secret, const char *url, const char *body, size_t len,
			 char out[WEBHOOK_SIG_MAX])
{
	struct form f;

	assert_int_equal(form_parse(&f, body, len), 0);
	twilio_signature_compute(secret, url, &f, out);
	form_release(&f);
	assert_int_equal(strlen(out), TWILIO_SIGNATURE_LEN - 1);
}

void webhook_sign_meta(const char *secret, const char *url, const char *body, size_t len,
		       char out[WEBHOOK_SIG_MAX])
{
	(void)url;
	fake_meta_sign(secret, body, len, out);
}

void webhook_sign_token(const char *secret, const char *url, const char *body, size_t len,
			char out[WEBHOOK_SIG_MAX])
{
	(void)url;
	(void)body;
	(void)len;
	snprintf(out, WEBHOOK_SIG_MAX, "%s", secret);
}

/* ---- parse_webhook --------------------------------------------------------------------------- */

void fake_req_header(struct fake_req *r, const char *name, const char *value)
{
	if (!value)
		return;
	assert_true(r->n_h < FAKE_REQ_MAX);
	r->h_names[r->n_h] = name;
	r->h_values[r->n_h++] = value;
}

void fake_req_query(struct fake_req *r, const char *name, const char *value)
{
	for (size_t i = 0; i < r->n_q; i++) {
		if (strcmp(r->q_names[i], name) != 0)
			continue;
		if (value) {
			r->q_values[i] = value;
		} else {
			r->q_names[i] = r->q_names[r->n_q - 1];
			r->q_values[i] = r->q_values[r->n_q - 1];
			r->n_q--;
		}
		return;
	}
	if (value) {
		assert_true(r->n_q < FAKE_REQ_MAX);
		r->q_names[r->n_q] = name;
		r->q_values[r->n_q++] = value;
	}
}

const char *fake_req_query_get(const struct fake_req *r, const char *name)
{
	for (size_t i = 0; r && i < r->n_q; i++)
		if (strcmp(r->q_names[i], name) == 0)
			return r->q_values[i];
	return NULL;
}

static const char *view_header(const struct http_req_view *req, const char *name)
{
	const struct fake_req *r = req->ctx;

	for (size_t i = 0; r && i < r->n_h; i++)
		if (strcasecmp(r->h_names[i], name) == 0)
			return r->h_values[i];
	return NULL;
}

static const char *view_query(const struct http_req_view *req, const char *name)
{
	return fake_req_query_get(req->ctx, name);
}

void webhook_call(struct provider *p, const char *method, const char *base, const char *path,
		  const struct fake_req *r, const char *body, size_t len, struct hook *h)
{
	char url[256];
	char *copy = exact_copy(body, len);
	struct http_req_view view;

	snprintf(url, sizeof(url), "%s%s", base, path);
	view = (struct http_req_view){ .method = method, .path = path, .url = url, .body = copy,
				       .body_len = len, .header = view_header, .query = view_query,
				       .ctx = (void *)r };
	event_list_init(&h->ev);
	memset(&h->reply, 0, sizeof(h->reply));
	buf_init(&h->reply.body, 64 * 1024);
	h->rc = provider_parse_webhook(p, &view, &h->ev, &h->reply);
	free(copy);
}

void webhook_post(struct provider *p, const char *path, const char *ctype, const char *header,
		  const char *value, const char *body, size_t len, struct hook *h)
{
	struct fake_req r = { .n_h = 0 };

	fake_req_header(&r, "Content-Type", ctype);
	fake_req_header(&r, header, value);
	webhook_call(p, "POST", WEBHOOK_PUBLIC_URL, path, &r, body, len, h);
}

void hook_release(struct hook *h)
{
	event_list_release(&h->ev);
	buf_release(&h->reply.body);
}

void expect_webhook_ok(const char *row, const struct hook *h, int twiml)
{
	if (h->rc != 0)
		fail_msg("%s: rc %d, status %d, %s (%s): want success", row, h->rc, h->reply.status,
			 h->reply.err.code, h->reply.err.msg);
	EXPECT_INT(row, "reply status", h->reply.status, 200);
	if (twiml) {
		EXPECT_STR(row, "content type", h->reply.content_type, "text/xml");
		if (!strstr(buf_cstr(&h->reply.body), "<Response/>"))
			fail_msg("%s: reply body \"%s\" has no <Response/>", row,
				 buf_cstr(&h->reply.body));
		return;
	}
	if (h->reply.content_type)
		fail_msg("%s: content type \"%s\", want none", row, h->reply.content_type);
	EXPECT_INT(row, "reply body length", h->reply.body.len, 0);
}

void expect_refused(const char *row, const struct hook *h, int status, const char *code,
		    const char *field)
{
	EXPECT_INT(row, "rc", h->rc, -1);
	EXPECT_INT(row, "reply status", h->reply.status, status);
	EXPECT_INT(row, "err.http_status", h->reply.err.http_status, status);
	EXPECT_STR(row, "err.code", h->reply.err.code, code);
	if (field)
		EXPECT_STR(row, "err.field", h->reply.err.field, field);
	if (!h->reply.err.msg[0])
		fail_msg("%s: no human message", row);
	EXPECT_INT(row, "events", h->ev.n, 0);
}

/* ---- build_send ------------------------------------------------------------------------------ */

const char *header_value(const struct http_request *r, const char *name)
{
	const char *found = NULL;
	size_t n = strlen(name);

	for (size_t i = 0; i < r->n_headers; i++) {
		if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') {
			if (found)
				fail_msg("header %s appears twice", name);
			found = r->headers[i] + n + 1;
			while (*found == ' ')
				found++;
		}
	}
	if (!found)
		fail_msg("header %s is missing", name);
	return found;
}
