/*
 * vector_binary.c — decoder and encoder of the binary form of a vector (see vector_binary.h).
 *
 * No PostgreSQL headers. Bytes are assembled by hand rather than with ntohl so that the
 * decoder reads an unaligned buffer safely and means the same on any host byte order;
 * elements go through memcpy, which keeps every bit pattern (-0, denormals) as sent.
 */
#include "vector_binary.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static int
ReadInt16(const unsigned char *p)
{
	return (int16_t) (uint16_t) ((p[0] << 8) | p[1]);
}

static float
ReadFloat4(const unsigned char *p)
{
	uint32_t	bits = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
	float		value;

	memcpy(&value, &bits, sizeof(value));
	return value;
}

static void
WriteFloat4(unsigned char *p, float value)
{
	uint32_t	bits;

	memcpy(&bits, &value, sizeof(bits));
	p[0] = (unsigned char) (bits >> 24);
	p[1] = (unsigned char) (bits >> 16);
	p[2] = (unsigned char) (bits >> 8);
	p[3] = (unsigned char) bits;
}

VsBinaryResult
vs_decode_vector_binary(const unsigned char *data, size_t len, int expected_dim, int max_dim,
						float *out, int capacity)
{
	VsBinaryResult r = {VS_BINARY_OK, 0, 0, 0, 0};

	if (len < VS_BINARY_HEADER)
	{
		r.status = VS_BINARY_SHORT;
		return r;
	}
	r.dim = ReadInt16(data);
	r.reserved = ReadInt16(data + 2);
	r.element_bytes = len - VS_BINARY_HEADER;

	/* the order vector_recv has always checked in, so each input keeps its error */
	if (r.dim < 1)
		r.status = VS_BINARY_EMPTY;
	else if (r.dim > max_dim)
		r.status = VS_BINARY_TOO_MANY;
	else if (expected_dim != -1 && expected_dim != r.dim)
		r.status = VS_BINARY_WRONG_DIM;
	else if (r.reserved != 0)
		r.status = VS_BINARY_RESERVED;
	else if (r.element_bytes != (size_t) r.dim * 4)
		r.status = VS_BINARY_LENGTH;
	else if (r.dim > capacity)
		r.status = VS_BINARY_CAPACITY;
	if (r.status != VS_BINARY_OK)
		return r;

	for (int i = 0; i < r.dim; i++)
	{
		float		value = ReadFloat4(data + VS_BINARY_HEADER + (size_t) i * 4);

		if (isnan(value) || isinf(value))
		{
			r.status = isnan(value) ? VS_BINARY_NAN : VS_BINARY_INFINITE;
			r.element = i;
			return r;
		}
		out[i] = value;
	}
	return r;
}

void
vs_encode_vector_binary(const float *values, int dim, unsigned char *out)
{
	out[0] = (unsigned char) ((unsigned) dim >> 8);
	out[1] = (unsigned char) dim;
	out[2] = 0;
	out[3] = 0;
	for (int i = 0; i < dim; i++)
		WriteFloat4(out + VS_BINARY_HEADER + (size_t) i * 4, values[i]);
}
