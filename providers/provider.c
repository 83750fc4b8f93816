/*
 * provider.c - the registry, the wrappers the core calls, and the neutral containers.
 */
#include "provider.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct provider_ops console_ops;
extern const struct provider_ops meta_ops;
extern const struct provider_ops twilio_ops;
extern const struct provider_ops zenvia_ops;

const struct provider_ops *const providers[] = {
	&console_ops,
	&twilio_ops,
	&meta_ops,
	&zenvia_ops,
	NULL,
};

const struct provider_ops *provider_find(const char *name)
{
	for (size_t i = 0; name && providers[i]; i++)
		if (strcmp(providers[i]->name, name) == 0)
			return providers[i];
	return NULL;
}

struct provider *provider_create(const struct provider_ops *ops, const struct config_section *cfg,
				 const struct config_section *templates, const char *public_url,
				 struct gw_err *err)
{
	struct provider *p = calloc(1, sizeof(*p));
	const char *rate = config_get(cfg, "rate");

	if (!p || (ops->priv_size && !(p->priv = calloc(1, ops->priv_size)))) {
		free(p);
		gw_errf(err, "out of memory");
		return NULL;
	}
	p->ops = ops;
	p->public_url = public_url;
	p->templates = templates;
	if (config_parse_rate(rate ? rate : (ops->default_rate ? ops->default_rate : "off"),
			      &p->rate, err) < 0 ||
	    (ops->init && ops->init(p, cfg, err) < 0)) {
		free(p->priv);
		free(p);
		return NULL;
	}
	return p;
}

void provider_free(struct provider *p)
{
	if (!p)
		return;
	if (p->ops->destroy)
		p->ops->destroy(p);
	free(p->priv);
	free(p);
}

const char *provider_template(const struct provider *p, const struct outbound *msg)
{
	char key[32];
	const char *v;

	snprintf(key, sizeof(key), "%s.%s", kind_name(msg->kind), msg->locale ? msg->locale : "es");
	if ((v = config_get(p->templates, key)) && *v)
		return v;
	snprintf(key, sizeof(key), "%s.es", kind_name(msg->kind));
	v = config_get(p->templates, key);
	return v && *v ? v : NULL;
}

size_t provider_template_params(const struct provider *p, const struct outbound *msg,
				const char *out[TEMPLATE_MAX_PARAMS])
{
	const char *list = config_get(p->templates, "params");
	size_t n = 0;

	if (!list || !*list)
		list = "name, brand";
	while (*list && n < TEMPLATE_MAX_PARAMS) {
		size_t len;

		list += strspn(list, " ,");
		len = strcspn(list, " ,");
		if (!len)
			break;
		/* Providers refuse empty template parameters (Meta: code 100), so a customer
		 * without a name is greeted generically. */
		if (len == 4 && strncmp(list, "name", 4) == 0)
			out[n++] = msg->name && *msg->name ? msg->name :
				   msg->locale && strcmp(msg->locale, "en") == 0 ? "customer" : "cliente";
		else if (len == 5 && strncmp(list, "brand", 5) == 0)
			out[n++] = msg->brand ? msg->brand : "";
		else
			out[n++] = "";
		list += len;
	}
	return n;
}

int provider_config_copy(const struct provider *p, const struct config_section *cfg,
			 const char *key, char *dst, size_t n, struct gw_err *err)
{
	const char *v = provider_config(p, cfg, key);

	if (!v)
		v = "";
	if (strlen(v) >= n)
		return gw_errf(err, "[provider.%s] %s: longer than %zu characters", p->ops->name, key,
			       n - 1);
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return gw_errf(err, "[provider.%s] %s: contains a control character",
				       p->ops->name, key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

const char *provider_config(const struct provider *p, const struct config_section *cfg,
			    const char *key)
{
	const char *v = config_get(cfg, key);

	if (v)
		return v;
	for (const struct config_key *k = p->ops->keys; k && k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k->def;
	return NULL;
}

int provider_build_send(struct provider *p, const struct outbound *msg, struct http_request *out,
			struct gw_err *err)
{
	return p->ops->build_send(p, msg, out, err);
}

enum send_result provider_parse_send_response(struct provider *p, long status, const char *body,
					      size_t len, struct send_outcome *out)
{
	memset(out, 0, sizeof(*out));
	return p->ops->parse_send_response(p, status, body, len, out);
}

enum send_result provider_deliver(struct provider *p, const struct outbound *msg,
				  struct send_outcome *out)
{
	memset(out, 0, sizeof(*out));
	return p->ops->deliver(p, msg, out);
}

int provider_parse_webhook(struct provider *p, const struct http_req_view *req,
			   struct event_list *out, struct webhook_reply *reply)
{
	size_t before = out->n;
	int rc;

	reply->status = 200;
	reply->content_type = NULL;
	rc = p->ops->parse_webhook(p, req, out, reply);
	if (rc < 0) {
		/* The contract: a rejected webhook leaves no event behind. */
		while (out->n > before)
			free(out->items[--out->n].text);
	}
	return rc;
}

void provider_request_init(struct http_request *r)
{
	memset(r, 0, sizeof(*r));
	r->method = "POST";
	buf_init(&r->url, 4096);
	buf_init(&r->body, 64 * 1024);
}

void provider_request_release(struct http_request *r)
{
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	buf_release(&r->url);
	buf_release(&r->body);
	r->n_headers = 0;
}

int provider_request_header(struct http_request *r, const char *name, const char *value)
{
	struct buf h;

	if (r->n_headers >= HTTP_MAX_HEADERS)
		return -1;
	buf_init(&h, 8192);
	if (buf_printf(&h, "%s: %s", name, value) < 0) {
		buf_release(&h);
		return -1;
	}
	r->headers[r->n_headers++] = buf_detach(&h, NULL);
	return r->headers[r->n_headers - 1] ? 0 : -1;
}

void event_list_init(struct event_list *l)
{
	memset(l, 0, sizeof(*l));
}

void event_list_release(struct event_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].text);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

struct event *event_list_add(struct event_list *l)
{
	if (l->n == l->alloc) {
		size_t n = l->alloc ? l->alloc * 2 : 4;
		struct event *v = realloc(l->items, n * sizeof(*v));

		if (!v)
			return NULL;
		l->items = v;
		l->alloc = n;
	}
	memset(&l->items[l->n], 0, sizeof(l->items[0]));
	return &l->items[l->n++];
}

int provider_id_usable(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	return len && len < PROVIDER_ID_LEN && strspn(id, " \t\r\n\v\f") < len;
}

int webhook_fail(struct webhook_reply *reply, int status, const char *code, const char *field,
		 const char *msg)
{
	reply->status = status;
	return gw_err_set(&reply->err, status, code, field, "%s", msg);
}

/* config_load()'s view of the registry: one plug-in per provider, built once. */
#define N_PROVIDERS (sizeof(providers) / sizeof(providers[0]) - 1)
static struct config_plugin plugins[N_PROVIDERS + 1];
static pthread_once_t plugins_once = PTHREAD_ONCE_INIT;

static void fill_plugins(void)
{
	for (size_t i = 0; i < N_PROVIDERS; i++)
		plugins[i] = (struct config_plugin){ .name = providers[i]->name,
						     .keys = providers[i]->keys,
						     .default_rate = providers[i]->default_rate };
}

int provider_config_load(struct config *cfg, const char *path, struct gw_err *err)
{
	pthread_once(&plugins_once, fill_plugins);
	return config_load(cfg, path, plugins, err);
}
