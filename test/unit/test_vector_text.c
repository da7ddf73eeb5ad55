/*
 * test_vector_text.c — the vector literal parser, without a server.
 * The server-side messages for each status are covered by sql/vector_errors.sql.
 */
#include <math.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include "unit.h"
#include "vector_text.h"

#define UNIT_RANDOM_SEED 0x7465787431ULL
#include "random.h"

#define MAX_DIM 16000

static float out[MAX_DIM + 8];

static VsParseResult
Parse(const char *text)
{
	return vs_parse_vector(text, out, MAX_DIM, MAX_DIM);
}

static void
test_valid_literals(void)
{
	VsParseResult r = Parse("[1,2,3]");

	UNIT_CHECK(r.status == VS_PARSE_OK && r.dim == 3, "status %d dim %d", r.status, r.dim);
	UNIT_CHECK(out[0] == 1.0f && out[1] == 2.0f && out[2] == 3.0f, "values");

	r = Parse("  [ -1.5 ,\t+2e3,\n3.25E-2 ]  ");
	UNIT_CHECK(r.status == VS_PARSE_OK && r.dim == 3, "white space: status %d", r.status);
	UNIT_CHECK(out[0] == -1.5f && out[1] == 2000.0f && out[2] == 0.0325f, "values with exponents");

	r = Parse("[0x1p3]");
	UNIT_CHECK(r.status == VS_PARSE_OK && out[0] == 8.0f, "hex float like float4in");

	r = Parse("[-0]");
	UNIT_CHECK(r.status == VS_PARSE_OK && out[0] == 0.0f && signbit(out[0]), "negative zero kept");

	r = Parse("[1e-45]");
	UNIT_CHECK(r.status == VS_PARSE_OK && out[0] > 0.0f, "smallest denormal is kept");
}

static void
test_syntax_errors(void)
{
	static const char *bad[] = {
		"", " ", "1,2", "(1,2)", "[", "[1", "[1,", "[1,2", "[,1]", "[1,,2]", "[1,]",
		"[1 2]", "[1;2]", "[1]x", "[1] ]", "[[1]]", "[abc]", "[1,abc]", "[-]", "[.]", "[e5]",
		"[1]\x01",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		VsParseResult r = Parse(bad[i]);

		UNIT_CHECK(r.status == VS_PARSE_SYNTAX, "\"%s\": status %d", bad[i], r.status);
		UNIT_CHECK(r.status != VS_PARSE_SYNTAX || (r.detail != NULL && strlen(r.detail) > 0),
				   "\"%s\": a syntax error carries a detail", bad[i]);
		UNIT_CHECK(r.error_offset <= strlen(bad[i]), "\"%s\": offset inside the text", bad[i]);
	}
}

static void
test_value_errors(void)
{
	VsParseResult r;

	UNIT_CHECK(Parse("[]").status == VS_PARSE_EMPTY, "empty");
	UNIT_CHECK(Parse("[ ]").status == VS_PARSE_EMPTY, "empty with space");
	UNIT_CHECK(Parse("[NaN]").status == VS_PARSE_NAN, "NaN");
	UNIT_CHECK(Parse("[1,nan]").status == VS_PARSE_NAN, "nan lower case");
	UNIT_CHECK(Parse("[Infinity]").status == VS_PARSE_INFINITE, "Infinity");
	UNIT_CHECK(Parse("[-inf]").status == VS_PARSE_INFINITE, "-inf");
	UNIT_CHECK(Parse("[1e39]").status == VS_PARSE_OUT_OF_RANGE, "overflow");
	UNIT_CHECK(Parse("[-1e39]").status == VS_PARSE_OUT_OF_RANGE, "negative overflow");
	r = Parse("[1e-50]");
	UNIT_CHECK(r.status == VS_PARSE_OK && out[0] == 0.0f, "underflow gives zero, as in pgvector");
	r = Parse("[-1e-50]");
	UNIT_CHECK(r.status == VS_PARSE_OK && out[0] == 0.0f && signbit(out[0]), "negative underflow gives -0");
	UNIT_CHECK(Parse("[0e-50]").status == VS_PARSE_OK, "a literal zero with a tiny exponent is zero");
}

static void
test_error_positions(void)
{
	VsParseResult r = Parse("[1, 2, 1e39, 4]");

	UNIT_CHECK(r.status == VS_PARSE_OUT_OF_RANGE, "status");
	UNIT_CHECK(r.error_offset == 7 && r.error_length == 4, "offset %zu length %zu",
			   r.error_offset, r.error_length);
	UNIT_CHECK(r.dim == 2, "elements read before the error: %d", r.dim);
}

static void
test_dimension_limit(void)
{
	size_t		len = 2 * (MAX_DIM + 1) + 2;
	char	   *lit = malloc(len + 1);
	char	   *p = lit;
	VsParseResult r;

	*p++ = '[';
	for (int i = 0; i < MAX_DIM; i++)
	{
		*p++ = '7';
		*p++ = ',';
	}
	p[-1] = ']';
	*p = '\0';
	r = Parse(lit);
	UNIT_CHECK(r.status == VS_PARSE_OK && r.dim == MAX_DIM, "16000 elements: status %d dim %d",
			   r.status, r.dim);
	UNIT_CHECK(out[MAX_DIM - 1] == 7.0f, "last element");
	UNIT_CHECK(vs_count_elements_upper_bound(lit) == MAX_DIM, "upper bound");

	p[-1] = ',';
	*p++ = '7';
	*p++ = ']';
	*p = '\0';
	r = Parse(lit);
	UNIT_CHECK(r.status == VS_PARSE_TOO_MANY, "16001 elements: status %d", r.status);
	free(lit);
}

static void
test_validate_only(void)
{
	VsParseResult r = vs_parse_vector("[1,2,3,4]", NULL, 0, MAX_DIM);

	UNIT_CHECK(r.status == VS_PARSE_OK && r.dim == 4, "NULL output counts: status %d dim %d",
			   r.status, r.dim);
	r = vs_parse_vector("[1,2,3,4]", out, 2, 3);
	UNIT_CHECK(r.status == VS_PARSE_TOO_MANY, "max_dim below the count");
}

/*
 * Short decimals take the parser's fast path; its result must be strtof's, bit for bit.
 * Random spellings on both sides of the fast path's limits (mantissa 2^24, exponent 10).
 */
static void
test_fast_path_matches_strtof(void)
{
	static const char *fixed[] = {
		"0", "-0", "+0", "5.", ".5", "-.5", "16777216", "16777217", "16777215.0", "0.1",
		"0.3", "1e10", "1e-10", "1e11", "1E-11", "9999999e3", "0000000000001", "1.00000000",
		"3.4028235e38", "1e-45", "123456789", "0.000001", "7e+0", "7e-0001",
	};
	char		text[64];
	int			mismatches = 0;
	int			i;

	for (i = 0; i < (int) (sizeof(fixed) / sizeof(fixed[0])) + 200000; i++)
	{
		char		number[48];
		float		want;
		VsParseResult r;

		if (i < (int) (sizeof(fixed) / sizeof(fixed[0])))
			snprintf(number, sizeof(number), "%s", fixed[i]);
		else
		{
			uint64_t	bits = NextRandom();
			int			digits = 1 + (int) (bits % 9);
			int			point = (int) ((bits >> 8) % (digits + 1));
			int			k;
			char	   *w = number;

			if ((bits >> 16) & 1)
				*w++ = '-';
			for (k = 0; k < digits; k++)
			{
				if (k == point && k > 0)
					*w++ = '.';
				*w++ = (char) ('0' + (NextRandom() % 10));
			}
			if ((bits >> 17) % 3 == 0)
				w += sprintf(w, "e%d", (int) ((bits >> 20) % 27) - 13);
			*w = '\0';
		}
		snprintf(text, sizeof(text), "[%s]", number);
		r = Parse(text);
		want = strtof(number, NULL);
		if (r.status != VS_PARSE_OK || memcmp(&out[0], &want, sizeof(float)) != 0)
		{
			if (mismatches++ < 5)
				UNIT_CHECK(0, "\"%s\": parsed %.9g (status %d), strtof %.9g", number, out[0],
						   r.status, want);
		}
	}
	UNIT_CHECK(mismatches == 0, "%d of %d spellings differ from strtof", mismatches, i);
}

int
main(void)
{
	UNIT_RUN(test_valid_literals);
	UNIT_RUN(test_syntax_errors);
	UNIT_RUN(test_value_errors);
	UNIT_RUN(test_error_positions);
	UNIT_RUN(test_dimension_limit);
	UNIT_RUN(test_validate_only);
	UNIT_RUN(test_fast_path_matches_strtof);
	return unit_finish("test_vector_text");
}
