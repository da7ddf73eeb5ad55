/*
 * bit_ops.c — distances on PostgreSQL's own `bit` type, and binary quantization into it:
 * hamming_distance (<~>) and jaccard_distance (<%>), on the kernel table's popcounts.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/varbit.h"

#include "distance.h"
#include "halfvec.h"

static void
CheckSameLength(const VarBit *a, const VarBit *b)
{
	if (VARBITLEN(a) != VARBITLEN(b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different bit lengths %d and %d", VARBITLEN(a), VARBITLEN(b))));
}

/* The number of positions where the bits differ. */
PG_FUNCTION_INFO_V1(hamming_distance);
Datum
hamming_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);

	CheckSameLength(a, b);
	/* the bits past the length in the last byte are always zero, so they never differ */
	PG_RETURN_FLOAT8((double) vs_kernels->hamming(VARBITS(a), VARBITS(b), VARBITBYTES(a)));
}

/* 1 - |a AND b| / |a OR b|; 1 when no bit is set in both (as pgvector: also for two zeros). */
PG_FUNCTION_INFO_V1(jaccard_distance);
Datum
jaccard_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);
	uint64_t	both,
				either;

	CheckSameLength(a, b);
	vs_kernels->and_or_counts(VARBITS(a), VARBITS(b), VARBITBYTES(a), &both, &either);
	if (both == 0)
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8(1.0 - (double) both / (double) either);
}

/* One bit per element, set where the element is positive; the first element is the first bit. */
static VarBit *
Quantize(const float *x, int dim)
{
	Size		size = VARBITTOTALLEN(dim);
	VarBit	   *r = (VarBit *) palloc0(size);
	bits8	   *p = VARBITS(r);

	SET_VARSIZE(r, size);
	VARBITLEN(r) = dim;
	for (int i = 0; i < dim; i++)
		if (x[i] > 0)
			p[i / BITS_PER_BYTE] |= (bits8) (0x80 >> (i % BITS_PER_BYTE));
	return r;
}

PG_FUNCTION_INFO_V1(binary_quantize);
Datum
binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_VARBIT_P(Quantize(v->x, v->dim));
}

PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
Datum
halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *v = HalfvecWiden(PG_GETARG_HALFVEC_P(0));

	PG_RETURN_VARBIT_P(Quantize(v->x, v->dim));
}
