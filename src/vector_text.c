/*
 * vector_text.c — parser for the text form of a vector, '[1.5, -2, 3e-4]'.
 *
 * No PostgreSQL headers (see vector_text.h). Element conversion is strtof(), which is what
 * float4in uses too, so a vector element accepts the spellings a real column accepts, and
 * out-of-range values follow pgvector's rule: overflow is an error, a value too small for
 * float4 becomes zero or a denormal (float4in itself refuses the first; pgvector, whose
 * float64 embeddings carry such values, accepts it).
 *
 * Most elements are short decimals ("0.1234", "-12", "3e-4"), for which strtof's general
 * algorithm is slow: a 784-d literal of small integers took 17 us to parse, a tenth of a
 * nearest-neighbour query over Fashion-MNIST, and 6 us with the fast path; a 100-d one of
 * 5-decimal numbers 5.8 us, and 1.7 us. Those elements get Clinger's fast path instead: with at most 2^24 as the digits' integer and a power of
 * ten up to 10^10 (both exact in a float), one float multiplication or division rounds
 * once, correctly, so the result is bit for bit strtof's. Anything else goes to strtof.
 */
#include "vector_text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The white space PostgreSQL's own scanner accepts (scanner_isspace). */
static int
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const char *
SkipSpace(const char *p)
{
	while (IsSpace(*p))
		p++;
	return p;
}

static VsParseResult
Failure(VsParseStatus status, const char *text, const char *at, size_t length,
		const char *detail, int dim)
{
	VsParseResult r;

	r.status = status;
	r.dim = dim;
	r.error_offset = (size_t) (at - text);
	r.error_length = length;
	r.detail = detail;
	return r;
}

static const float exact_powers_of_ten[] = {
	1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f
};

#define FAST_MAX_MANTISSA	(1 << 24)
#define FAST_MAX_EXPONENT	10

static int
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Converts a plain decimal element ([+-]digits[.digits][(e|E)[+-]digits]) that the fast
 * path can take, setting *end past it; returns 0 (and converts nothing) otherwise.
 */
static int
FastDecimal(const char *p, float *value, const char **end)
{
	int			negative = 0;
	unsigned long mantissa = 0;
	int			digits = 0;
	int			exponent = 0;
	float		x;

	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	for (; IsDigit(*p); p++, digits++)
		if ((mantissa = mantissa * 10 + (unsigned long) (*p - '0')) > FAST_MAX_MANTISSA)
			return 0;
	if (*p == '.')
	{
		for (p++; IsDigit(*p); p++, digits++, exponent--)
			if ((mantissa = mantissa * 10 + (unsigned long) (*p - '0')) > FAST_MAX_MANTISSA)
				return 0;
	}
	if (digits == 0)
		return 0;
	if (*p == 'e' || *p == 'E')
	{
		int			e_negative = 0;
		int			e = 0;
		int			e_digits = 0;

		p++;
		if (*p == '-' || *p == '+')
			e_negative = *p++ == '-';
		for (; IsDigit(*p) && e_digits < 4; p++, e_digits++)
			e = e * 10 + (*p - '0');
		if (e_digits == 0 || IsDigit(*p))
			return 0;
		exponent += e_negative ? -e : e;
	}
	/* what strtof would read further (hex, "inf", ...) is not a plain decimal */
	if (*p != ',' && *p != ']' && *p != '\0' && !IsSpace(*p))
		return 0;
	if (exponent < -FAST_MAX_EXPONENT || exponent > FAST_MAX_EXPONENT)
		return 0;
	x = (float) mantissa;
	x = exponent >= 0 ? x * exact_powers_of_ten[exponent] : x / exact_powers_of_ten[-exponent];
	*value = negative ? -x : x;
	*end = p;
	return 1;
}

/* Classifies a converted element; VS_PARSE_OK if it is a finite, representable float4. */
static VsParseStatus
CheckConverted(float value, int saved_errno)
{
	if (isnan(value))
		return VS_PARSE_NAN;
	/* overflow is an error; a value too small for float4 becomes 0 or a denormal, as in pgvector */
	if (saved_errno == ERANGE && isinf(value))
		return VS_PARSE_OUT_OF_RANGE;
	if (isinf(value))
		return VS_PARSE_INFINITE;
	return VS_PARSE_OK;
}

VsParseResult
vs_parse_vector(const char *text, float *out, int capacity, int max_dim)
{
	const char *p = SkipSpace(text);
	int			dim = 0;
	VsParseResult ok;

	if (*p != '[')
		return Failure(VS_PARSE_SYNTAX, text, p, 0, "A vector literal starts with \"[\".", 0);
	p = SkipSpace(p + 1);
	if (*p == ']')
		return Failure(VS_PARSE_EMPTY, text, p, 0, NULL, 0);

	for (;;)
	{
		const char *start = SkipSpace(p);
		const char *fast_end;
		char	   *end;
		float		value;
		int			saved_errno;
		VsParseStatus status;

		/* strtof() skips white space and signs by itself, but not an empty element */
		if (*start == ',' || *start == ']' || *start == '\0')
			return Failure(VS_PARSE_SYNTAX, text, start, 0,
						   "Each element of a vector literal must be a number.", dim);
		if (FastDecimal(start, &value, &fast_end))
		{
			end = (char *) fast_end;
			saved_errno = 0;
		}
		else
		{
			errno = 0;
			value = strtof(start, &end);
			saved_errno = errno;
		}
		if (end == start)
			return Failure(VS_PARSE_SYNTAX, text, start, 0,
						   "Each element of a vector literal must be a number.", dim);
		status = CheckConverted(value, saved_errno);
		if (status != VS_PARSE_OK)
			return Failure(status, text, start, (size_t) (end - start), NULL, dim);
		if (dim >= max_dim)
			return Failure(VS_PARSE_TOO_MANY, text, start, 0, NULL, dim + 1);
		if (out != NULL && dim < capacity)
			out[dim] = value;
		dim++;

		p = SkipSpace(end);
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == ']')
			break;
		if (*p == '\0')
			return Failure(VS_PARSE_SYNTAX, text, p, 0, "A vector literal ends with \"]\".", dim);
		return Failure(VS_PARSE_SYNTAX, text, p, 0,
					   "Elements of a vector literal are separated by commas.", dim);
	}

	p = SkipSpace(p + 1);
	if (*p != '\0')
		return Failure(VS_PARSE_SYNTAX, text, p, strlen(p),
					   "Nothing may follow the closing \"]\" except white space.", dim);

	ok.status = VS_PARSE_OK;
	ok.dim = dim;
	ok.error_offset = 0;
	ok.error_length = 0;
	ok.detail = NULL;
	return ok;
}

int
vs_count_elements_upper_bound(const char *text)
{
	int			commas = 0;

	for (; *text; text++)
		if (*text == ',')
			commas++;
	return commas + 1;
}
