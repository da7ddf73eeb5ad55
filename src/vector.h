/*
 * vector.h — the on-disk and in-memory form of the `vector` type.
 *
 * The layout is pgvector's, so that a dump, a binary COPY or a client that speaks pgvector's
 * wire format reads the same bytes: varlena header, int16 dimension count, int16 reserved
 * (always 0), then float4 elements.
 */
#ifndef VS_VECTOR_H
#define VS_VECTOR_H

#include "postgres.h"

#include "fmgr.h"

#include "vector_text.h"

#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of elements */
	int16		unused;			/* reserved, always 0 */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

#define VECTOR_SIZE(dim)		(offsetof(Vector, x) + sizeof(float) * (dim))
#define DatumGetVector(d)		((Vector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_VECTOR_P(n)	DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(v)	PG_RETURN_POINTER(v)

/* A zeroed vector of `dim` elements in the current memory context. */
extern Vector *InitVector(int dim);

/* ERROR unless 1 <= dim <= VECTOR_MAX_DIM. */
extern void CheckDimCount(int dim);
/* ERROR unless the vector has the dimension its column's typmod asks for (-1 = any). */
extern void CheckExpectedDim(int32 typmod, int dim);
/* ERROR unless both operands have the same dimension. */
extern void CheckSameDims(const Vector *a, const Vector *b);
/* The same for two dimension counts (an aggregate's state, an index and its query). */
extern void CheckSameDimCount(int a, int b);
/* ERROR on NaN or +-Infinity. */
extern void CheckElement(float value);
/* The typmod of `type_name`(n) (vector, halfvec, sparsevec): ERROR unless 1 <= n <= max_dim. */
struct ArrayType;
extern int32 VsTypmodIn(struct ArrayType *ta, const char *type_name, int max_dim);
/* The ERROR for a literal of `type_name` (vector, halfvec) that failed to parse. */
extern void VsReportParseFailure(const char *lit, VsParseResult r, const char *type_name);

/*
 * The btree support and comparison operators of a type (vector, halfvec, sparsevec), from a
 * `static int compare(FunctionCallInfo)` over the two arguments: prefix_cmp, _lt, _le, _eq,
 * _ne, _ge, _gt.
 */
#define VS_COMPARISON_FUNCTION(name, compare, test) \
	PG_FUNCTION_INFO_V1(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		int			c = compare(fcinfo); \
		PG_RETURN_BOOL(test); \
	}
#define VS_DEFINE_COMPARISONS(prefix, compare) \
	PG_FUNCTION_INFO_V1(prefix##_cmp); \
	Datum \
	prefix##_cmp(PG_FUNCTION_ARGS) \
	{ \
		PG_RETURN_INT32(compare(fcinfo)); \
	} \
	VS_COMPARISON_FUNCTION(prefix##_lt, compare, c < 0) \
	VS_COMPARISON_FUNCTION(prefix##_le, compare, c <= 0) \
	VS_COMPARISON_FUNCTION(prefix##_eq, compare, c == 0) \
	VS_COMPARISON_FUNCTION(prefix##_ne, compare, c != 0) \
	VS_COMPARISON_FUNCTION(prefix##_ge, compare, c >= 0) \
	VS_COMPARISON_FUNCTION(prefix##_gt, compare, c > 0)

#endif							/* VS_VECTOR_H */
