/*
 * fuzz.h - what every libFuzzer target in tests/fuzz/ shares.
 *
 * A target is one fuzz_<name>.c defining LLVMFuzzerTestOneInput(); `make fuzz` (tests/fuzz/fuzz.mk)
 * builds it with -fsanitize=fuzzer,address,undefined and runs it on tests/fuzz/corpus/<name>/.
 * Besides the sanitizers, a target checks the contracts the module's header states and calls
 * FUZZ_CHECK() on each; a broken contract aborts, which libFuzzer reports as a crash and saves.
 */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with the file, line and condition when `cond` is false: a contract the header states
 * does not hold for this input. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* A heap copy of exactly `len` bytes (no NUL after them), so that a read one byte too far is
 * caught by AddressSanitizer.  Never NULL (a zero-length copy is one byte that is not part of
 * the input).  The caller frees it with free(). */
static inline char *fuzz_copy(const void *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	if (!p)
		abort();
	if (len)
		memcpy(p, data, len);
	return p;
}

/* A NUL-terminated heap copy of `len` bytes (cut at the first NUL, as a C string would be).
 * Never NULL; the caller frees it with free(). */
static inline char *fuzz_cstr(const void *data, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		abort();
	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

/* The bytes up to the next `sep` in [*p, end) as a NUL-terminated heap copy; *p moves past the
 * separator (to `end` when there is none).  The caller frees the result with free(). */
static inline char *fuzz_take_until(const uint8_t **p, const uint8_t *end, uint8_t sep)
{
	const uint8_t *s = *p, *e = s < end ? memchr(s, sep, (size_t)(end - s)) : NULL;
	char *out;

	if (!e)
		e = end;
	out = fuzz_cstr(s, (size_t)(e - s));
	*p = e < end ? e + 1 : end;
	return out;
}

#endif
