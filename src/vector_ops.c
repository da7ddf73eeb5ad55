/*
 * vector_ops.c — distances, norms and element-wise arithmetic on `vector`.
 *
 * Thin fmgr wrappers: the arithmetic lives in src/kernels/ and runs on whichever ISA
 * src/kernels/dispatch.c selected. Distances are accumulated in float by the SIMD kernels
 * and returned as float8, as pgvector does, so results agree with it to float precision.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/float.h"

#include "distance.h"
#include "vector.h"

/* Fetches both operands and insists they have the same dimension. */
#define GET_TWO_VECTORS(a, b) \
	Vector	   *a = PG_GETARG_VECTOR_P(0); \
	Vector	   *b = PG_GETARG_VECTOR_P(1); \
	CheckSameDims(a, b)

PG_FUNCTION_INFO_V1(l2_distance);
Datum
l2_distance(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8(sqrt((double) vs_kernels->l2sq(a->x, b->x, a->dim)));
}

PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8((double) vs_kernels->l2sq(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(inner_product);
Datum
inner_product(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8((double) vs_kernels->dot(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(vector_negative_inner_product);
Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8(-(double) vs_kernels->dot(a->x, b->x, a->dim));
}

/*
 * 1 - cos(a, b), in [0, 2]. A zero vector has no direction, so its cosine distance to
 * anything is NaN (as in pgvector); NaN sorts after every number, so such rows come last
 * in ORDER BY ... <=>.
 */
PG_FUNCTION_INFO_V1(cosine_distance);
Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	double		parts[3];
	double		similarity;

	GET_TWO_VECTORS(a, b);
	vs_kernels->cosine_parts(a->x, b->x, a->dim, parts);
	/* squared norms of floats lie within 1e-90..1e82: their product stays in double's range */
	similarity = parts[0] / sqrt(parts[1] * parts[2]);
	if (isnan(similarity))
		PG_RETURN_FLOAT8(get_float8_nan());
	/* rounding can push |cos| a hair past 1 */
	similarity = Max(-1.0, Min(1.0, similarity));
	PG_RETURN_FLOAT8(1.0 - similarity);
}

PG_FUNCTION_INFO_V1(l1_distance);
Datum
l1_distance(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8((double) vs_kernels->l1(a->x, b->x, a->dim));
}

static double
Norm(const Vector *v)
{
	return vs_norm(v->x, v->dim);
}

PG_FUNCTION_INFO_V1(vector_norm);
Datum
vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_FLOAT8(Norm(v));
}

/* A zero vector stays zero: there is no direction to scale to. */
PG_FUNCTION_INFO_V1(l2_normalize);
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	double		norm = Norm(v);
	Vector	   *r = InitVector(v->dim);

	if (norm > 0)
		for (int i = 0; i < v->dim; i++)
			r->x[i] = (float) (v->x[i] / norm);
	PG_RETURN_VECTOR_P(r);
}

/* Element-wise results must stay finite and must not silently flush to zero. */
static inline float
CheckedResult(float result, bool inputs_nonzero)
{
	if (unlikely(isinf(result)))
		float_overflow_error();
	if (unlikely(result == 0.0f && inputs_nonzero))
		float_underflow_error();
	return result;
}

typedef enum ElementOp
{
	ELEMENT_ADD,
	ELEMENT_SUB,
	ELEMENT_MUL
} ElementOp;

/* The two arguments combined element by element. */
static Vector *
ElementWise(FunctionCallInfo fcinfo, ElementOp op)
{
	Vector	   *r;

	GET_TWO_VECTORS(a, b);
	r = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float		x = a->x[i];
		float		y = b->x[i];

		if (op == ELEMENT_ADD)
			r->x[i] = CheckedResult(x + y, false);
		else if (op == ELEMENT_SUB)
			r->x[i] = CheckedResult(x - y, false);
		else
			r->x[i] = CheckedResult(x * y, x != 0.0f && y != 0.0f);
	}
	return r;
}

PG_FUNCTION_INFO_V1(vector_add);
Datum
vector_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(ElementWise(fcinfo, ELEMENT_ADD));
}

PG_FUNCTION_INFO_V1(vector_sub);
Datum
vector_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(ElementWise(fcinfo, ELEMENT_SUB));
}

PG_FUNCTION_INFO_V1(vector_mul);
Datum
vector_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(ElementWise(fcinfo, ELEMENT_MUL));
}

PG_FUNCTION_INFO_V1(vector_concat);
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			dim = a->dim + b->dim;
	Vector	   *r;

	CheckDimCount(dim);
	r = InitVector(dim);
	memcpy(r->x, a->x, sizeof(float) * a->dim);
	memcpy(r->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_VECTOR_P(r);
}

/*
 * subvector(v, start, count): `count` elements from 1-based position `start`, clipped to
 * the vector like substring(); what is left must hold at least one element.
 */
PG_FUNCTION_INFO_V1(subvector);
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end = start + count;	/* exclusive; int64 so it cannot overflow */
	Vector	   *r;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension"),
				 errdetail("subvector() was asked for %lld elements.", (long long) count)));
	start = Max(start, 1);
	end = Min(end, (int64) v->dim + 1);
	if (end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension"),
				 errdetail("The requested range lies outside the vector's %d elements.", v->dim)));
	r = InitVector((int) (end - start));
	memcpy(r->x, v->x + (start - 1), sizeof(float) * r->dim);
	PG_RETURN_VECTOR_P(r);
}
