/*
 * ivfverify.c — vecsearch_verify's checks of an ivf or ivfpq index (verify.h): the
 * metapage's parameters and streams (centroids, directory, codebooks), the list directory,
 * every list's chain of pages (no page in two lists or twice in one, the head's page count
 * and tail), its slots (flags; a live slot's heap TID inside the table; the dead count), and
 * pages that belong to nothing. Live slots go to the heap checks.
 */
#include "postgres.h"

#include "ivf.h"
#include "vector.h"
#include "verify.h"

/* Problems reported per list before the rest of its slots are skipped. */
#define MAX_PROBLEMS_PER_LIST 20

/* What a block was claimed for (Verifier.owner): 0 is unclaimed. */
#define OWNER_METAPAGE 1		/* the metapage or one of its streams */
#define OWNER_LIST 2

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
		VerifyReport(v, IVF_METAPAGE_BLKNO, "%s take %u pages, the metapage says %u", what, want, pages);
		return false;
	}
	if (pages > 0 && (start == 0 || start >= v->nblocks || pages > v->nblocks - start))
	{
		VerifyReport(v, IVF_METAPAGE_BLKNO, "%s pages %u..%u lie outside the index (%u blocks)",
			   what, start, start + pages - 1, v->nblocks);
		return false;
	}
	for (i = 0; i < pages; i++)
	{
		v->owner[start + i] = OWNER_METAPAGE;
		ok &= VerifyNeedPage(v, start + i, kind);
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

		if (!VerifyNeedPage(v, meta->directory_start + p, IVF_PAGE_DIRECTORY))
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

	if (!VerifyNeedPage(v, head, IVF_PAGE_LIST))
	{
		/* reported: not again as "in no list" */
		if (head != InvalidBlockNumber && head < v->nblocks && v->owner[head] == 0)
			v->owner[head] = OWNER_LIST;
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
			VerifyReport(v, npages > 0 ? chain[npages - 1] : head,
				   "list %u links to block %u, outside the index", list, b);
			break;
		}
		if (v->owner[b] != 0)
		{
			VerifyReport(v, b, "list %u reaches block %u, which %s", list, b,
				   v->owner[b] == OWNER_LIST ? "is in a list already (a cycle or two lists sharing it)"
				   : "holds the metapage, centroids, directory or codebooks");
			break;
		}
		v->owner[b] = OWNER_LIST;		/* reached: not "in no list" even if it cannot be read */
		if (!VerifyNeedPage(v, b, IVF_PAGE_LIST))
			break;
		chain[npages++] = b;
		b = IvfPageGetOpaque((Page) v->page)->next;
	}
	if (npages != head_npages)
		VerifyReport(v, head, "list %u has %u pages, its head says %u", list, npages, head_npages);
	if (npages > 0 && chain[npages - 1] != head_tail)
		VerifyReport(v, head, "list %u ends at block %u, its head says %u", list, chain[npages - 1], head_tail);
	capacity = (uint64) npages * IVF_CONTENT / meta->slot_size;
	if (head_nslots > capacity)
	{
		VerifyReport(v, head, "list %u counts %u slots, its %u pages hold at most %llu", list,
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
			if (!VerifyNeedPage(v, chain[p], IVF_PAGE_LIST))
				break;
			loaded = p;
		}
		memcpy(&h, PageGetContents((Page) v->page) + off, sizeof(h));
		if (h.flags == IVF_SLOT_DEAD)
			dead++;
		else if (h.flags != IVF_SLOT_LIVE)
		{
			VerifyReport(v, chain[p], "list %u slot %u has flags %u", list, s, h.flags);
			reported++;
		}
		else if (!VerifyTidInTable(v, &h.tid))
		{
			VerifyReport(v, chain[p], "list %u slot %u points to heap tuple (%u,%u), outside the table (%u blocks)",
				   list, s, ItemPointerGetBlockNumberNoCheck(&h.tid),
				   ItemPointerGetOffsetNumberNoCheck(&h.tid), v->heap_blocks);
			reported++;
		}
		else
			VerifyAddTid(v, &h.tid, chain[p]);
	}
	if (reported < MAX_PROBLEMS_PER_LIST && s == head_nslots && dead != head_ndead)
		VerifyReport(v, head, "list %u has %u dead slots, its head says %u", list, dead, head_ndead);
	pfree(chain);
}

static void
IvfCheckLayout(Verifier *v)
{
	IvfMetaPageData meta;
	BlockNumber *heads;
	Size		expect;
	uint32		i;

	if (!VerifyNeedPage(v, IVF_METAPAGE_BLKNO, IVF_PAGE_META))
		return;
	v->owner[IVF_METAPAGE_BLKNO] = OWNER_METAPAGE;
	memcpy(&meta, IvfPageGetMeta((Page) v->page), sizeof(meta));
	if (meta.header.magic != IVF_MAGIC || meta.header.version != IVF_VERSION)
	{
		VerifyReport(v, IVF_METAPAGE_BLKNO, "magic 0x%08x version %u, not an ivf metapage of version %u",
			   meta.header.magic, meta.header.version, IVF_VERSION);
		return;
	}
	if (meta.dim < 1 || meta.dim > VECTOR_MAX_DIM || meta.lists < 1 || meta.lists > IVF_MAX_LISTS)
	{
		VerifyReport(v, IVF_METAPAGE_BLKNO, "metapage: %u dimensions, %u lists", meta.dim, meta.lists);
		return;
	}
	if (meta.pq_subvectors > 0 &&
		(meta.dim % meta.pq_subvectors != 0 || meta.pq_bits != IVFPQ_BITS))
	{
		VerifyReport(v, IVF_METAPAGE_BLKNO, "metapage: %u subvectors of %u bits for %u dimensions",
			   meta.pq_subvectors, meta.pq_bits, meta.dim);
		return;
	}
	if (!VsStorageKnown(meta.storage) || (meta.pq_subvectors > 0 && meta.storage != VS_STORAGE_FLOAT))
	{
		VerifyReport(v, IVF_METAPAGE_BLKNO, "metapage: unknown vector storage %u", meta.storage);
		return;
	}
	expect = meta.pq_subvectors > 0 ? IVFPQ_SLOT_SIZE(meta.pq_subvectors) :
		IvfSlotSize((VsStorage) meta.storage, meta.dim);
	if (meta.slot_size != expect)
	{
		VerifyReport(v, IVF_METAPAGE_BLKNO, "metapage: slots of %u bytes, expected %zu", meta.slot_size, expect);
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
		if (v->owner[i] == 0 && (VerifyReadPage(v, i, 0) || !v->zero_page))
			VerifyReport(v, i, "page belongs to no list");
}

static uint16
IvfPageKind(Page page)
{
	return IvfPageGetOpaque(page)->flags;
}

const VerifyLayout IvfVerifyLayout = {
	.special = MAXALIGN(sizeof(IvfPageOpaqueData)),
	.page_id = VS_PAGE_ID_IVF,
	.page_kind = IvfPageKind,
	.check = IvfCheckLayout,
};
