/*
 * hnswvacuum.c — VACUUM for hnsw: remove dead rows' elements and repair the graph.
 *
 * Under HNSW_UPDATE_LOCK (no insert runs meanwhile; scans do):
 *   1. mark the elements of dead heap rows deleted (scans then skip them);
 *   2. repair: every live element that links to a deleted one gets a new list on that
 *      level, the nearest of its remaining neighbours and its deleted neighbours' live
 *      neighbours, so recall does not decay as rows are deleted; an entry point that was
 *      deleted is replaced by the live element on the highest level;
 *   3. free the deleted elements' items (line pointers stay, so no other element's TID
 *      changes) and record the room in the free space map for inserts to reuse;
 *   4. link in the live elements that no scan can find any more (hnswconnect.c).
 * A scan that read a neighbour list before step 2 may still visit a freed TID: it finds
 * no element there (or a new one) and moves on.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufpage.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "topk.h"

/* Candidates a repair searches for, besides the 2-hop ones. */
#define HNSW_REPAIR_EF 32

typedef struct VacuumState
{
	Relation	index;
	HnswShape	shape;
	VsBufferHints hints;
	ItemPointerData *deleted;	/* sorted */
	int			ndeleted;
	int			deleted_cap;
	HnswMetaPageData meta;		/* read once: the entry point holds still until MoveEntryPoint */
	ItemPointerData best_live;	/* the live element on the highest level */
	int			best_level;
	double		live;
	double		removed;
} VacuumState;

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

static bool
IsDeleted(VacuumState *vs, ItemPointer tid)
{
	return bsearch(tid, vs->deleted, vs->ndeleted, sizeof(ItemPointerData), CompareTids) != NULL;
}

/* 1. Marks the elements of dead rows deleted; remembers them and the best live element. */
static void
MarkDeleted(VacuumState *vs, IndexBulkDeleteCallback callback, void *callback_state)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);
	BlockNumber blkno;

	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buffer = VsReadLocked(vs->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_EXCLUSIVE);
		Page		page = BufferGetPage(buffer);
		HnswPageElements it;
		VsXlog		xlog;
		Page		wpage = NULL;

		vacuum_delay_point();
		for (HnswPageElementsBegin(&it, page); HnswPageElementsNext(&it);)
		{
			OffsetNumber off = it.off;
			HnswElement e = HnswCheckedElement(vs->index, &vs->shape, page, it.iid, blkno, off);

			if (e->flags == HNSW_ELEMENT_LIVE)
			{
				ItemPointerData keep[HNSW_HEAPTIDS];
				int			nkeep = 0;
				int			k;

				for (k = 0; k < e->nheaptids; k++)
					if (!callback(&e->heaptids[k], callback_state))
						keep[nkeep++] = e->heaptids[k];
				vs->removed += e->nheaptids - nkeep;
				vs->live += nkeep;
				if (nkeep == e->nheaptids)
				{
					if (e->level > vs->best_level)
					{
						vs->best_level = e->level;
						ItemPointerSet(&vs->best_live, blkno, off);
					}
					continue;
				}
				if (wpage == NULL)
				{
					VsXlogStart(&xlog, vs->index);
					wpage = VsXlogPage(&xlog, buffer, false);
				}
				e = (HnswElement) PageGetItem(wpage, PageGetItemId(wpage, off));
				memcpy(e->heaptids, keep, sizeof(ItemPointerData) * nkeep);
				e->nheaptids = (uint8) nkeep;
				if (nkeep > 0)
				{
					/* some of its rows live on: the element stays */
					if (e->level > vs->best_level)
					{
						vs->best_level = e->level;
						ItemPointerSet(&vs->best_live, blkno, off);
					}
					continue;
				}
				e->flags = HNSW_ELEMENT_DELETED;
			}
			if (vs->ndeleted == vs->deleted_cap)
			{
				vs->deleted_cap *= 2;
				vs->deleted = repalloc_huge(vs->deleted, sizeof(ItemPointerData) * vs->deleted_cap);
			}
			/* ItemPointerSet evaluates its first argument more than once */
			ItemPointerSet(&vs->deleted[vs->ndeleted], blkno, off);
			vs->ndeleted++;
		}
		if (wpage != NULL)
			VsXlogFinish(&xlog);
		UnlockReleaseBuffer(buffer);
	}
	/* blocks were scanned in order, offsets ascending: already sorted */
}

/* The neighbours a deleted element had on `level` (it is still on its page). */
static int
DeletedNeighbors(VacuumState *vs, ItemPointer tid, int level, ItemPointerData *out, int max)
{
	Buffer		buffer = VsReadLocked(vs->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(tid), BUFFER_LOCK_SHARE);
	Page		page = BufferGetPage(buffer);
	HnswElement e = HnswElementAt(vs->index, &vs->shape, page, ItemPointerGetBlockNumber(tid),
								  ItemPointerGetOffsetNumber(tid));
	int			n = 0;

	if (e->level >= level)
	{
		n = Min((int) HnswCounts(&vs->shape, e)[level], max);
		memcpy(out, HnswNeighbors(&vs->shape, e, level), sizeof(ItemPointerData) * n);
	}
	UnlockReleaseBuffer(buffer);
	return n;
}

/*
 * A new list for `level` of the element at `self`: the candidates scored from its
 * vector, then chosen with the same heuristic as inserts, so the long links that hold
 * clusters together survive.
 */
static int
Relink(VacuumState *vs, ItemPointer self, const float *x, ItemPointerData *cands, int ncands,
	   int level, ItemPointerData *out)
{
	int			cap = HnswCapacity(&vs->shape, level);
	HnswSearcher *s = HnswSearcherCreate(vs->index, &vs->shape, x, &vs->hints);
	HnswCandidate *scored = palloc(sizeof(HnswCandidate) * Max(ncands, 1));
	VsScored   *order = palloc(sizeof(VsScored) * Max(ncands, 1));
	HnswCandidate *sorted = palloc(sizeof(HnswCandidate) * Max(ncands, 1));
	float	   *dists = palloc(sizeof(float) * cap);
	int			n = 0;
	int			i;

	HnswMarkVisited(s, self);
	for (i = 0; i < ncands; i++)
	{
		if (IsDeleted(vs, &cands[i]) || !HnswMarkVisited(s, &cands[i]) ||
			!HnswScore(s, &cands[i], 0, &scored[n]) || scored[n].deleted)
			continue;
		order[n].dist = scored[n].dist;
		order[n].id = (uint64) n;
		n++;
	}
	qsort(order, n, sizeof(VsScored), (int (*) (const void *, const void *)) vs_scored_cmp);
	for (i = 0; i < n; i++)
		sorted[i] = scored[order[i].id];
	/*
	 * Level 0's list is filled with the nearest pruned candidates after the heuristic's
	 * picks: with the heuristic alone, a repaired list holds a few links, and after most
	 * rows were deleted (pgvector's TAP 014: m 4, ef_construction 8, 75% deleted) recall@20
	 * at ef_search 20 was 0.90 against pgvector's floor 0.95. Not under inner product: there
	 * the pruned candidates are the same few long vectors, which would crowd every list.
	 */
	return HnswSelectNeighbors(vs->index, &vs->shape, &vs->hints, sorted, NULL, n, cap,
							   vs->shape.metric != VS_METRIC_IP && level == 0,
							   out, dists, NULL);
}

/*
 * Candidates from a search of the graph for the element's vector on `level`, as an insert
 * would find them: a neighbourhood that lost many elements may have no 2-hop survivors
 * left that keep it connected to the rest (small m, high dimensions).
 */
static int
SearchCandidates(VacuumState *vs, const float *x, int level, ItemPointerData *out, int room)
{
	HnswSearcher *s = HnswSearcherCreate(vs->index, &vs->shape, x, &vs->hints);
	const HnswMetaPageData *meta = &vs->meta;
	HnswCandidate entry;
	HnswCandidate *found;
	int			nfound;
	int			n = 0;
	int			i;

	if (!ItemPointerIsValid(&meta->entry) || IsDeleted(vs, (ItemPointer) &meta->entry) ||
		meta->entry_level < level ||
		!HnswScore(s, (ItemPointer) &meta->entry, meta->entry_level, &entry))
		return 0;
	HnswDescend(s, &entry, meta->entry_level, level, HnswDescentEf(meta->ef_construction));
	HnswSearcherReset(s);
	if (!HnswScore(s, &entry.tid, level, &entry))
		return 0;
	HnswMarkVisited(s, &entry.tid);
	nfound = HnswSearchLayer(s, &entry, 1, HNSW_REPAIR_EF, level, &found);
	for (i = 0; i < nfound && n < room; i++)
		if (!found[i].deleted && !IsDeleted(vs, &found[i].tid))
			out[n++] = found[i].tid;
	return n;
}

/* 2. Repairs every live element's lists that point at deleted elements. */
static void
Repair(VacuumState *vs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);
	BlockNumber blkno;
	int			cap0 = HnswCapacity(&vs->shape, 0);
	int			cand_room = cap0 + cap0 * cap0 + HNSW_REPAIR_EF;
	ItemPointerData *cands = palloc(sizeof(ItemPointerData) * cand_room);
	ItemPointerData *fresh = palloc(sizeof(ItemPointerData) * cap0);
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "hnsw repair", ALLOCSET_DEFAULT_SIZES);

	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buffer = VsReadLocked(vs->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buffer);
		OffsetNumber maxoff = HnswIsElementPage(page) ? PageGetMaxOffsetNumber(page) : 0;
		OffsetNumber off;

		UnlockReleaseBuffer(buffer);
		vacuum_delay_point();
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemPointerData self;
			HnswElement own;	/* its element, read under the share lock */
			int			level;
			int			l;
			float	   *x = NULL;
			MemoryContext oldcxt = MemoryContextSwitchTo(tmp);

			ItemPointerSet(&self, blkno, off);
			buffer = VsReadLocked(vs->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buffer);
			if (HnswElementItem(page, off) == NULL ||
				(own = HnswElementAt(vs->index, &vs->shape, page, blkno, off))->flags != HNSW_ELEMENT_LIVE)
			{
				UnlockReleaseBuffer(buffer);
				MemoryContextSwitchTo(oldcxt);
				continue;
			}
			level = own->level;
			UnlockReleaseBuffer(buffer);

			for (l = 0; l <= level; l++)
			{
				HnswElement e;
				ItemPointerData current[2 * HNSW_MAX_M];
				int			count;
				int			ncands = 0;
				int			k;
				bool		broken = false;
				VsXlog		xlog;
				int			nfresh;

				buffer = VsReadLocked(vs->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
				page = BufferGetPage(buffer);
				e = HnswElementAt(vs->index, &vs->shape, page, blkno, off);
				count = HnswCounts(&vs->shape, e)[l];
				memcpy(current, HnswNeighbors(&vs->shape, e, l), sizeof(ItemPointerData) * count);
				if (x == NULL && vs->shape.inline_vector)
				{
					x = palloc(sizeof(float) * vs->shape.dim);
					VsLoadVector(vs->shape.storage, HnswInlineVector(&vs->shape, e), vs->shape.dim, x);
				}
				UnlockReleaseBuffer(buffer);
				for (k = 0; k < count; k++)
					if (IsDeleted(vs, &current[k]))
						broken = true;
				if (!broken)
					continue;
				if (x == NULL)
					x = HnswReadVectorCopy(vs->index, &vs->shape, &self);
				for (k = 0; k < count; k++)
				{
					if (IsDeleted(vs, &current[k]))
						ncands += DeletedNeighbors(vs, &current[k], l, cands + ncands,
												   HnswCapacity(&vs->shape, l));
					else
						cands[ncands++] = current[k];
				}
				ncands += SearchCandidates(vs, x, l, cands + ncands, cand_room - ncands);
				nfresh = Relink(vs, &self, x, cands, ncands, l, fresh);

				buffer = VsReadLocked(vs->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_EXCLUSIVE);
				VsXlogStart(&xlog, vs->index);
				page = VsXlogPage(&xlog, buffer, false);
				e = HnswElementAt(vs->index, &vs->shape, page, blkno, off);
				memcpy(HnswNeighbors(&vs->shape, e, l), fresh, sizeof(ItemPointerData) * nfresh);
				for (k = nfresh; k < HnswCapacity(&vs->shape, l); k++)
					ItemPointerSetInvalid(&HnswNeighbors(&vs->shape, e, l)[k]);
				HnswCounts(&vs->shape, e)[l] = (uint16) nfresh;
				VsXlogFinish(&xlog);
				UnlockReleaseBuffer(buffer);
			}
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(tmp);
		}
	}
	MemoryContextDelete(tmp);
}

/* A deleted entry point hands over to the live element on the highest level. */
static void
MoveEntryPoint(VacuumState *vs)
{
	Buffer		buffer = VsReadLocked(vs->index, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, BUFFER_LOCK_EXCLUSIVE);
	HnswMetaPage meta = HnswPageGetMeta(BufferGetPage(buffer));
	VsXlog		xlog;

	if (ItemPointerIsValid(&meta->entry) && IsDeleted(vs, &meta->entry))
	{
		VsXlogStart(&xlog, vs->index);
		meta = HnswPageGetMeta(VsXlogPage(&xlog, buffer, false));
		meta->entry = vs->best_live;
		meta->entry_level = (uint16) Max(vs->best_level, 0);
		VsXlogFinish(&xlog);
	}
	UnlockReleaseBuffer(buffer);
}

/* 3. Frees the deleted elements' items; their room goes to the free space map. */
static void
FreeDeleted(VacuumState *vs)
{
	int			i = 0;

	while (i < vs->ndeleted)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&vs->deleted[i]);
		Buffer		buffer = VsReadLocked(vs->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_EXCLUSIVE);
		VsXlog		xlog;
		Page		page;

		VsXlogStart(&xlog, vs->index);
		page = VsXlogPage(&xlog, buffer, false);
		/* highest offset first: deleting the last line pointer shortens the array */
		{
			int			j = i;

			while (j < vs->ndeleted && ItemPointerGetBlockNumber(&vs->deleted[j]) == blkno)
				j++;
			for (int k = j - 1; k >= i; k--)
				PageIndexTupleDeleteNoCompact(page, ItemPointerGetOffsetNumber(&vs->deleted[k]));
			i = j;
		}
		VsXlogFinish(&xlog);
		RecordPageWithFreeSpace(vs->index, blkno, PageGetFreeSpace(BufferGetPage(buffer)));
		UnlockReleaseBuffer(buffer);
	}
	FreeSpaceMapVacuum(vs->index);
}

/*
 * 4. Links in the live elements that repairs and inserts left unreachable (hnswconnect.c);
 * also at the end of a VACUUM that deleted nothing (hnswvacuumcleanup).
 */
static void
ConnectGraph(Relation index, const HnswShape *shape, VsBufferHints *hints)
{
	int			linked = HnswConnect(index, shape, hints);

	ereport(DEBUG1,
			(errmsg_internal("hnsw vacuum of \"%s\": %d unreachable elements linked in",
							 RelationGetRelationName(index), linked)));
}

IndexBulkDeleteResult *
hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	VacuumState vs;

	memset(&vs, 0, sizeof(vs));
	vs.index = info->index;
	HnswGetShape(vs.index, &vs.shape);
	VsInitBufferHints(&vs.hints, vs.index, CurrentMemoryContext);
	vs.deleted_cap = 256;
	vs.deleted = palloc(sizeof(ItemPointerData) * vs.deleted_cap);
	vs.best_level = -1;
	ItemPointerSetInvalid(&vs.best_live);
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	LockPage(vs.index, HNSW_UPDATE_LOCK, ExclusiveLock);
	MarkDeleted(&vs, callback, callback_state);
	if (vs.ndeleted > 0)
	{
		qsort(vs.deleted, vs.ndeleted, sizeof(ItemPointerData), CompareTids);
		HnswReadMeta(vs.index, &vs.meta);
		Repair(&vs);
		MoveEntryPoint(&vs);
		FreeDeleted(&vs);
		ConnectGraph(vs.index, &vs.shape, &vs.hints);
	}
	UnlockPage(vs.index, HNSW_UPDATE_LOCK, ExclusiveLock);

	stats->tuples_removed += vs.removed;
	stats->num_index_tuples = vs.live;
	stats->estimated_count = false;
	stats->num_pages = RelationGetNumberOfBlocks(vs.index);
	return stats;
}

IndexBulkDeleteResult *
hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		Relation	index = info->index;
		BlockNumber nblocks = RelationGetNumberOfBlocks(index);
		BlockNumber blkno;
		double		live = 0;
		HnswShape	shape;

		HnswGetShape(index, &shape);
		for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
		{
			Buffer		buffer = VsReadLocked(index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
			HnswPageElements it;

			for (HnswPageElementsBegin(&it, BufferGetPage(buffer)); HnswPageElementsNext(&it);)
			{
				HnswElement e = HnswCheckedElement(index, &shape, it.page, it.iid, blkno, it.off);

				if (e->flags == HNSW_ELEMENT_LIVE)
					live += e->nheaptids;
			}
			UnlockReleaseBuffer(buffer);
		}
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = live;
		stats->estimated_count = false;
		/* no bulk delete ran: inserts since the last VACUUM may have left elements out */
		{
			VsBufferHints hints;

			VsInitBufferHints(&hints, index, CurrentMemoryContext);
			LockPage(index, HNSW_UPDATE_LOCK, ExclusiveLock);
			ConnectGraph(index, &shape, &hints);
			UnlockPage(index, HNSW_UPDATE_LOCK, ExclusiveLock);
		}
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
