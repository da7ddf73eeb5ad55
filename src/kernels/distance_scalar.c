/*
 * distance_scalar.c — the reference kernels: plain loops accumulating in double.
 *
 * A product of two floats is exact in double (24 + 24 significant bits < 53), so these
 * results are as good as the float inputs allow, rounded once at the end. The SIMD tables
 * are tested against them, and they are what runs on a CPU without AVX2.
 */
#include "distance.h"
#include "half.h"

#include <math.h>

/*
 * Four partial sums: one double-add chain would wait ~4 cycles per element on the previous
 * add. The order of summation changes, the accuracy (double for float data) does not matter.
 */
float
vs_l2sq_scalar(const float *a, const float *b, size_t dim)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;
	double		d0,
				d1,
				d2,
				d3;
	size_t		i = 0;

	for (; i + 4 <= dim; i += 4)
	{
		d0 = (double) a[i] - b[i];
		d1 = (double) a[i + 1] - b[i + 1];
		d2 = (double) a[i + 2] - b[i + 2];
		d3 = (double) a[i + 3] - b[i + 3];
		s0 += d0 * d0;
		s1 += d1 * d1;
		s2 += d2 * d2;
		s3 += d3 * d3;
	}
	for (; i < dim; i++)
	{
		d0 = (double) a[i] - b[i];
		s0 += d0 * d0;
	}
	return (float) ((s0 + s1) + (s2 + s3));
}

float
vs_dot_scalar(const float *a, const float *b, size_t dim)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;
	size_t		i = 0;

	for (; i + 4 <= dim; i += 4)
	{
		s0 += (double) a[i] * b[i];
		s1 += (double) a[i + 1] * b[i + 1];
		s2 += (double) a[i + 2] * b[i + 2];
		s3 += (double) a[i + 3] * b[i + 3];
	}
	for (; i < dim; i++)
		s0 += (double) a[i] * b[i];
	return (float) ((s0 + s1) + (s2 + s3));
}

float
vs_l1_scalar(const float *a, const float *b, size_t dim)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;
	size_t		i = 0;

	for (; i + 4 <= dim; i += 4)
	{
		s0 += fabs((double) a[i] - b[i]);
		s1 += fabs((double) a[i + 1] - b[i + 1]);
		s2 += fabs((double) a[i + 2] - b[i + 2]);
		s3 += fabs((double) a[i + 3] - b[i + 3]);
	}
	for (; i < dim; i++)
		s0 += fabs((double) a[i] - b[i]);
	return (float) ((s0 + s1) + (s2 + s3));
}

void
vs_cosine_parts_scalar(const float *a, const float *b, size_t dim, double out[3])
{
	double		ab = 0.0;
	double		aa = 0.0;
	double		bb = 0.0;
	size_t		i;

	for (i = 0; i < dim; i++)
	{
		double		x = a[i];
		double		y = b[i];

		ab += x * y;
		aa += x * x;
		bb += y * y;
	}
	out[0] = ab;
	out[1] = aa;
	out[2] = bb;
}

double
vs_norm(const float *x, size_t dim)
{
	double		s0 = 0.0,
				s1 = 0.0;
	size_t		i = 0;

	for (; i + 2 <= dim; i += 2)
	{
		s0 += (double) x[i] * x[i];
		s1 += (double) x[i + 1] * x[i + 1];
	}
	if (i < dim)
		s0 += (double) x[i] * x[i];
	return sqrt(s0 + s1);
}

/*
 * The 1x4 forms are four 1x1 calls. Sharing query loads is what 1x4 is for in the SIMD
 * tables; here the limit is the latency of double adds, which the 1x1 kernels already
 * spread over four chains (a fused loop with one chain per row was no faster from L1 and
 * ~3x slower on rows streamed from memory).
 */
void
vs_l2sq_1x4_scalar(const float *q, const float *const rows[4], size_t dim, float out[4])
{
	int			k;

	for (k = 0; k < 4; k++)
		out[k] = vs_l2sq_scalar(q, rows[k], dim);
}

void
vs_dot_1x4_scalar(const float *q, const float *const rows[4], size_t dim, float out[4])
{
	int			k;

	for (k = 0; k < 4; k++)
		out[k] = vs_dot_scalar(q, rows[k], dim);
}

const VsKernelTable vs_kernels_scalar = {
	.name = "scalar",
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
