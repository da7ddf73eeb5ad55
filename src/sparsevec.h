/*
 * sparsevec.h — the `sparsevec` type: pgvector's layout (varlena header, int32 dimension
 * count, int32 count of non-zero elements, int32 reserved (0), then the nnz 0-based indices
 * in ascending order, then their nnz float4 values, none zero), so that dumps, binary COPY
 * and clients read the same bytes. Up to 1,000,000,000 dimensions and 16,000 non-zeros.
 */
#ifndef VS_SPARSEVEC_H
#define VS_SPARSEVEC_H

#include "postgres.h"

#include "fmgr.h"

#define SPARSEVEC_MAX_DIM	1000000000
#define SPARSEVEC_MAX_NNZ	16000

typedef struct SparseVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		dim;
	int32		nnz;
	int32		unused;			/* reserved, always 0 */
	int32		indices[FLEXIBLE_ARRAY_MEMBER];
	/* float values[nnz] follow the indices */
} SparseVector;

#define SPARSEVEC_SIZE(nnz)			(offsetof(SparseVector, indices) + (sizeof(int32) + sizeof(float)) * (nnz))
#define SPARSEVEC_VALUES(s)			((float *) ((s)->indices + (s)->nnz))
#define DatumGetSparseVector(d)		((SparseVector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_SPARSEVEC_P(n)	DatumGetSparseVector(PG_GETARG_DATUM(n))
#define PG_RETURN_SPARSEVEC_P(s)	PG_RETURN_POINTER(s)

extern SparseVector *InitSparseVector(int dim, int nnz);
/* The dense vector of the same values; ERROR beyond vector's 16,000 dimensions. */
struct Vector;
extern struct Vector *SparsevecToDense(const SparseVector *s);

#endif							/* VS_SPARSEVEC_H */
