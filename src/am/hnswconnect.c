/*
 * hnswconnect.c — VACUUM's last step for hnsw: keep level 0 connected.
 *
 * A scan descends the upper levels to one element and explores level 0 from it.
 * If level 0 has fallen apart, a descent that ends in the wrong part cannot find a
 * neighbour in another part, whatever ef_search: only the scan's final sweep finds it,
 * which an ORDER BY ... LIMIT query that has its rows never reaches. Inserts and VACUUM's
 * repair change neighbour lists one at a time, and a list that drops a member may drop the
 * last link to it or to a whole group. The build leaves level 0 connected
 * (HnswGraphConnect); this finds the live elements no level-0 path from the entry point
 * reaches ("reached" is what one does) and gives each a level-0 link from the nearest
 * reached element, which reaches its whole group with it; what the rounds leave is linked
 * from the nearest reached element with room (vecsearch_verify reports any left).
 *
 * Element slots are numbered block x HNSW_SLOTS_PER_BLOCK + offset (an element item takes
 * more than 16 bytes, so a page holds fewer than MaxIndexTuplesPerPage of them), with one
 * bit each for "is an element" and "reached". A link goes into free room, or takes the
 * place of a member that then joins the linked element's list (SwapLink), so that no link
 * in use is lost. Not for inner product: see verify.c.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "hnsw.h"
#include "hnswelement.h"

#define HNSW_SLOTS_PER_BLOCK	(MaxIndexTuplesPerPage + 1)
/* Candidates a search offers for linking an element in. */
#define HNSW_CONNECT_EF		32
/* Rounds: an element whose list is full of unreached ones waits for them to be reached. */
#define HNSW_CONNECT_ROUNDS	3
/* Elements the rounds leave out that the last resort links in, per VACUUM. */
#define HNSW_CONNECT_LAST	64

/*
 * The last resort: for each element the rounds left out, the nearest reached live element
 * with a free level-0 slot, found by scoring every element.
 */
typedef struct LastResort
{
	int			n;
	ItemPointerData lost[HNSW_CONNECT_LAST];
	float	   *x[HNSW_CONNECT_LAST];
	ItemPointerData best[HNSW_CONNECT_LAST];
	float		best_dist[HNSW_CONNECT_LAST];
	/* vectors on overflow pages: the elements with room, scored after the pass */
	ItemPointerData *later;
	int			nlater;
	int			later_cap;
} LastResort;

typedef struct Connector
{
	Relation	index;
	HnswShape	shape;
	VsBufferHints *hints;
	HnswMetaPageData meta;
	BlockNumber nblocks;
	uint8	   *element;		/* bit per slot */
	uint8	   *reached;		/* bit per slot */
	Size		bitmap_bytes;	/* of `element` and `reached` */
	int32	   *pending;		/* per block: reached slots not yet expanded */
	int64		npending;
	ItemPointerData *lost;		/* unreached live elements */
	int			nlost;
	int			lost_cap;
	LastResort *last;
} Connector;

/* Appends tid to a growing array (*cap 0: not allocated yet; grows from `first`). */
static void
AppendTid(ItemPointerData **tids, int *n, int *cap, int first, const ItemPointerData *tid)
{
	if (*n == *cap)
	{
		*cap = Max(first, *cap * 2);
		*tids = *tids ? repalloc_huge(*tids, sizeof(ItemPointerData) * *cap) :
			palloc(sizeof(ItemPointerData) * *cap);
	}
	(*tids)[(*n)++] = *tid;
}

static inline uint64
Slot(const ItemPointerData *tid)
{
	return (uint64) ItemPointerGetBlockNumber(tid) * HNSW_SLOTS_PER_BLOCK + ItemPointerGetOffsetNumber(tid);
}

/* A link that may name an element: inside the index, an offset a page can hold. */
static bool
IsElementTid(const Connector *c, const ItemPointerData *tid)
{
	return ItemPointerGetBlockNumberNoCheck(tid) < c->nblocks &&
		ItemPointerGetOffsetNumberNoCheck(tid) >= FirstOffsetNumber &&
		ItemPointerGetOffsetNumberNoCheck(tid) < HNSW_SLOTS_PER_BLOCK &&
		VsBitIsSet(c->element, Slot(tid));
}

static void
Reach(Connector *c, const ItemPointerData *tid)
{
	uint64		slot = Slot(tid);

	if (VsBitIsSet(c->reached, slot))
		return;
	VsBitSet(c->reached, slot);
	c->pending[ItemPointerGetBlockNumber(tid)]++;
	c->npending++;
}

typedef void (*ElementVisitor) (Connector *c, ItemPointer tid, HnswElement e);

/* Calls visit for every element on block blkno (under a share lock). */
static void
VisitBlock(Connector *c, BlockNumber blkno, ElementVisitor visit)
{
	Buffer		buffer = VsReadLocked(c->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
	HnswPageElements it;

	for (HnswPageElementsBegin(&it, BufferGetPage(buffer)); HnswPageElementsNext(&it);)
	{
		ItemPointerData tid;

		if (it.off >= HNSW_SLOTS_PER_BLOCK)
			continue;
		ItemPointerSet(&tid, blkno, it.off);
		visit(c, &tid, HnswCheckedElement(c->index, &c->shape, it.page, it.iid, blkno, it.off));
	}
	UnlockReleaseBuffer(buffer);
}

static void
VisitAll(Connector *c, ElementVisitor visit)
{
	BlockNumber blkno;

	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < c->nblocks; blkno++)
	{
		vacuum_delay_point();
		VisitBlock(c, blkno, visit);
	}
}

/* First pass: which slots hold elements. */
static void
NoteElement(Connector *c, ItemPointer tid, HnswElement e)
{
	(void) e;
	VsBitSet(c->element, Slot(tid));
}

/* Expanding a reached element: what its level-0 links lead to is reached too. */
static void
Expand(Connector *c, ItemPointer tid, HnswElement e)
{
	int			n;
	ItemPointer nbrs;
	int			k;

	if (!VsBitIsSet(c->reached, Slot(tid)))
		return;
	n = HnswCounts(&c->shape, e)[0];
	nbrs = HnswNeighbors(&c->shape, e, 0);
	for (k = 0; k < n; k++)
		if (IsElementTid(c, &nbrs[k]))
			Reach(c, &nbrs[k]);
}

static void Propagate(Connector *c);

/*
 * What level-0 links lead to from the entry point, found afresh: a link that replaced
 * another may have cut off what was reached before (the in-degree guard counts links from
 * elements that are themselves cut off, and saturates).
 */
static void
ReachFromEntry(Connector *c)
{
	memset(c->reached, 0, c->bitmap_bytes);
	memset(c->pending, 0, sizeof(int32) * c->nblocks);
	c->npending = 0;
	if (IsElementTid(c, &c->meta.entry))
		Reach(c, &c->meta.entry);
	Propagate(c);
}

/* Breadth first in block order: each round reads the blocks with reached slots pending. */
static void
Propagate(Connector *c)
{
	while (c->npending > 0)
	{
		BlockNumber blkno;

		for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < c->nblocks; blkno++)
		{
			if (c->pending[blkno] == 0)
				continue;
			c->npending -= c->pending[blkno];
			c->pending[blkno] = 0;
			vacuum_delay_point();
			/* an element reached twice is expanded twice: harmless, its links are marked */
			VisitBlock(c, blkno, Expand);
		}
	}
}

static void
NoteLost(Connector *c, ItemPointer tid, HnswElement e)
{
	if (e->flags != HNSW_ELEMENT_LIVE || VsBitIsSet(c->reached, Slot(tid)))
		return;
	AppendTid(&c->lost, &c->nlost, &c->lost_cap, 64, tid);
}

/* What is reached afresh, and the live elements it leaves out, in c->lost. */
static void
FindLost(Connector *c)
{
	ReachFromEntry(c);
	c->nlost = 0;
	VisitAll(c, NoteLost);
}

/* A level-0 link from -> u, into free room; false if from's list is full. */
static bool
AddLink(Connector *c, ItemPointer from, ItemPointer u)
{
	int			cap = HnswCapacity(&c->shape, 0);
	Buffer		buffer = VsReadLocked(c->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(from),
									  BUFFER_LOCK_EXCLUSIVE);
	HnswElement e = HnswElementAt(c->index, &c->shape, BufferGetPage(buffer),
								  ItemPointerGetBlockNumber(from), ItemPointerGetOffsetNumber(from));
	int			count = HnswCounts(&c->shape, e)[0];
	VsXlog		xlog;

	if (count >= cap)
	{
		UnlockReleaseBuffer(buffer);
		return false;
	}
	VsXlogStart(&xlog, c->index);
	e = HnswElementAt(c->index, &c->shape, VsXlogPage(&xlog, buffer, false),
					  ItemPointerGetBlockNumber(from), ItemPointerGetOffsetNumber(from));
	HnswNeighbors(&c->shape, e, 0)[count] = *u;
	HnswCounts(&c->shape, e)[0] = (uint16) (count + 1);
	VsXlogFinish(&xlog);
	UnlockReleaseBuffer(buffer);
	return true;
}

/*
 * The farthest from `from` of the n members of its list `list` that pass `eligible` (NULL:
 * all); -1 if none does.
 */
static int
FarthestMember(Connector *c, ItemPointer from, const ItemPointerData *list, int n,
			   bool (*eligible) (Connector *c, const ItemPointerData *tid))
{
	float	   *fx = palloc(sizeof(float) * c->shape.dim);
	float	   *y = palloc(sizeof(float) * c->shape.dim);
	float		worst = -get_float4_infinity();
	int			best = -1;
	int			k;

	if (!HnswReadVector(c->index, &c->shape, c->hints, from, fx, NULL))
		n = 0;					/* no element there: no member qualifies */
	for (k = 0; k < n; k++)
	{
		float		d;

		if (!IsElementTid(c, &list[k]) || (eligible != NULL && !eligible(c, &list[k])) ||
			!HnswReadVector(c->index, &c->shape, c->hints, (ItemPointer) &list[k], y, NULL))
			continue;
		d = VsDistance(c->shape.metric, fx, y, c->shape.dim);
		if (d > worst)
		{
			worst = d;
			best = k;
		}
	}
	pfree(fx);
	pfree(y);
	return best;
}

static bool
IsReached(Connector *c, const ItemPointerData *tid)
{
	return VsBitIsSet(c->reached, Slot(tid));
}

/* Copies tid's level-0 list into list; returns its length. */
static int
CopyLevel0List(Connector *c, ItemPointer tid, ItemPointerData *list)
{
	Buffer		buffer = VsReadLocked(c->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(tid),
									  BUFFER_LOCK_SHARE);
	HnswElement e = HnswElementAt(c->index, &c->shape, BufferGetPage(buffer),
								  ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
	int			n = HnswCounts(&c->shape, e)[0];

	memcpy(list, HnswNeighbors(&c->shape, e, 0), sizeof(ItemPointerData) * n);
	UnlockReleaseBuffer(buffer);
	return n;
}

/*
 * Links u in from the reached element `from` when no member of from's full list can be
 * given up (AddLink): u takes the place of from's farthest member M, and M joins u's list,
 * into free room or in place of u's farthest member that is reached. Nothing is cut off:
 * whatever reached M through from now reaches it through u, and u, unreached until now,
 * was on no path to a reached element, so the member of its own list it gives up keeps
 * its path. Where u's list holds only unreached elements (a group of them linking each
 * other, as 11 inserted 3,000-d rows at m 4 in TAP 004 did), its farthest one gives way:
 * the group is reached through u, and that one, if it is cut off, is linked in by the
 * next round with a reached member to give up. Both pages change in one WAL record
 * (VACUUM holds HNSW_UPDATE_LOCK: no insert changes either list meanwhile). False only if
 * u's list holds no element. */
static bool
SwapLink(Connector *c, ItemPointer from, ItemPointer u)
{
	int			cap = HnswCapacity(&c->shape, 0);
	ItemPointerData flist[2 * HNSW_MAX_M];
	ItemPointerData ulist[2 * HNSW_MAX_M];
	int			fcount;
	int			ucount;
	int			mslot;
	int			uslot;
	Buffer		fbuf;
	Buffer		ubuf;
	HnswElement fe;
	HnswElement ue;
	VsXlog		xlog;

	fcount = CopyLevel0List(c, from, flist);
	if (fcount < cap)
		return AddLink(c, from, u);
	ucount = CopyLevel0List(c, u, ulist);
	mslot = FarthestMember(c, from, flist, fcount, NULL);
	if (mslot < 0)
		return false;
	if (HnswContainsTid(ulist, ucount, &flist[mslot]))
		uslot = -1;				/* u links to M already */
	else if (ucount < cap)
		uslot = ucount;
	else if ((uslot = FarthestMember(c, u, ulist, ucount, IsReached)) < 0 &&
			 (uslot = FarthestMember(c, u, ulist, ucount, NULL)) < 0)
		return false;

	fbuf = VsReadLocked(c->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(from), BUFFER_LOCK_EXCLUSIVE);
	ubuf = ItemPointerGetBlockNumber(u) == ItemPointerGetBlockNumber(from) ? fbuf :
		VsReadLocked(c->index, MAIN_FORKNUM, ItemPointerGetBlockNumber(u), BUFFER_LOCK_EXCLUSIVE);
	VsXlogStart(&xlog, c->index);
	fe = HnswElementAt(c->index, &c->shape, VsXlogPage(&xlog, fbuf, false),
					   ItemPointerGetBlockNumber(from), ItemPointerGetOffsetNumber(from));
	ue = HnswElementAt(c->index, &c->shape, VsXlogPage(&xlog, ubuf, false),
					   ItemPointerGetBlockNumber(u), ItemPointerGetOffsetNumber(u));
	HnswNeighbors(&c->shape, fe, 0)[mslot] = *u;
	if (uslot >= 0)
	{
		HnswNeighbors(&c->shape, ue, 0)[uslot] = flist[mslot];
		if (uslot == ucount)
			HnswCounts(&c->shape, ue)[0] = (uint16) (ucount + 1);
	}
	VsXlogFinish(&xlog);
	if (ubuf != fbuf)
		UnlockReleaseBuffer(ubuf);
	UnlockReleaseBuffer(fbuf);
	return true;
}

/*
 * The HNSW_CONNECT_EF elements nearest to x that a search finds on level 0, starting from
 * where a descent from the entry point ends or (descend false) from the entry point itself.
 */
static int
SearchLevel0(Connector *c, const float *x, bool descend, HnswCandidate **found)
{
	HnswSearcher *s = HnswSearcherCreate(c->index, &c->shape, x, c->hints);
	HnswCandidate entry;

	if (!HnswScore(s, &c->meta.entry, c->meta.entry_level, &entry))
		return 0;
	if (descend)
		HnswDescend(s, &entry, c->meta.entry_level, 0, HnswDescentEf(HNSW_CONNECT_EF));
	HnswSearcherReset(s);
	if (!HnswScore(s, &entry.tid, 0, &entry))
		return 0;
	HnswMarkVisited(s, &entry.tid);
	return HnswSearchLayer(s, &entry, 1, HNSW_CONNECT_EF, 0, found);
}

static bool
CanLinkFrom(Connector *c, const HnswCandidate *f, ItemPointer u)
{
	return !f->deleted && !ItemPointerEquals((ItemPointer) &f->tid, u) && IsElementTid(c, &f->tid) &&
		IsReached(c, &f->tid);
}

/*
 * Links u from the nearest reached element among those found with room, or else from the
 * nearest that SwapLink can take it into. Replacing instead a member that other links
 * were counted to lead to (the links of unreached and deleted elements counted too) cut
 * off other elements, round after round: where VACUUM's repair and inserts keep lists
 * full, regress hnsw_edges (m 4, a third of 1,500 inserted rows deleted) was left with 2
 * to 4 unreachable elements in 5 runs of 20; with the swap, none in 20, all linked in the
 * first round.
 */
static bool
LinkFromFound(Connector *c, ItemPointer u, HnswCandidate *found, int nfound)
{
	int			i;

	for (i = 0; i < nfound; i++)
		if (CanLinkFrom(c, &found[i], u) && AddLink(c, &found[i].tid, u))
			return true;
	for (i = 0; i < nfound; i++)
		if (CanLinkFrom(c, &found[i], u) && SwapLink(c, &found[i].tid, u))
			return true;
	return false;
}

/*
 * Links u from the nearest reached element a search finds: down the levels as a scan goes,
 * or, when that search stays in u's own part of level 0, on level 0 from the entry point.
 */
static bool
LinkIn(Connector *c, ItemPointer u)
{
	float	   *x = HnswReadVectorCopy(c->index, &c->shape, u);
	HnswCandidate *found;
	int			nfound;

	nfound = SearchLevel0(c, x, true, &found);
	if (LinkFromFound(c, u, found, nfound))
		return true;
	nfound = SearchLevel0(c, x, false, &found);
	return LinkFromFound(c, u, found, nfound);
}

static void
OfferLink(LastResort *lr, int i, const ItemPointerData *from, float dist)
{
	if (!ItemPointerIsValid(&lr->best[i]) || dist < lr->best_dist[i])
	{
		lr->best[i] = *from;
		lr->best_dist[i] = dist;
	}
}

/* The pass of LinkLastResort: scores each reached live element with room. */
static void
ScoreWithRoom(Connector *c, ItemPointer tid, HnswElement e)
{
	LastResort *lr = c->last;

	if (e->flags != HNSW_ELEMENT_LIVE || !VsBitIsSet(c->reached, Slot(tid)) ||
		HnswCounts(&c->shape, e)[0] >= HnswCapacity(&c->shape, 0))
		return;
	if (!c->shape.inline_vector)
	{
		/* its pages are read after the pass, with no lock held on this one */
		AppendTid(&lr->later, &lr->nlater, &lr->later_cap, 256, tid);
		return;
	}
	for (int i = 0; i < lr->n; i++)
		OfferLink(lr, i, tid, VsDistanceStored(c->shape.metric, c->shape.storage, lr->x[i],
											   HnswInlineVector(&c->shape, e), c->shape.dim));
}

/*
 * Links in what the rounds left out (a replaced link can cut off another element), up to
 * HNSW_CONNECT_LAST of them, each from the nearest reached element with a free level-0
 * slot, scoring every element: no link is replaced, so nothing else is cut off. Each
 * round and this pass find what is reached afresh (ReachFromEntry). Rare (the
 * build needed it for 1 of 1,000 rows on one test set); returns the number linked.
 */
static int
LinkLastResort(Connector *c)
{
	LastResort *lr = palloc0(sizeof(LastResort));
	int			linked = 0;
	int			i;

	FindLost(c);
	for (i = 0; i < c->nlost && lr->n < HNSW_CONNECT_LAST; i++)
	{
		lr->lost[lr->n] = c->lost[i];
		lr->x[lr->n] = HnswReadVectorCopy(c->index, &c->shape, &c->lost[i]);
		ItemPointerSetInvalid(&lr->best[lr->n]);
		lr->n++;
	}
	if (lr->n == 0)
		return 0;
	c->last = lr;
	VisitAll(c, ScoreWithRoom);
	c->last = NULL;
	for (i = 0; i < lr->nlater; i++)
	{
		float	   *y = HnswReadVectorCopy(c->index, &c->shape, &lr->later[i]);

		vacuum_delay_point();
		for (int k = 0; k < lr->n; k++)
			OfferLink(lr, k, &lr->later[i], VsDistance(c->shape.metric, lr->x[k], y, c->shape.dim));
		pfree(y);
	}
	for (i = 0; i < lr->n; i++)
	{
		/* linking an earlier one may have reached this one, or filled its best's room */
		if (VsBitIsSet(c->reached, Slot(&lr->lost[i])) || !ItemPointerIsValid(&lr->best[i]) ||
			!AddLink(c, &lr->best[i], &lr->lost[i]))
			continue;
		linked++;
		Reach(c, &lr->lost[i]);
		Propagate(c);
	}
	return linked;
}

int
HnswConnect(Relation index, const HnswShape *shape, VsBufferHints *hints)
{
	Connector	c;
	Size		slots;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw connect", ALLOCSET_DEFAULT_SIZES);
	MemoryContext tmp = AllocSetContextCreate(cxt, "hnsw connect link", ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	int			linked = 0;
	int			round;

	memset(&c, 0, sizeof(c));
	c.index = index;
	c.shape = *shape;
	c.hints = hints;
	HnswReadMeta(index, &c.meta);
	c.nblocks = RelationGetNumberOfBlocks(index);
	if (shape->metric == VS_METRIC_IP || !ItemPointerIsValid(&c.meta.entry) || c.nblocks < 2)
	{
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		return 0;
	}
	slots = (Size) c.nblocks * HNSW_SLOTS_PER_BLOCK;
	c.bitmap_bytes = slots / 8 + 1;
	c.element = palloc_extended(c.bitmap_bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	c.reached = palloc_extended(c.bitmap_bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	c.pending = palloc_extended(sizeof(int32) * c.nblocks, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	VisitAll(&c, NoteElement);
	for (round = 0; round < HNSW_CONNECT_ROUNDS; round++)
	{
		int			before = linked;
		int			i;

		FindLost(&c);
		for (i = 0; i < c.nlost; i++)
		{
			bool		in;

			CHECK_FOR_INTERRUPTS();
			/* linking an earlier one may have reached this one */
			if (VsBitIsSet(c.reached, Slot(&c.lost[i])))
				continue;
			MemoryContextSwitchTo(tmp);
			in = LinkIn(&c, &c.lost[i]);
			MemoryContextSwitchTo(cxt);
			MemoryContextReset(tmp);
			if (in)
			{
				linked++;
				Reach(&c, &c.lost[i]);
				Propagate(&c);
			}
		}
		if (linked == before)
			break;
	}
	linked += LinkLastResort(&c);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return linked;
}
