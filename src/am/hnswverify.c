/*
 * hnswverify.c — vecsearch_verify's checks of an hnsw index (verify.h): the metapage, every
 * element item (its size for its level, flags, heap TIDs), then every neighbour link (counts
 * within capacity, each pointing at an element), every vector's chain of overflow pages, the
 * entry point, and that every live element can be reached from it on level 0. Live elements'
 * heap TIDs go to the heap checks.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "vector.h"
#include "verify.h"

/* What a block was claimed for (Verifier.owner): 0 is unclaimed. */
#define OWNER_OVERFLOW 3

static uint16
HnswPageKind(Page page)
{
	return HnswPageGetOpaque(page)->flags;
}

/* Which (block, offset) hold an element: one bit each, MaxOffsetNumber per block. */
#define ELEMENT_BIT(b, o) ((uint64) (b) * (MaxOffsetNumber + 1) + (o))

static bool
IsElement(const uint8 *bits, BlockNumber nblocks, const ItemPointerData *tid)
{
	BlockNumber b = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber o = ItemPointerGetOffsetNumberNoCheck(tid);
	uint64		bit;

	if (b >= nblocks || o < FirstOffsetNumber || o > MaxOffsetNumber)
		return false;
	bit = ELEMENT_BIT(b, o);
	return VsBitIsSet(bits, bit);
}

/* An element whose vector lives on overflow pages, starting at block `first`. */
typedef struct HnswChain
{
	BlockNumber blkno;
	OffsetNumber off;
	BlockNumber first;
} HnswChain;

/* The chains found by pass 1, walked after both passes. */
typedef struct HnswChains
{
	HnswChain  *items;
	int			n;
	int			cap;
} HnswChains;

static void
AddChain(HnswChains *chains, BlockNumber blkno, OffsetNumber off, BlockNumber first)
{
	if (chains->n == chains->cap)
	{
		chains->cap = Max(64, chains->cap * 2);
		chains->items = chains->items == NULL ? palloc(sizeof(HnswChain) * chains->cap) :
			repalloc_huge(chains->items, sizeof(HnswChain) * chains->cap);
	}
	chains->items[chains->n].blkno = blkno;
	chains->items[chains->n].off = off;
	chains->items[chains->n].first = first;
	chains->n++;
}

/*
 * An element's overflow chain: as many overflow pages as its dimensions need, each filled
 * as the writer fills it, none shared with another chain (or met twice: a cycle), and the
 * last one ending the chain. Pages no element links to are not reported: a crash between
 * writing a vector's pages and its element leaves such pages, unused.
 */
static void
VerifyChain(Verifier *v, const HnswShape *shape, const HnswChain *c)
{
	int			per_page = HnswOverflowPerPage(shape->storage);
	int			npages = (shape->dim + per_page - 1) / per_page;
	BlockNumber b = c->first;
	int			i;

	for (i = 0; i < npages; i++)
	{
		int			n = Min(per_page, shape->dim - i * per_page);
		Page		page = (Page) v->page;

		if (b == InvalidBlockNumber || b >= v->nblocks)
		{
			VerifyReport(v, c->blkno, "element %u's vector chain breaks after %d of %d overflow pages "
				   "(next block %u)", c->off, i, npages, b);
			return;
		}
		if (v->owner[b] != 0)
		{
			VerifyReport(v, b, "overflow page is in two vectors' chains, or twice in one "
				   "(element %u of block %u)", c->off, c->blkno);
			return;
		}
		v->owner[b] = OWNER_OVERFLOW;
		if (!VerifyReadPage(v, b, HNSW_PAGE_OVERFLOW))
		{
			if (v->zero_page)
				VerifyReport(v, b, "overflow page of element %u of block %u is all zeros", c->off, c->blkno);
			return;
		}
		if (((PageHeader) page)->pd_lower != MAXALIGN(SizeOfPageHeaderData) +
			VsStoredBytes(shape->storage, n))
			VerifyReport(v, b, "overflow page holds %u bytes of the vector, not %zu",
				   (unsigned) (((PageHeader) page)->pd_lower - MAXALIGN(SizeOfPageHeaderData)),
				   VsStoredBytes(shape->storage, n));
		b = HnswPageGetOpaque(page)->next;
	}
	if (b != InvalidBlockNumber)
		VerifyReport(v, c->blkno, "element %u's vector chain goes on past its %d overflow pages", c->off,
			   npages);
}

/*
 * An element item: its size for its level, its flags, heap TIDs, whether it has an
 * overflow chain (walked later), and (second pass, with `bits`) its neighbour counts and
 * TIDs. False if it is no element.
 */
static bool
VerifyElement(Verifier *v, const HnswShape *shape, BlockNumber blkno, OffsetNumber off,
			  HnswElement e, Size size, const uint8 *bits, HnswChains *chains)
{
	int			l,
				k;

	if (size < sizeof(HnswElementData) || e->level > HNSW_MAX_LEVEL ||
		size != HnswElementSize(shape, e->level))
	{
		VerifyReport(v, blkno, "item %u is %zu bytes, not an element (level %u)", off, size, e->level);
		return false;
	}
	if (bits == NULL)
	{
		if (e->flags != HNSW_ELEMENT_LIVE && e->flags != HNSW_ELEMENT_DELETED)
			VerifyReport(v, blkno, "element %u has flags %u", off, e->flags);
		if (e->nheaptids > HNSW_HEAPTIDS || (e->flags == HNSW_ELEMENT_LIVE && e->nheaptids == 0))
			VerifyReport(v, blkno, "element %u holds %u heap rows", off, e->nheaptids);
		for (k = 0; k < Min(e->nheaptids, HNSW_HEAPTIDS); k++)
			if (!VerifyTidInTable(v, &e->heaptids[k]))
				VerifyReport(v, blkno, "element %u points to heap tuple (%u,%u), outside the table",
					   off, ItemPointerGetBlockNumberNoCheck(&e->heaptids[k]),
					   ItemPointerGetOffsetNumberNoCheck(&e->heaptids[k]));
			else if (e->flags == HNSW_ELEMENT_LIVE)
				VerifyAddTid(v, &e->heaptids[k], blkno);
		if (shape->inline_vector && e->overflow != InvalidBlockNumber)
			VerifyReport(v, blkno, "element %u links to overflow block %u, but its vector is inline",
				   off, e->overflow);
		else if (!shape->inline_vector)
			AddChain(chains, blkno, off, e->overflow);
		return true;
	}
	for (l = 0; l <= e->level; l++)
	{
		int			n = HnswCounts(shape, e)[l];
		ItemPointer nbrs = HnswNeighbors(shape, e, l);

		if (n > HnswCapacity(shape, l))
		{
			VerifyReport(v, blkno, "element %u has %d neighbours on level %d, room for %d", off, n, l,
				   HnswCapacity(shape, l));
			continue;
		}
		for (k = 0; k < n; k++)
			if (!IsElement(bits, v->nblocks, &nbrs[k]))
				VerifyReport(v, blkno, "element %u's neighbour (%u,%u) on level %d is no element", off,
					   ItemPointerGetBlockNumberNoCheck(&nbrs[k]),
					   ItemPointerGetOffsetNumberNoCheck(&nbrs[k]), l);
	}
	return true;
}

/*
 * Pass 1 (bits == NULL) marks elements in `marks` and collects their overflow chains; pass 2
 * checks their links against the marks.
 */
static void
HnswPass(Verifier *v, const HnswShape *shape, uint8 *marks, const uint8 *bits, HnswChains *chains)
{
	BlockNumber blkno;

	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < v->nblocks; blkno++)
	{
		Page		page = (Page) v->page;
		HnswPageElements it;
		OffsetNumber maxoff;

		if (!VerifyReadPage(v, blkno, 0))
			continue;
		if (HnswPageKind(page) == HNSW_PAGE_OVERFLOW)
			continue;
		if (HnswPageKind(page) != HNSW_PAGE_ELEMENT)
		{
			if (bits == NULL)
				VerifyReport(v, blkno, "page kind is %u, not an element or overflow page", HnswPageKind(page));
			continue;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		if (maxoff > MaxOffsetNumber ||
			((PageHeader) page)->pd_lower > ((PageHeader) page)->pd_upper ||
			((PageHeader) page)->pd_upper > BLCKSZ - v->layout->special)
		{
			if (bits == NULL)
				VerifyReport(v, blkno, "page header bounds are inconsistent");
			continue;
		}
		for (HnswPageElementsBegin(&it, page); HnswPageElementsNext(&it);)
		{
			Size		len = ItemIdGetLength(it.iid);

			if (ItemIdGetOffset(it.iid) < ((PageHeader) page)->pd_upper ||
				ItemIdGetOffset(it.iid) + len > BLCKSZ - v->layout->special)
			{
				if (bits == NULL)
					VerifyReport(v, blkno, "item %u lies outside the page's item space", it.off);
				continue;
			}
			if (VerifyElement(v, shape, blkno, it.off, (HnswElement) PageGetItem(page, it.iid), len,
							  bits, chains) &&
				bits == NULL)
			{
				VsBitSet(marks, ELEMENT_BIT(blkno, it.off));
			}
		}
	}
}

/* The normal item at off of the page in v->page that pass 1 took for an element. */
static HnswElement
ElementInPage(Verifier *v, BlockNumber blkno, OffsetNumber off, const uint8 *bits)
{
	Page		page = (Page) v->page;
	ItemId		iid;

	if (!VsBitIsSet(bits, ELEMENT_BIT(blkno, off)) || (iid = HnswElementItem(page, off)) == NULL)
		return NULL;
	return (HnswElement) PageGetItem(page, iid);
}

/* Live elements reported one by one before the rest are only counted. */
#define MAX_UNREACHABLE_REPORTS 10

/* The walk of CheckReachable: element bits as ELEMENT_BIT numbers them. */
typedef struct Reachability
{
	Verifier   *v;
	const HnswShape *shape;
	const uint8 *elements;		/* pass 1's marks */
	uint8	   *reached;
	uint8	   *expanded;
	int32	   *pending;		/* per block: reached elements not yet expanded */
	int64		npending;
	int64		unreachable;
} Reachability;

typedef void (*ElementVisitor) (Reachability *r, BlockNumber blkno, OffsetNumber off, HnswElement e);

/* Calls visit for each element pass 1 found on block blkno. */
static void
VisitBlock(Reachability *r, BlockNumber blkno, ElementVisitor visit)
{
	OffsetNumber off;

	if (!VerifyReadPage(r->v, blkno, 0) || HnswPageKind((Page) r->v->page) != HNSW_PAGE_ELEMENT)
		return;
	for (off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber((Page) r->v->page); off++)
	{
		HnswElement e = ElementInPage(r->v, blkno, off, r->elements);

		if (e != NULL)
			visit(r, blkno, off, e);
	}
}

static void
MarkReached(Reachability *r, BlockNumber blkno, OffsetNumber off)
{
	uint64		bit = ELEMENT_BIT(blkno, off);

	if (VsBitIsSet(r->reached, bit))
		return;
	VsBitSet(r->reached, bit);
	r->pending[blkno]++;
	r->npending++;
}

/* A reached element: what its level-0 links lead to is reached too. */
static void
ExpandReached(Reachability *r, BlockNumber blkno, OffsetNumber off, HnswElement e)
{
	uint64		bit = ELEMENT_BIT(blkno, off);
	int			n = HnswCounts(r->shape, e)[0];
	ItemPointer nbrs = HnswNeighbors(r->shape, e, 0);
	int			k;

	if (!VsBitIsSet(r->reached, bit) || VsBitIsSet(r->expanded, bit) ||
		n > HnswCapacity(r->shape, 0))	/* over capacity: reported by pass 2 */
		return;
	VsBitSet(r->expanded, bit);
	for (k = 0; k < n; k++)
		if (IsElement(r->elements, r->v->nblocks, &nbrs[k]))
			MarkReached(r, ItemPointerGetBlockNumber(&nbrs[k]), ItemPointerGetOffsetNumber(&nbrs[k]));
}

static void
ReportUnreached(Reachability *r, BlockNumber blkno, OffsetNumber off, HnswElement e)
{
	if (e->flags != HNSW_ELEMENT_LIVE || VsBitIsSet(r->reached, ELEMENT_BIT(blkno, off)))
		return;
	if (r->unreachable++ < MAX_UNREACHABLE_REPORTS)
		VerifyReport(r->v, blkno, "element %u cannot be reached from the entry point on level 0", off);
}

static void
VisitAll(Reachability *r, ElementVisitor visit)
{
	BlockNumber blkno;

	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < r->v->nblocks; blkno++)
		VisitBlock(r, blkno, visit);
}

/*
 * Every live element can be reached from the entry point by level-0 links (through deleted
 * elements too). A scan descends the upper levels to one element and explores
 * level 0 from there: if level 0 falls apart, a descent that ends in the wrong part cannot
 * find a neighbour in another, whatever ef_search, and only the scan's final sweep (which
 * an ORDER BY ... LIMIT query that has its rows never reaches) finds it. A breadth-first
 * walk in block order: each round reads the pages holding elements reached but not yet
 * expanded, once each.
 */
static void
CheckReachable(Verifier *v, const HnswShape *shape, const ItemPointerData *entry, const uint8 *elements)
{
	Size		nbytes = (Size) (((uint64) v->nblocks * (MaxOffsetNumber + 1) + 7) / 8);
	Reachability r;

	memset(&r, 0, sizeof(r));
	r.v = v;
	r.shape = shape;
	r.elements = elements;
	r.reached = palloc_extended(nbytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	r.expanded = palloc_extended(nbytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	r.pending = palloc_extended(sizeof(int32) * Max(v->nblocks, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	v->quiet_pages = true;
	if (ItemPointerIsValid(entry) && IsElement(elements, v->nblocks, entry))
		MarkReached(&r, ItemPointerGetBlockNumber(entry), ItemPointerGetOffsetNumber(entry));
	while (r.npending > 0)
	{
		BlockNumber blkno;

		for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < v->nblocks; blkno++)
		{
			if (r.pending[blkno] == 0)
				continue;
			r.npending -= r.pending[blkno];
			r.pending[blkno] = 0;
			VisitBlock(&r, blkno, ExpandReached);
		}
	}
	VisitAll(&r, ReportUnreached);
	if (r.unreachable > MAX_UNREACHABLE_REPORTS)
		VerifyReport(v, InvalidBlockNumber, "%lld more live elements cannot be reached",
			   (long long) (r.unreachable - MAX_UNREACHABLE_REPORTS));
	v->quiet_pages = false;
	pfree(r.pending);
	pfree(r.expanded);
	pfree(r.reached);
}

static void
HnswCheckLayout(Verifier *v)
{
	HnswMetaPageData meta;
	HnswShape	shape;
	uint8	   *bits;
	HnswChains	chains = {NULL, 0, 0};

	if (!VerifyNeedPage(v, HNSW_METAPAGE_BLKNO, HNSW_PAGE_META))
		return;
	memcpy(&meta, HnswPageGetMeta((Page) v->page), sizeof(meta));
	if (meta.header.magic != HNSW_MAGIC || meta.header.version != HNSW_VERSION)
	{
		VerifyReport(v, HNSW_METAPAGE_BLKNO, "magic 0x%08x version %u, not an hnsw metapage of version %u",
			   meta.header.magic, meta.header.version, HNSW_VERSION);
		return;
	}
	if (meta.dim < 1 || meta.dim > VECTOR_MAX_DIM || meta.m < HNSW_MIN_M || meta.m > HNSW_MAX_M)
	{
		VerifyReport(v, HNSW_METAPAGE_BLKNO, "metapage: %u dimensions, m = %u", meta.dim, meta.m);
		return;
	}
	shape.m = (int) meta.m;
	shape.dim = (int) meta.dim;
	shape.metric = (VsMetric) meta.metric;
	if (!VsStorageKnown(meta.storage))
	{
		VerifyReport(v, HNSW_METAPAGE_BLKNO, "metapage: unknown vector storage %u", meta.storage);
		return;
	}
	shape.storage = (VsStorage) meta.storage;
	shape.inline_vector = HnswVectorFitsInline(shape.m, shape.dim, shape.storage);
	v->walked = true;
	v->metric = shape.metric;
	v->dim = shape.dim;
	bits = palloc_extended((Size) (((uint64) v->nblocks * (MaxOffsetNumber + 1) + 7) / 8),
							MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	HnswPass(v, &shape, bits, NULL, &chains);
	v->quiet_pages = true;
	HnswPass(v, &shape, NULL, bits, NULL);
	v->quiet_pages = false;
	for (int i = 0; i < chains.n; i++)
		VerifyChain(v, &shape, &chains.items[i]);
	if (ItemPointerIsValid(&meta.entry) && !IsElement(bits, v->nblocks, &meta.entry))
		VerifyReport(v, HNSW_METAPAGE_BLKNO, "the entry point (%u,%u) is no element",
			   ItemPointerGetBlockNumberNoCheck(&meta.entry),
			   ItemPointerGetOffsetNumberNoCheck(&meta.entry));
	/*
	 * Not under inner product, which is no metric: a vector inside the others' hull is
	 * nearer (by -dot) to none of them than they are to each other, so neither the build
	 * nor VACUUM's repair keeps links to it, and no search walks towards it; the sweep
	 * finds it.
	 */
	if (shape.metric != VS_METRIC_IP)
		CheckReachable(v, &shape, &meta.entry, bits);
}

const VerifyLayout HnswVerifyLayout = {
	.special = MAXALIGN(sizeof(HnswPageOpaqueData)),
	.page_id = VS_PAGE_ID_HNSW,
	.page_kind = HnswPageKind,
	.check = HnswCheckLayout,
};
