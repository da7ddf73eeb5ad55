/*
 * rerank.c — exact distances from the heap rows for approximate index entries (rerank.h).
 */
#include "postgres.h"

#include "executor/tuptable.h"
#include "miscadmin.h"

#include "rerank.h"
#include "vector.h"

/* A row to read: the scan has a heap, and the index a plain column (an expression has none). */
bool
VsRerankPossible(IndexScanDesc scan)
{
	return scan->heapRelation != NULL && scan->indexRelation->rd_index->indkey.values[0] != 0;
}

/* In the scan's memory context: the batch lives as long as the scan. */
void
VsRerankInit(VsRerank *r, IndexScanDesc scan, VsMetric metric, int dim, const float *query,
			 bool strict)
{
	memset(r, 0, sizeof(*r));
	r->metric = metric;
	r->dim = dim;
	r->query = query;
	r->attnum = scan->indexRelation->rd_index->indkey.values[0];
	r->strict = strict;
	r->cap = 128;
	r->items = palloc(sizeof(VsScored) * r->cap);
}

/* The exact distance of a candidate from its heap row; false if the scan sees no such row. */
static bool
ExactDistance(VsRerank *r, IndexScanDesc scan, uint64 id, float *dist)
{
	ItemPointerData tid;
	bool		call_again = false;
	bool		all_dead = false;
	bool		isnull;
	Datum		value;
	Vector	   *v;
	bool		found;

	if (r->fetch == NULL)
	{
		r->fetch = table_index_fetch_begin(scan->heapRelation);
		r->slot = table_slot_create(scan->heapRelation, NULL);
	}
	VsUnpackTid(id, &tid);
	found = table_index_fetch_tuple(r->fetch, &tid, scan->xs_snapshot, r->slot, &call_again, &all_dead);
	if (!found)
		return false;
	value = slot_getattr(r->slot, r->attnum, &isnull);
	if (isnull)
	{
		ExecClearTuple(r->slot);
		return false;
	}
	v = VsCopyRowVector(scan->indexRelation, value, r->dim);
	ExecClearTuple(r->slot);
	found = VsPrepareVector(r->metric, v->x, r->dim);
	if (found)
		*dist = VsDistance(r->metric, r->query, v->x, r->dim);
	pfree(v);
	return found;
}

/*
 * Up to `batch` more candidates, scored exactly and merged with the rows of the batch not yet
 * returned, in exact distance order; false if there are none at all.
 */
static bool
FillBatch(VsRerank *r, IndexScanDesc scan, size_t batch, VsCandidateSource source)
{
	VsScored	c;
	size_t		pulled = 0;

	memmove(r->items, r->items + r->next, sizeof(VsScored) * (r->n - r->next));
	r->n -= r->next;
	r->next = 0;
	while (pulled < batch)
	{
		float		d;

		if (!source(scan, &c))
		{
			r->source_done = true;
			break;
		}
		pulled++;
		r->last_approx = c.dist;
		CHECK_FOR_INTERRUPTS();
		if (!ExactDistance(r, scan, c.id, &d))
			continue;
		r->max_overstated = Max(r->max_overstated, c.dist - d);
		if (r->n == r->cap)
		{
			r->cap *= 2;
			r->items = repalloc_huge(r->items, sizeof(VsScored) * r->cap);
		}
		c.dist = d;
		r->items[r->n++] = c;
	}
	qsort(r->items, r->n, sizeof(VsScored), (int (*) (const void *, const void *)) vs_scored_cmp);
	return r->n > 0;
}

/*
 * Strict order: whether the next row must wait for the next batch. Later candidates come at
 * approximate distances from last_approx on, and one seldom comes nearer than that by more
 * than the largest overstatement seen so far.
 */
static bool
MustPullOn(const VsRerank *r)
{
	return r->strict && r->next < r->n &&
		r->items[r->next].dist > r->last_approx - r->max_overstated;
}

/*
 * Whether the next batch joins now: when this one is returned, and past the first batch
 * (a LIMIT query without a filter seldom reads further) already when it is half returned, or
 * when strict order holds the next row back. A candidate of the next batch can be nearer,
 * by exact distance, than one of this batch; merged in early it mostly comes back in its
 * place rather than after (or, in strict order, not at all).
 */
static bool
MustFill(const VsRerank *r, size_t batch)
{
	if (r->source_done)
		return false;
	if (r->next >= r->n)
		return true;
	if (r->returned < batch)
		return false;
	return 2 * (r->n - r->next) < batch || MustPullOn(r);
}

/* The nearest candidate of the batches not yet returned. */
bool
VsRerankNext(VsRerank *r, IndexScanDesc scan, size_t batch, VsCandidateSource source, VsScored *best)
{
	while (MustFill(r, batch))
		FillBatch(r, scan, batch, source);
	if (r->next >= r->n)
		return false;
	*best = r->items[r->next++];
	r->returned++;
	return true;
}

/* Releases the heap access; the batch goes with the scan's memory. */
void
VsRerankEnd(VsRerank *r)
{
	if (r->slot != NULL)
		ExecDropSingleTupleTableSlot(r->slot);
	if (r->fetch != NULL)
		table_index_fetch_end(r->fetch);
	r->slot = NULL;
	r->fetch = NULL;
}
