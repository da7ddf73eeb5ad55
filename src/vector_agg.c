/*
 * vector_agg.c — avg(vector) and the transition functions behind it.
 *
 * The state is a float8[] of 1 + dim entries: the row count, then the running sums in
 * double precision (so that averaging many float4 vectors does not lose digits). Being a
 * plain array type, the state needs no serialization functions for parallel aggregation;
 * vector_combine merges two partial states. sum(vector) needs no state of its own: it is
 * vector_add over the rows (see the extension script).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/float.h"

#include "vector.h"

/*
 * The state's entries, after checking that it is one: a one-dimensional float8[] without
 * NULLs whose sums make a vector the type allows, and whose row count is a whole number, 0
 * for a state that has seen no rows: the initial '{0}', or (as pgvector accepts it) zeros
 * with sums, which a row of that many dimensions can follow. A count with no sums is not a
 * state. The functions are callable from SQL, so a state can come from anywhere.
 */
static float8 *
StateValues(ArrayType *state, int *n)
{
	float8	   *s;

	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID ||
		ARR_DIMS(state)[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vector aggregate state must be a one-dimensional float8 array without NULLs")));
	*n = ARR_DIMS(state)[0];
	s = (float8 *) ARR_DATA_PTR(state);
	if (*n - 1 > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector aggregate state has %d sums, more than the %d dimensions a vector can have",
						*n - 1, VECTOR_MAX_DIM)));
	if (!(s[0] >= 0 && s[0] == floor(s[0]) && isfinite(s[0])) || (s[0] != 0 && *n == 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vector aggregate state is inconsistent: row count %g with %d sums", s[0], *n - 1),
				 errdetail("A state is {0} before the first row, then {rows, sum1, ..., sumN}.")));
	return s;
}

static ArrayType *
NewState(int dim)
{
	Datum	   *zeros = palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *state;

	for (int i = 0; i <= dim; i++)
		zeros[i] = Float8GetDatum(0.0);
	state = construct_array(zeros, dim + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							TYPALIGN_DOUBLE);
	pfree(zeros);
	return state;
}

/*
 * Inside an aggregate the state array belongs to the aggregate's memory context, so it is
 * updated in place (as float8_accum does); called any other way it is copied first.
 */
PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *v = PG_GETARG_VECTOR_P(1);
	int			n;
	float8	   *s = StateValues(state, &n);

	if (n == 1)
	{
		/* first row after the initial state '{0}', which carries no dimension yet */
		state = NewState(v->dim);
		s = (float8 *) ARR_DATA_PTR(state);
		n = v->dim + 1;
	}
	else if (!AggCheckCallContext(fcinfo, NULL))
	{
		state = PG_GETARG_ARRAYTYPE_P_COPY(0);
		s = StateValues(state, &n);
	}
	CheckSameDimCount(n - 1, v->dim);

	s[0] += 1.0;
	for (int i = 0; i < v->dim; i++)
		s[i + 1] += (double) v->x[i];
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	int			na;
	int			nb;
	float8	   *sa = StateValues(a, &na);
	float8	   *sb = StateValues(b, &nb);
	ArrayType  *r;
	float8	   *sr;

	/* a state that has seen no rows contributes nothing */
	if (sb[0] == 0)
		PG_RETURN_ARRAYTYPE_P(a);
	if (sa[0] == 0)
		PG_RETURN_ARRAYTYPE_P(b);
	CheckSameDimCount(na - 1, nb - 1);

	r = NewState(na - 1);
	sr = (float8 *) ARR_DATA_PTR(r);
	for (int i = 0; i < na; i++)
		sr[i] = sa[i] + sb[i];
	PG_RETURN_ARRAYTYPE_P(r);
}

PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			n;
	float8	   *s = StateValues(state, &n);
	Vector	   *r;

	if (s[0] == 0)
		PG_RETURN_NULL();		/* no rows, as avg() of anything else */
	r = InitVector(n - 1);
	for (int i = 0; i < r->dim; i++)
	{
		r->x[i] = (float) (s[i + 1] / s[0]);
		if (isinf(r->x[i]))
			float_overflow_error();
	}
	PG_RETURN_VECTOR_P(r);
}
