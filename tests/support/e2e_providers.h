/*
 * e2e_providers.h - the accounts of the fake Meta and fake Zenvia as the end-to-end tests give them
 * to the gateway: the credentials, and the config sections that point the gateway at a fake on
 * 127.0.0.1 (one "%d" each, the fake's port).  For harness_config.extra, after [dispatch].
 */
#ifndef E2E_PROVIDERS_H
#define E2E_PROVIDERS_H

#define META_GRAPH "v23.0"
#define META_PNID "106540352242922" /* the fixtures' metadata.phone_number_id */
#define META_TOKEN "EAAGe2eTestAccessToken0123456789"
#define META_SECRET "e2e-meta-app-secret-0123456789abcdef"
#define META_VERIFY "meatyhamhock" /* the token of meta-webhook-verify.http */

/* WhatsApp through Meta at the fake, with the NPS and CES templates in Spanish. */
#define E2E_META_CONF                       \
	"[provider.meta]\n"                 \
	"phone_number_id = " META_PNID "\n" \
	"access_token = " META_TOKEN "\n"   \
	"app_secret = " META_SECRET "\n"    \
	"verify_token = " META_VERIFY "\n"  \
	"graph_version = " META_GRAPH "\n"  \
	"base_url = http://127.0.0.1:%d\n"  \
	"rate = off\n"                      \
	"[templates.meta]\n"                \
	"nps.es = encuesta_nps, es\n"       \
	"ces.es = encuesta_ces, es\n"       \
	"params = name, brand\n"

#define ZV_TOKEN "zv-e2e-api-token-5e1f0c"
#define ZV_WEBHOOK_TOKEN "zv-e2e-webhook-secret-a41b9d"
#define ZV_FROM "acme"
#define ZV_TEMPLATE "5b3f6c1e-8d2a-4f7b-9c0e-1a2b3c4d5e6f"

/* Zenvia at the fake, with the NPS template in Spanish. */
#define E2E_ZENVIA_CONF                          \
	"[provider.zenvia]\n"                    \
	"api_token = " ZV_TOKEN "\n"             \
	"from = " ZV_FROM "\n"                   \
	"base_url = http://127.0.0.1:%d\n"       \
	"webhook_token = " ZV_WEBHOOK_TOKEN "\n" \
	"rate = off\n"                           \
	"[templates.zenvia]\n"                   \
	"nps.es = " ZV_TEMPLATE "\n"             \
	"params = name, brand\n"

#endif
