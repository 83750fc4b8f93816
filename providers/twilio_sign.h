/*
 * twilio_sign.h - Twilio's X-Twilio-Signature webhook signature.
 *
 * Twilio signs each webhook request with the account's auth token:
 *
 *	base64(HMAC-SHA1(auth_token, url + key1 + value1 + key2 + value2 ...))
 *
 * where `url` is the full URL Twilio requested, byte for byte (scheme, any user:pass@, host, any
 * port, path and query exactly as configured: not decoded, not normalised), and the key/value pairs
 * are the POST form parameters, decoded, sorted bytewise by key; a key with several values
 * contributes one key+value per distinct value, values sorted bytewise.  GET requests and JSON
 * bodies have no form parameters: the URL alone is signed.  A JSON body is bound to the signature
 * instead by a `bodySHA256=<lower-hex SHA-256 of the body>` query parameter in the signed URL.
 *
 * Twilio's own validators accept a few spellings of the URL, because what Twilio signs and what the
 * receiving server sees differ on ports and escaping (see twilio_signature_valid()).
 *
 * Pure functions: no allocation except the query parse in JSON-body validation, no global state.
 * Vectors: tests/fixtures/twilio-signature-vectors.json.
 */
#ifndef GW_TWILIO_SIGN_H
#define GW_TWILIO_SIGN_H

#include <stddef.h>

#include "crypto.h"
#include "form.h"

/* Bytes a signature needs: 28 base64 characters and the NUL. */
#define TWILIO_SIGNATURE_LEN base64_encoded_len(SHA1_LEN)

/*
 * Writes the signature of `url` (NUL-terminated) and `params` (decoded form fields; NULL or empty:
 * the URL alone) under `auth_token` into `out`, NUL-terminated.  The fields are not reordered in
 * place.  A form holding more than FORM_MAX_FIELDS fields (form_parse() never makes one) gets the
 * empty string, which no signature equals.
 */
void twilio_signature_compute(const char *auth_token, const char *url, const struct form *params,
			      char out[TWILIO_SIGNATURE_LEN]);

/*
 * 1 when `signature` (the X-Twilio-Signature header, NUL-terminated) is Twilio's signature of this
 * request, else 0.  Tries, for each of the URL as given and the URL with its port toggled (an
 * explicit default port, :443 for https and :80 for http, added when it has none; the port removed
 * when it has one), both the raw URL and the URL with its query percent-escaped the way the WHATWG
 * URL serializer does it for http(s) (space, ", <, >, ', controls and non-ASCII bytes), since
 * Twilio has signed each of these in the wild.
 *
 * Form webhooks: body NULL, `params` the decoded POST form (NULL for none).
 * JSON webhooks: `body`/`body_len` the raw request body; `params` is ignored, the signature covers
 * the URL only, and the URL's query must carry bodySHA256 equal to the lower-hex SHA-256 of the
 * body, or the request is invalid.
 *
 * 0 for a NULL or empty signature or auth token, or a NULL url.  Signatures are compared in
 * constant time.
 */
int twilio_signature_valid(const char *auth_token, const char *url, const struct form *params,
			   const char *body, size_t body_len, const char *signature);

#endif
