/*
 * verify.c — vecsearch_verify(index): walks an index and reports structural problems as
 * rows (block, problem), in the spirit of amcheck; no rows means none were found.
 *
 * Every page is copied out under a share lock and checked before anything on it is
 * believed: its special space and page id, its kind, then every count, offset and block
 * number against the bounds they must lie in. So a corrupt page gives rows, never a
 * crash. A page whose header PostgreSQL itself rejects is reported with PostgreSQL's
 * "invalid page" message, and the walk goes on.
 *
 * ivf and ivfpq: the metapage's parameters and streams, the list directory, every list's
 * chain of pages (no page in two lists or twice in one, the head's page count and tail),
 * its slots (flags; a live slot's heap TID inside the table; the dead count), and pages
 * that belong to nothing. hnsw: the metapage, every element item (its size for its level,
 * flags, heap TIDs), then every neighbour link (counts within capacity, each pointing at
 * an element), every vector's chain of overflow pages, and the entry point. Then the heap:
 * every live entry names a row that is there, none twice, and every row the index must
 * hold has an entry (amcheck's heapallindexed, exactly rather than with a Bloom filter). All-zero pages, which a crash leaves of pages added
 * just before it, are unused rather than damaged, unless a chain or stream needs them.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "hnsw.h"
#include "ivf.h"
#include "vector.h"

#define MAX_PROBLEMS_PER_LIST 20

typedef struct Verifier
{
	Relation	index;
	Size		special;		/* the access method's special space, MAXALIGNed */
	uint16		page_id;
	BlockNumber nblocks;
	BlockNumber heap_blocks;
	ReturnSetInfo *rsinfo;
	int64		problems;
	bool		quiet_pages;	/* a second pass: page problems were reported by the first */
	bool		zero_page;		/* the last ReadPage found an all-zero page */
	uint8	   *owner;			/* per block: 0 free, 1 meta or stream, 2 list, 3 overflow */
	/* hnsw: elements whose vectors live on overflow pages, their chains walked last */
	struct HnswChain *chains;
	int			nchains;
	int			chains_cap;
	/* the heap rows the index's live entries name, for the heap checks at the end */
	struct IndexedTid *tids;
	int64		ntids;
	int64		tids_cap;
	bool		walked;			/* the walk read the metapage: the heap checks can run */
	VsMetric	metric;
	int			dim;
	char		page[BLCKSZ];	/* last: the fields before it start zeroed */
} Verifier;

static void
Report(Verifier *v, BlockNumber blkno, const char *fmt,...) pg_attribute_printf(3, 4);

static void
Report(Verifier *v, BlockNumber blkno, const char *fmt,...)
{
	char		buf[512];
	va_list		ap;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (blkno == InvalidBlockNumber)
		nulls[0] = true;
	else
		values[0] = Int64GetDatum((int64) blkno);
	values[1] = CStringGetTextDatum(buf);
	tuplestore_putvalues(v->rsinfo->setResult, v->rsinfo->setDesc, values, nulls);
	v->problems++;
}

/* A heap TID that can lie in the table: a block it has, an offset a heap page can hold. */
static bool
TidInTable(const Verifier *v, const ItemPointerData *tid)
{
	return ItemPointerGetBlockNumberNoCheck(tid) < v->heap_blocks &&
		ItemPointerGetOffsetNumberNoCheck(tid) >= FirstOffsetNumber &&
		ItemPointerGetOffsetNumberNoCheck(tid) <= MaxHeapTuplesPerPage;
}

/* A live index entry: the heap row it names and the index block that holds it. */
typedef struct IndexedTid
{
	ItemPointerData tid;
	BlockNumber blkno;
} IndexedTid;

static void
AddTid(Verifier *v, ItemPointer tid, BlockNumber blkno)
{
	if (v->ntids == v->tids_cap)
	{
		v->tids_cap = Max(1024, v->tids_cap * 2);
		v->tids = v->tids == NULL ? palloc_extended(sizeof(IndexedTid) * v->tids_cap, MCXT_ALLOC_HUGE) :
			repalloc_huge(v->tids, sizeof(IndexedTid) * v->tids_cap);
	}
	v->tids[v->ntids].tid = *tid;
	v->tids[v->ntids].blkno = blkno;
	v->ntids++;
}

static uint16
PageKind(Page page)
{
	if (VsPageId(page) == VS_PAGE_ID_HNSW)
		return HnswPageGetOpaque(page)->flags;
	return IvfPageGetOpaque(page)->flags;
}

/*
 * Copies block blkno into v->page. A page PostgreSQL refuses to read (its header fails
 * the buffer manager's check: "invalid page in block ...", or the file ends early) gives
 * a row and false, and the walk goes on: the read runs in a subtransaction, as a PL/pgSQL
 * EXCEPTION block would, so that the ERROR can be caught cleanly. Other ERRORs (a cancel,
 * an I/O failure) end the call.
 */
static bool
CopyBlock(Verifier *v, BlockNumber blkno)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Buffer		buffer = VsReadBlock(v->index, MAIN_FORKNUM, blkno);

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		memcpy(v->page, BufferGetPage(buffer), BLCKSZ);
		UnlockReleaseBuffer(buffer);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			ReThrowError(edata);
		ok = false;
		if (!v->quiet_pages)
			Report(v, blkno, "unreadable: %s", edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/*
 * Copies block blkno into v->page and checks what every vecsearch page has; false (with
 * a row) when the page cannot be read as one of kind `kind` (0: any).
 */
static bool
ReadPage(Verifier *v, BlockNumber blkno, uint16 kind)
{
	Page		page = (Page) v->page;

	CHECK_FOR_INTERRUPTS();
	if (blkno == InvalidBlockNumber || blkno >= v->nblocks)
	{
		Report(v, blkno == InvalidBlockNumber ? InvalidBlockNumber : blkno,
			   "block %u is beyond the end of the index (%u blocks)", blkno, v->nblocks);
		return false;
	}
	if (!CopyBlock(v, blkno))
	{
		v->zero_page = false;
		return false;
	}

	/*
	 * An all-zero page is what a crash leaves of a page added just before it (the
	 * extension is not WAL-logged, the first write to the page is): unused, not damaged.
	 * The callers that need a page here report it.
	 */
	v->zero_page = PageIsNew(page);
	if (v->zero_page)
		return false;
	if (PageGetSpecialSize(page) != v->special)
	{
		if (!v->quiet_pages)
			Report(v, blkno, "special space is %u bytes, not %u",
				   (unsigned) PageGetSpecialSize(page), (unsigned) v->special);
		return false;
	}
	if (VsPageId(page) != v->page_id)
	{
		if (!v->quiet_pages)
			Report(v, blkno, "page id is 0x%04x, not 0x%04x", VsPageId(page), v->page_id);
		return false;
	}
	/* both access methods keep the page kind in a uint16 after a BlockNumber */
	if (kind != 0 && PageKind(page) != kind)
	{
		if (!v->quiet_pages)
			Report(v, blkno, "page kind is %u, expected %u", PageKind(page), kind);
		return false;
	}
	return true;
}

/* ReadPage for a page that must be there: an all-zero one is a problem too. */
static bool
NeedPage(Verifier *v, BlockNumber blkno, uint16 kind)
{
	if (ReadPage(v, blkno, kind))
		return true;
	if (v->zero_page)
		Report(v, blkno, "page is all zeros");
	return false;
}

/* A stream of `pages` pages of kind `kind` from `start`, claimed for the metapage's use. */
static bool
CheckStream(Verifier *v, const char *what, BlockNumber start, uint32 pages, Size bytes,
			uint16 kind)
{
	uint32		want = (uint32) ((bytes + IVF_CONTENT - 1) / IVF_CONTENT);
	uint32		i;
	bool		ok = true;

	if (bytes > 0 && pages != want)
	{
		Report(v, IVF_METAPAGE_BLKNO, "%s take %u pages, the metapage says %u", what, want, pages);
		return false;
	}
	if (pages > 0 && (start == 0 || start >= v->nblocks || pages > v->nblocks - start))
	{
		Report(v, IVF_METAPAGE_BLKNO, "%s pages %u..%u lie outside the index (%u blocks)",
			   what, start, start + pages - 1, v->nblocks);
		return false;
	}
	for (i = 0; i < pages; i++)
	{
		v->owner[start + i] = 1;
		ok &= NeedPage(v, start + i, kind);
	}
	return ok;
}

/* The directory's head pages, read across its pages; NULL after a row when unreadable. */
static BlockNumber *
ReadDirectory(Verifier *v, const IvfMetaPageData *meta)
{
	Size		bytes = sizeof(BlockNumber) * meta->lists;
	char	   *dir = palloc(bytes);
	Size		done = 0;
	uint32		p;

	for (p = 0; p < meta->directory_pages && done < bytes; p++)
	{
		Size		n = Min(bytes - done, IVF_CONTENT);

		if (!NeedPage(v, meta->directory_start + p, IVF_PAGE_DIRECTORY))
			return NULL;
		memcpy(dir + done, PageGetContents((Page) v->page), n);
		done += n;
	}
	return (BlockNumber *) dir;
}

/* One list: its chain of pages, then its slots. */
static void
CheckList(Verifier *v, const IvfMetaPageData *meta, uint32 list, BlockNumber head)
{
	BlockNumber *chain = palloc(sizeof(BlockNumber) * Max(v->nblocks, 1));
	uint32		npages = 0;
	uint32		head_npages,
				head_nslots,
				head_ndead;
	BlockNumber head_tail;
	BlockNumber b = head;
	uint64		capacity;
	uint32		s,
				dead = 0,
				loaded = PG_UINT32_MAX;
	int			reported = 0;

	if (!NeedPage(v, head, IVF_PAGE_LIST))
	{
		/* reported: not again as "in no list" */
		if (head != InvalidBlockNumber && head < v->nblocks && v->owner[head] == 0)
			v->owner[head] = 2;
		return;
	}
	head_npages = IvfPageGetOpaque((Page) v->page)->npages;
	head_nslots = IvfPageGetOpaque((Page) v->page)->nslots;
	head_ndead = IvfPageGetOpaque((Page) v->page)->ndead;
	head_tail = IvfPageGetOpaque((Page) v->page)->tail;
	while (b != InvalidBlockNumber)
	{
		if (b == 0 || b >= v->nblocks)
		{
			Report(v, npages > 0 ? chain[npages - 1] : head,
				   "list %u links to block %u, outside the index", list, b);
			break;
		}
		if (v->owner[b] != 0)
		{
			Report(v, b, "list %u reaches block %u, which %s", list, b,
				   v->owner[b] == 2 ? "is in a list already (a cycle or two lists sharing it)"
				   : "holds the metapage, centroids, directory or codebooks");
			break;
		}
		v->owner[b] = 2;		/* reached: not "in no list" even if it cannot be read */
		if (!NeedPage(v, b, IVF_PAGE_LIST))
			break;
		chain[npages++] = b;
		b = IvfPageGetOpaque((Page) v->page)->next;
	}
	if (npages != head_npages)
		Report(v, head, "list %u has %u pages, its head says %u", list, npages, head_npages);
	if (npages > 0 && chain[npages - 1] != head_tail)
		Report(v, head, "list %u ends at block %u, its head says %u", list, chain[npages - 1], head_tail);
	capacity = (uint64) npages * IVF_CONTENT / meta->slot_size;
	if (head_nslots > capacity)
	{
		Report(v, head, "list %u counts %u slots, its %u pages hold at most %llu", list,
			   head_nslots, npages, (unsigned long long) capacity);
		head_nslots = (uint32) capacity;
	}
	for (s = 0; s < head_nslots && reported < MAX_PROBLEMS_PER_LIST; s++)
	{
		uint32		p;
		Size		off = IvfSlotOffsetInPage(meta->slot_size, s, &p);
		IvfSlotHeader h;

		if (p >= npages)
			break;
		/* headers never straddle pages: each lies whole on page p of the chain */
		if (p != loaded)
		{
			if (!NeedPage(v, chain[p], IVF_PAGE_LIST))
				break;
			loaded = p;
		}
		memcpy(&h, PageGetContents((Page) v->page) + off, sizeof(h));
		if (h.flags == IVF_SLOT_DEAD)
			dead++;
		else if (h.flags != IVF_SLOT_LIVE)
		{
			Report(v, chain[p], "list %u slot %u has flags %u", list, s, h.flags);
			reported++;
		}
		else if (!TidInTable(v, &h.tid))
		{
			Report(v, chain[p], "list %u slot %u points to heap tuple (%u,%u), outside the table (%u blocks)",
				   list, s, ItemPointerGetBlockNumberNoCheck(&h.tid),
				   ItemPointerGetOffsetNumberNoCheck(&h.tid), v->heap_blocks);
			reported++;
		}
		else
			AddTid(v, &h.tid, chain[p]);
	}
	if (reported < MAX_PROBLEMS_PER_LIST && s == head_nslots && dead != head_ndead)
		Report(v, head, "list %u has %u dead slots, its head says %u", list, dead, head_ndead);
	pfree(chain);
}

static void
VerifyIvf(Verifier *v)
{
	IvfMetaPageData meta;
	BlockNumber *heads;
	Size		expect;
	uint32		i;

	if (!NeedPage(v, IVF_METAPAGE_BLKNO, IVF_PAGE_META))
		return;
	v->owner[IVF_METAPAGE_BLKNO] = 1;
	memcpy(&meta, IvfPageGetMeta((Page) v->page), sizeof(meta));
	if (meta.header.magic != IVF_MAGIC || meta.header.version != IVF_VERSION)
	{
		Report(v, IVF_METAPAGE_BLKNO, "magic 0x%08x version %u, not an ivf metapage of version %u",
			   meta.header.magic, meta.header.version, IVF_VERSION);
		return;
	}
	if (meta.dim < 1 || meta.dim > VECTOR_MAX_DIM || meta.lists < 1 || meta.lists > IVF_MAX_LISTS)
	{
		Report(v, IVF_METAPAGE_BLKNO, "metapage: %u dimensions, %u lists", meta.dim, meta.lists);
		return;
	}
	if (meta.pq_subvectors > 0 &&
		(meta.dim % meta.pq_subvectors != 0 || meta.pq_bits != IVFPQ_BITS))
	{
		Report(v, IVF_METAPAGE_BLKNO, "metapage: %u subvectors of %u bits for %u dimensions",
			   meta.pq_subvectors, meta.pq_bits, meta.dim);
		return;
	}
	expect = meta.pq_subvectors > 0 ? IVFPQ_SLOT_SIZE(meta.pq_subvectors) : IVF_SLOT_SIZE(meta.dim);
	if (meta.slot_size != expect)
	{
		Report(v, IVF_METAPAGE_BLKNO, "metapage: slots of %u bytes, expected %zu", meta.slot_size, expect);
		return;
	}
	if (!CheckStream(v, "centroids", meta.centroid_start, meta.centroid_pages,
					 sizeof(float) * (Size) meta.lists * meta.dim, IVF_PAGE_CENTROIDS) ||
		!CheckStream(v, "the list directory", meta.directory_start, meta.directory_pages,
					 sizeof(BlockNumber) * meta.lists, IVF_PAGE_DIRECTORY))
		return;
	if (meta.pq_subvectors > 0 &&
		!CheckStream(v, "codebooks", meta.codebook_start, meta.codebook_pages,
					 sizeof(float) * (Size) meta.dim * (1 << meta.pq_bits), IVF_PAGE_CODEBOOK))
		return;
	heads = ReadDirectory(v, &meta);
	if (heads == NULL)
		return;
	v->walked = true;
	v->metric = (VsMetric) meta.metric;
	v->dim = (int) meta.dim;
	for (i = 0; i < meta.lists; i++)
		CheckList(v, &meta, i, heads[i]);
	for (i = 0; i < v->nblocks; i++)
		if (v->owner[i] == 0 && (ReadPage(v, i, 0) || !v->zero_page))
			Report(v, i, "page belongs to no list");
}

/* ---------------------------------------------------------------- hnsw */

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

static void
AddChain(Verifier *v, BlockNumber blkno, OffsetNumber off, BlockNumber first)
{
	if (v->nchains == v->chains_cap)
	{
		v->chains_cap = Max(64, v->chains_cap * 2);
		v->chains = v->chains == NULL ? palloc(sizeof(HnswChain) * v->chains_cap) :
			repalloc_huge(v->chains, sizeof(HnswChain) * v->chains_cap);
	}
	v->chains[v->nchains].blkno = blkno;
	v->chains[v->nchains].off = off;
	v->chains[v->nchains].first = first;
	v->nchains++;
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
	int			per_page = (int) (HNSW_OVERFLOW_CONTENT / sizeof(float));
	int			npages = (shape->dim + per_page - 1) / per_page;
	BlockNumber b = c->first;
	int			i;

	for (i = 0; i < npages; i++)
	{
		int			n = Min(per_page, shape->dim - i * per_page);
		Page		page = (Page) v->page;

		if (b == InvalidBlockNumber || b >= v->nblocks)
		{
			Report(v, c->blkno, "element %u's vector chain breaks after %d of %d overflow pages "
				   "(next block %u)", c->off, i, npages, b);
			return;
		}
		if (v->owner[b] != 0)
		{
			Report(v, b, "overflow page is in two vectors' chains, or twice in one "
				   "(element %u of block %u)", c->off, c->blkno);
			return;
		}
		v->owner[b] = 3;
		if (!ReadPage(v, b, HNSW_PAGE_OVERFLOW))
		{
			if (v->zero_page)
				Report(v, b, "overflow page of element %u of block %u is all zeros", c->off, c->blkno);
			return;
		}
		if (((PageHeader) page)->pd_lower != MAXALIGN(SizeOfPageHeaderData) + sizeof(float) * n)
			Report(v, b, "overflow page holds %u bytes of the vector, not %zu",
				   (unsigned) (((PageHeader) page)->pd_lower - MAXALIGN(SizeOfPageHeaderData)),
				   sizeof(float) * n);
		b = HnswPageGetOpaque(page)->next;
	}
	if (b != InvalidBlockNumber)
		Report(v, c->blkno, "element %u's vector chain goes on past its %d overflow pages", c->off,
			   npages);
}

/*
 * An element item: its size for its level, its flags, heap TIDs, whether it has an
 * overflow chain (walked later), and (second pass, with `bits`) its neighbour counts and
 * TIDs. False if it is no element.
 */
static bool
VerifyElement(Verifier *v, const HnswShape *shape, BlockNumber blkno, OffsetNumber off,
			 HnswElement e, Size size, const uint8 *bits)
{
	int			l,
				k;

	if (size < sizeof(HnswElementData) || e->level > HNSW_MAX_LEVEL ||
		size != HnswElementSize(shape, e->level))
	{
		Report(v, blkno, "item %u is %zu bytes, not an element (level %u)", off, size, e->level);
		return false;
	}
	if (bits == NULL)
	{
		if (e->flags != HNSW_ELEMENT_LIVE && e->flags != HNSW_ELEMENT_DELETED)
			Report(v, blkno, "element %u has flags %u", off, e->flags);
		if (e->nheaptids > HNSW_HEAPTIDS || (e->flags == HNSW_ELEMENT_LIVE && e->nheaptids == 0))
			Report(v, blkno, "element %u holds %u heap rows", off, e->nheaptids);
		for (k = 0; k < Min(e->nheaptids, HNSW_HEAPTIDS); k++)
			if (!TidInTable(v, &e->heaptids[k]))
				Report(v, blkno, "element %u points to heap tuple (%u,%u), outside the table",
					   off, ItemPointerGetBlockNumberNoCheck(&e->heaptids[k]),
					   ItemPointerGetOffsetNumberNoCheck(&e->heaptids[k]));
			else if (e->flags == HNSW_ELEMENT_LIVE)
				AddTid(v, &e->heaptids[k], blkno);
		if (shape->inline_vector && e->overflow != InvalidBlockNumber)
			Report(v, blkno, "element %u links to overflow block %u, but its vector is inline",
				   off, e->overflow);
		else if (!shape->inline_vector)
			AddChain(v, blkno, off, e->overflow);
		return true;
	}
	for (l = 0; l <= e->level; l++)
	{
		int			n = HnswCounts(shape, e)[l];
		ItemPointer nbrs = HnswNeighbors(shape, e, l);

		if (n > HnswCapacity(shape, l))
		{
			Report(v, blkno, "element %u has %d neighbours on level %d, room for %d", off, n, l,
				   HnswCapacity(shape, l));
			continue;
		}
		for (k = 0; k < n; k++)
			if (!IsElement(bits, v->nblocks, &nbrs[k]))
				Report(v, blkno, "element %u's neighbour (%u,%u) on level %d is no element", off,
					   ItemPointerGetBlockNumberNoCheck(&nbrs[k]),
					   ItemPointerGetOffsetNumberNoCheck(&nbrs[k]), l);
	}
	return true;
}

/* Pass 1 (bits == NULL) marks elements in `marks`; pass 2 checks their links against them. */
static void
HnswPass(Verifier *v, const HnswShape *shape, uint8 *marks, const uint8 *bits)
{
	BlockNumber blkno;

	for (blkno = HNSW_METAPAGE_BLKNO + 1; blkno < v->nblocks; blkno++)
	{
		Page		page = (Page) v->page;
		OffsetNumber off,
					maxoff;

		if (!ReadPage(v, blkno, 0))
			continue;
		if (PageKind(page) == HNSW_PAGE_OVERFLOW)
			continue;
		if (PageKind(page) != HNSW_PAGE_ELEMENT)
		{
			if (bits == NULL)
				Report(v, blkno, "page kind is %u, not an element or overflow page", PageKind(page));
			continue;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		if (maxoff > MaxOffsetNumber ||
			((PageHeader) page)->pd_lower > ((PageHeader) page)->pd_upper ||
			((PageHeader) page)->pd_upper > BLCKSZ - v->special)
		{
			if (bits == NULL)
				Report(v, blkno, "page header bounds are inconsistent");
			continue;
		}
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			Size		len = ItemIdGetLength(iid);

			if (!ItemIdIsNormal(iid))
				continue;
			if (ItemIdGetOffset(iid) < ((PageHeader) page)->pd_upper ||
				ItemIdGetOffset(iid) + len > BLCKSZ - v->special)
			{
				if (bits == NULL)
					Report(v, blkno, "item %u lies outside the page's item space", off);
				continue;
			}
			if (VerifyElement(v, shape, blkno, off, (HnswElement) PageGetItem(page, iid), len, bits) &&
				bits == NULL)
			{
				VsBitSet(marks, ELEMENT_BIT(blkno, off));
			}
		}
	}
}

/* The normal item at off of the page in v->page that pass 1 took for an element. */
static HnswElement
ElementInPage(Verifier *v, BlockNumber blkno, OffsetNumber off, const uint8 *bits)
{
	Page		page = (Page) v->page;
	uint64		bit = ELEMENT_BIT(blkno, off);

	if (!VsBitIsSet(bits, bit) || off > PageGetMaxOffsetNumber(page) ||
		!ItemIdIsNormal(PageGetItemId(page, off)))
		return NULL;
	return (HnswElement) PageGetItem(page, PageGetItemId(page, off));
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

	if (!ReadPage(r->v, blkno, 0) || PageKind((Page) r->v->page) != HNSW_PAGE_ELEMENT)
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
		Report(r->v, blkno, "element %u cannot be reached from the entry point on level 0", off);
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
 * elements too). A scan descends the upper levels greedily to one element and explores
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
		Report(v, InvalidBlockNumber, "%lld more live elements cannot be reached",
			   (long long) (r.unreachable - MAX_UNREACHABLE_REPORTS));
	v->quiet_pages = false;
	pfree(r.pending);
	pfree(r.expanded);
	pfree(r.reached);
}

static void
VerifyHnsw(Verifier *v)
{
	HnswMetaPageData meta;
	HnswShape	shape;
	uint8	   *bits;

	if (!NeedPage(v, HNSW_METAPAGE_BLKNO, HNSW_PAGE_META))
		return;
	memcpy(&meta, HnswPageGetMeta((Page) v->page), sizeof(meta));
	if (meta.header.magic != HNSW_MAGIC || meta.header.version != HNSW_VERSION)
	{
		Report(v, HNSW_METAPAGE_BLKNO, "magic 0x%08x version %u, not an hnsw metapage of version %u",
			   meta.header.magic, meta.header.version, HNSW_VERSION);
		return;
	}
	if (meta.dim < 1 || meta.dim > VECTOR_MAX_DIM || meta.m < HNSW_MIN_M || meta.m > HNSW_MAX_M)
	{
		Report(v, HNSW_METAPAGE_BLKNO, "metapage: %u dimensions, m = %u", meta.dim, meta.m);
		return;
	}
	shape.m = (int) meta.m;
	shape.dim = (int) meta.dim;
	shape.metric = (VsMetric) meta.metric;
	shape.inline_vector = HnswVectorFitsInline(shape.m, shape.dim);
	v->walked = true;
	v->metric = shape.metric;
	v->dim = shape.dim;
	bits = palloc_extended((Size) (((uint64) v->nblocks * (MaxOffsetNumber + 1) + 7) / 8),
							MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	HnswPass(v, &shape, bits, NULL);
	v->quiet_pages = true;
	HnswPass(v, &shape, NULL, bits);
	v->quiet_pages = false;
	for (int i = 0; i < v->nchains; i++)
		VerifyChain(v, &shape, &v->chains[i]);
	if (ItemPointerIsValid(&meta.entry) && !IsElement(bits, v->nblocks, &meta.entry))
		Report(v, HNSW_METAPAGE_BLKNO, "the entry point (%u,%u) is no element",
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

/* ---------------------------------------------------------------- the heap */

/* Rows reported per heap check before the rest are only counted. */
#define MAX_HEAP_PROBLEMS 100

static int
CompareIndexedTids(const void *a, const void *b)
{
	ItemPointerData ta = ((const IndexedTid *) a)->tid;
	ItemPointerData tb = ((const IndexedTid *) b)->tid;

	return ItemPointerCompare(&ta, &tb);
}

/*
 * Every live entry names a heap row that is there: a line pointer in use (a normal tuple,
 * a HOT chain's redirect, or a dead one VACUUM has yet to reach), and no row twice. The
 * entries are sorted, so each heap page is read once.
 */
static void
CheckEntriesReachHeap(Verifier *v, Relation heap)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	int64		problems = 0;
	int64		i = 0;

	while (i < v->ntids)
	{
		BlockNumber hblk = ItemPointerGetBlockNumber(&v->tids[i].tid);
		Buffer		buffer;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		buffer = ReadBufferExtended(heap, MAIN_FORKNUM, hblk, RBM_NORMAL, strategy);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		for (; i < v->ntids && ItemPointerGetBlockNumber(&v->tids[i].tid) == hblk; i++)
		{
			OffsetNumber off = ItemPointerGetOffsetNumber(&v->tids[i].tid);
			const char *problem = NULL;

			if (i > 0 && ItemPointerEquals(&v->tids[i].tid, &v->tids[i - 1].tid))
				problem = "is indexed twice";
			else if (off > maxoff || !ItemIdIsUsed(PageGetItemId(page, off)))
				problem = "is not in the table (its line pointer is unused)";
			if (problem != NULL && problems++ < MAX_HEAP_PROBLEMS)
				Report(v, v->tids[i].blkno, "heap tuple (%u,%u) %s", hblk, off, problem);
		}
		UnlockReleaseBuffer(buffer);
	}
	if (problems > MAX_HEAP_PROBLEMS)
		Report(v, InvalidBlockNumber, "%lld more index entries name missing or repeated heap tuples",
			   (long long) (problems - MAX_HEAP_PROBLEMS));
	FreeAccessStrategy(strategy);
}

typedef struct HeapCheck
{
	Verifier   *v;
	int64		missing;
	MemoryContext tmp;
} HeapCheck;

/* table_index_build_scan's callback: a row the index must hold (root TID of its HOT chain). */
static void
CheckRowIndexed(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool tupleIsAlive,
				void *arg)
{
	HeapCheck  *hc = (HeapCheck *) arg;
	Verifier   *v = hc->v;
	IndexedTid	key;
	MemoryContext oldcxt;
	bool		indexable;

	(void) index;
	(void) tupleIsAlive;
	if (isnull[0])
		return;
	/* a zero vector under cosine is not indexed (its distance is undefined) */
	oldcxt = MemoryContextSwitchTo(hc->tmp);
	{
		Vector	   *row = VsCopyRowVector(values[0], v->dim);

		indexable = VsPrepareVector(v->metric, row->x, row->dim);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(hc->tmp);
	if (!indexable)
		return;
	key.tid = *tid;
	if (bsearch(&key, v->tids, v->ntids, sizeof(IndexedTid), CompareIndexedTids) != NULL)
		return;
	if (hc->missing++ < MAX_HEAP_PROBLEMS)
		Report(v, InvalidBlockNumber, "heap tuple (%u,%u) has no index entry",
			   ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
}

/*
 * Every row the index must hold has a live entry: the table is read as CREATE INDEX reads
 * it (live and recently dead rows, a HOT chain by its root), under the ShareLock that keeps
 * writers out meanwhile.
 */
static void
CheckHeapRowsIndexed(Verifier *v, Relation heap)
{
	HeapCheck	hc = {v, 0, NULL};
	IndexInfo  *info = BuildIndexInfo(v->index);

	hc.tmp = AllocSetContextCreate(CurrentMemoryContext, "vecsearch_verify rows", ALLOCSET_DEFAULT_SIZES);
	(void) table_index_build_scan(heap, v->index, info, true, false, CheckRowIndexed, &hc, NULL);
	if (hc.missing > MAX_HEAP_PROBLEMS)
		Report(v, InvalidBlockNumber, "%lld more heap tuples have no index entry",
			   (long long) (hc.missing - MAX_HEAP_PROBLEMS));
	MemoryContextDelete(hc.tmp);
}

/*
 * The ShareLock held until the caller's transaction ends blocks every writer of the table,
 * so the caller needs what LOCK TABLE ... IN SHARE MODE needs (UPDATE, DELETE or TRUNCATE
 * on the table; its owner and superusers have them), MAINTAIN where the server has it, or
 * ownership; and SELECT, for what the rows reveal. Checked before the lock is taken, so a
 * refused caller never queues behind or ahead of writers. EXECUTE is also revoked from
 * PUBLIC (as amcheck's functions are).
 */
static void
CheckMayLockTable(Oid heapoid, Oid indexoid)
{
	AclMode		lock_rights = ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE;
	Oid			user = GetUserId();

#ifdef ACL_MAINTAIN
	lock_rights |= ACL_MAINTAIN;
#endif
	if (pg_class_aclmask(heapoid, user, lock_rights, ACLMASK_ANY) == 0 &&
#if PG_VERSION_NUM >= 160000
		!object_ownercheck(RelationRelationId, heapoid, user))
#else
		!pg_class_ownercheck(heapoid, user))
#endif
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to verify index \"%s\"", get_rel_name(indexoid)),
				 errdetail("vecsearch_verify holds a SHARE lock on table \"%s\" until the transaction ends, "
						   "which needs the UPDATE, DELETE or TRUNCATE privilege on it, or its ownership.",
						   get_rel_name(heapoid))));
	if (pg_class_aclcheck(heapoid, user, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(heapoid))));
}

PG_FUNCTION_INFO_V1(vecsearch_verify);
Datum
vecsearch_verify(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Verifier	v;
	Relation	heap;
	Oid			heapoid;

	InitMaterializedSRF(fcinfo, 0);
	memset(&v, 0, offsetof(Verifier, page));
	v.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	/*
	 * ShareLock on the table first, as amcheck's parent check does: no insert, update or
	 * VACUUM changes the index while it is walked (a list grown halfway through the walk
	 * would look like a broken count). Scans go on.
	 */
	heapoid = IndexGetRelation(indexoid, true);
	if (OidIsValid(heapoid))
	{
		CheckMayLockTable(heapoid, indexoid);
		LockRelationOid(heapoid, ShareLock);
	}
	v.index = relation_open(indexoid, AccessShareLock);
	if (v.index->rd_rel->relkind != RELKIND_INDEX || v.index->rd_indam == NULL ||
		(v.index->rd_indam->ambuild != ivfbuild && v.index->rd_indam->ambuild != hnswbuild))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a vecsearch index", RelationGetRelationName(v.index))));
	/* a table created since IndexGetRelation above would not have been checked */
	if (v.index->rd_index->indrelid != heapoid)
		elog(ERROR, "index \"%s\" changed tables while it was opened", RelationGetRelationName(v.index));
	heap = relation_open(v.index->rd_index->indrelid, NoLock);
	v.heap_blocks = RelationGetNumberOfBlocks(heap);
	v.nblocks = RelationGetNumberOfBlocks(v.index);
	v.owner = palloc0(Max(v.nblocks, 1));
	if (v.index->rd_indam->ambuild == hnswbuild)
	{
		v.special = MAXALIGN(sizeof(HnswPageOpaqueData));
		v.page_id = VS_PAGE_ID_HNSW;
	}
	else
	{
		v.special = MAXALIGN(sizeof(IvfPageOpaqueData));
		v.page_id = VS_PAGE_ID_IVF;
	}
	if (v.nblocks == 0)
		Report(&v, InvalidBlockNumber, "the index has no pages");
	else if (v.index->rd_indam->ambuild == hnswbuild)
		VerifyHnsw(&v);
	else
		VerifyIvf(&v);
	/* the heap checks need the index's own parameters, and a valid index (not one a failed
	 * CREATE INDEX CONCURRENTLY left behind, which may miss rows by design) */
	if (v.walked && v.index->rd_index->indisvalid && v.index->rd_index->indisready)
	{
		qsort(v.tids, v.ntids, sizeof(IndexedTid), CompareIndexedTids);
		CheckEntriesReachHeap(&v, heap);
		CheckHeapRowsIndexed(&v, heap);
	}
	relation_close(heap, NoLock);
	relation_close(v.index, AccessShareLock);
	return (Datum) 0;
}
