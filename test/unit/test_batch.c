/*
 * test_batch.c — the 1xN and MxN forms and vs_nearest_l2, against the per-row kernels and
 * brute force.
 *
 * Tolerances (u = 2^-24, FLT_EPSILON = 2u; see test_kernels.c for the summation bound):
 *  - one kernel result is within B(dim, s) = (dim + 4) FLT_EPSILON s of the exact value, where
 *    s is the sum of |terms|; a 1x4 result and a 1x1 result of the same pair may each be off
 *    by B, so they are compared with 2B.
 *  - sgemm also sums dim products in float in some order: within B of the exact x.y.
 *  - the expansion |x|^2 + |y|^2 - 2 x.y adds up the errors of its three parts, and
 *    sum|x_i y_i| <= (|x|^2 + |y|^2) / 2, so with two more roundings it is within
 *    (2 dim + 16) FLT_EPSILON (|x|^2 + |y|^2) of the exact distance. This is the honest bound
 *    for close pairs: the expansion cancels, its error does not.
 *
 * vs_nearest_l2 may pick a different row than brute force only when the two distances are
 * closer than the expansion can tell apart, so a pick j instead of the true best b is accepted
 * when d(j) <= d(b) + E(j) + E(b), E being the expansion bound above. Exact ties are tested
 * with small integers, where every step is exact and the lowest index must win.
 */
#include "batch.h"
#include "distance.h"
#include "reference.h"
#include "unit.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_RANDOM_SEED 0xba7c4ba7c4ULL
#include "random.h"

static float *
RandomMatrix(size_t rows, size_t dim, double scale)
{
	float	   *m = malloc((rows * dim + 1) * sizeof(float));
	size_t		i;

	if (m == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (i = 0; i < rows * dim; i++)
		m[i] = (float) (((double) (NextRandom() >> 11) / (double) (1ULL << 53) * 2.0 - 1.0) * scale);
	return m;
}

/* Integers in [-3, 3]: every dot, norm and distance below stays an exact float. */
static float *
IntegerMatrix(size_t rows, size_t dim)
{
	float	   *m = RandomMatrix(rows, dim, 1.0);
	size_t		i;

	for (i = 0; i < rows * dim; i++)
		m[i] = (float) ((int) (NextRandom() % 7) - 3);
	return m;
}

static double
KernelBound(size_t dim, double abs_sum)
{
	return (double) (dim + 4) * FLT_EPSILON * abs_sum + FLT_MIN;
}

static double
ExpansionBound(size_t dim, double xx, double yy)
{
	return (double) (2 * dim + 16) * FLT_EPSILON * (xx + yy) + FLT_MIN;
}

static double
SqNorm(const float *x, size_t dim)
{
	double		s = 0.0;
	size_t		i;

	for (i = 0; i < dim; i++)
		s += (double) x[i] * x[i];
	return s;
}



/* ---------------------------------------------------------------- 1xN */

static const size_t one_n_counts[] = {0, 1, 3, 4, 5, 8, 13};
static const size_t one_n_dims[] = {1, 7, 16, 33, 128, 385};

/* A sentinel after out[n] catches writes past the end. */
#define SENTINEL (-12345.0f)

static void
Check1xN(size_t n, size_t dim)
{
	float	   *rows = RandomMatrix(n + 1, dim, 1.0);
	float	   *q = RandomMatrix(1, dim + 1, 1.0) + 1;	/* misaligned query */
	float	   *scattered = malloc(((n + 1) * (dim + 5)) * sizeof(float));
	const float **ptrs = malloc((n + 1) * sizeof(float *));
	float	   *l2 = malloc((n + 1) * sizeof(float));
	float	   *dot = malloc((n + 1) * sizeof(float));
	float	   *l2p = malloc((n + 1) * sizeof(float));
	float	   *dotp = malloc((n + 1) * sizeof(float));
	size_t		j;

	/*
	 * The pointer form gets copies of the rows at scattered, misaligned addresses; in the same
	 * order, so the same rows go through the 1x4 and 1x1 kernels and the bits must match.
	 */
	for (j = 0; j < n; j++)
	{
		memcpy(scattered + j * (dim + 5) + 1 + j % 3, rows + j * dim, dim * sizeof(float));
		ptrs[j] = scattered + j * (dim + 5) + 1 + j % 3;
	}
	l2[n] = dot[n] = l2p[n] = dotp[n] = SENTINEL;
	vs_l2sq_1xN(q, rows, n, dim, l2);
	vs_dot_1xN(q, rows, n, dim, dot);
	vs_l2sq_1xN_ptr(q, ptrs, n, dim, l2p);
	vs_dot_1xN_ptr(q, ptrs, n, dim, dotp);
	UNIT_CHECK(l2[n] == SENTINEL && dot[n] == SENTINEL && l2p[n] == SENTINEL && dotp[n] == SENTINEL,
			   "%s: wrote past out[n] (n %zu, dim %zu)", vs_kernels->name, n, dim);

	for (j = 0; j < n; j++)
	{
		const float *row = rows + j * dim;
		double		tol_l2 = 2 * KernelBound(dim, SquaredDiffSum(q, row, dim));
		double		tol_dot = 2 * KernelBound(dim, AbsDotSum(q, row, dim));
		float		one_l2 = vs_kernels->l2sq(q, row, dim);
		float		one_dot = vs_kernels->dot(q, row, dim);

		UNIT_CHECK(fabs(l2[j] - one_l2) <= tol_l2, "%s l2sq_1xN[%zu] %g vs %g (n %zu dim %zu)",
				   vs_kernels->name, j, l2[j], one_l2, n, dim);
		UNIT_CHECK(fabs(dot[j] - one_dot) <= tol_dot, "%s dot_1xN[%zu] %g vs %g (n %zu dim %zu)",
				   vs_kernels->name, j, dot[j], one_dot, n, dim);
		UNIT_CHECK(l2p[j] == l2[j], "%s l2sq_1xN_ptr[%zu] differs (n %zu dim %zu)",
				   vs_kernels->name, j, n, dim);
		UNIT_CHECK(dotp[j] == dot[j], "%s dot_1xN_ptr[%zu] differs (n %zu dim %zu)",
				   vs_kernels->name, j, n, dim);
	}
	free(rows);
	free(scattered);
	free(q - 1);
	free(ptrs);
	free(l2);
	free(dot);
	free(l2p);
	free(dotp);
}

static void
test_1xN(void)
{
	size_t		a,
				b;

	for (a = 0; a < sizeof(one_n_counts) / sizeof(one_n_counts[0]); a++)
		for (b = 0; b < sizeof(one_n_dims) / sizeof(one_n_dims[0]); b++)
			Check1xN(one_n_counts[a], one_n_dims[b]);
}

static void
test_sqnorms(void)
{
	static const size_t dims[] = {1, 9, 128, 785};
	size_t		d,
				i;

	for (d = 0; d < 4; d++)
	{
		size_t		dim = dims[d];
		float	   *x = RandomMatrix(37, dim, 10.0);
		float		out[37];

		vs_sqnorms(x, 37, dim, out);
		for (i = 0; i < 37; i++)
		{
			double		ref = SqNorm(x + i * dim, dim);

			UNIT_CHECK(fabs(out[i] - ref) <= KernelBound(dim, ref), "sqnorm[%zu] %g vs %g (dim %zu)",
					   i, out[i], ref, dim);
		}
		free(x);
	}
}

/* ---------------------------------------------------------------- MxN */

typedef struct Shape
{
	size_t		m,
				n,
				dim;
} Shape;

static const Shape mxn_shapes[] = {
	{1, 1, 1}, {1, 1, 128}, {1, 37, 7}, {37, 1, 7}, {5, 7, 33},
	{64, 100, 128}, {257, 130, 785}, {300, 3, 16}, {2, 513, 1}
};

static void
CheckMxN(Shape s, double scale)
{
	float	   *x = RandomMatrix(s.m, s.dim, scale);
	float	   *y = RandomMatrix(s.n, s.dim, scale);
	float	   *dots = malloc(s.m * s.n * sizeof(float));
	float	   *l2 = malloc(s.m * s.n * sizeof(float));
	float	   *l2_given = malloc(s.m * s.n * sizeof(float));
	float	   *xn = malloc(s.m * sizeof(float));
	float	   *yn = malloc(s.n * sizeof(float));
	size_t		i,
				j;

	vs_dot_MxN(x, s.m, y, s.n, s.dim, dots);
	vs_l2sq_MxN(x, s.m, y, s.n, s.dim, NULL, NULL, l2);
	vs_sqnorms(x, s.m, s.dim, xn);
	vs_sqnorms(y, s.n, s.dim, yn);
	vs_l2sq_MxN(x, s.m, y, s.n, s.dim, xn, yn, l2_given);

	for (i = 0; i < s.m; i++)
	{
		const float *xi = x + i * s.dim;
		double		xx = SqNorm(xi, s.dim);

		for (j = 0; j < s.n; j++)
		{
			const float *yj = y + j * s.dim;
			double		dot_ref = vs_dot_scalar(xi, yj, s.dim);
			double		l2_ref = vs_l2sq_scalar(xi, yj, s.dim);
			double		dot_tol = KernelBound(s.dim, AbsDotSum(xi, yj, s.dim));
			double		l2_tol = ExpansionBound(s.dim, xx, SqNorm(yj, s.dim));
			float		got_dot = dots[i * s.n + j];
			float		got_l2 = l2[i * s.n + j];

			UNIT_CHECK(fabs(got_dot - dot_ref) <= dot_tol, "dot_MxN[%zu,%zu] %g vs %g (m %zu n %zu dim %zu)",
					   i, j, got_dot, dot_ref, s.m, s.n, s.dim);
			UNIT_CHECK(fabs(got_l2 - l2_ref) <= l2_tol && got_l2 >= 0.0f,
					   "l2sq_MxN[%zu,%zu] %g vs %g, tol %g (m %zu n %zu dim %zu)",
					   i, j, got_l2, l2_ref, l2_tol, s.m, s.n, s.dim);
			UNIT_CHECK(l2_given[i * s.n + j] == got_l2, "l2sq_MxN with given norms differs at [%zu,%zu]", i, j);
		}
	}
	free(x);
	free(y);
	free(dots);
	free(l2);
	free(l2_given);
	free(xn);
	free(yn);
}

static void
test_MxN(void)
{
	size_t		k;

	for (k = 0; k < sizeof(mxn_shapes) / sizeof(mxn_shapes[0]); k++)
	{
		CheckMxN(mxn_shapes[k], 1.0);
		CheckMxN(mxn_shapes[k], 100.0);
	}
}

static void
test_MxN_edges(void)
{
	float		x[6] = {1, 2, 3, 4, 5, 6};
	float		y[6] = {1, 2, 3, 0, 0, 0};
	float		out[4] = {SENTINEL, SENTINEL, SENTINEL, SENTINEL};

	/* m or n of 0 writes nothing */
	vs_dot_MxN(x, 0, y, 2, 3, out);
	vs_l2sq_MxN(x, 2, y, 0, 3, NULL, NULL, out);
	UNIT_CHECK(out[0] == SENTINEL, "empty MxN wrote output");
	/* dim 0: every dot and distance is 0 */
	vs_dot_MxN(x, 2, y, 2, 0, out);
	UNIT_CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0, "dim 0 dot_MxN not all 0");
	out[0] = out[3] = SENTINEL;
	vs_l2sq_MxN(x, 2, y, 2, 0, NULL, NULL, out);
	UNIT_CHECK(out[0] == 0 && out[3] == 0, "dim 0 l2sq_MxN not all 0");
	/* identical rows: the expansion cancels to about 0; it must not come out negative */
	vs_l2sq_MxN(x, 1, y, 1, 3, NULL, NULL, out);
	UNIT_CHECK(out[0] == 0.0f, "|x - x|^2 = %g", out[0]);
	vs_l2sq_MxN(x, 2, y, 2, 3, NULL, NULL, out);
	UNIT_CHECK(out[0] == 0.0f && out[1] == 14.0f && out[2] == 27.0f && out[3] == 77.0f,
			   "small l2sq_MxN = %g %g %g %g", out[0], out[1], out[2], out[3]);
}

/* Random rows against themselves: without the clamp, about half would come out negative. */
static void
test_MxN_self_distance(void)
{
	size_t		m = 200,
				dim = 33,
				i;
	float	   *x = RandomMatrix(m, dim, 3.0);
	float	   *out = malloc(m * m * sizeof(float));

	vs_l2sq_MxN(x, m, x, m, dim, NULL, NULL, out);
	for (i = 0; i < m; i++)
	{
		double		xx = SqNorm(x + i * dim, dim);

		UNIT_CHECK(out[i * m + i] >= 0.0f && out[i * m + i] <= ExpansionBound(dim, xx, xx),
				   "|x_%zu - x_%zu|^2 = %g", i, i, out[i * m + i]);
	}
	free(x);
	free(out);
}

/* ---------------------------------------------------------------- nearest */

/*
 * Brute force with the double-accumulating reference; a pick is right when it is the lowest
 * index of the minimum, or (exact == false) when it is within the expansion's error of it.
 */
static int
CheckNearestAgainstBruteForce(const float *x, size_t m, const float *y, size_t n, size_t dim,
							  const int *nearest, const float *nearest_l2sq, bool exact)
{
	double	   *yy = malloc(n * sizeof(double));
	size_t		i,
				j;
	int			near_ties = 0;

	for (j = 0; j < n; j++)
		yy[j] = SqNorm(y + j * dim, dim);
	for (i = 0; i < m; i++)
	{
		const float *xi = x + i * dim;
		double		xx = SqNorm(xi, dim);
		size_t		best = 0;
		double		best_d = INFINITY;
		int			got = nearest[i];
		double		got_d;

		for (j = 0; j < n; j++)
		{
			double		d = SquaredDiffSum(xi, y + j * dim, dim);

			if (d < best_d)
			{
				best_d = d;
				best = j;
			}
		}
		if (got < 0 || (size_t) got >= n)
		{
			UNIT_CHECK(false, "row %zu: nearest %d out of range (n %zu)", i, got, n);
			continue;
		}
		got_d = SquaredDiffSum(xi, y + (size_t) got * dim, dim);
		if (exact)
			UNIT_CHECK((size_t) got == best, "row %zu: nearest %d, brute force %zu (exact data)", i, got, best);
		else if ((size_t) got != best)
		{
			double		slack = ExpansionBound(dim, xx, yy[got]) + ExpansionBound(dim, xx, yy[best]);

			UNIT_CHECK(got_d <= best_d + slack,
					   "row %zu: nearest %d at %.9g, brute force %zu at %.9g, beyond tolerance %.3g",
					   i, got, got_d, best, best_d, slack);
			near_ties++;
		}
		if (nearest_l2sq != NULL)
			UNIT_CHECK(nearest_l2sq[i] == vs_kernels->l2sq(xi, y + (size_t) got * dim, dim),
					   "row %zu: reported distance %g is not the kernel's", i, nearest_l2sq[i]);
	}
	free(yy);
	return near_ties;
}

static const Shape nearest_shapes[] = {
	{1, 1, 8}, {1, 1000, 16}, {1000, 1, 16}, {77, 5, 785},
	{300, 1024, 128},			/* 256-row blocks: one full, one of 44 */
	{1000, 3000, 8},			/* 87-row blocks: 11 full and one of 43 */
};

static void
test_nearest_random(void)
{
	size_t		k;
	int			near_ties = 0;
	size_t		rows = 0;

	for (k = 0; k < sizeof(nearest_shapes) / sizeof(nearest_shapes[0]); k++)
	{
		Shape		s = nearest_shapes[k];
		float	   *x = RandomMatrix(s.m, s.dim, 1.0);
		float	   *y = RandomMatrix(s.n, s.dim, 1.0);
		float	   *yn = malloc(s.n * sizeof(float));
		int		   *nearest = malloc(s.m * sizeof(int));
		int		   *nearest_given = malloc(s.m * sizeof(int));
		float	   *dist = malloc(s.m * sizeof(float));

		vs_nearest_l2(x, s.m, y, s.n, s.dim, NULL, nearest, dist);
		near_ties += CheckNearestAgainstBruteForce(x, s.m, y, s.n, s.dim, nearest, dist, false);
		rows += s.m;

		/* precomputed norms and no distance output: the same choices */
		vs_sqnorms(y, s.n, s.dim, yn);
		vs_nearest_l2(x, s.m, y, s.n, s.dim, yn, nearest_given, NULL);
		UNIT_CHECK(memcmp(nearest, nearest_given, s.m * sizeof(int)) == 0,
				   "given y norms changed the choice (m %zu n %zu dim %zu)", s.m, s.n, s.dim);
		free(x);
		free(y);
		free(yn);
		free(nearest);
		free(nearest_given);
		free(dist);
	}
	printf("# nearest: %d of %zu rows chose a near-tie other than brute force's\n", near_ties, rows);
}

/* y with exact duplicates of earlier rows, so exact ties are certain, not just likely. */
static float *
IntegerCentroidsWithDuplicates(size_t n, size_t dim)
{
	float	   *y = IntegerMatrix(n, dim);
	size_t		j;

	for (j = 3; j < n; j += 3)
		memcpy(y + j * dim, y + (j / 3 - 1) * dim, dim * sizeof(float));
	return y;
}

static void
test_nearest_ties(void)
{
	static const Shape shapes[] = {{500, 40, 16}, {600, 700, 8}, {3, 9, 1}};
	size_t		k;

	for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
	{
		Shape		s = shapes[k];
		float	   *x = IntegerMatrix(s.m, s.dim);
		float	   *y = IntegerCentroidsWithDuplicates(s.n, s.dim);
		int		   *nearest = malloc(s.m * sizeof(int));
		float	   *dist = malloc(s.m * sizeof(float));

		vs_nearest_l2(x, s.m, y, s.n, s.dim, NULL, nearest, dist);
		CheckNearestAgainstBruteForce(x, s.m, y, s.n, s.dim, nearest, dist, true);
		free(x);
		free(y);
		free(nearest);
		free(dist);
	}
}

static void
test_nearest_edges(void)
{
	float		x[4] = {1, 2, 3, 4};
	float		y[2] = {0, 0};
	int			nearest[2] = {7, 7};
	float		dist[2] = {0, 0};

	vs_nearest_l2(x, 2, y, 0, 2, NULL, nearest, dist);
	UNIT_CHECK(nearest[0] == -1 && nearest[1] == -1 && isinf(dist[0]) && dist[0] > 0,
			   "n = 0 must give -1 and +inf");
	nearest[0] = 7;
	vs_nearest_l2(x, 0, y, 1, 2, NULL, nearest, dist);
	UNIT_CHECK(nearest[0] == 7, "m = 0 wrote output");
	vs_nearest_l2(x, 2, y, 1, 2, NULL, nearest, dist);
	UNIT_CHECK(nearest[0] == 0 && nearest[1] == 0 && dist[0] == 5.0f && dist[1] == 25.0f,
			   "n = 1: %d %d %g %g", nearest[0], nearest[1], dist[0], dist[1]);
	vs_nearest_l2(x, 2, y, 2, 0, NULL, nearest, dist);
	UNIT_CHECK(nearest[0] == 0 && dist[0] == 0.0f, "dim 0: %d %g", nearest[0], dist[0]);
}

static void
test_nearest_one_blas_thread(void)
{
	Shape		s = {700, 1024, 32};
	float	   *x = RandomMatrix(s.m, s.dim, 1.0);
	float	   *y = RandomMatrix(s.n, s.dim, 1.0);
	int		   *a = malloc(s.m * sizeof(int));
	int		   *b = malloc(s.m * sizeof(int));

	vs_nearest_l2(x, s.m, y, s.n, s.dim, NULL, a, NULL);
	vs_blas_set_threads(1);
	vs_nearest_l2(x, s.m, y, s.n, s.dim, NULL, b, NULL);
	vs_blas_set_threads(0);		/* taken as 1 */
	CheckNearestAgainstBruteForce(x, s.m, y, s.n, s.dim, b, NULL, false);
	/* OpenBLAS may split k differently per thread count; choices may differ only at near-ties */
	CheckNearestAgainstBruteForce(x, s.m, y, s.n, s.dim, a, NULL, false);
	free(x);
	free(y);
	free(a);
	free(b);
}

/* ---------------------------------------------------------------- allocation failure */

/*
 * The fallback paths run when malloc fails. To get there without hooks, a child process caps
 * its address space just above what it already uses, so no new mapping or heap growth can
 * succeed, and then uses up whatever the heap still has free (the parent freed plenty), so
 * every later malloc of 4 KB or more fails (the ones under test are 20 KB and up). Returns false when this system will not
 * let us (then the case is skipped, not passed).
 */
static bool
StarveMalloc(void)
{
	static const size_t chunk_sizes[] = {1 << 20, 64 << 10, 4 << 10, 512};
	struct rlimit lim;
	long		pages;
	FILE	   *f = fopen("/proc/self/statm", "r");
	void	   *probe;
	size_t		k;

	if (f == NULL)
		return false;
	if (fscanf(f, "%ld", &pages) != 1)
	{
		fclose(f);
		return false;
	}
	fclose(f);
	lim.rlim_cur = lim.rlim_max = (rlim_t) pages * (rlim_t) sysconf(_SC_PAGESIZE) + (256 << 10);
	if (setrlimit(RLIMIT_AS, &lim) != 0)
		return false;
	for (k = 0; k < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); k++)
		while (malloc(chunk_sizes[k]) != NULL)
			;					/* leaked on purpose: this process exits soon */
	probe = malloc(8 << 10);
	if (probe != NULL)
	{
		free(probe);
		return false;
	}
	return true;
}

/* Sanitizer runtimes report a failed malloc themselves, and can hang doing so without memory. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

static bool
CanStarveMalloc(void)
{
	pid_t		pid;
	int			status;

#ifdef UNDER_SANITIZER
	return false;
#endif
	fflush(stdout);
	pid = fork();
	if (pid == 0)
	{
		alarm(30);				/* a hung child must not hang the suite */
		_exit(StarveMalloc() ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
test_fallback_without_memory(void)
{
	/* exact data, so the fallback's answers can be compared bit for bit */
	Shape		s = {200, 5000, 4};
	float	   *x = IntegerMatrix(s.m, s.dim);
	float	   *y = IntegerCentroidsWithDuplicates(s.n, s.dim);
	int		   *want = malloc(s.m * sizeof(int));
	float	   *want_d = malloc(s.m * sizeof(float));
	float	   *want_l2 = malloc(s.n * sizeof(float));
	int		   *got = malloc(s.m * sizeof(int));
	float	   *got_d = malloc(s.m * sizeof(float));
	float	   *got_l2 = malloc(s.n * sizeof(float));
	pid_t		pid;
	int			status = -1;

	vs_nearest_l2(x, s.m, y, s.n, s.dim, NULL, want, want_d);
	/* 1 x 5000 with no norms given: the norms would need a 20 KB + block allocation */
	vs_l2sq_MxN(x, 1, y, s.n, s.dim, NULL, NULL, want_l2);

	fflush(stdout);
	pid = fork();
	if (pid == 0)
	{
		alarm(60);
		if (!StarveMalloc())
			_exit(3);
		vs_nearest_l2(x, s.m, y, s.n, s.dim, NULL, got, got_d);
		if (memcmp(got, want, s.m * sizeof(int)) != 0 || memcmp(got_d, want_d, s.m * sizeof(float)) != 0)
			_exit(4);
		vs_l2sq_MxN(x, 1, y, s.n, s.dim, NULL, NULL, got_l2);
		if (memcmp(got_l2, want_l2, s.n * sizeof(float)) != 0)
			_exit(5);
		_exit(0);
	}
	UNIT_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
	UNIT_CHECK(WIFEXITED(status), "child died (signal %d): the fallback crashed",
			   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	UNIT_CHECK(!WIFEXITED(status) || WEXITSTATUS(status) == 0,
			   "child exit %d (3 no starvation, 4 nearest differs, 5 l2sq_MxN differs)",
			   WEXITSTATUS(status));
	free(x);
	free(y);
	free(want);
	free(want_d);
	free(want_l2);
	free(got);
	free(got_d);
	free(got_l2);
}

/* ---------------------------------------------------------------- main */

int
main(void)
{
	int			i;
	char		name[64];

	vs_kernels_init();
	for (i = 0; i < VS_ISA_COUNT; i++)
	{
		if (!vs_kernels_select((VsIsa) i))
		{
			printf("# skip %s: not supported by this CPU\n", vs_isa_name((VsIsa) i));
			continue;
		}
		snprintf(name, sizeof(name), "test_1xN/%s", vs_isa_name((VsIsa) i));
		unit_run(name, test_1xN);
		snprintf(name, sizeof(name), "test_nearest_ties/%s", vs_isa_name((VsIsa) i));
		unit_run(name, test_nearest_ties);
	}
	vs_kernels_select(vs_isa_detect());
	printf("# active kernels: %s\n", vs_kernels->name);

	UNIT_RUN(test_sqnorms);
	UNIT_RUN(test_MxN);
	UNIT_RUN(test_MxN_edges);
	UNIT_RUN(test_MxN_self_distance);
	UNIT_RUN(test_nearest_random);
	UNIT_RUN(test_nearest_edges);
	UNIT_RUN(test_nearest_one_blas_thread);
	if (CanStarveMalloc())
		UNIT_RUN(test_fallback_without_memory);
	else
		printf("# skip test_fallback_without_memory: cannot make malloc fail here (RLIMIT_AS, sanitizer)\n");

	return unit_finish("test_batch");
}
