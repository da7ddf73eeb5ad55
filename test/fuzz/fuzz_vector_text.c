/*
 * fuzz_vector_text.c — libFuzzer harness for the vector literal parser (src/vector_text.c),
 * the same code vector_in runs in the server.
 *
 * Beyond "no crash, no sanitizer report", it checks the parser's promises: a successful
 * parse has 1..max dimensions and only finite values, never writes past the capacity the
 * server sizes from the comma count, and its values survive a print/parse round trip.
 * Run: make fuzz FUZZ_SECONDS=600; replay the corpus: make fuzz-replay.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vector_text.h"

#define MAX_DIM 16000


static void
CheckRoundTrip(const float *values, int dim)
{
	/* "%.9g" is always enough digits to read a float back exactly */
	char	   *text = malloc((size_t) dim * 20 + 3);
	char	   *p = text;
	float	   *again = malloc(sizeof(float) * (size_t) dim);
	VsParseResult r;

	*p++ = '[';
	for (int i = 0; i < dim; i++)
		p += sprintf(p, i ? ",%.9g" : "%.9g", (double) values[i]);
	*p++ = ']';
	*p = '\0';
	r = vs_parse_vector(text, again, dim, MAX_DIM);
	Require(r.status == VS_PARSE_OK && r.dim == dim, "printed vector parses again");
	Require(memcmp(values, again, sizeof(float) * (size_t) dim) == 0, "round trip is exact");
	free(text);
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	int			capacity;
	float	   *values;
	VsParseResult r;

	memcpy(text, data, size);
	text[size] = '\0';			/* the server always hands the parser a C string */

	capacity = vs_count_elements_upper_bound(text);
	if (capacity > MAX_DIM)
		capacity = MAX_DIM;
	/* exactly `capacity` floats, so ASan catches any write past what the server allocates */
	values = malloc(sizeof(float) * (size_t) capacity);
	r = vs_parse_vector(text, values, capacity, MAX_DIM);

	Require(r.error_offset <= strlen(text), "error offset inside the text");
	if (r.status == VS_PARSE_OK)
	{
		Require(r.dim >= 1 && r.dim <= capacity, "dimension within 1..capacity");
		for (int i = 0; i < r.dim; i++)
			Require(isfinite(values[i]), "only finite values");
		CheckRoundTrip(values, r.dim);
	}
	else if (r.status == VS_PARSE_SYNTAX)
		Require(r.detail != NULL, "syntax errors explain themselves");

	free(values);
	free(text);
	return 0;
}
