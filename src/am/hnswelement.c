/*
 * hnswelement.c — an element item (hnswelement.h): whether its vector fits inline, the level
 * draw, forming one, the checks' slow paths, and the vector's overflow pages (writing a
 * chain for the build and inserts, copying a vector back for inserts and VACUUM).
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "utils/rel.h"

#include "hnsw.h"
#include "hnswelement.h"

/*
 * A vector is stored with its element when a top-level element (HNSW_MAX_LEVEL levels of
 * links) still fits a page with room to spare; beyond that (about 1,900 dimensions of floats
 * at m = 16, 3,800 of halves) every vector of the index goes to overflow pages.
 */
bool
HnswVectorFitsInline(int m, int dim, VsStorage storage)
{
	HnswShape	shape = {m, dim, VS_METRIC_L2, true, storage};
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
		VsStoreVector(shape->storage, x, shape->dim, HnswInlineVector(shape, e));
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

/* The checks' slow paths (hnswelement.h says how they are split). */

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
	ItemId		iid = HnswElementItem(page, off);

	if (iid == NULL)
		HnswDamagedElement(index, blkno, off, "a link leads to no element");
	return HnswCheckedElement(index, shape, page, iid, blkno, off);
}

/* Writes a vector to a chain of new overflow pages; *first gets the first of them. */
void
HnswWriteOverflow(Relation index, ForkNumber fork, const HnswShape *shape, const float *x,
				  BlockNumber *first, bool wal)
{
	int			dim = shape->dim;
	int			per_page = HnswOverflowPerPage(shape->storage);
	int			npages = (dim + per_page - 1) / per_page;
	Buffer	   *buffers = palloc(sizeof(Buffer) * npages);
	int			i;

	for (i = 0; i < npages; i++)
		buffers[i] = VsExtend(index, fork);
	for (i = 0; i < npages; i++)
	{
		int			n = Min(per_page, dim - i * per_page);
		VsXlog		xlog;
		Page		page;

		if (wal)
		{
			VsXlogStart(&xlog, index);
			page = VsXlogPage(&xlog, buffers[i], true);
		}
		else
			page = BufferGetPage(buffers[i]);
		HnswInitPage(page, HNSW_PAGE_OVERFLOW);
		HnswPageGetOpaque(page)->next = i + 1 < npages ? BufferGetBlockNumber(buffers[i + 1]) :
			InvalidBlockNumber;
		VsStoreVector(shape->storage, x + (Size) i * per_page, n, PageGetContents(page));
		((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) +
			VsStoredBytes(shape->storage, n);
		if (wal)
			VsXlogFinish(&xlog);
		else
			MarkBufferDirty(buffers[i]);
	}
	*first = BufferGetBlockNumber(buffers[0]);
	for (i = 0; i < npages; i++)
		UnlockReleaseBuffer(buffers[i]);
	pfree(buffers);
}

/* Reads block blkno share-locked, through the backend's buffer hints where it has them. */
static Buffer
ReadShared(Relation index, VsBufferHints *hints, BlockNumber blkno)
{
	if (hints != NULL)
		return VsReadHinted(index, hints, blkno, BUFFER_LOCK_SHARE);
	return VsReadLocked(index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
}

/*
 * Share-locks the page of the element at tid (through the hints where given) and returns
 * the element's line pointer, the page held in *buffer; NULL, with nothing held, where tid
 * names no element (the metapage, an invalid block, no element item at its offset). A
 * block past the index's end is VsReadHinted's ERROR. The caller checks the element.
 */
ItemId
HnswLockElementItem(Relation index, VsBufferHints *hints, ItemPointer tid, Buffer *buffer)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	ItemId		iid;

	if (blkno == HNSW_METAPAGE_BLKNO || blkno == InvalidBlockNumber)
		return NULL;
	*buffer = ReadShared(index, hints, blkno);
	iid = HnswElementItem(BufferGetPage(*buffer), ItemPointerGetOffsetNumber(tid));
	if (iid == NULL)
		UnlockReleaseBuffer(*buffer);
	return iid;
}

/*
 * The element's own vector into x (from its page or its overflow pages), and whether it is
 * live (*live may be NULL). False, with x untouched, if tid holds no element.
 */
bool
HnswReadVector(Relation index, const HnswShape *shape, VsBufferHints *hints, ItemPointer tid,
			   float *x, bool *live)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	Buffer		buffer;
	ItemId		iid = HnswLockElementItem(index, hints, tid, &buffer);
	HnswElement e;
	int			done = 0;

	if (iid == NULL)
		return false;
	e = HnswCheckedElement(index, shape, BufferGetPage(buffer), iid, blkno,
						   ItemPointerGetOffsetNumber(tid));
	if (live != NULL)
		*live = e->flags == HNSW_ELEMENT_LIVE;
	if (shape->inline_vector)
	{
		VsLoadVector(shape->storage, HnswInlineVector(shape, e), shape->dim, x);
		UnlockReleaseBuffer(buffer);
		return true;
	}
	blkno = e->overflow;
	UnlockReleaseBuffer(buffer);
	while (done < shape->dim && blkno != InvalidBlockNumber)
	{
		int			n = Min(shape->dim - done, HnswOverflowPerPage(shape->storage));

		buffer = ReadShared(index, hints, blkno);
		VsLoadVector(shape->storage, PageGetContents(BufferGetPage(buffer)), n, x + done);
		blkno = HnswPageGetOpaque(BufferGetPage(buffer))->next;
		UnlockReleaseBuffer(buffer);
		done += n;
	}
	return true;
}

/* The element's own vector, copied; the element must exist. */
float *
HnswReadVectorCopy(Relation index, const HnswShape *shape, ItemPointer tid)
{
	float	   *x = palloc(sizeof(float) * shape->dim);

	if (!HnswReadVector(index, shape, NULL, tid, x, NULL))
		HnswDamagedElement(index, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
						   "a link leads to no element");
	return x;
}
