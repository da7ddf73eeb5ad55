/*
 * test_half.c — binary16 conversions (src/kernels/half.c) and the halfvec and bit kernels of
 * every ISA this CPU runs: every half round-trips; float-to-half rounds exactly as the CPU's
 * own F16C instruction does; the tables' widening and bit counts equal the scalar ones.
 */
#include "distance.h"
#include "half.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define UNIT_RANDOM_SEED 0x4a1f4a1f4a1fULL
#include "random.h"

static uint32_t
Bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float
FromBits(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Every one of the 65,536 halves widens to a float that narrows back to it (NaN stays NaN). */
static void
test_every_half_round_trips(void)
{
	for (uint32_t h = 0; h < 65536; h++)
	{
		float		f = vs_half_to_float((VsHalf) h);
		VsHalf		back = vs_float_to_half(f);

		if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0)
			UNIT_CHECK(isnan(f) && (back & 0x7C00) == 0x7C00 && (back & 0x3FF) != 0,
					   "NaN 0x%04x", h);
		else
			UNIT_CHECK(back == h, "half 0x%04x -> %g -> 0x%04x", h, f, back);
	}
	UNIT_CHECK(vs_half_to_float(0x3C00) == 1.0f, "1.0");
	UNIT_CHECK(vs_half_to_float(0x7BFF) == VS_HALF_MAX, "largest half");
	UNIT_CHECK(vs_half_to_float(0x0001) == 0x1p-24f, "smallest subnormal");
}

/* Values at the edges: overflow, the largest half, ties, subnormals, underflow to zero. */
static void
test_float_to_half_edges(void)
{
	UNIT_CHECK(vs_float_to_half(65504.0f) == 0x7BFF, "65504 is the largest half");
	UNIT_CHECK(vs_float_to_half(65519.0f) == 0x7BFF, "65519 rounds down");
	UNIT_CHECK(vs_half_is_inf(vs_float_to_half(65520.0f)), "65520 rounds up to infinity");
	UNIT_CHECK(vs_half_is_inf(vs_float_to_half(-1e10f)), "-1e10 overflows");
	UNIT_CHECK(vs_float_to_half(1e-10f) == 0, "1e-10 underflows to zero");
	UNIT_CHECK(vs_float_to_half(-1e-10f) == 0x8000, "-1e-10 to negative zero");
	UNIT_CHECK(vs_float_to_half(0x1p-25f) == 0, "half the smallest subnormal ties to zero");
	UNIT_CHECK(vs_float_to_half(0x1.8p-25f) == 1, "above it rounds to the smallest subnormal");
	UNIT_CHECK(vs_float_to_half(1.0f + 0x1p-11f) == 0x3C00, "a tie rounds to even (down)");
	UNIT_CHECK(vs_float_to_half(1.0f + 3 * 0x1p-11f) == 0x3C02, "a tie rounds to even (up)");
}

#if defined(__x86_64__)
static __attribute__((target("f16c"))) VsHalf
HardwareHalf(float f)
{
	return (VsHalf) _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
#endif

/* float-to-half against the hardware, over random bit patterns and the subnormal range. */
static void
test_float_to_half_matches_f16c(void)
{
#if defined(__x86_64__)
	if (!__builtin_cpu_supports("f16c"))
	{
		printf("# no F16C: skipped\n");
		return;
	}
	for (int i = 0; i < 2000000; i++)
	{
		uint32_t	u = (uint32_t) NextRandom();
		float		f;
		VsHalf		mine,
					cpu;

		/* half the draws in the range halves cover, where rounding matters */
		if (i & 1)
			u = (u & 0x80000000) | (0x33000000 + (u % (0x47800000 - 0x33000000)));
		f = FromBits(u);
		if (isnan(f))
			continue;
		mine = vs_float_to_half(f);
		cpu = HardwareHalf(f);
		UNIT_CHECK(mine == cpu, "%a (0x%08x): 0x%04x, F16C 0x%04x", f, Bits(f), mine, cpu);
	}
#else
	printf("# not x86: skipped\n");
#endif
}

/* Each table's widening equals the scalar one, at lengths around its step. */
static void
test_tables_widen_halves(void)
{
	static const size_t lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 33, 100, 16000};
	VsHalf	   *h = UnitAlloc(sizeof(VsHalf) * 16000);
	float	   *want = UnitAlloc(sizeof(float) * 16000);
	float	   *got = UnitAlloc(sizeof(float) * 16001);

	for (size_t i = 0; i < 16000; i++)
		h[i] = (VsHalf) NextRandom();
	for (int isa = 0; isa < VS_ISA_COUNT; isa++)
	{
		const VsKernelTable *t = vs_kernel_table((VsIsa) isa);

		if (t == NULL)
			continue;
		for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++)
		{
			size_t		n = lengths[k];

			got[n] = 12345.0f;
			vs_halves_to_floats_scalar(h, want, n);
			t->halves_to_floats(h, got, n);
			for (size_t i = 0; i < n; i++)
				UNIT_CHECK(Bits(got[i]) == Bits(want[i]) || (isnan(got[i]) && isnan(want[i])),
						   "%s n=%zu [%zu]: %g, want %g", t->name, n, i, got[i], want[i]);
			UNIT_CHECK(got[n] == 12345.0f, "%s n=%zu wrote past the end", t->name, n);
		}
	}
	free(h);
	free(want);
	free(got);
}

/* Bit counts of each table against a bit-by-bit count. */
static void
test_tables_count_bits(void)
{
	uint8_t		a[130],
				b[130];

	for (size_t i = 0; i < sizeof(a); i++)
	{
		a[i] = (uint8_t) NextRandom();
		b[i] = (uint8_t) NextRandom();
	}
	for (int isa = 0; isa < VS_ISA_COUNT; isa++)
	{
		const VsKernelTable *t = vs_kernel_table((VsIsa) isa);

		if (t == NULL)
			continue;
		for (size_t n = 0; n <= sizeof(a); n++)
		{
			uint64_t	x = 0,
						and_want = 0,
						or_want = 0,
						and_got,
						or_got;

			for (size_t i = 0; i < n * 8; i++)
			{
				int			p = (a[i / 8] >> (i % 8)) & 1,
							q = (b[i / 8] >> (i % 8)) & 1;

				x += p != q;
				and_want += p && q;
				or_want += p || q;
			}
			t->and_or_counts(a, b, n, &and_got, &or_got);
			UNIT_CHECK(t->hamming(a, b, n) == x, "%s hamming over %zu bytes", t->name, n);
			UNIT_CHECK(and_got == and_want && or_got == or_want, "%s and/or over %zu bytes",
					   t->name, n);
		}
	}
}

int
main(void)
{
	vs_kernels_init();
	UNIT_RUN(test_every_half_round_trips);
	UNIT_RUN(test_float_to_half_edges);
	UNIT_RUN(test_float_to_half_matches_f16c);
	UNIT_RUN(test_tables_widen_halves);
	UNIT_RUN(test_tables_count_bits);
	return unit_finish("test_half");
}
