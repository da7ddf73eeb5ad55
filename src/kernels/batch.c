/*
 * batch.c — one query against many rows (the active table's 1x4 kernels), and many against
 * many on OpenBLAS sgemm.
 *
 * For many-by-many L2 the pairwise kernels would stream y once per row of x; sgemm instead
 * reuses each loaded block of x and y for many pairs, which is what makes k-means assignment
 * compute-bound rather than load-bound. It needs |x - y|^2 = |x|^2 + |y|^2 - 2 x.y, which
 * loses accuracy when x and y are close (the terms cancel), so results are clamped at 0 and
 * vs_nearest_l2 recomputes the winner's distance with the l2sq kernel.
 *
 * Every buffer here is malloc'd scratch. When malloc fails the same results come from the
 * pairwise kernels, which need no memory: slower, never a crash.
 */
#include "batch.h"
#include "distance.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * vs_nearest_l2 holds the distances of a block of x rows to all of y. About 1 MB keeps the
 * block in a core's L2 while it is written by sgemm and then scanned for minima, and still
 * gives sgemm a few hundred rows to amortise packing y (n = 1024 gives 256 rows).
 */
#define NEAREST_BLOCK_BYTES ((size_t) 1 << 20)

typedef float (*Kernel1x1) (const float *a, const float *b, size_t dim);
typedef void (*Kernel1x4) (const float *q, const float *const rows[4], size_t dim, float out[4]);

static float *
AllocFloats(size_t count)
{
	if (count == 0 || count > SIZE_MAX / sizeof(float))
		return NULL;
	return (float *) malloc(count * sizeof(float));
}

/* Row j, from either a contiguous matrix or an array of row pointers. */
static inline const float *
RowAt(const float *rows, const float *const *row_ptrs, size_t j, size_t dim)
{
	return row_ptrs != NULL ? row_ptrs[j] : rows + j * dim;
}

/*
 * Groups of four consecutive rows go through the 1x4 kernels. Measured on a Zen-class EPYC:
 * from L1/L2 that is 20-40% faster per row than 1x1 calls; on rows streamed from DRAM the
 * AVX2 1x4 reached only 65-85% of the 1x1 bandwidth (four interleaved streams are harder on
 * the hardware prefetcher; AVX-512 suffered less). Software prefetch of the next group
 * recovered that but cost 10-60% when the rows were already cached, so there is none.
 */
static void
Query1xN(const float *q, const float *rows, const float *const *row_ptrs, size_t n, size_t dim,
		 float *out, Kernel1x1 one, Kernel1x4 four)
{
	size_t		j = 0;

	for (; j + 4 <= n; j += 4)
	{
		const float *group[4];
		int			k;

		for (k = 0; k < 4; k++)
			group[k] = RowAt(rows, row_ptrs, j + k, dim);
		four(q, group, dim, out + j);
	}
	for (; j < n; j++)
		out[j] = one(q, RowAt(rows, row_ptrs, j, dim), dim);
}

void
vs_l2sq_1xN(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
	Query1xN(q, rows, NULL, n, dim, out, vs_kernels->l2sq, vs_kernels->l2sq_1x4);
}

void
vs_dot_1xN(const float *q, const float *rows, size_t n, size_t dim, float *out)
{
	Query1xN(q, rows, NULL, n, dim, out, vs_kernels->dot, vs_kernels->dot_1x4);
}

void
vs_l2sq_1xN_ptr(const float *q, const float *const *rows, size_t n, size_t dim, float *out)
{
	Query1xN(q, NULL, rows, n, dim, out, vs_kernels->l2sq, vs_kernels->l2sq_1x4);
}

void
vs_dot_1xN_ptr(const float *q, const float *const *rows, size_t n, size_t dim, float *out)
{
	Query1xN(q, NULL, rows, n, dim, out, vs_kernels->dot, vs_kernels->dot_1x4);
}

void
vs_sqnorms(const float *x, size_t n, size_t dim, float *out)
{
	size_t		i;

	for (i = 0; i < n; i++)
		out[i] = vs_kernels->dot(x + i * dim, x + i * dim, dim);
}

void
vs_blas_set_threads(int n)
{
	openblas_set_num_threads(n < 1 ? 1 : n);
}

/* sgemm takes int sizes and wants leading dimensions >= 1. */
static bool
BlasCanTake(size_t m, size_t n, size_t dim)
{
	return m >= 1 && n >= 1 && dim >= 1 &&
		m <= INT_MAX && n <= INT_MAX && dim <= INT_MAX;
}

/* out = alpha * x . y^T + beta * out, row-major, out is m x n. */
static void
SgemmXYt(const float *x, size_t m, const float *y, size_t n, size_t dim,
		 float alpha, float beta, float *out)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
				(blasint) m, (blasint) n, (blasint) dim,
				alpha, x, (blasint) dim, y, (blasint) dim,
				beta, out, (blasint) n);
}

void
vs_dot_MxN(const float *x, size_t m, const float *y, size_t n, size_t dim, float *out)
{
	size_t		i;

	if (m == 0 || n == 0)
		return;
	if (BlasCanTake(m, n, dim))
	{
		SgemmXYt(x, m, y, n, dim, 1.0f, 0.0f, out);
		return;
	}
	/* dim == 0 (all zeros) or sizes beyond int */
	for (i = 0; i < m; i++)
		vs_dot_1xN(x + i * dim, y, n, dim, out + i * n);
}

static inline float
ExpandedL2sq(float xx, float yy, float xy)
{
	float		d = xx + yy - 2.0f * xy;

	return d > 0.0f ? d : 0.0f;
}

void
vs_l2sq_MxN(const float *x, size_t m, const float *y, size_t n, size_t dim,
			const float *x_sqnorms, const float *y_sqnorms, float *out)
{
	float	   *own = NULL;
	const float *xn = x_sqnorms;
	const float *yn = y_sqnorms;
	size_t		i,
				j;

	if (m == 0 || n == 0)
		return;
	if (xn == NULL || yn == NULL)
	{
		own = AllocFloats((xn == NULL ? m : 0) + (yn == NULL ? n : 0));
		if (own == NULL)
		{
			for (i = 0; i < m; i++)
				vs_l2sq_1xN(x + i * dim, y, n, dim, out + i * n);
			return;
		}
		if (xn == NULL)
		{
			vs_sqnorms(x, m, dim, own);
			xn = own;
		}
		if (yn == NULL)
		{
			vs_sqnorms(y, n, dim, own + (x_sqnorms == NULL ? m : 0));
			yn = own + (x_sqnorms == NULL ? m : 0);
		}
	}

	vs_dot_MxN(x, m, y, n, dim, out);
	for (i = 0; i < m; i++)
	{
		float	   *row = out + i * n;

		for (j = 0; j < n; j++)
			row[j] = ExpandedL2sq(xn[i], yn[j], row[j]);
	}
	free(own);
}

/*
 * Lowest index of the minimum. A single running minimum makes every compare wait on the
 * previous one; eight independent minima (which the compiler can also put in vector lanes)
 * and then a search for the first element equal to the result is about 2.5x faster over a
 * row of scores, and it is a real share of k-means assignment next to sgemm. NaNs never win;
 * when nothing is below +inf the answer is 0.
 */
#define ARGMIN_LANES 8

static size_t
ArgMin(const float *v, size_t n)
{
	float		lane_min[ARGMIN_LANES];
	float		min_value;
	size_t		j = 0;
	int			k;

	for (k = 0; k < ARGMIN_LANES; k++)
		lane_min[k] = INFINITY;
	for (; j + ARGMIN_LANES <= n; j += ARGMIN_LANES)
		for (k = 0; k < ARGMIN_LANES; k++)
			lane_min[k] = v[j + k] < lane_min[k] ? v[j + k] : lane_min[k];
	min_value = lane_min[0];
	for (k = 1; k < ARGMIN_LANES; k++)
		min_value = lane_min[k] < min_value ? lane_min[k] : min_value;
	for (; j < n; j++)
		min_value = v[j] < min_value ? v[j] : min_value;

	for (j = 0; j < n; j++)
		if (v[j] == min_value)
			return j;
	return 0;
}

/* The allocation-free path: every pair through the l2sq kernels. */
static void
NearestByKernel(const float *x, size_t m, const float *y, size_t n, size_t dim,
				int *nearest, float *nearest_l2sq)
{
	size_t		i;

	for (i = 0; i < m; i++)
	{
		const float *q = x + i * dim;
		float		best_value = INFINITY;
		size_t		best = 0;
		size_t		j = 0;
		float		d[4];
		int			k;

		for (; j + 4 <= n; j += 4)
		{
			const float *group[4] = {y + j * dim, y + (j + 1) * dim, y + (j + 2) * dim, y + (j + 3) * dim};

			vs_kernels->l2sq_1x4(q, group, dim, d);
			for (k = 0; k < 4; k++)
			{
				if (d[k] < best_value)
				{
					best_value = d[k];
					best = j + k;
				}
			}
		}
		for (; j < n; j++)
		{
			d[0] = vs_kernels->l2sq(q, y + j * dim, dim);
			if (d[0] < best_value)
			{
				best_value = d[0];
				best = j;
			}
		}
		nearest[i] = (int) best;
		if (nearest_l2sq != NULL)
			nearest_l2sq[i] = best_value;
	}
}

VsNearestHook vs_nearest_l2_hook = NULL;
double		vs_nearest_l2_hook_min_work = 1e9;

/* The accelerator took the call: the winners' distances the CPU way. */
static bool
NearestByHook(const float *x, size_t m, const float *y, size_t n, size_t dim, int *nearest,
			  float *nearest_l2sq)
{
	size_t		i;

	if (vs_nearest_l2_hook == NULL || (double) m * n * dim < vs_nearest_l2_hook_min_work ||
		vs_nearest_l2_hook(x, m, y, n, dim, nearest) != 0)
		return false;
	if (nearest_l2sq != NULL)
		for (i = 0; i < m; i++)
			nearest_l2sq[i] = vs_kernels->l2sq(x + i * dim, y + (size_t) nearest[i] * dim, dim);
	return true;
}

void
vs_nearest_l2(const float *x, size_t m, const float *y, size_t n, size_t dim,
			  const float *y_sqnorms, int *nearest, float *nearest_l2sq)
{
	float	   *own_norms = NULL;
	float	   *scores = NULL;
	const float *yn = y_sqnorms;
	size_t		block_rows;
	size_t		i0,
				r,
				j;

	if (m == 0)
		return;
	if (n == 0)
	{
		for (i0 = 0; i0 < m; i0++)
		{
			nearest[i0] = -1;
			if (nearest_l2sq != NULL)
				nearest_l2sq[i0] = INFINITY;
		}
		return;
	}

	if (NearestByHook(x, m, y, n, dim, nearest, nearest_l2sq))
		return;

	block_rows = NEAREST_BLOCK_BYTES / sizeof(float) / n;
	if (block_rows < 1)
		block_rows = 1;
	if (block_rows > m)
		block_rows = m;

	if (BlasCanTake(block_rows, n, dim))
	{
		scores = AllocFloats(block_rows * n);
		if (yn == NULL && scores != NULL)
		{
			own_norms = AllocFloats(n);
			if (own_norms != NULL)
				vs_sqnorms(y, n, dim, own_norms);
			yn = own_norms;
		}
	}
	if (scores == NULL || yn == NULL)
	{
		NearestByKernel(x, m, y, n, dim, nearest, nearest_l2sq);
		free(scores);
		return;
	}

	for (i0 = 0; i0 < m; i0 += block_rows)
	{
		size_t		rows = m - i0 < block_rows ? m - i0 : block_rows;

		/*
		 * score[r][j] = |y_j|^2 - 2 x_r.y_j: the distance less |x_r|^2, which is the same for
		 * the whole row and so does not move its minimum. Seeding the block with |y|^2 lets
		 * sgemm add the -2 x.y term itself (beta = 1).
		 */
		for (r = 0; r < rows; r++)
			memcpy(scores + r * n, yn, n * sizeof(float));
		SgemmXYt(x + i0 * dim, rows, y, n, dim, -2.0f, 1.0f, scores);

		for (r = 0; r < rows; r++)
		{
			const float *q = x + (i0 + r) * dim;

			j = ArgMin(scores + r * n, n);
			nearest[i0 + r] = (int) j;
			if (nearest_l2sq != NULL)
				nearest_l2sq[i0 + r] = vs_kernels->l2sq(q, y + j * dim, dim);
		}
	}
	free(scores);
	free(own_norms);
}
