/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void log_msg(const char *level, const char *event, const char *fmt, ...)
{
	char msg[1024], line[2200];
	size_t n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = (size_t)snprintf(line, sizeof(line), "level=%s event=%s msg=\"", level, event);
	for (const unsigned char *p = (const unsigned char *)msg; *p && n < sizeof(line) - 8; p++) {
		if (*p == '"' || *p == '\\') {
			line[n++] = '\\';
			line[n++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			n += (size_t)snprintf(line + n, sizeof(line) - n, "\\x%02x", *p);
		} else {
			line[n++] = (char)*p;
		}
	}
	line[n++] = '"';
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}
