/*
 * hnswelement.c — an element item: its geometry, the level draw, forming one, and checking
 * one read from a page (a damaged element is an ERROR naming the index, never a crash):
 * what build, insert, scan, VACUUM and verification must agree on.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "utils/rel.h"

#include "hnsw.h"

/* Bytes of neighbour slots below `level`: 2m on level 0, m on each level above. */
static inline Size
SlotsBelow(const HnswShape *shape, int level)
{
	return level == 0 ? 0 : sizeof(ItemPointerData) * (Size) (2 * shape->m + (level - 1) * shape->m);
}

/* The fixed part, 4-byte aligned: the vector follows it. */
#define HNSW_VECTOR_OFFSET	TYPEALIGN(4, sizeof(HnswElementData))

/* Where the counts start: after the fixed part and the inline vector. */
static inline Size
CountsOffset(const HnswShape *shape)
{
	return HNSW_VECTOR_OFFSET + (shape->inline_vector ? sizeof(float) * shape->dim : 0);
}

Size
HnswElementSize(const HnswShape *shape, int level)
{
	return CountsOffset(shape) + sizeof(uint16) * (level + 1) + SlotsBelow(shape, level + 1);
}

uint16 *
HnswCounts(const HnswShape *shape, HnswElement e)
{
	return (uint16 *) ((char *) e + CountsOffset(shape));
}

ItemPointer
HnswNeighbors(const HnswShape *shape, HnswElement e, int level)
{
	return (ItemPointer) ((char *) e + CountsOffset(shape) + sizeof(uint16) * (e->level + 1) +
						  SlotsBelow(shape, level));
}

float *
HnswInlineVector(const HnswShape *shape, HnswElement e)
{
	(void) shape;
	return (float *) ((char *) e + HNSW_VECTOR_OFFSET);
}

/*
 * A vector is stored with its element when a top-level element (HNSW_MAX_LEVEL levels of
 * links) still fits a page with room to spare; beyond that (about 1,900 dimensions at
 * m = 16) every vector of the index goes to overflow pages.
 */
bool
HnswVectorFitsInline(int m, int dim)
{
	HnswShape	shape = {m, dim, VS_METRIC_L2, true};
	Size		room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) -
		MAXALIGN(sizeof(HnswPageOpaqueData)) - sizeof(ItemIdData);

	return MAXALIGN(HnswElementSize(&shape, HNSW_MAX_LEVEL)) <= room;
}

/* Level of a new element: floor(-ln(U) * mL) with mL = 1 / ln(m), as in the paper. */
static int
LevelFromUniform(int m, double u)
{
	int			level = (int) floor(-log(Max(u, 1e-300)) / log((double) m));

	return Min(level, HNSW_MAX_LEVEL);
}

int
HnswRandomLevel(int m, pg_prng_state *state)
{
	return LevelFromUniform(m, pg_prng_double(state));
}

/*
 * The level a build gives a heap row: drawn as HnswRandomLevel does, from a hash of the
 * row's TID, so that the same table builds the same levels whichever process of a
 * parallel build inserts the row.
 */
int
HnswLevelForRow(int m, ItemPointer heaptid)
{
	uint64		h = ((uint64) ItemPointerGetBlockNumber(heaptid) << 16) |
		ItemPointerGetOffsetNumber(heaptid);

	/* splitmix64's finaliser */
	h += UINT64CONST(0x9E3779B97F4A7C15);
	h = (h ^ (h >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	h = (h ^ (h >> 27)) * UINT64CONST(0x94D049BB133111EB);
	h ^= h >> 31;
	return LevelFromUniform(m, (double) ((h >> 11) + 1) * (1.0 / 9007199254740992.0));
}

/*
 * An element item: counts[l] neighbours from neighbors[l] on each level, the vector when
 * it is stored inline. Unused neighbour slots are left invalid.
 */
HnswElement
HnswFormElement(const HnswShape *shape, int level, const ItemPointerData *heaptids, int nheaptids,
				const uint16 *counts, ItemPointerData *const *neighbors, const float *x,
				BlockNumber overflow, Size *size)
{
	HnswElement e;
	int			l;

	*size = HnswElementSize(shape, level);
	e = palloc0(*size);
	e->level = (uint8) level;
	e->flags = HNSW_ELEMENT_LIVE;
	e->dim = (uint16) Min(shape->dim, PG_UINT16_MAX);
	e->nheaptids = (uint8) nheaptids;
	memcpy(e->heaptids, heaptids, sizeof(ItemPointerData) * nheaptids);
	e->overflow = overflow;
	for (l = 0; l <= level; l++)
	{
		ItemPointer slots = HnswNeighbors(shape, e, l);
		int			k;

		HnswCounts(shape, e)[l] = counts[l];
		for (k = 0; k < HnswCapacity(shape, l); k++)
		{
			if (k < counts[l])
				slots[k] = neighbors[l][k];
			else
				ItemPointerSetInvalid(&slots[k]);
		}
	}
	if (shape->inline_vector)
		memcpy(HnswInlineVector(shape, e), x, sizeof(float) * shape->dim);
	return e;
}

void
HnswInitPage(Page page, uint16 kind)
{
	HnswPageOpaque opaque;

	VsInitPage(page, sizeof(HnswPageOpaqueData), VS_PAGE_ID_HNSW);
	opaque = HnswPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->flags = kind;
}

void
HnswDamagedElement(Relation index, BlockNumber blkno, OffsetNumber off, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" has a damaged element at (%u,%u): %s",
					RelationGetRelationName(index), blkno, off, what),
			 errhint("Check it with vecsearch_verify() and REINDEX it.")));
}

/*
 * The checks below keep a damaged element from making a scan read, or an insert or VACUUM
 * write, past its item: a damaged one is an ERROR naming the index. They come in parts so
 * that the scan's hot path reads nothing of an element it would not read anyway.
 */

/* The fixed part: a possible level, the item's size that level's, at most HNSW_HEAPTIDS rows. */
void
HnswCheckHeader(Relation index, const HnswShape *shape, HnswElement e, Size len, BlockNumber blkno,
				OffsetNumber off)
{
	if (e->level > HNSW_MAX_LEVEL || len != HnswElementSize(shape, e->level))
		HnswDamagedElement(index, blkno, off, "its size does not match its level");
	if (e->nheaptids > HNSW_HEAPTIDS)
		HnswDamagedElement(index, blkno, off, "too many heap rows");
}

/* Its neighbour count on `level` (which it lives on), within the level's capacity. */
int
HnswCheckedCount(Relation index, const HnswShape *shape, HnswElement e, int level, BlockNumber blkno,
				 OffsetNumber off)
{
	int			n = HnswCounts(shape, e)[level];

	if (n > HnswCapacity(shape, level))
		HnswDamagedElement(index, blkno, off, "a neighbour list is longer than its capacity");
	return n;
}

/* The element in a normal item, all of it checked: bounds, fixed part, every count. */
HnswElement
HnswCheckedElement(Relation index, const HnswShape *shape, Page page, ItemId iid, BlockNumber blkno,
				   OffsetNumber off)
{
	HnswElement e;
	int			l;

	HnswCheckItem(index, iid, HnswElementSize(shape, 0), blkno, off);
	e = (HnswElement) PageGetItem(page, iid);
	HnswCheckHeader(index, shape, e, ItemIdGetLength(iid), blkno, off);
	for (l = 0; l <= e->level; l++)
		(void) HnswCheckedCount(index, shape, e, l, blkno, off);
	return e;
}

/*
 * The element at (blkno, off) of a page a link led to: an element page with a normal item
 * there, checked as above; anything else is an ERROR naming the index.
 */
HnswElement
HnswElementAt(Relation index, const HnswShape *shape, Page page, BlockNumber blkno, OffsetNumber off)
{
	ItemId		iid;

	if (PageIsNew(page) || HnswPageGetOpaque(page)->flags != HNSW_PAGE_ELEMENT ||
		off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page) ||
		!ItemIdIsNormal(iid = PageGetItemId(page, off)))
		HnswDamagedElement(index, blkno, off, "a link leads to no element");
	return HnswCheckedElement(index, shape, page, iid, blkno, off);
}
