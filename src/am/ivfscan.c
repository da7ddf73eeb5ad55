/*
 * ivfscan.c — ORDER BY <distance> scans of an ivf index.
 *
 * The first fetch ranks the centroids, reads the vecsearch.nprobe nearest lists, and heaps
 * every live row by its exact distance; fetches then pop rows nearest first. When the
 * executor keeps asking for rows (a WHERE clause rejected some), the scan reads the next
 * nprobe lists in rank order, up to vecsearch.max_probes lists in all, so filtered queries
 * return LIMIT rows whenever enough rows match. In strict order (the default) the next lists
 * are read ahead and merged, and a row found nearer than one returned already is left out:
 * rows come back in distance order (IvfNextCandidate, ivfgettuple).
 *
 * A list is read one page at a time under a share lock; slots wholly on the page are
 * scored in one batch straight from the buffer, and a slot that straddles pages is scored
 * in parts. How a slot's payload is scored is the access method's (IvfScoring, ivfscan.h):
 * ivf's vectors here, ivfpq's codes in ivfpqscan.c.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "ivfscan.h"
#include "pgvector_settings.h"
#include "rerank.h"

/* ivf: n rows against the query. */
static void
ScoreVectors(IvfScanOpaque so, const void *const *rows, size_t n, float *out)
{
	VsDistancesStored(so->metric, so->storage, so->query, rows, (int) n, so->dim, out, so->widened);
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
	if (so->unranked)
		memset(so->batch_dist, 0, sizeof(float) * n);
	else
		so->scoring->score(so, so->batch_payloads, n, so->batch_dist);
	for (i = 0; i < n; i++)
	{
		so->list_min = Min(so->list_min, so->batch_dist[i]);
		AddCandidate(so, so->batch_dist[i], so->batch_ids[i]);
	}
}

/*
 * ivf: a vector that straddles pages is scored in parts, one per page, and never copied:
 * both squared L2 and dot products are sums over the dimensions. Headers never straddle
 * and a slot's vector starts 8 bytes in, so pages always split it at a multiple of 8 bytes
 * (between two floats, halves, or bytes of bits); `done` counts the dimensions scored.
 */
static float
PartialScore(IvfScanOpaque so, const float *q, const void *x, size_t n)
{
	return so->unranked ? 0 : VsDistanceStored(so->metric, so->storage, q, x, (int) n);
}

static void
StartPartial(IvfScanOpaque so, IvfSplitSlot *part, const char *payload, Size bytes)
{
	uint32		n = (uint32) Min(VsStoredPerBytes(so->storage, bytes), (int) so->dim);

	part->dist = PartialScore(so, so->query, payload, n);
	part->done = n;
}

static bool
ContinuePartial(IvfScanOpaque so, IvfSplitSlot *part, const char *contents)
{
	uint32		n = Min(so->dim - part->done, (uint32) VsStoredPerBytes(so->storage, IVF_CONTENT));

	part->dist += PartialScore(so, so->query + part->done, contents, n);
	part->done += n;
	return part->done == so->dim;
}

/* Reads one list and adds its live rows to the candidates. */
static void
ScanList(IndexScanDesc scan, BlockNumber head)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	Size		S = so->slot_size;
	Size		payload_end = sizeof(IvfSlotHeader) + so->payload;
	BlockNumber blkno = head;
	uint32		nslots = 0;
	uint32		npages = 1;
	uint32		p;
	IvfSplitSlot part = {0};

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
		if (part.active && so->scoring->split_continue(so, &part, contents))
		{
			so->list_min = Min(so->list_min, part.dist);
			AddCandidate(so, part.dist, part.id);
			part.active = false;
		}

		IvfPageSlotRange(S, p, nslots, &first, &end);
		off = (Size) ((uint64) first * S - (uint64) p * IVF_CONTENT);
		for (i = first; i < end; i++, off += S)
		{
			IvfSlotHeader *h = (IvfSlotHeader *) (contents + off);

			if (h->flags != IVF_SLOT_LIVE)
				continue;
			if (off + payload_end <= IVF_CONTENT)
			{
				so->batch_payloads[n] = (const char *) h + sizeof(IvfSlotHeader);
				so->batch_ids[n] = VsPackTid(&h->tid);
				n++;
			}
			else
			{
				part.active = true;
				part.id = VsPackTid(&h->tid);
				so->scoring->split_start(so, &part, (const char *) h + sizeof(IvfSlotHeader),
										 IVF_CONTENT - off - sizeof(IvfSlotHeader));
			}
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
	if (VsIvfMaxProbes() < 0)
		return so->lists;
	return (uint32) Min(Max(VsIvfMaxProbes(), VsIvfProbes()), (int) so->lists);
}

/* Reads the next nprobe lists; false when the scan may read no more. */
static bool
ScanNextLists(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	uint32		batch = (uint32) Max(VsIvfProbes(), 1);
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
		if (so->scoring->start_list != NULL)
			so->scoring->start_list(scan, cache, so->ranked[so->next_rank]);
		so->list_min = get_float4_infinity();
		ScanList(scan, so->heads[so->next_rank]);
		if (so->list_min < get_float4_infinity())
			so->horizon = so->list_min;
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

/* A scan whose slots `scoring` scores (ivfbeginscan, ivfpqbeginscan). */
IndexScanDesc
IvfBeginScan(Relation index, int nkeys, int norderbys, const IvfScoring *scoring)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IvfScanOpaque so = palloc0(sizeof(IvfScanOpaqueData));

	so->scan_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivf scan", ALLOCSET_DEFAULT_SIZES);
	so->scoring = scoring;
	scan->opaque = so;
	return scan;
}

/* What the scan started, beyond its memory, ended: before a rescan and at the end. */
static void
EndScoring(IvfScanOpaque so)
{
	if (so->started && so->scoring->end != NULL)
		so->scoring->end(so);
}

void
ivfrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	(void) keys;
	(void) nkeys;
	EndScoring(so);
	MemoryContextReset(so->scan_ctx);
	so->started = false;
	so->scoring_state = NULL;
	so->unranked = false;
	so->query = NULL;
	if (orderbys && norderbys > 0 && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/* Moves the top's rows not yet returned to the overflow heap, which then holds them all. */
static void
MergeTop(IvfScanOpaque so)
{
	size_t		i;

	for (i = so->next_top; i < so->ntop; i++)
		AddOverflow(so, so->top[i]);
	so->ntop = so->next_top = 0;
	so->top_sorted = false;
	so->over_heaped = false;
}

/*
 * The nearest candidate not yet returned, left in place: the sorted top first, then the
 * overflow heap (sorted, or heaped, on first use). False if there is none.
 */
static VsScored *
PeekCandidate(IvfScanOpaque so)
{
	if (!so->top_sorted)
	{
		vs_maxheap_sort(so->top, so->ntop);
		so->top_sorted = true;
	}
	if (so->next_top < so->ntop)
		return &so->top[so->next_top];
	if (so->nover == 0)
		return NULL;
	if (!so->over_heaped)
	{
		vs_minheap_build(so->over, so->nover);
		so->over_heaped = true;
	}
	return &so->over[0];
}

/* The nearest candidate not yet returned, taken. */
static bool
NextCandidate(IvfScanOpaque so, VsScored *best)
{
	if (PeekCandidate(so) == NULL)
		return false;
	if (so->next_top < so->ntop)
		*best = so->top[so->next_top++];
	else
		*best = vs_minheap_pop(so->over, &so->nover);
	return true;
}

/*
 * Reads the next lists. Relaxed order and the first read start afresh (the heap is dry);
 * strict order merges them with the rows not yet returned. False when no list is left.
 */
static bool
ReadMoreLists(IndexScanDesc scan, bool merge)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	MemoryContext oldcxt = MemoryContextSwitchTo(so->scan_ctx);
	bool		more;

	if (merge)
		MergeTop(so);
	else
		ResetCandidates(so);
	more = ScanNextLists(scan);
	if (merge)
		MergeTop(so);
	so->lists_done = !more;
	MemoryContextSwitchTo(oldcxt);
	return more;
}

/*
 * Strict order, past the ungated candidates: whether the next one must wait for the next
 * lists. Lists are read nearest centroid first, so a row of an unread list is rarely nearer
 * than the nearest row of the last list read (there is no useful proven bound: the
 * Voronoi cells' half-space bounds let the first row out only after most lists are read).
 */
static bool
MustReadOn(IvfScanOpaque so)
{
	VsScored   *next;

	if (so->mode != VS_SCAN_STRICT || so->lists_done || so->handed < so->ungated)
		return false;
	next = PeekCandidate(so);
	return next != NULL && next->dist > so->horizon;
}

/*
 * The nearest candidate not yet returned. When the heap runs dry the scan reads the next
 * lists; strict order reads them before a candidate beyond the horizon (MustReadOn).
 */
bool
IvfNextCandidate(IndexScanDesc scan, VsScored *best)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	bool		strict = so->mode == VS_SCAN_STRICT;

	for (;;)
	{
		while (MustReadOn(so))
			ReadMoreLists(scan, true);
		if (NextCandidate(so, best))
		{
			so->handed++;
			return true;
		}
		if (so->lists_done || !ReadMoreLists(scan, strict))
			return false;
	}
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
	so->mode = VsIvfScanMode();
	so->ungated = IVF_UNGATED;
	so->handed = 0;
	so->horizon = get_float4_infinity();
	so->returned = false;
	so->left_out = 0;
	so->lists_done = false;
	so->ranked = NULL;
	so->nranked = 0;
	so->next_rank = 0;
	so->over_cap = 1024;
	so->over = palloc(sizeof(VsScored) * so->over_cap);
	ResetCandidates(so);
	so->batch_cap = IVF_CONTENT / sizeof(IvfSlotHeader) + 1;
	so->batch_payloads = palloc(sizeof(void *) * so->batch_cap);
	so->batch_ids = palloc(sizeof(uint64) * so->batch_cap);
	so->batch_dist = palloc(sizeof(float) * so->batch_cap);
	so->scoring->begin(scan, cache);
	MemoryContextSwitchTo(oldcxt);
}

bool
ivfgettuple(IndexScanDesc scan, ScanDirection dir)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	VsScored	best;
	ItemPointerData tid;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "ivf index scans go forward only");
	if (!so->started)
	{
		StartScan(scan);
		ReadMoreLists(scan, false);
		pgstat_count_index_scan(scan->indexRelation);
	}

	for (;;)
	{
		if (!(so->scoring->next != NULL ? so->scoring->next(scan, &best) : IvfNextCandidate(scan, &best)))
		{
			if (so->left_out > 0)
			{
				VsReportLeftOut(scan->indexRelation, so->left_out, "ivfflat.probes",
								"ivfflat.iterative_scan");
				so->left_out = 0;
			}
			return false;
		}
		/* strict order: never a row nearer than one returned already */
		if (so->mode != VS_SCAN_STRICT || !so->returned || !(best.dist < so->last_dist))
			break;
		so->left_out++;
	}
	so->returned = true;
	so->last_dist = best.dist;
	VsUnpackTid(best.id, &tid);
	VsReturnRow(scan, &tid);
	return true;
}

void
ivfendscan(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	EndScoring(so);
	MemoryContextDelete(so->scan_ctx);
	pfree(so);
	scan->opaque = NULL;
}

/* ivf: slots hold the vectors themselves. */
static void
BeginVectors(IndexScanDesc scan, IvfCache *cache)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	if (cache->meta.pq_subvectors != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivf index \"%s\" holds product-quantization codes",
						RelationGetRelationName(scan->indexRelation)),
				 errhint("Please REINDEX it.")));
	so->storage = (VsStorage) cache->meta.storage;
	so->payload = VsStoredBytes(so->storage, so->dim);
	if (so->storage != VS_STORAGE_FLOAT)
		so->widened = MemoryContextAlloc(so->scan_ctx, sizeof(float) * VS_STORED_BATCH * so->dim);
}

static const IvfScoring IvfVectorScoring = {
	.begin = BeginVectors,
	.score = ScoreVectors,
	.split_start = StartPartial,
	.split_continue = ContinuePartial,
};

IndexScanDesc
ivfbeginscan(Relation index, int nkeys, int norderbys)
{
	return IvfBeginScan(index, nkeys, norderbys, &IvfVectorScoring);
}
