/*
 * half.h — IEEE 754 binary16 ("half", halfvec's element) and bit strings (bit's payload):
 * conversions and counts that are not per-ISA. The per-ISA ones (many halves to floats at
 * once, popcounts) are in the kernel tables of distance.h.
 *
 * Plain C, no PostgreSQL headers.
 */
#ifndef VS_HALF_H
#define VS_HALF_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t VsHalf;

/* The largest finite half; anything that rounds beyond it is out of range for halfvec. */
#define VS_HALF_MAX 65504.0f

/* Exact: every half is a float. */
extern float vs_half_to_float(VsHalf h);

/*
 * Round to nearest, ties to even, as F16C's VCVTPS2PH does; a value too large becomes
 * +-Infinity (callers check with vs_half_is_inf), a value too small becomes a subnormal
 * or (signed) zero.
 */
extern VsHalf vs_float_to_half(float f);

static inline int
vs_half_is_inf(VsHalf h)
{
	return (h & 0x7FFF) == 0x7C00;
}

/* The scalar kernels of the tables (distance.h). */
extern void vs_halves_to_floats_scalar(const VsHalf *in, float *out, size_t n);
extern uint64_t vs_hamming_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes);
extern void vs_and_or_counts_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes,
									uint64_t *and_count, uint64_t *or_count);

/* The same counts with POPCNT, eight bytes a step: the SIMD tables' (x86 only). */
extern uint64_t vs_hamming_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes);
extern void vs_and_or_counts_popcnt(const uint8_t *a, const uint8_t *b, size_t nbytes,
									uint64_t *and_count, uint64_t *or_count);

#endif							/* VS_HALF_H */
