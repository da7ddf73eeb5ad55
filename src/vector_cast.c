/*
 * vector_cast.c — casts between `vector` and SQL arrays.
 *
 * integer[], real[], double precision[] and numeric[] cast to vector (with the target
 * typmod checked); vector casts to real[]. One C function serves every array type and
 * looks at the element type at run time.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "vector.h"

/* Converts one array element to float4, insisting the result is finite. */
static float
ElementToFloat(Datum d, Oid elemtype)
{
	float		value;

	switch (elemtype)
	{
		case INT4OID:
			value = (float) DatumGetInt32(d);
			break;
		case FLOAT4OID:
			value = DatumGetFloat4(d);
			break;
		case FLOAT8OID:
			{
				double		v8 = DatumGetFloat8(d);

				value = (float) v8;
				/* a finite double can still be too large for float4; too small gives 0 (pgvector) */
				if (isinf(value) && !isinf(v8))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value %g is out of range for type vector", v8),
							 errdetail("Vector elements are float4 (real) values.")));
				break;
			}
		case NUMERICOID:
			/* numeric's own float4 cast reports NaN and range errors */
			value = DatumGetFloat4(DirectFunctionCall1(numeric_float4, d));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot cast an array of %s to vector", format_type_be(elemtype))));
			value = 0;			/* keep the compiler quiet */
	}
	CheckElement(value);
	return value;
}

PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Vector	   *v;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be one-dimensional to cast to vector")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	CheckDimCount(n);
	CheckExpectedDim(typmod, n);

	v = InitVector(n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls to cast to vector"),
					 errdetail("Element %d is NULL.", i + 1)));
		v->x[i] = ElementToFloat(elems[i], elemtype);
	}
	pfree(elems);
	pfree(nulls);
	PG_RETURN_VECTOR_P(v);
}

PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Datum	   *elems = palloc(sizeof(Datum) * v->dim);
	ArrayType  *result;

	for (int i = 0; i < v->dim; i++)
		elems[i] = Float4GetDatum(v->x[i]);
	result = construct_array(elems, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(elems);
	PG_RETURN_POINTER(result);
}
