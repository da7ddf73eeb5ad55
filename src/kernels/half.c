/*
 * half.c — binary16 conversions and the scalar bit counts (half.h).
 *
 * The conversions work on the bit patterns, so they give the same answer whatever the
 * compiler's float environment; test/unit/test_half.c checks every one of the 65,536 halves
 * round-trips and that float-to-half rounds as F16C does.
 */
#include "half.h"

#include <string.h>

static inline uint32_t
FloatBits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
BitsFloat(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

float
vs_half_to_float(VsHalf h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exponent = (h >> 10) & 0x1F;
	uint32_t	mantissa = h & 0x3FF;

	if (exponent == 0x1F)		/* Infinity or NaN */
		return BitsFloat(sign | 0x7F800000 | (mantissa << 13));
	if (exponent != 0)			/* normal: rebias 15 -> 127 */
		return BitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
	if (mantissa == 0)
		return BitsFloat(sign);
	/* subnormal: mantissa x 2^-24, exact in float */
	return sign ? -(float) mantissa * 0x1p-24f : (float) mantissa * 0x1p-24f;
}

VsHalf
vs_float_to_half(float f)
{
	uint32_t	u = FloatBits(f);
	VsHalf		sign = (VsHalf) ((u >> 16) & 0x8000);
	uint32_t	abs = u & 0x7FFFFFFF;
	uint32_t	exponent = abs >> 23;
	uint32_t	mantissa;
	int			shift;
	uint32_t	rounded;

	if (exponent == 0xFF)		/* Infinity, NaN (kept quiet) */
		return sign | 0x7C00 | (abs & 0x7FFFFF ? 0x200 : 0);
	if (abs >= 0x477FF000)		/* rounds to 65520 or more: beyond the largest half */
		return sign | 0x7C00;
	if (abs >= 0x38800000)		/* normal half: 2^-14 and up */
	{
		/* rebias, then round the 13 dropped bits to nearest even */
		rounded = abs - 0x38000000;
		rounded += 0xFFF + ((rounded >> 13) & 1);
		return sign | (VsHalf) (rounded >> 13);
	}
	if (abs < 0x33000000)		/* below half the smallest subnormal: zero */
		return sign;
	/* subnormal half: the implicit bit made explicit, shifted into place, rounded to even */
	mantissa = (abs & 0x7FFFFF) | 0x800000;
	shift = 126 - (int) exponent;	/* 14 + 13 - (exponent - 127) */
	rounded = mantissa >> shift;
	{
		uint32_t	rest = mantissa & ((1u << shift) - 1);
		uint32_t	halfway = 1u << (shift - 1);

		if (rest > halfway || (rest == halfway && (rounded & 1)))
			rounded++;
	}
	return sign | (VsHalf) rounded;
}

void
vs_halves_to_floats_scalar(const VsHalf *in, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = vs_half_to_float(in[i]);
}

static inline unsigned
PopcountByte(uint8_t b)
{
	return (unsigned) __builtin_popcount(b);
}

uint64_t
vs_hamming_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	count = 0;

	for (size_t i = 0; i < nbytes; i++)
		count += PopcountByte(a[i] ^ b[i]);
	return count;
}

void
vs_and_or_counts_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes,
						uint64_t *and_count, uint64_t *or_count)
{
	uint64_t	ab = 0,
				aob = 0;

	for (size_t i = 0; i < nbytes; i++)
	{
		ab += PopcountByte(a[i] & b[i]);
		aob += PopcountByte(a[i] | b[i]);
	}
	*and_count = ab;
	*or_count = aob;
}

#if defined(__x86_64__)

#include <immintrin.h>

#define VS_POPCNT __attribute__((target("popcnt")))

static inline uint64_t
Load8(const uint8_t *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
	return w;
}

VS_POPCNT uint64_t
vs_hamming_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	count = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
		count += (uint64_t) _mm_popcnt_u64(Load8(a + i) ^ Load8(b + i));
	return count + vs_hamming_scalar(a + i, b + i, nbytes - i);
}

VS_POPCNT void
vs_and_or_counts_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes,
						uint64_t *and_count, uint64_t *or_count)
{
	uint64_t	ab = 0,
				aob = 0,
				tail_and,
				tail_or;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x = Load8(a + i),
					y = Load8(b + i);

		ab += (uint64_t) _mm_popcnt_u64(x & y);
		aob += (uint64_t) _mm_popcnt_u64(x | y);
	}
	vs_and_or_counts_scalar(a + i, b + i, nbytes - i, &tail_and, &tail_or);
	*and_count = ab + tail_and;
	*or_count = aob + tail_or;
}

#endif
