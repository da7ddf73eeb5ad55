/*
 * pq.h — product quantization (Jégou, Douze & Schmid, "Product quantization for nearest
 * neighbor search", TPAMI 2011; FAISS's ProductQuantizer): for the ivfpq index.
 *
 * A d-dimensional vector is cut into m subvectors of d/m dimensions; each subspace has its
 * own codebook of 2^nbits centroids trained by k-means, and a vector is stored as the m
 * indexes of its subvectors' nearest centroids (m bytes at 8 bits). Distances to a query
 * are then asymmetric (ADC): a table of the query's distance to every centroid of every
 * subspace, built once, and per code a sum of m table lookups.
 *
 * Plain C, no PostgreSQL headers; the caller owns every byte of memory (workspace sizes
 * are asked for first), so that a progress callback may leave by longjmp.
 */
#ifndef VS_PQ_H
#define VS_PQ_H

#include <stddef.h>
#include <stdint.h>

#include "kmeans.h"

typedef struct VsPq
{
	size_t		dim;			/* d */
	size_t		m;				/* subvectors; divides d */
	size_t		nbits;			/* bits per code: 8 */
	size_t		ksub;			/* 2^nbits centroids per subspace */
	size_t		dsub;			/* d / m */
	float	   *centroids;		/* m x ksub x dsub, caller-owned */
} VsPq;

/* How the ADC table scores a subvector against a centroid. */
typedef enum VsPqMetric
{
	VS_PQ_L2 = 0,				/* |q_j - c|^2: the sum is |q - decoded|^2 */
	VS_PQ_IP					/* -(q_j . c): the sum is -(q . decoded) */
} VsPqMetric;

/* 0 if (dim, m, nbits) is a valid shape, else -1. Sets every field but centroids. */
extern int	vs_pq_shape(VsPq *pq, size_t dim, size_t m, size_t nbits);

/* Floats in the codebooks: m x ksub x dsub. */
extern size_t vs_pq_centroid_floats(const VsPq *pq);

/* Bytes of workspace vs_pq_train needs for n rows. */
extern size_t vs_pq_train_workspace_size(const VsPq *pq, size_t n);

/*
 * Trains every subspace's codebook with k-means (L2) on the n rows of x (n x dim): the
 * subspaces in order, each from seed + its number, `iterations` Lloyd iterations at most.
 * The progress callback sees each subspace's k-means in turn (steps restart per subspace).
 */
extern void vs_pq_train(VsPq *pq, const float *x, size_t n, int iterations, uint64_t seed,
						VsKmeansProgress progress, void *progress_arg, void *workspace);

/* Bytes of workspace vs_pq_encode needs (independent of n). */
extern size_t vs_pq_encode_workspace_size(const VsPq *pq);

/* codes[i * m + j] = the nearest centroid of subspace j to row i's subvector j. */
extern void vs_pq_encode(const VsPq *pq, const float *x, size_t n, uint8_t *codes, void *workspace);

/* The vectors the codes stand for (n x dim). */
extern void vs_pq_decode(const VsPq *pq, const uint8_t *codes, size_t n, float *x);

/* The ADC table of query q: table[j * ksub + k] scores subvector j against centroid k. */
extern void vs_pq_table(const VsPq *pq, VsPqMetric metric, const float *q, float *table);

/* out[i] = bias + sum over j of table[j * ksub + codes[i * m + j]]. */
extern void vs_pq_scan(const VsPq *pq, const float *table, const uint8_t *codes, size_t n,
					   float bias, float *out);
/* The same over codes that are not contiguous (slots on pages). */
extern void vs_pq_scan_ptr(const VsPq *pq, const float *table, const uint8_t *const *codes,
						   size_t n, float bias, float *out);

#endif							/* VS_PQ_H */
