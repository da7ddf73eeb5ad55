/*
 * hnswelement.h — everything that reads or writes an element item (hnsw.h has its format):
 * where its parts lie, finding one on a page, walking a page's elements, and the checks that
 * keep a damaged one from making a scan read, or an insert or VACUUM write, past its item
 * (an ERROR naming the index, never a crash). Build, insert, scan, VACUUM and verification
 * all go through here.
 *
 * The checks come in parts so that the scan's hot path reads nothing of an element it would
 * not read anyway: the line pointer (HnswCheckItem), the fixed part (HnswCheckHeader, with an
 * inline fast path), each neighbour count (HnswCheckedCount, likewise), or all of them
 * (HnswCheckedElement).
 */
#ifndef VS_AM_HNSWELEMENT_H
#define VS_AM_HNSWELEMENT_H

#include "hnsw.h"

/* ---- geometry: the vector (4-byte aligned, unless on overflow pages), counts, neighbours */

static inline int
HnswCapacity(const HnswShape *shape, int level)
{
	return level == 0 ? 2 * shape->m : shape->m;
}

/* The fixed part, 4-byte aligned: the vector follows it (as floats, halves or bits). */
#define HNSW_VECTOR_OFFSET	TYPEALIGN(4, sizeof(HnswElementData))

/* Bytes of neighbour slots below `level`: 2m on level 0, m on each level above. */
static inline Size
HnswSlotsBelow(const HnswShape *shape, int level)
{
	return level == 0 ? 0 : sizeof(ItemPointerData) * (Size) (2 * shape->m + (level - 1) * shape->m);
}

/* Where the counts start: after the fixed part and the inline vector. */
static inline Size
HnswCountsOffset(const HnswShape *shape)
{
	return HNSW_VECTOR_OFFSET + (shape->inline_vector ? VsStoredBytes(shape->storage, shape->dim) : 0);
}

static inline Size
HnswElementSize(const HnswShape *shape, int level)
{
	return HnswCountsOffset(shape) + sizeof(uint16) * (level + 1) + HnswSlotsBelow(shape, level + 1);
}

static inline uint16 *
HnswCounts(const HnswShape *shape, HnswElement e)
{
	return (uint16 *) ((char *) e + HnswCountsOffset(shape));
}

static inline ItemPointer
HnswNeighbors(const HnswShape *shape, HnswElement e, int level)
{
	return (ItemPointer) ((char *) e + HnswCountsOffset(shape) + sizeof(uint16) * (e->level + 1) +
						  HnswSlotsBelow(shape, level));
}

/* Where the stored vector lies when it is inline; the same for every level. */
static inline void *
HnswInlineVector(const HnswShape *shape, HnswElement e)
{
	(void) shape;
	return (char *) e + HNSW_VECTOR_OFFSET;
}

/* Components of a vector on one overflow page. */
static inline int
HnswOverflowPerPage(VsStorage storage)
{
	return VsStoredPerBytes(storage, HNSW_OVERFLOW_CONTENT);
}

extern bool HnswVectorFitsInline(int m, int dim, VsStorage storage);
extern int	HnswRandomLevel(int m, pg_prng_state *state);
extern int	HnswLevelForRow(int m, ItemPointer heaptid);
extern HnswElement HnswFormElement(const HnswShape *shape, int level,
								   const ItemPointerData *heaptids, int nheaptids,
								   const uint16 *counts, ItemPointerData *const *neighbors,
								   const float *x, BlockNumber overflow, Size *size);
extern void HnswInitPage(Page page, uint16 kind);

/* ---- vectors on overflow pages */
extern void HnswWriteOverflow(Relation index, ForkNumber fork, const HnswShape *shape,
							  const float *x, BlockNumber *first, bool wal);
extern ItemId HnswLockElementItem(Relation index, VsBufferHints *hints, ItemPointer tid,
								  Buffer *buffer);
extern bool HnswReadVector(Relation index, const HnswShape *shape, VsBufferHints *hints,
						   ItemPointer tid, float *x, bool *live);
extern float *HnswReadVectorCopy(Relation index, const HnswShape *shape, ItemPointer tid);

/* ---- finding elements on a page */

static inline bool
HnswIsElementPage(Page page)
{
	return !PageIsNew(page) && HnswPageGetOpaque(page)->flags == HNSW_PAGE_ELEMENT;
}

/*
 * The line pointer of a normal item at off of a page known to hold elements (a TID that
 * once held an element may hold none now); NULL otherwise. It reads the page header and
 * the line pointer only: the scan's hot path, where neighbour links lead to element pages
 * only (pages never change kind), must not touch the special space at the page's far end.
 */
static inline ItemId
HnswItemAt(Page page, OffsetNumber off)
{
	ItemId		iid;

	if (PageIsNew(page) || off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	return ItemIdIsNormal(iid) ? iid : NULL;
}

/* HnswItemAt on any page: NULL unless it is an element page. */
static inline ItemId
HnswElementItem(Page page, OffsetNumber off)
{
	return HnswIsElementPage(page) ? HnswItemAt(page, off) : NULL;
}

/*
 * A walk over the normal items of a page, if it is an element page (none otherwise):
 *
 *     for (HnswPageElementsBegin(&it, page); HnswPageElementsNext(&it);)
 *         ... it.off, it.iid ...
 */
typedef struct HnswPageElements
{
	Page		page;
	OffsetNumber maxoff;
	OffsetNumber off;
	ItemId		iid;
} HnswPageElements;

static inline void
HnswPageElementsBegin(HnswPageElements *it, Page page)
{
	it->page = page;
	it->maxoff = HnswIsElementPage(page) ? PageGetMaxOffsetNumber(page) : InvalidOffsetNumber;
	it->off = InvalidOffsetNumber;
	it->iid = NULL;
}

static inline bool
HnswPageElementsNext(HnswPageElements *it)
{
	while (it->off < it->maxoff)
	{
		it->off++;
		it->iid = PageGetItemId(it->page, it->off);
		if (ItemIdIsNormal(it->iid))
			return true;
	}
	return false;
}

/* ---- checks */

extern void HnswDamagedElement(Relation index, BlockNumber blkno, OffsetNumber off,
							   const char *what) pg_attribute_noreturn();

/*
 * The line pointer only: the item lies inside the page's item space and holds `min_size`
 * bytes or more (an ERROR otherwise). Reads nothing of the element.
 */
static inline void
HnswCheckItem(Relation index, ItemId iid, Size min_size, BlockNumber blkno, OffsetNumber off)
{
	if (unlikely(ItemIdGetOffset(iid) < SizeOfPageHeaderData ||
				 (Size) ItemIdGetOffset(iid) + ItemIdGetLength(iid) >
				 BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData)) ||
				 ItemIdGetLength(iid) < min_size))
		HnswDamagedElement(index, blkno, off, "the item lies outside the page or is too short");
}

extern void HnswCheckHeader(Relation index, const HnswShape *shape, HnswElement e, Size len,
							BlockNumber blkno, OffsetNumber off);
extern int	HnswCheckedCount(Relation index, const HnswShape *shape, HnswElement e, int level,
							 BlockNumber blkno, OffsetNumber off);

/*
 * HnswCheckHeader's test with the element sizes per level computed once (element_size[l] ==
 * HnswElementSize(shape, l)): two compares and no call on the scan's hot path.
 */
static inline void
HnswCheckHeaderFast(Relation index, const HnswShape *shape, const Size *element_size, HnswElement e,
					Size len, BlockNumber blkno, OffsetNumber off)
{
	if (unlikely(e->level > HNSW_MAX_LEVEL || len != element_size[e->level] ||
				 e->nheaptids > HNSW_HEAPTIDS))
		HnswCheckHeader(index, shape, e, len, blkno, off);
}

/* HnswCheckedCount's test inline: a count within its level's capacity. */
static inline int
HnswCheckedCountFast(Relation index, const HnswShape *shape, HnswElement e, int level,
					 BlockNumber blkno, OffsetNumber off)
{
	int			n = HnswCounts(shape, e)[level];

	if (unlikely(n > HnswCapacity(shape, level)))
		return HnswCheckedCount(index, shape, e, level, blkno, off);
	return n;
}

extern HnswElement HnswCheckedElement(Relation index, const HnswShape *shape, Page page, ItemId iid,
									  BlockNumber blkno, OffsetNumber off);
extern HnswElement HnswElementAt(Relation index, const HnswShape *shape, Page page,
								 BlockNumber blkno, OffsetNumber off);

#endif							/* VS_AM_HNSWELEMENT_H */
