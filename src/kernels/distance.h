/*
 * distance.h — float32 distance kernels, one implementation per ISA, chosen once at load.
 *
 * Plain C, no PostgreSQL headers: shared by the SQL functions, the index access methods,
 * the unit tests, the micro-benchmark and src/cuda/.
 *
 * The scalar table is the reference: it accumulates in double so that the SIMD tables
 * (float accumulators, several in flight) can be checked against it with a tolerance that
 * grows with the dimension.
 */
#ifndef VS_DISTANCE_H
#define VS_DISTANCE_H

#include <float.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum VsIsa
{
	VS_ISA_SCALAR = 0,
	VS_ISA_AVX2,				/* AVX2 + FMA + F16C + POPCNT */
	VS_ISA_AVX512,				/* AVX-512F + F16C + POPCNT */
	VS_ISA_COUNT
} VsIsa;

typedef struct VsKernelTable
{
	const char *name;
	/* sum (a[i] - b[i])^2 */
	float		(*l2sq) (const float *a, const float *b, size_t dim);
	/* sum a[i] * b[i] */
	float		(*dot) (const float *a, const float *b, size_t dim);
	/* sum |a[i] - b[i]| */
	float		(*l1) (const float *a, const float *b, size_t dim);
	/*
	 * One pass for cosine: out[0] = a.b, out[1] = |a|^2, out[2] = |b|^2, in double: a float
	 * square overflows past |x| ~ 1.8e19 and flushes to zero below ~1e-19, which made large
	 * vectors look like zero vectors. SIMD tables sum in float and redo a pass in double
	 * when a sum leaves the range where float is exact enough (vs_cosine_parts_finish).
	 */
	void		(*cosine_parts) (const float *a, const float *b, size_t dim, double out[3]);
	/* one query against four rows; each query load is shared by the four rows */
	void		(*l2sq_1x4) (const float *q, const float *const rows[4], size_t dim, float out[4]);
	void		(*dot_1x4) (const float *q, const float *const rows[4], size_t dim, float out[4]);
	/* halfvec: n binary16 values widened to float, exactly (F16C, AVX-512F) */
	void		(*halves_to_floats) (const uint16_t *in, float *out, size_t n);
	/* bit: popcount(a ^ b), and popcount(a & b), popcount(a | b), over nbytes (POPCNT) */
	uint64_t	(*hamming) (const uint8_t *a, const uint8_t *b, size_t nbytes);
	void		(*and_or_counts) (const uint8_t *a, const uint8_t *b, size_t nbytes,
								  uint64_t *and_count, uint64_t *or_count);
} VsKernelTable;

/* The active table. Never NULL: it starts as the scalar table. */
extern const VsKernelTable *vs_kernels;

/* Best ISA that both the CPU and the OS (saved register state) support. */
extern VsIsa vs_isa_detect(void);
extern bool vs_isa_supported(VsIsa isa);
extern const char *vs_isa_name(VsIsa isa);
/* Parses "scalar", "avx2", "avx512" or "auto" (auto = vs_isa_detect()); false if unknown. */
extern bool vs_isa_from_name(const char *name, VsIsa *isa);
/* The table for one ISA, whether or not it is active; NULL when the CPU lacks it. */
extern const VsKernelTable *vs_kernel_table(VsIsa isa);
/* Makes one ISA active; false (and nothing changes) when the CPU lacks it. */
extern bool vs_kernels_select(VsIsa isa);
/* The active ISA. */
extern VsIsa vs_kernels_active(void);
/*
 * Detects the CPU once and selects the best table, unless the environment variable
 * VECSEARCH_SIMD names another one ("scalar", "avx2", "avx512", "auto"). Idempotent.
 */
extern void vs_kernels_init(void);
/*
 * The ISA that vs_kernels_init() picks for a request such as VECSEARCH_SIMD's value: the one
 * named when the CPU supports it, otherwise (NULL, unknown, unsupported) the best one.
 * Exposed so that callers and tests can see the choice without going through the environment.
 */
extern VsIsa vs_isa_resolve(const char *request);

/* Per-ISA tables; defined in distance_<isa>.c. */
extern const VsKernelTable vs_kernels_scalar;
extern const VsKernelTable vs_kernels_avx2;
extern const VsKernelTable vs_kernels_avx512;

/*
 * The scalar kernels by name, so that the SIMD tables can point at them where their own
 * instructions do not exist (builds for other architectures).
 */
extern float vs_l2sq_scalar(const float *a, const float *b, size_t dim);
extern float vs_dot_scalar(const float *a, const float *b, size_t dim);
extern float vs_l1_scalar(const float *a, const float *b, size_t dim);
extern void vs_cosine_parts_scalar(const float *a, const float *b, size_t dim, double out[3]);
extern void vs_l2sq_1x4_scalar(const float *q, const float *const rows[4], size_t dim, float out[4]);
extern void vs_dot_1x4_scalar(const float *q, const float *const rows[4], size_t dim, float out[4]);

/*
 * The Euclidean norm, accumulated in double through the square root: every float's square
 * fits a double (3.4e38^2 < 1.8e308, 1.4e-45^2 > 4.9e-324), so only a vector of zeros has
 * norm 0 and no vector has an infinite one.
 */
extern double vs_norm(const float *x, size_t dim);

/*
 * Squared norms below this, summed in float, may have lost squares that flushed to zero
 * (each under FLT_MIN, 1.2e-38; 16,000 of them under 2e-34, a 2e-10 share of this bound).
 */
#define VS_COSINE_FLOAT_MIN 1e-24f

/*
 * How a SIMD kernel ends cosine_parts: its float sums stand if both squared norms are
 * finite and at least VS_COSINE_FLOAT_MIN and the dot product is finite (|a.b| <= |a| |b|,
 * so it overflows only by rounding at the very top of the range); otherwise the sums are
 * redone in double by the reference kernel.
 */
static inline void
vs_cosine_parts_finish(const float *a, const float *b, size_t dim, float ab, float aa, float bb,
					   double out[3])
{
	if (!(aa >= VS_COSINE_FLOAT_MIN && bb >= VS_COSINE_FLOAT_MIN &&
		  aa <= FLT_MAX && bb <= FLT_MAX && ab <= FLT_MAX && ab >= -FLT_MAX))
	{
		vs_cosine_parts_scalar(a, b, dim, out);
		return;
	}
	out[0] = ab;
	out[1] = aa;
	out[2] = bb;
}

#endif							/* VS_DISTANCE_H */
