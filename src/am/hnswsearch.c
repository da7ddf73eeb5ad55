/*
 * hnswsearch.c — searching the graph on disk, for inserts and scans.
 *
 * Scoring an element reads its page once (share lock, through the backend's buffer hints),
 * computes the distance from the page (or from its overflow pages, in parts) and copies
 * its neighbour list for the level being searched, so that expanding it later costs no
 * second read. Elements VACUUM removed are skipped. A TID that no longer holds an element
 * (VACUUM freed it since a neighbour list was read) is treated the same way.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "topk.h"

/* A set of TIDs (open addressing; 0 is never a TID of ours: block 0 is the metapage). */
typedef struct TidSet
{
	uint64	   *keys;
	uint32		mask;
	uint32		n;
} TidSet;

struct HnswSearcher
{
	Relation	index;
	HnswShape	shape;
	Size		element_size[HNSW_MAX_LEVEL + 1];	/* an element item's size by level */
	const float *query;
	VsBufferHints *hints;
	TidSet		visited;
	float	   *widened;		/* VsDistancesStored's scratch, for halves and bits */
};

static uint64
TidKey(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

static void
TidSetInit(TidSet *set, uint32 size)
{
	set->mask = size - 1;
	set->n = 0;
	set->keys = palloc0(sizeof(uint64) * size);
}

/* Adds key; false if it was there. */
static bool
TidSetAdd(TidSet *set, uint64 key)
{
	uint32		i;

	if (set->n * 2 >= set->mask)
	{
		TidSet		bigger;
		uint32		j;

		TidSetInit(&bigger, (set->mask + 1) * 2);
		for (j = 0; j <= set->mask; j++)
			if (set->keys[j] != 0)
				TidSetAdd(&bigger, set->keys[j]);
		pfree(set->keys);
		*set = bigger;
	}
	i = (uint32) ((key * UINT64CONST(0x9E3779B97F4A7C15)) >> 32) & set->mask;
	while (set->keys[i] != 0)
	{
		if (set->keys[i] == key)
			return false;
		i = (i + 1) & set->mask;
	}
	set->keys[i] = key;
	set->n++;
	return true;
}

HnswSearcher *
HnswSearcherCreate(Relation index, const HnswShape *shape, const float *query,
				   VsBufferHints *hints)
{
	HnswSearcher *s = palloc0(sizeof(HnswSearcher));

	s->index = index;
	s->shape = *shape;
	for (int l = 0; l <= HNSW_MAX_LEVEL; l++)
		s->element_size[l] = HnswElementSize(shape, l);
	s->query = query;
	s->hints = hints;
	TidSetInit(&s->visited, 1024);
	if (shape->storage != VS_STORAGE_FLOAT)
		s->widened = palloc(sizeof(float) * VS_STORED_BATCH * shape->dim);
	return s;
}

/* The distance to a vector kept on overflow pages, summed page by page. */
static float
OverflowDistance(HnswSearcher *s, BlockNumber blkno)
{
	int			done = 0;
	float		dist = 0;

	while (done < s->shape.dim && blkno != InvalidBlockNumber)
	{
		Buffer		buffer = VsReadHinted(s->index, s->hints, blkno, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buffer);
		int			n = Min(s->shape.dim - done, HnswOverflowPerPage(s->shape.storage));

		dist += VsDistanceStored(s->shape.metric, s->shape.storage, s->query + done,
								 PageGetContents(page), n);
		done += n;
		blkno = HnswPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
	return dist;
}

/*
 * Scores the element at tid against the query and copies its neighbours on `level`
 * (none if it does not live that high). False if tid holds no element any more.
 */
bool
HnswScore(HnswSearcher *s, ItemPointer tid, int level, HnswCandidate *out)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buffer;
	ItemId		iid = HnswLockElementItem(s->index, s->hints, tid, &buffer);
	HnswElement e;
	BlockNumber overflow = InvalidBlockNumber;

	if (iid == NULL)
		return false;
	HnswCheckItem(s->index, iid, s->element_size[0], blkno, off);
	e = (HnswElement) PageGetItem(BufferGetPage(buffer), iid);
	HnswCheckHeaderFast(s->index, &s->shape, s->element_size, e, ItemIdGetLength(iid), blkno, off);
	out->tid = *tid;
	out->nheaptids = e->nheaptids;
	memcpy(out->heaptids, e->heaptids, sizeof(ItemPointerData) * e->nheaptids);
	out->deleted = e->flags != HNSW_ELEMENT_LIVE;
	out->nneighbors = 0;
	out->neighbors = NULL;
	if (e->level >= level)
	{
		int			n = HnswCheckedCountFast(s->index, &s->shape, e, level, blkno, off);

		out->neighbors = palloc(sizeof(ItemPointerData) * Max(n, 1));
		memcpy(out->neighbors, HnswNeighbors(&s->shape, e, level), sizeof(ItemPointerData) * n);
		out->nneighbors = n;
	}
	if (s->shape.inline_vector)
		out->dist = VsDistanceStored(s->shape.metric, s->shape.storage, s->query,
									 HnswInlineVector(&s->shape, e), s->shape.dim);
	else
		overflow = e->overflow;
	UnlockReleaseBuffer(buffer);
	if (!s->shape.inline_vector)
		out->dist = OverflowDistance(s, overflow);
	return true;
}

/*
 * Scores n elements at once (the unvisited neighbours of one expanded element, whose pages
 * HnswTakeUnvisited prefetched): pins and share-locks their pages first,
 * prefetching each vector, so the memory system fetches them all in parallel, then scores
 * them in one batch kernel call. Pages are never locked
 * twice (two neighbours often share one). Overflow vectors fall back to one at a time.
 * `out` gets the valid elements; returns how many. Neighbour lists are copied only for
 * elements nearer than keep_below: the others are unlikely ever to be expanded, and get
 * nneighbors = HNSW_NEIGHBORS_UNREAD (HnswScore reads them when they are).
 */
int
HnswScoreBatch(HnswSearcher *s, const ItemPointerData *tids, int n, int level, float keep_below,
			   HnswCandidate *out, HnswAlloc alloc, void *alloc_arg)
{
	Buffer		buffers[2 * HNSW_MAX_M];
	HnswElement elems[2 * HNSW_MAX_M];
	Size		lens[2 * HNSW_MAX_M];	/* their items' lengths */
	const void *rows[2 * HNSW_MAX_M];
	float		dist[2 * HNSW_MAX_M];
	int			owner[2 * HNSW_MAX_M];	/* index of the entry that locked the page */
	int			valid = 0;
	Size		prefetch_bytes;
	int			i;

	if (!s->shape.inline_vector || n > 2 * HNSW_MAX_M)
	{
		for (i = 0; i < n; i++)
			if (HnswScore(s, (ItemPointer) &tids[i], level, &out[valid]))
				valid++;
		return valid;
	}
	/* HnswTakeUnvisited prefetched the pages */
	prefetch_bytes = Min(VsStoredBytes(s->shape.storage, s->shape.dim), 1024);
	for (i = 0; i < n; i++)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&tids[i]);
		OffsetNumber off = ItemPointerGetOffsetNumber(&tids[i]);
		Page		page;
		ItemId		iid;
		int			k;

		elems[i] = NULL;
		owner[i] = -1;
		buffers[i] = InvalidBuffer;
		if (blkno == HNSW_METAPAGE_BLKNO || blkno == InvalidBlockNumber)
			continue;
		for (k = 0; k < i; k++)
			if (BufferIsValid(buffers[k]) && BufferGetBlockNumber(buffers[k]) == blkno)
				break;
		if (k < i)
			owner[i] = k;
		else
		{
			buffers[i] = VsReadHinted(s->index, s->hints, blkno, BUFFER_LOCK_SHARE);
			owner[i] = i;
		}
		page = BufferGetPage(buffers[owner[i]]);
		/* neighbour TIDs only ever point into element pages (pages never change kind) */
		iid = HnswItemAt(page, off);
		if (iid == NULL)
			continue;
		/* the line pointer only: reading the element now would wait for its cache lines */
		HnswCheckItem(s->index, iid, s->element_size[0], blkno, off);
		elems[i] = (HnswElement) PageGetItem(page, iid);
		lens[i] = ItemIdGetLength(iid);
		/* the vector's address needs no read of the element: fetch its lines now */
		rows[valid] = HnswInlineVector(&s->shape, elems[i]);
		VsPrefetchLines(rows[valid], prefetch_bytes);
		valid++;
	}
	if (valid > 0)
		VsDistancesStored(s->shape.metric, s->shape.storage, s->query, rows, valid, s->shape.dim,
						  dist, s->widened);
	valid = 0;
	for (i = 0; i < n; i++)
	{
		HnswElement e = elems[i];
		HnswCandidate *c = &out[valid];

		if (e == NULL)
			continue;
		HnswCheckHeaderFast(s->index, &s->shape, s->element_size, e, lens[i],
							ItemPointerGetBlockNumber(&tids[i]), ItemPointerGetOffsetNumber(&tids[i]));
		c->tid = tids[i];
		c->dist = dist[valid];
		c->deleted = e->flags != HNSW_ELEMENT_LIVE;
		c->nheaptids = e->nheaptids;
		memcpy(c->heaptids, e->heaptids, sizeof(ItemPointerData) * e->nheaptids);
		c->nneighbors = 0;
		c->neighbors = NULL;
		if (c->dist >= keep_below)
			c->nneighbors = HNSW_NEIGHBORS_UNREAD;
		else if (e->level >= level)
		{
			c->nneighbors = HnswCheckedCountFast(s->index, &s->shape, e, level,
												 ItemPointerGetBlockNumber(&tids[i]),
												 ItemPointerGetOffsetNumber(&tids[i]));
			c->neighbors = alloc(alloc_arg, sizeof(ItemPointerData) * Max(c->nneighbors, 1));
			memcpy(c->neighbors, HnswNeighbors(&s->shape, e, level),
				   sizeof(ItemPointerData) * c->nneighbors);
		}
		valid++;
	}
	for (i = 0; i < n; i++)
		if (BufferIsValid(buffers[i]))
			UnlockReleaseBuffer(buffers[i]);
	return valid;
}

static void *
PallocAlloc(void *arg, Size size)
{
	(void) arg;
	return palloc(size);
}

/* One layer search: every element kept (pool), W, and the heap of unexpanded ones. */
typedef struct LayerSearch
{
	HnswCandidate *pool;
	int			npool;
	int			pool_cap;
	VsScored   *w;				/* max-heap of the ef nearest, ids into pool */
	size_t		nw;
	int			ef;
	VsScored   *cand;			/* min-heap of elements to expand */
	size_t		ncand;
	size_t		cand_cap;
} LayerSearch;

/* Keeps a scored element: into the pool, W and the heap of elements to expand. */
static void
Take(LayerSearch *ls, const HnswCandidate *c)
{
	VsScored	sc;

	if (ls->npool == ls->pool_cap)
		ls->pool = repalloc(ls->pool, sizeof(HnswCandidate) * (ls->pool_cap *= 2));
	ls->pool[ls->npool] = *c;
	sc.dist = c->dist;
	sc.id = ls->npool++;
	vs_maxheap_push_bounded(ls->w, &ls->nw, ls->ef, sc);
	if (ls->ncand == ls->cand_cap)
		ls->cand = repalloc(ls->cand, sizeof(VsScored) * (ls->cand_cap *= 2));
	vs_minheap_push(ls->cand, &ls->ncand, sc);
}

/* W is full and d is no nearer than all of it: W will never take d (its worst only falls). */
static inline bool
Beyond(const LayerSearch *ls, float d)
{
	return ls->nw >= (size_t) ls->ef && d >= ls->w[0].dist;
}

/* Scores the unvisited neighbours of an expanded element, in batches, keeping the near ones. */
static void
Expand(HnswSearcher *s, LayerSearch *ls, const ItemPointerData *nbrs, int nn, int level)
{
	ItemPointerData fresh[2 * HNSW_MAX_M];
	int			nfresh = HnswTakeUnvisited(s, nbrs, nn, fresh);
	int			j;

	for (j = 0; j < nfresh; j += HNSW_SCORE_CHUNK)
	{
		HnswCandidate scored[HNSW_SCORE_CHUNK];
		float		keep_below = ls->nw >= (size_t) ls->ef ? ls->w[0].dist : get_float4_infinity();
		int			nscored = HnswScoreBatch(s, fresh + j, Min(nfresh - j, HNSW_SCORE_CHUNK),
											 level, keep_below, scored, PallocAlloc, NULL);
		int			k;

		for (k = 0; k < nscored; k++)
			if (!Beyond(ls, scored[k].dist))
				Take(ls, &scored[k]);
	}
}

/*
 * Best-first search of one level from `entries` (scored already): the ef nearest live or
 * deleted elements, nearest first, in *result (palloc'd). Deleted elements are walked
 * through (they still link the graph together until VACUUM repairs it) and returned
 * flagged, for the caller to skip.
 */
int
HnswSearchLayer(HnswSearcher *s, HnswCandidate *entries, int nentries, int ef, int level,
				HnswCandidate **result)
{
	LayerSearch ls;
	HnswCandidate *out;
	int			i;

	ls.pool_cap = 64;
	ls.pool = palloc(sizeof(HnswCandidate) * ls.pool_cap);
	ls.npool = 0;
	ls.ef = ef;
	ls.w = palloc(sizeof(VsScored) * (ef + 1));
	ls.nw = 0;
	ls.cand_cap = 64;
	ls.cand = palloc(sizeof(VsScored) * ls.cand_cap);
	ls.ncand = 0;
	for (i = 0; i < nentries; i++)
	{
		TidSetAdd(&s->visited, TidKey(&entries[i].tid));
		Take(&ls, &entries[i]);
	}

	while (ls.ncand > 0)
	{
		VsScored	c = vs_minheap_pop(ls.cand, &ls.ncand);

		if (ls.nw >= (size_t) ef && c.dist > ls.w[0].dist)
			break;
		CHECK_FOR_INTERRUPTS();
		Expand(s, &ls, ls.pool[c.id].neighbors, ls.pool[c.id].nneighbors, level);
	}
	vs_maxheap_sort(ls.w, ls.nw);
	out = palloc(sizeof(HnswCandidate) * Max(ls.nw, 1));
	for (i = 0; i < (int) ls.nw; i++)
		out[i] = ls.pool[ls.w[i].id];
	pfree(ls.w);
	pfree(ls.cand);
	pfree(ls.pool);
	*result = out;
	return (int) ls.nw;
}

/*
 * The neighbours not visited yet, marked visited now and copied to `fresh` (room for
 * 2 * HNSW_MAX_M): their pages and buffer descriptors start arriving while the caller
 * scores them in chunks (HnswScoreBatch). Returns how many.
 */
int
HnswTakeUnvisited(HnswSearcher *s, const ItemPointerData *nbrs, int n, ItemPointerData *fresh)
{
	int			nfresh = 0;
	int			j;

	for (j = 0; j < n && nfresh < 2 * HNSW_MAX_M; j++)
		if (TidSetAdd(&s->visited, TidKey(&nbrs[j])))
		{
			fresh[nfresh++] = nbrs[j];
			VsPrefetchHinted(s->hints, ItemPointerGetBlockNumber(&nbrs[j]), 128);
		}
	return nfresh;
}

bool
HnswMarkVisited(HnswSearcher *s, ItemPointer tid)
{
	return TidSetAdd(&s->visited, TidKey(tid));
}

void
HnswSearcherSetHints(HnswSearcher *s, VsBufferHints *hints)
{
	s->hints = hints;
}

/* Sizes the visited set for about n elements at once, sparing a scan its rehashes. */
void
HnswSearcherExpect(HnswSearcher *s, int n)
{
	uint32		size = 1024;

	while (size < (uint32) n * 2 && size < (1U << 20))
		size *= 2;
	if (size <= s->visited.mask + 1)
		return;
	pfree(s->visited.keys);
	TidSetInit(&s->visited, size);
}

void
HnswSearcherReset(HnswSearcher *s)
{
	pfree(s->visited.keys);
	TidSetInit(&s->visited, 1024);
}

/*
 * Walks from `entry` down to `to_level` + 1, a best-first search of ef candidates on each
 * level (HnswDescentEf), leaving the nearest found in *entry.
 */
void
HnswDescend(HnswSearcher *s, HnswCandidate *entry, int from_level, int to_level, int ef)
{
	int			l;

	for (l = from_level; l > to_level; l--)
	{
		HnswCandidate *found;
		HnswCandidate start = *entry;

		/* neighbours of the entry on this level */
		if (!HnswScore(s, &start.tid, l, &start))
			return;
		if (HnswSearchLayer(s, &start, 1, ef, l, &found) > 0)
			*entry = found[0];
		/* each level is a fresh walk */
		HnswSearcherReset(s);
	}
}
