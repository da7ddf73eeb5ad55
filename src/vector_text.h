/*
 * vector_text.h — the parser for the text form '[1,2,3]'.
 *
 * Plain C with no PostgreSQL headers, so that the exact code the server runs is also what
 * the unit tests and the libFuzzer harness (test/fuzz/) exercise. The server maps each
 * status to an ereport with the right errcode (src/vector.c).
 */
#ifndef VS_VECTOR_TEXT_H
#define VS_VECTOR_TEXT_H

#include <stddef.h>

typedef enum VsParseStatus
{
	VS_PARSE_OK = 0,
	VS_PARSE_SYNTAX,			/* malformed; `detail` says what was expected */
	VS_PARSE_EMPTY,				/* "[]" */
	VS_PARSE_TOO_MANY,			/* more elements than the caller allows */
	VS_PARSE_NAN,				/* an element is NaN */
	VS_PARSE_INFINITE,			/* an element is +-Infinity */
	VS_PARSE_OUT_OF_RANGE		/* an element overflows float4 (underflow gives 0) */
} VsParseStatus;

typedef struct VsParseResult
{
	VsParseStatus status;
	int			dim;			/* elements read (the vector's dimension when OK) */
	size_t		error_offset;	/* byte offset of the offending text */
	size_t		error_length;	/* its length, for messages that quote it */
	const char *detail;			/* for VS_PARSE_SYNTAX: a sentence for errdetail */
} VsParseResult;

/*
 * Parses a NUL-terminated vector literal. Writes up to `capacity` elements to `out`
 * (which may be NULL to only validate and count); more than `max_dim` elements is
 * VS_PARSE_TOO_MANY. Leading and trailing white space is allowed, as is white space
 * around elements; elements are anything strtof() reads (exponents, signs, hex floats).
 */
extern VsParseResult vs_parse_vector(const char *text, float *out, int capacity, int max_dim);

/* An upper bound on the element count of `text`, cheap: commas + 1. */
extern int	vs_count_elements_upper_bound(const char *text);

#endif							/* VS_VECTOR_TEXT_H */
