/*
 * ivfinsert.c — INSERT into an ivf index: find the nearest list, write the slot.
 *
 * The list's head page stays exclusively locked for the whole insert (see ivf.h). A slot
 * reuses one that VACUUM freed when the head says there are any, else it goes after the
 * last one, extending the chain a page at a time. Pages of a slot other than the one with
 * its header are written first; the header, on its page, and the head's counters change
 * together in the last WAL record, which is what makes the slot visible.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "ivf.h"
#include "vector.h"

/* Pages one slot can span: 16,000 dimensions are 64,008 bytes. */
#define IVF_MAX_SLOT_PAGES	(IVF_SLOT_SIZE(VECTOR_MAX_DIM) / IVF_CONTENT + 2)

typedef struct ListInsert
{
	Relation	index;
	BlockNumber head;
	Buffer		head_buffer;	/* exclusively locked throughout */
	Size		slot_size;
} ListInsert;

static IvfPageOpaque
HeadOpaque(ListInsert *li)
{
	return IvfPageGetOpaque(BufferGetPage(li->head_buffer));
}

/* The page after blkno in the chain. */
static BlockNumber
NextOf(ListInsert *li, BlockNumber blkno)
{
	Buffer		buffer;
	BlockNumber next;

	if (blkno == li->head)
		return HeadOpaque(li)->next;
	buffer = VsReadLocked(li->index, MAIN_FORKNUM, blkno, BUFFER_LOCK_SHARE);
	next = IvfPageGetOpaque(BufferGetPage(buffer))->next;
	UnlockReleaseBuffer(buffer);
	return next;
}

/* The block of the chain's page_index-th page (which must exist). */
static BlockNumber
PageAt(ListInsert *li, uint32 page_index)
{
	BlockNumber blkno = li->head;
	uint32		i;

	if (page_index == HeadOpaque(li)->npages - 1)
		return HeadOpaque(li)->tail;
	for (i = 0; i < page_index; i++)
		blkno = NextOf(li, blkno);
	if (blkno == InvalidBlockNumber)
		elog(ERROR, "ivf list at block %u is shorter than its page count", li->head);
	return blkno;
}

/* Appends an empty page to the chain: new page, old tail's link and head, in one record. */
static BlockNumber
ExtendList(ListInsert *li)
{
	BlockNumber tail = HeadOpaque(li)->tail;
	Buffer		tail_buffer = li->head_buffer;
	Buffer		new_buffer;
	BlockNumber new_blkno;
	VsXlog		xlog;
	Page		page;

	if (tail != li->head)
		tail_buffer = VsReadLocked(li->index, MAIN_FORKNUM, tail, BUFFER_LOCK_EXCLUSIVE);
	new_buffer = VsExtend(li->index, MAIN_FORKNUM);
	new_blkno = BufferGetBlockNumber(new_buffer);

	VsXlogStart(&xlog, li->index);
	page = VsXlogPage(&xlog, new_buffer, true);
	IvfInitListPage(page, false);
	page = VsXlogPage(&xlog, tail_buffer, false);
	IvfPageGetOpaque(page)->next = new_blkno;
	page = VsXlogPage(&xlog, li->head_buffer, false);
	IvfPageGetOpaque(page)->tail = new_blkno;
	IvfPageGetOpaque(page)->npages++;
	VsXlogFinish(&xlog);

	UnlockReleaseBuffer(new_buffer);
	if (tail_buffer != li->head_buffer)
		UnlockReleaseBuffer(tail_buffer);
	return new_blkno;
}

/* A slot VACUUM freed: its number and the page its header is on. */
static bool
FindDeadSlot(ListInsert *li, uint32 *slot, uint32 *page_index, BlockNumber *blkno)
{
	IvfPageOpaque head = HeadOpaque(li);
	uint32		nslots = head->nslots;
	uint32		npages = head->npages;
	BlockNumber b = li->head;
	uint32		p;

	for (p = 0; p < npages && b != InvalidBlockNumber; p++)
	{
		Buffer		buffer = b == li->head ? li->head_buffer :
			VsReadLocked(li->index, MAIN_FORKNUM, b, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buffer);
		BlockNumber next = IvfPageGetOpaque(page)->next;
		uint32		first,
					end,
					i;
		bool		found = false;

		IvfPageSlotRange(li->slot_size, p, nslots, &first, &end);
		for (i = first; i < end && !found; i++)
		{
			uint32		pi;
			IvfSlotHeader *h = (IvfSlotHeader *) (PageGetContents(page) +
												  IvfSlotOffsetInPage(li->slot_size, i, &pi));

			if (h->flags == IVF_SLOT_DEAD)
			{
				*slot = i;
				*page_index = p;
				*blkno = b;
				found = true;
			}
		}
		if (buffer != li->head_buffer)
			UnlockReleaseBuffer(buffer);
		if (found)
			return true;
		if (first >= nslots)
			break;
		b = next;
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/* Copies the part of the slot that lies on the page_index-th page of the list. */
static void
PutSlotPart(Page page, Size slot_size, uint32 slot, uint32 page_index, const char *bytes)
{
	uint64		page_start = (uint64) page_index * IVF_CONTENT;
	uint64		slot_start = (uint64) slot * slot_size;
	uint64		from = Max(page_start, slot_start);
	uint64		to = Min(page_start + IVF_CONTENT, slot_start + slot_size);
	Size		used = ((PageHeader) page)->pd_lower - MAXALIGN(SizeOfPageHeaderData);

	memcpy(PageGetContents(page) + (from - page_start), bytes + (from - slot_start), to - from);
	if (to - page_start > used)
		IvfSetListPageUsed(page, to - page_start);
}

static void
InsertIntoList(Relation index, BlockNumber head, Size slot_size, const char *bytes, float sqdist)
{
	ListInsert	li;
	BlockNumber blocks[IVF_MAX_SLOT_PAGES];
	uint32		slot;
	uint32		p0;
	uint32		npages;
	int			m;
	int			j;
	int			in_final;
	bool		reuse = false;
	bool		clear_dead = false;
	VsXlog		xlog;
	Page		page;
	IvfPageOpaque ho;

	li.index = index;
	li.head = head;
	li.slot_size = slot_size;
	li.head_buffer = VsReadLocked(index, MAIN_FORKNUM, head, BUFFER_LOCK_EXCLUSIVE);
	VsCheckPage(index, BufferGetPage(li.head_buffer), head, sizeof(IvfPageOpaqueData),
				VS_PAGE_ID_IVF);

	if (HeadOpaque(&li)->ndead > 0)
	{
		reuse = FindDeadSlot(&li, &slot, &p0, &blocks[0]);
		clear_dead = !reuse;	/* the count was stale (a crash between VACUUM's records) */
	}
	if (!reuse)
	{
		slot = HeadOpaque(&li)->nslots;
		IvfSlotOffsetInPage(slot_size, slot, &p0);
		npages = HeadOpaque(&li)->npages;
		blocks[0] = p0 < npages ? PageAt(&li, p0) : ExtendList(&li);
	}

	/* the other pages the slot spans, extending the chain where it ends */
	m = (int) ((((uint64) slot * slot_size + slot_size - 1) / IVF_CONTENT) - p0 + 1);
	for (j = 1; j < m; j++)
		blocks[j] = p0 + j < HeadOpaque(&li)->npages ? NextOf(&li, blocks[j - 1]) : ExtendList(&li);

	/* pages beyond what fits in the final record go first, each group in a record */
	in_final = Min(m, MAX_GENERIC_XLOG_PAGES - (blocks[0] == head ? 0 : 1));
	for (j = in_final; j < m;)
	{
		Buffer		buffers[MAX_GENERIC_XLOG_PAGES];
		int			n = 0;
		int			k;

		VsXlogStart(&xlog, index);
		for (; j < m && n < MAX_GENERIC_XLOG_PAGES; j++, n++)
		{
			buffers[n] = VsReadLocked(index, MAIN_FORKNUM, blocks[j], BUFFER_LOCK_EXCLUSIVE);
			PutSlotPart(VsXlogPage(&xlog, buffers[n], false), slot_size, slot, p0 + j, bytes);
		}
		VsXlogFinish(&xlog);
		for (k = 0; k < n; k++)
			UnlockReleaseBuffer(buffers[k]);
	}

	/* the final record: header page, the head's counters, and what else fits */
	{
		Buffer		buffers[MAX_GENERIC_XLOG_PAGES];

		VsXlogStart(&xlog, index);
		for (j = 0; j < in_final; j++)
		{
			buffers[j] = blocks[j] == head ? li.head_buffer :
				VsReadLocked(index, MAIN_FORKNUM, blocks[j], BUFFER_LOCK_EXCLUSIVE);
			PutSlotPart(VsXlogPage(&xlog, buffers[j], false), slot_size, slot, p0 + j, bytes);
		}
		page = VsXlogPage(&xlog, li.head_buffer, false);
		ho = IvfPageGetOpaque(page);
		if (reuse)
			ho->ndead--;
		else
			ho->nslots++;
		if (clear_dead)
			ho->ndead = 0;
		ho->ninserted++;
		ho->insert_sqdist += sqdist;
		VsXlogFinish(&xlog);
		for (j = 0; j < in_final; j++)
			if (buffers[j] != li.head_buffer)
				UnlockReleaseBuffer(buffers[j]);
	}
	UnlockReleaseBuffer(li.head_buffer);
}

/* One row's slot, in its nearest list. */
static void
InsertRow(Relation index, Datum value, ItemPointer heap_tid)
{
	IvfCache   *cache = IvfGetCache(index);
	Vector	   *v = VsCopyRowVector(index, value, cache->meta.dim);
	char	   *bytes;
	float		sqdist;
	int			list;

	if (!VsPrepareVector(cache->metric, v->x, v->dim))
		return;					/* a zero vector under cosine is not indexed */
	bytes = palloc0(cache->meta.slot_size);
	list = IvfNearestList(cache, v->x, &sqdist);
	if (cache->meta.pq_subvectors > 0)
		IvfpqFormSlots(IvfpqCodebooks(index, cache), cache->centroids + (Size) list * v->dim, v->dim,
					   v->x, heap_tid, 1, bytes, cache->meta.slot_size);
	else
		IvfFormVectorSlot(bytes, heap_tid, (VsStorage) cache->meta.storage, v->x, v->dim);
	InsertIntoList(index, cache->heads[list], cache->meta.slot_size, bytes, sqdist);
}

VS_DEFINE_AMINSERT(ivfinsert, InsertRow)
