/*
 * kmeans.h — k-means training for the IVF coarse quantizer (and the PQ codebooks).
 *
 * Plain C, no PostgreSQL headers. The caller owns every byte of memory: it asks for the
 * workspace size, allocates it (palloc in the server) and passes it in. That is what lets
 * the progress callback leave by longjmp (CHECK_FOR_INTERRUPTS) without leaking anything.
 *
 * Seeding is k-means++ (D^2 sampling); Lloyd iterations assign with vs_nearest_l2 (sgemm)
 * and recompute means in double; a cluster left empty is repaired by splitting the largest
 * one. Spherical k-means (for cosine) expects unit-length input rows and renormalises the
 * centroids after every update. Deterministic for a given seed.
 */
#ifndef VS_KMEANS_H
#define VS_KMEANS_H

#include <stddef.h>
#include <stdint.h>

typedef enum VsKmeansKind
{
	VS_KMEANS_L2 = 0,			/* plain Lloyd */
	VS_KMEANS_SPHERICAL			/* centroids kept at unit length */
} VsKmeansKind;

typedef enum VsKmeansPhase
{
	VS_KMEANS_SEEDING = 0,
	VS_KMEANS_ITERATING,
	VS_KMEANS_ASSIGNING			/* inside an iteration's assignment of the rows */
} VsKmeansPhase;

/*
 * Called now and then (at least once per Lloyd iteration and every few hundred seeds, and
 * within an iteration's assignment about every 2^31 multiply-adds) with the phase, the
 * iteration or seed number and the inertia so far (sum of squared distances to the
 * nearest centroid; 0 while seeding or assigning). It may longjmp out.
 */
typedef void (*VsKmeansProgress) (void *arg, VsKmeansPhase phase, int step, double inertia);

/* Multiply-adds between the progress calls of an assignment (2^31; tests lower it). */
extern double vs_kmeans_assign_block_madds;

typedef struct VsKmeansParams
{
	size_t		k;				/* clusters, >= 1 */
	size_t		dim;			/* >= 1 */
	VsKmeansKind kind;
	int			max_iterations; /* Lloyd iterations at most, >= 0 (0: seeds only) */
	double		tolerance;		/* stop when inertia improves by less than this fraction */
	uint64_t	seed;
	VsKmeansProgress progress;	/* may be NULL */
	void	   *progress_arg;
} VsKmeansParams;

typedef struct VsKmeansStats
{
	int			iterations;		/* Lloyd iterations run */
	double		inertia;		/* after the last assignment */
	size_t		empty_repaired; /* empty clusters split off a large one, over all iterations */
} VsKmeansStats;

/* Bytes of workspace vs_kmeans needs for n rows (any alignment of 64 bytes or better). */
extern size_t vs_kmeans_workspace_size(size_t n, const VsKmeansParams *params);

/*
 * Trains params->k centroids (row-major, k x dim, written to `centroids`) on the n rows of x.
 * With n <= k, the first n centroids are the rows themselves and the other k - n repeat
 * rows (they stay empty: ties go to the lower index). n == 0 leaves all centroids zero.
 * `stats` may be NULL.
 */
extern void vs_kmeans(const float *x, size_t n, const VsKmeansParams *params,
					  void *workspace, float *centroids, VsKmeansStats *stats);

#endif							/* VS_KMEANS_H */
