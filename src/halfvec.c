/*
 * halfvec.c — the `halfvec` type (halfvec.h): text and binary I/O, typmod, and the casts to
 * and from vector and arrays.
 */
#include "postgres.h"

#include "common/shortest_dec.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "distance.h"
#include "halfvec.h"
#include "vector_text.h"

extern Datum array_to_vector(PG_FUNCTION_ARGS);

HalfVector *
InitHalfVector(int dim)
{
	HalfVector *h = (HalfVector *) palloc0(HALFVEC_SIZE(dim));

	SET_VARSIZE(h, HALFVEC_SIZE(dim));
	h->dim = dim;
	return h;
}

Vector *
HalfvecWiden(const HalfVector *h)
{
	Vector	   *v = InitVector(h->dim);

	vs_kernels->halves_to_floats(h->x, v->x, h->dim);
	return v;
}

static void
ReportHalfOverflow(float value)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("\"%g\" is out of range for type halfvec", value),
			 errdetail("Elements of a halfvec lie within +-65504.")));
}

HalfVector *
HalfvecNarrow(const Vector *v)
{
	HalfVector *h = InitHalfVector(v->dim);

	for (int i = 0; i < v->dim; i++)
	{
		h->x[i] = vs_float_to_half(v->x[i]);
		if (vs_half_is_inf(h->x[i]))
			ReportHalfOverflow(v->x[i]);
	}
	return h;
}

/* Elements parse as a vector's do (strtof; tiny values become 0), then round to half. */
PG_FUNCTION_INFO_V1(halfvec_in);
Datum
halfvec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			capacity = Min(vs_count_elements_upper_bound(lit), HALFVEC_MAX_DIM);
	Vector	   *v = InitVector(Max(capacity, 1));
	VsParseResult r = vs_parse_vector(lit, v->x, capacity, HALFVEC_MAX_DIM);

	VsReportParseFailure(lit, r, "halfvec");
	CheckExpectedDim(typmod, r.dim);
	v->dim = r.dim;
	PG_RETURN_HALFVEC_P(HalfvecNarrow(v));
}

PG_FUNCTION_INFO_V1(halfvec_out);
Datum
halfvec_out(PG_FUNCTION_ARGS)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	char	   *buf = palloc(h->dim * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 2);
	char	   *p = buf;

	*p++ = '[';
	for (int i = 0; i < h->dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(vs_half_to_float(h->x[i]), p);
	}
	*p++ = ']';
	*p = '\0';
	PG_FREE_IF_COPY(h, 0);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(halfvec_typmod_in);
Datum
halfvec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VsTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "halfvec", HALFVEC_MAX_DIM));
}

/* Wire format: int16 dim, int16 reserved (0), dim x binary16, network byte order. */
PG_FUNCTION_INFO_V1(halfvec_recv);
Datum
halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim = pq_getmsgint(buf, sizeof(int16));
	int			unused = pq_getmsgint(buf, sizeof(int16));
	HalfVector *h;

	CheckDimCount(dim);
	if (dim > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("halfvec cannot have more than %d dimensions", HALFVEC_MAX_DIM)));
	CheckExpectedDim(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary halfvec: reserved field is %d, expected 0", unused)));
	if (buf->len - buf->cursor != dim * (int) sizeof(VsHalf))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary halfvec: %d dimensions need %d bytes of elements, got %d",
						dim, dim * (int) sizeof(VsHalf), buf->len - buf->cursor)));
	h = InitHalfVector(dim);
	for (int i = 0; i < dim; i++)
	{
		h->x[i] = (VsHalf) pq_getmsgint(buf, sizeof(VsHalf));
		CheckElement(vs_half_to_float(h->x[i]));
	}
	PG_RETURN_HALFVEC_P(h);
}

PG_FUNCTION_INFO_V1(halfvec_send);
Datum
halfvec_send(PG_FUNCTION_ARGS)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, h->dim);
	pq_sendint16(&buf, h->unused);
	for (int i = 0; i < h->dim; i++)
		pq_sendint16(&buf, h->x[i]);
	PG_FREE_IF_COPY(h, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* The length coercion behind halfvec(n). */
PG_FUNCTION_INFO_V1(halfvec);
Datum
halfvec(PG_FUNCTION_ARGS)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), h->dim);
	PG_RETURN_HALFVEC_P(h);
}

PG_FUNCTION_INFO_V1(halfvec_to_vector);
Datum
halfvec_to_vector(PG_FUNCTION_ARGS)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), h->dim);
	PG_RETURN_VECTOR_P(HalfvecWiden(h));
}

PG_FUNCTION_INFO_V1(vector_to_halfvec);
Datum
vector_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_HALFVEC_P(HalfvecNarrow(v));
}

/* integer[], real[], double precision[], numeric[]: through vector's cast, then rounded. */
PG_FUNCTION_INFO_V1(array_to_halfvec);
Datum
array_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *v = DatumGetVector(DirectFunctionCall3(array_to_vector, PG_GETARG_DATUM(0),
													   Int32GetDatum(-1), BoolGetDatum(false)));

	CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_HALFVEC_P(HalfvecNarrow(v));
}

PG_FUNCTION_INFO_V1(halfvec_to_float4);
Datum
halfvec_to_float4(PG_FUNCTION_ARGS)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	Datum	   *elems = palloc(sizeof(Datum) * h->dim);
	ArrayType  *result;

	for (int i = 0; i < h->dim; i++)
		elems[i] = Float4GetDatum(vs_half_to_float(h->x[i]));
	result = construct_array(elems, h->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(elems);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(halfvec_vector_dims);
Datum
halfvec_vector_dims(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_HALFVEC_P(0)->dim);
}
