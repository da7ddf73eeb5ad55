/*
 * ivf.h — the IVF (inverted file, FAISS's IndexIVFFlat) index access method.
 *
 * On-disk layout (every page: standard header, content, IvfPageOpaque special space)
 *
 *   block 0            metapage: IvfMetaPageData
 *   centroid pages     lists x dim float4, as one byte stream over consecutive blocks
 *   directory pages    lists x BlockNumber (the head page of each list), the same way
 *   list pages         one chain of pages per list, linked by opaque->next
 *
 * A list is a byte stream of fixed-size slots, IVF_CONTENT bytes per page, slots allowed
 * to straddle page boundaries: a slot is an 8-byte header (heap TID, flags) and the vector,
 * rounded up to 8 bytes (so a header never straddles). The vector is stored as the column
 * holds it (storage.h): floats, halves for halfvec opclasses, bits for bit ones. This packs 784-d vectors about 25%
 * tighter than one-tuple-per-line-pointer pages, and it stores vectors far larger than a
 * page (16,000 dimensions span eight pages) with the same code.
 *
 * The list's head page carries the list's state in its special space: slots written,
 * dead slots, the tail page and the page count, and the drift statistics of inserts.
 * Centroids and the directory never change after the build; each backend caches them in
 * rd_amcache.
 *
 * ivfpq (FAISS's IndexIVFPQ) is this access method with another slot payload: instead of
 * the vector, the product-quantization code of its residual (the vector minus its list's
 * centroid), m bytes for m subvectors, and the codebooks on pages of their own after the
 * directory (ivfpq.c). A scan scores codes with a lookup table per list (asymmetric
 * distances) and re-ranks the best candidates with exact distances from the heap rows
 * (ivfpqscan.c, rerank.h). Everything else (lists, inserts, VACUUM, WAL, the cache) is
 * shared.
 *
 * Locking: a scan locks one page at a time (share). An insert exclusively locks the head
 * page of its list for its whole duration, then the pages it writes, in chain order; VACUUM
 * does the same per list. So inserts into one list queue, inserts into different lists and
 * all scans run side by side, and no two lock orders can cross.
 *
 * Visibility of a slot: a scan reads the slot count once, from the head page, and reads
 * only slots below it. An insert appends beyond the count and bumps the count last, in the
 * same WAL record as the slot's header; a slot reused after VACUUM is written while its
 * header still says dead and is flipped to live last. A reader therefore never returns a
 * half-written slot.
 */
#ifndef VS_AM_IVF_H
#define VS_AM_IVF_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/genam.h"
#include "nodes/execnodes.h"
#include "storage/itemptr.h"
#include "utils/rel.h"

#include "common.h"
#include "pq.h"
#include "storage.h"

#define IVF_MAGIC			0x49564631	/* "IVF1" */
#define IVF_VERSION			1
#define IVF_METAPAGE_BLKNO	0

#define IVF_DEFAULT_LISTS	100
#define IVF_MIN_LISTS		1
#define IVF_MAX_LISTS		32768

/*
 * Training rows per list: FAISS's 256 when affordable, never fewer than 50 (FAISS warns
 * below 39). Affordable: one Lloyd iteration (rows x lists x dimensions multiply-adds)
 * stays under IVF_KMEANS_MAX_WORK, about half a second on one core.
 */
#define IVF_SAMPLES_PER_LIST 256
#define IVF_MIN_SAMPLES_PER_LIST 50
#define IVF_KMEANS_MAX_WORK 4.0e10
#define IVF_KMEANS_ITERATIONS 10	/* FAISS's default for IVF training */
#define IVF_KMEANS_TOLERANCE 1e-4

/* Page kinds, in opaque->flags. */
#define IVF_PAGE_META		1
#define IVF_PAGE_CENTROIDS	2
#define IVF_PAGE_DIRECTORY	3
#define IVF_PAGE_LIST		4
#define IVF_PAGE_CODEBOOK	5	/* ivfpq: the PQ codebooks, one byte stream */

/* ivfpq */
#define IVFPQ_BITS			8
#define IVFPQ_ITERATIONS	15	/* Lloyd iterations per subspace codebook */
#define IVFPQ_SEED			0x9a9a
#define IVFPQ_DEFAULT_RERANK 100

typedef struct IvfPageOpaqueData
{
	BlockNumber next;			/* list pages: next page of the chain */
	/* the rest is meaningful on a list's head page only */
	BlockNumber tail;			/* last page of the chain */
	uint32		npages;			/* pages in the chain */
	uint32		nslots;			/* slots written (live and dead) */
	uint32		ndead;			/* slots VACUUM freed, reusable by inserts */
	uint32		ninserted;		/* slots written by inserts since the build */
	double		insert_sqdist;	/* their summed squared distance to the list's centroid */
	uint16		flags;			/* IVF_PAGE_* */
	uint16		page_id;		/* VS_PAGE_ID_IVF */
} IvfPageOpaqueData;

typedef IvfPageOpaqueData *IvfPageOpaque;

#define IvfPageGetOpaque(page) ((IvfPageOpaque) PageGetSpecialPointer(page))

/* Content bytes per page, rounded down to 8 so that slot headers never straddle. */
#define IVF_CONTENT \
	((Size) ((BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfPageOpaqueData))) & ~(Size) 7))

/* Slot header; the vector follows (floats, halves or bits: the metapage's storage). */
typedef struct IvfSlotHeader
{
	ItemPointerData tid;
	uint16		flags;			/* IVF_SLOT_* */
} IvfSlotHeader;

#define IVF_SLOT_LIVE		1
#define IVF_SLOT_DEAD		2

/* The largest: a slot of floats (IvfSlotSize gives a slot of the index's storage). */
#define IVF_SLOT_SIZE(dim)	TYPEALIGN(8, sizeof(IvfSlotHeader) + sizeof(float) * (Size) (dim))

static inline Size
IvfSlotSize(VsStorage storage, int dim)
{
	return TYPEALIGN(8, sizeof(IvfSlotHeader) + VsStoredBytes(storage, dim));
}
#define IVFPQ_SLOT_SIZE(m)	TYPEALIGN(8, sizeof(IvfSlotHeader) + (Size) (m))

typedef struct IvfMetaPageData
{
	VsMetaHeader header;
	uint32		dim;
	uint32		lists;
	uint32		metric;			/* VsMetric */
	uint32		slot_size;
	BlockNumber centroid_start;
	uint32		centroid_pages;
	BlockNumber directory_start;
	uint32		directory_pages;
	uint32		trained_rows;	/* rows k-means saw; 0: centroids are placeholders */
	uint32		storage;		/* VsStorage of ivf's vectors; 0 (floats) in older indexes */
	double		build_rows;		/* rows written by the build */
	double		build_sqdist;	/* their mean squared distance to their centroid */
	/* ivfpq (0 subvectors: an ivf index, whose slots hold vectors) */
	uint32		pq_subvectors;
	uint32		pq_bits;
	BlockNumber codebook_start;
	uint32		codebook_pages;
} IvfMetaPageData;

typedef IvfMetaPageData *IvfMetaPage;

#define IvfPageGetMeta(page) ((IvfMetaPage) PageGetContents(page))

/* Per-backend cache of what never changes after the build (rd_amcache). */
typedef struct IvfCache
{
	IvfMetaPageData meta;
	VsMetric	metric;
	float	   *centroids;		/* lists x dim */
	float	   *centroid_sqnorms;	/* lists */
	BlockNumber *heads;			/* lists */
	VsBufferHints hints;		/* the blocks that existed when the cache was loaded */
	VsPq		pq;				/* ivfpq: the quantizer, once IvfpqCodebooks loaded it */
} IvfCache;

/* reloptions */
typedef struct IvfOptions
{
	int32		vl_len_;
	int			lists;
	int			subvectors;		/* ivfpq only; 0: a default from the dimension */
	int			bits;			/* ivfpq only */
} IvfOptions;

/* GUCs (vecsearch.c) */
extern int	vs_ivf_nprobe;
extern int	vs_ivf_max_probes;
extern int	vs_ivf_scan_order;		/* VS_SCAN_ORDER_*, pgvector_settings.h */
extern bool vs_ivf_force_parallel_build;
extern int	vs_ivfpq_rerank;

/* ivf.c */
extern void IvfInitReloptions(void);
extern int	IvfOptionLists(Relation index);
extern IvfCache *IvfGetCache(Relation index);
extern IndexAmRoutine *IvfAmRoutine(void);

/* ivflist.c: the slot stream of one list */
extern Size IvfSlotOffsetInPage(Size slot_size, uint32 slot, uint32 *page_index);
extern int	IvfNearestList(const IvfCache *cache, const float *x, float *sqdist);
extern void IvfPageSlotRange(Size slot_size, uint32 page_index, uint32 nslots,
							 uint32 *first, uint32 *end);
extern void IvfFormSlot(char *slot, const ItemPointerData *tid, const void *payload, Size bytes);
/* ivf: a slot holding x as the index stores vectors (storage.h), written in place. */
extern void IvfFormVectorSlot(char *slot, const ItemPointerData *tid, VsStorage storage,
							  const float *x, int dim);
extern void IvfInitListPage(Page page, bool head);
extern void IvfSetListPageUsed(Page page, Size used);

/* ivfpq.c */
extern void IvfpqInitReloptions(void);
extern bytea *ivfpqoptions(Datum reloptions, bool validate);
extern int	IvfpqSubvectors(Relation index, int dim);
extern void IvfpqCheckDefinition(Relation index);
extern bool IvfIsPq(Relation index);
extern void IvfpqTrain(VsPq *pq, float *samples, int nsamples, const float *centroids,
					   int lists, int dim);
extern void IvfpqFormSlots(const VsPq *pq, const float *centroid, int dim, const float *x,
						   const ItemPointerData *tids, int n, char *slots, Size slot_size);
extern const VsPq *IvfpqCodebooks(Relation index, IvfCache *cache);

/* callbacks (the planner's, the options and the validator are static in ivf.c) */
VS_DECLARE_AM_CALLBACKS(ivf);

#endif							/* VS_AM_IVF_H */
