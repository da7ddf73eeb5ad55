/*
 * kmeans.c — k-means training: k-means++ seeding, Lloyd iterations on sgemm, repair of
 * empty clusters by splitting.
 *
 * Memory. Nothing here allocates: the progress callback may leave by longjmp at any call,
 * so every buffer is a slice of the caller's workspace (see Layout). vs_nearest_l2 mallocs
 * its own score block, but it frees it before it returns and the callback is never called
 * from inside it. The workspace is O(n + k * dim): the assignment and its distances for the
 * n rows, double accumulators for the k means, and the seeding sample's row pointers.
 *
 * Seeding. k-means++ makes one pass over the rows per seed, k * n * dim in all, with the 1xN
 * kernels. An assignment does the same n * k * dim on sgemm, 3 (rows in cache) to 10 (rows
 * streamed from memory) times faster per element, so seeding on all rows would cost that
 * many Lloyd iterations. The seeds only need to cover the distribution, so when n is larger
 * than max(SEED_ROWS_PER_CLUSTER * k, SEED_ROWS_MIN) they are drawn from a uniform sample of
 * that many rows (selection sampling: it comes out in row order, a forward stream); Lloyd
 * then runs on every row. Seeding then costs about (sample / n) times the ratio above. For
 * n = 50,000, k = 1,000 and dim = 784 the sample is 8,000 rows (25 MB, which stays in a
 * 32 MB L3): measured on one Zen 5 core that cost 1.3 iterations, against 3.4 for 16,384
 * rows and 8 for all rows, with the inertia after 10 iterations the same to within the
 * spread between seeds. SEED_ROWS_MIN keeps a small k from seeding on too few rows; it
 * costs little, as seeding work grows with k.
 *
 * Iterations. Assign every row (vs_nearest_l2), then move each centroid to the mean of its
 * rows, summed in double so that the order of 10^5 additions does not matter. Stop after
 * max_iterations, or once an assignment improves the inertia by no more than tolerance
 * times the previous one; the centroids are updated after the last assignment too, so they
 * are the means of the assignment that the reported inertia belongs to.
 *
 * Empty clusters. An empty cluster takes part of the largest cluster that can be split: its
 * centroid moves to halfway between that cluster's mean and the member farthest from it,
 * and the next assignment hands it the members on that side. FAISS instead copies the big
 * centroid and moves the two copies apart symmetrically by a tiny relative step, so that
 * the plane between them passes through the mean. In a tight cluster far from the origin
 * (many duplicate rows, say) the members then lie within the sgemm expansion's rounding
 * (about |x|^2 * 1e-7) of that plane: identical rows all fall on one side together, and
 * the empty cluster is empty again after every assignment. Here the plane lies a quarter of
 * the way from the mean to the farthest member, clear of both. And only the empty
 * cluster's centroid moves, so a repair never raises the inertia of the assignment it
 * follows. A cluster whose members are all one point cannot be split and is passed over;
 * a cluster is split at most once per iteration (a second split would aim at the same
 * member). When no splittable cluster is left (fewer distinct rows than k), the remaining
 * empty clusters stay empty.
 */
#include "kmeans.h"
#include "batch.h"
#include "distance.h"
#include "topk.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define SEED_ROWS_PER_CLUSTER	8
#define SEED_ROWS_MIN			4096

/*
 * Seeding calls the progress callback about every 2^26 floats of distance work (tens of
 * milliseconds), and at least every 256 seeds.
 */
#define SEED_PROGRESS_FLOATS	((size_t) 1 << 26)
#define SEED_PROGRESS_MAX_SEEDS 256

/* how far a repaired centroid goes from the big cluster's mean towards its farthest member */
#define SPLIT_FRACTION			0.5

/*
 * A spherical centroid is renormalised after the mean, so members that are all one point
 * leave it a rounding error away (about dim * 2^-48) rather than at exactly 0.
 */
#define SPHERICAL_SAME_POINT	1e-10f

#define WORKSPACE_ALIGN			64
#define NO_ROW					SIZE_MAX

typedef struct KmeansWork
{
	size_t		sample_rows;	/* rows k-means++ draws from */
	int		   *assign;			/* n: nearest centroid */
	float	   *nearest_l2sq;	/* n: distance to it; the D^2 of the sample while seeding */
	float	   *centroid_sqnorms;	/* k */
	double	   *sums;			/* k * dim */
	size_t	   *counts;			/* k */
	size_t	   *far_row;		/* k: member farthest from the centroid it was assigned to */
	float	   *far_l2sq;		/* k: that member's distance to the updated centroid */
	VsScored   *split_order;	/* k: splittable clusters, largest first */
	float	   *seed_l2sq;		/* sample_rows: distances to the newest seed */
	const float **sample;		/* sample_rows, when the sample is not all of x */
} KmeansWork;

/* splitmix64: small, fast and good enough to draw seeds; fixed by params->seed. */
typedef struct Rng
{
	uint64_t	state;
} Rng;

static uint64_t
RngNext(Rng *rng)
{
	uint64_t	z = (rng->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double
RngUniform(Rng *rng)
{
	return (double) (RngNext(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform in [0, m), m >= 1 */
static size_t
RngBelow(Rng *rng, size_t m)
{
	size_t		r = (size_t) (RngUniform(rng) * (double) m);

	return r < m ? r : m - 1;
}

static size_t
SeedSampleRows(size_t n, size_t k)
{
	size_t		cap = k > SIZE_MAX / SEED_ROWS_PER_CLUSTER ? SIZE_MAX : k * SEED_ROWS_PER_CLUSTER;

	if (cap < SEED_ROWS_MIN)
		cap = SEED_ROWS_MIN;
	return n < cap ? n : cap;
}

/* Reserves count * elem bytes at *offset, 64-byte aligned; false on overflow. */
static bool
Reserve(size_t *offset, size_t count, size_t elem, size_t *at)
{
	size_t		bytes;

	if (elem != 0 && count > SIZE_MAX / elem)
		return false;
	bytes = count * elem;
	if (*offset > SIZE_MAX - WORKSPACE_ALIGN - bytes)
		return false;
	*at = *offset;
	*offset += (bytes + WORKSPACE_ALIGN - 1) / WORKSPACE_ALIGN * WORKSPACE_ALIGN;
	return true;
}

/*
 * The workspace's slices. With base == NULL only the size is worked out. Returns the bytes
 * needed from a 64-byte aligned base, or SIZE_MAX when that does not fit in a size_t.
 */
static size_t
Layout(size_t n, size_t k, size_t dim, char *base, KmeansWork *w)
{
	size_t		s = SeedSampleRows(n, k);
	size_t		offset = 0;
	size_t		at[10];

	if (k != 0 && dim > SIZE_MAX / k)
		return SIZE_MAX;
	/* the slice written in full every iteration last, where a short workspace shows first */
	if (!Reserve(&offset, k * dim, sizeof(double), &at[0]) ||
		!Reserve(&offset, k, sizeof(size_t), &at[1]) ||
		!Reserve(&offset, k, sizeof(size_t), &at[2]) ||
		!Reserve(&offset, k, sizeof(float), &at[3]) ||
		!Reserve(&offset, k, sizeof(float), &at[4]) ||
		!Reserve(&offset, k, sizeof(VsScored), &at[5]) ||
		!Reserve(&offset, s, sizeof(float), &at[6]) ||
		!Reserve(&offset, s < n ? s : 0, sizeof(const float *), &at[7]) ||
		!Reserve(&offset, n, sizeof(int), &at[8]) ||
		!Reserve(&offset, n, sizeof(float), &at[9]))
		return SIZE_MAX;

	if (base != NULL)
	{
		w->sample_rows = s;
		w->sums = (double *) (base + at[0]);
		w->counts = (size_t *) (base + at[1]);
		w->far_row = (size_t *) (base + at[2]);
		w->far_l2sq = (float *) (base + at[3]);
		w->centroid_sqnorms = (float *) (base + at[4]);
		w->split_order = (VsScored *) (base + at[5]);
		w->seed_l2sq = (float *) (base + at[6]);
		w->sample = s < n ? (const float **) (base + at[7]) : NULL;
		w->assign = (int *) (base + at[8]);
		w->nearest_l2sq = (float *) (base + at[9]);
	}
	return offset;
}

size_t
vs_kmeans_workspace_size(size_t n, const VsKmeansParams *params)
{
	size_t		bytes = Layout(n, params->k, params->dim, NULL, NULL);

	/* room to align whatever base the caller has */
	if (bytes > SIZE_MAX - WORKSPACE_ALIGN)
		return SIZE_MAX;
	return bytes + WORKSPACE_ALIGN;
}

/* Scales row to unit length; false (and row unchanged) when it is zero. */
static bool
Normalize(float *row, size_t dim)
{
	double		sq = 0.0;
	double		inv;
	size_t		j;

	for (j = 0; j < dim; j++)
		sq += (double) row[j] * row[j];
	if (!(sq > 0.0))
		return false;
	inv = 1.0 / sqrt(sq);
	for (j = 0; j < dim; j++)
		row[j] = (float) (row[j] * inv);
	return true;
}

/* A unit vector in the direction of row; the first axis when row is zero. */
static void
UnitFromRow(float *centroid, const float *row, size_t dim)
{
	memcpy(centroid, row, dim * sizeof(float));
	if (!Normalize(centroid, dim))
	{
		memset(centroid, 0, dim * sizeof(float));
		centroid[0] = 1.0f;
	}
}

static void
Progress(const VsKmeansParams *params, VsKmeansPhase phase, int step, double inertia)
{
	if (params->progress != NULL)
		params->progress(params->progress_arg, phase, step, inertia);
}

/* ---------------------------------------------------------------- seeding */

/*
 * Selection sampling (Knuth's algorithm S): row i is taken with probability
 * (still needed) / (still to look at), which gives exactly s rows, uniformly, in order.
 */
static void
DrawSample(const float *x, size_t n, size_t dim, size_t s, Rng *rng, const float **sample)
{
	size_t		taken = 0;
	size_t		i;

	for (i = 0; i < n && taken < s; i++)
	{
		if ((double) (n - i) * RngUniform(rng) < (double) (s - taken))
			sample[taken++] = x + i * dim;
	}
}

/* A row with probability proportional to d2; uniformly when every d2 is 0. */
static size_t
DrawByWeight(const float *d2, size_t s, double total, Rng *rng)
{
	double		target;
	double		running = 0.0;
	size_t		i;

	if (total > 0.0 && isfinite(total))
	{
		target = RngUniform(rng) * total;
		for (i = 0; i < s; i++)
		{
			running += d2[i];
			if (running > target)
				return i;
		}
		/* rounding left target at the very end: the last row that has any weight */
		for (i = s; i-- > 0;)
			if (d2[i] > 0.0f)
				return i;
	}
	/* every sampled row is a seed already: a duplicate seed, left to the empty-cluster repair */
	return RngBelow(rng, s);
}

static void
SeedPlusPlus(const float *x, size_t n, const VsKmeansParams *params, KmeansWork *w,
			 Rng *rng, float *centroids)
{
	size_t		k = params->k;
	size_t		dim = params->dim;
	size_t		s = w->sample_rows;
	float	   *d2 = w->nearest_l2sq;
	float	   *fresh = w->seed_l2sq;
	size_t		seeds_per_call;
	size_t		since_call = 0;
	size_t		j,
				i;

	seeds_per_call = SEED_PROGRESS_FLOATS / (s * dim);
	if (seeds_per_call < 1)
		seeds_per_call = 1;
	if (seeds_per_call > SEED_PROGRESS_MAX_SEEDS)
		seeds_per_call = SEED_PROGRESS_MAX_SEEDS;

	if (w->sample != NULL)
		DrawSample(x, n, dim, s, rng, w->sample);

#define SAMPLE_ROW(i) (w->sample != NULL ? w->sample[i] : x + (i) * dim)

	memcpy(centroids, SAMPLE_ROW(RngBelow(rng, s)), dim * sizeof(float));
	for (j = 1; j < k; j++)
	{
		const float *last_seed = centroids + (j - 1) * dim;
		float	   *out = j == 1 ? d2 : fresh;
		double		total = 0.0;

		if (w->sample != NULL)
			vs_l2sq_1xN_ptr(last_seed, w->sample, s, dim, out);
		else
			vs_l2sq_1xN(last_seed, x, s, dim, out);
		if (j > 1)
		{
			for (i = 0; i < s; i++)
				d2[i] = fresh[i] < d2[i] ? fresh[i] : d2[i];
		}
		for (i = 0; i < s; i++)
			total += d2[i];

		memcpy(centroids + j * dim, SAMPLE_ROW(DrawByWeight(d2, s, total, rng)), dim * sizeof(float));

		if (++since_call >= seeds_per_call)
		{
			since_call = 0;
			Progress(params, VS_KMEANS_SEEDING, (int) (j + 1), 0.0);
		}
	}
#undef SAMPLE_ROW
}

/* ---------------------------------------------------------------- Lloyd */

/*
 * Centroids become the means of their rows (unit-length means for spherical k-means).
 * Empty clusters keep their old centroid here; RepairEmpty deals with them.
 */
static void
UpdateCentroids(const float *x, size_t n, const VsKmeansParams *params, KmeansWork *w,
				float *centroids)
{
	size_t		k = params->k;
	size_t		dim = params->dim;
	size_t		i,
				c,
				j;

	memset(w->sums, 0, k * dim * sizeof(double));
	for (c = 0; c < k; c++)
	{
		w->counts[c] = 0;
		w->far_row[c] = NO_ROW;
	}

	for (i = 0; i < n; i++)
	{
		const float *row = x + i * dim;
		double	   *sum;

		c = (size_t) w->assign[i];
		sum = w->sums + c * dim;
		for (j = 0; j < dim; j++)
			sum[j] += row[j];
		w->counts[c]++;
		if (w->far_row[c] == NO_ROW || w->nearest_l2sq[i] > w->nearest_l2sq[w->far_row[c]])
			w->far_row[c] = i;
	}

	for (c = 0; c < k; c++)
	{
		float	   *centroid = centroids + c * dim;
		const double *sum = w->sums + c * dim;
		double		count = (double) w->counts[c];

		if (w->counts[c] == 0)
			continue;
		for (j = 0; j < dim; j++)
			centroid[j] = (float) (sum[j] / count);
		/* members that cancel out: any one of them is as good a direction */
		if (params->kind == VS_KMEANS_SPHERICAL && !Normalize(centroid, dim))
			UnitFromRow(centroid, x + w->far_row[c] * dim, dim);
		w->far_l2sq[c] = vs_kernels->l2sq(x + w->far_row[c] * dim, centroid, dim);
	}
}

/* Can cluster c be split in two, i.e. are its members not all one point? */
static bool
Splittable(const VsKmeansParams *params, const KmeansWork *w, size_t c)
{
	float		same_point = params->kind == VS_KMEANS_SPHERICAL ? SPHERICAL_SAME_POINT : 0.0f;

	return w->counts[c] >= 2 && w->far_row[c] != NO_ROW && w->far_l2sq[c] > same_point;
}

static size_t
RepairEmpty(const float *x, const VsKmeansParams *params, KmeansWork *w, float *centroids)
{
	size_t		k = params->k;
	size_t		dim = params->dim;
	VsScored   *order = w->split_order;
	size_t		splittable = 0;
	size_t		repaired = 0;
	size_t		e,
				c,
				j;

	for (e = 0; e < k && w->counts[e] != 0; e++)
		;
	if (e == k)
		return 0;

	/* a min-heap on -count: largest first, the lower index first among equals */
	for (c = 0; c < k; c++)
	{
		if (Splittable(params, w, c))
		{
			order[splittable].dist = -(float) w->counts[c];
			order[splittable].id = c;
			splittable++;
		}
	}
	vs_minheap_build(order, splittable);

	for (; e < k && splittable > 0; e++)
	{
		float	   *into = centroids + e * dim;
		const float *from;
		const float *far;

		if (w->counts[e] != 0)
			continue;
		c = (size_t) vs_minheap_pop(order, &splittable).id;
		from = centroids + c * dim;
		far = x + w->far_row[c] * dim;
		for (j = 0; j < dim; j++)
			into[j] = (float) (from[j] + SPLIT_FRACTION * ((double) far[j] - from[j]));
		/* halfway between antipodes is the origin: then the member itself */
		if (params->kind == VS_KMEANS_SPHERICAL && !Normalize(into, dim))
			UnitFromRow(into, far, dim);
		repaired++;
	}
	return repaired;
}

/*
 * Assigns the rows a block at a time, each block about vs_kmeans_assign_block_madds
 * multiply-adds, with a progress call between blocks: a cancel must not wait for a whole
 * pass over a large sample (4e10 multiply-adds take seconds). Blocks of at least
 * ASSIGN_MIN_ROWS rows keep sgemm (or a GPU) efficient.
 */
double		vs_kmeans_assign_block_madds = (double) (1u << 31);

#define ASSIGN_MIN_ROWS			1024

static double
Assign(const float *x, size_t n, const VsKmeansParams *params, KmeansWork *w,
	   const float *centroids, int iteration)
{
	double		rows = vs_kmeans_assign_block_madds / ((double) params->k * params->dim);
	size_t		block = rows > ASSIGN_MIN_ROWS ? (size_t) rows : ASSIGN_MIN_ROWS;
	double		inertia = 0.0;
	size_t		start;
	size_t		i;

	vs_sqnorms(centroids, params->k, params->dim, w->centroid_sqnorms);
	for (start = 0; start < n; start += block)
	{
		if (start > 0)
			Progress(params, VS_KMEANS_ASSIGNING, iteration, 0.0);
		vs_nearest_l2(x + start * params->dim, block < n - start ? block : n - start, centroids, params->k,
					  params->dim, w->centroid_sqnorms, w->assign + start, w->nearest_l2sq + start);
	}
	for (i = 0; i < n; i++)
		inertia += w->nearest_l2sq[i];
	return inertia;
}

void
vs_kmeans(const float *x, size_t n, const VsKmeansParams *params,
		  void *workspace, float *centroids, VsKmeansStats *stats)
{
	size_t		k = params->k;
	size_t		dim = params->dim;
	VsKmeansStats result = {0, 0.0, 0};
	KmeansWork	w;
	Rng			rng = {params->seed};
	double		previous = 0.0;
	size_t		repaired;
	int			it;
	size_t		c;

	if (k == 0 || dim == 0)
		goto done;
	if (n == 0)
	{
		memset(centroids, 0, k * dim * sizeof(float));
		goto done;
	}
	if (n <= k)
	{
		/* every row is its own centroid; the repeats lose every tie and stay empty */
		for (c = 0; c < k; c++)
			memcpy(centroids + c * dim, x + (c % n) * dim, dim * sizeof(float));
		goto done;
	}

	Layout(n, k, dim,
		   (char *) workspace + (WORKSPACE_ALIGN - (uintptr_t) workspace % WORKSPACE_ALIGN) % WORKSPACE_ALIGN,
		   &w);

	SeedPlusPlus(x, n, params, &w, &rng, centroids);

	for (it = 0; it < params->max_iterations; it++)
	{
		double		inertia = Assign(x, n, params, &w, centroids, it + 1);

		result.iterations = it + 1;
		result.inertia = inertia;
		Progress(params, VS_KMEANS_ITERATING, it + 1, inertia);

		UpdateCentroids(x, n, params, &w, centroids);
		repaired = RepairEmpty(x, params, &w, centroids);
		result.empty_repaired += repaired;

		/* after a split the assignment has not yet seen the new centroids: go on */
		if (it > 0 && repaired == 0 && previous - inertia <= params->tolerance * previous)
			break;
		previous = inertia;
	}

	/* seeds only: one assignment, so that the inertia reported is the seeds' */
	if (params->max_iterations <= 0 && stats != NULL)
		result.inertia = Assign(x, n, params, &w, centroids, it + 1);

done:
	if (stats != NULL)
		*stats = result;
}
