/*
 * vector.c — the `vector` type: text and binary I/O, typmod, and the checks every
 * other SQL-callable function shares.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "vector.h"
#include "vector_binary.h"
#include "vector_text.h"

Vector *
InitVector(int dim)
{
	Vector	   *v = (Vector *) palloc0(VECTOR_SIZE(dim));

	SET_VARSIZE(v, VECTOR_SIZE(dim));
	v->dim = dim;
	return v;
}

void
CheckDimCount(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions", VECTOR_MAX_DIM),
				 errdetail("It has %d.", dim)));
}

void
CheckExpectedDim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void
CheckSameDimCount(int a, int b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", a, b)));
}

void
CheckSameDims(const Vector *a, const Vector *b)
{
	CheckSameDimCount(a->dim, b->dim);
}

void
CheckElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN is not allowed in a vector")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value is not allowed in a vector")));
}

/* Turns a failed parse of a `type_name` literal (vector, halfvec) into the ERROR a user sees. */
void
VsReportParseFailure(const char *lit, VsParseResult r, const char *type_name)
{
	const char *at = lit + r.error_offset;
	int			len = (int) Min(r.error_length, 64);

	switch (r.status)
	{
		case VS_PARSE_OK:
			return;
		case VS_PARSE_SYNTAX:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", type_name, lit),
					 errdetail("%s", r.detail)));
			break;
		case VS_PARSE_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s must have at least 1 dimension", type_name)));
			break;
		case VS_PARSE_TOO_MANY:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s cannot have more than %d dimensions", type_name, VECTOR_MAX_DIM)));
			break;
		case VS_PARSE_NAN:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("NaN is not allowed in a %s", type_name)));
			break;
		case VS_PARSE_INFINITE:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("infinite value is not allowed in a %s", type_name)));
			break;
		case VS_PARSE_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%.*s\" is out of range for type %s", len, at, type_name),
					 strcmp(type_name, "vector") == 0 ?
					 errdetail("Vector elements are float4 (real) values.") :
					 errdetail("Elements of a %s lie within +-65504.", type_name)));
			break;
	}
	elog(ERROR, "unexpected vector parse status %d", (int) r.status);
}

PG_FUNCTION_INFO_V1(vector_in);
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			capacity = Min(vs_count_elements_upper_bound(lit), VECTOR_MAX_DIM);
	Vector	   *v = InitVector(capacity);
	VsParseResult r = vs_parse_vector(lit, v->x, capacity, VECTOR_MAX_DIM);

	VsReportParseFailure(lit, r, "vector");
	CheckExpectedDim(typmod, r.dim);
	/* shrink the header to what was read; the tail of the allocation is just unused */
	SET_VARSIZE(v, VECTOR_SIZE(r.dim));
	v->dim = r.dim;
	PG_RETURN_VECTOR_P(v);
}

PG_FUNCTION_INFO_V1(vector_out);
Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	/* each element: shortest round-trip digits plus a separator */
	char	   *buf = palloc(v->dim * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 2);
	char	   *p = buf;

	*p++ = '[';
	for (int i = 0; i < v->dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(v->x[i], p);
	}
	*p++ = ']';
	*p = '\0';
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

/* The typmod of `type_name`(n): one dimension count, 1 to max_dim. */
int32
VsTypmodIn(ArrayType *ta, const char *type_name, int max_dim)
{
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier for %s", type_name),
				 errdetail("Give one dimension count, as in %s(384).", type_name)));
	if (*tl < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s must be at least 1", type_name)));
	if (*tl > max_dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s cannot exceed %d", type_name, max_dim)));
	return *tl;
}

PG_FUNCTION_INFO_V1(vector_typmod_in);
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VsTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "vector", VECTOR_MAX_DIM));
}

/*
 * Turns a failed binary decode into the ERROR vector_recv raised when it read the message
 * with pq_getmsg* itself: the same errcodes and texts, in the same order.
 */
static void
ReportBinaryFailure(VsBinaryResult r, int32 typmod)
{
	switch (r.status)
	{
		case VS_BINARY_OK:
			return;
		case VS_BINARY_SHORT:
			/* what pq_getmsgint says when the header is cut short */
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("insufficient data left in message")));
			break;
		case VS_BINARY_EMPTY:
		case VS_BINARY_TOO_MANY:
			CheckDimCount(r.dim);
			break;
		case VS_BINARY_WRONG_DIM:
			CheckExpectedDim(typmod, r.dim);
			break;
		case VS_BINARY_RESERVED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary vector: reserved field is %d, expected 0", r.reserved)));
			break;
		case VS_BINARY_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary vector: %d dimensions need %d bytes of elements, got %d",
							r.dim, (int) (r.dim * sizeof(float)), (int) r.element_bytes)));
			break;
		case VS_BINARY_CAPACITY:
			break;				/* vector_recv sized the array wrong: the elog below */
		case VS_BINARY_NAN:
			CheckElement(NAN);
			break;
		case VS_BINARY_INFINITE:
			CheckElement(INFINITY);
			break;
	}
	elog(ERROR, "unexpected binary vector decode status %d", (int) r.status);
}

/*
 * Wire format: int16 dim, int16 reserved (0), dim x float4, all in network byte order;
 * decoded by src/vector_binary.c, which the unit tests and test/fuzz/ run as it is.
 */
PG_FUNCTION_INFO_V1(vector_recv);
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	size_t		len = buf->len - buf->cursor;
	/* an accepted message has exactly 4 bytes per element: size from that, like vector_in */
	int			capacity = len < VS_BINARY_HEADER ? 0 :
		(int) Min((len - VS_BINARY_HEADER) / sizeof(float), VECTOR_MAX_DIM);
	Vector	   *v = InitVector(capacity);
	VsBinaryResult r = vs_decode_vector_binary((const unsigned char *) buf->data + buf->cursor,
											   len, typmod, VECTOR_MAX_DIM, v->x, capacity);

	ReportBinaryFailure(r, typmod);
	buf->cursor = buf->len;		/* consumed: callers such as record_recv check */
	PG_RETURN_VECTOR_P(v);
}

PG_FUNCTION_INFO_V1(vector_send);
Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Size		len = VS_BINARY_HEADER + (Size) v->dim * sizeof(float);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + len);

	/* the encoder the unit tests round-trip through the decoder vector_recv uses */
	SET_VARSIZE(result, VARHDRSZ + len);
	vs_encode_vector_binary(v->x, v->dim, (unsigned char *) VARDATA(result));
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_BYTEA_P(result);
}

/* The length coercion behind vector(n): applied on assignment to a typed column. */
PG_FUNCTION_INFO_V1(vector);
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_VECTOR_P(v);
}

PG_FUNCTION_INFO_V1(vector_dims);
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_INT32(v->dim);
}
