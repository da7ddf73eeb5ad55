/*
 * vector_binary.h — the decoder and encoder of the binary form of a vector (COPY BINARY, a
 * client's binary parameters and results): int16 dimension count, int16 reserved (0), then
 * that many float4, all big-endian. It is pgvector's wire format.
 *
 * Plain C with no PostgreSQL headers, like vector_text.h, so that the unit tests and the
 * libFuzzer harness (test/fuzz/) run the exact code vector_recv and vector_send run. The server maps each
 * status to an ereport with the right errcode (src/vector.c).
 */
#ifndef VS_VECTOR_BINARY_H
#define VS_VECTOR_BINARY_H

#include <stddef.h>

/* The header: dimension count and reserved field, two bytes each. */
#define VS_BINARY_HEADER 4

/* Statuses in the order vector_recv checks them; the first that applies is reported. */
typedef enum VsBinaryStatus
{
	VS_BINARY_OK = 0,
	VS_BINARY_SHORT,			/* fewer bytes than the header */
	VS_BINARY_EMPTY,			/* dimension count below 1 */
	VS_BINARY_TOO_MANY,			/* dimension count above `max_dim` */
	VS_BINARY_WRONG_DIM,		/* not the dimension count the caller expects */
	VS_BINARY_RESERVED,			/* the reserved field is not 0 */
	VS_BINARY_LENGTH,			/* the bytes after the header are not dim float4 */
	VS_BINARY_CAPACITY,			/* valid, but more elements than the caller's array holds */
	VS_BINARY_NAN,				/* an element is NaN */
	VS_BINARY_INFINITE			/* an element is +-Infinity */
} VsBinaryStatus;

typedef struct VsBinaryResult
{
	VsBinaryStatus status;
	int			dim;			/* the header's dimension count (once the header was read) */
	int			reserved;		/* the header's reserved field */
	size_t		element_bytes;	/* bytes after the header */
	int			element;		/* for NAN/INFINITE: the offending element's index */
} VsBinaryResult;

/*
 * Decodes `len` bytes. `expected_dim` is the column's dimension (-1: any). Writes the
 * elements to out[0..dim) only once the header and the length are valid, and never more
 * than `capacity` of them; the length check makes dim == (len - 4) / 4 when accepted, so
 * a caller can size `out` from the byte count.
 */
extern VsBinaryResult vs_decode_vector_binary(const unsigned char *data, size_t len,
											  int expected_dim, int max_dim,
											  float *out, int capacity);

/* Writes the binary form of `dim` elements, VS_BINARY_HEADER + 4 * dim bytes, to `out`. */
extern void vs_encode_vector_binary(const float *values, int dim, unsigned char *out);

#endif							/* VS_VECTOR_BINARY_H */
