/*
 * distance_avx2.c — the kernels with AVX2 + FMA, 8 floats a step.
 *
 * The whole project is compiled with the same flags (no -mavx2), so each function carries
 * its own target attribute and dispatch.c calls them only after cpuid/xgetbv said yes.
 *
 * One FMA chain would stall on its own latency (4 cycles on current cores, 2 issued a cycle),
 * so the 1x1 kernels keep four accumulators, cosine keeps two for each of its three sums,
 * and the 1x4 kernels run two steps of four rows (eight chains). The last dim % 8 floats
 * come in through a masked load: lanes that are masked off are never read, so a vector
 * that ends at the edge of a mapping is safe, and zeros in those lanes add nothing.
 *
 * Float accumulation: the results differ from the scalar (double) ones by rounding that
 * grows with dim; test/unit/test_kernels.c states the bound.
 */
#include "distance.h"
#include "half.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define VS_AVX2 __attribute__((target("avx2,fma")))

/* A window of 8 entries starting at [8 - r] enables exactly the first r lanes. */
static const int TailMaskTable[16] = {
	-1, -1, -1, -1, -1, -1, -1, -1,
	0, 0, 0, 0, 0, 0, 0, 0
};

static inline VS_AVX2 __m256i
TailMask(size_t r)
{
	return _mm256_loadu_si256((const __m256i *) (TailMaskTable + 8 - r));
}

static inline VS_AVX2 float
HorizontalSum(__m256 v)
{
	__m128		x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	x = _mm_add_ps(x, _mm_movehl_ps(x, x));
	x = _mm_add_ss(x, _mm_movehdup_ps(x));
	return _mm_cvtss_f32(x);
}

/* out[k] = horizontal sum of vk, for four vectors at once. */
static inline VS_AVX2 void
HorizontalSum4(__m256 v0, __m256 v1, __m256 v2, __m256 v3, float out[4])
{
	__m256		h = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));

	/* each 128-bit half of h now holds the four partial sums of its half of the lanes */
	_mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

static inline VS_AVX2 __m256
AbsPs(__m256 v)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static VS_AVX2 float
L2sqAvx2(const float *a, const float *b, size_t dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		d;
	size_t		i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= dim; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < dim)
	{
		__m256i		m = TailMask(dim - i);

		d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	return HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_AVX2 float
DotAvx2(const float *a, const float *b, size_t dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	size_t		i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	if (i < dim)
	{
		__m256i		m = TailMask(dim - i);

		s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
	}
	return HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_AVX2 float
L1Avx2(const float *a, const float *b, size_t dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	size_t		i = 0;

	/* no FMA here, but the add has the same latency, so the same four chains */
	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_add_ps(s0, AbsPs(_mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
		s1 = _mm256_add_ps(s1, AbsPs(_mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8))));
		s2 = _mm256_add_ps(s2, AbsPs(_mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16))));
		s3 = _mm256_add_ps(s3, AbsPs(_mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24))));
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_add_ps(s0, AbsPs(_mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
	if (i < dim)
	{
		__m256i		m = TailMask(dim - i);

		s1 = _mm256_add_ps(s1, AbsPs(_mm256_sub_ps(_mm256_maskload_ps(a + i, m),
												   _mm256_maskload_ps(b + i, m))));
	}
	return HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static VS_AVX2 void
CosinePartsAvx2(const float *a, const float *b, size_t dim, double out[3])
{
	__m256		ab0 = _mm256_setzero_ps(),
				ab1 = _mm256_setzero_ps();
	__m256		aa0 = _mm256_setzero_ps(),
				aa1 = _mm256_setzero_ps();
	__m256		bb0 = _mm256_setzero_ps(),
				bb1 = _mm256_setzero_ps();
	__m256		x,
				y;
	size_t		i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		__m256		x1 = _mm256_loadu_ps(a + i + 8);
		__m256		y1 = _mm256_loadu_ps(b + i + 8);

		x = _mm256_loadu_ps(a + i);
		y = _mm256_loadu_ps(b + i);
		ab0 = _mm256_fmadd_ps(x, y, ab0);
		aa0 = _mm256_fmadd_ps(x, x, aa0);
		bb0 = _mm256_fmadd_ps(y, y, bb0);
		ab1 = _mm256_fmadd_ps(x1, y1, ab1);
		aa1 = _mm256_fmadd_ps(x1, x1, aa1);
		bb1 = _mm256_fmadd_ps(y1, y1, bb1);
	}
	if (i + 8 <= dim)
	{
		x = _mm256_loadu_ps(a + i);
		y = _mm256_loadu_ps(b + i);
		ab0 = _mm256_fmadd_ps(x, y, ab0);
		aa0 = _mm256_fmadd_ps(x, x, aa0);
		bb0 = _mm256_fmadd_ps(y, y, bb0);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = TailMask(dim - i);

		x = _mm256_maskload_ps(a + i, m);
		y = _mm256_maskload_ps(b + i, m);
		ab1 = _mm256_fmadd_ps(x, y, ab1);
		aa1 = _mm256_fmadd_ps(x, x, aa1);
		bb1 = _mm256_fmadd_ps(y, y, bb1);
	}
	vs_cosine_parts_finish(a, b, dim,
						   HorizontalSum(_mm256_add_ps(ab0, ab1)),
						   HorizontalSum(_mm256_add_ps(aa0, aa1)),
						   HorizontalSum(_mm256_add_ps(bb0, bb1)), out);
}

/*
 * 1x4: one load of the query feeds four rows. Two steps per iteration give eight chains;
 * the second step's sums (t*) are folded into the first at the end.
 */
static VS_AVX2 void
L2sq1x4Avx2(const float *q, const float *const rows[4], size_t dim, float out[4])
{
	const float *r0 = rows[0],
			   *r1 = rows[1],
			   *r2 = rows[2],
			   *r3 = rows[3];
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	__m256		t0 = _mm256_setzero_ps(),
				t1 = _mm256_setzero_ps(),
				t2 = _mm256_setzero_ps(),
				t3 = _mm256_setzero_ps();
	__m256		x,
				d;
	size_t		i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		__m256		x1 = _mm256_loadu_ps(q + i + 8);

		x = _mm256_loadu_ps(q + i);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r0 + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r1 + i));
		s1 = _mm256_fmadd_ps(d, d, s1);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r2 + i));
		s2 = _mm256_fmadd_ps(d, d, s2);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r3 + i));
		s3 = _mm256_fmadd_ps(d, d, s3);
		d = _mm256_sub_ps(x1, _mm256_loadu_ps(r0 + i + 8));
		t0 = _mm256_fmadd_ps(d, d, t0);
		d = _mm256_sub_ps(x1, _mm256_loadu_ps(r1 + i + 8));
		t1 = _mm256_fmadd_ps(d, d, t1);
		d = _mm256_sub_ps(x1, _mm256_loadu_ps(r2 + i + 8));
		t2 = _mm256_fmadd_ps(d, d, t2);
		d = _mm256_sub_ps(x1, _mm256_loadu_ps(r3 + i + 8));
		t3 = _mm256_fmadd_ps(d, d, t3);
	}
	if (i + 8 <= dim)
	{
		x = _mm256_loadu_ps(q + i);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r0 + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r1 + i));
		s1 = _mm256_fmadd_ps(d, d, s1);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r2 + i));
		s2 = _mm256_fmadd_ps(d, d, s2);
		d = _mm256_sub_ps(x, _mm256_loadu_ps(r3 + i));
		s3 = _mm256_fmadd_ps(d, d, s3);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = TailMask(dim - i);

		x = _mm256_maskload_ps(q + i, m);
		d = _mm256_sub_ps(x, _mm256_maskload_ps(r0 + i, m));
		t0 = _mm256_fmadd_ps(d, d, t0);
		d = _mm256_sub_ps(x, _mm256_maskload_ps(r1 + i, m));
		t1 = _mm256_fmadd_ps(d, d, t1);
		d = _mm256_sub_ps(x, _mm256_maskload_ps(r2 + i, m));
		t2 = _mm256_fmadd_ps(d, d, t2);
		d = _mm256_sub_ps(x, _mm256_maskload_ps(r3 + i, m));
		t3 = _mm256_fmadd_ps(d, d, t3);
	}
	HorizontalSum4(_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1),
				   _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3), out);
}

static VS_AVX2 void
Dot1x4Avx2(const float *q, const float *const rows[4], size_t dim, float out[4])
{
	const float *r0 = rows[0],
			   *r1 = rows[1],
			   *r2 = rows[2],
			   *r3 = rows[3];
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	__m256		t0 = _mm256_setzero_ps(),
				t1 = _mm256_setzero_ps(),
				t2 = _mm256_setzero_ps(),
				t3 = _mm256_setzero_ps();
	__m256		x;
	size_t		i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		__m256		x1 = _mm256_loadu_ps(q + i + 8);

		x = _mm256_loadu_ps(q + i);
		s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r0 + i), s0);
		s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r1 + i), s1);
		s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r2 + i), s2);
		s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r3 + i), s3);
		t0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r0 + i + 8), t0);
		t1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r1 + i + 8), t1);
		t2 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r2 + i + 8), t2);
		t3 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r3 + i + 8), t3);
	}
	if (i + 8 <= dim)
	{
		x = _mm256_loadu_ps(q + i);
		s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r0 + i), s0);
		s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r1 + i), s1);
		s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r2 + i), s2);
		s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r3 + i), s3);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = TailMask(dim - i);

		x = _mm256_maskload_ps(q + i, m);
		t0 = _mm256_fmadd_ps(x, _mm256_maskload_ps(r0 + i, m), t0);
		t1 = _mm256_fmadd_ps(x, _mm256_maskload_ps(r1 + i, m), t1);
		t2 = _mm256_fmadd_ps(x, _mm256_maskload_ps(r2 + i, m), t2);
		t3 = _mm256_fmadd_ps(x, _mm256_maskload_ps(r3 + i, m), t3);
	}
	HorizontalSum4(_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1),
				   _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3), out);
}

/* F16C: eight halves a step; the tail one at a time (it never reads past the input). */
static __attribute__((target("avx2,f16c"))) void
HalvesToFloatsAvx2(const uint16_t *in, float *out, size_t n)
{
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (in + i))));
	for (; i < n; i++)
		out[i] = vs_half_to_float(in[i]);
}

const VsKernelTable vs_kernels_avx2 = {
	.name = "avx2",
	.l2sq = L2sqAvx2,
	.dot = DotAvx2,
	.l1 = L1Avx2,
	.cosine_parts = CosinePartsAvx2,
	.l2sq_1x4 = L2sq1x4Avx2,
	.dot_1x4 = Dot1x4Avx2,
	.halves_to_floats = HalvesToFloatsAvx2,
	.hamming = vs_hamming_popcnt,
	.and_or_counts = vs_and_or_counts_popcnt,
};

#else							/* not x86: dispatch.c never selects this table */

const VsKernelTable vs_kernels_avx2 = {
	.name = "avx2",
	.l2sq = vs_l2sq_scalar,
	.dot = vs_dot_scalar,
	.l1 = vs_l1_scalar,
	.cosine_parts = vs_cosine_parts_scalar,
	.l2sq_1x4 = vs_l2sq_1x4_scalar,
	.dot_1x4 = vs_dot_1x4_scalar,
	.halves_to_floats = vs_halves_to_floats_scalar,
	.hamming = vs_hamming_scalar,
	.and_or_counts = vs_and_or_counts_scalar,
};

#endif
