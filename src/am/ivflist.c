/*
 * ivflist.c — the geometry of a list's slot stream, and the vector preparation and list
 * assignment that build, insert and scan must agree on.
 */
#include "postgres.h"

#include "batch.h"
#include "ivf.h"

Size
IvfSlotOffsetInPage(Size slot_size, uint32 slot, uint32 *page_index)
{
	uint64		offset = (uint64) slot * slot_size;

	*page_index = (uint32) (offset / IVF_CONTENT);
	return (Size) (offset % IVF_CONTENT);
}

void
IvfPageSlotRange(Size slot_size, uint32 page_index, uint32 nslots, uint32 *first, uint32 *end)
{
	uint64		start = (uint64) page_index * IVF_CONTENT;
	uint64		stop = start + IVF_CONTENT;

	/* slots whose header starts in [start, stop) */
	*first = (uint32) Min((start + slot_size - 1) / slot_size, (uint64) nslots);
	*end = (uint32) Min((stop + slot_size - 1) / slot_size, (uint64) nslots);
}

/*
 * The list a vector belongs to: its nearest centroid by L2, for every metric (cosine
 * vectors and centroids are unit length, where L2 and dot agree). Lists are regions of
 * space also under inner product, which keeps them balanced; the scan ranks them by dot.
 */
int
IvfNearestList(const IvfCache *cache, const float *x, float *sqdist)
{
	uint32		lists = cache->meta.lists;
	Size		dim = cache->meta.dim;
	float	   *d = palloc(sizeof(float) * lists);
	uint32		best = 0;
	uint32		i;

	vs_l2sq_1xN(x, cache->centroids, lists, dim, d);
	for (i = 1; i < lists; i++)
		if (d[i] < d[best])
			best = i;
	*sqdist = d[best];
	pfree(d);
	return (int) best;
}

/*
 * A live slot for a row: header, then the payload (ivf: the vector; ivfpq: its code);
 * `slot` is zeroed padding already.
 */
static inline char *
StartSlot(char *slot, const ItemPointerData *tid)
{
	IvfSlotHeader *header = (IvfSlotHeader *) slot;

	header->tid = *tid;
	header->flags = IVF_SLOT_LIVE;
	return slot + sizeof(IvfSlotHeader);
}

void
IvfFormSlot(char *slot, const ItemPointerData *tid, const void *payload, Size bytes)
{
	memcpy(StartSlot(slot, tid), payload, bytes);
}

void
IvfFormVectorSlot(char *slot, const ItemPointerData *tid, VsStorage storage, const float *x, int dim)
{
	VsStoreVector(storage, x, dim, StartSlot(slot, tid));
}

void
IvfInitListPage(Page page, bool head)
{
	IvfPageOpaque opaque;

	VsInitPage(page, sizeof(IvfPageOpaqueData), VS_PAGE_ID_IVF);
	opaque = IvfPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->tail = InvalidBlockNumber;
	opaque->flags = IVF_PAGE_LIST;
	opaque->npages = head ? 1 : 0;
}

/* The slot stream's bytes that lie on one page: pd_lower tells GenericXLog where they end. */
void
IvfSetListPageUsed(Page page, Size used)
{
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + used;
}
