/*
 * sparsevec.c — the `sparsevec` type (sparsevec.h): the text form '{1:1.5,3:-2}/5' (1-based
 * indices, any order, zeros dropped), the binary form, typmod, and the casts to and from
 * vector, halfvec and arrays.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "parser/scansup.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "halfvec.h"
#include "sparsevec.h"
#include "vector.h"

extern Datum array_to_vector(PG_FUNCTION_ARGS);

SparseVector *
InitSparseVector(int dim, int nnz)
{
	SparseVector *s = (SparseVector *) palloc0(SPARSEVEC_SIZE(nnz));

	SET_VARSIZE(s, SPARSEVEC_SIZE(nnz));
	s->dim = dim;
	s->nnz = nnz;
	return s;
}

static void
CheckSparseDim(int64 dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec must have at least 1 dimension")));
	if (dim > SPARSEVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d dimensions", SPARSEVEC_MAX_DIM)));
}

static void
CheckSparseNnz(int64 nnz, int64 dim)
{
	if (nnz < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec cannot have a negative number of elements")));
	if (nnz > SPARSEVEC_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements", SPARSEVEC_MAX_NNZ)));
	if (nnz > dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec cannot have more elements than dimensions")));
}

/* Indices strictly ascending within [0, dim); values finite and non-zero. */
static void
CheckSparseElements(const SparseVector *s)
{
	const float *values = SPARSEVEC_VALUES(s);

	for (int i = 0; i < s->nnz; i++)
	{
		if (s->indices[i] < 0 || s->indices[i] >= s->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec index %d is out of bounds for %d dimensions",
							s->indices[i] + 1, s->dim)));
		if (i > 0 && s->indices[i] <= s->indices[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 s->indices[i] == s->indices[i - 1] ?
					 errmsg("sparsevec indices must not contain duplicates") :
					 errmsg("sparsevec indices must be in ascending order")));
		if (isnan(values[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("NaN is not allowed in a sparsevec")));
		if (isinf(values[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("infinite value is not allowed in a sparsevec")));
	}
}

typedef struct SparseElement
{
	int64		index;			/* 0-based */
	float		value;
} SparseElement;

static int
CompareElements(const void *a, const void *b)
{
	int64		x = ((const SparseElement *) a)->index;
	int64		y = ((const SparseElement *) b)->index;

	return (x > y) - (x < y);
}

static void
SyntaxError(const char *lit, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
			 errdetail("%s", detail)));
}

static const char *
SkipSpace(const char *p)
{
	while (scanner_isspace(*p))
		p++;
	return p;
}

/* An integer index (is_dim false) or dimension count: decimal digits, optional sign. */
static int64
ParseInteger(const char *lit, const char **p, bool is_dim)
{
	char	   *end;
	long long	n;

	errno = 0;
	n = strtoll(*p, &end, 10);
	if (end == *p)
		SyntaxError(lit, is_dim ? "The dimension count must be an integer." :
					"Each element must be index:value, the index an integer.");
	if (errno == ERANGE || n > INT_MAX || n < INT_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%.*s\" is out of range for a sparsevec %s", (int) (end - *p), *p,
						is_dim ? "dimension count" : "index")));
	*p = end;
	return n;
}

static float
ParseValue(const char *lit, const char **p)
{
	char	   *end;
	float		value;

	errno = 0;
	value = strtof(*p, &end);
	if (end == *p)
		SyntaxError(lit, "Each element must be index:value, the value a number.");
	/*
	 * A value beyond float4's range either way is an error, as in pgvector: a sparsevec
	 * stores the elements it was given, so a tiny one is not silently dropped (vector's and
	 * halfvec's text reads it as 0, as pgvector's do)
	 */
	if (errno == ERANGE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%.*s\" is out of range for type sparsevec", (int) (end - *p), *p)));
	*p = end;
	return value;
}

PG_FUNCTION_INFO_V1(sparsevec_in);
Datum
sparsevec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *p = SkipSpace(lit);
	SparseElement *elements = palloc(sizeof(SparseElement) * (strlen(lit) / 2 + 1));
	int			n = 0;
	int64		dim;
	SparseVector *s;
	float	   *values;

	if (*p != '{')
		SyntaxError(lit, "A sparsevec literal starts with \"{\".");
	p = SkipSpace(p + 1);
	if (*p != '}')
	{
		for (;;)
		{
			int64		index = ParseInteger(lit, &p, false);
			float		value;

			p = SkipSpace(p);
			if (*p != ':')
				SyntaxError(lit, "Each element must be index:value.");
			p = SkipSpace(p + 1);
			value = ParseValue(lit, &p);
			if (value != 0)
			{
				elements[n].index = index - 1;
				elements[n].value = value;
				n++;
			}
			p = SkipSpace(p);
			if (*p == '}')
				break;
			if (*p != ',')
				SyntaxError(lit, "Elements must be separated by \",\" and closed with \"}\".");
			p = SkipSpace(p + 1);
		}
	}
	p = SkipSpace(p + 1);
	if (*p != '/')
		SyntaxError(lit, "The dimension count must follow \"}\" after \"/\".");
	p = SkipSpace(p + 1);
	dim = ParseInteger(lit, &p, true);
	p = SkipSpace(p);
	if (*p != '\0')
		SyntaxError(lit, "Nothing may follow the dimension count except white space.");
	CheckSparseDim(dim);
	CheckExpectedDim(typmod, (int) dim);
	CheckSparseNnz(n, dim);

	qsort(elements, n, sizeof(SparseElement), CompareElements);
	s = InitSparseVector((int) dim, n);
	values = SPARSEVEC_VALUES(s);
	for (int i = 0; i < n; i++)
	{
		if (elements[i].index < 0 || elements[i].index >= dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec index %lld is out of bounds for %lld dimensions",
							(long long) elements[i].index + 1, (long long) dim)));
		s->indices[i] = (int32) elements[i].index;
		values[i] = elements[i].value;
	}
	CheckSparseElements(s);
	pfree(elements);
	PG_RETURN_SPARSEVEC_P(s);
}

PG_FUNCTION_INFO_V1(sparsevec_out);
Datum
sparsevec_out(PG_FUNCTION_ARGS)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	const float *values = SPARSEVEC_VALUES(s);
	StringInfoData buf;
	char		number[FLOAT_SHORTEST_DECIMAL_LEN + 1];

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < s->nnz; i++)
	{
		float_to_shortest_decimal_buf(values[i], number);
		appendStringInfo(&buf, "%s%d:%s", i > 0 ? "," : "", s->indices[i] + 1, number);
	}
	appendStringInfo(&buf, "}/%d", s->dim);
	PG_FREE_IF_COPY(s, 0);
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(sparsevec_typmod_in);
Datum
sparsevec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VsTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "sparsevec", SPARSEVEC_MAX_DIM));
}

/* Wire format: int32 dim, int32 nnz, int32 0, nnz x int32 0-based index, nnz x float4. */
PG_FUNCTION_INFO_V1(sparsevec_recv);
Datum
sparsevec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int32		dim = pq_getmsgint(buf, sizeof(int32));
	int32		nnz = pq_getmsgint(buf, sizeof(int32));
	int32		unused = pq_getmsgint(buf, sizeof(int32));
	SparseVector *s;
	float	   *values;

	CheckSparseDim(dim);
	CheckSparseNnz(nnz, dim);
	CheckExpectedDim(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sparsevec: reserved field is %d, expected 0", unused)));
	if (buf->len - buf->cursor != nnz * (int) (sizeof(int32) + sizeof(float)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sparsevec: %d elements need %d bytes, got %d",
						nnz, nnz * (int) (sizeof(int32) + sizeof(float)), buf->len - buf->cursor)));
	s = InitSparseVector(dim, nnz);
	values = SPARSEVEC_VALUES(s);
	for (int i = 0; i < nnz; i++)
		s->indices[i] = pq_getmsgint(buf, sizeof(int32));
	for (int i = 0; i < nnz; i++)
	{
		values[i] = pq_getmsgfloat4(buf);
		if (values[i] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary sparsevec: element %d is zero", i + 1)));
	}
	CheckSparseElements(s);
	PG_RETURN_SPARSEVEC_P(s);
}

PG_FUNCTION_INFO_V1(sparsevec_send);
Datum
sparsevec_send(PG_FUNCTION_ARGS)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	const float *values = SPARSEVEC_VALUES(s);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, s->dim);
	pq_sendint32(&buf, s->nnz);
	pq_sendint32(&buf, s->unused);
	for (int i = 0; i < s->nnz; i++)
		pq_sendint32(&buf, s->indices[i]);
	for (int i = 0; i < s->nnz; i++)
		pq_sendfloat4(&buf, values[i]);
	PG_FREE_IF_COPY(s, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(sparsevec);
Datum
sparsevec(PG_FUNCTION_ARGS)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), s->dim);
	PG_RETURN_SPARSEVEC_P(s);
}

/* The non-zero elements of a dense array of floats. */
static SparseVector *
FromDense(const float *x, int dim)
{
	int			nnz = 0;
	SparseVector *s;
	float	   *values;

	for (int i = 0; i < dim; i++)
		nnz += x[i] != 0;
	CheckSparseNnz(nnz, dim);
	s = InitSparseVector(dim, nnz);
	values = SPARSEVEC_VALUES(s);
	nnz = 0;
	for (int i = 0; i < dim; i++)
		if (x[i] != 0)
		{
			s->indices[nnz] = i;
			values[nnz++] = x[i];
		}
	return s;
}

/* The dense vector of a sparsevec; ERROR beyond vector's 16,000 dimensions. */
Vector *
SparsevecToDense(const SparseVector *s)
{
	const float *values = SPARSEVEC_VALUES(s);
	Vector	   *v;

	CheckDimCount(s->dim);
	v = InitVector(s->dim);
	for (int i = 0; i < s->nnz; i++)
		v->x[s->indices[i]] = values[i];
	return v;
}

PG_FUNCTION_INFO_V1(vector_to_sparsevec);
Datum
vector_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_SPARSEVEC_P(FromDense(v->x, v->dim));
}

PG_FUNCTION_INFO_V1(sparsevec_to_vector);
Datum
sparsevec_to_vector(PG_FUNCTION_ARGS)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), s->dim);
	PG_RETURN_VECTOR_P(SparsevecToDense(s));
}

PG_FUNCTION_INFO_V1(halfvec_to_sparsevec);
Datum
halfvec_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *v = HalfvecWiden(PG_GETARG_HALFVEC_P(0));

	CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_SPARSEVEC_P(FromDense(v->x, v->dim));
}

PG_FUNCTION_INFO_V1(sparsevec_to_halfvec);
Datum
sparsevec_to_halfvec(PG_FUNCTION_ARGS)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), s->dim);
	PG_RETURN_HALFVEC_P(HalfvecNarrow(SparsevecToDense(s)));
}

PG_FUNCTION_INFO_V1(array_to_sparsevec);
Datum
array_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *v = DatumGetVector(DirectFunctionCall3(array_to_vector, PG_GETARG_DATUM(0),
													   Int32GetDatum(-1), BoolGetDatum(false)));

	CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_SPARSEVEC_P(FromDense(v->x, v->dim));
}
