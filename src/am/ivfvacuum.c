/*
 * ivfvacuum.c — VACUUM for ivf: mark the slots of dead rows free, report statistics.
 *
 * Each list is walked with its head page exclusively locked, as an insert would, so the
 * dead count VACUUM leaves on the head is exact. Freed slots keep their place (a scan
 * running now may be reading past them) and inserts reuse them; pages are never returned,
 * because a list that shrank tends to grow back.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"

#include "ivf.h"

typedef struct VacuumCounts
{
	double		removed;
	double		live;
} VacuumCounts;

/* Marks the page's slots whose rows are dead; returns the page's dead slots after that. */
static uint32
VacuumPage(Relation index, Buffer buffer, Size slot_size, uint32 page_index, uint32 nslots,
		   IndexBulkDeleteCallback callback, void *callback_state, VacuumCounts *counts)
{
	Page		page = BufferGetPage(buffer);
	uint32		first,
				end,
				i,
				pi;
	uint32		dead = 0;
	VsXlog		xlog;
	Page		wpage = NULL;

	IvfPageSlotRange(slot_size, page_index, nslots, &first, &end);
	for (i = first; i < end; i++)
	{
		Size		off = IvfSlotOffsetInPage(slot_size, i, &pi);
		IvfSlotHeader *h = (IvfSlotHeader *) (PageGetContents(page) + off);

		if (h->flags != IVF_SLOT_LIVE)
		{
			dead++;
			continue;
		}
		if (!callback(&h->tid, callback_state))
		{
			counts->live += 1;
			continue;
		}
		if (wpage == NULL)
		{
			VsXlogStart(&xlog, index);
			wpage = VsXlogPage(&xlog, buffer, false);
		}
		((IvfSlotHeader *) (PageGetContents(wpage) + off))->flags = IVF_SLOT_DEAD;
		counts->removed += 1;
		dead++;
	}
	if (wpage != NULL)
		VsXlogFinish(&xlog);
	return dead;
}

static void
VacuumList(Relation index, BlockNumber head, Size slot_size,
		   IndexBulkDeleteCallback callback, void *callback_state, VacuumCounts *counts)
{
	Buffer		head_buffer = VsReadLocked(index, MAIN_FORKNUM, head, BUFFER_LOCK_EXCLUSIVE);
	IvfPageOpaque ho = IvfPageGetOpaque(BufferGetPage(head_buffer));
	uint32		nslots = ho->nslots;
	uint32		npages = ho->npages;
	uint32		dead = 0;
	BlockNumber blkno = head;
	uint32		p;

	VsCheckPage(index, BufferGetPage(head_buffer), head, sizeof(IvfPageOpaqueData), VS_PAGE_ID_IVF);
	for (p = 0; p < npages && blkno != InvalidBlockNumber; p++)
	{
		Buffer		buffer = p == 0 ? head_buffer :
			VsReadLocked(index, MAIN_FORKNUM, blkno, BUFFER_LOCK_EXCLUSIVE);
		uint32		first,
					end;

		dead += VacuumPage(index, buffer, slot_size, p, nslots, callback, callback_state, counts);
		blkno = IvfPageGetOpaque(BufferGetPage(buffer))->next;
		if (buffer != head_buffer)
			UnlockReleaseBuffer(buffer);
		IvfPageSlotRange(slot_size, p, nslots, &first, &end);
		if (end >= nslots)
			break;
	}

	if (ho->ndead != dead)
	{
		VsXlog		xlog;

		VsXlogStart(&xlog, index);
		IvfPageGetOpaque(VsXlogPage(&xlog, head_buffer, false))->ndead = dead;
		VsXlogFinish(&xlog);
	}
	UnlockReleaseBuffer(head_buffer);
}

IndexBulkDeleteResult *
ivfbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	IvfCache   *cache = IvfGetCache(index);
	uint32		lists = cache->meta.lists;
	Size		slot_size = cache->meta.slot_size;
	BlockNumber *heads = palloc(sizeof(BlockNumber) * lists);
	VacuumCounts counts = {0, 0};
	uint32		i;

	/* a copy: the relcache entry may be rebuilt while this runs */
	memcpy(heads, cache->heads, sizeof(BlockNumber) * lists);
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	for (i = 0; i < lists; i++)
	{
		vacuum_delay_point();
		VacuumList(index, heads[i], slot_size, callback, callback_state, &counts);
	}
	stats->tuples_removed += counts.removed;
	stats->num_index_tuples = counts.live;
	stats->estimated_count = false;
	stats->num_pages = RelationGetNumberOfBlocks(index);
	pfree(heads);
	return stats;
}

/*
 * Without a bulk delete before it (nothing to remove), the live count comes from the head
 * pages' counters: rows written minus slots freed, which is what the index holds.
 */
IndexBulkDeleteResult *
ivfvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		IvfCache   *cache = IvfGetCache(index);
		uint32		lists = cache->meta.lists;
		BlockNumber *heads = palloc(sizeof(BlockNumber) * lists);
		double		live = 0;
		uint32		i;

		memcpy(heads, cache->heads, sizeof(BlockNumber) * lists);
		for (i = 0; i < lists; i++)
		{
			Buffer		buffer = VsReadLocked(index, MAIN_FORKNUM, heads[i], BUFFER_LOCK_SHARE);
			IvfPageOpaque ho = IvfPageGetOpaque(BufferGetPage(buffer));

			live += (double) ho->nslots - ho->ndead;
			UnlockReleaseBuffer(buffer);
		}
		pfree(heads);
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = live;
		stats->estimated_count = false;
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}
