/*
 * halfvec.h — the `halfvec` type: pgvector's layout, so dumps, binary COPY and clients read
 * the same bytes: varlena header, int16 dimension count, int16 reserved (0), then IEEE
 * binary16 elements. Half the size of a vector; elements up to +-65,504, 3 significant digits.
 *
 * Arithmetic widens to float (exactly: every half is a float) and reuses vector's functions,
 * so a halfvec and the vector of its values give the same distances.
 */
#ifndef VS_HALFVEC_H
#define VS_HALFVEC_H

#include "postgres.h"

#include "fmgr.h"

#include "half.h"
#include "vector.h"

#define HALFVEC_MAX_DIM 16000

typedef struct HalfVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;
	int16		unused;			/* reserved, always 0 */
	VsHalf		x[FLEXIBLE_ARRAY_MEMBER];
} HalfVector;

#define HALFVEC_SIZE(dim)		(offsetof(HalfVector, x) + sizeof(VsHalf) * (dim))
#define DatumGetHalfVector(d)	((HalfVector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_HALFVEC_P(n)	DatumGetHalfVector(PG_GETARG_DATUM(n))
#define PG_RETURN_HALFVEC_P(v)	PG_RETURN_POINTER(v)

extern HalfVector *InitHalfVector(int dim);
/* The vector of the same values. */
extern Vector *HalfvecWiden(const HalfVector *h);
/* The halfvec of a vector's values, rounded to nearest; ERROR if one is beyond +-65,504. */
extern HalfVector *HalfvecNarrow(const Vector *v);

#endif							/* VS_HALFVEC_H */
