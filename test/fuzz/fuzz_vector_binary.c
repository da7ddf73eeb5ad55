/*
 * fuzz_vector_binary.c — libFuzzer harness for the binary vector decoder
 * (src/vector_binary.c), the same code vector_recv runs in the server.
 *
 * Beyond "no crash, no sanitizer report", it checks the decoder's promises: an accepted
 * message has 1..max dimensions, only finite values and exactly 4 + 4 * dim bytes, never
 * writes past the array the server sizes from the byte count, and encodes back to the
 * very bytes it came from. A rejection names the first failing check in vector_recv's
 * order. The first input byte picks the column's typmod, so typmod errors are reached too.
 * Run: make fuzz-binary FUZZ_SECONDS=600; replay the corpus: make fuzz-replay.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vector_binary.h"

#define MAX_DIM 16000


/* The header fields as the decoder must have read them: signed big-endian int16. */
static int
Int16At(const uint8_t *p)
{
	return (int16_t) (uint16_t) ((p[0] << 8) | p[1]);
}

/* An independent statement of which check must fail first, for rejected messages. */
static VsBinaryStatus
ExpectedHeaderStatus(const uint8_t *msg, size_t len, int typmod)
{
	int			dim;

	if (len < VS_BINARY_HEADER)
		return VS_BINARY_SHORT;
	dim = Int16At(msg);
	if (dim < 1)
		return VS_BINARY_EMPTY;
	if (dim > MAX_DIM)
		return VS_BINARY_TOO_MANY;
	if (typmod != -1 && typmod != dim)
		return VS_BINARY_WRONG_DIM;
	if (Int16At(msg + 2) != 0)
		return VS_BINARY_RESERVED;
	if (len - VS_BINARY_HEADER != (size_t) dim * 4)
		return VS_BINARY_LENGTH;
	return VS_BINARY_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t		len;
	int			typmod;
	int			capacity;
	float	   *values;
	uint8_t    *copy;
	VsBinaryResult r;
	VsBinaryStatus header;

	if (size < 1)
		return 0;
	/* byte 0: the column. Mostly any dimension, sometimes the message's own or one off it. */
	typmod = data[0] < 0xc0 ? -1 : data[0] < 0xe0 ? (size > 2 ? Int16At(data + 1) : 0) :
		(size > 2 ? Int16At(data + 1) : 0) + (data[0] & 1 ? 1 : -1);
	if (typmod == 0 || typmod < -1)
		typmod = -1;			/* typmods a vector column cannot have */

	/* a copy of exactly the message's size, so ASan sees any read past its end */
	len = size - 1;
	copy = malloc(len ? len : 1);
	memcpy(copy, data + 1, len);
	msg = copy;

	/* sized as vector_recv sizes it: exactly floor((len - 4) / 4), at most MAX_DIM */
	capacity = len < VS_BINARY_HEADER ? 0 : (int) ((len - VS_BINARY_HEADER) / 4);
	if (capacity > MAX_DIM)
		capacity = MAX_DIM;
	values = malloc(sizeof(float) * (size_t) (capacity ? capacity : 1));
	r = vs_decode_vector_binary(msg, len, typmod, MAX_DIM, values, capacity);

	header = ExpectedHeaderStatus(msg, len, typmod);
	Require(r.status != VS_BINARY_CAPACITY, "an array sized from the byte count is large enough");
	if (header != VS_BINARY_OK)
		Require(r.status == header, "the first failing header check is the one reported");
	else
		Require(r.status == VS_BINARY_OK || r.status == VS_BINARY_NAN ||
				r.status == VS_BINARY_INFINITE, "a well-formed message fails only on an element");

	if (r.status == VS_BINARY_OK)
	{
		uint8_t    *again = malloc(len);

		Require(r.dim >= 1 && r.dim <= MAX_DIM, "dimension within 1..max");
		Require(typmod == -1 || r.dim == typmod, "dimension is the column's");
		Require(len == VS_BINARY_HEADER + (size_t) r.dim * 4, "exact byte length");
		for (int i = 0; i < r.dim; i++)
			Require(isfinite(values[i]), "only finite values");
		vs_encode_vector_binary(values, r.dim, again);
		Require(memcmp(msg, again, len) == 0, "re-encoding gives back the same bytes");
		free(again);
	}
	else if (r.status == VS_BINARY_NAN || r.status == VS_BINARY_INFINITE)
	{
		const uint8_t *e;

		Require(r.element >= 0 && r.element < r.dim, "the bad element is inside the vector");
		/* exponent all ones: NaN when the mantissa is non-zero, Infinity when it is zero */
		e = msg + VS_BINARY_HEADER + (size_t) r.element * 4;
		Require((e[0] & 0x7f) == 0x7f && (e[1] & 0x80) == 0x80, "the bad element is not finite");
		Require(((e[1] & 0x7f) | e[2] | e[3]) != 0 ? r.status == VS_BINARY_NAN :
				r.status == VS_BINARY_INFINITE, "NaN and Infinity told apart");
	}

	free(values);
	free(copy);
	return 0;
}
