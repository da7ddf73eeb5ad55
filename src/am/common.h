/*
 * common.h — the page and WAL layer shared by the index access methods (ivf, hnsw, ivfpq).
 *
 * Every page an AM writes has a standard page header, its content between the header and
 * pd_lower (so GenericXLog and full-page images skip the hole), and a special space that
 * ends with a 16-bit page id, as in core's AMs, so tools can tell the pages apart.
 *
 * Builds write pages straight through the buffer manager without WAL and then log them in
 * one pass (VsLogBuiltPages); every later change goes through GenericXLog, so crash
 * recovery and streaming standbys see the same index as the primary.
 */
#ifndef VS_AM_COMMON_H
#define VS_AM_COMMON_H

#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/genam.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

/* Page ids: the last two bytes of every page's special space. */
#define VS_PAGE_ID_IVF		0xFE51
#define VS_PAGE_ID_HNSW		0xFE52
#define VS_PAGE_ID_IVFPQ	0xFE53

/* Every metapage starts with these; the rest is the AM's own. */
typedef struct VsMetaHeader
{
	uint32		magic;
	uint32		version;
} VsMetaHeader;

/* Metric of an opclass, read from its support function 1 (opclass.c). */
typedef enum VsMetric
{
	VS_METRIC_L2 = 1,			/* <->, ranked by squared L2 */
	VS_METRIC_IP = 2,			/* <#>, ranked by -dot */
	VS_METRIC_COSINE = 3,		/* <=>, vectors normalised, ranked by -dot */
	VS_METRIC_L1 = 4,			/* <+>, ranked by the L1 distance (hnsw only) */
	VS_METRIC_JACCARD = 5		/* <%> on bits as 0/1 floats, 1 - a.b / |a OR b| (hnsw only) */
} VsMetric;

/*
 * How an index keeps its vectors (storage.h): floats, or the halves and bits that halfvec
 * and bit columns hold, in a half and a 32nd of the bytes. Stored in the metapage: 0 is
 * float, so an index from before the field reads as what it is.
 */
typedef enum VsStorage
{
	VS_STORAGE_FLOAT = 0,
	VS_STORAGE_HALF = 1,
	VS_STORAGE_BIT = 2
} VsStorage;

extern VsMetric VsIndexMetric(Relation index);
/* What a new index on this column stores: halves for halfvec, bits for bit, else floats. */
extern VsStorage VsIndexStorage(Relation index);
/* The C symbol behind a function (its prosrc), or NULL when it has none. */
extern char *VsProcSymbol(Oid procid);
extern const char *VsMetricName(VsMetric metric);
/* Cosine indexes store unit vectors: normalises x in place; false for a zero vector. */
extern bool VsPrepareVector(VsMetric metric, float *x, int dim);
/*
 * How the AMs rank: smaller is nearer for every metric, squared L2 or minus the dot
 * product (cosine vectors are unit length). Partial vectors (dim 0 included) sum up.
 */
extern float VsDistance(VsMetric metric, const float *a, const float *b, size_t dim);
/* The same for n rows given by pointer, and for n contiguous rows. */
extern void VsDistances(VsMetric metric, const float *q, const float *const *rows, size_t n,
						size_t dim, float *out);
extern void VsDistancesContiguous(VsMetric metric, const float *q, const float *rows, size_t n,
								  size_t dim, float *out);

/* Shared amvalidate: support function 1 (vector, vector) -> float8, ordering operators. */
extern bool VsValidateOpclass(Oid opclassoid, const char *amname);

/* Initialises a page with `special_size` bytes of special space tagged with page_id. */
/* The page id in the last two bytes of a page's special space (VsInitPage wrote it). */
extern uint16 VsPageId(Page page);
extern void VsInitPage(Page page, Size special_size, uint16 page_id);
/* Bytes between the page header and the special space of a page built by VsInitPage. */
/* ERROR unless the page was written by this AM (its page id matches). */
extern void VsCheckPage(Relation index, Page page, BlockNumber blkno, Size special_size,
						uint16 page_id);
/* ERROR unless the metapage header carries the AM's magic and version. */
extern void VsCheckMeta(Relation index, const VsMetaHeader *meta, uint32 magic, uint32 version);

/*
 * A new page at the end of the fork, pinned and exclusively locked, content uninitialised.
 * The relation extension lock is held only while extending.
 */
extern Buffer VsExtend(Relation index, ForkNumber fork);

/* Reads (pins) a block; an ERROR while reading it names the index and block. */
extern Buffer VsReadBlock(Relation index, ForkNumber fork, BlockNumber blkno);

/* Reads a block and locks it (BUFFER_LOCK_SHARE or _EXCLUSIVE). */
extern Buffer VsReadLocked(Relation index, ForkNumber fork, BlockNumber blkno, int mode);

/*
 * Buffer hints: a backend's memory of which shared buffer last held each block of an index,
 * so that a scan re-reading hot pages skips the buffer mapping lookup (ReadRecentBuffer
 * checks the tag, so a stale hint costs one failed check). Also lets a scan prefetch the
 * next page's memory before it pins it.
 */
typedef struct VsBufferHints
{
	BlockNumber nblocks;		/* hints for blocks below this */
	Buffer	   *buffers;		/* InvalidBuffer where unknown */
	BlockNumber known_size;		/* the index had at least this many blocks when last asked */
} VsBufferHints;

extern void VsInitBufferHints(VsBufferHints *hints, Relation index, MemoryContext cxt);
extern Buffer VsReadHinted(Relation index, VsBufferHints *hints, BlockNumber blkno, int mode);
/* Prefetches the first nbytes of the page the hint names (BLCKSZ: all of it). */
extern void VsPrefetchHinted(const VsBufferHints *hints, BlockNumber blkno, Size nbytes);

/* Starts fetching n bytes from p into the cache, every line (for reading). */
static inline void
VsPrefetchLines(const void *p, Size n)
{
	for (Size off = 0; off < n; off += 64)
		__builtin_prefetch((const char *) p + off, 0, 3);
}

/* After a build that wrote without WAL: logs every page of the fork once, if it needs WAL. */
extern void VsLogBuiltPages(Relation index, ForkNumber fork);

/*
 * GenericXLog with the bookkeeping in one place: register up to MAX_GENERIC_XLOG_PAGES
 * buffers (the same buffer twice returns the same page), change the returned pages, then
 * finish (or abort when nothing changed).
 */
typedef struct VsXlog
{
	GenericXLogState *state;
	bool		logged;			/* false while the index is built without WAL */
	int			nbuffers;
	Buffer		buffers[MAX_GENERIC_XLOG_PAGES];
	Page		pages[MAX_GENERIC_XLOG_PAGES];
} VsXlog;

/*
 * While this process builds `index`, its page changes through VsXlog skip WAL (the pages are
 * only marked dirty): the build logs every page once when it ends (VsLogBuiltPages), as
 * PostgreSQL's own index builds do. For the on-disk inserts of an hnsw build past
 * maintenance_work_mem. VsXlogEndBuild(), on every exit path, turns it off.
 */
extern void VsXlogBeginBuild(Relation index);
extern void VsXlogEndBuild(void);
extern void VsXlogStart(VsXlog *xlog, Relation index);
extern Page VsXlogPage(VsXlog *xlog, Buffer buffer, bool new_page);
extern void VsXlogFinish(VsXlog *xlog);

/*
 * Reads `nbytes` that start at byte `offset` of a byte stream stored on consecutive blocks
 * from `start`, `per_page` bytes of content on each (centroids, directories).
 */
extern void VsReadStream(Relation index, ForkNumber fork, BlockNumber start, Size per_page,
						 Size offset, Size nbytes, void *out);

/*
 * The write twin of VsReadStream, for builds (no WAL: the caller logs the built relation
 * with VsLogBuiltPages): appends bytes to a run of new pages at the end of `fork`,
 * `per_page` bytes of content on each, pd_lower following the bytes written. The access
 * method formats each new page (init_page) and, for a chain, links a page to the next
 * (link; NULL for consecutive pages read back by position).
 */
typedef struct VsPageWriter
{
	Relation	index;
	ForkNumber	fork;
	Size		per_page;
	void		(*init_page) (Page page, bool first, void *arg);
	void		(*link) (Page page, BlockNumber next);
	void	   *arg;
	Buffer		buffer;			/* the current page, pinned and locked */
	BlockNumber first;
	Size		used;			/* bytes on the current page */
	uint32		npages;
} VsPageWriter;

extern void VsWriterStart(VsPageWriter *w, Relation index, ForkNumber fork, Size per_page,
						  void (*init_page) (Page page, bool first, void *arg),
						  void (*link) (Page page, BlockNumber next), void *arg);
extern void VsWriterPut(VsPageWriter *w, const void *data, Size n);
extern BlockNumber VsWriterEnd(VsPageWriter *w);

/*
 * amgettuple's answer: the row at heaptid, in exact distance order (no recheck of the
 * row or of the ORDER BY). For index-only scans, which the planner may pick for a query
 * that needs no column of the table (SELECT count(*) with sequential scans disabled), the
 * index hands back a tuple whose column is NULL, which such a query never reads: it cannot
 * return the vector.
 */
struct IndexScanDescData;
extern void VsReturnRow(struct IndexScanDescData *scan, const ItemPointerData *heaptid);

/*
 * A row's vector for an index: a copy (the datum may point into a shared buffer, and
 * cosine normalises in place), ERROR unless it has `dim` dimensions (-1: any). The index's
 * column may be a vector, a halfvec (widened exactly), a sparsevec (made dense: up to
 * 16,000 dimensions) or a bit string (one 0.0 or 1.0 per bit, so that squared L2 distance is
 * the Hamming distance): the AMs see floats.
 */
struct Vector;
extern struct Vector *VsCopyRowVector(Relation index, Datum value, int dim);

/*
 * aminsert's frame for both access methods: NULL vectors are not indexed, and `insert` runs
 * in a memory context of its own, deleted after it (a COPY inserts millions of rows).
 */
typedef void (*VsRowInserter) (Relation index, Datum value, ItemPointer heap_tid);

/*
 * Reads the table as CREATE INDEX does (table_index_build_scan: live and recently dead rows,
 * a HOT chain by its root) and hands `row` each row's vector datum in `tmp`, which is reset
 * after each row (a build reads millions). NULLs are not indexed and are skipped. `scan`:
 * a parallel scan's part, or NULL. Returns the heap tuples seen.
 */
typedef void (*VsRowVisitor) (void *arg, ItemPointer tid, Datum value);

/* The callback behind VsScanRows, for other scans (table_index_build_range_scan). */
typedef struct VsRowScan
{
	MemoryContext tmp;
	VsRowVisitor row;
	void	   *arg;
} VsRowScan;
extern void VsRowScanCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
							  bool tupleIsAlive, void *arg);

extern double VsScanRows(Relation heap, Relation index, IndexInfo *info, bool progress,
						 struct TableScanDescData *scan, MemoryContext tmp, VsRowVisitor row,
						 void *arg);
extern bool VsInsertRow(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						VsRowInserter insert);

/* Defines an access method's aminsert callback `name` as VsInsertRow with `inserter`. */
#define VS_DEFINE_AMINSERT(name, inserter) \
bool \
name(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap, \
	 IndexUniqueCheck checkUnique, bool indexUnchanged, IndexInfo *indexInfo) \
{ \
	/* no unique indexes, nothing to learn from the heap or the executor */ \
	(void) heap; \
	(void) checkUnique; \
	(void) indexUnchanged; \
	(void) indexInfo; \
	return VsInsertRow(index, values, isnull, heap_tid, inserter); \
}
/*
 * A scan's query vector, prepared for `metric` into out (dim floats); ERROR unless it has
 * `dim` dimensions. False when it ranks nothing: no query (NULL), or a zero vector under
 * cosine, where every distance is NULL or NaN and rows come back in no particular order,
 * as from exact search.
 */
extern bool VsScanQuery(struct IndexScanDescData *scan, VsMetric metric, int dim, float *out);

/*
 * The NOTICE of a strict-order scan that ran dry having left rows out (found after farther
 * rows were returned): the query may be short. `more` names the setting that makes it
 * rarer, `setting` the iterative-scan setting whose relaxed_order returns such rows.
 */
extern void VsReportLeftOut(Relation index, uint64 left_out, const char *more, const char *setting);

/* ambuildphasename from a table of names indexed by phase number; NULL for a hole. */
extern char *VsPhaseName(const char *const *names, int n, int64 phase);

struct IndexAmRoutine;
/* An IndexAmRoutine with what every vecsearch AM shares (ordering scans only, one column). */
extern struct IndexAmRoutine *VsNewIndexAmRoutine(void);

/*
 * The callbacks of access method `am`, whose functions are named <am>build, <am>insert,
 * and so on (ivf.c, hnsw.c): their declarations, and filling an IndexAmRoutine with them.
 */
#define VS_DECLARE_AM_CALLBACKS(am) \
extern IndexBuildResult *am##build(Relation heap, Relation index, IndexInfo *indexInfo); \
extern void am##buildempty(Relation index); \
extern bool am##insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, \
					   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged, \
					   IndexInfo *indexInfo); \
extern IndexBulkDeleteResult *am##bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, \
											 IndexBulkDeleteCallback callback, void *callback_state); \
extern IndexBulkDeleteResult *am##vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats); \
extern IndexScanDesc am##beginscan(Relation index, int nkeys, int norderbys); \
extern void am##rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys); \
extern bool am##gettuple(IndexScanDesc scan, ScanDirection dir); \
extern void am##endscan(IndexScanDesc scan)

#define VS_SET_AM_CALLBACKS(r, am) \
	do { \
		(r)->ambuild = am##build, (r)->ambuildempty = am##buildempty, (r)->aminsert = am##insert; \
		(r)->ambulkdelete = am##bulkdelete, (r)->amvacuumcleanup = am##vacuumcleanup; \
		(r)->amcostestimate = am##costestimate, (r)->amoptions = am##options; \
		(r)->ambuildphasename = am##buildphasename, (r)->amvalidate = am##validate; \
		(r)->ambeginscan = am##beginscan, (r)->amrescan = am##rescan; \
		(r)->amgettuple = am##gettuple, (r)->amendscan = am##endscan; \
	} while (0)

/*
 * amcostestimate: an index that can only order is useless without ORDER BY (a cost no plan
 * takes); with one, `estimate` gives the costs, with the index open.
 */
typedef struct VsCosts
{
	Cost		startup;
	Cost		total;
	Selectivity selectivity;
	double		pages;
} VsCosts;
typedef void (*VsCostEstimator) (IndexOptInfo *info, Relation index, VsCosts *costs);
extern void VsEstimateCosts(IndexPath *path, VsCostEstimator estimate, Cost *indexStartupCost,
							Cost *indexTotalCost, Selectivity *indexSelectivity,
							double *indexCorrelation, double *indexPages);

/* Defines an access method's amcostestimate callback `name` as VsEstimateCosts with `estimate`. */
#define VS_DEFINE_AMCOSTESTIMATE(name, estimate) \
static void \
name(PlannerInfo *root, IndexPath *path, double loop_count, Cost *indexStartupCost, \
	 Cost *indexTotalCost, Selectivity *indexSelectivity, double *indexCorrelation, \
	 double *indexPages) \
{ \
	(void) root; \
	(void) loop_count; \
	VsEstimateCosts(path, estimate, indexStartupCost, indexTotalCost, indexSelectivity, \
					indexCorrelation, indexPages); \
}

/* The index column's vector typmod (its dimension), or -1 when it has none; a build's
 * check: a varbit column is an ERROR. */
extern int	VsIndexColumnDims(Relation index);

/* Bit sets over numbered items (index slots, elements): one bit each. */
static inline bool
VsBitIsSet(const uint8 *bits, uint64 bit)
{
	return (bits[bit / 8] >> (bit % 8)) & 1;
}

static inline void
VsBitSet(uint8 *bits, uint64 bit)
{
	bits[bit / 8] |= (uint8) (1 << (bit % 8));
}

#endif							/* VS_AM_COMMON_H */
