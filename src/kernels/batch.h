/*
 * batch.h — one query against many rows, and many against many on OpenBLAS sgemm.
 *
 * Plain C, no PostgreSQL headers. Row-major float32 matrices; a row is `dim` floats.
 * The many-by-many forms are what k-means assignment and bulk list assignment use:
 * |x - y|^2 = |x|^2 + |y|^2 - 2 x.y, with x.y for all pairs from one sgemm call.
 */
#ifndef VS_BATCH_H
#define VS_BATCH_H

#include <stddef.h>

/* out[j] = |q - rows[j]|^2 for n contiguous rows. */
extern void vs_l2sq_1xN(const float *q, const float *rows, size_t n, size_t dim, float *out);
/* out[j] = q . rows[j] for n contiguous rows. */
extern void vs_dot_1xN(const float *q, const float *rows, size_t n, size_t dim, float *out);
/* The same over rows that are not contiguous (tuples on pages). */
extern void vs_l2sq_1xN_ptr(const float *q, const float *const *rows, size_t n, size_t dim, float *out);
extern void vs_dot_1xN_ptr(const float *q, const float *const *rows, size_t n, size_t dim, float *out);

/* out[i] = |x[i]|^2 for n contiguous rows. */
extern void vs_sqnorms(const float *x, size_t n, size_t dim, float *out);

/* out[i * n + j] = x[i] . y[j]; x is m x dim, y is n x dim (one sgemm). */
extern void vs_dot_MxN(const float *x, size_t m, const float *y, size_t n, size_t dim, float *out);

/*
 * out[i * n + j] = |x[i] - y[j]|^2, clamped at 0 (the expansion can go slightly negative).
 * x_sqnorms / y_sqnorms may be NULL, in which case they are computed here.
 */
extern void vs_l2sq_MxN(const float *x, size_t m, const float *y, size_t n, size_t dim,
						const float *x_sqnorms, const float *y_sqnorms, float *out);

/*
 * For each of the m rows of x, the index of the nearest of the n rows of y by L2 and its
 * squared distance (k-means assignment). Works in blocks of x so that the m x n distance
 * matrix is never held whole; y_sqnorms and nearest_l2sq may be NULL. Ties go to the lower
 * index. The distance reported is the l2sq kernel's for the winner, not the expansion's
 * (which cancels badly for close pairs). With n == 0 every row gets -1 and +infinity.
 */
extern void vs_nearest_l2(const float *x, size_t m, const float *y, size_t n, size_t dim,
						  const float *y_sqnorms, int *nearest, float *nearest_l2sq);

/*
 * An accelerator for vs_nearest_l2 (the GPU during an index build; see src/cuda/gpu.c): calls
 * of at least vs_nearest_l2_hook_min_work multiply-adds go to it first. It returns 0, or
 * nonzero to leave the call to the CPU. The distances it reports are recomputed here with
 * the l2sq kernel, so results mean the same either way.
 */
typedef int (*VsNearestHook) (const float *x, size_t m, const float *y, size_t n, size_t dim,
							  int *nearest);
extern VsNearestHook vs_nearest_l2_hook;
extern double vs_nearest_l2_hook_min_work;

/*
 * OpenBLAS may run sgemm on several threads of its own; the server pins this (1 inside a
 * backend, more for a parallel build). n < 1 is taken as 1.
 */
extern void vs_blas_set_threads(int n);

#endif							/* VS_BATCH_H */
