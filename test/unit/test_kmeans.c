/*
 * test_kmeans.c — k-means training: Lloyd's invariants, the edge cases of kmeans.h, empty
 * cluster repair, determinism, and that the workspace is all the memory it touches.
 *
 * The data are Gaussian clusters whose spread is about the distance between their centres,
 * so that they overlap and Lloyd has real work to do over many iterations. Inertia can only
 * go down from one assignment to the next (the mean minimises a cluster's squared
 * distances; the assignment then takes the nearest centroid), except by rounding: the
 * assignment compares distances through the sgemm expansion, which may pick a centroid a
 * rounding error farther away. So a rise of a small relative amount is allowed.
 */
#include "batch.h"
#include "distance.h"
#include "kmeans.h"
#include "unit.h"

#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define INERTIA_SLACK	1e-5	/* relative rise allowed between iterations */
#define MEAN_TOLERANCE	1e-5	/* a centroid against its rows' mean, relative */
#define MAX_TRACE		1024

#define UNIT_RANDOM_SEED 0x6b6d65616e73ULL
#include "random.h"

static void
NormalizeRow(float *row, size_t dim)
{
	double		sq = 0.0;
	size_t		j;

	for (j = 0; j < dim; j++)
		sq += (double) row[j] * row[j];
	for (j = 0; j < dim; j++)
		row[j] = (float) (row[j] / sqrt(sq));
}

/* n rows around `clusters` centres in [-1, 1]^dim, spread per coordinate; unit rows if asked */
static float *
OverlappingClusters(size_t n, size_t dim, size_t clusters, double spread, bool unit)
{
	float	   *centres = UnitAlloc(clusters * dim * sizeof(float));
	float	   *x = UnitAlloc(n * dim * sizeof(float));
	size_t		i,
				j;

	for (i = 0; i < clusters * dim; i++)
		centres[i] = (float) (UnitUniform() * 2.0 - 1.0);
	for (i = 0; i < n; i++)
	{
		const float *centre = centres + (NextRandom() % clusters) * dim;

		for (j = 0; j < dim; j++)
			x[i * dim + j] = (float) (centre[j] + spread * UnitGaussian());
		if (unit)
			NormalizeRow(x + i * dim, dim);
	}
	free(centres);
	return x;
}

/* Exact inertia: in double, every row against every centroid. */
static double
Inertia(const float *x, size_t n, const float *c, size_t k, size_t dim)
{
	double		total = 0.0;
	size_t		i,
				a,
				j;

	for (i = 0; i < n; i++)
	{
		double		best = INFINITY;

		for (a = 0; a < k; a++)
		{
			double		d = 0.0;

			for (j = 0; j < dim; j++)
			{
				double		t = (double) x[i * dim + j] - c[a * dim + j];

				d += t * t;
			}
			best = d < best ? d : best;
		}
		total += best;
	}
	return total;
}

static bool
AllFinite(const float *v, size_t count)
{
	size_t		i;

	for (i = 0; i < count; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- running with a trace */

typedef struct Trace
{
	int			seeding_calls;
	int			last_seed_step;
	int			iteration_calls;
	int			steps[MAX_TRACE];
	double		inertia[MAX_TRACE];
	bool		out_of_order;	/* a seeding call after an iteration, or steps not rising */
	int			jump_at_seed;	/* longjmp out at the first seeding call at or past this (0: never) */
	int			jump_at_iteration;	/* likewise for iterations */
	int			assigning_calls;
	bool		jump_at_assigning;	/* longjmp out at the first assigning call */
	jmp_buf    *jump;
} Trace;

static void
Record(void *arg, VsKmeansPhase phase, int step, double inertia)
{
	Trace	   *t = (Trace *) arg;

	if (phase == VS_KMEANS_SEEDING)
	{
		if (t->iteration_calls > 0 || step <= t->last_seed_step || inertia != 0.0)
			t->out_of_order = true;
		t->seeding_calls++;
		t->last_seed_step = step;
		if (t->jump_at_seed > 0 && step >= t->jump_at_seed)
			longjmp(*t->jump, 1);
		return;
	}
	if (phase == VS_KMEANS_ASSIGNING)
	{
		/* within the assignment of the iteration reported next */
		if (step != t->iteration_calls + 1 || inertia != 0.0)
			t->out_of_order = true;
		t->assigning_calls++;
		if (t->jump_at_assigning)
			longjmp(*t->jump, 1);
		return;
	}
	if (t->iteration_calls < MAX_TRACE)
	{
		t->steps[t->iteration_calls] = step;
		t->inertia[t->iteration_calls] = inertia;
	}
	if (step != t->iteration_calls + 1)
		t->out_of_order = true;
	t->iteration_calls++;
	if (t->jump_at_iteration > 0 && step >= t->jump_at_iteration)
		longjmp(*t->jump, 1);
}

static VsKmeansParams
Params(size_t k, size_t dim, VsKmeansKind kind, int max_iterations, double tolerance, uint64_t seed)
{
	VsKmeansParams p;

	memset(&p, 0, sizeof(p));
	p.k = k;
	p.dim = dim;
	p.kind = kind;
	p.max_iterations = max_iterations;
	p.tolerance = tolerance;
	p.seed = seed;
	return p;
}

#define CANARY_BYTES 256
#define CANARY 0xa5

static int
CanaryDamage(const unsigned char *canary)
{
	int			bad = 0;
	int			i;

	for (i = 0; i < CANARY_BYTES; i++)
		bad += canary[i] != CANARY;
	return bad;
}

/*
 * Trains with a fresh workspace of exactly the size asked for (followed by a canary);
 * returns malloc'd centroids.
 */
static float *
Train(const float *x, size_t n, VsKmeansParams p, Trace *trace, VsKmeansStats *stats)
{
	size_t		bytes = vs_kmeans_workspace_size(n, &p);
	unsigned char *ws = UnitAlloc(bytes + CANARY_BYTES);
	float	   *c = UnitAlloc(p.k * p.dim * sizeof(float));

	memset(ws, 0xff, bytes);	/* NaN everywhere: nothing may be read before it is written */
	memset(ws + bytes, CANARY, CANARY_BYTES);
	if (trace != NULL)
	{
		p.progress = Record;
		p.progress_arg = trace;
	}
	vs_kmeans(x, n, &p, ws, c, stats);
	UNIT_CHECK(CanaryDamage(ws + bytes) == 0, "n %zu k %zu: wrote past the workspace", n, p.k);
	free(ws);
	return c;
}

/* The nearest centroid of every row, as vs_kmeans's own assignment finds it. */
static int *
Assignment(const float *x, size_t n, const float *c, size_t k, size_t dim, size_t *counts)
{
	int		   *assign = UnitAlloc(n * sizeof(int));
	size_t		i;

	vs_nearest_l2(x, n, c, k, dim, NULL, assign, NULL);
	if (counts != NULL)
	{
		memset(counts, 0, k * sizeof(size_t));
		for (i = 0; i < n; i++)
			counts[assign[i]]++;
	}
	return assign;
}

/* ---------------------------------------------------------------- Lloyd's invariants */

static void
CheckInertiaFalls(VsKmeansKind kind)
{
	size_t		n = 3000,
				dim = 16,
				k = 25;
	float	   *x = OverlappingClusters(n, dim, 12, 0.45, kind == VS_KMEANS_SPHERICAL);
	Trace		trace;
	VsKmeansStats stats;
	float	   *c;
	int			i;

	memset(&trace, 0, sizeof(trace));
	c = Train(x, n, Params(k, dim, kind, 100, 0.0, 42), &trace, &stats);

	UNIT_CHECK(!trace.out_of_order, "progress calls out of order");
	UNIT_CHECK(trace.iteration_calls == stats.iterations, "%d iteration calls for %d iterations",
			   trace.iteration_calls, stats.iterations);
	UNIT_CHECK(stats.iterations >= 5, "only %d iterations: the data should keep Lloyd busy longer",
			   stats.iterations);
	UNIT_CHECK(stats.iterations > 0 && trace.inertia[stats.iterations - 1] == stats.inertia,
			   "stats inertia %g is not the last one reported", stats.inertia);
	for (i = 1; i < trace.iteration_calls && i < MAX_TRACE; i++)
		UNIT_CHECK(trace.inertia[i] <= trace.inertia[i - 1] * (1.0 + INERTIA_SLACK),
				   "inertia rose at iteration %d: %.9g after %.9g", i + 1,
				   trace.inertia[i], trace.inertia[i - 1]);
	/* the centroids returned are at least as good as those the last assignment used */
	UNIT_CHECK(Inertia(x, n, c, k, dim) <= stats.inertia * (1.0 + INERTIA_SLACK),
			   "final centroids' inertia %.9g above the last reported %.9g",
			   Inertia(x, n, c, k, dim), stats.inertia);
	free(x);
	free(c);
}

static void
test_inertia_falls_l2(void)
{
	CheckInertiaFalls(VS_KMEANS_L2);
}

static void
test_inertia_falls_spherical(void)
{
	CheckInertiaFalls(VS_KMEANS_SPHERICAL);
}

/* Iterations beat the seeds they start from, and both report the inertia they have. */
static void
test_better_than_seeds(void)
{
	size_t		n = 2500,
				dim = 12,
				k = 30;
	float	   *x = OverlappingClusters(n, dim, 15, 0.5, false);
	Trace		trace;
	VsKmeansStats seeds_stats,
				stats;
	float	   *seeds = Train(x, n, Params(k, dim, VS_KMEANS_L2, 0, 0.0, 7), NULL, &seeds_stats);
	float	   *c;
	double		seeds_inertia = Inertia(x, n, seeds, k, dim);
	double		inertia;

	memset(&trace, 0, sizeof(trace));
	c = Train(x, n, Params(k, dim, VS_KMEANS_L2, 50, 1e-4, 7), &trace, &stats);
	inertia = Inertia(x, n, c, k, dim);

	UNIT_CHECK(seeds_stats.iterations == 0, "seeds only ran %d iterations", seeds_stats.iterations);
	UNIT_CHECK(fabs(seeds_stats.inertia - seeds_inertia) <= 1e-5 * seeds_inertia,
			   "seeds-only inertia reported %.9g, exact %.9g", seeds_stats.inertia, seeds_inertia);
	/* same seed, same seeds: the first assignment sees exactly the seeds-only centroids */
	UNIT_CHECK(trace.iteration_calls > 0 && trace.inertia[0] == seeds_stats.inertia,
			   "first iteration's inertia %.9g, seeds-only %.9g", trace.inertia[0], seeds_stats.inertia);
	UNIT_CHECK(inertia < 0.95 * seeds_inertia, "trained inertia %.9g not below seeds' %.9g",
			   inertia, seeds_inertia);
	UNIT_CHECK(stats.iterations < 50, "tolerance 1e-4 never stopped it (%d iterations)", stats.iterations);
	free(x);
	free(seeds);
	free(c);
}

/*
 * Run to convergence (tolerance 0: until an assignment changes nothing), then every centroid
 * is the mean of the rows nearest to it (normalised, for spherical k-means).
 */
static void
CheckCentroidsAreMeans(VsKmeansKind kind)
{
	size_t		n = 2000,
				dim = 10,
				k = 16;
	float	   *x = OverlappingClusters(n, dim, 8, 0.4, kind == VS_KMEANS_SPHERICAL);
	VsKmeansStats stats;
	float	   *c = Train(x, n, Params(k, dim, kind, 300, 0.0, 3), NULL, &stats);
	size_t	   *counts = UnitAlloc(k * sizeof(size_t));
	int		   *assign = Assignment(x, n, c, k, dim, counts);
	double	   *mean = UnitAlloc(k * dim * sizeof(double));
	size_t		i,
				a,
				j;

	UNIT_CHECK(stats.iterations < 300, "did not converge in 300 iterations");
	memset(mean, 0, k * dim * sizeof(double));
	for (i = 0; i < n; i++)
		for (j = 0; j < dim; j++)
			mean[assign[i] * dim + j] += x[i * dim + j];
	for (a = 0; a < k; a++)
	{
		double		norm = 0.0;

		UNIT_CHECK(counts[a] > 0, "cluster %zu empty after convergence", a);
		if (counts[a] == 0)
			continue;
		for (j = 0; j < dim; j++)
		{
			mean[a * dim + j] /= (double) counts[a];
			norm += mean[a * dim + j] * mean[a * dim + j];
		}
		for (j = 0; j < dim; j++)
		{
			double		want = mean[a * dim + j];

			if (kind == VS_KMEANS_SPHERICAL)
				want /= sqrt(norm);
			UNIT_CHECK(fabs(c[a * dim + j] - want) <= MEAN_TOLERANCE * (fabs(want) + 1e-3),
					   "centroid %zu[%zu] = %.9g, mean of its %zu rows %.9g", a, j,
					   c[a * dim + j], counts[a], want);
		}
	}
	free(x);
	free(c);
	free(counts);
	free(assign);
	free(mean);
}

static void
test_centroids_are_means_l2(void)
{
	CheckCentroidsAreMeans(VS_KMEANS_L2);
}

static void
test_centroids_are_means_spherical(void)
{
	CheckCentroidsAreMeans(VS_KMEANS_SPHERICAL);
}

static double
Norm(const float *v, size_t dim)
{
	double		s = 0.0;
	size_t		j;

	for (j = 0; j < dim; j++)
		s += (double) v[j] * v[j];
	return sqrt(s);
}

static void
test_spherical_unit_length(void)
{
	static const int iterations[] = {0, 1, 3, 40};
	size_t		n = 1500,
				dim = 24,
				k = 40;
	float	   *x = OverlappingClusters(n, dim, 10, 0.6, true);
	size_t		t,
				a;

	for (t = 0; t < sizeof(iterations) / sizeof(iterations[0]); t++)
	{
		VsKmeansStats stats;
		float	   *c = Train(x, n, Params(k, dim, VS_KMEANS_SPHERICAL, iterations[t], 1e-6, 11),
							  NULL, &stats);

		for (a = 0; a < k; a++)
			UNIT_CHECK(fabs(Norm(c + a * dim, dim) - 1.0) <= 1e-5, "%d iterations: |centroid %zu| = %.9g",
					   iterations[t], a, Norm(c + a * dim, dim));
		free(c);
	}
	free(x);
}

/* Members that cancel out (a mean of zero) still leave a unit centroid: one of them. */
static void
test_spherical_zero_mean(void)
{
	static const float x[] = {
		1, 0, 0,
		-1, 0, 0,
		0, 1, 0,
		0, -1, 0,
	};
	VsKmeansStats stats;
	float	   *c = Train(x, 4, Params(1, 3, VS_KMEANS_SPHERICAL, 5, 0.0, 1), NULL, &stats);
	bool		is_row = false;
	size_t		i;

	for (i = 0; i < 4; i++)
		is_row |= memcmp(c, x + i * 3, 3 * sizeof(float)) == 0;
	UNIT_CHECK(stats.iterations >= 1, "no iteration ran");
	UNIT_CHECK(is_row, "centroid (%g, %g, %g) is not one of the rows", c[0], c[1], c[2]);
	free(c);
}

/* ---------------------------------------------------------------- empty clusters */

/*
 * 40,000 rows, all but 6 of them copies of two points, and k = 8: exactly as many distinct
 * points as clusters. The seeds come from a sample of 4,096 rows, which holds each rare row
 * with probability 0.1, so it nearly always has fewer than 8 distinct points and some seeds
 * repeat. The repeats start empty; the repair must split clusters until each distinct
 * point has its own centroid (inertia 0), never spending a split on a bulk cluster of
 * identical rows.
 */
static void
test_empty_repair(void)
{
	size_t		n = 40000,
				dim = 4,
				k = 8;
	float	   *x = UnitAlloc(n * dim * sizeof(float));
	size_t		counts[8];
	VsKmeansStats stats;
	float	   *c;
	int		   *assign;
	size_t		i,
				j;

	for (i = 0; i < n; i++)
		for (j = 0; j < dim; j++)
			x[i * dim + j] = (float) (i % 2 == 0 ? 1.0 : -1.0) * (j + 1);
	for (i = 0; i < 6; i++)
	{
		/* rare rows scattered through x, a little off the bulk points and each other */
		float	   *row = x + (1237 + i * 6007) * dim;

		for (j = 0; j < dim; j++)
			row[j] += 0.25f * (float) (i + 1) * (j == i % dim ? 1.0f : -0.5f);
	}

	c = Train(x, n, Params(k, dim, VS_KMEANS_L2, 50, 0.0, 5), NULL, &stats);
	assign = Assignment(x, n, c, k, dim, counts);

	UNIT_CHECK(stats.empty_repaired > 0, "no empty cluster was repaired: the test lost its point");
	for (i = 0; i < k; i++)
		UNIT_CHECK(counts[i] > 0, "cluster %zu empty at the end", i);
	UNIT_CHECK(stats.inertia == 0.0 && Inertia(x, n, c, k, dim) == 0.0,
			   "inertia %g (exact %g): some distinct point has no centroid of its own",
			   stats.inertia, Inertia(x, n, c, k, dim));
	UNIT_CHECK(AllFinite(c, k * dim), "centroids not finite");
	free(x);
	free(c);
	free(assign);
}

/* Fewer distinct points than k: nothing can fill the extra clusters, and nothing breaks. */
static void
test_too_few_distinct(void)
{
	size_t		n = 300,
				dim = 5,
				k = 6;
	float	   *x = UnitAlloc(n * dim * sizeof(float));
	size_t		counts[6];
	VsKmeansStats stats;
	float	   *c;
	int		   *assign;
	size_t		i,
				j,
				used = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < dim; j++)
			x[i * dim + j] = (float) ((i % 3) * 2 + j);

	c = Train(x, n, Params(k, dim, VS_KMEANS_L2, 30, 0.0, 9), NULL, &stats);
	assign = Assignment(x, n, c, k, dim, counts);
	for (i = 0; i < k; i++)
		used += counts[i] > 0;
	UNIT_CHECK(used == 3, "%zu clusters used, want the 3 distinct points", used);
	UNIT_CHECK(stats.inertia == 0.0, "inertia %g, want 0", stats.inertia);
	UNIT_CHECK(stats.iterations <= 3, "%d iterations on data that cannot improve", stats.iterations);
	UNIT_CHECK(AllFinite(c, k * dim), "centroids not finite");
	free(x);
	free(c);
	free(assign);
}

/* ---------------------------------------------------------------- n <= k, n == 0 */

static void
test_few_rows(void)
{
	size_t		dim = 3,
				k = 5;
	float		x[4 * 3];
	float		c[5 * 3];
	void	   *ws;
	VsKmeansParams p = Params(k, dim, VS_KMEANS_L2, 10, 0.0, 1);
	VsKmeansStats stats;
	size_t		n,
				a;

	for (a = 0; a < 12; a++)
		x[a] = (float) a + 0.5f;

	for (n = 0; n <= 4; n++)
	{
		float		want[5 * 3];

		for (a = 0; a < k; a++)
		{
			if (n == 0)
				memset(want + a * dim, 0, dim * sizeof(float));
			else
				memcpy(want + a * dim, x + (a % n) * dim, dim * sizeof(float));
		}
		ws = UnitAlloc(vs_kmeans_workspace_size(n, &p));
		for (a = 0; a < k * dim; a++)
			c[a] = 7.0f;
		memset(&stats, 0xff, sizeof(stats));
		vs_kmeans(x, n, &p, ws, c, &stats);
		UNIT_CHECK(memcmp(c, want, sizeof(c)) == 0, "n %zu: centroids are not the rows repeated", n);
		UNIT_CHECK(stats.iterations == 0 && stats.inertia == 0.0 && stats.empty_repaired == 0,
				   "n %zu: stats %d %g %zu", n, stats.iterations, stats.inertia, stats.empty_repaired);
		free(ws);
	}

	/* n == k */
	{
		float		y[5 * 3];

		for (a = 0; a < 15; a++)
			y[a] = (float) (a * a % 7);
		ws = UnitAlloc(vs_kmeans_workspace_size(5, &p));
		vs_kmeans(y, 5, &p, ws, c, NULL);
		UNIT_CHECK(memcmp(c, y, sizeof(c)) == 0, "n == k: centroids are not the rows");
		free(ws);
	}
}

/* ---------------------------------------------------------------- determinism */

static void
CheckDeterminism(size_t n, size_t dim, size_t k)
{
	float	   *x = OverlappingClusters(n, dim, k / 2 + 1, 0.5, false);
	VsKmeansStats s1,
				s2,
				s3;
	float	   *c1 = Train(x, n, Params(k, dim, VS_KMEANS_L2, 8, 0.0, 1234), NULL, &s1);
	float	   *c2 = Train(x, n, Params(k, dim, VS_KMEANS_L2, 8, 0.0, 1234), NULL, &s2);
	float	   *c3 = Train(x, n, Params(k, dim, VS_KMEANS_L2, 8, 0.0, 1235), NULL, &s3);

	UNIT_CHECK(memcmp(c1, c2, k * dim * sizeof(float)) == 0, "n %zu: same seed, different centroids", n);
	UNIT_CHECK(s1.iterations == s2.iterations && s1.inertia == s2.inertia &&
			   s1.empty_repaired == s2.empty_repaired, "n %zu: same seed, different stats", n);
	UNIT_CHECK(memcmp(c1, c3, k * dim * sizeof(float)) != 0, "n %zu: another seed, same centroids", n);
	free(x);
	free(c1);
	free(c2);
	free(c3);
}

static void
test_determinism(void)
{
	CheckDeterminism(1000, 8, 12);
	CheckDeterminism(20000, 6, 10);	/* seeds from a sample */
}

/* ---------------------------------------------------------------- workspace */

/*
 * Exactly vs_kmeans_workspace_size bytes, at a base 64-byte aligned or not, followed by a
 * canary; the centroids get one too. Whatever the workspace held before must not matter.
 */
static void
CheckWorkspace(size_t n, size_t dim, size_t k, VsKmeansKind kind, int iterations, size_t misalign)
{
	float	   *x = OverlappingClusters(n, dim, k, 0.5, kind == VS_KMEANS_SPHERICAL);
	VsKmeansParams p = Params(k, dim, kind, iterations, 0.0, 77);
	size_t		bytes = vs_kmeans_workspace_size(n, &p);
	unsigned char *block = UnitAlloc(bytes + CANARY_BYTES + 128);
	unsigned char *ws = block + (64 - (uintptr_t) block % 64) % 64 + misalign;
	size_t		cbytes = k * dim * sizeof(float);
	unsigned char *cblock = UnitAlloc(cbytes + CANARY_BYTES);
	float	   *first = UnitAlloc(cbytes);
	int			fill,
				bad;

	UNIT_CHECK(bytes < (size_t) 64 << 20, "workspace %zu bytes for n %zu k %zu dim %zu", bytes, n, k, dim);
	for (fill = 0; fill < 2; fill++)
	{
		memset(ws, fill == 0 ? 0x00 : 0xff, bytes);
		memset(ws + bytes, CANARY, CANARY_BYTES);
		memset(cblock + cbytes, CANARY, CANARY_BYTES);
		vs_kmeans(x, n, &p, ws, (float *) cblock, NULL);
		bad = CanaryDamage(ws + bytes);
		UNIT_CHECK(bad == 0, "n %zu k %zu misalign %zu: %d canary bytes after the workspace overwritten",
				   n, k, misalign, bad);
		UNIT_CHECK(CanaryDamage(cblock + cbytes) == 0, "n %zu k %zu: wrote past the centroids", n, k);
		if (fill == 0)
			memcpy(first, cblock, cbytes);
		else
			UNIT_CHECK(memcmp(first, cblock, cbytes) == 0,
					   "n %zu k %zu: the workspace's old contents changed the result", n, k);
	}
	free(x);
	free(block);
	free(cblock);
	free(first);
}

static void
test_workspace_guard(void)
{
	CheckWorkspace(500, 7, 9, VS_KMEANS_L2, 10, 0);
	CheckWorkspace(500, 7, 9, VS_KMEANS_SPHERICAL, 10, 8);
	CheckWorkspace(500, 7, 9, VS_KMEANS_L2, 0, 4);
	CheckWorkspace(17000, 3, 5, VS_KMEANS_L2, 6, 8);	/* seeds from a sample */
	CheckWorkspace(17000, 3, 5, VS_KMEANS_SPHERICAL, 6, 0);
	CheckWorkspace(3000, 5, 1000, VS_KMEANS_L2, 4, 24);	/* k large next to n */
	CheckWorkspace(40, 2, 39, VS_KMEANS_L2, 5, 0);
}

/* ---------------------------------------------------------------- progress and longjmp */

static void
test_progress_longjmp(void)
{
	size_t		n = 2000,
				dim = 4,
				k = 600;
	float	   *x = OverlappingClusters(n, dim, 50, 0.3, false);
	VsKmeansParams p = Params(k, dim, VS_KMEANS_L2, 20, 0.0, 8);
	size_t		bytes = vs_kmeans_workspace_size(n, &p);
	void	   *ws = UnitAlloc(bytes);
	float	   *c = UnitAlloc(k * dim * sizeof(float));
	jmp_buf		jump;
	static Trace trace;			/* changed between setjmp and longjmp: not an automatic */
	volatile int left;

	/* the whole run: seeding calls at least every 256 seeds, then one call an iteration */
	memset(&trace, 0, sizeof(trace));
	p.progress = Record;
	p.progress_arg = &trace;
	vs_kmeans(x, n, &p, ws, c, NULL);
	UNIT_CHECK(!trace.out_of_order, "progress calls out of order");
	UNIT_CHECK(trace.seeding_calls >= (int) (k / 256), "%d seeding calls for %zu seeds",
			   trace.seeding_calls, k);
	UNIT_CHECK(trace.last_seed_step > 0 && trace.last_seed_step <= (int) k &&
			   (int) k - trace.last_seed_step < 256,
			   "last seeding step %d for %zu seeds", trace.last_seed_step, k);
	UNIT_CHECK(trace.iteration_calls >= 1, "no iteration calls");

	/* leaving from seeding and from an iteration, then a normal run on the same workspace */
	for (left = 0; left < 2; left++)
	{
		memset(&trace, 0, sizeof(trace));
		trace.jump = &jump;
		if (left == 0)
			trace.jump_at_seed = 1;
		else
			trace.jump_at_iteration = 2;
		if (setjmp(jump) == 0)
		{
			vs_kmeans(x, n, &p, ws, c, NULL);
			UNIT_CHECK(false, "progress callback %d did not leave", left);
		}
		UNIT_CHECK(left == 0 ? trace.seeding_calls == 1 && trace.iteration_calls == 0
				   : trace.iteration_calls == 2, "left at the wrong place (%d, %d)",
				   trace.seeding_calls, trace.iteration_calls);
	}
	/* nothing of the abandoned runs is left in the workspace to change a new one */
	memset(&trace, 0, sizeof(trace));
	vs_kmeans(x, n, &p, ws, c, NULL);
	{
		float	   *fresh = Train(x, n, Params(k, dim, VS_KMEANS_L2, 20, 0.0, 8), NULL, NULL);

		UNIT_CHECK(memcmp(fresh, c, k * dim * sizeof(float)) == 0,
				   "a run after a longjmp differs from one on a fresh workspace");
		free(fresh);
	}
	free(x);
	free(ws);
	free(c);
}

/*
 * An assignment of many rows calls the callback between blocks of rows (here blocks of
 * 1024 rows: 5 blocks, 4 calls an iteration), with the iteration's number, and can be left
 * from there; a run afterwards on the same workspace equals one on a fresh workspace.
 */
static void
test_progress_assigning(void)
{
	size_t		n = 5000,
				dim = 8,
				k = 64;
	float	   *x = OverlappingClusters(n, dim, 20, 0.3, false);
	VsKmeansParams p = Params(k, dim, VS_KMEANS_L2, 5, 0.0, 9);
	void	   *ws = UnitAlloc(vs_kmeans_workspace_size(n, &p));
	float	   *c = UnitAlloc(k * dim * sizeof(float));
	double		saved = vs_kmeans_assign_block_madds;
	jmp_buf		jump;
	static Trace trace;
	VsKmeansStats stats;

	vs_kmeans_assign_block_madds = 1024.0 * k * dim;
	memset(&trace, 0, sizeof(trace));
	p.progress = Record;
	p.progress_arg = &trace;
	vs_kmeans(x, n, &p, ws, c, &stats);
	UNIT_CHECK(!trace.out_of_order, "progress calls out of order");
	UNIT_CHECK(trace.assigning_calls == 4 * stats.iterations,
			   "%d assigning calls for %d iterations of 5 blocks", trace.assigning_calls,
			   stats.iterations);

	memset(&trace, 0, sizeof(trace));
	trace.jump = &jump;
	trace.jump_at_assigning = true;
	if (setjmp(jump) == 0)
	{
		vs_kmeans(x, n, &p, ws, c, NULL);
		UNIT_CHECK(false, "the assigning callback did not leave");
	}
	UNIT_CHECK(trace.assigning_calls == 1 && trace.iteration_calls == 0,
			   "left at the wrong place (%d, %d)", trace.assigning_calls, trace.iteration_calls);

	memset(&trace, 0, sizeof(trace));
	vs_kmeans(x, n, &p, ws, c, NULL);
	{
		float	   *fresh = Train(x, n, Params(k, dim, VS_KMEANS_L2, 5, 0.0, 9), NULL, NULL);

		UNIT_CHECK(memcmp(fresh, c, k * dim * sizeof(float)) == 0,
				   "a run after a longjmp differs from one on a fresh workspace");
		free(fresh);
	}
	vs_kmeans_assign_block_madds = saved;
	free(x);
	free(ws);
	free(c);
}

int
main(void)
{
	vs_kernels_init();
	vs_blas_set_threads(1);

	UNIT_RUN(test_inertia_falls_l2);
	UNIT_RUN(test_inertia_falls_spherical);
	UNIT_RUN(test_better_than_seeds);
	UNIT_RUN(test_centroids_are_means_l2);
	UNIT_RUN(test_centroids_are_means_spherical);
	UNIT_RUN(test_spherical_unit_length);
	UNIT_RUN(test_spherical_zero_mean);
	UNIT_RUN(test_empty_repair);
	UNIT_RUN(test_too_few_distinct);
	UNIT_RUN(test_few_rows);
	UNIT_RUN(test_determinism);
	UNIT_RUN(test_workspace_guard);
	UNIT_RUN(test_progress_longjmp);
	UNIT_RUN(test_progress_assigning);
	return unit_finish("test_kmeans");
}
