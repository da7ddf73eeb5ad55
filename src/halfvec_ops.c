/*
 * halfvec_ops.c — distances, norms, arithmetic, comparisons and aggregates on `halfvec`.
 *
 * Each one widens its halfvec arguments to vectors (F16C or AVX-512F through the kernel
 * table: exact) and calls vector's own function, so a halfvec answers exactly as the vector
 * of its values does; a halfvec result is rounded back to half, and a value beyond +-65,504
 * is an ERROR.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/float.h"

#include "halfvec.h"

/* vector's functions (vector_ops.c, vector_compare.c, vector_agg.c) */
extern Datum l2_distance(PG_FUNCTION_ARGS);
extern Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum inner_product(PG_FUNCTION_ARGS);
extern Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum cosine_distance(PG_FUNCTION_ARGS);
extern Datum l1_distance(PG_FUNCTION_ARGS);
extern Datum vector_norm(PG_FUNCTION_ARGS);
extern Datum l2_normalize(PG_FUNCTION_ARGS);
extern Datum subvector(PG_FUNCTION_ARGS);
extern Datum vector_add(PG_FUNCTION_ARGS);
extern Datum vector_sub(PG_FUNCTION_ARGS);
extern Datum vector_mul(PG_FUNCTION_ARGS);
extern Datum vector_concat(PG_FUNCTION_ARGS);
extern Datum vector_cmp(PG_FUNCTION_ARGS);
extern Datum vector_accum(PG_FUNCTION_ARGS);
extern Datum vector_avg(PG_FUNCTION_ARGS);

static inline Datum
WidenArg(FunctionCallInfo fcinfo, int n)
{
	return PointerGetDatum(HalfvecWiden(PG_GETARG_HALFVEC_P(n)));
}

/* fn(widened a, widened b), for functions of two halfvecs. */
static Datum
OnTwo(FunctionCallInfo fcinfo, PGFunction fn)
{
	return DirectFunctionCall2(fn, WidenArg(fcinfo, 0), WidenArg(fcinfo, 1));
}

#define HALFVEC_PAIR_FUNCTION(name, vector_fn) \
	PG_FUNCTION_INFO_V1(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		return OnTwo(fcinfo, vector_fn); \
	}

/* the same, with the vector result rounded back to a halfvec */
#define HALFVEC_PAIR_TO_HALFVEC(name, vector_fn) \
	PG_FUNCTION_INFO_V1(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		PG_RETURN_HALFVEC_P(HalfvecNarrow(DatumGetVector(OnTwo(fcinfo, vector_fn)))); \
	}

HALFVEC_PAIR_FUNCTION(halfvec_l2_distance, l2_distance)
HALFVEC_PAIR_FUNCTION(halfvec_l2_squared_distance, vector_l2_squared_distance)
HALFVEC_PAIR_FUNCTION(halfvec_inner_product, inner_product)
HALFVEC_PAIR_FUNCTION(halfvec_negative_inner_product, vector_negative_inner_product)
HALFVEC_PAIR_FUNCTION(halfvec_cosine_distance, cosine_distance)
HALFVEC_PAIR_FUNCTION(halfvec_l1_distance, l1_distance)
HALFVEC_PAIR_TO_HALFVEC(halfvec_add, vector_add)
HALFVEC_PAIR_TO_HALFVEC(halfvec_sub, vector_sub)
HALFVEC_PAIR_TO_HALFVEC(halfvec_concat, vector_concat)

/*
 * A product is rounded to half, where it can flush to zero although the float product did
 * not: that is an underflow ERROR, as the float product's own (vector_mul) and pgvector's.
 */
PG_FUNCTION_INFO_V1(halfvec_mul);
Datum
halfvec_mul(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *r = HalfvecNarrow(DatumGetVector(OnTwo(fcinfo, vector_mul)));

	for (int i = 0; i < r->dim; i++)
		if (unlikely(vs_half_to_float(r->x[i]) == 0.0f && vs_half_to_float(a->x[i]) != 0.0f &&
					 vs_half_to_float(b->x[i]) != 0.0f))
			float_underflow_error();
	PG_RETURN_HALFVEC_P(r);
}

PG_FUNCTION_INFO_V1(halfvec_l2_norm);
Datum
halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(vector_norm, WidenArg(fcinfo, 0));
}

PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
Datum
halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	Datum		unit = DirectFunctionCall1(l2_normalize, WidenArg(fcinfo, 0));

	PG_RETURN_HALFVEC_P(HalfvecNarrow(DatumGetVector(unit)));
}

PG_FUNCTION_INFO_V1(halfvec_subvector);
Datum
halfvec_subvector(PG_FUNCTION_ARGS)
{
	Datum		part = DirectFunctionCall3(subvector, WidenArg(fcinfo, 0),
										   PG_GETARG_DATUM(1), PG_GETARG_DATUM(2));

	PG_RETURN_HALFVEC_P(HalfvecNarrow(DatumGetVector(part)));
}

/* ------------------------------------------------------------ comparisons (btree) */

static int
Compare(FunctionCallInfo fcinfo)
{
	return DatumGetInt32(OnTwo(fcinfo, vector_cmp));
}

VS_DEFINE_COMPARISONS(halfvec, Compare)

/* ------------------------------------------------------------ aggregates */

/* avg(halfvec): vector's state (count, then sums in double); the final value rounded to half. */
PG_FUNCTION_INFO_V1(halfvec_accum);
Datum
halfvec_accum(PG_FUNCTION_ARGS)
{
	LOCAL_FCINFO(inner, 2);

	/* vector_accum updates the state in place only inside an aggregate: pass the context on */
	InitFunctionCallInfoData(*inner, NULL, 2, InvalidOid, fcinfo->context, NULL);
	inner->args[0].value = PG_GETARG_DATUM(0);
	inner->args[0].isnull = false;
	inner->args[1].value = WidenArg(fcinfo, 1);
	inner->args[1].isnull = false;
	return vector_accum(inner);
}

PG_FUNCTION_INFO_V1(halfvec_avg);
Datum
halfvec_avg(PG_FUNCTION_ARGS)
{
	LOCAL_FCINFO(inner, 1);
	Datum		mean;

	InitFunctionCallInfoData(*inner, NULL, 1, InvalidOid, NULL, NULL);
	inner->args[0].value = PG_GETARG_DATUM(0);
	inner->args[0].isnull = false;
	mean = vector_avg(inner);
	if (inner->isnull)
		PG_RETURN_NULL();
	PG_RETURN_HALFVEC_P(HalfvecNarrow(DatumGetVector(mean)));
}
