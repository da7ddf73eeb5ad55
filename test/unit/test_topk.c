/*
 * test_topk.c — the scored-item order, the heaps and vs_smallest_k, against qsort.
 *
 * The data are drawn from a handful of distinct values with NaNs mixed in, so that most
 * comparisons are ties and the tie-break (id, with NaN after every number) decides the
 * order; qsort with vs_scored_cmp is the reference, so the comparison itself is checked
 * first on cases worked out by hand.
 */
#include "topk.h"
#include "unit.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define UNIT_RANDOM_SEED 0x70b4c0ffeeULL
#include "random.h"

/*
 * distinct == 0: spread-out values (few ties); otherwise one of `distinct` values. About one
 * in nan_every is NaN (0: none).
 */
static float *
RandomDistances(size_t n, unsigned distinct, unsigned nan_every)
{
	float	   *d = malloc((n + 1) * sizeof(float));
	size_t		i;

	for (i = 0; i < n; i++)
	{
		uint64_t	r = NextRandom();

		if (nan_every != 0 && r % nan_every == 0)
			d[i] = NAN;
		else if (distinct != 0)
			d[i] = (float) ((r >> 20) % distinct) - 2.0f;	/* negatives and -0 vs 0 too */
		else
			d[i] = (float) ((double) (r >> 11) / (double) (1ULL << 53) * 100.0);
	}
	return d;
}

static int
QsortCmp(const void *a, const void *b)
{
	return vs_scored_cmp((const VsScored *) a, (const VsScored *) b);
}

/* {d[i], ids[i] or i}, sorted by qsort */
static VsScored *
SortedReference(const float *d, const uint64_t *ids, size_t n)
{
	VsScored   *s = malloc((n + 1) * sizeof(VsScored));
	size_t		i;

	for (i = 0; i < n; i++)
	{
		s[i].dist = d[i];
		s[i].id = ids != NULL ? ids[i] : i;
	}
	qsort(s, n, sizeof(VsScored), QsortCmp);
	return s;
}

static bool
SameItem(VsScored a, VsScored b)
{
	return a.id == b.id && (a.dist == b.dist || (isnan(a.dist) && isnan(b.dist)));
}

/* ---------------------------------------------------------------- the order */

static void
test_scored_cmp(void)
{
	static const struct
	{
		VsScored	a,
					b;
		int			want;
	}			cases[] = {
		{{1.0f, 9}, {2.0f, 1}, -1},
		{{2.0f, 1}, {1.0f, 9}, 1},
		{{1.0f, 3}, {1.0f, 4}, -1},	/* tie: the smaller id */
		{{1.0f, 4}, {1.0f, 3}, 1},
		{{1.0f, 4}, {1.0f, 4}, 0},
		{{-0.0f, 2}, {0.0f, 1}, 1},	/* -0 == 0: a tie */
		{{NAN, 0}, {INFINITY, 5}, 1},	/* NaN after every number, +inf included */
		{{INFINITY, 5}, {NAN, 0}, -1},
		{{-INFINITY, 5}, {NAN, 0}, -1},
		{{NAN, 1}, {NAN, 2}, -1},	/* NaN against NaN: by id */
		{{NAN, 2}, {NAN, 1}, 1},
		{{NAN, 2}, {-NAN, 2}, 0},
	};
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int			got = vs_scored_cmp(&cases[i].a, &cases[i].b);

		UNIT_CHECK(got == cases[i].want, "case %zu: (%g, %llu) vs (%g, %llu) gave %d, want %d", i,
				   cases[i].a.dist, (unsigned long long) cases[i].a.id,
				   cases[i].b.dist, (unsigned long long) cases[i].b.id, got, cases[i].want);
	}
}

/* ---------------------------------------------------------------- vs_smallest_k */

static void
CheckSmallestK(const float *d, size_t n, size_t k, const VsScored *sorted, const char *what)
{
	size_t		want = k < n ? k : n;
	uint32_t   *idx = malloc((want + 1) * sizeof(uint32_t));
	size_t		got,
				i;

	idx[want] = 0xdeadbeef;
	got = vs_smallest_k(d, n, k, idx);
	UNIT_CHECK(got == want, "%s n %zu k %zu: returned %zu, want %zu", what, n, k, got, want);
	UNIT_CHECK(idx[want] == 0xdeadbeef, "%s n %zu k %zu: wrote past out_idx[k]", what, n, k);
	for (i = 0; i < want && i < got; i++)
		UNIT_CHECK(idx[i] == sorted[i].id, "%s n %zu k %zu: out_idx[%zu] = %u, want %llu",
				   what, n, k, i, idx[i], (unsigned long long) sorted[i].id);
	free(idx);
}

static void
test_smallest_k_vs_qsort(void)
{
	static const size_t counts[] = {0, 1, 2, 5, 31, 100, 1000, 32768};
	static const size_t ks[] = {0, 1, 2, 3, 10, 64, 500, 32768, 40000};
	static const struct
	{
		const char *what;
		unsigned	distinct;
		unsigned	nan_every;
	}			kinds[] = {
		{"spread", 0, 0},
		{"ties", 5, 0},
		{"ties+nan", 4, 7},
		{"mostly nan", 2, 2},
		{"spread+nan", 0, 50},
	};
	size_t		a,
				b,
				c;

	for (c = 0; c < sizeof(kinds) / sizeof(kinds[0]); c++)
		for (a = 0; a < sizeof(counts) / sizeof(counts[0]); a++)
		{
			size_t		n = counts[a];
			float	   *d = RandomDistances(n, kinds[c].distinct, kinds[c].nan_every);
			VsScored   *sorted = SortedReference(d, NULL, n);

			for (b = 0; b < sizeof(ks) / sizeof(ks[0]); b++)
				CheckSmallestK(d, n, ks[b], sorted, kinds[c].what);
			free(d);
			free(sorted);
		}
}

/* Descending input: every element replaces the current worst (the heap's worst case). */
static void
test_smallest_k_descending(void)
{
	size_t		n = 5000;
	float	   *d = malloc(n * sizeof(float));
	VsScored   *sorted;
	size_t		i;

	for (i = 0; i < n; i++)
		d[i] = (float) (n - i) / 7.0f;
	sorted = SortedReference(d, NULL, n);
	CheckSmallestK(d, n, 1, sorted, "descending");
	CheckSmallestK(d, n, 100, sorted, "descending");
	CheckSmallestK(d, n, n - 1, sorted, "descending");
	free(d);
	free(sorted);
}

/* ---------------------------------------------------------------- min-heap */

static void
test_minheap_build_pop(void)
{
	static const size_t counts[] = {1, 2, 3, 7, 8, 9, 100, 4097};
	size_t		a,
				i;

	for (a = 0; a < sizeof(counts) / sizeof(counts[0]); a++)
	{
		size_t		n = counts[a];
		float	   *d = RandomDistances(n, a % 2 == 0 ? 6 : 0, 9);
		uint64_t   *ids = malloc(n * sizeof(uint64_t));
		VsScored   *heap = malloc(n * sizeof(VsScored));
		VsScored   *sorted;
		size_t		size = n;

		/* ids are not the positions, so that the heap cannot lean on them */
		for (i = 0; i < n; i++)
			ids[i] = NextRandom() % (4 * n + 1);
		sorted = SortedReference(d, ids, n);
		for (i = 0; i < n; i++)
		{
			heap[i].dist = d[i];
			heap[i].id = ids[i];
		}
		vs_minheap_build(heap, n);
		for (i = 0; i < n; i++)
		{
			VsScored	top = vs_minheap_pop(heap, &size);

			UNIT_CHECK(size == n - 1 - i, "n %zu: size %zu after %zu pops", n, size, i + 1);
			UNIT_CHECK(vs_scored_cmp(&top, &sorted[i]) == 0,
					   "n %zu: pop %zu gave (%g, %llu), want (%g, %llu)", n, i,
					   top.dist, (unsigned long long) top.id,
					   sorted[i].dist, (unsigned long long) sorted[i].id);
		}
		free(d);
		free(ids);
		free(heap);
		free(sorted);
	}
}

/*
 * Pushes and pops mixed at random; every pop must give the least of what is in the heap
 * at that moment (a plain array, searched with vs_scored_cmp, is the reference).
 */
static void
test_minheap_push_pop(void)
{
	size_t		cap = 3000;
	VsScored   *heap = malloc(cap * sizeof(VsScored));
	VsScored   *bag = malloc(cap * sizeof(VsScored));
	size_t		heap_n = 0,
				bag_n = 0;
	size_t		step,
				i;
	uint64_t	next_id = 0;

	for (step = 0; step < 20000; step++)
	{
		bool		push = heap_n == 0 || (heap_n < cap && NextRandom() % 5 < 3);

		if (push)
		{
			VsScored	item;
			float		v;
			uint64_t	r = NextRandom();

			v = r % 11 == 0 ? NAN : (float) ((r >> 8) % 50);
			item.dist = v;
			item.id = next_id++ * 7919 % 10007;	/* ids not in push order */
			vs_minheap_push(heap, &heap_n, item);
			bag[bag_n++] = item;
		}
		else
		{
			VsScored	got = vs_minheap_pop(heap, &heap_n);
			size_t		best = 0;

			for (i = 1; i < bag_n; i++)
				if (vs_scored_cmp(&bag[i], &bag[best]) < 0)
					best = i;
			UNIT_CHECK(SameItem(got, bag[best]), "step %zu: popped (%g, %llu), want (%g, %llu)",
					   step, got.dist, (unsigned long long) got.id,
					   bag[best].dist, (unsigned long long) bag[best].id);
			bag[best] = bag[--bag_n];
		}
		UNIT_CHECK(heap_n == bag_n, "step %zu: heap holds %zu, want %zu", step, heap_n, bag_n);
	}
	free(heap);
	free(bag);
}

/* ---------------------------------------------------------------- bounded max-heap */

static void
CheckBounded(size_t n, size_t cap, unsigned distinct, unsigned nan_every)
{
	float	   *d = RandomDistances(n, distinct, nan_every);
	uint64_t   *ids = calloc(n + 1, sizeof(uint64_t));
	VsScored   *heap = malloc((cap + 1) * sizeof(VsScored));
	VsScored   *sorted;
	size_t		size = 0,
				want = cap < n ? cap : n,
				i;

	/* distinct ids in scrambled order, so that an item's rank is well defined */
	for (i = 0; i < n; i++)
		ids[i] = i * 7919 % 10007;
	for (i = 0; i < n; i++)
	{
		VsScored	item = {d[i], ids[i]};
		VsScored   *sofar = SortedReference(d, ids, i + 1);
		/* kept exactly when the item is among the cap smallest so far */
		size_t		rank = 0;
		int			kept;

		while (rank <= i && !SameItem(sofar[rank], item))
			rank++;
		kept = vs_maxheap_push_bounded(heap, &size, cap, item);
		UNIT_CHECK(kept == (rank < cap), "n %zu cap %zu: push %zu (rank %zu) returned %d",
				   n, cap, i, rank, kept);
		UNIT_CHECK(size == (i + 1 < cap ? i + 1 : cap), "n %zu cap %zu: size %zu after %zu pushes",
				   n, cap, size, i + 1);
		/* once full, the top is the worst kept: the cap-th smallest so far */
		if (size == cap && cap > 0)
			UNIT_CHECK(SameItem(heap[0], sofar[cap - 1]), "n %zu cap %zu: top is not the worst kept",
					   n, cap);
		free(sofar);
	}

	sorted = SortedReference(d, ids, n);
	vs_maxheap_sort(heap, size);
	UNIT_CHECK(size == want, "n %zu cap %zu: kept %zu, want %zu", n, cap, size, want);
	for (i = 0; i < want && i < size; i++)
		UNIT_CHECK(SameItem(heap[i], sorted[i]), "n %zu cap %zu: sorted[%zu] = (%g, %llu), want (%g, %llu)",
				   n, cap, i, heap[i].dist, (unsigned long long) heap[i].id,
				   sorted[i].dist, (unsigned long long) sorted[i].id);
	free(d);
	free(ids);
	free(heap);
	free(sorted);
}

static void
test_bounded_heap(void)
{
	CheckBounded(0, 5, 0, 0);
	CheckBounded(10, 0, 0, 0);
	CheckBounded(10, 1, 3, 4);
	CheckBounded(10, 20, 3, 4);
	CheckBounded(300, 10, 0, 0);
	CheckBounded(300, 10, 4, 5);
	CheckBounded(300, 37, 6, 3);
	CheckBounded(300, 299, 0, 9);
	CheckBounded(600, 64, 2, 2);
}

/* Ties pushed in any order keep the smallest ids, so results do not depend on arrival order. */
static void
test_bounded_heap_ties(void)
{
	VsScored	heap[4];
	size_t		size = 0;
	uint64_t	ids[] = {9, 3, 7, 1, 8, 2, 6};
	size_t		i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
	{
		VsScored	item = {1.5f, ids[i]};

		vs_maxheap_push_bounded(heap, &size, 4, item);
	}
	vs_maxheap_sort(heap, size);
	UNIT_CHECK(size == 4 && heap[0].id == 1 && heap[1].id == 2 && heap[2].id == 3 && heap[3].id == 6,
			   "kept ids %llu %llu %llu %llu, want 1 2 3 6",
			   (unsigned long long) heap[0].id, (unsigned long long) heap[1].id,
			   (unsigned long long) heap[2].id, (unsigned long long) heap[3].id);
}

int
main(void)
{
	UNIT_RUN(test_scored_cmp);
	UNIT_RUN(test_smallest_k_vs_qsort);
	UNIT_RUN(test_smallest_k_descending);
	UNIT_RUN(test_minheap_build_pop);
	UNIT_RUN(test_minheap_push_pop);
	UNIT_RUN(test_bounded_heap);
	UNIT_RUN(test_bounded_heap_ties);
	return unit_finish("test_topk");
}
