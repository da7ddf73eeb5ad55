/*
 * fuzz.h — what the libFuzzer harnesses share: the entry point's declaration, and Require,
 * which turns a broken promise of the code under test into a crash libFuzzer reports.
 */
#ifndef VS_FUZZ_H
#define VS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void
Require(int cond, const char *what)
{
	if (!cond)
	{
		fprintf(stderr, "property violated: %s\n", what);
		abort();
	}
}

#endif
