/*
 * hnsw.h — the HNSW (hierarchical navigable small world graph, FAISS's IndexHNSWFlat)
 * index access method.
 *
 * On-disk layout (every page: standard header, line pointers, HnswPageOpaque special)
 *
 *   block 0          metapage: HnswMetaPageData (entry point, its level, parameters)
 *   element pages    one item per indexed vector: HnswElementData, its vector (unless it
 *                    lives on overflow pages), then its neighbour lists for every level it
 *                    lives on (version 2; version 1 put the vector last). Neighbours are the index
 *                    TIDs (block, offset) of other elements, so a search step reads one
 *                    page per element it scores and gets that element's neighbours from
 *                    the same page. The build lays elements out in insertion order.
 *   overflow pages   vectors too large to share a page with their element (about 1,900
 *                    dimensions of floats and up, 3,800 of halves): a chain of whole pages
 *                    of the stored vector, scored in parts as the ivf scan scores straddling
 *                    slots. 16,000 dimensions take eight pages of floats, four of halves.
 *
 * Vectors are stored as the column holds them (storage.h): floats, or halves for halfvec
 * opclasses and bits for bit ones, so a halfvec index takes about half the pages.
 *
 * Neighbour lists have a fixed capacity (2m on level 0, m above), so an element is never
 * moved: links are rewritten in place, each under its page's exclusive lock.
 *
 * Locking protocol (see also hnswinsert.c): scans take share locks on one page at a time
 * and never take the heavyweight lock. Inserts hold a heavyweight lock on the index
 * (HNSW_UPDATE_LOCK) in share mode, side by side, or exclusively when the new element
 * becomes the entry point; VACUUM's repair holds it exclusively, alone. Every page change
 * is one GenericXLog record under that page's exclusive buffer lock, so a scan sees each
 * neighbour list either before or after an update, never half of one, and an insert that
 * chose a full list anew from a copy writes it only if the list is still that copy.
 */
#ifndef VS_AM_HNSW_H
#define VS_AM_HNSW_H

#include "postgres.h"

#include "access/amapi.h"
#include "common/pg_prng.h"
#include "access/genam.h"
#include "nodes/execnodes.h"
#include "storage/itemptr.h"
#include "utils/rel.h"

#include "common.h"
#include "storage.h"

#define HNSW_MAGIC			0x484E5731	/* "HNW1" */
#define HNSW_VERSION		2	/* 2: the vector before the neighbour lists */
#define HNSW_METAPAGE_BLKNO	0

#define HNSW_DEFAULT_M		16
#define HNSW_MIN_M			2
#define HNSW_MAX_M			100
#define HNSW_DEFAULT_EF_CONSTRUCTION 64
#define HNSW_MIN_EF_CONSTRUCTION 4
#define HNSW_MAX_EF_CONSTRUCTION 1000
#define HNSW_MAX_LEVEL		15

/* Page kinds, in opaque->flags. */
#define HNSW_PAGE_META		1
#define HNSW_PAGE_ELEMENT	2
#define HNSW_PAGE_OVERFLOW	3

typedef struct HnswPageOpaqueData
{
	BlockNumber next;			/* overflow pages: the vector's next page */
	uint16		flags;
	uint16		page_id;		/* VS_PAGE_ID_HNSW */
} HnswPageOpaqueData;

typedef HnswPageOpaqueData *HnswPageOpaque;

#define HnswPageGetOpaque(page) ((HnswPageOpaque) PageGetSpecialPointer(page))

/* Bytes of floats on one overflow page, a multiple of 8. */
#define HNSW_OVERFLOW_CONTENT \
	((Size) ((BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData))) & ~(Size) 7))

#define HNSW_ELEMENT_LIVE	1
#define HNSW_ELEMENT_DELETED 2	/* VACUUM removed it; its item waits for reuse */

/*
 * An element item. After the fixed part, 4-byte aligned: the vector (unless it lives on
 * overflow pages), then uint16 counts[level + 1], then the neighbour TIDs (2m slots for
 * level 0, m for each level above). The vector comes first so that its address does not
 * depend on the element's level: a search prefetches a batch of neighbours' vectors
 * without waiting to read their headers.
 */
/*
 * Identical vectors share one element, up to HNSW_HEAPTIDS rows of them: a graph of many
 * elements at distance 0 from each other cannot keep them all linked (every neighbour list
 * fills with ties), so some would become unreachable.
 */
#define HNSW_HEAPTIDS		10

typedef struct HnswElementData
{
	uint8		level;
	uint8		flags;
	uint16		dim;
	BlockNumber overflow;		/* first overflow page, or InvalidBlockNumber */
	uint8		nheaptids;
	ItemPointerData heaptids[HNSW_HEAPTIDS];
} HnswElementData;

typedef HnswElementData *HnswElement;

typedef struct HnswMetaPageData
{
	VsMetaHeader header;
	uint32		dim;
	uint32		m;
	uint32		ef_construction;
	uint32		metric;			/* VsMetric */
	ItemPointerData entry;		/* invalid while the graph is empty */
	uint16		entry_level;
	uint32		element_size;	/* item size of a level-0 element (inline vector or not) */
	double		build_rows;
	uint32		storage;		/* VsStorage of the vectors; 0 (floats) in older indexes */
} HnswMetaPageData;

typedef HnswMetaPageData *HnswMetaPage;

#define HnswPageGetMeta(page) ((HnswMetaPage) PageGetContents(page))

/* The heavyweight lock that serialises graph changes (a page lock on the metapage). */
#define HNSW_UPDATE_LOCK	HNSW_METAPAGE_BLKNO

/* reloptions */
typedef struct HnswOptions
{
	int32		vl_len_;
	int			m;
	int			ef_construction;
} HnswOptions;

/* GUCs (vecsearch.c) */
extern int	vs_hnsw_ef_search;
extern int	vs_hnsw_max_scan_tuples;
extern int	vs_hnsw_scan_order;

/* Geometry of elements, shared by build, insert, scan and VACUUM. */
typedef struct HnswShape
{
	int			m;
	int			dim;
	VsMetric	metric;
	bool		inline_vector;	/* false: vectors live on overflow pages */
	VsStorage	storage;		/* floats, halves or bits (storage.h) */
} HnswShape;

/* Elements: their geometry, checks, lookup and iteration are in hnswelement.h. */

/* hnsw.c */
extern void HnswInitReloptions(void);
extern void HnswGetShape(Relation index, HnswShape *shape);
extern VsBufferHints *HnswGetHints(Relation index);
extern void HnswReadMeta(Relation index, HnswMetaPageData *meta);
extern int	HnswCheckDefinition(Relation index, int *m, int *ef_construction);

/*
 * hnswsearch.c: the graph on disk. A searcher scores elements by index TID, remembering
 * each one's level-0 neighbours (or the level it searches) so that expanding it needs no
 * second read.
 */
typedef struct HnswCandidate
{
	float		dist;
	ItemPointerData tid;		/* the element */
	int			nheaptids;
	ItemPointerData heaptids[HNSW_HEAPTIDS];
	int			nneighbors;		/* or HNSW_NEIGHBORS_UNREAD */
	ItemPointerData *neighbors; /* at the level being searched */
	bool		deleted;
} HnswCandidate;

#define HNSW_NEIGHBORS_UNREAD (-1)

/*
 * Elements scored (and pages pinned and locked) at once: as many pins as a backend tracks
 * in its fast array (PrivateRefCount keeps 8 before it falls back to a hash table).
 */
#define HNSW_SCORE_CHUNK	8

typedef struct HnswSearcher HnswSearcher;

extern HnswSearcher *HnswSearcherCreate(Relation index, const HnswShape *shape, const float *query,
										VsBufferHints *hints);
extern void HnswSearcherReset(HnswSearcher *s);
extern void HnswSearcherExpect(HnswSearcher *s, int n);
extern void HnswSearcherSetHints(HnswSearcher *s, VsBufferHints *hints);
/* Marks tid visited; false if it already was. */
extern bool HnswMarkVisited(HnswSearcher *s, ItemPointer tid);
extern int	HnswTakeUnvisited(HnswSearcher *s, const ItemPointerData *nbrs, int n,
							  ItemPointerData *fresh);
extern bool HnswScore(HnswSearcher *s, ItemPointer tid, int level, HnswCandidate *out);
typedef void *(*HnswAlloc) (void *arg, Size size);
extern int	HnswScoreBatch(HnswSearcher *s, const ItemPointerData *tids, int n, int level,
						   float keep_below, HnswCandidate *out, HnswAlloc alloc, void *alloc_arg);
extern int	HnswSearchLayer(HnswSearcher *s, HnswCandidate *entries, int nentries, int ef,
							int level, HnswCandidate **result);
extern void HnswDescend(HnswSearcher *s, HnswCandidate *entry, int from_level, int to_level, int ef);

/*
 * How many candidates the descent through the upper levels keeps for a search of level 0
 * with this ef: a quarter of it, 1 to 8. A walk that keeps only the nearest one (as
 * hnswlib's and pgvector's) can end far from the query where the data lie on a thin curve
 * rather than a cloud: on 3,000 points of an 8-d curve (regress hnsw) a query's descent
 * ended at distance 2.67 with its neighbours at 0.5, and level 0 at ef_search 40 found none
 * of them. Measured over 1,000 such queries: recall@10 at ef_search 40 0.997 with one, 0.9996
 * with 8. Eight at every ef_search cost GloVe-100 4-8% of its queries a second at ef_search
 * 10-40 (recall 0.7268 to 0.7347 at 10), so small ef_search keep fewer. Scans and VACUUM's
 * repair use it; inserts keep one, as the build does (HnswInsertOnDisk says why).
 */
static inline int
HnswDescentEf(int ef)
{
	return Max(1, Min(8, ef / 4));
}

/* hnswconnect.c: VACUUM links in the live elements no scan can find; returns how many */
extern int	HnswConnect(Relation index, const HnswShape *shape, VsBufferHints *hints);

/* hnswneighbors.c: the neighbour-selection heuristic of inserts and VACUUM's repair */
extern bool HnswContainsTid(const ItemPointerData *list, int n, const ItemPointerData *tid);
extern int	HnswCompareCandidates(const void *a, const void *b);
extern int	HnswSelectNeighbors(Relation index, const HnswShape *shape, VsBufferHints *hints,
								const HnswCandidate *found, const float *const *vectors, int nfound,
								int max, bool fill, ItemPointerData *out, float *out_dist, int *npicks);

/* hnswinsert.c */
/* ef_construction comes from the metapage, which the insert reads anyway. */
extern void HnswInsertOnDisk(Relation index, const HnswShape *shape, const float *x,
							 ItemPointer heaptid);

/* callbacks (the planner's, the options and the validator are static in hnsw.c) */
VS_DECLARE_AM_CALLBACKS(hnsw);

#endif							/* VS_AM_HNSW_H */
