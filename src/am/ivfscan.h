/*
 * ivfscan.h — the ivf scan's state, shared by ivfscan.c (lists, candidates, fetches) and the
 * way each access method scores a list's slots: ivf's vectors (ivfscan.c), ivfpq's codes
 * (ivfpqscan.c). Internal to the ivf access methods.
 */
#ifndef VS_AM_IVFSCAN_H
#define VS_AM_IVFSCAN_H

#include "postgres.h"

#include "access/relscan.h"

#include "ivf.h"
#include "pgvector_settings.h"
#include "topk.h"

#define IVF_TOP 128
/* candidates a strict-order scan hands out before it gates them (IvfScanOpaqueData) */
#define IVF_UNGATED 32

/*
 * A slot whose payload goes on past its page, scored in parts as its pages are read.
 * Headers never straddle; the scoring decides what `done` counts.
 */
typedef struct IvfSplitSlot
{
	bool		active;
	uint64		id;
	float		dist;
	uint32		done;
} IvfSplitSlot;

typedef struct IvfScanOpaqueData *IvfScanOpaque;

/* How an access method scores its slots' payloads (smaller is nearer for every metric). */
typedef struct IvfScoring
{
	/* the first fetch: checks the index's shape and sets so->payload and the state it keeps */
	void		(*begin) (IndexScanDesc scan, IvfCache *cache);
	/* before a list's slots are scored (NULL: nothing to do); the cache as just fetched */
	void		(*start_list) (IndexScanDesc scan, IvfCache *cache, uint32 list);
	/* n payloads wholly on one page */
	void		(*score) (IvfScanOpaque so, const void *const *payloads, size_t n, float *out);
	/* a split slot: its first `bytes` on this page, then the next page's contents until done */
	void		(*split_start) (IvfScanOpaque so, IvfSplitSlot *part, const char *payload, Size bytes);
	bool		(*split_continue) (IvfScanOpaque so, IvfSplitSlot *part, const char *contents);
	/* the next row to return (NULL: candidates in the order they were scored) */
	bool		(*next) (IndexScanDesc scan, VsScored *best);
	/* releases what begin acquired beyond memory (NULL: nothing); also before a rescan */
	void		(*end) (IvfScanOpaque so);
} IvfScoring;

typedef struct IvfScanOpaqueData
{
	MemoryContext scan_ctx;		/* everything below; reset by rescan */
	const IvfScoring *scoring;
	void	   *scoring_state;	/* the scoring's own, in scan_ctx */
	bool		started;
	bool		unranked;		/* NULL query, or a zero query under cosine: no distances */

	VsMetric	metric;
	uint32		dim;
	uint32		lists;
	Size		slot_size;
	Size		payload;		/* bytes after each slot's header */
	VsStorage	storage;		/* ivf: how the slots hold vectors */
	float	   *widened;		/* ivf: VsDistancesStored's scratch for halves and bits */
	float	   *query;
	VsBufferHints *hints;		/* in the relcache entry's IvfCache; see ScanNextLists */

	/* lists in rank order, and their head pages */
	float	   *centroid_dist;
	uint32		nranked;
	uint32	   *ranked;
	BlockNumber *heads;
	uint32		next_rank;
	bool		lists_done;		/* every list within reach is read */

	/*
	 * How the scan goes on past its first lists (VsIvfScanMode, read at the first fetch).
	 * Strict order hands out its first `ungated` candidates freely (a LIMIT query without a
	 * filter takes no more); after them, a candidate farther than `horizon`, the nearest row
	 * of the last list read, waits until the next lists are read and merged in. A row then
	 * found nearer than one returned already is left out (counted, and reported if the scan
	 * runs dry): rows come back in distance order.
	 */
	VsScanMode	mode;
	size_t		ungated;		/* set by the scoring's begin */
	size_t		handed;			/* candidates handed out so far */
	float		list_min;		/* nearest row of the list being read */
	float		horizon;
	bool		returned;
	float		last_dist;		/* of the last row returned */
	uint64		left_out;

	/*
	 * Candidates of the batch of lists being read. The nearest IVF_TOP of them sit in a
	 * bounded max-heap; every other one (rejected, or pushed out of the heap) goes to the
	 * overflow array, unordered. All overflow rows are at least as far as every top row,
	 * so fetches sort the top (a LIMIT of up to IVF_TOP never looks further) and only a
	 * query that wants more rows pays for heaping the overflow.
	 */
	VsScored	top[IVF_TOP];
	size_t		ntop;
	size_t		next_top;		/* fetches so far from the sorted top */
	bool		top_sorted;
	VsScored   *over;
	size_t		nover;
	size_t		over_cap;
	bool		over_heaped;

	/* per page batches */
	const void **batch_payloads;
	uint64	   *batch_ids;
	float	   *batch_dist;
	size_t		batch_cap;
} IvfScanOpaqueData;

extern const IvfScoring IvfpqScoring;	/* ivfpqscan.c */

extern IndexScanDesc IvfBeginScan(Relation index, int nkeys, int norderbys, const IvfScoring *scoring);
extern bool IvfNextCandidate(IndexScanDesc scan, VsScored *best);

#endif							/* VS_AM_IVFSCAN_H */
