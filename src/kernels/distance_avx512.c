/*
 * distance_avx512.c — the kernels with AVX-512F, 16 floats a step.
 *
 * Same shape as distance_avx2.c: a per-function target attribute instead of -mavx512f, four
 * accumulators for the 1x1 kernels (two each for cosine's three sums, eight for 1x4). The
 * tail is one zero-masked load: masked-off lanes are not read (no fault past the end of a
 * mapping) and come in as zeros, which add nothing to any of these sums.
 */
#include "distance.h"
#include "half.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define VS_AVX512 __attribute__((target("avx512f")))

/* The first r lanes, 0 < r < 16. */
static inline __mmask16
TailMask(size_t r)
{
	return (__mmask16) ((1u << r) - 1u);
}

static VS_AVX512 float
L2sqAvx512(const float *a, const float *b, size_t dim)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	__m512		d;
	size_t		i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= dim; i += 16)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < dim)
	{
		__mmask16	m = TailMask(dim - i);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 float
DotAvx512(const float *a, const float *b, size_t dim)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= dim; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < dim)
	{
		__mmask16	m = TailMask(dim - i);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 float
L1Avx512(const float *a, const float *b, size_t dim)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16))));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32))));
		s3 = _mm512_add_ps(s3, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48))));
	}
	for (; i + 16 <= dim; i += 16)
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
	if (i < dim)
	{
		__mmask16	m = TailMask(dim - i);

		s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
														   _mm512_maskz_loadu_ps(m, b + i))));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static VS_AVX512 void
CosinePartsAvx512(const float *a, const float *b, size_t dim, double out[3])
{
	__m512		ab0 = _mm512_setzero_ps(),
				ab1 = _mm512_setzero_ps();
	__m512		aa0 = _mm512_setzero_ps(),
				aa1 = _mm512_setzero_ps();
	__m512		bb0 = _mm512_setzero_ps(),
				bb1 = _mm512_setzero_ps();
	__m512		x,
				y;
	size_t		i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m512		x1 = _mm512_loadu_ps(a + i + 16);
		__m512		y1 = _mm512_loadu_ps(b + i + 16);

		x = _mm512_loadu_ps(a + i);
		y = _mm512_loadu_ps(b + i);
		ab0 = _mm512_fmadd_ps(x, y, ab0);
		aa0 = _mm512_fmadd_ps(x, x, aa0);
		bb0 = _mm512_fmadd_ps(y, y, bb0);
		ab1 = _mm512_fmadd_ps(x1, y1, ab1);
		aa1 = _mm512_fmadd_ps(x1, x1, aa1);
		bb1 = _mm512_fmadd_ps(y1, y1, bb1);
	}
	if (i + 16 <= dim)
	{
		x = _mm512_loadu_ps(a + i);
		y = _mm512_loadu_ps(b + i);
		ab0 = _mm512_fmadd_ps(x, y, ab0);
		aa0 = _mm512_fmadd_ps(x, x, aa0);
		bb0 = _mm512_fmadd_ps(y, y, bb0);
		i += 16;
	}
	if (i < dim)
	{
		__mmask16	m = TailMask(dim - i);

		x = _mm512_maskz_loadu_ps(m, a + i);
		y = _mm512_maskz_loadu_ps(m, b + i);
		ab1 = _mm512_fmadd_ps(x, y, ab1);
		aa1 = _mm512_fmadd_ps(x, x, aa1);
		bb1 = _mm512_fmadd_ps(y, y, bb1);
	}
	vs_cosine_parts_finish(a, b, dim,
						   _mm512_reduce_add_ps(_mm512_add_ps(ab0, ab1)),
						   _mm512_reduce_add_ps(_mm512_add_ps(aa0, aa1)),
						   _mm512_reduce_add_ps(_mm512_add_ps(bb0, bb1)), out);
}

/* 1x4: one query load feeds four rows; two steps an iteration give eight chains. */
static VS_AVX512 void
L2sq1x4Avx512(const float *q, const float *const rows[4], size_t dim, float out[4])
{
	const float *r0 = rows[0],
			   *r1 = rows[1],
			   *r2 = rows[2],
			   *r3 = rows[3];
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	__m512		t0 = _mm512_setzero_ps(),
				t1 = _mm512_setzero_ps(),
				t2 = _mm512_setzero_ps(),
				t3 = _mm512_setzero_ps();
	__m512		x,
				d;
	size_t		i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m512		x1 = _mm512_loadu_ps(q + i + 16);

		x = _mm512_loadu_ps(q + i);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r0 + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r1 + i));
		s1 = _mm512_fmadd_ps(d, d, s1);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r2 + i));
		s2 = _mm512_fmadd_ps(d, d, s2);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r3 + i));
		s3 = _mm512_fmadd_ps(d, d, s3);
		d = _mm512_sub_ps(x1, _mm512_loadu_ps(r0 + i + 16));
		t0 = _mm512_fmadd_ps(d, d, t0);
		d = _mm512_sub_ps(x1, _mm512_loadu_ps(r1 + i + 16));
		t1 = _mm512_fmadd_ps(d, d, t1);
		d = _mm512_sub_ps(x1, _mm512_loadu_ps(r2 + i + 16));
		t2 = _mm512_fmadd_ps(d, d, t2);
		d = _mm512_sub_ps(x1, _mm512_loadu_ps(r3 + i + 16));
		t3 = _mm512_fmadd_ps(d, d, t3);
	}
	if (i + 16 <= dim)
	{
		x = _mm512_loadu_ps(q + i);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r0 + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r1 + i));
		s1 = _mm512_fmadd_ps(d, d, s1);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r2 + i));
		s2 = _mm512_fmadd_ps(d, d, s2);
		d = _mm512_sub_ps(x, _mm512_loadu_ps(r3 + i));
		s3 = _mm512_fmadd_ps(d, d, s3);
		i += 16;
	}
	if (i < dim)
	{
		__mmask16	m = TailMask(dim - i);

		x = _mm512_maskz_loadu_ps(m, q + i);
		d = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(m, r0 + i));
		t0 = _mm512_fmadd_ps(d, d, t0);
		d = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(m, r1 + i));
		t1 = _mm512_fmadd_ps(d, d, t1);
		d = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(m, r2 + i));
		t2 = _mm512_fmadd_ps(d, d, t2);
		d = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(m, r3 + i));
		t3 = _mm512_fmadd_ps(d, d, t3);
	}
	out[0] = _mm512_reduce_add_ps(_mm512_add_ps(s0, t0));
	out[1] = _mm512_reduce_add_ps(_mm512_add_ps(s1, t1));
	out[2] = _mm512_reduce_add_ps(_mm512_add_ps(s2, t2));
	out[3] = _mm512_reduce_add_ps(_mm512_add_ps(s3, t3));
}

static VS_AVX512 void
Dot1x4Avx512(const float *q, const float *const rows[4], size_t dim, float out[4])
{
	const float *r0 = rows[0],
			   *r1 = rows[1],
			   *r2 = rows[2],
			   *r3 = rows[3];
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	__m512		t0 = _mm512_setzero_ps(),
				t1 = _mm512_setzero_ps(),
				t2 = _mm512_setzero_ps(),
				t3 = _mm512_setzero_ps();
	__m512		x;
	size_t		i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m512		x1 = _mm512_loadu_ps(q + i + 16);

		x = _mm512_loadu_ps(q + i);
		s0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r0 + i), s0);
		s1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r1 + i), s1);
		s2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r2 + i), s2);
		s3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r3 + i), s3);
		t0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r0 + i + 16), t0);
		t1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r1 + i + 16), t1);
		t2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r2 + i + 16), t2);
		t3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r3 + i + 16), t3);
	}
	if (i + 16 <= dim)
	{
		x = _mm512_loadu_ps(q + i);
		s0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r0 + i), s0);
		s1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r1 + i), s1);
		s2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r2 + i), s2);
		s3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r3 + i), s3);
		i += 16;
	}
	if (i < dim)
	{
		__mmask16	m = TailMask(dim - i);

		x = _mm512_maskz_loadu_ps(m, q + i);
		t0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r0 + i), t0);
		t1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r1 + i), t1);
		t2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r2 + i), t2);
		t3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, r3 + i), t3);
	}
	out[0] = _mm512_reduce_add_ps(_mm512_add_ps(s0, t0));
	out[1] = _mm512_reduce_add_ps(_mm512_add_ps(s1, t1));
	out[2] = _mm512_reduce_add_ps(_mm512_add_ps(s2, t2));
	out[3] = _mm512_reduce_add_ps(_mm512_add_ps(s3, t3));
}

/* AVX-512F widens sixteen halves a step; the tail one at a time. */
static __attribute__((target("avx512f"))) void
HalvesToFloatsAvx512(const uint16_t *in, float *out, size_t n)
{
	size_t		i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (in + i))));
	for (; i < n; i++)
		out[i] = vs_half_to_float(in[i]);
}

const VsKernelTable vs_kernels_avx512 = {
	.name = "avx512",
	.l2sq = L2sqAvx512,
	.dot = DotAvx512,
	.l1 = L1Avx512,
	.cosine_parts = CosinePartsAvx512,
	.l2sq_1x4 = L2sq1x4Avx512,
	.dot_1x4 = Dot1x4Avx512,
	.halves_to_floats = HalvesToFloatsAvx512,
	.hamming = vs_hamming_popcnt,
	.and_or_counts = vs_and_or_counts_popcnt,
};

#else							/* not x86: dispatch.c never selects this table */

const VsKernelTable vs_kernels_avx512 = {
	.name = "avx512",
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
