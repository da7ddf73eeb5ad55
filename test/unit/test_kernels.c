/*
 * test_kernels.c — every kernel of every ISA this CPU runs, against the scalar reference and
 * against exact answers; and the dispatch API.
 *
 * Tolerance. Summing N float terms in any order (a loop, several accumulators, a horizontal
 * reduction: any summation tree) errs by at most gamma(N-1) * sum|t_i|, gamma(k) = k u / (1 - k u),
 * u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, ch. 4). Each term carries
 * at most about 2u of its own (the rounded a - b, squared; an FMA rounds a product only with
 * its sum). Lanes a masked load leaves empty are exact zeros. The reference sums exact products
 * in double and rounds once (u |S| <= u sum|t|). So
 *
 *     |simd - ref| <= (N + 2) u sum|t|  (to first order),
 *
 * and the tests allow twice that: (N + 4) * FLT_EPSILON * sum|t| (FLT_EPSILON = 2u), plus
 * FLT_MIN. It is measured against sum|t|, not the result, because a dot product can cancel to
 * almost nothing while its rounding errors do not. For N = 16000 that is about 1.9e-3
 * relative to sum|t| — loose for random data, whose errors grow like sqrt(N), yet tight enough
 * that a lost or doubled element (an error of one whole term) fails at every small dim.
 *
 * Exact checks need no tolerance: small integers make every product and partial sum an
 * integer below 2^24, which float represents exactly in any order.
 */
#include "distance.h"
#include "reference.h"
#include "unit.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const size_t test_dims[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 383, 384, 785, 16000};
#define N_TEST_DIMS (sizeof(test_dims) / sizeof(test_dims[0]))

/* Where a test vector lives: each SIMD load path has its own way to go wrong. */
typedef enum Placement
{
	PLACE_ALIGNED,				/* 64-byte aligned */
	PLACE_OFFSET,				/* one float past a 64-byte boundary */
	PLACE_GUARDED,				/* ends at an unmapped page: any read past the end faults */
	N_PLACEMENTS
} Placement;

static const char *const placement_names[N_PLACEMENTS] = {"aligned", "offset+1", "guarded"};

typedef struct TestVec
{
	float	   *v;
	void	   *base;
	size_t		map_len;		/* nonzero when base came from mmap */
} TestVec;

static const VsKernelTable *table_under_test;
static VsIsa isa_under_test;

#define UNIT_RANDOM_SEED 0x5eed5eed5eedULL
#include "random.h"

/* Uniform in [-scale, scale]. */
static float
RandomFloat(double scale)
{
	return (float) (((double) (NextRandom() >> 11) / (double) (1ULL << 53) * 2.0 - 1.0) * scale);
}

static void
FillRandom(float *v, size_t dim, double scale)
{
	size_t		i;

	for (i = 0; i < dim; i++)
		v[i] = RandomFloat(scale);
}

/* Integers in [-8, 8]: every sum these kernels form stays an exact float below 2^24. */
static void
FillSmallIntegers(float *v, size_t dim)
{
	size_t		i;

	for (i = 0; i < dim; i++)
		v[i] = (float) ((int) (NextRandom() % 17) - 8);
}

static bool
VecAlloc(TestVec *t, size_t dim, Placement where)
{
	size_t		bytes = (dim + 32) * sizeof(float);

	memset(t, 0, sizeof(*t));
	if (where == PLACE_GUARDED)
	{
		size_t		page = (size_t) sysconf(_SC_PAGESIZE);
		size_t		data_pages = (dim * sizeof(float) + page - 1) / page;
		char	   *base;

		t->map_len = (data_pages + 1) * page;
		base = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			return false;
		if (mprotect(base + data_pages * page, page, PROT_NONE) != 0)
		{
			munmap(base, t->map_len);
			return false;
		}
		t->base = base;
		t->v = (float *) (base + data_pages * page) - dim;
		return true;
	}
	bytes = (bytes + 63) & ~(size_t) 63;
	t->base = aligned_alloc(64, bytes);
	if (t->base == NULL)
		return false;
	t->v = (float *) t->base + (where == PLACE_OFFSET ? 1 : 0);
	return true;
}

static void
VecFree(TestVec *t)
{
	if (t->map_len != 0)
		munmap(t->base, t->map_len);
	else
		free(t->base);
}

static double
Tolerance(size_t dim, double abs_sum)
{
	return (double) (dim + 4) * FLT_EPSILON * abs_sum + FLT_MIN;
}

/* sum |a_i - b_i| in double (the other reference sums are in reference.h) */
static double
AbsDiffSum(const float *a, const float *b, size_t dim)
{
	double		s = 0.0;
	size_t		i;

	for (i = 0; i < dim; i++)
		s += fabs((double) a[i] - b[i]);
	return s;
}

#define CHECK_CLOSE(got, ref, tol, what, dim, where, scale) \
	UNIT_CHECK(fabs((double) (got) - (double) (ref)) <= (tol), \
			   "%s/%s dim=%zu %s scale=%g: got %.9g, reference %.9g, |diff| %.3g > tol %.3g", \
			   (what), table_under_test->name, (dim), placement_names[where], (scale), \
			   (double) (got), (double) (ref), fabs((double) (got) - (double) (ref)), (tol))

/*
 * The random comparison. One kernel's check gets the vectors a, b and four rows; it is run
 * for every dim, both scales, every placement, and a few draws for the small dims.
 */
typedef void (*PairCheck) (const float *a, const float *b, const float *const rows[4],
						   size_t dim, Placement where, double scale);

static void
ForAllInputs(PairCheck check)
{
	static const double scales[] = {1.0, 100.0};
	size_t		d;
	int			s,
				p,
				k,
				draw;

	for (d = 0; d < N_TEST_DIMS; d++)
	{
		size_t		dim = test_dims[d];
		int			draws = dim < 100 ? 4 : 1;

		for (s = 0; s < 2; s++)
			for (p = 0; p < N_PLACEMENTS; p++)
				for (draw = 0; draw < draws; draw++)
				{
					TestVec		a,
								b,
								r[4];
					const float *rows[4];
					bool		ok = VecAlloc(&a, dim, p) && VecAlloc(&b, dim, p);

					for (k = 0; k < 4 && ok; k++)
						ok = VecAlloc(&r[k], dim, (Placement) ((p + k) % N_PLACEMENTS));
					UNIT_CHECK(ok, "could not allocate test vectors (dim %zu)", dim);
					if (!ok)
						return;		/* leaks on a failing test only */
					FillRandom(a.v, dim, scales[s]);
					FillRandom(b.v, dim, scales[s]);
					for (k = 0; k < 4; k++)
					{
						FillRandom(r[k].v, dim, scales[s]);
						rows[k] = r[k].v;
					}
					check(a.v, b.v, rows, dim, p, scales[s]);
					/* then b = a, a row equal to the query, and one row twice */
					rows[1] = a.v;
					rows[3] = rows[2];
					check(a.v, a.v, rows, dim, p, scales[s]);
					VecFree(&a);
					VecFree(&b);
					for (k = 0; k < 4; k++)
						VecFree(&r[k]);
				}
	}
}

static void
CheckL2sqPair(const float *a, const float *b, const float *const rows[4], size_t dim,
			  Placement where, double scale)
{
	float		got = table_under_test->l2sq(a, b, dim);
	float		ref = vs_l2sq_scalar(a, b, dim);

	(void) rows;
	CHECK_CLOSE(got, ref, Tolerance(dim, SquaredDiffSum(a, b, dim)), "l2sq", dim, where, scale);
	if (a == b)
		UNIT_CHECK(got == 0.0f, "l2sq(a, a) = %g, not 0 (dim %zu)", got, dim);
}

static void
CheckDotPair(const float *a, const float *b, const float *const rows[4], size_t dim,
			 Placement where, double scale)
{
	float		got = table_under_test->dot(a, b, dim);
	float		ref = vs_dot_scalar(a, b, dim);

	(void) rows;
	CHECK_CLOSE(got, ref, Tolerance(dim, AbsDotSum(a, b, dim)), "dot", dim, where, scale);
}

static void
CheckL1Pair(const float *a, const float *b, const float *const rows[4], size_t dim,
			Placement where, double scale)
{
	float		got = table_under_test->l1(a, b, dim);
	float		ref = vs_l1_scalar(a, b, dim);

	(void) rows;
	CHECK_CLOSE(got, ref, Tolerance(dim, AbsDiffSum(a, b, dim)), "l1", dim, where, scale);
	if (a == b)
		UNIT_CHECK(got == 0.0f, "l1(a, a) = %g, not 0 (dim %zu)", got, dim);
}

static void
CheckCosinePair(const float *a, const float *b, const float *const rows[4], size_t dim,
				Placement where, double scale)
{
	double		got[3],
				ref[3];

	(void) rows;
	table_under_test->cosine_parts(a, b, dim, got);
	vs_cosine_parts_scalar(a, b, dim, ref);
	CHECK_CLOSE(got[0], ref[0], Tolerance(dim, AbsDotSum(a, b, dim)), "cosine_parts[ab]", dim, where, scale);
	CHECK_CLOSE(got[1], ref[1], Tolerance(dim, AbsDotSum(a, a, dim)), "cosine_parts[aa]", dim, where, scale);
	CHECK_CLOSE(got[2], ref[2], Tolerance(dim, AbsDotSum(b, b, dim)), "cosine_parts[bb]", dim, where, scale);
}

static void
CheckL2sq1x4Rows(const float *a, const float *b, const float *const rows[4], size_t dim,
				 Placement where, double scale)
{
	float		got[4];
	int			k;

	(void) b;
	table_under_test->l2sq_1x4(a, rows, dim, got);
	for (k = 0; k < 4; k++)
		CHECK_CLOSE(got[k], vs_l2sq_scalar(a, rows[k], dim),
					Tolerance(dim, SquaredDiffSum(a, rows[k], dim)), "l2sq_1x4", dim, where, scale);
}

static void
CheckDot1x4Rows(const float *a, const float *b, const float *const rows[4], size_t dim,
				Placement where, double scale)
{
	float		got[4];
	int			k;

	(void) b;
	table_under_test->dot_1x4(a, rows, dim, got);
	for (k = 0; k < 4; k++)
		CHECK_CLOSE(got[k], vs_dot_scalar(a, rows[k], dim),
					Tolerance(dim, AbsDotSum(a, rows[k], dim)), "dot_1x4", dim, where, scale);
}

/*
 * Exact answers: the textbook case, dim 0, and small integers at every test dim, where the
 * SIMD result must equal the scalar one bit for bit.
 */
static void
CheckExactSmall(void)
{
	const float a[3] = {1, 2, 3};
	const float b[3] = {4, 5, 6};
	const float z[3] = {0, 0, 0};
	const float n[3] = {-1, -2, -3};
	const float *const rows[4] = {b, a, z, n};
	const VsKernelTable *t = table_under_test;
	double		parts[3];
	float		four[4];

	UNIT_CHECK(t->l2sq(a, b, 3) == 27.0f, "%s l2sq([1,2,3],[4,5,6]) = %g", t->name, t->l2sq(a, b, 3));
	UNIT_CHECK(t->dot(a, b, 3) == 32.0f, "%s dot = %g", t->name, t->dot(a, b, 3));
	UNIT_CHECK(t->l1(a, b, 3) == 9.0f, "%s l1 = %g", t->name, t->l1(a, b, 3));
	t->cosine_parts(a, b, 3, parts);
	UNIT_CHECK(parts[0] == 32.0 && parts[1] == 14.0 && parts[2] == 77.0,
			   "%s cosine_parts = %g %g %g", t->name, parts[0], parts[1], parts[2]);
	t->l2sq_1x4(a, rows, 3, four);
	UNIT_CHECK(four[0] == 27.0f && four[1] == 0.0f && four[2] == 14.0f && four[3] == 56.0f,
			   "%s l2sq_1x4 = %g %g %g %g", t->name, four[0], four[1], four[2], four[3]);
	t->dot_1x4(a, rows, 3, four);
	UNIT_CHECK(four[0] == 32.0f && four[1] == 14.0f && four[2] == 0.0f && four[3] == -14.0f,
			   "%s dot_1x4 = %g %g %g %g", t->name, four[0], four[1], four[2], four[3]);

	/* dim 0 reads nothing and sums nothing */
	UNIT_CHECK(t->l2sq(a, b, 0) == 0.0f && t->dot(a, b, 0) == 0.0f && t->l1(a, b, 0) == 0.0f,
			   "%s dim 0 not 0", t->name);
	t->cosine_parts(a, b, 0, parts);
	UNIT_CHECK(parts[0] == 0.0 && parts[1] == 0.0 && parts[2] == 0.0, "%s cosine dim 0", t->name);
	t->l2sq_1x4(a, rows, 0, four);
	UNIT_CHECK(four[0] == 0.0f && four[3] == 0.0f, "%s l2sq_1x4 dim 0", t->name);
}

static void
CheckExactIntegers(void)
{
	const VsKernelTable *t = table_under_test;
	size_t		d;
	int			k;

	for (d = 0; d < N_TEST_DIMS; d++)
	{
		size_t		dim = test_dims[d];
		TestVec		a,
					b,
					r[4];
		const float *rows[4];
		float		got[4],
					ref[4];
		double		got_parts[3],
					ref_parts[3];

		if (!VecAlloc(&a, dim, PLACE_GUARDED) || !VecAlloc(&b, dim, PLACE_OFFSET))
		{
			UNIT_CHECK(false, "could not allocate (dim %zu)", dim);
			return;
		}
		for (k = 0; k < 4; k++)
		{
			if (!VecAlloc(&r[k], dim, (Placement) (k % N_PLACEMENTS)))
			{
				UNIT_CHECK(false, "could not allocate (dim %zu)", dim);
				return;
			}
			FillSmallIntegers(r[k].v, dim);
			rows[k] = r[k].v;
		}
		FillSmallIntegers(a.v, dim);
		FillSmallIntegers(b.v, dim);

		UNIT_CHECK(t->l2sq(a.v, b.v, dim) == vs_l2sq_scalar(a.v, b.v, dim), "%s l2sq exact, dim %zu", t->name, dim);
		UNIT_CHECK(t->dot(a.v, b.v, dim) == vs_dot_scalar(a.v, b.v, dim), "%s dot exact, dim %zu", t->name, dim);
		UNIT_CHECK(t->l1(a.v, b.v, dim) == vs_l1_scalar(a.v, b.v, dim), "%s l1 exact, dim %zu", t->name, dim);
		t->cosine_parts(a.v, b.v, dim, got_parts);
		vs_cosine_parts_scalar(a.v, b.v, dim, ref_parts);
		UNIT_CHECK(memcmp(got_parts, ref_parts, sizeof(got_parts)) == 0, "%s cosine_parts exact, dim %zu", t->name, dim);
		t->l2sq_1x4(a.v, rows, dim, got);
		vs_l2sq_1x4_scalar(a.v, rows, dim, ref);
		UNIT_CHECK(memcmp(got, ref, sizeof(got)) == 0, "%s l2sq_1x4 exact, dim %zu", t->name, dim);
		t->dot_1x4(a.v, rows, dim, got);
		vs_dot_1x4_scalar(a.v, rows, dim, ref);
		UNIT_CHECK(memcmp(got, ref, sizeof(got)) == 0, "%s dot_1x4 exact, dim %zu", t->name, dim);

		VecFree(&a);
		VecFree(&b);
		for (k = 0; k < 4; k++)
			VecFree(&r[k]);
	}
}

static void
test_l2sq(void)
{
	ForAllInputs(CheckL2sqPair);
}

static void
test_dot(void)
{
	ForAllInputs(CheckDotPair);
}

static void
test_l1(void)
{
	ForAllInputs(CheckL1Pair);
}

static void
test_cosine_parts(void)
{
	ForAllInputs(CheckCosinePair);
}

/*
 * Vectors whose squares leave float's range: every table's cosine parts and vs_norm must
 * see them as what they are (issue 15: 1e20-sized vectors were taken for zero vectors).
 */
static void
test_cosine_extremes(void)
{
	static const float scales[] = {1e20f, 5e19f, 3e37f, 3e38f, 1e-25f, 1e-40f};
	int			isa;
	size_t		d;

	for (isa = 0; isa < VS_ISA_COUNT; isa++)
	{
		const VsKernelTable *t = vs_kernel_table((VsIsa) isa);

		if (t == NULL)
			continue;
		for (d = 0; d < N_TEST_DIMS; d++)
		{
			size_t		dim = test_dims[d];
			float	   *a = UnitAlloc(sizeof(float) * dim);
			float	   *b = UnitAlloc(sizeof(float) * dim);
			size_t		i;
			int			s;

			for (s = 0; s < (int) (sizeof(scales) / sizeof(scales[0])); s++)
			{
				double		parts[3];
				double		cosine;
				/* the largest scale times sqrt(dim) would not fit a float: spread it */
				float		scale = scales[s] / (float) (dim > 1 && scales[s] > 1e38f ? dim : 1);

				for (i = 0; i < dim; i++)
				{
					a[i] = scale * (float) (1 + i % 3);
					b[i] = (float) (1 + i % 3);
				}
				t->cosine_parts(a, b, dim, parts);
				cosine = parts[0] / (sqrt(parts[1]) * sqrt(parts[2]));
				UNIT_CHECK(fabs(cosine - 1.0) < 1e-6, "%s cosine of parallel vectors at scale %g, dim %zu: %.9g",
						   t->name, (double) scale, dim, cosine);
				UNIT_CHECK(parts[1] > 0 && isfinite(parts[1]), "%s |a|^2 at scale %g, dim %zu: %g",
						   t->name, (double) scale, dim, parts[1]);
				UNIT_CHECK(fabs(vs_norm(a, dim) / (sqrt(parts[1])) - 1.0) < 1e-9,
						   "vs_norm at scale %g, dim %zu: %g", (double) scale, dim, vs_norm(a, dim));
			}
			free(a);
			free(b);
		}
	}
	{
		const float pythagoras[2] = {3e37f, 4e37f};
		const float tiny[2] = {1e-25f, 1e-25f};

		UNIT_CHECK(fabs(vs_norm(pythagoras, 2) / 5e37 - 1) < 1e-6, "norm [3e37,4e37] = %g", vs_norm(pythagoras, 2));
		UNIT_CHECK(fabs(vs_norm(tiny, 2) / (sqrt(2.0) * 1e-25) - 1) < 1e-6, "norm [1e-25,1e-25] = %g", vs_norm(tiny, 2));
	}
}

static void
test_l2sq_1x4(void)
{
	ForAllInputs(CheckL2sq1x4Rows);
}

static void
test_dot_1x4(void)
{
	ForAllInputs(CheckDot1x4Rows);
}

static void
test_exact(void)
{
	CheckExactSmall();
	CheckExactIntegers();
}

/* ---------------------------------------------------------------- dispatch */

/*
 * vs_kernels_init() reads VECSEARCH_SIMD only the first time, so each setting is tried in a
 * child process that has not initialised yet (this case runs before anything calls init).
 * The child reports the ISA it ended up with as its exit status.
 */
static int
ActiveIsaInChild(const char *env_value)
{
	pid_t		pid = fork();
	int			status;

	if (pid == 0)
	{
		VsIsa		first;

		if (env_value != NULL)
			setenv("VECSEARCH_SIMD", env_value, 1);
		else
			unsetenv("VECSEARCH_SIMD");
		vs_kernels_init();
		first = vs_kernels_active();
		/* a second init with another request changes nothing */
		setenv("VECSEARCH_SIMD", first == VS_ISA_SCALAR ? "auto" : "scalar", 1);
		vs_kernels_init();
		if (vs_kernels_active() != first || vs_kernels != vs_kernel_table(first))
			_exit(100);
		_exit((int) first);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_dispatch_env(void)
{
	static const char *const requests[] = {"scalar", "avx2", "avx512", "auto", "AVX2", "bogus", "", NULL};
	size_t		i;

	UNIT_CHECK(vs_kernels == &vs_kernels_scalar && vs_kernels_active() == VS_ISA_SCALAR,
			   "before init the active table must be scalar");
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
	{
		int			got = ActiveIsaInChild(requests[i]);
		VsIsa		want = vs_isa_resolve(requests[i]);

		UNIT_CHECK(got == (int) want, "VECSEARCH_SIMD=%s: child chose %d, expected %s",
				   requests[i] ? requests[i] : "(unset)", got, vs_isa_name(want));
	}
	UNIT_CHECK(ActiveIsaInChild("scalar") == VS_ISA_SCALAR, "VECSEARCH_SIMD=scalar must give scalar");
	UNIT_CHECK(ActiveIsaInChild("bogus") == (int) vs_isa_detect(), "unknown value must give the best ISA");
	UNIT_CHECK(vs_kernels_active() == VS_ISA_SCALAR, "the children must not change the parent");
}

static void
test_dispatch_names(void)
{
	VsIsa		isa;
	int			i;

	UNIT_CHECK(strcmp(vs_isa_name(VS_ISA_SCALAR), "scalar") == 0, "scalar name");
	UNIT_CHECK(strcmp(vs_isa_name(VS_ISA_AVX2), "avx2") == 0, "avx2 name");
	UNIT_CHECK(strcmp(vs_isa_name(VS_ISA_AVX512), "avx512") == 0, "avx512 name");
	UNIT_CHECK(strcmp(vs_isa_name(VS_ISA_COUNT), "unknown") == 0, "out of range name");
	for (i = 0; i < VS_ISA_COUNT; i++)
	{
		UNIT_CHECK(vs_isa_from_name(vs_isa_name((VsIsa) i), &isa) && isa == (VsIsa) i,
				   "from_name(name(%d))", i);
	}
	UNIT_CHECK(vs_isa_from_name("AVX512", &isa) && isa == VS_ISA_AVX512, "names are case-insensitive");
	UNIT_CHECK(vs_isa_from_name("auto", &isa) && isa == vs_isa_detect(), "auto is the detected ISA");
	isa = VS_ISA_AVX2;
	UNIT_CHECK(!vs_isa_from_name("avx3", &isa) && isa == VS_ISA_AVX2, "unknown name accepted or wrote isa");
	UNIT_CHECK(!vs_isa_from_name("", &isa), "empty name accepted");
	UNIT_CHECK(!vs_isa_from_name(NULL, &isa), "NULL name accepted");
	UNIT_CHECK(!vs_isa_from_name("avx2 ", &isa), "trailing space accepted");
}

static void
test_dispatch_tables(void)
{
	int			i;

	UNIT_CHECK(vs_isa_supported(VS_ISA_SCALAR), "scalar must always be supported");
	UNIT_CHECK(vs_isa_supported(vs_isa_detect()), "detected ISA not supported");
	UNIT_CHECK(!vs_isa_supported(VS_ISA_COUNT) && !vs_isa_supported((VsIsa) -1), "out of range supported");
	UNIT_CHECK(vs_kernel_table(VS_ISA_COUNT) == NULL, "table for an out-of-range ISA");
	for (i = 0; i < VS_ISA_COUNT; i++)
	{
		const VsKernelTable *t = vs_kernel_table((VsIsa) i);

		UNIT_CHECK((t != NULL) == vs_isa_supported((VsIsa) i), "table(%d) vs supported", i);
		if (t != NULL)
			UNIT_CHECK(strcmp(t->name, vs_isa_name((VsIsa) i)) == 0 && t->l2sq && t->dot && t->l1 &&
					   t->cosine_parts && t->l2sq_1x4 && t->dot_1x4, "table(%d) incomplete", i);
	}
	/* detect() is the best: nothing above it is supported */
	for (i = (int) vs_isa_detect() + 1; i < VS_ISA_COUNT; i++)
		UNIT_CHECK(!vs_isa_supported((VsIsa) i), "%s supported but detect() chose less", vs_isa_name((VsIsa) i));
}

static void
test_dispatch_select(void)
{
	VsIsa		before = vs_kernels_active();
	const VsKernelTable *before_table = vs_kernels;
	int			i;

	for (i = 0; i < VS_ISA_COUNT; i++)
	{
		if (!vs_isa_supported((VsIsa) i))
		{
			UNIT_CHECK(!vs_kernels_select((VsIsa) i), "selected unsupported %s", vs_isa_name((VsIsa) i));
			UNIT_CHECK(vs_kernels == before_table && vs_kernels_active() == before,
					   "failed select of %s changed the table", vs_isa_name((VsIsa) i));
			continue;
		}
		UNIT_CHECK(vs_kernels_select((VsIsa) i), "could not select %s", vs_isa_name((VsIsa) i));
		UNIT_CHECK(vs_kernels_active() == (VsIsa) i && vs_kernels == vs_kernel_table((VsIsa) i),
				   "select(%s) did not take", vs_isa_name((VsIsa) i));
		before = vs_kernels_active();
		before_table = vs_kernels;
	}
	UNIT_CHECK(!vs_kernels_select(VS_ISA_COUNT), "selected VS_ISA_COUNT");
	UNIT_CHECK(vs_kernels == before_table && vs_kernels_active() == before,
			   "failed select changed the table");
	vs_kernels_select(vs_isa_detect());
}

static void
test_dispatch_resolve(void)
{
	VsIsa		best = vs_isa_detect();
	int			i;

	UNIT_CHECK(vs_isa_resolve(NULL) == best, "resolve(NULL)");
	UNIT_CHECK(vs_isa_resolve("bogus") == best, "resolve(bogus)");
	UNIT_CHECK(vs_isa_resolve("auto") == best, "resolve(auto)");
	for (i = 0; i < VS_ISA_COUNT; i++)
	{
		VsIsa		want = vs_isa_supported((VsIsa) i) ? (VsIsa) i : best;

		UNIT_CHECK(vs_isa_resolve(vs_isa_name((VsIsa) i)) == want, "resolve(%s)", vs_isa_name((VsIsa) i));
	}
}

/* ---------------------------------------------------------------- main */

static void
RunKernelCases(VsIsa isa)
{
	static const struct
	{
		const char *name;
		void		(*fn) (void);
	}			cases[] = {
		{"l2sq", test_l2sq},
		{"dot", test_dot},
		{"l1", test_l1},
		{"cosine_parts", test_cosine_parts},
		{"cosine_extremes", test_cosine_extremes},
		{"l2sq_1x4", test_l2sq_1x4},
		{"dot_1x4", test_dot_1x4},
		{"exact", test_exact},
	};
	size_t		i;
	char		name[64];

	if (!vs_isa_supported(isa))
	{
		printf("# skip %s: not supported by this CPU\n", vs_isa_name(isa));
		return;
	}
	isa_under_test = isa;
	table_under_test = vs_kernel_table(isa);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		snprintf(name, sizeof(name), "%s/%s", cases[i].name, vs_isa_name(isa));
		unit_run(name, cases[i].fn);
	}
}

int
main(void)
{
	int			i;

	/* first: it needs a process in which init has not run yet */
	UNIT_RUN(test_dispatch_env);

	vs_kernels_init();
	printf("# cpu: best ISA %s; active %s\n", vs_isa_name(vs_isa_detect()), vs_kernels->name);
	UNIT_RUN(test_dispatch_names);
	UNIT_RUN(test_dispatch_tables);
	UNIT_RUN(test_dispatch_select);
	UNIT_RUN(test_dispatch_resolve);

	for (i = 0; i < VS_ISA_COUNT; i++)
		RunKernelCases((VsIsa) i);

	return unit_finish("test_kernels");
}
