/* phone.c - see phone.h. */
#include "phone.h"

#include <stdio.h>
#include <string.h>

int phone_is_e164(const char *s)
{
	size_t digits = 0;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		digits++;
	}
	return digits >= 8 && digits <= 15;
}

void mask_phone(const char *phone, char *out, size_t n)
{
	size_t len = strlen(phone);

	if (len <= 7) {
		snprintf(out, n, "%.*s***", (int)(len > 3 ? 3 : len), phone);
		return;
	}
	snprintf(out, n, "%.3s%.*s%s", phone, (int)(len - 7), "***************", phone + len - 4);
}
