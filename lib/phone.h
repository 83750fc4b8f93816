/*
 * phone.h - telephone numbers as the gateway takes them: E.164, and masked for logs.
 */
#ifndef GW_PHONE_H
#define GW_PHONE_H

#include <stddef.h>

/* "+" and 8 to 15 digits, the first not 0 (E.164).  1 when valid. */
int phone_is_e164(const char *s);

/* Masks a phone number for logs into `out` (`n` bytes): "+34*****1222". */
void mask_phone(const char *phone, char *out, size_t n);

#endif
