/*
 * sparsevec_ops.c — distances, norms and comparisons on `sparsevec`: merges over the two
 * ascending index lists, summed in double (an element missing from one side is a zero).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/float.h"

#include "sparsevec.h"
#include "vector.h"

static void
CheckSameSparseDims(const SparseVector *a, const SparseVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different sparsevec dimensions %d and %d", a->dim, b->dim)));
}

/* What a distance needs from one merge: sum (a-b)^2, sum |a-b|, a.b, |a|^2, |b|^2. */
typedef struct SparseSums
{
	double		l2sq;
	double		l1;
	double		dot;
	double		aa;
	double		bb;
} SparseSums;

static SparseSums
Merge(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	SparseSums	s = {0, 0, 0, 0, 0};
	int			i = 0,
				j = 0;

	CheckSameSparseDims(a, b);
	while (i < a->nnz || j < b->nnz)
	{
		double		x = 0,
					y = 0;

		if (j >= b->nnz || (i < a->nnz && a->indices[i] < b->indices[j]))
			x = ax[i++];
		else if (i >= a->nnz || b->indices[j] < a->indices[i])
			y = bx[j++];
		else
		{
			x = ax[i++];
			y = bx[j++];
		}
		s.l2sq += (x - y) * (x - y);
		s.l1 += fabs(x - y);
		s.dot += x * y;
		s.aa += x * x;
		s.bb += y * y;
	}
	return s;
}

static SparseSums
MergeArgs(FunctionCallInfo fcinfo)
{
	return Merge(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1));
}

PG_FUNCTION_INFO_V1(sparsevec_l2_distance);
Datum
sparsevec_l2_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sqrt(MergeArgs(fcinfo).l2sq));
}

PG_FUNCTION_INFO_V1(sparsevec_l2_squared_distance);
Datum
sparsevec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(MergeArgs(fcinfo).l2sq);
}

PG_FUNCTION_INFO_V1(sparsevec_inner_product);
Datum
sparsevec_inner_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(MergeArgs(fcinfo).dot);
}

PG_FUNCTION_INFO_V1(sparsevec_negative_inner_product);
Datum
sparsevec_negative_inner_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(-MergeArgs(fcinfo).dot);
}

/* 1 - cos; NaN when either has no non-zero element, as for vector. */
PG_FUNCTION_INFO_V1(sparsevec_cosine_distance);
Datum
sparsevec_cosine_distance(PG_FUNCTION_ARGS)
{
	SparseSums	s = MergeArgs(fcinfo);
	double		similarity = s.dot / sqrt(s.aa * s.bb);

	if (isnan(similarity))
		PG_RETURN_FLOAT8(get_float8_nan());
	similarity = Max(-1.0, Min(1.0, similarity));
	PG_RETURN_FLOAT8(1.0 - similarity);
}

PG_FUNCTION_INFO_V1(sparsevec_l1_distance);
Datum
sparsevec_l1_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(MergeArgs(fcinfo).l1);
}

static double
Norm(const SparseVector *s)
{
	const float *x = SPARSEVEC_VALUES(s);
	double		sum = 0;

	for (int i = 0; i < s->nnz; i++)
		sum += (double) x[i] * x[i];
	return sqrt(sum);
}

PG_FUNCTION_INFO_V1(sparsevec_l2_norm);
Datum
sparsevec_l2_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(Norm(PG_GETARG_SPARSEVEC_P(0)));
}

/* A zero sparsevec stays zero; elements that round to zero are dropped. */
PG_FUNCTION_INFO_V1(sparsevec_l2_normalize);
Datum
sparsevec_l2_normalize(PG_FUNCTION_ARGS)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	const float *x = SPARSEVEC_VALUES(s);
	double		norm = Norm(s);
	SparseVector *r;
	float	   *rx;
	int			n = 0;

	if (norm == 0)
		PG_RETURN_SPARSEVEC_P(s);
	r = InitSparseVector(s->dim, s->nnz);
	rx = SPARSEVEC_VALUES(r);
	for (int i = 0; i < s->nnz; i++)
	{
		float		value = (float) (x[i] / norm);

		if (value != 0)
		{
			r->indices[n] = s->indices[i];
			rx[n++] = value;
		}
	}
	if (n < s->nnz)
	{
		/* values follow the indices: move them up behind the n indices kept */
		memmove(r->indices + n, rx, sizeof(float) * n);
		r->nnz = n;
		SET_VARSIZE(r, SPARSEVEC_SIZE(n));
	}
	PG_RETURN_SPARSEVEC_P(r);
}

/*
 * Order: as the dense vectors compare (element by element, a missing element is zero, up
 * to the shorter dimension), then the fewer dimensions first: the order vector's btree
 * opclass gives the same values.
 */
static int
Compare(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	int			limit = Min(a->dim, b->dim);
	int			i = 0,
				j = 0;

	while (i < a->nnz || j < b->nnz)
	{
		int			at;
		float		x = 0,
					y = 0;

		if (j >= b->nnz || (i < a->nnz && a->indices[i] < b->indices[j]))
		{
			at = a->indices[i];
			x = ax[i++];
		}
		else if (i >= a->nnz || b->indices[j] < a->indices[i])
		{
			at = b->indices[j];
			y = bx[j++];
		}
		else
		{
			at = a->indices[i];
			x = ax[i++];
			y = bx[j++];
		}
		if (at >= limit)
			break;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return (a->dim > b->dim) - (a->dim < b->dim);
}

static int
CompareArgs(FunctionCallInfo fcinfo)
{
	return Compare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1));
}

VS_DEFINE_COMPARISONS(sparsevec, CompareArgs)
