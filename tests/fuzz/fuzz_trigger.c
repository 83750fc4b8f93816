/*
 * fuzz_trigger.c - api_parse_trigger() (gateway/api.h) on any POST /v1/surveys body.
 *
 * At start a struct gateway gets its cfg from the embedded config below (written to a temp file
 * once and config_load()ed; nothing else of the gateway is needed: the parse is pure).  Each input
 * is read as the server reads the body (json_loadb with JSON_REJECT_DUPLICATES) and, when it is
 * JSON, validated.  Checked:
 *   - a rejected body answers 400 or 422 with a code, a message, and (but for invalid_json) the
 *     field it is about;
 *   - an accepted one holds what docs/http-api.md promises: customer.id and interaction.id
 *     non-empty and at most 128 bytes, customer.phone E.164, a known kind, channel and locale
 *     (the default when none was given), a known time zone, ISO 8601 UTC times, delay 0 to 30
 *     days, and its strings are the JSON document's own.
 */
#include <jansson.h>
#include <unistd.h>

#include "api.h"
#include "fuzz.h"

#define MAX_DELAY_S (30 * 86400)   /* docs/http-api.md: delay_seconds 0 to 30 days */

/* The default locale is not the built-in "es", so that a missing locale is seen to use it. */
static const char fuzz_config[] =
	"[server]\n"
	"api_keys = fuzz-key\n"
	"[survey]\n"
	"default_locale = pt\n"
	"timezone = America/Sao_Paulo\n";

static struct gateway gw;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_trigger_XXXXXX";
	struct gw_err err = { 0 };
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd < 0 || write(fd, fuzz_config, sizeof(fuzz_config) - 1) != sizeof(fuzz_config) - 1) {
		perror("fuzz_trigger: temp config");
		abort();
	}
	close(fd);
	if (provider_config_load(&gw.cfg, path, &err) < 0) {
		fprintf(stderr, "fuzz_trigger: config_load: %s\n", err.msg);
		abort();
	}
	unlink(path);
	return 0;
}

/* The string member `key` of `obj`, or NULL. */
static const char *member(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* "YYYY-MM-DDTHH:MM:SS" with digits only, then optional ".digits", then "Z" or "+00:00": what
 * docs/http-api.md calls ISO 8601 UTC ("2026-11-22T10:12:30Z"). */
static void check_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	if (!s)
		return;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd')
			FUZZ_CHECK(s[i] >= '0' && s[i] <= '9');
		else
			FUZZ_CHECK(s[i] == shape[i]);
	}
	if (s[i] == '.') {
		FUZZ_CHECK(s[++i] >= '0' && s[i] <= '9');
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	FUZZ_CHECK(strcmp(s + i, "Z") == 0 || strcmp(s + i, "+00:00") == 0);
}

static void check_accepted(json_t *root, const struct trigger *t)
{
	json_t *cust = json_object_get(root, "customer"), *inter = json_object_get(root, "interaction");

	FUZZ_CHECK(t->customer_id && *t->customer_id && strlen(t->customer_id) <= 128);
	FUZZ_CHECK(t->customer_id == member(cust, "id"));
	FUZZ_CHECK(t->phone == member(cust, "phone") && phone_is_e164(t->phone));
	FUZZ_CHECK(t->name == member(cust, "name"));
	FUZZ_CHECK(t->timezone == member(cust, "timezone"));
	FUZZ_CHECK(!t->timezone || config_check_timezone(t->timezone, NULL) == 0);
	FUZZ_CHECK(t->locale && (strcmp(t->locale, "es") == 0 || strcmp(t->locale, "pt") == 0 ||
				 strcmp(t->locale, "en") == 0));
	if (!member(cust, "locale"))
		FUZZ_CHECK(strcmp(t->locale, "pt") == 0);
	FUZZ_CHECK((unsigned)t->kind < KIND__COUNT);
	FUZZ_CHECK(strcmp(kind_name(t->kind), member(root, "kind")) == 0);
	FUZZ_CHECK((unsigned)t->channel < CHANNEL__COUNT);
	FUZZ_CHECK(strcmp(channel_name(t->channel), member(root, "channel")) == 0);
	FUZZ_CHECK(t->interaction_id && *t->interaction_id && strlen(t->interaction_id) <= 128);
	FUZZ_CHECK(t->interaction_id == member(inter, "id"));
	FUZZ_CHECK(!t->touchpoint || strlen(t->touchpoint) <= 128);
	FUZZ_CHECK(!t->agent || strlen(t->agent) <= 128);
	check_time(t->opened_at);
	check_time(t->closed_at);
	FUZZ_CHECK(t->delay >= 0 && t->delay <= MAX_DELAY_S);
}

static void check_rejected(const struct gw_err *err)
{
	FUZZ_CHECK(err->http_status == 400 || err->http_status == 422);
	FUZZ_CHECK(err->code[0] != '\0' && err->msg[0] != '\0');
	FUZZ_CHECK(err->field[0] != '\0' || strcmp(err->code, "invalid_json") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size);
	json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
	struct gw_err err;
	struct trigger t;

	if (root) {
		gw_err_clear(&err);
		memset(&t, 0, sizeof(t));
		if (api_parse_trigger(&gw, root, &t, &err) == 0)
			check_accepted(root, &t);
		else
			check_rejected(&err);
		json_decref(root);
	}
	free(body);
	return 0;
}
