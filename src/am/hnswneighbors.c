/*
 * hnswneighbors.c — choosing an element's neighbours among the candidates a search found:
 * the heuristic that inserts and VACUUM's repair share (the build's in-memory graph has its
 * own, hnswgraph.c), and the small list helpers they use.
 */
#include "postgres.h"

#include "hnsw.h"
#include "hnswelement.h"

/* Whether tid is among the n of list. */
bool
HnswContainsTid(const ItemPointerData *list, int n, const ItemPointerData *tid)
{
	int			k;

	for (k = 0; k < n; k++)
		if (ItemPointerEquals((ItemPointer) &list[k], (ItemPointer) tid))
			return true;
	return false;
}

/* Nearest first; ties by TID, so that the order does not depend on qsort. */
int
HnswCompareCandidates(const void *a, const void *b)
{
	const HnswCandidate *x = (const HnswCandidate *) a;
	const HnswCandidate *y = (const HnswCandidate *) b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &x->tid, (ItemPointer) &y->tid);
}

/*
 * The paper's neighbour heuristic over the search result (nearest first): a candidate is
 * kept only if it is nearer to the new element than to every neighbour kept before it,
 * which keeps links pointing in different directions (long links out of a cluster)
 * rather than all into the nearest clump; then, with `fill`, the room left goes to the
 * pruned candidates, nearest first (LinkBack: a full list then gives up exactly one
 * member). Deleted elements are never chosen. The candidates' vectors are `vectors[i]`
 * where the caller has them (it may pass NULL), else read through `hints` (may be NULL):
 * reading each page by its buffer mapping was a fifth of an insert's time (perf, 1M x 128).
 * The heuristic's picks come first in `out`; *npicks, unless NULL, gets how many there are.
 */
int
HnswSelectNeighbors(Relation index, const HnswShape *shape, VsBufferHints *hints,
					const HnswCandidate *found, const float *const *vectors, int nfound, int max,
					bool fill, ItemPointerData *out, float *out_dist, int *npicks)
{
	int			dim = shape->dim;
	const float **kept = palloc(sizeof(float *) * max);
	float	   *read = NULL;		/* vectors read here: allocated when first needed */
	int			nkept = 0;
	int			i;

	for (i = 0; i < nfound && nkept < max; i++)
	{
		const float *cv;
		bool		good = true;
		int			k;

		if (found[i].deleted)
			continue;
		if (vectors != NULL && vectors[i] != NULL)
			cv = vectors[i];
		else
		{
			/* read into the slot it keeps if it is kept */
			float	   *slot;

			if (read == NULL)
				read = palloc(sizeof(float) * dim * max);
			slot = read + (Size) nkept * dim;

			if (!HnswReadVector(index, shape, hints, (ItemPointer) &found[i].tid, slot, NULL))
				continue;
			cv = slot;
		}
		for (k = 0; k < nkept && good; k++)
			if (VsDistance(shape->metric, cv, kept[k], dim) < found[i].dist)
				good = false;
		if (!good)
			continue;
		kept[nkept] = cv;
		out[nkept] = found[i].tid;
		out_dist[nkept] = found[i].dist;
		nkept++;
	}
	if (read != NULL)
		pfree(read);
	pfree(kept);
	if (npicks)
		*npicks = nkept;
	for (i = 0; fill && i < nfound && nkept < max; i++)
	{
		if (found[i].deleted || HnswContainsTid(out, nkept, &found[i].tid))
			continue;
		out[nkept] = found[i].tid;
		out_dist[nkept] = found[i].dist;
		nkept++;
	}
	return nkept;
}
