/*
 * vector_compare.c — a total order on `vector` for the btree opclass, so that ORDER BY,
 * DISTINCT, GROUP BY, UNIQUE and merge joins work on vector columns.
 *
 * Element by element over the common prefix, then the shorter vector first. Elements are
 * always finite (the type rejects NaN and Infinity), so float comparison is a total order.
 */
#include "postgres.h"

#include "fmgr.h"

#include "vector.h"

static int
VectorCompare(const Vector *a, const Vector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	return (a->dim > b->dim) - (a->dim < b->dim);
}

/* Compares the two arguments and frees any detoasted copies. */
static int
CompareArgs(FunctionCallInfo fcinfo)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			c = VectorCompare(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return c;
}

VS_DEFINE_COMPARISONS(vector, CompareArgs)
