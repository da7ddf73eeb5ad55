/*
 * rerank.h — exact distances from the heap rows, for an index whose pages hold only an
 * approximation of each vector (ivfpq's codes today; compact storage forms next).
 *
 * A scan hands the candidates it found, nearest first by its approximate distance, to
 * VsRerankNext: it takes them `batch` at a time, reads each one's row, scores it exactly,
 * drops those the scan's snapshot cannot see (the executor would drop them too) and returns
 * them in exact distance order, merging the next batch in before the current one is half
 * returned. Candidate ids are packed heap TIDs (VsPackTid).
 */
#ifndef VS_AM_RERANK_H
#define VS_AM_RERANK_H

#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/tableam.h"

#include "common.h"
#include "topk.h"

/* The scan's next candidate by its approximate distance; false when there are no more. */
typedef bool (*VsCandidateSource) (IndexScanDesc scan, VsScored *next);

typedef struct VsRerank
{
	VsMetric	metric;
	int			dim;
	const float *query;			/* prepared as the index prepares vectors */
	AttrNumber	attnum;			/* the indexed column of the heap row */
	IndexFetchTableData *fetch; /* opened on the first row read */
	TupleTableSlot *slot;
	VsScored   *items;			/* the current batch, in exact distance order */
	size_t		n;
	size_t		next;
	size_t		cap;
	bool		source_done;	/* the scan has no more candidates */

	/*
	 * Strict order: past the first batch, a row waits for the next batch unless its exact distance is below the
	 * last candidate's approximate one less a margin from the most any candidate's
	 * approximation has overstated its distance so far (a later candidate is seldom nearer).
	 */
	bool		strict;
	size_t		returned;
	float		last_approx;	/* of the last candidate taken */
	float		max_overstated;
} VsRerank;

extern bool VsRerankPossible(IndexScanDesc scan);
extern void VsRerankInit(VsRerank *r, IndexScanDesc scan, VsMetric metric, int dim, const float *query,
						 bool strict);
extern bool VsRerankNext(VsRerank *r, IndexScanDesc scan, size_t batch, VsCandidateSource source,
						 VsScored *best);
extern void VsRerankEnd(VsRerank *r);

static inline uint64
VsPackTid(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

static inline void
VsUnpackTid(uint64 id, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (id >> 16), (OffsetNumber) (id & 0xFFFF));
}

#endif							/* VS_AM_RERANK_H */
