/*
 * hnswinsert.c — INSERT into an hnsw index.
 *
 * Locking protocol. An insert holds the index's HNSW_UPDATE_LOCK (a heavyweight page lock
 * on the metapage) from its first read of the entry point to its last link: in share mode,
 * so inserts run side by side, unless the new element will live above the top level (it
 * becomes the entry point: exclusive, one such insert at a time, about one in m^top).
 * VACUUM's repair takes it exclusively, so it never runs beside an insert. Scans never take
 * it. Concurrent inserts meet only on neighbour lists, each changed under its page's
 * exclusive buffer lock; a full list is chosen anew from a copy with the lock released, so
 * it is written back only if it is still what was copied, and chosen again otherwise
 * (LinkBack). Within an insert:
 *
 *   1. search the graph (share locks, one page at a time) for the new element's neighbours;
 *   2. write the element (its overflow pages first, if any), with its neighbour lists, in
 *      one WAL record: from now on it is in the index, reachable once linked;
 *   3. link each neighbour back to it, one page and one WAL record at a time; a full list
 *      is chosen again with the heuristic, keeping the member it drops linked (LinkBack:
 *      checked against the new element's list with its page locked too, taken without
 *      waiting, as n's is held), and if none keeps it, a neighbour links to it anyway;
 *   4. if the element lives above the current top level, make it the entry point (the
 *      metapage, one record).
 *
 * A crash part-way leaves an element that some neighbours do not link to yet: it belongs
 * to a transaction that never committed, so its heap row is dead and nothing is lost.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "topk.h"
#include "vector.h"

/*
 * An element that holds exactly this vector takes the new row, if it has room: see
 * HNSW_HEAPTIDS. True when it did.
 */
static bool
AddDuplicate(Relation index, const HnswShape *shape, ItemPointer tid, const float *x,
			 ItemPointer heaptid)
{
	float	   *y = HnswReadVectorCopy(index, shape, tid);
	Buffer		buffer;
	VsXlog		xlog;
	HnswElement e;
	bool		same = memcmp(x, y, sizeof(float) * shape->dim) == 0;

	pfree(y);
	if (!same)
		return false;
	buffer = VsReadLocked(index, MAIN_FORKNUM, ItemPointerGetBlockNumber(tid), BUFFER_LOCK_EXCLUSIVE);
	e = HnswElementAt(index, shape, BufferGetPage(buffer), ItemPointerGetBlockNumber(tid),
					  ItemPointerGetOffsetNumber(tid));
	if (e->nheaptids >= HNSW_HEAPTIDS || e->flags != HNSW_ELEMENT_LIVE)
	{
		UnlockReleaseBuffer(buffer);
		return false;
	}
	VsXlogStart(&xlog, index);
	e = (HnswElement) PageGetItem(VsXlogPage(&xlog, buffer, false),
								  PageGetItemId(BufferGetPage(buffer), ItemPointerGetOffsetNumber(tid)));
	e->heaptids[e->nheaptids++] = *heaptid;
	VsXlogFinish(&xlog);
	UnlockReleaseBuffer(buffer);
	return true;
}

/*
 * Adds the element item to a page with room: the page this backend last added to, else one
 * the free space map offers, else a new page. The map's upper levels learn of a page's room
 * only when they are vacuumed (FreeSpaceMapVacuumRange), so a page this insert extends the
 * index by is propagated at once; without both, every insert took a page of its own.
 */
static void
PlaceElement(Relation index, HnswElement e, Size size, ItemPointer tid)
{
	Size		need = MAXALIGN(size) + sizeof(ItemIdData);
	BlockNumber blkno = RelationGetTargetBlock(index);
	Buffer		buffer = InvalidBuffer;
	VsXlog		xlog;
	Page		page;
	OffsetNumber off;
	bool		fresh = false;

	/* hnsw never truncates its index, and a new relfilenode starts with no target */
	if (blkno == InvalidBlockNumber)
		blkno = GetPageWithFreeSpace(index, need);
	while (blkno != InvalidBlockNumber)
	{
		buffer = VsReadLocked(index, MAIN_FORKNUM, blkno, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buffer);
		if (!PageIsNew(page) && HnswPageGetOpaque(page)->flags == HNSW_PAGE_ELEMENT &&
			PageGetFreeSpace(page) >= need)
			break;
		/* the map was stale: correct it and ask again */
		RecordPageWithFreeSpace(index, blkno, PageIsNew(page) ? 0 : PageGetFreeSpace(page));
		UnlockReleaseBuffer(buffer);
		buffer = InvalidBuffer;
		blkno = GetPageWithFreeSpace(index, need);
	}
	if (!BufferIsValid(buffer))
	{
		buffer = VsExtend(index, MAIN_FORKNUM);
		fresh = true;
	}

	VsXlogStart(&xlog, index);
	page = VsXlogPage(&xlog, buffer, fresh);
	if (fresh)
		HnswInitPage(page, HNSW_PAGE_ELEMENT);
	off = PageAddItem(page, (Item) e, size, InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "could not add an element to page %u of index \"%s\"",
			 BufferGetBlockNumber(buffer), RelationGetRelationName(index));
	VsXlogFinish(&xlog);
	blkno = BufferGetBlockNumber(buffer);
	ItemPointerSet(tid, blkno, off);
	RecordPageWithFreeSpace(index, blkno, PageGetFreeSpace(BufferGetPage(buffer)));
	UnlockReleaseBuffer(buffer);
	RelationSetTargetBlock(index, blkno);
	if (fresh)
		FreeSpaceMapVacuumRange(index, blkno, blkno + 1);
}

/*
 * A list chosen anew leaves out a member of `current`, which may have been the last link
 * to it: then no scan could find it. It is safe if the new element links to it (`links`);
 * otherwise it takes the place of a chosen member the new element links to, the last one
 * chosen first (the nearest fill before the heuristic's picks). False if neither works.
 */
static bool
KeepLeftOutLinked(ItemPointerData *chosen, int nchosen, const ItemPointerData *current, int ncurrent,
				  const ItemPointerData *newtid, const ItemPointerData *links, int nlinks)
{
	int			k;

	for (k = 0; k < ncurrent; k++)
	{
		int			j;

		if (HnswContainsTid(chosen, nchosen, &current[k]) || HnswContainsTid(links, nlinks, &current[k]))
			continue;
		for (j = nchosen - 1; j >= 0; j--)
			if (!ItemPointerEquals(&chosen[j], (ItemPointer) newtid) &&
				HnswContainsTid(links, nlinks, &chosen[j]))
				break;
		if (j < 0)
			return false;
		chosen[j] = current[k];
	}
	return true;
}

/* How hard LinkBack tries to put the new element into a neighbour's list. */
typedef enum HnswLinkMode
{
	HNSW_LINK_IF_CHOSEN,		/* only if the list, chosen anew, keeps it */
	HNSW_LINK_FORCE_SAFE,		/* in any case, if the member it displaces stays linked */
	HNSW_LINK_FORCE				/* in any case */
} HnswLinkMode;

/*
 * The new element's page, locked exclusively while the caller holds neighbour n's buffer
 * (`nbuffer`): without waiting, since an insert linking into the new element could hold
 * that page and wait for n's. The same buffer if both live on one page; InvalidBuffer if
 * the lock is taken.
 */
static Buffer
LockNewElementNoWait(Relation index, ItemPointer newtid, Buffer nbuffer)
{
	Buffer		buffer;

	if (ItemPointerGetBlockNumber(newtid) == BufferGetBlockNumber(nbuffer))
		return nbuffer;
	buffer = VsReadBlock(index, MAIN_FORKNUM, ItemPointerGetBlockNumber(newtid));
	if (ConditionalLockBuffer(buffer))
		return buffer;
	ReleaseBuffer(buffer);
	return InvalidBuffer;
}

/*
 * Links neighbour `n` on `level` to the new element at distance `dist` from it. `links`
 * is the new element's own list on that level as this insert last read it. A full list
 * gives up a deleted member if it has one; otherwise it is chosen anew from its members
 * and the new element with the heuristic (its links in every direction first, then the
 * nearest of the rest, so that exactly one is left out), and the member it leaves out must
 * keep a link (KeepLeftOutLinked), except under inner product: there the member left out
 * is almost never one the new element links to (its links go to the longest vectors), so
 * the check refused nearly every link into a full list and new long vectors, the answers
 * to most queries, were reached by one forced link each: recall@20 after 10,000 inserts of
 * 10-d rows 0.68 with the check, 0.9975-1.0 without (pgvector 0.9975), every row still
 * reachable.
 *
 * If the list leaves the new element out, HNSW_LINK_IF_CHOSEN leaves it so; the forced
 * modes put it in place of the last member it links to, or else of the last member, which
 * then joins the new element's own list if it has room (HNSW_LINK_FORCE_SAFE gives up if
 * not; HNSW_LINK_FORCE displaces it regardless). Evicting an unlinked member was how a
 * build at 1MB with two workers left an element unreachable in one run of two: a forced
 * link took the last slot, and the next forced link into the same list evicted it.
 *
 * A member is left out only if, while n's page and the new element's are both locked, the
 * new element's list links to it: another insert may have chosen that list anew since it
 * was read (it was full), and a decision made on the old copy would leave a member linked
 * only from where it no longer is. Then `links` is read again and the list chosen again.
 * True if n now links to the new element.
 */
static bool
LinkBack(Relation index, const HnswShape *shape, ItemPointer n, int level, ItemPointer newtid,
		 const float *x, float dist, ItemPointerData *links, int *nlinks, VsBufferHints *hints,
		 HnswLinkMode mode)
{
	int			cap = HnswCapacity(shape, level);
	Buffer		buffer;
	Buffer		xbuffer;
	Page		page;
	HnswElement e;
	HnswElement xe;
	int			count;
	int			victim;
	bool		join;
	ItemPointerData *chosen;
	/* a full list's copy and its scores: allocated once, reused if the list is chosen again */
	ItemPointerData *current = NULL;
	ItemPointerData *chosenbuf = NULL;
	HnswCandidate *cands = NULL;
	float	   *vecs = NULL;
	const float **sorted_vecs = NULL;
	float	   *dists = NULL;
	int			nchosen;
	int			k;
	VsXlog		xlog;

again:
	victim = -1;
	join = false;
	chosen = NULL;
	nchosen = 0;
	xbuffer = InvalidBuffer;
	buffer = VsReadLocked(index, MAIN_FORKNUM, ItemPointerGetBlockNumber(n), BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buffer);
	e = HnswElementAt(index, shape, page, ItemPointerGetBlockNumber(n), ItemPointerGetOffsetNumber(n));
	if (e->level < level)
		HnswDamagedElement(index, ItemPointerGetBlockNumber(n), ItemPointerGetOffsetNumber(n),
						   "a link on a level above the element's own");
	count = HnswCounts(shape, e)[level];
	if (count >= cap)
	{
		int			dim = shape->dim;

		if (current == NULL)
		{
			current = palloc(sizeof(ItemPointerData) * cap);
			cands = palloc(sizeof(HnswCandidate) * (cap + 1));
			dists = palloc(sizeof(float) * cap);
			chosenbuf = palloc(sizeof(ItemPointerData) * cap);
			vecs = palloc(sizeof(float) * dim * (cap + 1));
			sorted_vecs = palloc(sizeof(float *) * (cap + 1));
		}
		memcpy(current, HnswNeighbors(shape, e, level), sizeof(ItemPointerData) * cap);
		UnlockReleaseBuffer(buffer);

		/*
		 * Score n's neighbours from n, with no lock held: another insert may change the
		 * list meanwhile (checked below); VACUUM cannot, it waits for HNSW_UPDATE_LOCK.
		 * Each member's vector is read once, through the hints, and kept for the heuristic.
		 */
		if (!HnswReadVector(index, shape, hints, n, vecs + (Size) cap * dim, NULL))
			HnswDamagedElement(index, ItemPointerGetBlockNumber(n), ItemPointerGetOffsetNumber(n),
							   "a link leads to no element");
		for (k = 0; k < cap; k++)
		{
			bool		live;

			if (!HnswReadVector(index, shape, hints, &current[k], vecs + (Size) k * dim, &live) || !live)
			{
				victim = k;
				break;
			}
			memset(&cands[k], 0, sizeof(HnswCandidate));
			cands[k].tid = current[k];
			/* the slot index rides in nneighbors through the sort */
			cands[k].nneighbors = k;
			cands[k].dist = VsDistance(shape->metric, vecs + (Size) cap * dim, vecs + (Size) k * dim, dim);
		}
		if (victim < 0)
		{
			memset(&cands[cap], 0, sizeof(HnswCandidate));
			cands[cap].tid = *newtid;
			cands[cap].dist = dist;
			cands[cap].nneighbors = cap;
			qsort(cands, cap + 1, sizeof(HnswCandidate), HnswCompareCandidates);
			for (k = 0; k <= cap; k++)
				sorted_vecs[k] = cands[k].nneighbors == cap ? x : (const float *) (vecs + (Size) cands[k].nneighbors * dim);
			chosen = chosenbuf;
			nchosen = HnswSelectNeighbors(index, shape, hints, cands, sorted_vecs, cap + 1, cap, true,
										  chosen, dists, NULL);
			if (!HnswContainsTid(chosen, nchosen, newtid) ||
				(shape->metric != VS_METRIC_IP &&
				 !KeepLeftOutLinked(chosen, nchosen, current, cap, newtid, links, *nlinks)))
			{
				if (mode == HNSW_LINK_IF_CHOSEN)
					return false;	/* the new element stays out of the list */
				/* in place of the last member it links to, or else of the last member */
				for (k = cap - 1; k > 0 && !HnswContainsTid(links, *nlinks, &current[k]); k--)
					;
				if (!HnswContainsTid(links, *nlinks, &current[k]))
					k = cap - 1;
				victim = k;
				join = true;
				chosen = NULL;
			}
		}
		buffer = VsReadLocked(index, MAIN_FORKNUM, ItemPointerGetBlockNumber(n), BUFFER_LOCK_EXCLUSIVE);
		e = HnswElementAt(index, shape, BufferGetPage(buffer), ItemPointerGetBlockNumber(n),
						  ItemPointerGetOffsetNumber(n));
		if (HnswCounts(shape, e)[level] != cap ||
			memcmp(HnswNeighbors(shape, e, level), current, sizeof(ItemPointerData) * cap) != 0)
		{
			/* a concurrent insert changed the list: choose again from what it is now */
			UnlockReleaseBuffer(buffer);
			CHECK_FOR_INTERRUPTS();
			goto again;
		}
	}

	/* a member is left out (victim or re-chosen list): check it against the list as it is */
	if (chosen != NULL || join)
	{
		const ItemPointerData *xlinks;
		int			nx;
		bool		stale = false;

		xbuffer = LockNewElementNoWait(index, newtid, buffer);
		if (!BufferIsValid(xbuffer))
		{
			UnlockReleaseBuffer(buffer);
			CHECK_FOR_INTERRUPTS();
			goto again;
		}
		xe = HnswElementAt(index, shape, BufferGetPage(xbuffer), ItemPointerGetBlockNumber(newtid),
						   ItemPointerGetOffsetNumber(newtid));
		xlinks = HnswNeighbors(shape, xe, level);
		nx = HnswCounts(shape, xe)[level];
		if (chosen != NULL && shape->metric != VS_METRIC_IP)
			for (k = 0; k < cap; k++)
				stale |= !HnswContainsTid(chosen, nchosen, &current[k]) &&
					!HnswContainsTid(xlinks, nx, &current[k]);
		if (join && HnswContainsTid(xlinks, nx, &current[victim]))
			join = false;		/* the new element links to the member it displaces */
		else if (join && HnswContainsTid(links, *nlinks, &current[victim]))
			stale = true;		/* it did when the victim was picked, no longer */
		else if (join && nx >= cap)
		{
			if (mode == HNSW_LINK_FORCE_SAFE)
			{
				if (xbuffer != buffer)
					UnlockReleaseBuffer(xbuffer);
				UnlockReleaseBuffer(buffer);
				return false;
			}
			join = false;		/* HNSW_LINK_FORCE: displaced regardless */
		}
		if (stale)
		{
			*nlinks = nx;
			memcpy(links, xlinks, sizeof(ItemPointerData) * nx);
			if (xbuffer != buffer)
				UnlockReleaseBuffer(xbuffer);
			UnlockReleaseBuffer(buffer);
			CHECK_FOR_INTERRUPTS();
			goto again;
		}
	}

	VsXlogStart(&xlog, index);
	page = VsXlogPage(&xlog, buffer, false);
	e = HnswElementAt(index, shape, page, ItemPointerGetBlockNumber(n), ItemPointerGetOffsetNumber(n));
	if (chosen != NULL)
	{
		memcpy(HnswNeighbors(shape, e, level), chosen, sizeof(ItemPointerData) * nchosen);
		HnswCounts(shape, e)[level] = (uint16) nchosen;
	}
	else if (victim >= 0)
	{
		if (join)
		{
			/* the displaced member joins the new element's list (it has room: checked) */
			Page		xpage = VsXlogPage(&xlog, xbuffer, false);
			int			nx;

			xe = HnswElementAt(index, shape, xpage, ItemPointerGetBlockNumber(newtid),
							   ItemPointerGetOffsetNumber(newtid));
			nx = HnswCounts(shape, xe)[level];
			HnswNeighbors(shape, xe, level)[nx] = current[victim];
			HnswCounts(shape, xe)[level] = nx + 1;
			links[(*nlinks)++] = current[victim];
		}
		HnswNeighbors(shape, e, level)[victim] = *newtid;
	}
	else
	{
		HnswNeighbors(shape, e, level)[count] = *newtid;
		HnswCounts(shape, e)[level] = count + 1;
	}
	VsXlogFinish(&xlog);
	if (BufferIsValid(xbuffer) && xbuffer != buffer)
		UnlockReleaseBuffer(xbuffer);
	UnlockReleaseBuffer(buffer);
	return true;
}

static void
SetEntryPoint(Relation index, ItemPointer tid, int level)
{
	Buffer		buffer = VsReadLocked(index, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, BUFFER_LOCK_EXCLUSIVE);
	VsXlog		xlog;
	HnswMetaPage meta;

	VsXlogStart(&xlog, index);
	meta = HnswPageGetMeta(VsXlogPage(&xlog, buffer, false));
	meta->entry = *tid;
	meta->entry_level = (uint16) level;
	VsXlogFinish(&xlog);
	UnlockReleaseBuffer(buffer);
}

void
HnswInsertOnDisk(Relation index, const HnswShape *shape, const float *x, ItemPointer heaptid)
{
	HnswMetaPageData meta;
	int			level = HnswRandomLevel(shape->m, &pg_global_prng_state);
	uint16		counts[HNSW_MAX_LEVEL + 1] = {0};
	int			npicks[HNSW_MAX_LEVEL + 1] = {0};	/* the members that link back */
	ItemPointerData *neighbors[HNSW_MAX_LEVEL + 1];
	float	   *dists[HNSW_MAX_LEVEL + 1];
	/*
	 * The backend's buffer hints, as scans use them: without, every page an insert scores
	 * was a buffer mapping lookup, a quarter of its time on 1M x 128 rows (perf).
	 * Safe to hold for the insert: nothing in it processes relcache invalidations.
	 */
	VsBufferHints *hints = HnswGetHints(index);
	HnswElement e;
	Size		size;
	ItemPointerData tid;
	BlockNumber overflow = InvalidBlockNumber;
	int			l;
	int			top;
	LOCKMODE	mode = ShareLock;

	LockPage(index, HNSW_UPDATE_LOCK, mode);
	HnswReadMeta(index, &meta);
	if (!ItemPointerIsValid(&meta.entry) || level > meta.entry_level)
	{
		/* the new element becomes the entry point: no other insert may run meanwhile */
		UnlockPage(index, HNSW_UPDATE_LOCK, mode);
		mode = ExclusiveLock;
		LockPage(index, HNSW_UPDATE_LOCK, mode);
		HnswReadMeta(index, &meta);
	}
	top = ItemPointerIsValid(&meta.entry) ? Min(level, (int) meta.entry_level) : -1;

	for (l = 0; l <= level; l++)
	{
		neighbors[l] = palloc(sizeof(ItemPointerData) * HnswCapacity(shape, l));
		dists[l] = palloc(sizeof(float) * HnswCapacity(shape, l));
	}

	/*
	 * 1. the nearest live elements on each level the new one lives on, and its lists: the
	 * heuristic's picks, then on level 0 the nearest pruned ones, as the build keeps them
	 * (and pgvector). The picks link back to it (3.); the rest do not. Measured with
	 * test/bench/insert_bench.py on 1M x 128 rows, 100,000 inserts: with lists of the picks
	 * only, recall@10 at ef_search 40 fell by 0.016-0.020 in three runs; filled, it moved by
	 * +0.007 and -0.0004 in two. On the 8,000 24-d rows of regress hnsw_recall, rows
	 * inserted one by one: 0.942-0.946 at ef_search 10, picks only 0.899-0.905 (pgvector's
	 * inserts 0.969). Linking every member back, as pgvector does, ran 10,000 3-d inserts
	 * from 10 clients at 1,230 a second, against 1,830 (the picks link back). Under inner
	 * product the heuristic keeps one or two on every level (the longest vectors beat every
	 * other candidate); with those alone recall@20 after 10,000 inserts varied from 0.95 to
	 * 0.99 (3-d and 10-d rows, pgvector's floors 0.97 and 0.98): there every level is filled
	 * and every member links back, 0.9975-1.0. Full lists need VACUUM to link elements in
	 * past them: hnswconnect.c's SwapLink.
	 */
	if (top >= 0)
	{
		HnswSearcher *s = HnswSearcherCreate(index, shape, x, hints);
		HnswCandidate entry;
		HnswCandidate *eps;
		int			neps = 1;

		if (HnswScore(s, &meta.entry, meta.entry_level, &entry))
		{
			/*
			 * One candidate down to the new element's levels, as the build's graph
			 * descends: the wider descent scans keep (HnswDescentEf) was 9% of an insert
			 * into 1M x 128 rows (perf), and one is 16% more inserts a second (517-540 ->
			 * 626, 1 client) at the same recall of inserted rows (regress hnsw_recall:
			 * 0.901-0.905 at ef_search 10, against 0.899-0.904).
			 */
			HnswDescend(s, &entry, meta.entry_level, top, 1);
			eps = palloc(sizeof(HnswCandidate));
			eps[0] = entry;
			for (l = top; l >= 0; l--)
			{
				HnswCandidate *found;
				int			nfound;
				int			k;

				HnswSearcherReset(s);
				for (k = 0; k < neps; k++)
					if (!HnswScore(s, &eps[k].tid, l, &eps[k]))
						eps[k].nneighbors = 0;
				nfound = HnswSearchLayer(s, eps, neps, Max((int) meta.ef_construction, shape->m), l, &found);
				if (l == 0 && nfound > 0 && !found[0].deleted && found[0].dist <= 0 &&
					AddDuplicate(index, shape, &found[0].tid, x, heaptid))
				{
					UnlockPage(index, HNSW_UPDATE_LOCK, mode);
					return;
				}
				counts[l] = (uint16) HnswSelectNeighbors(index, shape, hints, found, NULL, nfound,
													 HnswCapacity(shape, l),
													 l == 0 || shape->metric == VS_METRIC_IP,
													 neighbors[l], dists[l], &npicks[l]);
				/* under inner product every member links back, as pgvector's do */
				if (shape->metric == VS_METRIC_IP)
					npicks[l] = counts[l];
				eps = found;
				neps = nfound;
			}
		}
	}

	/* 2. the element itself */
	if (!shape->inline_vector)
		HnswWriteOverflow(index, MAIN_FORKNUM, shape, x, &overflow, true);
	e = HnswFormElement(shape, level, heaptid, 1, counts, neighbors, x, overflow, &size);
	PlaceElement(index, e, size, &tid);

	/*
	 * 3. links back. An element that no neighbour keeps a level-0 link to would be an
	 * island that no scan finds: the nearest neighbour that can take it without cutting off
	 * a member then links to it regardless, or the nearest if none can.
	 */
	for (l = 0; l <= Max(top, -1); l++)
	{
		int			k;
		bool		linked = false;
		/* the new element's own list as this insert knows it (LinkBack keeps it current) */
		ItemPointerData *links = palloc(sizeof(ItemPointerData) * HnswCapacity(shape, l));
		int			nlinks = counts[l];

		memcpy(links, neighbors[l], sizeof(ItemPointerData) * counts[l]);
		for (k = 0; k < npicks[l]; k++)
			linked |= LinkBack(index, shape, &neighbors[l][k], l, &tid, x, dists[l][k],
							   links, &nlinks, hints, HNSW_LINK_IF_CHOSEN);
		for (k = 0; l == 0 && !linked && k < counts[0]; k++)
			linked = LinkBack(index, shape, &neighbors[0][k], 0, &tid, x, dists[0][k],
							  links, &nlinks, hints, HNSW_LINK_FORCE_SAFE);
		if (l == 0 && !linked && counts[0] > 0)
			(void) LinkBack(index, shape, &neighbors[0][0], 0, &tid, x, dists[0][0],
							links, &nlinks, hints, HNSW_LINK_FORCE);
	}

	/* 4. a new top level, or the first element */
	if (!ItemPointerIsValid(&meta.entry) || level > meta.entry_level)
	{
		Assert(mode == ExclusiveLock);
		SetEntryPoint(index, &tid, level);
	}

	UnlockPage(index, HNSW_UPDATE_LOCK, mode);
}

/* One row's element, linked into the graph. */
static void
InsertRow(Relation index, Datum value, ItemPointer heap_tid)
{
	HnswShape	shape;
	Vector	   *v;

	HnswGetShape(index, &shape);
	v = VsCopyRowVector(index, value, shape.dim);
	if (VsPrepareVector(shape.metric, v->x, v->dim))
	{
		/* what the page will hold: a row equal to a stored one must compare equal */
		VsRoundToStorage(shape.storage, v->x, v->dim);
		HnswInsertOnDisk(index, &shape, v->x, heap_tid);
	}
}

VS_DEFINE_AMINSERT(hnswinsert, InsertRow)
