/*
 * topk.c — ordering scored items: binary heaps and the k smallest of an array of distances.
 *
 * Every comparison goes through Before(), the one total order of topk.h: distance, then id,
 * with NaN after every number. The fast path is a single float compare; only equal
 * distances (and NaNs, which compare false both ways) reach the tie-break.
 *
 * The heaps move a hole rather than swapping: each level costs one store instead of three.
 * vs_minheap_pop, on the index scans' hot path, sifts bottom-up (Floyd): the item taken from
 * the end is a leaf and nearly always belongs near the bottom again, so walking the hole
 * down by the smaller child (one compare a level) and then moving the item up a step or
 * two costs about half the compares of the textbook sift-down (two a level).
 */
#include "topk.h"

#include <math.h>
#include <stdbool.h>

static inline bool
TieBefore(float a_dist, uint64_t a_id, float b_dist, uint64_t b_id)
{
	bool		a_nan = isnan(a_dist);
	bool		b_nan = isnan(b_dist);

	if (a_nan != b_nan)
		return b_nan;			/* the number comes first */
	return a_id < b_id;
}

/* (a_dist, a_id) comes strictly before (b_dist, b_id) */
static inline bool
KeyBefore(float a_dist, uint64_t a_id, float b_dist, uint64_t b_id)
{
	if (a_dist < b_dist)
		return true;
	if (a_dist > b_dist)
		return false;
	return TieBefore(a_dist, a_id, b_dist, b_id);
}

static inline bool
Before(const VsScored *a, const VsScored *b)
{
	return KeyBefore(a->dist, a->id, b->dist, b->id);
}

int
vs_scored_cmp(const VsScored *a, const VsScored *b)
{
	if (Before(a, b))
		return -1;
	if (Before(b, a))
		return 1;
	return 0;
}

/* ---------------------------------------------------------------- min-heap */

/* Places item in the hole at i of a min-heap of n, moving smaller children up. */
static inline void
MinSiftDown(VsScored *items, size_t n, size_t i, VsScored item)
{
	size_t		child;

	while ((child = 2 * i + 1) < n)
	{
		if (child + 1 < n && Before(&items[child + 1], &items[child]))
			child++;
		if (!Before(&items[child], &item))
			break;
		items[i] = items[child];
		i = child;
	}
	items[i] = item;
}

/* Places item in the hole at i of a min-heap, moving larger parents down. */
static inline void
MinSiftUp(VsScored *items, size_t i, VsScored item)
{
	while (i > 0)
	{
		size_t		parent = (i - 1) / 2;

		if (!Before(&item, &items[parent]))
			break;
		items[i] = items[parent];
		i = parent;
	}
	items[i] = item;
}

void
vs_minheap_build(VsScored *items, size_t n)
{
	size_t		i;

	for (i = n / 2; i-- > 0;)
		MinSiftDown(items, n, i, items[i]);
}

VsScored
vs_minheap_pop(VsScored *items, size_t *n)
{
	VsScored	top = items[0];
	VsScored	last = items[--(*n)];
	size_t		count = *n;
	size_t		i = 0;
	size_t		child;

	if (count == 0)
		return top;
	/* the hole goes all the way down along the smaller children ... */
	while ((child = 2 * i + 1) < count)
	{
		if (child + 1 < count && Before(&items[child + 1], &items[child]))
			child++;
		items[i] = items[child];
		i = child;
	}
	/* ... and the former last item climbs back from there */
	MinSiftUp(items, i, last);
	return top;
}

void
vs_minheap_push(VsScored *items, size_t *n, VsScored item)
{
	MinSiftUp(items, (*n)++, item);
}

/* ---------------------------------------------------------------- bounded max-heap */

/* Places item in the hole at i of a max-heap of n (worst on top), moving worse children up. */
static inline void
MaxSiftDown(VsScored *heap, size_t n, size_t i, VsScored item)
{
	size_t		child;

	while ((child = 2 * i + 1) < n)
	{
		if (child + 1 < n && Before(&heap[child], &heap[child + 1]))
			child++;
		if (!Before(&item, &heap[child]))
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = item;
}

int
vs_maxheap_push_bounded(VsScored *heap, size_t *n, size_t cap, VsScored item)
{
	size_t		i;

	if (*n < cap)
	{
		i = (*n)++;
		while (i > 0)
		{
			size_t		parent = (i - 1) / 2;

			if (!Before(&heap[parent], &item))
				break;
			heap[i] = heap[parent];
			i = parent;
		}
		heap[i] = item;
		return 1;
	}
	if (cap == 0 || !Before(&item, &heap[0]))
		return 0;
	MaxSiftDown(heap, *n, 0, item);
	return 1;
}

void
vs_maxheap_sort(VsScored *heap, size_t n)
{
	/* heapsort's second half: the worst goes to the end, the heap shrinks by one */
	while (n > 1)
	{
		VsScored	last = heap[--n];

		heap[n] = heap[0];
		MaxSiftDown(heap, n, 0, last);
	}
}

/* ---------------------------------------------------------------- k smallest */

/*
 * The same bounded max-heap, but holding indices into dist in out_idx itself, so that
 * vs_smallest_k needs no memory of its own. An index is its own tie-break.
 */
static inline bool
IndexBefore(const float *dist, uint32_t a, uint32_t b)
{
	return KeyBefore(dist[a], a, dist[b], b);
}

static void
IndexSiftDown(const float *dist, uint32_t *heap, size_t n, size_t i, uint32_t item)
{
	size_t		child;

	while ((child = 2 * i + 1) < n)
	{
		if (child + 1 < n && IndexBefore(dist, heap[child], heap[child + 1]))
			child++;
		if (!IndexBefore(dist, item, heap[child]))
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = item;
}

/*
 * Indices are uint32_t (out_idx), so n is taken to be below 2^32; it is a list or centroid
 * count. One pass with a bounded max-heap: once the first k are in, an element is looked at
 * only when it beats the current k-th, which after the first few thousand elements of
 * unsorted data is rare (about k ln(n/k) replacements in all), so the pass is one compare an
 * element. Later indices lose ties, so "beats" is a strict compare, plus the case of a NaN
 * on top being pushed out by any number.
 */
size_t
vs_smallest_k(const float *dist, size_t n, size_t k, uint32_t *out_idx)
{
	size_t		i;
	float		worst;

	if (k > n)
		k = n;
	if (k == 0)
		return 0;

	for (i = 0; i < k; i++)
		out_idx[i] = (uint32_t) i;
	for (i = k / 2; i-- > 0;)
		IndexSiftDown(dist, out_idx, k, i, out_idx[i]);

	worst = dist[out_idx[0]];
	for (i = k; i < n; i++)
	{
		float		d = dist[i];

		if (d < worst || (isnan(worst) && !isnan(d)))
		{
			IndexSiftDown(dist, out_idx, k, 0, (uint32_t) i);
			worst = dist[out_idx[0]];
		}
	}

	for (i = k; i > 1;)
	{
		uint32_t	last = out_idx[--i];

		out_idx[i] = out_idx[0];
		IndexSiftDown(dist, out_idx, i, 0, last);
	}
	return k;
}
