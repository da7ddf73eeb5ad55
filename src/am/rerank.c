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
VsRerankInit(VsRerank *r, IndexScanDesc scan, VsMetric metric, int dim, const float *query)
{
	memset(r, 0, sizeof(*r));
	r->metric = metric;
	r->dim = dim;
	r->query = query;
	r->attnum = scan->indexRelation->rd_index->indkey.values[0];
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
	v = VsCopyRowVector(value, r->dim);
	ExecClearTuple(r->slot);
	found = VsPrepareVector(r->metric, v->x, r->dim);
	if (found)
		*dist = VsDistance(r->metric, r->query, v->x, r->dim);
	pfree(v);
	return found;
}

/* The next batch of up to `batch` candidates, scored exactly and sorted; false if none. */
static bool
FillBatch(VsRerank *r, IndexScanDesc scan, size_t batch, VsCandidateSource source)
{
	VsScored	c;

	r->n = r->next = 0;
	while (r->n < batch && source(scan, &c))
	{
		float		d;

		CHECK_FOR_INTERRUPTS();
		if (!ExactDistance(r, scan, c.id, &d))
			continue;
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

/* The nearest candidate of the current batch not yet returned, starting a batch as needed. */
bool
VsRerankNext(VsRerank *r, IndexScanDesc scan, size_t batch, VsCandidateSource source, VsScored *best)
{
	if (r->next >= r->n && !FillBatch(r, scan, batch, source))
		return false;
	*best = r->items[r->next++];
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
