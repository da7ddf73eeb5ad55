/*
 * ivfscan.c — ORDER BY <distance> scans of an ivf index.
 *
 * The first fetch ranks the centroids, reads the vecsearch.nprobe nearest lists, and heaps
 * every live row by its exact distance; fetches then pop rows nearest first. When the heap
 * runs dry and the executor still wants rows (a WHERE clause rejected some), the scan reads
 * the next nprobe lists in rank order, up to vecsearch.max_probes lists in all, so filtered
 * queries return LIMIT rows whenever enough rows match.
 *
 * A list is read one page at a time under a share lock; slots wholly on the page are
 * scored in one batch straight from the buffer, and a slot that straddles pages is scored
 * in parts.
 *
 * ivfpq's slots hold codes: a list's codes are scored from a table of the query's
 * distances to the codebooks' centroids (for L2, of the query's residual against the
 * list's centroid), and the best vecsearch.rerank candidates are then scored again with
 * exact distances from their heap rows and returned in that order, a batch at a time.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "ivf.h"
#include "topk.h"
#include "vector.h"

#define IVF_TOP 128

typedef struct IvfScanOpaqueData
{
	MemoryContext scan_ctx;		/* everything below; reset by rescan */
	bool		started;
	bool		unranked;		/* NULL query, or a zero query under cosine: no distances */

	VsMetric	metric;
	uint32		dim;
	uint32		lists;
	Size		slot_size;
	float	   *query;
	VsBufferHints *hints;		/* in the relcache entry's IvfCache; see ScanNextLists */

	/* lists in rank order, and their head pages */
	float	   *centroid_dist;
	uint32		nranked;
	uint32	   *ranked;
	BlockNumber *heads;
	uint32		next_rank;

	/*
	 * Candidates of the batch of lists being read. The nearest IVF_TOP of them sit in a
	 * bounded max-heap; every other one (rejected, or pushed out of the heap) goes to the
	 * overflow array, unordered. All overflow rows are at least as far as every top row,
	 * so fetches sort the top (a LIMIT of up to IVF_TOP never looks further) and only a
	 * query that wants more rows pays for heaping the overflow.
	 */
	VsScored	top[IVF_TOP];
	size_t		ntop;
	size_t		next_top;		/* fetches so far from the sorted top */
	bool		top_sorted;
	VsScored   *over;
	size_t		nover;
	size_t		over_cap;
	bool		over_heaped;

	/* per page batches */
	const float **batch_rows;
	uint64	   *batch_ids;
	float	   *batch_dist;
	size_t		batch_cap;

	/* ivfpq */
	bool		pq;
	VsPq		pq_shape;		/* the cache's, without its codebooks (fetched per list batch) */
	float	   *pq_table;		/* m x ksub: the list's table */
	float	   *pq_query_table; /* inner product: the query's table, the same for every list */
	float	   *pq_residual;	/* L2: the query minus the list's centroid */
	float		pq_bias;
	const uint8 **batch_codes;
	uint8	   *straddle;		/* a code split between two pages, put back together */

	/* ivfpq re-ranking: a batch of candidates in exact distance order */
	VsScored   *exact;
	size_t		exact_cap;
	size_t		nexact;
	size_t		next_exact;
	IndexFetchTableData *fetch;
	TupleTableSlot *heap_slot;
	AttrNumber	attnum;
} IvfScanOpaqueData;

typedef IvfScanOpaqueData *IvfScanOpaque;

static uint64
PackTid(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

static void
UnpackTid(uint64 id, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (id >> 16), (OffsetNumber) (id & 0xFFFF));
}

/* Scores n rows against the query: smaller is nearer for every metric. */
static void
Score(IvfScanOpaque so, const float *const *rows, size_t n, float *out)
{
	if (so->unranked)
		memset(out, 0, sizeof(float) * n);
	else
		VsDistances(so->metric, so->query, rows, n, so->dim, out);
}

static void
AddOverflow(IvfScanOpaque so, VsScored item)
{
	if (so->nover == so->over_cap)
	{
		so->over_cap *= 2;
		so->over = repalloc_huge(so->over, sizeof(VsScored) * so->over_cap);
	}
	so->over[so->nover++] = item;
}

static inline void
AddCandidate(IvfScanOpaque so, float dist, uint64 id)
{
	VsScored	item = {dist, id};

	if (so->ntop == IVF_TOP)
	{
		VsScored	worst = so->top[0];

		/* the common case once the top is full: farther than all of it */
		if (!(dist <= worst.dist) ||
			!vs_maxheap_push_bounded(so->top, &so->ntop, IVF_TOP, item))
		{
			AddOverflow(so, item);
			return;
		}
		AddOverflow(so, worst);
		return;
	}
	vs_maxheap_push_bounded(so->top, &so->ntop, IVF_TOP, item);
}

static void
FlushBatch(IvfScanOpaque so, size_t n)
{
	size_t		i;

	if (n == 0)
		return;
	if (!so->pq)
		Score(so, so->batch_rows, n, so->batch_dist);
	else if (so->unranked)
		memset(so->batch_dist, 0, sizeof(float) * n);
	else
		vs_pq_scan_ptr(&so->pq_shape, so->pq_table, so->batch_codes, n, so->pq_bias, so->batch_dist);
	for (i = 0; i < n; i++)
		AddCandidate(so, so->batch_dist[i], so->batch_ids[i]);
}

/*
 * A slot that straddles pages is scored in parts, one per page, and never copied: both
 * squared L2 and dot products are sums over the dimensions. Headers never straddle and a
 * slot's floats start 8 bytes in, so pages always split it between two floats.
 */
typedef struct PartialSlot
{
	bool		active;
	uint64		id;
	float		score;
	uint32		done;			/* dimensions scored so far */
} PartialSlot;

static float
PartialScore(IvfScanOpaque so, const float *q, const float *x, size_t n)
{
	return so->unranked ? 0 : VsDistance(so->metric, q, x, n);
}

static void
ContinuePartial(IvfScanOpaque so, PartialSlot *part, const char *contents)
{
	uint32		n = Min(so->dim - part->done, (uint32) (IVF_CONTENT / sizeof(float)));

	part->score += PartialScore(so, so->query + part->done, (const float *) contents, n);
	part->done += n;
	if (part->done == so->dim)
	{
		AddCandidate(so, part->score, part->id);
		part->active = false;
	}
}

static void
StartPartial(IvfScanOpaque so, PartialSlot *part, const IvfSlotHeader *h, Size off)
{
	uint32		n = (uint32) ((IVF_CONTENT - off - sizeof(IvfSlotHeader)) / sizeof(float));

	part->active = true;
	part->id = PackTid(&h->tid);
	part->score = PartialScore(so, so->query, (const float *) ((const char *) h + sizeof(IvfSlotHeader)), n);
	part->done = n;
}

/*
 * ivfpq: the table a list's codes are scored with. L2 scores the query's residual against
 * the list's centroid; inner product (and cosine, on unit vectors) splits q.(c + r) into
 * the centroid's part, a bias, and the residual's, the query's own table.
 */
static void
PrepareListTable(IvfScanOpaque so, const IvfCache *cache, uint32 list)
{
	const float *c = cache->centroids + (Size) list * so->dim;
	uint32		i;

	if (so->unranked)
		return;
	if (so->metric == VS_METRIC_L2)
	{
		for (i = 0; i < so->dim; i++)
			so->pq_residual[i] = so->query[i] - c[i];
		vs_pq_table(&cache->pq, VS_PQ_L2, so->pq_residual, so->pq_table);
		so->pq_bias = 0;
	}
	else
	{
		so->pq_table = so->pq_query_table;
		so->pq_bias = VsDistance(so->metric, so->query, c, so->dim);
	}
}

/* ivfpq: a code that straddles pages, scored once its second part is read. */
static void
FinishStraddle(IvfScanOpaque so, PartialSlot *part, const char *contents)
{
	const uint8 *code = so->straddle;
	float		dist = 0;

	memcpy(so->straddle + part->done, contents, so->pq_shape.m - part->done);
	if (!so->unranked)
		vs_pq_scan_ptr(&so->pq_shape, so->pq_table, &code, 1, so->pq_bias, &dist);
	AddCandidate(so, dist, part->id);
	part->active = false;
}

static void
StartStraddle(IvfScanOpaque so, PartialSlot *part, const IvfSlotHeader *h, Size off)
{
	Size		n = IVF_CONTENT - off - sizeof(IvfSlotHeader);

	memcpy(so->straddle, (const char *) h + sizeof(IvfSlotHeader), n);
	part->active = true;
	part->id = PackTid(&h->tid);
	part->done = (uint32) n;
}

/* Reads one list and adds its live rows to the candidates. */
static void
ScanList(IndexScanDesc scan, BlockNumber head)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	Size		S = so->slot_size;
	Size		payload = so->pq ? so->pq_shape.m : sizeof(float) * so->dim;
	Size		vector_end = sizeof(IvfSlotHeader) + payload;
	BlockNumber blkno = head;
	uint32		nslots = 0;
	uint32		npages = 1;
	uint32		p;
	PartialSlot part = {0};

	for (p = 0; p < npages && blkno != InvalidBlockNumber; p++)
	{
		Buffer		buffer = VsReadHinted(scan->indexRelation, so->hints, blkno, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buffer);
		IvfPageOpaque opaque = IvfPageGetOpaque(page);
		char	   *contents = PageGetContents(page);
		uint32		first,
					end,
					i;
		Size		off;
		size_t		n = 0;

		/*
		 * Pull the page after next into cache while this one is scored: a build writes
		 * each list as a run of consecutive blocks, so it is usually next + 1 (the next
		 * page itself was prefetched a page ago, or with the list's head).
		 */
		VsPrefetchHinted(so->hints, opaque->next, BLCKSZ);

		if (p == 0)
		{
			VsCheckPage(scan->indexRelation, page, blkno, sizeof(IvfPageOpaqueData), VS_PAGE_ID_IVF);
			nslots = opaque->nslots;
			npages = opaque->npages;
		}
		if (part.active)
		{
			if (so->pq)
				FinishStraddle(so, &part, contents);
			else
				ContinuePartial(so, &part, contents);
		}

		IvfPageSlotRange(S, p, nslots, &first, &end);
		off = (Size) ((uint64) first * S - (uint64) p * IVF_CONTENT);
		for (i = first; i < end; i++, off += S)
		{
			IvfSlotHeader *h = (IvfSlotHeader *) (contents + off);

			if (h->flags != IVF_SLOT_LIVE)
				continue;
			if (off + vector_end <= IVF_CONTENT)
			{
				if (so->pq)
					so->batch_codes[n] = (const uint8 *) h + sizeof(IvfSlotHeader);
				else
					so->batch_rows[n] = (const float *) ((char *) h + sizeof(IvfSlotHeader));
				so->batch_ids[n] = PackTid(&h->tid);
				n++;
			}
			else if (so->pq)
				StartStraddle(so, &part, h, off);
			else
				StartPartial(so, &part, h, off);
		}
		FlushBatch(so, n);
		blkno = opaque->next;
		UnlockReleaseBuffer(buffer);
		if (end >= nslots && !part.active)
			break;
	}
}

/* The query's distance to every centroid (smaller is nearer), kept for RankLists. */
static void
ScoreCentroids(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfCache   *cache = IvfGetCache(scan->indexRelation);

	so->centroid_dist = palloc(sizeof(float) * so->lists);
	if (so->unranked)
		memset(so->centroid_dist, 0, sizeof(float) * so->lists);
	else
		VsDistancesContiguous(so->metric, so->query, cache->centroids, so->lists, so->dim,
							  so->centroid_dist);
}

/*
 * The `want` nearest lists in rank order, with their head pages. A scan first ranks only
 * the nprobe it reads (selecting 10 of 1,000 lists costs a fraction of sorting them all);
 * a scan that goes on ranks as far as it may go. Ties go to the lower list number, so the
 * longer ranking starts with the shorter one.
 */
static void
RankLists(IndexScanDesc scan, uint32 want)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfCache   *cache = IvfGetCache(scan->indexRelation);
	uint32		i;

	want = Min(want, so->lists);
	if (so->ranked != NULL)
	{
		pfree(so->ranked);
		pfree(so->heads);
	}
	so->ranked = palloc(sizeof(uint32) * want);
	so->nranked = vs_smallest_k(so->centroid_dist, so->lists, want, so->ranked);
	so->heads = palloc(sizeof(BlockNumber) * so->nranked);
	for (i = 0; i < so->nranked; i++)
		so->heads[i] = cache->heads[so->ranked[i]];
}

/* How many lists a scan may read in all (vecsearch.max_probes). */
static uint32
Reach(IvfScanOpaque so)
{
	if (vs_ivf_max_probes < 0)
		return so->lists;
	return (uint32) Min(Max(vs_ivf_max_probes, vs_ivf_nprobe), (int) so->lists);
}

/* Reads the next nprobe lists; false when the scan may read no more. */
static bool
ScanNextLists(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	uint32		batch = (uint32) Max(vs_ivf_nprobe, 1);
	uint32		stop;
	IvfCache   *cache;

	if (so->next_rank + batch > so->nranked && so->nranked < Reach(so))
		RankLists(scan, so->nranked == 0 ? Min(batch, Reach(so)) : Reach(so));
	stop = Min(so->nranked, so->next_rank + batch);
	if (so->next_rank >= stop)
		return false;
	/* fetched afresh: an invalidation between fetches may have rebuilt the relcache entry */
	cache = IvfGetCache(scan->indexRelation);
	so->hints = &cache->hints;
	for (; so->next_rank < stop; so->next_rank++)
	{
		CHECK_FOR_INTERRUPTS();
		/* the next list's first two pages arrive while this list is read */
		if (so->next_rank + 1 < so->nranked)
			VsPrefetchHinted(so->hints, so->heads[so->next_rank + 1], BLCKSZ);
		if (so->pq)
			PrepareListTable(so, cache, so->ranked[so->next_rank]);
		ScanList(scan, so->heads[so->next_rank]);
	}
	return true;
}

static void
ResetCandidates(IvfScanOpaque so)
{
	so->ntop = 0;
	so->next_top = 0;
	so->top_sorted = false;
	so->nover = 0;
	so->over_heaped = false;
}

/* The nearest candidate not yet returned: the sorted top first, then the overflow heap. */
static bool
NextCandidate(IvfScanOpaque so, VsScored *best)
{
	if (!so->top_sorted)
	{
		vs_maxheap_sort(so->top, so->ntop);
		so->top_sorted = true;
	}
	if (so->next_top < so->ntop)
	{
		*best = so->top[so->next_top++];
		return true;
	}
	if (so->nover == 0)
		return false;
	if (!so->over_heaped)
	{
		vs_minheap_build(so->over, so->nover);
		so->over_heaped = true;
	}
	*best = vs_minheap_pop(so->over, &so->nover);
	return true;
}

static void
EndRerank(IvfScanOpaque so)
{
	if (so->heap_slot != NULL)
		ExecDropSingleTupleTableSlot(so->heap_slot);
	if (so->fetch != NULL)
		table_index_fetch_end(so->fetch);
	so->heap_slot = NULL;
	so->fetch = NULL;
}

IndexScanDesc
ivfbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IvfScanOpaque so = palloc0(sizeof(IvfScanOpaqueData));

	so->scan_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivf scan", ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

void
ivfrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	(void) keys;
	(void) nkeys;
	EndRerank(so);
	MemoryContextReset(so->scan_ctx);
	so->started = false;
	so->pq = false;
	so->nexact = so->next_exact = 0;
	so->unranked = false;
	so->query = NULL;
	if (orderbys && norderbys > 0 && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/* ivfpq: the tables and the re-ranking's heap access. */
static void
StartPq(IndexScanDesc scan, const IvfCache *cache)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	Size		table_bytes = sizeof(float) * cache->pq.m * cache->pq.ksub;

	so->pq_shape = cache->pq;
	so->pq_shape.centroids = NULL;
	so->pq_table = palloc(table_bytes);
	so->pq_residual = palloc(sizeof(float) * so->dim);
	so->straddle = palloc(cache->pq.m);
	so->batch_codes = palloc(sizeof(uint8 *) * so->batch_cap);
	if (so->metric != VS_METRIC_L2 && !so->unranked)
	{
		so->pq_query_table = palloc(table_bytes);
		vs_pq_table(&cache->pq, VS_PQ_IP, so->query, so->pq_query_table);
	}
	so->exact_cap = 128;
	so->exact = palloc(sizeof(VsScored) * so->exact_cap);
	so->nexact = so->next_exact = 0;
	/* re-ranking reads the indexed column of the heap row; an expression has none */
	so->attnum = scan->indexRelation->rd_index->indkey.values[0];
}

/* ivfpq: the exact distance of a candidate from its heap row; false if there is none. */
static bool
ExactDistance(IndexScanDesc scan, uint64 id, float *dist)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	ItemPointerData tid;
	bool		call_again = false;
	bool		all_dead = false;
	bool		isnull;
	Datum		value;
	Vector	   *v;
	bool		found;

	if (so->fetch == NULL)
	{
		so->fetch = table_index_fetch_begin(scan->heapRelation);
		so->heap_slot = table_slot_create(scan->heapRelation, NULL);
	}
	UnpackTid(id, &tid);
	found = table_index_fetch_tuple(so->fetch, &tid, scan->xs_snapshot, so->heap_slot,
									&call_again, &all_dead);
	if (!found)
		return false;
	value = slot_getattr(so->heap_slot, so->attnum, &isnull);
	if (isnull)
	{
		ExecClearTuple(so->heap_slot);
		return false;
	}
	v = VsCopyRowVector(value, so->dim);
	ExecClearTuple(so->heap_slot);
	found = VsPrepareVector(so->metric, v->x, so->dim);
	if (found)
		*dist = VsDistance(so->metric, so->query, v->x, so->dim);
	pfree(v);
	return found;
}

/* The nearest candidate not yet returned, reading the next lists when the heap is dry. */
static bool
NextOrMore(IndexScanDesc scan, VsScored *best)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	while (!NextCandidate(so, best))
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(so->scan_ctx);
		bool		more;

		ResetCandidates(so);
		more = ScanNextLists(scan);
		MemoryContextSwitchTo(oldcxt);
		if (!more)
			return false;
	}
	return true;
}

/*
 * ivfpq: the next batch of up to vecsearch.rerank candidates (by code distance), scored
 * with exact distances and sorted; false when there are no more. Candidates whose heap
 * row is not visible to the scan are dropped: the executor would drop them too.
 */
static bool
RerankNext(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	VsScored	c;

	so->nexact = so->next_exact = 0;
	while (so->nexact < (size_t) vs_ivfpq_rerank && NextOrMore(scan, &c))
	{
		float		d;

		CHECK_FOR_INTERRUPTS();
		if (ExactDistance(scan, c.id, &d))
		{
			if (so->nexact == so->exact_cap)
			{
				so->exact_cap *= 2;
				so->exact = repalloc_huge(so->exact, sizeof(VsScored) * so->exact_cap);
			}
			c.dist = d;
			so->exact[so->nexact++] = c;
		}
	}
	qsort(so->exact, so->nexact, sizeof(VsScored),
		  (int (*) (const void *, const void *)) vs_scored_cmp);
	return so->nexact > 0;
}

/* Whether this scan re-ranks: ivfpq, a query, a heap row to read, and rerank > 0. */
static bool
Reranks(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	return so->pq && !so->unranked && vs_ivfpq_rerank > 0 && so->attnum != 0 &&
		scan->heapRelation != NULL;
}

/* Everything the first fetch needs: the query, the ranking, the buffers. */
static void
StartScan(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfCache   *cache = IvfGetCache(scan->indexRelation);
	MemoryContext oldcxt = MemoryContextSwitchTo(so->scan_ctx);

	so->started = true;
	so->metric = cache->metric;
	so->dim = cache->meta.dim;
	so->lists = cache->meta.lists;
	so->slot_size = cache->meta.slot_size;

	so->query = palloc(sizeof(float) * so->dim);
	so->unranked = !VsScanQuery(scan, so->metric, so->dim, so->query);

	ScoreCentroids(scan);
	so->ranked = NULL;
	so->nranked = 0;
	so->next_rank = 0;
	so->over_cap = 1024;
	so->over = palloc(sizeof(VsScored) * so->over_cap);
	ResetCandidates(so);
	so->batch_cap = IVF_CONTENT / sizeof(IvfSlotHeader) + 1;
	so->batch_rows = palloc(sizeof(float *) * so->batch_cap);
	so->batch_ids = palloc(sizeof(uint64) * so->batch_cap);
	so->batch_dist = palloc(sizeof(float) * so->batch_cap);
	so->pq = cache->pq.m > 0;
	if (so->pq)
		StartPq(scan, cache);
	MemoryContextSwitchTo(oldcxt);
}

bool
ivfgettuple(IndexScanDesc scan, ScanDirection dir)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	VsScored	best;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "ivf index scans go forward only");
	if (!so->started)
	{
		MemoryContext oldcxt;

		StartScan(scan);
		oldcxt = MemoryContextSwitchTo(so->scan_ctx);
		ScanNextLists(scan);
		MemoryContextSwitchTo(oldcxt);
		pgstat_count_index_scan(scan->indexRelation);
	}

	if (Reranks(scan))
	{
		if (so->next_exact >= so->nexact && !RerankNext(scan))
			return false;
		best = so->exact[so->next_exact++];
	}
	else if (!NextOrMore(scan, &best))
		return false;
	UnpackTid(best.id, &scan->xs_heaptid);
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	VsSetEmptyIndexTuple(scan);
	return true;
}

void
ivfendscan(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	EndRerank(so);
	MemoryContextDelete(so->scan_ctx);
	pfree(so);
	scan->opaque = NULL;
}
