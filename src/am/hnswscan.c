/*
 * hnswscan.c — ORDER BY <distance> scans of an hnsw index.
 *
 * A walk from the entry point down to level 1 (HnswDescend), then a best-first search of level 0
 * in rounds. A round keeps the vecsearch.ef_search nearest elements found (the paper's
 * result set W) and stops when the nearest unexpanded element is farther than all of them;
 * W is then returned nearest first. Everything else the round found stays: unexpanded
 * elements in the frontier, unreturned ones in the pool. When the executor keeps fetching
 * (a WHERE clause rejected rows, or LIMIT is larger than ef_search), the next round seeds W
 * from the pool and explores on from the frontier, and a sweep of the element pages finds
 * what the graph does not reach. So a query returns LIMIT rows whenever enough rows match.
 * In strict order (the default) a row waits for the next round when an element nearer than
 * it may still be found (MustExploreOn), and a row found nearer than one returned already is
 * left out: rows come back in distance order.
 * vecsearch.hnsw_max_scan_tuples, when set, bounds the elements a scan scores in all; a scan
 * it stops says so in a NOTICE.
 */
#include "postgres.h"

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "pgvector_settings.h"
#include "topk.h"
#include "vector.h"

typedef struct HnswScanOpaqueData
{
	MemoryContext scan_ctx;
	bool		started;
	bool		swept;			/* Sweep ran */
	int			rounds;			/* Rounds run (hnsw.iterative_scan = off: one) */
	bool		capped;			/* a limit stopped a round or the sweep: */
	bool		capped_by_memory;	/* hnsw.scan_mem_multiplier's, else the element cap */
	bool		unranked;		/* NULL query, or a zero one under cosine */
	HnswShape	shape;
	float	   *query;
	HnswSearcher *searcher;

	HnswCandidate *items;		/* every element scored so far */
	int			nitems;
	int			items_cap;
	VsScored   *frontier;		/* min-heap of items not yet expanded */
	size_t		nfrontier;
	size_t		frontier_cap;
	VsScored   *pool;			/* min-heap of live items neither returned nor in a batch */
	size_t		npool;
	size_t		pool_cap;
	VsScored   *later;			/* items W did not take when found: see Discover */
	size_t		nlater;
	size_t		later_cap;

	VsScored   *batch;			/* the current round's W, nearest first */
	size_t		nbatch;
	size_t		next;
	int			next_heaptid;	/* of batch[next] */

	char	   *arena;			/* see ArenaAlloc */
	Size		arena_used;
	Size		arena_size;
	Size		arena_total;	/* of every block the scan allocated */
	bool		borrowed;		/* items, frontier, pool and the first arena block are kept's */
	bool		returned;		/* a row was returned; last_dist is its distance */
	float		last_dist;
	uint64		left_out;		/* strict order: rows found nearer than one returned */

	/* strict order's horizon: see MustExploreOn */
	uint64		nreturned;
	float		later_min;		/* nearest of `later` */
	float		max_drop;		/* how much nearer than its parent an element came */
	size_t		progress;		/* elements the last round expanded or took from `later` */
	float		explore_to;		/* a round expands elements up to here even when W is full */
} HnswScanOpaqueData;

typedef HnswScanOpaqueData *HnswScanOpaque;

/*
 * The arrays a scan grows and its first arena block, kept from one scan to the next in
 * this backend: a query that starts from freshly mapped memory spends a tenth of its time
 * in page faults. One scan at a time borrows them (a second one open at the same time
 * allocates its own); they come back when the scan's memory context is reset or deleted,
 * also when the scan ends in an error.
 */
typedef struct HnswScanMemory
{
	bool		lent;
	HnswCandidate *items;
	int			items_cap;
	VsScored   *frontier;
	size_t		frontier_cap;
	VsScored   *pool;
	size_t		pool_cap;
	VsScored   *later;
	size_t		later_cap;
	char	   *arena;
} HnswScanMemory;

#define HNSW_ARENA_BLOCK	65536
/* arrays grown beyond this by one large scan are given back to the allocator */
#define HNSW_KEPT_MAX_BYTES (16 * 1024 * 1024)

static HnswScanMemory kept;
static MemoryContext kept_cxt;

static void
ReturnMemory(void *arg)
{
	HnswScanOpaque so = (HnswScanOpaque) arg;

	if (!so->borrowed)
		return;
	so->borrowed = false;
	kept.lent = false;
	if (sizeof(HnswCandidate) * so->items_cap +
		sizeof(VsScored) * (so->frontier_cap + so->pool_cap + so->later_cap) > HNSW_KEPT_MAX_BYTES)
	{
		pfree(so->items);
		pfree(so->frontier);
		pfree(so->pool);
		pfree(so->later);
		kept.items = NULL;
		return;
	}
	kept.items = so->items;
	kept.items_cap = so->items_cap;
	kept.frontier = so->frontier;
	kept.frontier_cap = so->frontier_cap;
	kept.pool = so->pool;
	kept.pool_cap = so->pool_cap;
	kept.later = so->later;
	kept.later_cap = so->later_cap;
}

/* The scan's arrays: kept's if they are free, else new ones in the scan's context. */
static void
BorrowMemory(HnswScanOpaque so)
{
	MemoryContextCallback *cb;

	if (kept.lent)
	{
		so->items_cap = 256;
		so->items = palloc(sizeof(HnswCandidate) * so->items_cap);
		so->frontier_cap = so->pool_cap = so->later_cap = 256;
		so->frontier = palloc(sizeof(VsScored) * so->frontier_cap);
		so->pool = palloc(sizeof(VsScored) * so->pool_cap);
		so->later = palloc(sizeof(VsScored) * so->later_cap);
		return;
	}
	if (kept_cxt == NULL)
		kept_cxt = AllocSetContextCreate(TopMemoryContext, "hnsw scan memory", ALLOCSET_DEFAULT_SIZES);
	if (kept.arena == NULL)
		kept.arena = MemoryContextAlloc(kept_cxt, HNSW_ARENA_BLOCK);
	if (kept.items == NULL)
	{
		kept.items_cap = 1024;
		kept.items = MemoryContextAlloc(kept_cxt, sizeof(HnswCandidate) * kept.items_cap);
		kept.frontier_cap = kept.pool_cap = kept.later_cap = 1024;
		kept.frontier = MemoryContextAlloc(kept_cxt, sizeof(VsScored) * kept.frontier_cap);
		kept.pool = MemoryContextAlloc(kept_cxt, sizeof(VsScored) * kept.pool_cap);
		kept.later = MemoryContextAlloc(kept_cxt, sizeof(VsScored) * kept.later_cap);
	}
	kept.lent = true;
	so->borrowed = true;
	so->items = kept.items;
	so->items_cap = kept.items_cap;
	so->frontier = kept.frontier;
	so->frontier_cap = kept.frontier_cap;
	so->pool = kept.pool;
	so->pool_cap = kept.pool_cap;
	so->later = kept.later;
	so->later_cap = kept.later_cap;
	so->arena = kept.arena;
	so->arena_size = HNSW_ARENA_BLOCK;
	so->arena_total = HNSW_ARENA_BLOCK;
	so->arena_used = 0;
	cb = MemoryContextAlloc(so->scan_ctx, sizeof(MemoryContextCallback));
	cb->func = ReturnMemory;
	cb->arg = so;
	MemoryContextRegisterResetCallback(so->scan_ctx, cb);
}

/* Neighbour lists of scored elements: many small pieces for the scan's lifetime. */
static void *
ArenaAlloc(void *arg, Size size)
{
	HnswScanOpaque so = (HnswScanOpaque) arg;
	void	   *p;

	size = MAXALIGN(size);
	if (so->arena == NULL || so->arena_used + size > so->arena_size)
	{
		so->arena_size = Max((Size) 65536, size);
		so->arena = MemoryContextAlloc(so->scan_ctx, so->arena_size);
		so->arena_total += so->arena_size;
		so->arena_used = 0;
	}
	p = so->arena + so->arena_used;
	so->arena_used += size;
	return p;
}

/* Room for one more in an array of the scan's (allocated, capacity at least 1). */
static void
Reserve(VsScored **items, size_t n, size_t *cap)
{
	if (n == *cap)
	{
		*cap *= 2;
		*items = repalloc_huge(*items, sizeof(VsScored) * *cap);
	}
}

static void
Push(VsScored **heap, size_t *n, size_t *cap, VsScored item)
{
	Reserve(heap, *n, cap);
	vs_minheap_push(*heap, n, item);
}

static int
AddItem(HnswScanOpaque so, const HnswCandidate *c)
{
	if (so->nitems == so->items_cap)
	{
		so->items_cap *= 2;
		so->items = repalloc_huge(so->items, sizeof(HnswCandidate) * so->items_cap);
	}
	so->items[so->nitems] = *c;
	if (so->unranked)
		so->items[so->nitems].dist = 0;
	return so->nitems++;
}

/*
 * What the scan holds: the elements it scored, its heaps and its arena (neighbour lists).
 * Counted by use, not capacity: the arrays may be kept from a larger scan before.
 */
static Size
ScanMemory(HnswScanOpaque so)
{
	return sizeof(HnswCandidate) * so->nitems +
		sizeof(VsScored) * (so->nfrontier + so->npool + so->nlater) +
		so->arena_total;
}

/*
 * Whether the limits let the scan score another element: vecsearch.hnsw_max_scan_tuples
 * (hnsw.max_scan_tuples) and work_mem x hnsw.scan_mem_multiplier.
 */
static bool
MayScoreMore(HnswScanOpaque so)
{
	int			cap = VsHnswMaxScanTuples();

	if (cap >= 0 && so->nitems >= cap)
	{
		so->capped = true;
		so->capped_by_memory = false;
		return false;
	}
	if (ScanMemory(so) > VsHnswScanMemLimit())
	{
		so->capped = true;
		so->capped_by_memory = true;
		return false;
	}
	return true;
}

/*
 * A newly scored item: to the frontier, and to W (or the pool) if it is a live one. An
 * item farther than all of a full W can neither be expanded nor returned in this round (W's
 * worst distance only falls), so it waits unsorted in `later` until a next round, if the
 * executor asks for one, puts it into the frontier and the pool: most rounds are the
 * last, and most items found are such items.
 */
static void
Discover(HnswScanOpaque so, const HnswCandidate *c, VsScored *w, size_t *nw, int ef)
{
	VsScored	s;

	s.id = (uint64) AddItem(so, c);
	s.dist = so->items[s.id].dist;
	if (*nw == (size_t) ef && s.dist > Max(w[0].dist, so->explore_to))
	{
		Reserve(&so->later, so->nlater, &so->later_cap);
		so->later[so->nlater++] = s;
		so->later_min = Min(so->later_min, s.dist);
		return;
	}
	Push(&so->frontier, &so->nfrontier, &so->frontier_cap, s);
	if (c->deleted)
		return;
	if (*nw == (size_t) ef)
	{
		VsScored	worst = w[0];

		if (vs_maxheap_push_bounded(w, nw, ef, s))
			Push(&so->pool, &so->npool, &so->pool_cap, worst);
		else
			Push(&so->pool, &so->npool, &so->pool_cap, s);
	}
	else
		vs_maxheap_push_bounded(w, nw, ef, s);
}

/* The level-0 neighbours of an item scored without them; none if it is gone. */
static void
ReadNeighbors(HnswScanOpaque so, HnswCandidate *item)
{
	HnswCandidate again;

	item->nneighbors = 0;
	item->neighbors = NULL;
	if (HnswScore(so->searcher, &item->tid, 0, &again))
	{
		item->nneighbors = again.nneighbors;
		item->neighbors = again.neighbors;
	}
}

/*
 * Strict order, past the first half of the first round's rows: whether the next row must
 * wait for another round. Elements are found by expanding those of the frontier, and an
 * element is seldom nearer than the one it was found from by more than any so far (the
 * largest drop, counted only from elements beyond the last row returned: the walk from the
 * entry point, and the first round, drop far). So a
 * row farther than the frontier's nearest less that drop waits; the next round takes it
 * from the pool again, expands the frontier up to the row's distance plus the drop, and
 * puts what it finds nearer in its place.
 */
static bool
MustExploreOn(HnswScanOpaque so, int ef)
{
	float		frontier_min = so->later_min;
	float		dist;

	if (so->nfrontier > 0)
		frontier_min = Min(frontier_min, so->frontier[0].dist);
	if (so->next_heaptid != 0 || so->next >= so->nbatch || so->nreturned < (uint64) (ef / 2))
		return false;
	/*
	 * A round that neither expanded an element nor took one from `later` (a cap stopped it)
	 * changed nothing: another would only come back here, for ever.
	 */
	if (so->progress == 0)
		return false;
	dist = so->batch[so->next].dist;
	if (!(dist > frontier_min - so->max_drop))
		return false;
	/* the round explores what lies within the drop of the row, W full or not */
	so->explore_to = dist + so->max_drop;
	return true;
}

/* The rows of the batch not yet returned go back to the pool for the next round. */
static void
ReadAhead(HnswScanOpaque so)
{
	for (; so->next < so->nbatch; so->next++)
		Push(&so->pool, &so->npool, &so->pool_cap, so->batch[so->next]);
}

/* One round; false when it found nothing more to return. */
static bool
Round(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	int			ef = Max(VsHnswEfSearch(), 1);
	VsScored   *w = palloc(sizeof(VsScored) * (ef + 1));
	size_t		nw = 0;
	size_t		i;

	so->rounds++;
	/* what earlier rounds left for later */
	for (i = 0; i < so->nlater; i++)
	{
		Push(&so->frontier, &so->nfrontier, &so->frontier_cap, so->later[i]);
		if (!so->items[so->later[i].id].deleted)
			Push(&so->pool, &so->npool, &so->pool_cap, so->later[i]);
	}
	so->progress = so->nlater;
	so->nlater = 0;
	so->later_min = get_float4_infinity();

	while (nw < (size_t) ef && so->npool > 0)
		vs_maxheap_push_bounded(w, &nw, ef, vs_minheap_pop(so->pool, &so->npool));

	while (so->nfrontier > 0 && MayScoreMore(so))
	{
		VsScored	c = so->frontier[0];
		int			nn;
		ItemPointerData *nbrs;
		int			j;

		if (nw >= (size_t) ef && c.dist > Max(w[0].dist, so->explore_to))
			break;
		vs_minheap_pop(so->frontier, &so->nfrontier);
		so->progress++;
		CHECK_FOR_INTERRUPTS();
		if (so->items[c.id].nneighbors == HNSW_NEIGHBORS_UNREAD)
			ReadNeighbors(so, &so->items[c.id]);
		/* copies: Discover may move the items array */
		nn = so->items[c.id].nneighbors;
		nbrs = so->items[c.id].neighbors;
		{
			ItemPointerData fresh[2 * HNSW_MAX_M];
			HnswCandidate scored[2 * HNSW_MAX_M];
			int			nfresh = HnswTakeUnvisited(so->searcher, nbrs, nn, fresh);
			int			nscored;
			int			cap = VsHnswMaxScanTuples();

			/* a cap counts every element scored: the last expansion may score only part */
			if (cap >= 0 && so->nitems + nfresh > cap)
				nfresh = Max(cap - so->nitems, 0);

			/* in chunks: each page of a chunk stays pinned and locked until it is scored */
			for (j = 0; j < nfresh; j += HNSW_SCORE_CHUNK)
			{
				int			k;

				/* elements that W does not take now are expanded late if ever */
				float		keep_below = nw >= (size_t) ef ?
					Max(w[0].dist, so->explore_to) : get_float4_infinity();

				nscored = HnswScoreBatch(so->searcher, fresh + j, Min(nfresh - j, HNSW_SCORE_CHUNK),
										 0, keep_below, scored, ArenaAlloc, so);
				for (k = 0; k < nscored; k++)
				{
					if (so->returned && c.dist >= so->last_dist)
						so->max_drop = Max(so->max_drop, c.dist - scored[k].dist);
					Discover(so, &scored[k], w, &nw, ef);
				}
			}
		}
	}
	so->explore_to = -get_float4_infinity();
	vs_maxheap_sort(w, nw);
	if (so->batch)
		pfree(so->batch);
	so->batch = w;
	so->nbatch = nw;
	so->next = 0;
	so->next_heaptid = 0;
	return nw > 0;
}

/*
 * The graph search ran out of elements to explore but the executor wants more rows: an
 * HNSW graph does not promise that every element is reachable (a deleted neighbourhood,
 * inner product's hubs, a tight group whose links were all pruned), so read the element
 * pages for the live elements never visited. Their rounds return them nearest first.
 */
static void
Sweep(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	BlockNumber nblocks = RelationGetNumberOfBlocks(scan->indexRelation);
	BlockNumber blkno;

	so->swept = true;
	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks && MayScoreMore(so); blkno++)
	{
		Buffer		buffer = VsReadLocked(scan->indexRelation, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buffer);
		OffsetNumber maxoff = 0;
		OffsetNumber off;

		if (HnswIsElementPage(page))
			maxoff = PageGetMaxOffsetNumber(page);
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemPointerData tid;
			HnswCandidate c;
			VsScored	sc;

			ItemPointerSet(&tid, blkno, off);
			if (!HnswMarkVisited(so->searcher, &tid) ||
				!HnswScore(so->searcher, &tid, 0, &c) || c.deleted)
				continue;
			sc.id = (uint64) AddItem(so, &c);
			sc.dist = so->items[sc.id].dist;
			Push(&so->pool, &so->npool, &so->pool_cap, sc);
		}
	}
}

static void
StartScan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswMetaPageData meta;
	HnswCandidate entry;
	VsScored	w[1];
	size_t		nw = 0;

	so->started = true;
	HnswGetShape(scan->indexRelation, &so->shape);
	HnswReadMeta(scan->indexRelation, &meta);
	BorrowMemory(so);
	so->query = palloc0(sizeof(float) * so->shape.dim);

	so->unranked = !VsScanQuery(scan, so->shape.metric, so->shape.dim, so->query);
	so->searcher = HnswSearcherCreate(scan->indexRelation, &so->shape, so->query,
									  HnswGetHints(scan->indexRelation));
	if (!ItemPointerIsValid(&meta.entry) ||
		!HnswScore(so->searcher, &meta.entry, meta.entry_level, &entry))
		return;
	HnswDescend(so->searcher, &entry, meta.entry_level, 0, HnswDescentEf(VsHnswEfSearch()));
	HnswSearcherReset(so->searcher);
	if (!HnswScore(so->searcher, &entry.tid, 0, &entry))
		return;
	/* a round visits up to ef_search x 2m elements, most of them once */
	HnswSearcherExpect(so->searcher, Max(VsHnswEfSearch(), 1) * 2 * so->shape.m);
	so->later_min = get_float4_infinity();
	so->explore_to = -get_float4_infinity();
	HnswMarkVisited(so->searcher, &entry.tid);
	Discover(so, &entry, w, &nw, 1);
	if (nw > 0)
		Push(&so->pool, &so->npool, &so->pool_cap, w[0]);
}

/* The scan ends because of the cap, not because it ran out of rows: say so. */
static void
ReportCapped(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	bool		pgvectors = VsHnswMaxScanTuplesIsPgvectors();

	if (so->capped_by_memory)
	{
		ereport(NOTICE,
				(errmsg("hnsw scan of index \"%s\" stopped after scoring %d elements, "
						"at the memory work_mem x hnsw.scan_mem_multiplier allows (%zu kB)",
						RelationGetRelationName(scan->indexRelation), so->nitems,
						VsHnswScanMemLimit() / 1024),
				 errdetail("The query may have fewer rows than its LIMIT asks for."),
				 errhint("Raise work_mem or hnsw.scan_mem_multiplier.")));
		so->capped = false;
		return;
	}
	ereport(NOTICE,
			(errmsg("hnsw scan of index \"%s\" stopped after scoring %d elements, "
					"the limit %s sets",
					RelationGetRelationName(scan->indexRelation), so->nitems,
					pgvectors ? "hnsw.max_scan_tuples" : "vecsearch.hnsw_max_scan_tuples"),
			 errdetail("The query may have fewer rows than its LIMIT asks for."),
			 pgvectors ?
			 errhint("Raise hnsw.max_scan_tuples (its default, 2147483647, is no limit).") :
			 errhint("Raise vecsearch.hnsw_max_scan_tuples, or set it to -1 for no limit.")));
	so->capped = false;
}

IndexScanDesc
hnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanOpaque so = palloc0(sizeof(HnswScanOpaqueData));

	so->scan_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan", ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

void
hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext cxt = so->scan_ctx;

	(void) keys;
	(void) nkeys;
	MemoryContextReset(cxt);
	memset(so, 0, sizeof(HnswScanOpaqueData));
	so->scan_ctx = cxt;
	if (orderbys && norderbys > 0 && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

bool
hnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext oldcxt;
	VsScored	best;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "hnsw index scans go forward only");
	oldcxt = MemoryContextSwitchTo(so->scan_ctx);
	if (!so->started)
	{
		StartScan(scan);
		pgstat_count_index_scan(scan->indexRelation);
	}
	/* the hints live in the relcache entry, which an invalidation may have rebuilt */
	if (so->searcher != NULL)
		HnswSearcherSetHints(so->searcher, HnswGetHints(scan->indexRelation));
	for (;;)
	{
		bool		strict = VsHnswScanMode() == VS_SCAN_STRICT;

		if (strict && MustExploreOn(so, Max(VsHnswEfSearch(), 1)))
			ReadAhead(so);
		while (so->next >= so->nbatch)
		{
			/* hnsw.iterative_scan = off: pgvector's single pass, up to ef_search rows */
			bool		goes_on = VsHnswScanMode() != VS_SCAN_ONE_PASS;
			bool		found = (so->rounds == 0 || goes_on) &&
				(so->nfrontier > 0 || so->npool > 0 || so->nlater > 0) && Round(scan);

			if (!found && !goes_on)
			{
				MemoryContextSwitchTo(oldcxt);
				return false;
			}
			if (!found && !so->swept && MayScoreMore(so))
			{
				Sweep(scan);
				found = so->npool > 0 && Round(scan);
			}
			if (!found)
			{
				MemoryContextSwitchTo(oldcxt);
				if (so->capped)
					ReportCapped(scan);
				if (so->left_out > 0)
				{
					VsReportLeftOut(scan->indexRelation, so->left_out, "hnsw.ef_search",
									"hnsw.iterative_scan");
					so->left_out = 0;
				}
				return false;
			}
		}
		best = so->batch[so->next];
		if (!strict || !so->returned || !(best.dist < so->last_dist))
			break;
		/* a later round found it nearer than a row returned already */
		so->left_out++;
		so->next++;
		so->next_heaptid = 0;
	}
	MemoryContextSwitchTo(oldcxt);
	so->returned = true;
	so->nreturned++;
	so->last_dist = best.dist;
	VsReturnRow(scan, &so->items[best.id].heaptids[so->next_heaptid++]);
	if (so->next_heaptid >= so->items[best.id].nheaptids)
	{
		so->next++;
		so->next_heaptid = 0;
	}
	return true;
}

void
hnswendscan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	MemoryContextDelete(so->scan_ctx);
	pfree(so);
	scan->opaque = NULL;
}
