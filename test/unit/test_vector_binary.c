/*
 * test_vector_binary.c — the binary vector decoder, without a server.
 * The server-side messages for each status are what vector_recv raised before the decoder
 * was factored out; sql/vector_io.sql covers the round trip through a real server.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "vector_binary.h"

#define UNIT_RANDOM_SEED 0x62696e3031ULL
#include "random.h"

#define MAX_DIM 16000

static float out[MAX_DIM];
static unsigned char buf[VS_BINARY_HEADER + 4 * (MAX_DIM + 2)];

/* A message of `dim` elements with header fields as given; element i is i + 0.5. */
static size_t
Message(int dim_field, int reserved, int elements)
{
	buf[0] = (unsigned char) ((unsigned) dim_field >> 8);
	buf[1] = (unsigned char) dim_field;
	buf[2] = (unsigned char) ((unsigned) reserved >> 8);
	buf[3] = (unsigned char) reserved;
	for (int i = 0; i < elements; i++)
	{
		float		f = (float) i + 0.5f;
		uint32_t	bits;

		memcpy(&bits, &f, 4);
		for (int b = 0; b < 4; b++)
			buf[VS_BINARY_HEADER + i * 4 + b] = (unsigned char) (bits >> (24 - 8 * b));
	}
	return VS_BINARY_HEADER + (size_t) elements * 4;
}

static VsBinaryResult
Decode(size_t len, int expected)
{
	return vs_decode_vector_binary(buf, len, expected, MAX_DIM, out, MAX_DIM);
}

static void
test_valid_messages(void)
{
	static const unsigned char three[] = {0, 3, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0,
	0x80, 0, 0, 0};
	VsBinaryResult r = vs_decode_vector_binary(three, sizeof(three), -1, MAX_DIM, out, 3);

	UNIT_CHECK(r.status == VS_BINARY_OK && r.dim == 3, "status %d dim %d", r.status, r.dim);
	UNIT_CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 0.0f && signbit(out[2]),
			   "big-endian 1, -2, -0");

	r = Decode(Message(MAX_DIM, 0, MAX_DIM), MAX_DIM);
	UNIT_CHECK(r.status == VS_BINARY_OK && r.dim == MAX_DIM && out[MAX_DIM - 1] == MAX_DIM - 0.5f,
			   "the largest vector: status %d", r.status);

	/* an unaligned buffer reads the same */
	{
		static unsigned char shifted[1 + sizeof(three)];

		memcpy(shifted + 1, three, sizeof(three));
		r = vs_decode_vector_binary(shifted + 1, sizeof(three), 3, MAX_DIM, out, 3);
		UNIT_CHECK(r.status == VS_BINARY_OK && out[1] == -2.0f, "unaligned: status %d", r.status);
	}
}

static void
test_header_errors(void)
{
	VsBinaryResult r;

	for (size_t len = 0; len < VS_BINARY_HEADER; len++)
	{
		Message(1, 0, 1);
		r = Decode(len, -1);
		UNIT_CHECK(r.status == VS_BINARY_SHORT, "%zu bytes: status %d", len, r.status);
	}
	r = Decode(Message(0, 0, 0), -1);
	UNIT_CHECK(r.status == VS_BINARY_EMPTY && r.dim == 0, "dim 0: status %d", r.status);
	r = Decode(Message(0xffff, 0, 0), -1);
	UNIT_CHECK(r.status == VS_BINARY_EMPTY && r.dim == -1, "dim -1 (signed int16): status %d dim %d",
			   r.status, r.dim);
	r = Decode(Message(MAX_DIM + 1, 0, MAX_DIM + 1), -1);
	UNIT_CHECK(r.status == VS_BINARY_TOO_MANY && r.dim == MAX_DIM + 1, "too many: status %d",
			   r.status);
	r = Decode(Message(3, 0, 3), 4);
	UNIT_CHECK(r.status == VS_BINARY_WRONG_DIM && r.dim == 3, "typmod: status %d", r.status);
	r = Decode(Message(3, 7, 3), -1);
	UNIT_CHECK(r.status == VS_BINARY_RESERVED && r.reserved == 7, "reserved: status %d", r.status);
	r = Decode(Message(3, 0x8000, 3), -1);
	UNIT_CHECK(r.status == VS_BINARY_RESERVED && r.reserved == -32768, "reserved is signed: %d",
			   r.reserved);
	/* the typmod check comes before the reserved field, as in vector_recv before */
	r = Decode(Message(3, 1, 3), 2);
	UNIT_CHECK(r.status == VS_BINARY_WRONG_DIM, "order: status %d", r.status);
}

static void
test_length_errors(void)
{
	size_t		len = Message(3, 0, 3);
	VsBinaryResult r;

	r = Decode(len - 1, -1);
	UNIT_CHECK(r.status == VS_BINARY_LENGTH && r.element_bytes == 11, "one byte short: status %d",
			   r.status);
	r = Decode(len + 4, -1);
	UNIT_CHECK(r.status == VS_BINARY_LENGTH && r.element_bytes == 16, "one element long: status %d",
			   r.status);
	r = vs_decode_vector_binary(buf, len, -1, MAX_DIM, out, 2);
	UNIT_CHECK(r.status == VS_BINARY_CAPACITY, "caller's array too small: status %d", r.status);
}

static void
test_element_errors(void)
{
	static const unsigned char nan_at_1[] = {0, 2, 0, 0, 0, 0, 0, 0, 0x7f, 0xc0, 0, 1};
	static const unsigned char inf_at_0[] = {0, 2, 0, 0, 0xff, 0x80, 0, 0, 0x7f, 0xc0, 0, 0};
	static const unsigned char denormal[] = {0, 1, 0, 0, 0, 0, 0, 1};
	VsBinaryResult r;

	r = vs_decode_vector_binary(nan_at_1, sizeof(nan_at_1), -1, MAX_DIM, out, 2);
	UNIT_CHECK(r.status == VS_BINARY_NAN && r.element == 1, "NaN: status %d element %d",
			   r.status, r.element);
	r = vs_decode_vector_binary(inf_at_0, sizeof(inf_at_0), -1, MAX_DIM, out, 2);
	UNIT_CHECK(r.status == VS_BINARY_INFINITE && r.element == 0,
			   "-Infinity before a NaN: status %d element %d", r.status, r.element);
	r = vs_decode_vector_binary(denormal, sizeof(denormal), -1, MAX_DIM, out, 1);
	UNIT_CHECK(r.status == VS_BINARY_OK && out[0] > 0.0f && out[0] < 1e-44f, "denormal kept");
}

static void
test_round_trip(void)
{
	static unsigned char again[VS_BINARY_HEADER + 4 * 1000];
	int			mismatches = 0;

	for (int trial = 0; trial < 200; trial++)
	{
		int			dim = 1 + (int) (NextRandom() % 1000);
		size_t		len = VS_BINARY_HEADER + (size_t) dim * 4;
		VsBinaryResult r;

		buf[0] = (unsigned char) (dim >> 8);
		buf[1] = (unsigned char) dim;
		buf[2] = buf[3] = 0;
		for (size_t i = VS_BINARY_HEADER; i < len; i += 4)
		{
			uint64_t	bits = NextRandom();

			memcpy(buf + i, &bits, 4);
			if ((buf[i] & 0x7f) == 0x7f && (buf[i + 1] & 0x80))
				buf[i] ^= 0x40;	/* exponent all ones is NaN or Infinity: make it finite */
		}
		r = Decode(len, dim);
		vs_encode_vector_binary(out, r.dim, again);
		if (r.status != VS_BINARY_OK || memcmp(buf, again, len) != 0)
			mismatches++;
	}
	UNIT_CHECK(mismatches == 0, "%d of 200 random messages did not re-encode to their bytes",
			   mismatches);
}

int
main(void)
{
	UNIT_RUN(test_valid_messages);
	UNIT_RUN(test_header_errors);
	UNIT_RUN(test_length_errors);
	UNIT_RUN(test_element_errors);
	UNIT_RUN(test_round_trip);
	return unit_finish("test_vector_binary");
}
